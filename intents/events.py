"""Events the intents layer emits when something falls due. The runtime turns them into sound,
speech and MQTT messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TimerFinished:
    timer_id: int
    name: str | None
    duration_s: float
    due_at: float  # epoch seconds
    late_s: float  # how long after due_at it fired (the process may have been down)
    command: str | None = None  # a delayed request to carry out now
    area: str | None = None  # where it was set (a delayed command runs there)

    kind = "timer_finished"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}


@dataclass(frozen=True)
class AlarmFired:
    alarm_id: int
    name: str | None
    time: str
    due_at: float
    late_s: float

    kind = "alarm_fired"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}


@dataclass(frozen=True)
class ReminderDue:
    reminder_id: int
    message: str | None  # what to remind of ("call mom"); None for a bare "remind me at 5"
    time: str
    due_at: float
    late_s: float

    kind = "reminder_due"

    @property
    def name(self) -> str | None:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}

    def spoken(self) -> str:
        return f"Reminder: {self.message}." if self.message else "This is your reminder."


Event = TimerFinished | AlarmFired | ReminderDue
