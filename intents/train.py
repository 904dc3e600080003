"""Train the learned tier: ``python -m intents.train`` writes ``intents/learned_model.npz``.

Same bytes on every run (fixed seeds, sorted inputs, single-threaded solvers). Needs scikit-learn
(``pip install -e '.[train]'``); the assistant itself only needs numpy to use the result.

Training data, all in ``intents/train_data/`` (licences in its README.md) or generated:

* random walks through our templates and Home Assistant's (the home-assistant-intents package),
  wildcards filled from Snips' artist/track/city names so the tagger learns where a slot sits;
* HA's English intent tests, our own paraphrases (``paraphrases.yaml``);
* Snips (PlayMusic, GetWeather in scope; five other intents as out-of-scope negatives);
* SLURP devel's home rows. Figures on devel are honest only cross-validated: ``--cv 5`` trains
  five models, each without one fold of devel (fold = crc32(slurp_id) % 5), and scores the held-out
  fold; ``--exclude-fold K --out PATH`` writes one such model (bench/understanding.py uses it).

Every in-scope sentence also appears once with ASR-style noise (a dropped, doubled or homophone
word) so the tier copes with Whisper's slips. ``--spoken`` also trains on real slips: the sentences
as Whisper tiny.en transcribed them from Piper / espeak-ng speech (``train_data/asr_transcripts.jsonl``,
written by ``bench/asr_training.py``); off for the shipped model (docs/understanding.md says why).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .learned import BUCKETS, MODEL_PATH, NONE, TAGS, hashed, sentence_features, token_features
from .normalize import normalize

DATA = Path(__file__).parent / "train_data"
FOLDS = 5
# The least top-intent probability to act on, and its least lead over the runner-up (none included):
# chosen on held-out SLURP devel folds with bench/learned_thresholds.py (docs/understanding.md)
THRESHOLD = 0.4
MARGIN = 0.0
SAMPLES_PER_INTENT = 300
EPOCHS = 10
# intents with free-text slots: the tagger learns from these only (others' slots come from the words)
TAGGED_INTENTS = {
    "HassMediaSearchAndPlay",
    "HassGetWeather",
    "HassGetCurrentTime",
    "HassGetCurrentDate",
    "SetAlarm",
    "ListAlarms",
    "CancelAlarm",
}


@dataclass
class Example:
    words: list[str]
    tags: list[str]
    intent: str
    source: str
    fold: int | None = None  # SLURP rows: their cross-validation fold
    weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the sentence as written (what bench/asr_training.py speaks)
    entities: list[tuple[str, str]] = field(default_factory=list)  # (tag, words) in ``text``
    tagged: bool = True  # the tags are right (False: a transcript that lost a slot's words)


def fold_of(slurp_id: Any) -> int:
    return zlib.crc32(str(slurp_id).encode()) % FOLDS


# ---- annotation helpers -------------------------------------------------------------------------


def annotate(sentence: str, entities: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Normalised words of ``sentence`` and B/I/O tags for the (tag, text) entities found in them."""
    words = normalize(sentence).split()
    tags = ["O"] * len(words)
    for tag, text in entities:
        needle = normalize(text).split()
        if not needle:
            continue
        for start in range(len(words) - len(needle) + 1):
            if words[start : start + len(needle)] == needle and all(
                t == "O" for t in tags[start : start + len(needle)]
            ):
                tags[start] = "B-" + tag
                for j in range(start + 1, start + len(needle)):
                    tags[j] = "I-" + tag
                break
    return words, tags


_BRACKET = re.compile(r"\((QUERY|PLACE|WHEN) ([^)]+)\)")


def parse_bracketed(line: str) -> tuple[str, list[tuple[str, str]]]:
    """'play (QUERY jazz)' -> ('play jazz', [('QUERY', 'jazz')])."""
    entities = [(m.group(1), m.group(2).strip()) for m in _BRACKET.finditer(line)]
    return _BRACKET.sub(lambda m: m.group(2).strip(), line), entities


# ---- sources --------------------------------------------------------------------------------------

