"""Tier "learned": understanding for phrasing no template foresaw.

Two linear models over hashed features, trained offline by ``python -m intents.train`` and shipped
as ``intents/learned_model.npz`` (plain arrays, loaded with ``allow_pickle=False``):

* an intent classifier over word uni/bigrams and character 3-5-grams: a softmax over our intents
  and ``none`` (out of scope). Its top intent is used only when its probability reaches the
  threshold; ``in_scope(text)`` is 1 - P(none).
* a token tagger (B/I/O per word, greedy, left to right) that marks the free-text slots: ``QUERY``
  (what to play), ``PLACE`` (a town for weather or time) and ``WHEN`` (times, days, dates).

Everything else a slot needs comes from the words themselves: device names and areas are matched
fuzzily against the live lists the core feeds (``set_list``), numbers, percentages and durations
are read from the normalised text. Candidates go through the intent's ``from_slots`` like template
matches. When the intent is clear but a slot it cannot do without is missing, the candidate is a
``Clarify``: a short question and no action.

Only numpy (and rapidfuzz) at run time; scikit-learn is needed to train, not to run.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .media import _BROADCAST, _GAME
from .recognizer import Candidate
from .schema import Context, Intent, Outcome

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "learned_model.npz"
BUCKETS = 1 << 17
NONE = "none"  # the out-of-scope class
TAGS = ("QUERY", "PLACE", "WHEN")
# Undoing what the user set up (a reminder, an alarm, a timer, a list item, their preferences) on a weak
# guess costs more than asking again: these intents need this much probability, whatever the threshold
CAREFUL = {
    "CancelReminder",
    "CancelAlarm",
    "HassCancelTimer",
    "HassCancelAllTimers",
    "ForgetPreferences",
    "HassListRemoveItem",
    "HassListCompleteItem",
}
CAREFUL_THRESHOLD = 0.8


def least_probability(intent: str, threshold: float) -> float:
    """The probability ``intent`` needs to be acted on under the tier's ``threshold``."""
    return max(threshold, CAREFUL_THRESHOLD) if intent in CAREFUL else threshold


# ---- features (shared with intents.train: change one, retrain) ------------------------------------


def _shape(word: str) -> str:
    return re.sub(r"\d", "0", word)


def sentence_features(words: list[str]) -> list[str]:
    toks = [_shape(w) for w in words]
    padded = ["<s>", *toks, "</s>"]
    feats = ["w=" + w for w in toks]
    feats += [f"b={a}_{b}" for a, b in itertools.pairwise(padded)]
    s = " " + " ".join(toks) + " "
    for n in (3, 4, 5):
        feats += ["c=" + s[i : i + n] for i in range(len(s) - n + 1)]
    return feats


def token_features(words: list[str], i: int, intent: str, prev_tag: str) -> list[str]:
    def w(j: int) -> str:
        return _shape(words[j]) if 0 <= j < len(words) else ("<s>" if j < 0 else "</s>")

    cur = w(i)
    feats = [
        f"w={cur}",
        f"p={w(i - 1)}",
        f"n={w(i + 1)}",
        f"pp={w(i - 2)}",
        f"nn={w(i + 2)}",
        f"pw={w(i - 1)}_{cur}",
        f"wn={cur}_{w(i + 1)}",
        f"s3={cur[-3:]}",
        f"p3={cur[:3]}",
        f"i={intent}",
        f"iw={intent}_{cur}",
        f"ip={intent}_{w(i - 1)}",
        f"t={prev_tag}",
        f"tw={prev_tag}_{cur}",
        f"pos={min(i, 4)}",
        f"rpos={min(len(words) - 1 - i, 4)}",
        f"it={intent}_{prev_tag}",
    ]
    feats += ["l=" + w(j) for j in range(max(0, i - 4), i)]
    feats += ["r=" + w(j) for j in range(i + 1, min(len(words), i + 4))]
    return feats


def hashed(features: Iterable[str]) -> np.ndarray:
    return np.unique(np.fromiter((zlib.crc32(f.encode()) & (BUCKETS - 1) for f in features), dtype=np.int64))


# ---- the artefact ---------------------------------------------------------------------------------


