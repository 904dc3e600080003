"""What Whisper writes on silence or noise: never acted on, never a request.

One list for both places that need it: the voice pipeline drops such a transcript before
understanding (``is_noise``), and the fallback answers "Sorry, I didn't catch that." to it (and to
``FRAGMENTS``, words that are real speech but no request on their own).
"""

from __future__ import annotations

import re

from .normalize import plain

# Whisper's usual inventions on silence or noise (compared after ``plain``).
NOISE = frozenset(
    {
        "",
        "you",
        "you you",
        "thank you",
        "thank you thank you",
        "thanks",
        "thank you very much",
        "thanks for watching",
        "thank you for watching",
        "thanks for watching and see you next time",
        "please subscribe",
        "subscribe",
        "like and subscribe",
        "subtitles by the amaraorg community",
        "bye",
        "bye bye",
        "goodbye",
        "go",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
        "mm",
        "ah",
        "i",
        "the",
        "okay",
        "ok",
        "yeah",
        "music",
        "applause",
        "laughter",
        "silence",
        "foreign",
        "blank audio",
        "inaudible",
    }
)
# Real words, but no request on their own (the fallback's "didn't catch that"; the pipeline keeps
# them: "yes" and "no" answer questions).
FRAGMENTS = frozenset({"yes", "no", "a", "it", "and", "hello"})

_SOUND_TAGS = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪")


def is_noise(text: str) -> bool:
    """True for empty text, pure sound tags ([Music], (wind), ♪) and the known noise phrases."""
    return plain(_SOUND_TAGS.sub(" ", text)) in NOISE
