"""Context carry-over: a request that leans on the previous turn ("make it brighter", "make it 10").

``rephrase`` turns it into requests that stand on their own ("make the kitchen light brighter"),
which the recognisers then try like any other; ``adjust`` changes what the previous turn just did
("set a timer for 5 minutes" ... "make it 10" -> that timer now runs 10 minutes). Both read only
recent turns of the same conversation (``intents.conversation``).
"""

from __future__ import annotations

import re
from typing import Any

from .conversation import Turn
from .schema import Context

_IT = re.compile(r"\b(?:it|that|this|them|those|these|they)\b")
_UNITS = r"%|percent|degrees?|seconds?|secs?|minutes?|mins?|hours?|hrs?"
# "make it 10", "change it to 10 minutes", "no, 10 minutes", "actually make it 10", "10 minutes instead"
_AGAIN = re.compile(
    rf"^(?:(?:no|actually|rather|sorry|wait),? )*(?:(?:make|change|set|turn|put) (?:it|that|this|them)"
    rf"(?: to| up to| down to)? )?(?P<n>\d+)(?: ?(?P<unit>{_UNITS}))?(?P<instead> instead)?$"
)
_LEAD = re.compile(r"^(?:no|actually|rather|sorry|wait|make|change|set|turn|put)\b")
_PLURAL = {
    "light": "lights",
    "switch": "switches",
    "fan": "fans",
    "cover": "covers",
    "climate": "thermostats",
}
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


def subject(turn: Turn) -> tuple[str, set[str]] | None:
    """What the previous request acted on, said so that a template can match it, and the slot
    values (lower case) a request about it will carry."""
    slots = turn.slots or {}
    if slots.get("name"):
        return f"the {str(slots['name']).lower()}", {str(slots["name"]).lower()}
    if slots.get("area"):
        domain = slots.get("domain")
        kind = _PLURAL.get(domain[0] if isinstance(domain, list) and domain else domain or "", "lights")
        return f"the {str(slots['area']).lower()} {kind}", {str(slots["area"]).lower()}
    return None


def rephrase(text: str, history: list[Turn]) -> list[tuple[str, set[str]]]:
    """``text`` with "it" / "them" replaced by what the last device request acted on, with the slot
    values that request must then carry (checked by the caller before anything runs)."""
    if not history or not _IT.search(text):
        return []
    for turn in reversed(history[-3:]):
        found = subject(turn)
        if found:
            return [(_IT.sub(found[0], text, count=1), found[1])]
    return []


def adjust(text: str, history: list[Turn], ctx: Context) -> Any | None:
    """ "Make it 10" after the previous turn set something: a new value for that very thing.
    Returns an Outcome (done here), a request to understand instead (str), or None."""
    m = _AGAIN.match(text)
    if (
        not m or not history or not (_LEAD.match(text) or m.group("instead"))
    ):  # a bare "5 minutes" is no change
        return None
    number = int(m.group("n"))
    unit = (m.group("unit") or "").lower()
    last = history[-1]
    slots = last.slots or {}
    if last.intent == "HassStartTimer":
        timer_id = next((a.get("timer_id") for a in last.actions if a.get("type") == "timer_start"), None)
        if timer_id is None or unit in ("%", "percent", "degree", "degrees"):
            return None
        if not unit:  # the unit said last time: "5 minutes" ... "make it 10"
            unit = (
                "h"
                if slots.get("hours") and not slots.get("minutes")
                else (
                    "s"
                    if slots.get("seconds") and not slots.get("minutes") and not slots.get("hours")
                    else "m"
                )
            )
        from .timers import restart_timer

        return restart_timer(ctx, int(timer_id), number * _UNIT_S[unit[0]])
    found = subject(last)
    what = found[0] if found else None
    if what and last.intent in ("HassTurnOn", "HassLightSet") and unit in ("", "%", "percent"):
        return f"set {what} to {number} percent"
    if last.intent == "HassClimateSetTemperature" and unit in ("", "degree", "degrees"):
        return f"set {what or 'the thermostat'} to {number} degrees"
    return None