@dataclass
class Linear:
    """Softmax over ``classes`` of a hashed, binary, L2-normalised feature vector."""

    weights: np.ndarray  # (BUCKETS, classes), float16
    bias: np.ndarray  # (classes,), float32
    classes: list[str]

    def proba(self, idx: np.ndarray) -> np.ndarray:
        if len(idx) == 0:
            scores = self.bias.astype(np.float64)
        else:
            scores = self.weights[idx].astype(np.float64).sum(axis=0) / np.sqrt(len(idx)) + self.bias
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()


@dataclass
class Model:
    intents: Linear
    tagger: Linear
    threshold: float
    margin: float  # the least lead of the top intent over the runner-up

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        with np.load(path, allow_pickle=False) as z:  # plain arrays only: nothing in the file can run code
            info = json.loads(z["meta"].tobytes().decode())
            return cls(
                Linear(z["intent_w"], z["intent_b"], info["intent_classes"]),
                Linear(z["tag_w"], z["tag_b"], info["tag_classes"]),
                float(info["threshold"]),
                float(info.get("margin", 0.0)),
            )

    def classify(self, words: list[str]) -> dict[str, float]:
        p = self.intents.proba(hashed(sentence_features(words)))
        return dict(zip(self.intents.classes, p.tolist(), strict=True))

    def tag(self, words: list[str], intent: str) -> list[str]:
        tags: list[str] = []
        prev = "O"
        for i in range(len(words)):
            p = self.tagger.proba(hashed(token_features(words, i, intent, prev)))
            tag = self.tagger.classes[int(np.argmax(p))]
            if tag.startswith("I-") and prev[2:] != tag[2:]:
                tag = "B-" + tag[2:]
            tags.append(tag)
            prev = tag
        return tags


def spans(words: list[str], tags: list[str]) -> dict[str, list[str]]:
    """Tagged word runs by type, in order: {"QUERY": ["poker face by lady gaga"], ...}."""
    out: dict[str, list[str]] = {}
    current: list[str] = []
    kind = ""
    for word, tag in [*zip(words, tags, strict=True), ("", "O")]:
        if tag == "O" or tag.startswith("B-") or tag[2:] != kind:
            if current:
                out.setdefault(kind, []).append(" ".join(current))
            current, kind = [], ""
        if tag != "O":
            current.append(word)
            kind = tag[2:]
    return out


# ---- asking instead of acting ---------------------------------------------------------------------


class Clarify(Intent):
    """The intent is clear, a slot it cannot do without is not: ask a short question, do nothing."""

    intent: ClassVar[str] = "Clarify"
    description: ClassVar[str] = "Ask for a missing detail"

    question: str
    missing: str

    def handle(self, ctx: Context) -> Outcome:
        return Outcome(self.question)


@functools.cache
def clarify_for(intent: str) -> type[Clarify]:
    """A Clarify that reports ``intent`` as its intent (the answer says what was understood)."""
    return type(f"Clarify{intent}", (Clarify,), {"intent": intent, "__module__": __name__})


QUESTIONS = {
    "duration": "For how long?",
    "device": "Which device do you mean?",
    "search_query": "What should I play?",
    "volume_level": "What volume should I set, in percent?",
    "temperature": "What temperature should I set?",
    "message": "What should I remind you of?",
}


# ---- slots from words -----------------------------------------------------------------------------

