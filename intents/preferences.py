"""The user's preferences: "my name is Ana", "I like jazz", "use Fahrenheit", "my city is Lyon",
"call me at 6:30 on weekdays"; "what do you know about me"; "forget my preferences".

Kept in SQLite in the data dir (``preferences.db``), every change committed before the answer, so
a SIGKILL loses nothing. Handlers read them with ``preference(ctx, key)`` (the store is
``ctx.services.preferences``): music's "play my music" plays what the user likes, the weather's
home is their city, in their units; the LLM prompt carries them too. Plays are counted so that a
liked genre can be learned when none was said (the answer then says it was learned).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import Field

from .registry import register
from .schema import Context, Intent, Outcome, SlotError

log = logging.getLogger(__name__)

KEYS = ("name", "music", "units", "city", "wake")
SAY = {
    "name": "your name",
    "music": "your music",
    "units": "your unit",
    "city": "your city",
    "wake": "your usual wake-up time",
}
LEARN_AFTER = 3  # plays of one search before it counts as liked (when no liking was said)

SCHEMA = """
CREATE TABLE IF NOT EXISTS preferences (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,           -- JSON
    said TEXT,                     -- the sentence it came from
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS plays (
    query TEXT NOT NULL,
    at REAL NOT NULL
);
"""


class Preferences:
    """A small key -> value store in the data dir."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "PRAGMA synchronous=FULL"
        )  # a stated preference is a promise: on disk before the answer
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    def get(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM preferences WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def all(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM preferences ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT key, value, said, at FROM preferences ORDER BY key").fetchall()
        return [{"key": k, "value": json.loads(v), "said": s, "at": a} for k, v, s, a in rows]

    def set(self, key: str, value: Any, said: str | None = None) -> None:
        if key not in KEYS:
            raise KeyError(f"unknown preference {key!r}; known: {', '.join(KEYS)}")
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO preferences (key, value, said, at) VALUES (?, ?, ?, ?)",
                (key, json.dumps(value), said, time.time()),
            )

    def forget(self, key: str | None = None) -> int:
        """Forget one preference, or all of them and the play history; returns how many were kept."""
        with self._lock:
            if key is None:
                n = self._db.execute("DELETE FROM preferences").rowcount
                self._db.execute("DELETE FROM plays")
                return n
            return self._db.execute("DELETE FROM preferences WHERE key=?", (key,)).rowcount

    def played(self, query: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO plays (query, at) VALUES (?, ?)", (query.lower().strip(), time.time())
            )

    def most_played(self) -> tuple[str, int] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT query, COUNT(*) n FROM plays GROUP BY query ORDER BY n DESC, MAX(at) DESC LIMIT 1"
            ).fetchone()
        return (row[0], row[1]) if row else None


def store_of(ctx: Context) -> Preferences | None:
    return ctx.services.preferences


def preference(ctx: Context, key: str) -> Any:
    store = store_of(ctx)
    return store.get(key) if store is not None else None


def liked_music(ctx: Context) -> tuple[str, bool] | None:
    """What "play my music" means: (query, learned). A stated liking wins; else the search played
    most often, once it was played LEARN_AFTER times."""
    store = store_of(ctx)
    if store is None:
        return None
    said = store.get("music")
    if said:
        return str(said), False
    top = store.most_played()
    if top and top[1] >= LEARN_AFTER:
        return top[0], True
    return None


def describe(prefs: dict[str, Any]) -> str:
    """One sentence for the LLM prompt and "what do you know about me"."""
    parts = []
    if prefs.get("name"):
        parts.append(f"name {prefs['name']}")
    if prefs.get("city"):
        parts.append(f"home city {prefs['city']}")
    if prefs.get("music"):
        parts.append(f"likes {prefs['music']}")
    if prefs.get("units"):
        parts.append(f"uses {'Fahrenheit' if prefs['units'] == 'imperial' else 'Celsius'}")
    if prefs.get("wake"):
        parts.append(f"wakes up at {prefs['wake']}")
    return "; ".join(parts)


_UNITS = {
    "fahrenheit": "imperial",
    "imperial": "imperial",
    "freedom units": "imperial",
    "celsius": "metric",
    "centigrade": "metric",
    "metric": "metric",
}
_VAGUE = re.compile(r"^(?:it|that|this|them|you|him|her|to|a|an|the|some|something|anything|everything)\b")
_NOT_A_VALUE = re.compile(r"\b(?:turn|set|play|stop|timer|alarm|light|lights|weather|remind|what|when|how)\b")
# "i like this song", "save the current track to my favourites": the liking is whatever plays now
CURRENT = "this song"
_CURRENT = re.compile(
    r"^(?:this|that|the current|this current|the playing)(?: \w+)? "
    r"(?:songs?|tracks?|tunes?|music|records?|artists?|bands?|singers?|albums?)$"
)


