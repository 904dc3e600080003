"""SQLite persistence for timers, alarms and reminders: every change is committed before the answer is
given, so a process killed with SIGKILL loses nothing. A reminder is an alarm row of kind 'reminder'
whose ``name`` is the message to speak (same scheduling, snooze and stop)."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    area TEXT,
    duration_s REAL NOT NULL,      -- the duration the timer was started with (plus changes)
    end_at REAL,                   -- epoch seconds when running
    remaining_s REAL,              -- seconds left when paused
    state TEXT NOT NULL,           -- running | paused | ringing
    created_at REAL NOT NULL,
    fired_at REAL,
    command TEXT                   -- a request to carry out when it ends ("in 5 minutes, open the door")
);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    time TEXT NOT NULL,            -- HH:MM, 24 h, local wall clock
    date TEXT,                     -- YYYY-MM-DD for a one-off alarm on a given day
    repeat TEXT NOT NULL,          -- JSON list of weekday names; [] = one-off
    next_at REAL NOT NULL,         -- epoch seconds of the next ring (snoozes move it)
    state TEXT NOT NULL,           -- scheduled | ringing | snoozed
    created_at REAL NOT NULL,
    fired_at REAL,
    kind TEXT NOT NULL DEFAULT 'alarm'  -- alarm | reminder (name = the message to speak)
);
"""
# Columns added after a release: (table, column, definition) added to older databases on open.
MIGRATIONS = [("alarms", "kind", "TEXT NOT NULL DEFAULT 'alarm'")]


@dataclass
class TimerRow:
    id: int
    name: str | None
    area: str | None
    duration_s: float
    end_at: float | None
    remaining_s: float | None
    state: str
    created_at: float
    fired_at: float | None = None
    command: str | None = None

    def remaining(self, now: float) -> float:
        if self.state == "paused":
            return self.remaining_s or 0.0
        if self.state == "ringing":
            return 0.0
        return max(0.0, (self.end_at or now) - now)


@dataclass
class AlarmRow:
    id: int
    name: str | None
    time: str
    date: str | None
    repeat: list[str] = field(default_factory=list)
    next_at: float = 0.0
    state: str = "scheduled"
    created_at: float = 0.0
    fired_at: float | None = None
    kind: str = "alarm"  # "alarm" | "reminder"


class Store:
    """A tiny typed wrapper over one SQLite file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            for table, column, definition in MIGRATIONS:
                if column not in {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the state database {self.path}: {exc}. "
                "Set data_dir (or ASSISTANT_DATA_DIR) to a writable folder."
            ) from exc
        self._lock = threading.RLock()
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        self._db.close()

    def clear(self) -> None:
        """Forget every timer, alarm and reminder."""
        with self._lock:
            self._db.execute("DELETE FROM timers")
            self._db.execute("DELETE FROM alarms")

    # --- timers -------------------------------------------------------------------------
    def timers(self) -> list[TimerRow]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM timers ORDER BY id").fetchall()
        return [TimerRow(**dict(r)) for r in rows]

    def add_timer(self, timer: TimerRow) -> TimerRow:
        data = asdict(timer)
        data.pop("id")
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO timers ({','.join(data)}) VALUES ({','.join('?' * len(data))})",
                tuple(data.values()),
            )
        timer.id = int(cur.lastrowid or 0)
        return timer

    def save_timer(self, timer: TimerRow) -> None:
        data = asdict(timer)
        tid = data.pop("id")
        with self._lock:
            self._db.execute(
                f"UPDATE timers SET {','.join(f'{k}=?' for k in data)} WHERE id=?",
                (*data.values(), tid),
            )

    def delete_timer(self, timer_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM timers WHERE id=?", (timer_id,))

    # --- alarms -------------------------------------------------------------------------
    def alarms(self, kind: str | None = "alarm") -> list[AlarmRow]:
        """Alarms (by default), reminders (``kind="reminder"``) or both (``kind=None``), soonest first."""
        with self._lock:
            if kind is None:
                rows = self._db.execute("SELECT * FROM alarms ORDER BY next_at, id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM alarms WHERE kind=? ORDER BY next_at, id", (kind,)
                ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["repeat"] = json.loads(d["repeat"])
            out.append(AlarmRow(**d))
        return out

    def add_alarm(self, alarm: AlarmRow) -> AlarmRow:
        data = asdict(alarm)
        data.pop("id")
        data["repeat"] = json.dumps(data["repeat"])
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO alarms ({','.join(data)}) VALUES ({','.join('?' * len(data))})",
                tuple(data.values()),
            )
        alarm.id = int(cur.lastrowid or 0)
        return alarm

    def reminders(self) -> list[AlarmRow]:
        return self.alarms(kind="reminder")

    def save_alarm(self, alarm: AlarmRow) -> None:
        data = asdict(alarm)
        aid = data.pop("id")
        data["repeat"] = json.dumps(data["repeat"])
        with self._lock:
            self._db.execute(
                f"UPDATE alarms SET {','.join(f'{k}=?' for k in data)} WHERE id=?",
                (*data.values(), aid),
            )

    def delete_alarm(self, alarm_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM alarms WHERE id=?", (alarm_id,))


class StoreError(RuntimeError):
    """The state database cannot be used; the message says what to do."""