# What the classifier's guess must be able to point at in the words (calendar rows look like weather to
# it: "what do i have on next week"; "time in india when it's 12 pm in us" like the time)
_WEATHER_WORDS = re.compile(
    r"\b(?:weather|forecast|outlook|rain\w*|snow\w*|sun\w*|cloud\w*|storm\w*|wind\w*|fog\w*|hail|sleet|frost\w*|"
    r"ice|icy|thunder\w*|lightning|drizzl\w*|showers?|humid\w*|temperature|degrees|hot|cold|warm|cool|chilly|"
    r"freezing|heat|umbrella|brolly|coat|jacket|sweater|jumper|sunscreen|outside|outdoors|climate|uv|pollen|"
    r"celsius|fahrenheit|wet|dry|mild|nice day|beach|barbecue|bbq)\b"
)
_CONVERT = re.compile(
    r"\b(?:difference|convert|converted|when it'?s|when the time|if it'?s|zone|ahead|behind)\b"
)
_LIKING = re.compile(
    r"\b(?:like|likes|love|loves|hate|hates|dislike|enjoy|favou?rites?|save|saved|bookmark)\b"
)
_PLAY_VERB = re.compile(
    r"\b(?:play\w*|put on|put|listen\w*|hear|queue|stream|start|resume|shuffle|tune|load|open|"
    r"turn on|blast|spin)\b"
)
_THIS_MUSIC = re.compile(
    r"\b(?:this|that|the current|current)(?: \w+)? (?:songs?|tracks?|tunes?|music|records?|artists?|bands?|singers?|albums?)\b"
)
_LIKED = re.compile(
    r"\b(?:like|likes|liked|love|loved|enjoy\w*|adore|favou?rites?|fave|save|bookmark|heart|star|thumbs up|"
    r"keep|remember|great|awesome|brilliant|amazing)\b"
)
_NOT_LIKED = re.compile(
    r"\b(?:not|don'?t|doesn'?t|never|no|hate|hates|dislike\w*|stop|skip|rubbish|awful|terrible)\b"
)
_FAVOURITE_IS = re.compile(r"\bmy (?:favou?rite|fave) (?:\w+ ){1,3}(?:is|are) (.+)$")
_I_LIKE = re.compile(
    r"\bi (?:really |do |also )?(?:like|love|enjoy|adore|prefer|am into|'m into|im into) (?:listening to )?(.+?)(?: music)?$"
)
# "let's play X" with nothing that names music is an invitation to a game ("let's play checkers");
# Snips' crowd-sourced music requests say "let's play the album ..." when they mean music
_LETS_PLAY = re.compile(r"\b(?:let's|lets|let us|shall we) play\b")
_MUSIC_WORD = re.compile(
    r"\b(?:music|songs?|album|tracks?|playlist|radio|station|podcasts?|audiobooks?|artist|band|by|some|tunes?|"
    r"record|episode)\b"
)
# "what is on november twenty": a calendar question, not what is playing
_DATE_WORDS = re.compile(
    r"\b(?:today|tomorrow|yesterday|tonight|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|june|july|august|september|october|november|december|week|weekend|"
    r"month|calendar|diary|schedule|agenda)\b"
)
# a day the tagger missed ("is tomorrow's temperature going to be high"): the forecast's day
_DAY = re.compile(
    r"\b((?:the day after )?tomorrow|today|tonight|this (?:morning|afternoon|evening|weekend|week)|next week|"
    r"the weekend|(?:mon|tues|wednes|thurs|fri|satur|sun)day)(?:'s)?\b"
)
# "tell me to take my umbrella", "remind me to ...": a request to be told something later, not a question
_TELL_ME_TO = re.compile(r"\b(?:tell|remind|warn) (?:me|us) to\b")
_REMINDER = re.compile(r"^.*?\b(?:remind(?:er)?s?|remainders?)(?: me| us)?(?: to| that| about| of)?\b")
_DURATION = re.compile(
    r"\b\d+ (?:hours?|hrs?|minutes?|mins?|seconds?|secs?)(?: and \d+ (?:hours?|minutes?|seconds?))*\b"
)
_PERCENT = re.compile(r"\b(\d{1,3}) ?(?:percent|per cent|%)")
_NUMBER = re.compile(r"\b(\d{1,3})\b(?!:)")
_DOWN = re.compile(
    r"\b(?:down|lower|lowered|decrease|reduce|quieter|softer|dim|dimmer|darker|less|turn down|drop|"
    r"minus|low|too loud|too bright|decrement)\b"
)
_UP = re.compile(
    r"\b(?:up|louder|raise|increase|higher|more|brighter|boost|pump|max|high|too quiet|too dark|"
    r"can't hear)\b"
)
_COLOURS = re.compile(
    r"\b(red|orange|yellow|green|blue|purple|pink|white|warm white|cool white|cyan|magenta|violet|turquoise|"
    r"gold|lavender|lime|teal|indigo|amber|crimson|aqua|maroon|navy|beige|brown|salmon|coral)\b"
)
_TIME = re.compile(r"\b(?:\d{1,2}(?::\d{2})? ?(?:am|pm)|\d{1,2}:\d{2}|noon|midnight)\b")
_KIND_WORDS = re.compile(
    r"\b(lights?|lamps?|bulbs?|lighting|plugs?|sockets?|fans?|vacuum|hoover|robot|thermostat|"
    r"heating|blinds?|garage door|curtains?)\b"
)
_KIND_DOMAIN = {
    "light": "light",
    "lamp": "light",
    "bulb": "light",
    "lighting": "light",
    "plug": "switch",
    "socket": "switch",
    "fan": "fan",
    "vacuum": "vacuum",
    "hoover": "vacuum",
    "robot": "vacuum",
    "thermostat": "climate",
    "heating": "climate",
    "blind": "cover",
    "garage door": "cover",
    "curtain": "cover",
}
# "the please percent door light": one device named by words we know no device or area by
_ONE_NAMED = re.compile(
    r"\b(?:the|my|our|a|an|this|that)\s+((?:[\w']+\s+){1,4}?)(?:light|lamp|bulb|plug|socket|fan|blind|curtain)\b(?!s)"
)
# words that switch something: "on", "off", "kill the lights", "shut the fan", "power the plug down"
_SWITCHING = re.compile(
    r"\b(?:on|off|out|up|down|switch|turn|toggle|shut|kill|cut|power|start|stop|activate|deactivate|enable|disable)\b"
)
_OBJECT = re.compile(r"\b(?:the|my|our|a|an|this|that)\s+(?!(?:one|thing|stuff|device|it)\b)\w+")
_MEDIA_WORD = re.compile(r"\b(music|songs?|tunes|radio|podcasts?|audiobooks?|playlist)\b")
_MEDIA_CLASS = [
    ("album", re.compile(r"\balbum\b")),
    ("playlist", re.compile(r"\bplaylist\b")),
    ("track", re.compile(r"\b(?:song|track)\b")),
]


