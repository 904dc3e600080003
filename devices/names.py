"""Name keys: how devices/ compares names (entities, areas, music) without knowing their language.

A key maps a name to the form names are compared in. ``plain_key`` only folds case and punctuation;
intents/ passes a key that also drops its language's little words (``intents.normalize.name_key``),
and the same key is applied to what was said and to every name it is matched with.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NameKey = Callable[[str], str]


def plain_key(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces ("Living-Room Lamp!" -> "living room lamp")."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