@register
class SetPreference(Intent):
    intent: ClassVar[str] = "SetPreference"
    description: ClassVar[str] = (
        "Remembers something about the user: name, music they like, units (Fahrenheit or "
        "Celsius), home city, usual wake-up time"
    )

    key: Literal["name", "music", "units", "city", "wake"] = Field(description="What the user told")
    value: str = Field(description="e.g. 'Ana', 'jazz', 'imperial' / 'metric', 'Lyon', '6:30 on weekdays'")
    said_fields: ClassVar[tuple[str, ...]] = ("value",)

    @classmethod
    def check_said(cls, args: dict[str, Any], text: str) -> None:
        """A name, music or city from the LLM must have been said (it answered "favourite" with
        music = jazz); units and a wake time are said in other words ("use Fahrenheit": imperial)."""
        if args.get("key") in ("name", "music", "city"):
            super().check_said(args, text)

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        key = str(slots.get("key") or "")
        value = re.sub(
            r"\s+(?:please|thanks|thank you|from now on|now|instead)$",
            "",
            str(slots.get("value") or "").strip(),
        )
        if key == "name" and re.match(r"^(?:at )?\d", value):  # "call me at 6:30 on weekdays"
            key, value = "wake", re.sub(r"^at ", "", value)
        if key == "music" and _CURRENT.match(value):
            value = CURRENT
        elif key == "units":
            unit = _UNITS.get(re.sub(r"^(?:degrees? )|(?: degrees| units)$", "", value))
            if unit is None:
                raise SlotError(f"{value!r} are no units")
            value = unit
        elif not value or _VAGUE.match(value) or _NOT_A_VALUE.search(value) or len(value.split()) > 4:
            raise SlotError(f"{value!r} is no {key}")
        return cls.model_validate({"key": key, "value": value})

    def handle(self, ctx: Context) -> Outcome:
        store = store_of(ctx)
        if store is None:
            return Outcome("I can't remember preferences here.")
        value = self.value.title() if self.key in ("name", "city") else self.value
        if self.key == "music" and value == CURRENT:
            value = _playing_now(ctx)
            if not value:
                return Outcome("Nothing is playing, so I don't know which song you mean.")
        if not ctx.dry_run:
            store.set(self.key, value, ctx.text)
        action = {"type": "preference_set", "key": self.key, "value": value}
        says = {
            "name": f"Nice to meet you, {value}.",
            "music": f"Got it, you like {value}.",
            "units": f"Okay, I'll use {'Fahrenheit' if value == 'imperial' else 'Celsius'}.",
            "city": f"Got it, your city is {value}.",
            "wake": f"Got it, you get up at {value}.",
        }[self.key]
        return Outcome(says, [action])


def _playing_now(ctx: Context) -> str:
    """What a liking of "this song" keeps: the artist of what plays now (what "play my music" can
    search for), else its title; "" when nothing plays or the player cannot say."""
    media = ctx.services.media
    if media is None:
        return ""
    try:
        for _name, player in media.playing():
            info = player.now_playing() or {}
            return str(info.get("artist") or info.get("title") or "")
    except Exception as e:  # a remote player that stopped answering: nothing known to be playing
        log.warning("music player: %s", e)
    return ""


@register
class ForgetPreferences(Intent):
    intent: ClassVar[str] = "ForgetPreferences"
    description: ClassVar[str] = "Forgets what the user told about themselves (all, or one thing)"

    key: Literal["name", "music", "units", "city", "wake"] | None = Field(
        None, description="Only this; unset = all"
    )

    def handle(self, ctx: Context) -> Outcome:
        store = store_of(ctx)
        if store is None:
            return Outcome("I don't keep preferences here.")
        if not ctx.dry_run:
            store.forget(self.key)
        what = SAY[self.key] if self.key else "your preferences"
        return Outcome(f"Done, I forgot {what}.", [{"type": "preference_forget", "key": self.key}])


@register
class ListPreferences(Intent):
    intent: ClassVar[str] = "ListPreferences"
    description: ClassVar[str] = "Says what the assistant knows about the user"

    def handle(self, ctx: Context) -> Outcome:
        store = store_of(ctx)
        prefs = store.all() if store is not None else {}
        known = [
            f"{SAY[k].replace('your ', 'your ', 1)} is {_spoken(k, v)}" for k, v in prefs.items() if k in SAY
        ]
        if not known:
            return Outcome("You haven't told me anything about yourself yet.")
        return Outcome(
            "I know that " + ", ".join(known[:-1]) + (" and " if len(known) > 1 else "") + known[-1] + "."
        )


def _spoken(key: str, value: Any) -> str:
    if key == "units":
        return "Fahrenheit" if value == "imperial" else "Celsius"
    return str(value)
