"""The learned tier (intents/learned.py): phrasing no template has, slots, asking back, out of scope,
a pickle-free artefact and deterministic training."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import numpy as np
import pytest

from intents.learned import MODEL_PATH, LearnedRecognizer
from intents.registry import intents

NOW = dt.datetime(2026, 11, 29, 10, 0)
DEVICES = [
    {
        "name": "Kitchen Light",
        "component": "light",
        "area": "kitchen",
        "command_topic": "t/k",
        "brightness_command_topic": "t/kb",
        "rgb_command_topic": "t/kc",
    },
    {
        "name": "Bedroom Light",
        "component": "light",
        "area": "bedroom",
        "command_topic": "t/b",
        "brightness_command_topic": "t/bb",
    },
    {"name": "TV Plug", "component": "switch", "area": "living room", "command_topic": "t/tv"},
    {"name": "Robot Vacuum", "component": "vacuum", "area": "hallway", "command_topic": "t/v"},
]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    from assistant.config import load_config
    from assistant.core import Assistant

    config = load_config(
        env={"ASSISTANT_DATA_DIR": str(tmp_path_factory.mktemp("data")), "ASSISTANT_TZ": "UTC"}
    )
    config = config.model_validate(
        {**config.model_dump(), "area": "living room", "devices": {"devices": DEVICES}}
    )
    a = Assistant(config)
    yield a
    a.close()


# Phrasings written for this test, none of them in a template or in the training data.
UNSEEN = [
    ("kitchen lighting off please mate", "HassTurnOff", {"name": "Kitchen Light"}),
    ("bedroom needs to be brighter", "HassLightSet", {"area": "bedroom", "brightness_step": 25}),
    ("i need nine minutes counted down", "HassStartTimer", {"minutes": 9}),
    ("would love to hear some dolly parton", "HassMediaSearchAndPlay", {"search_query": "dolly parton"}),
    ("the floors need a hoover", "HassVacuumStart", {}),
]


@pytest.mark.parametrize("sentence,intent,slots", UNSEEN)
def test_unseen_phrasing(assistant, sentence, intent, slots):
    result = assistant.ask(sentence, now=NOW, dry_run=True)
    assert (result.intent, result.recognizer) == (intent, "learned"), f"{sentence!r}: {result}"
    for key, value in slots.items():
        assert result.slots.get(key) == value, f"{sentence!r}: slot {key} in {result.slots}"


@pytest.mark.parametrize(
    "sentence",
    [
        "what's on my calendar for friday",
        "email the landlord about the boiler",
        "tell me something funny",
        "let's play twenty questions",
        "the um",
        "purple monkey dishwasher",
        "book me a table for two tonight",
        "shall we play cluedo",
        "tell me to take a coat as it will be cold tomorrow",
    ],
)
def test_out_of_scope_does_nothing(assistant, sentence):
    result = assistant.ask(sentence, now=NOW, dry_run=True)
    assert result.intent is None and result.actions == [], f"{sentence!r} -> {result.intent} {result.slots}"
    assert result.response.startswith("Sorry")


def test_missing_slot_asks(assistant):
    rec = assistant.recognizers[1]
    (found,) = rec.candidates("i need a timer")  # the tier alone: templates now ask this themselves
    assert (found.intent, found.slots) == (
        "HassStartTimer",
        {"question": "For how long?", "missing": "duration"},
    )
    result = assistant.ask("i need a timer", now=NOW, dry_run=True)
    assert (result.intent, result.response, result.actions) == ("HassStartTimer", "For how long?", [])
    assert rec.fill("HassMediaSearchAndPlay", "could you play", {}) == {"_missing": "search_query"}
    assert rec.fill("HassTurnOn", "could you turn it on", {}) == {"_missing": "device"}


def test_reminders_lists_and_help_are_ours():
    rec = LearnedRecognizer(intents())
    assert {"SetReminder", "ListReminders", "CancelReminder", "HassListAddItem", "GetHelp"} <= set(
        rec.model.intents.classes
    )
    assert rec.fill("SetReminder", "could you remind me to water the plants at 6 pm", {}) == {
        "message": "water the plants at 6 pm"
    }
    assert rec.fill("SetReminder", "set a reminder", {}) == {"message": "", "_missing": "message"}
    assert rec.fill("SetReminder", "the plants need water", {}) is None  # no "remind": not ours to guess
    assert (
        rec.fill("HassListAddItem", "we're out of milk", {}) is None
    )  # which item on which list: never guessed


def test_the_words_must_back_the_guess():
    from intents.learned import least_probability

    rec = LearnedRecognizer(intents())
    like = rec.fill("SetPreference", "could you save this track to my favourites", {})
    assert like == {"key": "music", "value": "this song"}  # what plays now: preferences.py asks the player
    assert rec.fill("SetPreference", "my favourite band is the kinks", {}) == {
        "key": "music",
        "value": "the kinks",
    }
    assert rec.fill("SetPreference", "i don't like this song", {}) is None
    assert rec.fill("SetPreference", "the kitchen is cold", {}) is None
    assert rec.fill("HassMediaSearchAndPlay", "let us play cluedo", {"QUERY": ["cluedo"]}) is None
    assert rec.fill("HassMediaSearchAndPlay", "let's play some cluedo", {"QUERY": ["cluedo"]}) == {
        "search_query": "cluedo"
    }
    assert rec.fill("MediaWhatsPlaying", "what is on friday", {}) is None  # a calendar question
    assert rec.fill("HassGetWeather", "tell me to take an umbrella if it rains", {}) is None
    assert least_probability("CancelReminder", 0.4) == 0.8  # undoing on a weak guess: no
    assert least_probability("HassTurnOn", 0.4) == 0.4


def test_tier_order(make_assistant, tmp_path):
    from assistant.config import LearnedSettings, LlmSettings

    with_llm = make_assistant(llm=LlmSettings(url="http://127.0.0.1:9/v1"))
    assert [r.name for r in with_llm.recognizers] == ["template", "learned", "llm"]
    assert [r.name for r in make_assistant(learned=LearnedSettings(enabled=False)).recognizers] == [
        "template"
    ]


def test_in_scope_score():
    rec = LearnedRecognizer(intents())
    assert rec.in_scope("could you dim the lights in here a touch") > 0.8
    assert rec.in_scope("what's the weather doing tomorrow") > 0.8
    assert rec.in_scope("send a message to my sister") < 0.3
    assert rec.in_scope("") == 0.0


def test_intent_scores_rank_the_intents():
    """What llm.tools_top_k offers the LLM: the classifier's probabilities, our intents only."""
    rec = LearnedRecognizer(intents())
    scores = rec.intent_scores("could you keep an eye on the rice for ten minutes")
    assert max(scores, key=scores.__getitem__) == "HassStartTimer"
    assert "none" not in scores and set(scores) <= set(intents())
    assert (
        0.99
        < sum(scores.values()) + 1 - rec.in_scope("could you keep an eye on the rice for ten minutes")
        < 1.01
    )
    assert rec.intent_scores("") == {}