# SLURP label -> our intent (the first; a template match inside the allowed set wins, see slurp()).
SLURP_INTENTS: dict[str, list[str]] = {
    "alarm_set": ["SetAlarm", "HassStartTimer"],
    "alarm_query": ["ListAlarms"],
    "alarm_remove": ["CancelAlarm"],
    "datetime_query": ["HassGetCurrentTime", "HassGetCurrentDate"],
    "iot_hue_lighton": ["HassTurnOn"],
    "iot_hue_lightoff": ["HassTurnOff"],
    "iot_hue_lightchange": ["HassLightSet"],
    "iot_hue_lightdim": ["HassLightSet"],
    "iot_hue_lightup": ["HassLightSet"],
    "iot_wemo_on": ["HassTurnOn"],
    "iot_wemo_off": ["HassTurnOff"],
    "iot_cleaning": ["HassVacuumStart", "HassTurnOn"],
    **{
        label: [
            "HassMediaSearchAndPlay",
            "HassMediaPause",
            "HassMediaUnpause",
            "HassMediaNext",
            "HassMediaPrevious",
        ]
        for label in ("play_music", "play_radio", "play_podcasts", "play_audiobook")
    },
    "weather_query": ["HassGetWeather"],
    "audio_volume_up": ["HassSetVolumeRelative", "HassSetVolume"],
    "audio_volume_down": ["HassSetVolumeRelative", "HassSetVolume"],
    "audio_volume_mute": ["HassMediaPlayerMute", "HassSetVolume"],
    "music_likeness": ["SetPreference"],  # a stated liking: "i love hip hop", "save this song"
}
# SLURP files reminders under calendar_*; rows that say "remind" are ours (as in bench/understanding.py)
SLURP_REMINDERS = {
    "calendar_set": "SetReminder",
    "calendar_query": "ListReminders",
    "calendar_remove": "CancelReminder",
}
REMIND = re.compile(r"\bremind|\bremainder(?! of)")
SLURP_OUT = ("play_game", "calendar_", "datetime_convert", "music_dislikeness")
SLURP_TAGS = {
    "artist_name": "QUERY",
    "song_name": "QUERY",
    "playlist_name": "QUERY",
    "radio_name": "QUERY",
    "podcast_name": "QUERY",
    "podcast_descriptor": "QUERY",
    "audiobook_name": "QUERY",
    "audiobook_author": "QUERY",
    "music_genre": "QUERY",
    "music_descriptor": "QUERY",
    "place_name": "PLACE",
    "time": "WHEN",
    "date": "WHEN",
    "timeofday": "WHEN",
    "general_frequency": "WHEN",
}
SNIPS_TAGS = {
    "PlayMusic": {
        "artist": "QUERY",
        "album": "QUERY",
        "track": "QUERY",
        "playlist": "QUERY",
        "genre": "QUERY",
    },
    "GetWeather": {
        "city": "PLACE",
        "country": "PLACE",
        "state": "PLACE",
        "geographic_poi": "PLACE",
        "timeRange": "WHEN",
    },
}
HA_SLOT_TAGS = {"search_query": "QUERY", "location": "PLACE", "when": "WHEN"}


