"""Does a transcript stop where a spoken command usually goes on?

Used by the voice pipeline's early endpointing: a transcript heard in a pause ends the turn after a
short silence only if it is a whole command. "set a timer for", "turn on the", "play" or
"... and" are not, even when a template would accept what came before (``Assistant.is_complete``
adds the template check). Only the words, not the meaning: the core decides the rest.
"""

from __future__ import annotations

import re

# Words a command rarely ends on but often pauses after (articles, prepositions, conjunctions,
# verbs that take an object). A missing early end costs the full silence timeout; a wrong one
# cuts the user off, so the list errs towards waiting.
CONTINUING_WORDS = frozenset(
    """
    a an the my our your his her their this that these those some any all every each another
    for to at in of by with from into onto until till about before after than via
    and or but plus then also so nor
    set turn switch put play make start add change dim brighten raise lower increase decrease cancel
    remind wake tell give show find search call named called
    what whats what's how when where who which whose is are was will can could would should
    please um uh er erm hmm
    """.split()
)

# Whisper marks trailing off with an ellipsis or a dash; a comma or colon also means "more to come".
_OPEN_PUNCTUATION = re.compile(r"(?:\.\.\.|…|[,;:\-–—])\s*$")


def ends_open(text: str) -> bool:
    """True when ``text`` (a raw transcript) ends on a continuing word or trailing-off punctuation,
    or is empty."""
    if _OPEN_PUNCTUATION.search(text.strip()):
        return True
    words = re.findall(r"[a-z0-9']+", text.lower())
    return not words or words[-1] in CONTINUING_WORDS
