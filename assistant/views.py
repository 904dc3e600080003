"""What is set and known, as JSON-ready dicts: shared by the CLI (`alarms`, `timers`, `devices`
--json) and the HTTP API (``/api/alarms``, ``/api/timers``, ``/api/devices``)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def alarm_items(assistant: Any, now: dt.datetime) -> list[dict[str, Any]]:
    from intents.alarms import describe

    return [
        {
            "id": a.id,
            "time": a.time,
            "date": a.date,
            "repeat": a.repeat,
            "name": a.name,
            "state": a.state,
            "next": dt.datetime.fromtimestamp(a.next_at, assistant.tz).isoformat(),
            "says": describe(a, now),
        }
        for a in assistant.store.alarms()
    ]


def reminder_items(assistant: Any, now: dt.datetime) -> list[dict[str, Any]]:
    from intents.reminders import describe

    return [
        {
            "id": r.id,
            "message": r.name,
            "time": r.time,
            "date": r.date,
            "repeat": r.repeat,
            "state": r.state,
            "next": dt.datetime.fromtimestamp(r.next_at, assistant.tz).isoformat(),
            "says": describe(r, now),
        }
        for r in assistant.store.reminders()
    ]


def timer_items(assistant: Any, now: dt.datetime) -> list[dict[str, Any]]:
    from intents.timeparse import say_duration

    items = []
    for t in assistant.store.timers():
        left = t.remaining(now.timestamp())
        what = f"to {t.command}" if t.command else t.name  # a delayed command: "to turn off the lights"
        says = (
            f"{what + ': ' if what else ''}{say_duration(left)} left"
            + (" (paused)" if t.state == "paused" else "")
            + (" (ringing)" if t.state == "ringing" else "")
        )
        items.append(
            {
                "id": t.id,
                "name": t.name,
                "command": t.command,
                "duration_s": t.duration_s,
                "remaining_s": round(left, 1),
                "state": t.state,
                "says": says,
            }
        )
    return items


def device_items(assistant: Any) -> list[dict[str, Any]]:
    hub = assistant.services.devices
    ents = sorted(hub.registry.all(), key=lambda e: (e.area or "~", e.entity_id)) if hub else []
    return [
        {
            "entity_id": e.entity_id,
            "name": e.name,
            "area": e.area,
            "source": e.source,
            "state": e.state,
            "available": e.available,
            "exposed": e.exposed,
            "aliases": e.aliases,
            "requires_confirmation": e.requires_confirmation,
        }
        for e in ents
    ]