def _jsonl(name: str) -> Iterator[dict[str, Any]]:
    with open(DATA / name, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _merge_query(entities: list[tuple[str, str]], sentence: str) -> list[tuple[str, str]]:
    """Adjacent media entities ('thriller' 'by' 'michael jackson') make one QUERY span."""
    queries = [text for tag, text in entities if tag == "QUERY"]
    rest = [(tag, text) for tag, text in entities if tag != "QUERY"]
    if len(queries) < 2:
        return entities
    low = sentence.lower()
    positions = sorted((low.find(q.lower()), q) for q in queries if low.find(q.lower()) >= 0)
    if not positions:
        return entities
    start = positions[0][0]
    end = max(p + len(q) for p, q in positions)
    return rest + [("QUERY", sentence[start:end])]


def slurp(template) -> list[Example]:
    out = []
    for row in _jsonl("slurp_devel_home.jsonl"):
        label = row["intent"]
        if label in SLURP_REMINDERS and REMIND.search(row["sentence"]):
            intent = SLURP_REMINDERS[label]
        elif label.startswith(SLURP_OUT):
            intent = NONE
        elif label in SLURP_INTENTS:
            allowed = SLURP_INTENTS[label]
            intent = allowed[0]
            hits = [c.intent for c in template(row["sentence"]) if c.intent in allowed]
            if hits:
                intent = hits[0]
            elif label == "datetime_query" and re.search(
                r"\b(?:date|day|month|year|week)\b", row["sentence"]
            ):
                intent = "HassGetCurrentDate"
        else:
            continue  # labels the benchmark skips (music_query, iot_coffee, ...)
        entities = [(SLURP_TAGS[e["type"]], e["text"]) for e in row["entities"] if e["type"] in SLURP_TAGS]
        if intent == NONE:
            entities = []
        if intent == "HassGetCurrentTime":
            entities = [e for e in entities if e[0] == "PLACE"]
        entities = _merge_query(entities, row["sentence"])
        words, tags = annotate(row["sentence"], entities)
        out.append(
            Example(
                words,
                tags,
                intent,
                "slurp",
                fold_of(row["slurp_id"]),
                2.0,
                text=row["sentence"],
                entities=entities,
            )
        )
    return out


def snips() -> list[Example]:
    out = []
    for row in _jsonl("snips.jsonl"):
        kind = row["intent"]
        intent = {"PlayMusic": "HassMediaSearchAndPlay", "GetWeather": "HassGetWeather"}.get(kind, NONE)
        mapping = SNIPS_TAGS.get(kind, {})
        entities = [(mapping[e["type"]], e["text"]) for e in row["entities"] if e["type"] in mapping]
        entities = _merge_query(entities, row["text"])
        words, tags = annotate(row["text"], entities)
        out.append(Example(words, tags, intent, "snips", weight=0.5, text=row["text"], entities=entities))
    return out


def ha_tests(known: set[str]) -> list[Example]:
    out = []
    for row in _jsonl("ha_tests.jsonl"):
        if row["intent"] not in known:
            continue
        entities = [(HA_SLOT_TAGS[k], str(v)) for k, v in row["slots"].items() if k in HA_SLOT_TAGS]
        words, tags = annotate(row["sentence"], entities)
        out.append(Example(words, tags, row["intent"], "ha", text=row["sentence"], entities=entities))
    return out


def paraphrases(known: set[str]) -> list[Example]:
    data = yaml.safe_load((DATA / "paraphrases.yaml").read_text(encoding="utf-8"))
    out = []
    for intent, lines in sorted(data.items()):
        if intent != NONE and intent not in known:
            raise ValueError(f"paraphrases.yaml: unknown intent {intent}")
        for line in lines:
            sentence, entities = parse_bracketed(str(line))
            words, tags = annotate(sentence, entities)
            out.append(Example(words, tags, intent, "own", weight=2.0, text=sentence, entities=entities))
    return out


# ---- template walks -------------------------------------------------------------------------------


class Walker:
    """Random sentences from hassil templates, with the words a wildcard or tagged list filled in."""

    TAGGED = {"search_query": "QUERY", "location": "PLACE", "when": "WHEN", "date": "WHEN"}

    def __init__(self, intents: Any, rng: random.Random, pools: dict[str, list[str]]):
        from hassil.intents import TextSlotList

        self.intents = intents
        self.rng = rng
        self.pools = pools
        self.pools_lists = {  # the home's names, filling {area} / {name} / {floor}
            "area": TextSlotList.from_strings(pools["area"]),
            "name": TextSlotList.from_strings(pools["name"]),
            "floor": TextSlotList.from_strings(["upstairs", "downstairs"]),
        }

    def walk(self, expr: Any, rules: dict[str, Any], lists: dict[str, Any]) -> list[tuple[str, str]]:
        from hassil.expression import (
            Alternative,
            ListReference,
            Permutation,
            RuleReference,
            Sequence,
            TextChunk,
        )
        from hassil.intents import RangeSlotList, TextSlotList, WildcardSlotList

        rng = self.rng
        if isinstance(expr, TextChunk):
            return [(expr.original_text if expr.original_text is not None else expr.text, "")]
        if isinstance(expr, Alternative):
            if expr.is_optional and rng.random() < 0.5:
                return []
            return self.walk(rng.choice(expr.items), rules, lists)
        if isinstance(expr, Permutation):
            items = list(expr.items)
            rng.shuffle(items)
            out: list[tuple[str, str]] = []
            for item in items:
                out += self.walk(item, rules, lists) + [(" ", "")]
            return out
        if isinstance(expr, Sequence):
            return [part for item in expr.items for part in self.walk(item, rules, lists)]
        if isinstance(expr, RuleReference):
            return self.walk(rules[expr.rule_name].expression, rules, lists)
        if isinstance(expr, ListReference):
            tag = self.TAGGED.get(expr.slot_name, "")
            slot_list = lists.get(expr.list_name)
            if slot_list is None or isinstance(slot_list, WildcardSlotList):
                pool = self.pools.get(expr.slot_name) or self.pools["thing"]
                return [(rng.choice(pool), tag or "")]
            if isinstance(slot_list, RangeSlotList):
                n = rng.randrange(slot_list.start, slot_list.stop + 1, slot_list.step or 1)
                return [(str(n), "")]
            if isinstance(slot_list, TextSlotList) and slot_list.values:
                value = rng.choice(slot_list.values)
                text = "".join(t for t, _ in self.walk(value.text_in, rules, lists))
                return [(text, tag)]
            return [(rng.choice(self.pools["thing"]), "")]
        raise ValueError(f"unexpected expression {expr!r}")

    def sample(self, intent_name: str, n: int) -> list[tuple[str, list[tuple[str, str]]]]:
        intent = self.intents.intents[intent_name]
        sentences = [(data, s) for data in intent.data for s in data.sentences]
        seen: set[str] = set()
        out: list[tuple[str, list[tuple[str, str]]]] = []
        for _ in range(n * 4):
            if len(out) >= n or not sentences:
                break
            data, sentence = self.rng.choice(sentences)
            rules = {**self.intents.expansion_rules, **data.expansion_rules}
            lists = {**self.intents.slot_lists, **self.pools_lists, **data.slot_lists}
            try:
                parts = self.walk(sentence.expression, rules, lists)
            except (KeyError, ValueError, IndexError):
                continue
            text = " ".join("".join(t for t, _ in parts).split())
            if text in seen:
                continue
            seen.add(text)
            out.append((text, [(tag, t.strip()) for t, tag in parts if tag and t.strip()]))
        return out


def templates(known: set[str], pools: dict[str, list[str]]) -> list[Example]:
    from hassil import Intents

    from .recognizer import build_data

    intents = Intents.from_dict(build_data(known, "en"))
    walker = Walker(intents, random.Random(7), pools)
    out = []
    for name in sorted(intents.intents):
        for text, entities in walker.sample(name, SAMPLES_PER_INTENT):
            words, tags = annotate(text, entities)
            out.append(Example(words, tags, name, "template", weight=0.5, text=text, entities=entities))
    return out


def pools_from_data() -> dict[str, list[str]]:
    """Wildcard fillers: names from Snips (artists, tracks, cities) and a few of our own."""
    queries, places, whens = set(), set(), set()
    for row in _jsonl("snips.jsonl"):
        for e in row["entities"]:
            if e["type"] in ("artist", "track", "album", "playlist", "genre"):
                queries.add(e["text"].lower())
            elif e["type"] in ("city", "country", "state"):
                places.add(e["text"].lower())
            elif e["type"] == "timeRange":
                whens.add(e["text"].lower())
    return {
        "search_query": sorted(queries)[:3000],
        "location": sorted(places),
        "when": [
            "7 am",
            "6:30",
            "tomorrow at 8",
            "monday at 7 am",
            "noon",
            "9 pm tonight",
            "every weekday at 6",
        ],
        "date": sorted(whens)[:500],
        "name": [
            "kitchen light",
            "desk lamp",
            "ceiling light",
            "tv",
            "fan",
            "plug",
            "heater",
            "porch light",
            "bedside lamp",
            "garage door",
            "coffee machine",
            "speaker",
            "thermostat",
            "vacuum",
        ],
        "area": [
            "kitchen",
            "living room",
            "bedroom",
            "bathroom",
            "office",
            "hallway",
            "garage",
            "dining room",
            "garden",
            "nursery",
        ],
        "thing": ["pasta", "eggs", "laundry", "tea", "pizza", "workout"],
    }


# ---- negatives and noise --------------------------------------------------------------------------

_HOMOPHONES = {
    "to": "two",
    "two": "to",
    "for": "four",
    "four": "for",
    "weather": "whether",
    "right": "write",
    "the": "a",
    "a": "the",
    "play": "pay",
    "lights": "lice",
    "light": "like",
    "hour": "our",
    "our": "hour",
    "there": "their",
    "off": "of",
    "on": "an",
    "set": "said",
    "music": "music",
    "alarm": "alarms",
    "timer": "time",
    "volume": "volumes",
    "turn": "tune",
    "what's": "what",
    "is": "as",
    "it": "its",
    "me": "my",
    "up": "op",
    "lamp": "lamb",
    "rain": "reign",
}


def noisy(ex: Example, rng: random.Random) -> Example | None:
    """One ASR-style slip: a dropped, doubled or homophone word (tags kept aligned)."""
    if len(ex.words) < 3:
        return None
    words, tags = list(ex.words), list(ex.tags)
    i = rng.randrange(len(words))
    kind = rng.random()
    if kind < 0.35 and tags[i] == "O":
        del words[i], tags[i]
    elif kind < 0.55:
        words.insert(i, words[i])
        tags.insert(i, tags[i] if tags[i] == "O" else "I-" + tags[i][2:])
    else:
        swaps = [j for j, w in enumerate(words) if w in _HOMOPHONES]
        if not swaps:
            return None
        j = rng.choice(swaps)
        words[j] = _HOMOPHONES[words[j]]
    return Example(words, tags, ex.intent, ex.source + "+noise", ex.fold, ex.weight * 0.5)


_OPEN_END = {
    "the",
    "a",
    "an",
    "my",
    "me",
    "to",
    "for",
    "in",
    "on",
    "of",
    "at",
    "some",
    "is",
    "it",
    "can",
    "you",
    "i",
    "what",
    "how",
    "and",
    "by",
    "with",
    "from",
    "this",
    "that",
    "please",
}


def truncations(examples: list[Example]) -> list[Example]:
    """Half sentences ('turn the', 'set a', 'what is') are out of scope. Only cuts that end on a word
    that cannot end a request: 'play adele' is whole."""
    whole = {" ".join(e.words) for e in examples}
    out, seen = [], set()
    for ex in examples:
        if ex.intent == NONE or len(ex.words) < 4:
            continue
        for n in (1, 2, 3):
            part = ex.words[:n]
            key = " ".join(part)
            if part[-1] not in _OPEN_END or key in whole or key in seen:
                continue
            seen.add(key)
            out.append(Example(part, ["O"] * n, NONE, "truncated", ex.fold))
    return out


SPOKEN = "asr_transcripts.jsonl"  # written by bench/asr_training.py


def spoken(examples: list[Example], path: Path = DATA / SPOKEN) -> list[Example]:
    """Training sentences as tiny.en heard them spoken by Piper and espeak-ng (``SPOKEN``): the
    tier mostly reads ASR output, slips and all. Intent labels carry over; slot tags only where the
    transcript still holds the slot's words (else the example trains the intent, not the tagger).
    Transcripts the same as the sentence add nothing and are left out."""
    heard: dict[tuple[str, str], list[str]] = {}
    for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
        heard.setdefault((row["source"], row["text"]), []).append(row["heard"])
    out = []
    for ex in examples:
        for text in heard.get((ex.source, ex.text), []):
            words, tags = annotate(text, ex.entities)
            if not words or words == ex.words:
                continue
            found = sum(t.startswith("B-") for t in tags)
            out.append(
                Example(
                    words,
                    tags,
                    ex.intent,
                    ex.source + "+spoken",
                    ex.fold,
                    ex.weight,
                    text=text,
                    tagged=found == len(ex.entities) or ex.intent == NONE,
                )
            )
    return out


def written() -> list[Example]:
    """The written sentences of every source (before spoken versions, truncations and noise)."""
    from .recognizer import TemplateRecognizer
    from .registry import intents

    known = set(intents())
    template = TemplateRecognizer(known, "en").candidates
    pools = pools_from_data()
    examples = paraphrases(known) + ha_tests(known) + slurp(lambda s: template(normalize(s))) + snips()
    examples += templates(known, pools)
    return [e for e in examples if e.words]


def dataset(spoken_from: Path | None = None) -> list[Example]:
    """Every training example; with ``spoken_from`` (``--spoken``) also the transcripts in that file."""
    examples = written()
    if spoken_from:
        examples += spoken(examples, spoken_from)
    examples += truncations(examples)
    rng = random.Random(11)
    examples += [
        n
        for e in examples
        if e.intent != NONE and e.source in ("slurp", "ha", "own") and (n := noisy(e, rng)) is not None
    ]
    return examples


# ---- training -------------------------------------------------------------------------------------


def _matrix(rows: list[np.ndarray]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    data = (
        np.concatenate([np.full(len(r), 1 / np.sqrt(max(len(r), 1))) for r in rows]) if rows else np.zeros(0)
    )
    return csr_matrix((data, indices, indptr), shape=(len(rows), BUCKETS))


def _fit(
    rows: list[np.ndarray], labels: list[str], weights: list[float], alpha: float
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Logistic regression by SGD (one-vs-rest, fixed seed and epochs: the same bytes every run; lbfgs
    took 10+ minutes here for a hair more accuracy). The run time takes a softmax of its scores."""
    from sklearn.linear_model import SGDClassifier

    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    model = SGDClassifier(loss="log_loss", alpha=alpha, max_iter=EPOCHS, tol=None, random_state=0)
    model.fit(_matrix(rows), y, sample_weight=np.array(weights))
    return model.coef_.T.astype(np.float16), model.intercept_.astype(np.float32), classes


def train(examples: list[Example], alpha: float = 3e-6) -> dict[str, np.ndarray]:
    intent_w, intent_b, intent_classes = _fit(
        [hashed(sentence_features(e.words)) for e in examples],
        [e.intent for e in examples],
        [e.weight for e in examples],
        alpha,
    )
    rows, labels, weights = [], [], []
    for e in examples:
        if e.intent not in TAGGED_INTENTS or not e.tagged:
            continue
        prev = "O"
        for i, tag in enumerate(e.tags):
            rows.append(hashed(token_features(e.words, i, e.intent, prev)))
            labels.append(tag)
            weights.append(e.weight)
            prev = tag
    tag_w, tag_b, tag_classes = _fit(rows, labels, weights, alpha)
    meta = {
        "intent_classes": intent_classes,
        "tag_classes": tag_classes,
        "threshold": THRESHOLD,
        "margin": MARGIN,
        "buckets": BUCKETS,
        "tags": list(TAGS),
    }
    return {
        "intent_w": intent_w,
        "intent_b": intent_b,
        "tag_w": tag_w,
        "tag_b": tag_b,
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
    }


def save(arrays: dict[str, np.ndarray], path: Path) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, allow_pickle=False, **arrays)


def cross_validate(examples: list[Example]) -> None:
    """Learned tier alone on held-out SLURP devel folds: intent accuracy and out-of-scope acceptances."""
    import tempfile

    from .learned import LearnedRecognizer
    from .registry import intents

    known = set(intents())
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    right: Counter[float] = Counter()
    false: Counter[float] = Counter()
    n_in = n_out = 0
    for k in range(FOLDS):
        train_set = [e for e in examples if e.fold != k]
        test = [e for e in examples if e.fold == k and e.source == "slurp"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.npz"
            save(train(train_set), path)
            rec = LearnedRecognizer(known, path, threshold=0.0)
        for e in test:
            probs = rec.model.classify(e.words)
            intent, p = max(probs.items(), key=lambda kv: kv[1])
            if e.intent == NONE:
                n_out += 1
            else:
                n_in += 1
            for t in thresholds:
                got = intent if (intent != NONE and p >= t) else NONE
                if e.intent == NONE:
                    false[t] += got != NONE
                else:
                    right[t] += got == e.intent
        print(f"fold {k} done", file=sys.stderr)
    print(f"learned tier alone, SLURP devel {FOLDS}-fold CV: {n_in} in-scope, {n_out} out-of-scope rows")
    for t in thresholds:
        print(
            f"  threshold {t:.1f}: intent accuracy {100 * right[t] / n_in:5.1f}%  "
            f"out-of-scope accepted {100 * false[t] / n_out:5.1f}%"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m intents.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--out", type=Path, default=MODEL_PATH, help=f"where to write the model (default {MODEL_PATH})"
    )
    ap.add_argument(
        "--exclude-fold", type=int, metavar="K", help=f"leave SLURP devel fold K (0-{FOLDS - 1}) out"
    )
    ap.add_argument(
        "--cv", action="store_true", help=f"{FOLDS}-fold cross-validation on SLURP devel; writes nothing"
    )
    ap.add_argument(
        "--fold-models",
        type=Path,
        metavar="DIR",
        help=f"write DIR/fold0.npz .. fold{FOLDS - 1}.npz, each trained without that SLURP devel fold",
    )
    ap.add_argument(
        "--spoken",
        type=Path,
        nargs="?",
        const=DATA / SPOKEN,
        metavar="FILE",
        help=f"also train on ASR transcripts (bench/asr_training.py; default file {DATA / SPOKEN}). "
        "Off for the shipped model: on SLURP devel it moved spoken accuracy by under a point "
        "(docs/understanding.md)",
    )
    args = ap.parse_args(argv)
    started = time.perf_counter()
    examples = dataset(args.spoken)
    counts = Counter(e.source for e in examples)
    print(
        f"{len(examples)} examples ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})",
        file=sys.stderr,
    )
    if args.cv:
        cross_validate(examples)
        return
    if args.fold_models:
        args.fold_models.mkdir(parents=True, exist_ok=True)
        for k in range(FOLDS):
            save(train([e for e in examples if e.fold != k]), args.fold_models / f"fold{k}.npz")
            print(f"fold {k} written", file=sys.stderr)
        return
    if args.exclude_fold is not None:
        examples = [e for e in examples if e.fold != args.exclude_fold]
    save(train(examples), args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