def best_in_list(
    words: list[str], items: list[tuple[str, Any]], threshold: float = 86.0
) -> tuple[Any, str] | None:
    """(value, words said) of the list item a run of words names best: fuzzy for ASR slips, the best
    score first, then the longer run (then the earlier run, and the earlier item)."""
    if not items:
        return None
    from rapidfuzz import fuzz, process

    runs = [
        (n, " ".join(words[start : start + n]))
        for n in range(min(5, len(words)), 0, -1)
        for start in range(len(words) - n + 1)
    ]
    runs = [(n, phrase) for n, phrase in runs if len(phrase) >= 3]
    if not runs:
        return None
    # every run against every item in one call (a home of a thousand names: ~50 runs x 1 000)
    scores = process.cdist(
        [phrase for _, phrase in runs],
        [i[0] for i in items],
        scorer=fuzz.ratio,
        score_cutoff=threshold,
        dtype=np.float64,
        workers=1,
    )
    item = scores.argmax(axis=1)
    score = scores[np.arange(len(runs)), item]
    best = max(range(len(runs)), key=lambda r: (score[r], runs[r][0], -r))
    if score[best] < threshold:
        return None
    return items[int(item[best])][1], runs[best][1]


class LearnedRecognizer:
    name = "learned"

    def __init__(
        self, intent_names: Iterable[str], model: Path | None = None, threshold: float | None = None
    ):
        self.model = Model.load(model or MODEL_PATH)
        self.known = set(intent_names)
        self.threshold = self.model.threshold if threshold is None else threshold
        self.lists: dict[str, list[tuple[str, Any]]] = {}
        self.candidates("turn on the light in the kitchen")  # warm numpy and rapidfuzz up once

    def set_list(self, name: str, values: Iterable[str | tuple[str, Any] | tuple[str, Any, dict]]) -> None:
        self.lists[name] = [(v[0], v[1]) if isinstance(v, tuple) else (v, v) for v in values if v and v[0]]

    def in_scope(self, text: str) -> float:
        """Probability that ``text`` (raw or normalised) asks for something this assistant can do:
        1 - P(none). For gating other tiers (e.g. the LLM's tool calls); 0.0 for empty text."""
        from .normalize import normalize

        words = normalize(text).split()
        if not words:
            return 0.0
        return 1.0 - self.model.classify(words).get(NONE, 0.0)

    def intent_scores(self, text: str) -> dict[str, float]:
        """{intent: probability} of the classifier for ``text`` (raw or normalised), out-of-scope
        class left out: the LLM tier offers the model only the highest ranked intents' tools."""
        from .normalize import normalize

        words = normalize(text).split()
        if not words:
            return {}
        return {k: v for k, v in self.model.classify(words).items() if k != NONE and k in self.known}

    def understand(self, text: str) -> tuple[str | None, float, dict[str, list[str]]]:
        """(intent or None, its probability, tagged spans) for a normalised text."""
        words = text.split()
        if len(words) < 2:  # one word ("cancel", "favourite") is the templates' to take or leave
            return None, 0.0, {}
        probs = self.model.classify(words)
        (intent, p), (_, p2) = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        if (
            intent == NONE
            or p < least_probability(intent, self.threshold)
            or p - p2 < self.model.margin
            or intent not in self.known
        ):
            return None, p, {}
        return intent, p, spans(words, self.model.tag(words, intent))

    def candidates(self, text: str, context: dict[str, Any] | None = None) -> list[Candidate]:
        intent, _p, found = self.understand(text)
        if intent is None:
            return []
        slots = self.fill(intent, text, found)
        if slots is None:
            return []
        missing = slots.pop("_missing", None)
        if missing:
            return [
                Candidate(
                    intent,
                    {"question": QUESTIONS[missing], "missing": missing},
                    text,
                    schema=clarify_for(intent),
                )
            ]
        return [Candidate(intent, slots, text)]

    # -- per intent ------------------------------------------------------------------------------

    def _where(self, words: list[str], slots: dict[str, Any]) -> None:
        name = best_in_list(words, self.lists.get("name", []))
        area = best_in_list(words, self.lists.get("area", []))
        if name:
            slots["name"] = name[0]
        if area and not (name and area[1] in name[1]):
            slots["area"] = area[0]

    @staticmethod
    def _unknown_device(text: str, slots: dict[str, Any]) -> bool:
        """True when one device is named ("the porch light"), by words that are no name or area of ours."""
        return "area" not in slots and _ONE_NAMED.search(text) is not None

    def fill(self, intent: str, text: str, found: dict[str, list[str]]) -> dict[str, Any] | None:
        """Raw slots for ``intent`` (``_missing``: a required one is not there), or None: the words
        name something this intent cannot act on."""
        words = text.split()
        slots: dict[str, Any] = {}
        duration = _DURATION.search(text)
        when = " ".join(found.get("WHEN", []))
        if intent in ("HassStartTimer", "HassIncreaseTimer", "HassDecreaseTimer", "SnoozeAlarm"):
            if duration:
                slots["duration"] = duration.group(0)
            elif intent != "SnoozeAlarm":
                slots["_missing"] = "duration"
        elif intent in ("HassCancelTimer", "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus"):
            if duration:
                slots["start_duration"] = duration.group(0)
        elif intent in ("SetAlarm", "ListAlarms", "CancelAlarm"):
            if not when:
                times = _TIME.findall(text)
                when = " ".join(times)
            if when:
                slots["when"] = when
        elif intent == "SetReminder":
            said = _REMINDER.search(text)
            if said is None:  # no "remind": what and when are the templates' to read
                return None
            slots["message"] = text[said.end() :].strip()
            if not slots["message"]:
                slots["_missing"] = "message"
        elif intent in ("ListReminders", "CancelReminder"):
            if when:
                slots["when"] = when
        elif intent in ("HassListAddItem", "HassListCompleteItem", "HassListRemoveItem"):
            return None  # which item on which list: the templates' to read, never guessed
        elif intent == "HassGetCurrentDate":
            if when and not re.fullmatch(r"(?:today|now|right now|the date|date)", when):
                slots["when"] = when
        elif intent == "HassGetCurrentTime":
            if _CONVERT.search(text) or _TIME.search(text):  # a time zone sum, not the time now
                return None
            if found.get("PLACE"):
                slots["location"] = found["PLACE"][0]
        elif intent == "SetPreference":  # a liking of music; names, cities and units are the templates'
            if _NOT_LIKED.search(text):
                return None
            if _THIS_MUSIC.search(text) and _LIKED.search(text):
                slots.update(key="music", value="this song")
            elif said := (_FAVOURITE_IS.search(text) or _I_LIKE.search(text)):
                slots.update(key="music", value=said.group(1))
            else:
                return None
        elif intent == "HassGetWeather":
            if not _WEATHER_WORDS.search(text) or _TELL_ME_TO.search(text):
                return None
            if found.get("PLACE"):
                slots["location"] = found["PLACE"][0]
            if when:
                slots["date"] = when
            elif day := _DAY.search(text):
                slots["date"] = day.group(1)
        elif intent == "HassMediaSearchAndPlay":
            if (_GAME.search(text) and not _BROADCAST.search(text)) or (
                _LETS_PLAY.search(text) and not _MUSIC_WORD.search(text)
            ):  # "play chess", "let's play checkers", also when what to play is unclear
                return None
            if _LIKING.search(text) and not _PLAY_VERB.search(
                text
            ):  # "i love this song": an opinion, not a request
                return None
            query = self._query(words, found)
            if not query:  # "play the radio", "put some music on": the kind of thing is the search
                kind = _MEDIA_WORD.search(text)
                if kind is None:
                    slots["_missing"] = "search_query"
                    return slots
                query = "music" if kind.group(1) in ("music", "songs", "song", "tunes") else kind.group(1)
            slots["search_query"] = query
            for media_class, pattern in _MEDIA_CLASS:
                if pattern.search(text):
                    slots["media_class"] = media_class
                    break
            self._where([w for w in words if w not in query.split()], slots)
        elif intent in (
            "HassMediaPause",
            "HassMediaUnpause",
            "HassMediaNext",
            "HassMediaPrevious",
            "HassMediaPlayerMute",
            "HassMediaPlayerUnmute",
            "MediaWhatsPlaying",
        ):
            if intent == "MediaWhatsPlaying" and _DATE_WORDS.search(text):
                return None
            self._where(words, slots)
            slots.pop("name", None)  # device names are lights and plugs; players are named by area
        elif intent == "HassSetVolume":
            number = _PERCENT.search(text) or _NUMBER.search(text)
            if number is None:
                slots["_missing"] = "volume_level"
            else:
                slots["volume_level"] = int(number.group(1))
        elif intent == "HassSetVolumeRelative":
            down = bool(_DOWN.search(text))
            number = _PERCENT.search(text) or _NUMBER.search(text)
            if number:
                slots["volume_step"] = -int(number.group(1)) if down else int(number.group(1))
            else:
                slots["volume_step"] = "down" if down else "up"
        elif intent == "HassLightSet":
            self._where(words, slots)
            percent = _PERCENT.search(text)
            colour = _COLOURS.search(text)
            relative = re.search(r"\bby\b", text) or not re.search(r"\bto\b", text)
            level = re.search(r"\bto (\d{1,3})\b", text)
            if colour:
                slots["color"] = colour.group(1)
            elif percent and not relative:
                slots["brightness"] = int(percent.group(1))
            elif level and int(level.group(1)) <= 100:
                slots["brightness"] = int(level.group(1))
            elif _DOWN.search(text) or _UP.search(text) or percent:
                slots["brightness_direction"] = "down" if _DOWN.search(text) else "up"
                if percent:
                    slots["brightness_change"] = int(percent.group(1))
            if "name" not in slots:
                slots["domain"] = "light"
        elif intent in (
            "HassTurnOn",
            "HassTurnOff",
            "HassVacuumStart",
            "HassClimateSetTemperature",
            "HassClimateGetTemperature",
            "HassGetState",
        ):
            self._where(words, slots)
            kind = _KIND_WORDS.search(text)
            if kind and "name" not in slots and self._unknown_device(text, slots):
                return None  # a device of ours we could not find: turning on the whole kind is worse
            if kind and "name" not in slots:
                slots["domain"] = _KIND_DOMAIN.get(kind.group(1).rstrip("s"), _KIND_DOMAIN.get(kind.group(1)))
            if (
                intent in ("HassTurnOn", "HassTurnOff")
                and slots.get("domain")
                and not ({"name", "area"} & set(slots))
                and not _SWITCHING.search(text)
            ):
                return None  # "unlock the light": every light of the home, on words that switch nothing
            if intent == "HassClimateSetTemperature":
                number = _NUMBER.search(text)
                if number is None:
                    slots["_missing"] = "temperature"
                else:
                    slots["temperature"] = int(number.group(1))
                slots.pop("domain", None)
            elif (
                intent in ("HassTurnOn", "HassTurnOff")
                and not ({"name", "area"} & set(slots))
                and not slots.get("domain")
            ):
                if _OBJECT.search(text):  # "turn off the banana": something named, and no device of ours
                    return None
                slots["_missing"] = "device"
            if intent in ("HassVacuumStart", "HassClimateGetTemperature"):
                slots.pop("domain", None)
        return {k: v for k, v in slots.items() if v is not None}

    @staticmethod
    def _query(words: list[str], found: dict[str, list[str]]) -> str:
        """The words from the first to the last QUERY word ('poker face by lady gaga')."""
        runs = found.get("QUERY", [])
        if not runs:
            return ""
        text = " ".join(words)
        first = text.find(runs[0])
        last = text.rfind(runs[-1])
        if first < 0 or last < first:
            return runs[0]
        return text[first : last + len(runs[-1])]
