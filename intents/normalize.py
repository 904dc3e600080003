"""Normalise a transcript the way Whisper (or a person typing) writes it into one canonical form.

Templates then only ever see: lower case, no punctuation but ``:`` in clock times and ``'`` in
contractions, digits instead of number words, clock times as ``H:MM`` (``7:30 am``), and
durations with explicit units (``30 minutes``).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from text_to_num import alpha2digit

from devices.names import plain_key

# Wake words (ours, other assistants', SLURP's "olly") that may open a typed or heard request.
WAKE_NAMES = "olly siri alexa google jarvis computer assistant nabu mycroft".split() + [
    "okay nabu",
    "ok nabu",
    "hey jarvis",
    "hey mycroft",
]


@functools.lru_cache(maxsize=8)
def wake_words(models: tuple[str, ...] = ()) -> str:
    """A regex for one wake word: a known ``WAKE_NAMES`` or a wake engine's model name, whole or by
    its last word ("okay_nabu": "okay nabu" or "nabu"), any punctuation between the words."""
    names = [*WAKE_NAMES]
    for model in models:
        parts = [p for p in model.lower().replace("-", "_").split("_") if p]
        names += [" ".join(parts), parts[-1]] if parts else []
    names = sorted(set(names), key=lambda n: (-len(n), n))  # "okay nabu" before "nabu"
    return "|".join(r"\W+".join(map(re.escape, n.split())) for n in names)


def strip_wake_word(text: str, models: list[str] | tuple[str, ...] = ()) -> str:
    """Remove the wake words heard at the start of a transcript, keeping the rest's case ("Okay
    Nabu, set a timer" -> "Set a timer"). ``models`` are the wake engine's model names ("okay_nabu").
    The normaliser below removes the same wake words (with fillers) from text typed or heard."""
    pattern = r"^\W*(?:(?:" + wake_words(tuple(models)) + r")\b\W*)+"
    stripped = re.sub(pattern, "", text, flags=re.IGNORECASE)
    return stripped[:1].upper() + stripped[1:] if stripped != text else text


# Words people (and ASR) put in front of a command that carry no meaning, wake words among them.
_LEADING_FILLER = re.compile(
    r"^(?:(?:um+|uh+|erm|er|hmm+|so|okay|ok|oh|well|hey|hi|hello|alright|all right|right|yeah|yes|"
    r"now|and|please|just|" + wake_words() + r")\b[\s,]*)+"
)


_TRAILING_FILLER = re.compile(
    r"(?:[\s,]+(?:please|thanks|thank you|thank you very much|for me|now please))+$"
)
_FILLER_ANYWHERE = re.compile(r"\b(?:um+|uh+|erm|uhm+)\b")

# Phrases where "one" is not a number; protected from text2num by a placeholder word.
_PROTECT = [
    "no one",
    "this one",
    "that one",
    "which one",
    "the one",
    "one of",
    "anyone",
    "someone",
    "everyone",
]
_PLACEHOLDER = "zzprotect{}zz"

_NUMBER_WORD = (
    r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|ninety|\d+)"
)
# "thirty second timer" must stay 30 seconds, not "32nd"; "the twenty second of may" is a date.
_UNIT_SECOND = re.compile(
    rf"(?<!\bthe )\b({_NUMBER_WORD})([\s-]+)second(s?)\b(?! (?:of|day|week|floor|time|january|february|march|april|may|june|july|august|september|october|november|december)\b)"
)

_WORD_FRACTIONS = [
    (r"\ban hour and a half\b", "1 hour and 30 minutes"),
    (r"\b(\d+) and a half hours?\b", r"\1 hours and 30 minutes"),
    (r"\b(\d+) and a half minutes?\b", r"\1 minutes and 30 seconds"),
    (r"\bhalf an? hour\b", "30 minutes"),
    (r"\bhalf a minute\b", "30 seconds"),
    (r"\b(?:a|one) quarter of an hour\b|\ba quarter hour\b", "15 minutes"),
    (r"\bthree quarters of an hour\b", "45 minutes"),
    (r"\ba couple (?:of )?(minutes|hours|seconds)\b", r"2 \1"),
    (r"\ba few (minutes|seconds)\b", r"3 \1"),
    (r"\b(?:an|a) (hour|minute|second)\b", r"1 \1"),
    (r"\b(\d+) hours? and a half\b", r"\1 hours and 30 minutes"),
    (r"\b(\d+) minutes? and a half\b", r"\1 minutes and 30 seconds"),
]

_RELATIVE_CLOCK = re.compile(
    r"\b(quarter|half|\d{1,2})(?: minutes?)? (past|after|to|till|before) (\d{1,2})(?::00)?\b"
    r"(?! ?(?:hours?|minutes?|seconds?|mins?|hrs?|timer|percent|degrees?|times?)\b)"
)


def _relative_clock(m: re.Match[str]) -> str:
    part, rel, hour = m.group(1), m.group(2), int(m.group(3))
    minutes = {"quarter": 15, "half": 30}.get(part) or int(part)
    if hour > 24 or minutes >= 60:
        return m.group(0)
    if rel in ("past", "after"):
        return f"{hour}:{minutes:02d}"
    hour = (hour - 1) % 12 or 12 if hour <= 12 else hour - 1
    return f"{hour}:{60 - minutes:02d}"


def _clock_from_digits(m: re.Match[str]) -> str:
    """'730 am' -> '7:30 am', '1030' -> '10:30' (only in a clock context)."""
    digits, rest = m.group(2), m.group(3)
    hour, minute = int(digits[:-2]), int(digits[-2:])
    if hour > 23 or minute > 59:
        return m.group(0)
    return f"{m.group(1)}{hour}:{minute:02d}{rest}"


def _decimal_duration(m: re.Match[str]) -> str:
    """'1.5 hours' -> '1 hours and 30 minutes'; '2.25 minutes' -> '2 minutes and 15 seconds'."""
    whole, frac, unit = int(m.group(1)), float("0." + m.group(2)), m.group(3)
    big, small = ("hours", "minutes") if unit.startswith("h") else ("minutes", "seconds")
    part = round(frac * 60)
    return f"{whole} {big} and {part} {small}" if whole else f"{part} {small}"


def plain(text: str) -> str:
    """Only lower-case letters, digits and single spaces ("What's up?!" -> "whats up"): a key to
    compare transcripts by (noise phrases, stop words, repeated clauses), not the templates' form."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9' ]+", " ", text.lower())).strip().replace("'", "")


