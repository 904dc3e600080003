"""Conversation state: what was said lately, and the question the assistant is waiting on.

One conversation per box or API client, named by an id. It lives in SQLite in the data dir
(``conversations.db``), so separate ``assistant ask --conversation ID`` processes continue one
conversation. Turns expire after ``HISTORY_TTL_S`` (context carry-over and the LLM's history read
only recent ones); a question expires after its own ``ttl_s``. A turn keeps its first
``HISTORY_ACTIONS`` actions. Every change is committed before the answer is given.

A handler asks back by returning ``Outcome(..., question=Question(...))``; ``intents.pending``
turns the next utterance into the answer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

DEFAULT_ID = "default"  # the box itself, and `assistant ask` without --conversation
HISTORY_TTL_S = 300.0
HISTORY_TURNS = 6
HISTORY_ACTIONS = 20  # of a turn's actions, kept in the history (a follow-up reads a timer's id, no more)
QUESTION_TTL_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    at REAL NOT NULL,              -- wall-clock epoch seconds (not --now)
    body TEXT NOT NULL             -- JSON of Turn
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation, at);
CREATE TABLE IF NOT EXISTS questions (
    conversation TEXT PRIMARY KEY,
    expires REAL NOT NULL,
    body TEXT NOT NULL             -- JSON of Question
);
"""


@dataclass
class Choice:
    """One option of a "which one?" question: how it is said, and what picking it means."""

    label: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Question:
    """A question the assistant asked back.

    kind ``confirm``: "Are you sure?"; yes runs the continuation ``resume`` with ``data``.
    kind ``choose``: "Which alarm, the 7:00 or the 8:30?"; the answer picks one of ``choices`` and
    runs ``resume`` with ``data`` updated by the choice's data.
    kind ``fill``: "For how long?" / "Which room?"; the answer is put into each of ``retry``
    (requests with ``{answer}``, e.g. "set a timer for {answer}") and the first one understood runs.
    "No" / "cancel" answers every kind with ``declined``.
    """

    say: str
    kind: str
    resume: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    declined: str = "Okay, never mind."
    ttl_s: float = QUESTION_TTL_S

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Question:
        data = json.loads(text)
        data["choices"] = [Choice(**c) for c in data.get("choices", [])]
        return cls(**data)


@dataclass
class Turn:
    """One request and its answer."""

    text: str
    intent: str | None
    slots: dict[str, Any]
    response: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    at: float = 0.0


def _jsonable(value: Any) -> Any:
    """JSON for what a slot may hold besides JSON types (``asdict`` of a whole turn would copy every
    action first: a command to 500 lights spent more time there than in sending)."""
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else str(value)


class Conversations:
    """The conversations of one data dir."""

    def __init__(self, path: Path, history_ttl_s: float = HISTORY_TTL_S):
        self.path = Path(path)
        self.history_ttl_s = history_ttl_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    def history(self, conversation: str, limit: int = HISTORY_TURNS) -> list[Turn]:
        """The latest unexpired turns, oldest first."""
        since = time.time() - self.history_ttl_s
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM turns WHERE conversation=? AND at>=? ORDER BY id DESC LIMIT ?",
                (conversation, since, limit),
            ).fetchall()
        return [Turn(**json.loads(r[0])) for r in reversed(rows)]

    def add(self, conversation: str, turn: Turn) -> None:
        turn.at = time.time()
        # "turn off the lights" in a home of 500: 500 actions written, and read back by every request
        # for the next few minutes, cost more than the command's own bookkeeping
        body = {**vars(turn), "actions": turn.actions[:HISTORY_ACTIONS]}
        with self._lock:
            self._db.execute(
                "INSERT INTO turns (conversation, at, body) VALUES (?, ?, ?)",
                (conversation, turn.at, json.dumps(body, default=_jsonable)),
            )
            self._db.execute("DELETE FROM turns WHERE at<?", (turn.at - self.history_ttl_s,))

    def question(self, conversation: str) -> Question | None:
        """The question waiting for an answer, if it has not expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT expires, body FROM questions WHERE conversation=?", (conversation,)
            ).fetchone()
        if row is None:
            return None
        if time.time() > row[0]:
            self.drop_question(conversation)
            return None
        try:
            return Question.from_json(row[1])
        except (ValueError, TypeError):
            self.drop_question(conversation)
            return None

    def ask(self, conversation: str, question: Question) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO questions (conversation, expires, body) VALUES (?, ?, ?)",
                (conversation, time.time() + question.ttl_s, question.to_json()),
            )

    def drop_question(self, conversation: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM questions WHERE conversation=?", (conversation,))

    def forget(self, conversation: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM turns WHERE conversation=?", (conversation,))
            self._db.execute("DELETE FROM questions WHERE conversation=?", (conversation,))
