"""Moves timers, alarms and reminders through their states as time passes and emits what fell due.

``tick(now)`` is idempotent and cheap; the service (``assistant serve``/``run``) calls it a few
times a second, so what fell due while nothing ran fires when it next starts (with ``late_s``
saying how late). One-shot commands never tick: they must not swallow an alarm nobody hears.
"""

from __future__ import annotations

import datetime as dt
import logging

from .events import AlarmFired, Event, ReminderDue, TimerFinished
from .settings import IntentSettings
from .store import AlarmRow, Store
from .timeparse import next_occurrence

log = logging.getLogger(__name__)


def alarm_next_after(alarm: AlarmRow, now: dt.datetime) -> float | None:
    """Epoch of the alarm's next ring after now; None for a one-off that has passed."""
    hour, minute = map(int, alarm.time.split(":"))
    clock = dt.time(hour, minute)
    if alarm.repeat:
        return next_occurrence(clock, now, repeat=alarm.repeat).timestamp()
    return None


class Scheduler:
    def __init__(self, store: Store, settings: IntentSettings | None = None):
        self.store = store
        self.settings = settings or IntentSettings()

    def tick(self, now: dt.datetime) -> list[Event]:
        ts = now.timestamp()
        timeout = self.settings.ring_timeout_minutes * 60
        events: list[Event] = []
        for timer in self.store.timers():
            if timer.state == "running" and timer.end_at is not None and timer.end_at <= ts:
                if timer.command:
                    self.store.delete_timer(timer.id)  # a delayed command runs; nothing rings
                else:
                    timer.state, timer.fired_at = "ringing", ts
                    self.store.save_timer(timer)
                events.append(
                    TimerFinished(
                        timer.id,
                        timer.name,
                        timer.duration_s,
                        timer.end_at,
                        ts - timer.end_at,
                        timer.command,
                        timer.area,
                    )
                )
            elif timer.state == "ringing" and (timer.fired_at or ts) + timeout <= ts:
                self.store.delete_timer(timer.id)
        for alarm in self.store.alarms(kind=None):  # reminders ring like alarms, with their message
            if alarm.state in ("scheduled", "snoozed") and alarm.next_at <= ts:
                due = ReminderDue if alarm.kind == "reminder" else AlarmFired
                events.append(due(alarm.id, alarm.name, alarm.time, alarm.next_at, ts - alarm.next_at))
                alarm.state, alarm.fired_at = "ringing", ts
                self.store.save_alarm(alarm)
            elif alarm.state == "ringing" and (alarm.fired_at or ts) + timeout <= ts:
                self.dismiss(alarm, now)
        for event in events:
            log.info("%s: %s (%.0f s late)", event.kind, event.name or "", event.late_s)
        return events

    def dismiss(self, alarm: AlarmRow, now: dt.datetime) -> None:
        """Stop a ringing alarm: a repeating one goes back to its schedule, a one-off is removed."""
        following = alarm_next_after(alarm, now)
        if following is None:
            self.store.delete_alarm(alarm.id)
        else:
            alarm.state, alarm.next_at = "scheduled", following
            self.store.save_alarm(alarm)
