"""Compound requests: "turn off the lights and lock the door" is two requests.

``splits`` proposes ways to cut a request (as said, before normalising: commas count) at "and" /
"then" / "also" / commas; the core takes a split only when every part on its own is understood, so
"play rock and roll" or "play Simon and Garfunkel" (parts that mean nothing alone) stay whole. It
tries this before the whole request, as a template wildcard may swallow a second command
("set a timer for 5 minutes and set an alarm for 7" is no alarm called "5 minutes and ...").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_PARTS = 4
_JOINER = re.compile(
    r"\s*,?\s+\b(?:and then|and also|and after that|then|and|also|after that|plus)\b\s+|\s*[,;]\s+"
)


def splits(text: str) -> Iterator[list[str]]:
    """Candidate splits, most cuts first; each part is non-empty."""
    text = text.lower().strip().rstrip(".!?")
    cuts = [m for m in _JOINER.finditer(text)]
    if not cuts or len(cuts) >= MAX_PARTS:
        return
    # every joiner a cut, then each single cut alone (left to right)
    options: list[list[re.Match[str]]] = [cuts] + ([[c] for c in cuts] if len(cuts) > 1 else [])
    for chosen in options:
        parts, start = [], 0
        for m in chosen:
            parts.append(text[start : m.start()].strip())
            start = m.end()
        parts.append(text[start:].strip())
        if all(parts) and len(parts) > 1:
            yield parts
