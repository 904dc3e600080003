"""The fixed openings of spoken answers ("Timer set", "Turned off") and whole fixed answers ("There
are no timers running."), declared by each intent (``Intent.reply_heads``) and by the fallback. The
voice synthesises them once at start-up (``assistant.tts.Tts.keep``): an answer that opens with one
starts playing as soon as the action is done, and the rest is synthesised while it plays."""

from __future__ import annotations

from .fallback import REPLY_HEADS as FALLBACK
from .registry import intents


def reply_heads() -> list[str]:
    """Every declared head and fixed answer, once, in a stable order."""
    heads: list[str] = []
    for _name, cls in sorted(intents().items()):
        heads += cls.reply_heads
    return list(dict.fromkeys([*heads, *FALLBACK]))