def test_artefact_is_plain_arrays():
    raw = MODEL_PATH.read_bytes()
    assert len(raw) <= 20_000_000
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:  # raises on any pickled object array
        assert all(z[name].dtype != object for name in z.files)
    assert all(name.endswith(".npy") for name in zipfile.ZipFile(io.BytesIO(raw)).namelist())


def test_training_is_deterministic(tmp_path):
    pytest.importorskip("sklearn")
    from intents.train import Example, save, train

    examples = [
        Example("play some jazz".split(), ["O", "O", "B-QUERY"], "HassMediaSearchAndPlay", "t"),
        Example(
            "put on the beatles".split(), ["O", "O", "B-QUERY", "I-QUERY"], "HassMediaSearchAndPlay", "t"
        ),
        Example("weather in paris".split(), ["O", "O", "B-PLACE"], "HassGetWeather", "t"),
        Example("set a timer for 5 minutes".split(), ["O"] * 6, "HassStartTimer", "t"),
        Example("tell me a joke".split(), ["O"] * 4, "none", "t"),
    ]
    save(train(examples), tmp_path / "a.npz")
    save(train(examples), tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    rec = LearnedRecognizer(intents(), tmp_path / "a.npz", threshold=0.0)
    assert rec.understand("play jazz")[0] == "HassMediaSearchAndPlay"


def test_spoken_transcripts_become_examples(tmp_path):
    """intents.train --spoken: a transcript that differs from its sentence is an example of the same
    intent and fold; slot tags only where the slot's words survived; an identical one adds nothing."""
    from intents.train import Example, annotate, spoken

    words, tags = annotate("play poker face by lady gaga", [("QUERY", "poker face by lady gaga")])
    ex = Example(
        words,
        tags,
        "HassMediaSearchAndPlay",
        "slurp",
        fold=3,
        text="play poker face by lady gaga",
        entities=[("QUERY", "poker face by lady gaga")],
    )
    rows = [
        {"source": "slurp", "text": ex.text, "voice": "piper", "heard": "Pay poker face by Lady Gaga."},
        {"source": "slurp", "text": ex.text, "voice": "espeak", "heard": "Play poker faced by lady gaga"},
        {"source": "slurp", "text": ex.text, "voice": "other", "heard": "Play poker face by Lady Gaga!"},
        {"source": "ha", "text": ex.text, "voice": "piper", "heard": "something else"},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = spoken([ex], path)
    assert [" ".join(e.words) for e in got] == [
        "pay poker face by lady gaga",
        "play poker faced by lady gaga",
    ]
    assert all(e.intent == ex.intent and e.fold == 3 and e.source == "slurp+spoken" for e in got)
    assert got[0].tagged and got[0].tags == ["O", "B-QUERY", "I-QUERY", "I-QUERY", "I-QUERY", "I-QUERY"]
    assert not got[1].tagged


def test_one_device_we_cannot_find_is_not_the_whole_kind():
    """'turn off the porch light' with no porch light: not every light in the house (issue 8)."""
    rec = LearnedRecognizer(intents())
    rec.set_list("area", [("bedroom", "Bedroom")])
    rec.set_list("name", [("desk lamp", "Desk Lamp")])
    assert rec.fill("HassTurnOff", "turn off the please percent door light", {}) is None
    assert rec.fill("HassTurnOff", "switch off the porch light", {}) is None
    assert rec.fill("HassTurnOff", "turn off the lights", {}) == {"domain": "light"}
    assert rec.fill("HassTurnOff", "turn off the bedroom light", {}) == {"area": "Bedroom", "domain": "light"}
    assert rec.fill("HassTurnOn", "turn on the desk lamp", {}) == {"name": "Desk Lamp"}
    # every light of the home on a guess from words that switch nothing (a fuzzed line, issue 8)
    assert rec.fill("HassTurnOff", "unlock the light", {}) is None
    assert rec.fill("HassTurnOff", "kitchen minutes lights the door for music lights degrees", {}) is None
    assert rec.fill("HassTurnOff", "kill the lights", {}) == {"domain": "light"}