# Little words a spoken name may have or lack: "turn on the lamp", "play the beatles", "my jazz playlist".
_LITTLE_WORDS = frozenset({"the", "a", "an", "my"})


@functools.lru_cache(maxsize=1 << 14)  # every entity's names, at every request: compute once
def name_key(text: str) -> str:
    """The key names are matched by (devices, areas, music; see devices/names.py): the plain key
    without English articles, "my" and possessive 's, "&" read as "and" ("The Kid's Lamp" -> "kid
    lamp"). A name of little words only keeps them ("The The")."""
    plain = plain_key(text.lower().replace("&", " and ").replace("'s ", " "))
    return " ".join(w for w in plain.split() if w not in _LITTLE_WORDS) or plain


# What silences a reply being spoken (barge-in), said on its own.
STOP_WORDS = frozenset(
    {"stop", "cancel", "be quiet", "quiet", "shut up", "silence", "enough", "stop it", "okay stop"}
)


def is_stop(text: str) -> bool:
    """Is ``text`` (a transcript) just a word that stops the reply being spoken?"""
    return plain(text) in STOP_WORDS


@functools.lru_cache(maxsize=1 << 13)  # a home's device names at every list refresh; a request's text twice
def normalize(text: str) -> str:
    """Return the canonical form of ``text`` (see module doc)."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = t.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    t = re.sub(r"\ba\.\s?m\.?(?=\s|$|[,!?])", "am", t)
    t = re.sub(r"\bp\.\s?m\.?(?=\s|$|[,!?])", "pm", t)
    t = re.sub(r"(\d)\s*(am|pm)\b", r"\1 \2", t)
    t = re.sub(r"\b(\d+)\.(\d+) ?(hours?|hrs?|minutes?|mins?)\b", _decimal_duration, t)  # 1.5 hours
    t = re.sub(r"(\d{1,2})\.(\d{2})\b", r"\1:\2", t)  # 7.30 -> 7:30
    t = re.sub(r"(\d)\s*%", r"\1 percent", t)
    t = re.sub(r"(?<![\d/])1/2(?![\d/])", "half", t)
    t = re.sub(r"\bo'? ?clock\b", "o'clock", t)
    t = re.sub(r"(?<![\w.])-(?=\d)", "minus ", t)  # "-5 minutes" must not become "5 minutes"
    # punctuation: keep ':' between digits and apostrophes inside words
    t = re.sub(r"(?<!\d):|:(?!\d)", " ", t)
    t = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", t)
    t = re.sub(r"[^\w\s:'-]", " ", t)
    t = re.sub(r"(?<!\w)-|-(?!\w)", " ", t)
    t = re.sub(r"\s+", " ", t).strip()

    # common ASR slips (homophones Whisper picks in short commands): "whether" for "weather" unless
    # it opens a clause, "them/then the lights" for "dim the lights", "like colour" for "light
    # colour", "place" for a leading "please"
    t = re.sub(r"\bwhether\b(?! (?:it|i|you|we|they|he|she|or|to|there|this|that)\b)", "weather", t)
    t = re.sub(r"^(?:them|then) (?=(?:the|all|my|our) )", "dim ", t)
    t = re.sub(r"\blike (colou?rs?)\b", r"light \1", t)
    t = re.sub(
        r"^place (?=(?:turn|set|play|put|stop|start|switch|make|dim|tell|show|add|cancel|remind)\b)",
        "please ",
        t,
    )
    t = _FILLER_ANYWHERE.sub(" ", t)
    t = re.sub(r"\s+", " ", t).strip()
    t = _LEADING_FILLER.sub("", t)
    t = _TRAILING_FILLER.sub("", t).strip()

    for i, phrase in enumerate(_PROTECT):
        t = re.sub(rf"\b{phrase}\b", _PLACEHOLDER.format(i), t)
    t = _UNIT_SECOND.sub(lambda m: f"{m.group(1)}{m.group(2)}zzsecondzz{m.group(3)}", t)
    t = re.sub(r"\ban? (?=(?:hundred|thousand|million|billion)\b)", "one ", t)  # not "a 100 minutes"
    if t:
        t = alpha2digit(t, "en", threshold=0)
    t = t.replace("zzsecondzz", "second")
    for i, phrase in enumerate(_PROTECT):
        t = t.replace(_PLACEHOLDER.format(i), phrase)
    t = re.sub(
        r"(?<=\d)-(?=\d)", " ", t
    )  # "twenty-five" leftovers (linear: no backtracking on long digit runs)

    for pattern, repl in _WORD_FRACTIONS:
        t = re.sub(pattern, repl, t)
    t = re.sub(r"\bnoon\b|\bmidday\b", "12:00 pm", t)
    t = re.sub(r"\bmidnight\b", "12:00 am", t)
    t = _RELATIVE_CLOCK.sub(_relative_clock, t)
    t = re.sub(r"\b(\d{1,2}) o'clock\b", r"\1:00", t)
    # "7 30 am", "at 6 45": hour and minutes spoken apart
    t = re.sub(
        r"\b(\d{1,2}) ([0-5]\d)\b(?! (?:minutes?|seconds?|hours?|percent|degrees?))",
        lambda m: f"{m.group(1)}:{m.group(2)}" if int(m.group(1)) <= 23 else m.group(0),
        t,
    )
    t = re.sub(r"\b(\d{1,2}) oh (\d)\b", r"\1:0\2", t)  # "7 oh 5"
    # "730 am", "at 1030", "for 130": three or four digits where a clock time is expected
    t = re.sub(
        r"((?:at|for|by|until|till) )(\d{3,4})( am| pm|(?= tomorrow| today| tonight| on| in the| every|$))",
        _clock_from_digits,
        t,
    )
    t = re.sub(r"()(\d{3,4})( am| pm)", _clock_from_digits, t)
    t = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1\2", t)
    return re.sub(r"\s+", " ", t).strip()
