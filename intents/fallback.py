"""What to answer when no intent matched: never an action, always a short polite sentence."""

from __future__ import annotations

import re

from .noise import FRAGMENTS, NOISE
from .normalize import plain

THANKS = re.compile(
    r"^(?:thank you|thanks|cheers|much appreciated|great thanks|thank you so much)(?: (?:very much|a lot|so much))?$"
)
GREETING = re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?$")


# answers given whatever was said (kept synthesised by the voice, like ``Intent.reply_heads``)
REPLY_HEADS = ("Sorry, I can't help with that.", "Sorry, I didn't catch that.")


def answer(normalized: str, raw: str) -> str:
    words = plain(raw)
    if THANKS.match(words):
        return "You're welcome."
    if GREETING.match(words):
        return "Hello! How can I help?"
    if normalized in NOISE or normalized in FRAGMENTS or len(normalized) < 2:
        return "Sorry, I didn't catch that."
    return "Sorry, I can't help with that."
