"""What to answer when no intent matched: never an action, always a short polite sentence."""

from __future__ import annotations

import re

# Whisper's usual inventions on silence or noise, and one-word fragments.
NOISE = {
    "",
    "you",
    "thank you",
    "thanks",
    "thanks for watching",
    "thank you for watching",
    "thanks for watching and see you next time",
    "please subscribe",
    "subscribe",
    "bye",
    "bye bye",
    "so",
    "oh",
    "uh",
    "um",
    "hmm",
    "okay",
    "ok",
    "yeah",
    "yes",
    "no",
    "the",
    "a",
    "i",
    "it",
    "and",
    "music",
    "applause",
    "laughter",
    "silence",
    "foreign",
    "blank audio",
    "inaudible",
    "hello",
}
THANKS = re.compile(
    r"^(?:thank you|thanks|cheers|much appreciated|great thanks|thank you so much)(?: (?:very much|a lot|so much))?$"
)
GREETING = re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?$")


def answer(normalized: str, raw: str) -> str:
    plain = " ".join(re.sub(r"[^\w\s']", " ", raw.lower()).split())
    if THANKS.match(plain):
        return "You're welcome."
    if GREETING.match(plain):
        return "Hello! How can I help?"
    if normalized in NOISE or len(normalized) < 2:
        return "Sorry, I didn't catch that."
    return "Sorry, I can't help with that."
