"""Early endpointing: a complete command ends the turn after a short silence; a paused one is not cut.

The completeness check is the real text core's (``Assistant.is_complete``: templates, slots, and
no trailing "for"/"the"/...); speech is Piper (noise 0), synthesised at test time.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio import blocks
from assistant.vad import Endpointer
from assistant.voice import process_audio
from assistant.voice_settings import VadSettings
from intents.completeness import ends_open
from tests.fixtures_voice import join, keyword_understand, noise, piper_speech, silence, test_settings

DEVICES = [
    {"name": "Kitchen Light", "component": "light", "area": "kitchen", "command_topic": "home/kitchen/set"},
    {"name": "Bedroom Light", "component": "light", "area": "bedroom", "command_topic": "home/bedroom/set"},
]


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    from assistant.config import load_config
    from assistant.core import Assistant

    config = load_config(
        env={"ASSISTANT_DATA_DIR": str(tmp_path_factory.mktemp("data")), "ASSISTANT_TZ": "UTC"}
    )
    config = config.model_validate({**config.model_dump(), "devices": {"devices": DEVICES}})
    assistant = Assistant(config)
    yield assistant
    assistant.close()


def trimmed(text: str) -> np.ndarray:
    """Piper speech without its own leading/trailing silence, so a pause we insert is the pause heard."""
    audio = piper_speech(text)
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 200)
    return audio[loud[0] : loud[-1] + 1]


def understand_with(core):
    return lambda text: core.ask(text, dry_run=True)


_CORE = object()  # hear()'s default: the core's own is_complete


def hear(core, audio, engines, settings=None, is_complete=_CORE, **kw):
    """The voice loop over ``audio`` with no wake word, understood by ``core`` (a dry run), ended early
    by ``core.is_complete`` unless told otherwise (None: no early endpointing)."""
    return process_audio(
        audio,
        understand_with(core),
        settings or test_settings(),
        no_wake=True,
        engines=engines,
        is_complete=core.is_complete if is_complete is _CORE else is_complete,
        **kw,
    )


def test_ends_open_words_and_punctuation():
    for text in (
        "Set a timer for",
        "Turn on the",
        "turn on the kitchen light and",
        "Play",
        "Set an alarm for...",
        "Turn on the kitchen,",
        "",
        "  ",
    ):
        assert ends_open(text), text
    for text in (
        "Turn on the kitchen light.",
        "What time is it?",
        "set a timer for 5 minutes",
        "Turn the lights on",
    ):
        assert not ends_open(text), text


def test_is_complete(core):
    for text in (
        "Turn on the kitchen light.",
        "What time is it?",
        "Set a timer for five minutes.",
        "Set an alarm for seven thirty.",
        "Add milk to the shopping list.",
    ):
        assert core.is_complete(text), text
    # open endings, no template, or a slot the handler would ask for ("What time ...?")
    for text in (
        "Turn on the",
        "Set a timer for",
        "Set an alarm.",
        "Set an alarm for",
        "Turn on the kitchen light and",
        "Add milk to the",
        "Make me a sandwich.",
        "Turn on the...",
        "Set a timer",
    ):
        assert not core.is_complete(text), text
    assert (
        core.store is not None and core.ask("what timers are running", dry_run=True).intent
    )  # nothing was set


def test_endpointer_ends_early_only_when_told_and_resume_withdraws():
    speech = piper_speech("Turn on the kitchen light.")
    audio = join(silence(0.5), speech, silence(1.0))
    s = VadSettings(trailing_silence_ms=400, early_endpoint_ms=160)

    def run(early: bool):
        ep = Endpointer(s)
        for b in blocks(audio, 512):
            for ev in ep.process(b):
                if ev.kind == "pause" and early:
                    ep.end_early()
                if ev.kind == "end":
                    return ev
        raise AssertionError("no end")

    early, plain = run(True), run(False)
    assert early.early and not plain.early
    assert early.t - early.speech_end == pytest.approx(0.16, abs=0.04)
    assert plain.t - plain.speech_end == pytest.approx(0.40, abs=0.04)
    # a pause inside the command: the early decision is withdrawn when speech resumes
    ep = Endpointer(s)
    two = join(silence(0.5), trimmed("Turn on the"), silence(0.12), trimmed("kitchen light."), silence(1.0))
    ends = []
    for b in blocks(two, 512):
        for ev in ep.process(b):
            if ev.kind == "pause":
                ep.end_early()  # as if every pause were complete: only the 130 ms gap is too short to end
            if ev.kind == "end":
                ends.append(ev)
    assert len(ends) == 1 and ends[0].early


def test_complete_command_ends_early(core, engines):
    audio = join(silence(0.5), piper_speech("Turn on the kitchen light."), silence(1.2))
    settings = test_settings()
    (early,) = hear(core, audio, engines, settings)
    (plain,) = hear(core, audio, engines, settings, is_complete=None)
    assert early["intent"] == plain["intent"] == "HassTurnOn"
    assert early["early_endpoint"] and not plain["early_endpoint"]
    # silence waited on the audio clock (CPU load does not change it)
    assert early["timings_ms"]["endpoint_silence"] <= settings.vad.early_endpoint_ms + 40
    assert plain["timings_ms"]["endpoint_silence"] >= settings.vad.trailing_silence_ms
    # with early endpointing off in the config, is_complete is not used
    off = test_settings(vad__early_endpoint_ms=0)
    (r,) = hear(core, audio, engines, off)
    assert not r["early_endpoint"] and r["timings_ms"]["endpoint_silence"] >= off.vad.trailing_silence_ms


@pytest.mark.parametrize(
    "first, second, intent, slot",
    [
        ("Turn on the", "kitchen light.", "HassTurnOn", "kitchen"),
        ("Set an alarm for", "seven thirty.", "SetAlarm", ":30"),  # 07:30 or 19:30, whichever comes next
    ],
)
def test_paused_command_is_not_cut(core, engines, first, second, intent, slot):
    # 350 ms: longer than the early silence (160 ms), shorter than the full timeout (400 ms)
    audio = join(silence(0.5), trimmed(first), silence(0.35), trimmed(second), silence(1.2))
    results = hear(core, audio, engines)
    assert [r["intent"] for r in results] == [intent], [r["transcript"] for r in results]
    assert slot in str(results[0]["slots"]).lower()  # the second half was heard too


def test_failing_check_waits_the_full_timeout(engines):
    def broken(text):
        raise RuntimeError("check exploded")

    audio = join(silence(0.5), piper_speech("What time is it?"), silence(1.2))
    (r,) = process_audio(
        audio, keyword_understand, test_settings(), no_wake=True, engines=engines, is_complete=broken
    )
    assert r["intent"] == "GetTime" and not r["early_endpoint"]


def test_peek_comes_at_the_first_silence_and_can_end_early():
    audio = join(silence(0.5), piper_speech("Turn on the kitchen light."), silence(1.0))

    def events(s: VadSettings, end_at: str | None) -> list:
        ep, out = Endpointer(s), []
        for b in blocks(audio, 512):
            for ev in ep.process(b):
                out.append(ev)
                if ev.kind == end_at:
                    ep.end_early()
        return out

    s = VadSettings(trailing_silence_ms=400, early_endpoint_ms=160, pause_ms=96, early_decode_ms=32)
    evs = events(s, "peek")
    kinds = [e.kind for e in evs]
    assert kinds.index("peek") < kinds.index("pause") < kinds.index("end")
    peek, end = evs[kinds.index("peek")], evs[-1]
    assert peek.t - peek.speech_end == pytest.approx(0.032, abs=0.001)
    assert len(peek.audio) > 16000 and peek.speech_end == end.speech_end
    assert end.early and end.t - end.speech_end == pytest.approx(0.16, abs=0.04)
    # no peek without early endpointing, or with early_decode_ms 0
    for off in (s.model_copy(update={"early_endpoint_ms": 0}), s.model_copy(update={"early_decode_ms": 0})):
        assert "peek" not in [e.kind for e in events(off, None)]


class _CountingAsr:
    """The real transcriber, counting decodes (a peek's split decode, ``encode`` then ``decode``,
    counts once, at its encoder pass) and decoder passes."""

    def __init__(self, asr):
        self.asr, self.decodes, self.decoder_passes = asr, 0, 0

    def transcribe(self, audio):
        self.decodes += 1
        self.decoder_passes += 1
        return self.asr.transcribe(audio)

    def encode(self, audio):
        self.decodes += 1
        return self.asr.encode(audio)

    def decode(self, encoded):
        self.decoder_passes += 1
        return self.asr.decode(encoded)

    def __getattr__(self, name):
        return getattr(self.asr, name)


@pytest.mark.parametrize(
    "check, after, decodes, early",
    [
        ("core", "silence", 1, True),  # the peek heard a whole command: no second decode, ends early
        ("never", "silence", 1, False),  # not whole, but nothing more was heard: the peek's text stands
        ("never", "noise", 2, False),  # not whole, and a sound since the peek: decoded again at the pause
        (None, "silence", 1, False),  # no early endpointing: no peek, one decode at the pause
    ],
)
def test_peek_decode_is_reused_or_redone(core, engines, check, after, decodes, early):
    from assistant.engines import Engines

    asr = _CountingAsr(engines.asr)
    counting = Engines(asr, engines.tts)  # type: ignore[arg-type]
    is_complete = {"core": core.is_complete, "never": lambda text: False, None: None}[check]
    tail = silence(1.2) if after == "silence" else noise(1.2, 0.02)
    audio = join(silence(0.5), trimmed("Turn on the kitchen light."), tail)
    (r,) = hear(core, audio, counting, is_complete=is_complete)
    assert r["intent"] == "HassTurnOn" and r["asr_speculative"]
    assert asr.decodes == decodes and r["early_endpoint"] is early


def test_peek_audio_ends_in_the_pause_silence():
    # "Next song" cut 32 ms after its last speech window was heard as "next on": the peek's audio is
    # padded with zeros to what the pause's audio will hold
    audio = join(silence(0.5), piper_speech("Next song."), silence(1.0))
    s = VadSettings(early_endpoint_ms=160, pause_ms=96, early_decode_ms=32)
    ep, got = Endpointer(s), {}
    for b in blocks(audio, 512):
        for ev in ep.process(b):
            got.setdefault(ev.kind, ev)
    peek, pause = got["peek"], got["pause"]
    assert len(peek.audio) == len(pause.audio)
    n = len(pause.audio) - int(0.064 * 16000)
    assert peek.audio[:n].tolist() == pause.audio[:n].tolist() and not peek.audio[n:].any()


def test_ask_after_is_complete_reuses_the_template_match(core, monkeypatch):
    template = core.recognizers[0]
    calls = []
    recognize = template._recognize
    monkeypatch.setattr(template, "_recognize", lambda text, ctx: calls.append(text) or recognize(text, ctx))
    assert core.is_complete("Turn on the bedroom light.")
    assert core.ask("Turn on the bedroom light.", dry_run=True).intent == "HassTurnOn"
    assert len(calls) == 1
    # a changed slot list is a new match: recognised again, with the new name
    template.set_list("name", [("Porch Light", "Porch Light", {"domain": "light"})])
    try:
        found = template.candidates("turn on the porch light")
        assert len(calls) == 2 and any(c.slots.get("name") == "Porch Light" for c in found)
        assert template.candidates("turn on the porch light") == found and len(calls) == 2
        found[0].slots.clear()  # a caller's copy
        assert template.candidates("turn on the porch light")[0].slots
    finally:
        core._lists_changed()  # the home's own lists back


class _SlowClock:
    """A processing clock on which every step takes 125 ms: the loop is always behind the microphone."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.125
        return self.now


@pytest.mark.parametrize("split, decoder_passes", [(True, 1), (False, 3)])
def test_a_peek_at_a_dip_between_words_costs_no_decoder_pass(
    core, engines, monkeypatch, split, decoder_passes
):
    from assistant.engines import Engines
    from assistant.pipeline import Pipeline

    monkeypatch.setattr(Pipeline, "split_peeks", split)
    asr = _CountingAsr(engines.asr)
    counting = Engines(asr, engines.tts)  # type: ignore[arg-type]
    # dips in "Set a timer for" and a 64 ms gap before "five minutes": a peek at each (see the VAD)
    audio = join(
        silence(0.5), trimmed("Set a timer for"), silence(0.064), trimmed("five minutes."), silence(1.2)
    )
    (r,) = hear(core, audio, counting, clock=_SlowClock())
    assert r["intent"] == "HassStartTimer" and r["early_endpoint"] and r["asr_speculative"]
    assert asr.decodes == 3 and asr.decoder_passes == decoder_passes
