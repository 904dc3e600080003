"""Device commands said with a time: "turn off the kitchen light in 10 minutes", "at 11 pm turn on the
porch light", "tomorrow at 7 turn on the heater".

``split`` finds the time words at the start or the end of a normalised request and ``due`` reads them.
The core (``Assistant._later``) asks what the rest would do (``Context.plan``: a dry run through the
templates and the learned tier). A command that changes a device (``Intent.delayable``) is stored as a
timer carrying the command (``HassStartTimer.conversation_command``, Home Assistant's form of "in 5
minutes, open the garage door"): listed and cancelled with the timers, and carried out when due by the
service's ``Assistant.tick`` through ``Assistant.ask``, like a spoken request, in the area it was said
in. ``check`` is the one test every delayed command passes, whichever way it came (this split, HA's
template, an LLM tool call): a device command that would need a "yes", would ask "which one?" or finds
no device is refused now, with the reason, and so is a device command said with a time that only the
whole line, not the command alone, was read as (``UNCLEAR``). A device command is never carried out
at once when a time was said with it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .schema import Refusal, SlotError
from .timeparse import UNIT, next_occurrence, parse_duration, parse_when, say_date, say_duration, say_time

if TYPE_CHECKING:
    from .schema import Context

MAX_LATE_S = 10 * 60  # a command the service could not run within this of its time is dropped (logged)
# the conversation delayed commands run in: no answer of the user's reaches a question one asks
CONVERSATION = "__delayed__"

NEEDS_YES = (
    "That needs your confirmation at the moment it is done, so I can't do it later. "
    "Say it again when you want it done."
)
WHICH = "I can't do that later: I would have to ask which one you mean. Say it again when you want it done."
UNCLEAR = "I can't tell which command to carry out at that time; say it again when you want it done."
ONE_SHOT = "It runs only while the assistant service is running (assistant serve or assistant run)."
WHEN_UNSAID = "At what time? Say it again with a time, like in 10 minutes or at 11 pm."
REPEATS = (
    "I can carry out a command later once, not again and again. Say it again without the repeat to have "
    "it done once."
)
UNREAD = (
    "I heard a time in that but couldn't tell when to do it. Say it again like in 10 minutes or at "
    "11 pm, or without a time to do it now."
)

_DURATION = rf"(?:minus |negative )?\d+ {UNIT}(?:,? (?:and )?\d+ {UNIT})*"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_DAY = rf"(?:(?:today|tonight|tomorrow)(?: (?:morning|afternoon|evening|night))?|on {_WEEKDAY})"
_CLOCK = r"\d{1,2}(?::\d{2})? ?(?:am|pm)?"
_ABOUT = r"(?:about|around|roughly|approximately|just)"  # dropped from the time words (``_exact``)
_AT = rf"(?:{_DAY} )?(?:at|at {_ABOUT}|{_ABOUT}|by) {_CLOCK}(?: (?:{_DAY}|in the (?:morning|afternoon|evening)|at night))?"
_RELATIVE = re.compile(rf"in ({_DURATION})|({_DURATION}) from now")
# a time with no clock in it: a device command said so is refused (WHEN_UNSAID), never done now
_VAGUE = (
    rf"later(?: on)?|soon|in a (?:bit|while|moment|little while)|{_DAY}|this (?:morning|afternoon|evening)"
    r"|in the (?:morning|afternoon|evening)|at (?:sunset|sunrise|dawn|dusk|night)"
)
_WHEN = rf"in(?: {_ABOUT})? {_DURATION}(?: time)?|(?:{_ABOUT} )?{_DURATION} from now|{_AT}|{_VAGUE}"
_VAGUE_ONLY = re.compile(rf"(?:{_VAGUE})")
_A_UNIT = re.compile(rf"\b{UNIT}\b")
_ABOUT_WORD = re.compile(rf"\b{_ABOUT} ")
_ABOUT_CLOCK = re.compile(rf"\b(?:at )?(?:{_ABOUT}|by) (?=\d)")
_LEADING = re.compile(rf"^(?P<when>{_WHEN}),? (?P<command>.+)$")
_TRAILING = re.compile(rf"^(?P<command>.+?),? (?P<when>{_WHEN})$")
# a time said elsewhere that puts the command later ("in 10 minutes", "at 11:30", "by 7 pm"; not
# "for 10 minutes" or "until 11:30", which start now), or one that is no time ("in few minutes", "in
# 1e309 minutes"): a device command with one that ``split`` cannot place is refused (UNREAD), never
# done now
_LATER_SAID = re.compile(
    rf"\b(?:in|after)(?: {_ABOUT})? \S+ {UNIT}\b|\b\d+ {UNIT} from now\b"
    rf"|\b(?:at|by)(?: {_ABOUT})? \d{{1,2}}(?::\d{{2}})?\b"
    r"|(?<!until )(?<!till )(?<!for )\b\d{1,2}(?::\d{2} ?(?:am|pm)?| ?(?:am|pm))\b"
)


# a command to repeat ("daily", "every morning"): stored timers run once, so it is refused (REPEATS)
_REPEAT = re.compile(
    rf"\b(?:daily|nightly|weekly|hourly|weekdays|weekends|(?:every|each) (?:other )?(?:\d+ )?(?:day|night|morning"
    rf"|afternoon|evening|week|weekday|weekend|hour|minute|time|{_WEEKDAY})s?)\b"
)


@dataclass(frozen=True)
class Plan:
    """What a request would do if said now, from a dry run (``Context.plan``)."""

    intents: list[str]  # the intents it was read as (several for "X and Y"); [] = not understood
    delayable: bool  # every one of them changes a device (``Intent.delayable``)
    response: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    asks: bool = False  # it would ask a question back ("Which one do you mean?")


def split(text: str) -> tuple[str, str] | None:
    """(the command, the time words) when a normalised request starts or ends with a time: "in 10
    minutes", "at 23:00", "tomorrow at 7", "at 7 tomorrow morning", "5 minutes from now"."""
    for pattern in (_LEADING, _TRAILING):
        m = pattern.match(text)
        if m and m["command"].strip():
            return m["command"].strip(" ,"), _exact(m["when"])
    return None


def _exact(when: str) -> str:
    """ "in about 10 minutes time" -> "in 10 minutes", "by 11 pm" -> "at 11 pm": the time meant."""
    when = when.removesuffix(" time")
    if _A_UNIT.search(when):  # a duration
        return _ABOUT_WORD.sub("", when)
    return _ABOUT_CLOCK.sub("at ", when)


def not_now(text: str) -> str | None:
    """Why a device command in this normalised request must not be carried out at once (the answer
    if no reading of the command alone can be stored for later), or None when no time is said."""
    if split(text) is not None:
        return UNCLEAR
    return UNREAD if _LATER_SAID.search(text) else None


def due(when: str, now: dt.datetime) -> dt.datetime:
    """The moment time words (from ``split``) name; ``Refusal`` for one that has passed or is no time
    ("at 25:99"), ``SlotError`` for words that are not a time after all."""
    relative = _RELATIVE.fullmatch(when)
    if relative:
        delta = parse_duration(relative[1] or relative[2])  # "in minus 5 minutes": Refusal
        if delta is None:  # "in 0 minutes"
            raise Refusal(WHEN_UNSAID)
        return now + delta
    if _VAGUE_ONLY.fullmatch(when):
        raise Refusal(WHEN_UNSAID)
    said = parse_when(when, now)
    if said.unknown or said.repeat or not said.has_time:
        raise SlotError(f"not a time: {when!r}")
    clock = said.clock(now)
    if clock is None:
        raise SlotError(f"not a time: {when!r}")
    at = next_occurrence(clock, now, said.date)
    if at <= now and said.date is not None and re.search(_WEEKDAY, when):  # "on monday", said on one
        at = next_occurrence(clock, now, said.date + dt.timedelta(days=7))
    if at <= now:
        raise Refusal(f"{say_time(at)} {say_date(at.date(), now.date())} has already passed.")
    return at


def check(command: str, ctx: Context) -> None:
    """May ``command`` be carried out later, unasked? ``SlotError``: it is not a command (try another
    reading); ``Refusal``: it is one, and cannot be done later (the reason is the answer)."""
    plan = ctx.plan(command) if ctx.plan is not None else None
    if plan is None or not plan.intents:
        raise SlotError(f"not a command I can carry out later: {command!r}")
    if plan.delayable and _REPEAT.search(command):  # "by 10:50 daily start the vacuum"
        raise Refusal(REPEATS)
    if not plan.delayable:  # "in 10 minutes, set an alarm for 7 am": fine if it does something
        if not plan.actions:
            raise SlotError(f"not a command I can carry out later: {command!r}")
        return
    if any(a.get("type") == "confirmation_required" for a in plan.actions):
        raise Refusal(NEEDS_YES)
    if plan.asks:
        raise Refusal(WHICH)
    if not plan.actions:  # "There is no device called 2 tomorrow lights."
        raise Refusal(plan.response)


def answer(command: str, at: dt.datetime, now: dt.datetime, seconds: float, service: bool) -> str:
    """ "I'll turn off the kitchen light at 9:14 PM today, in 10 minutes." (+ ``ONE_SHOT``)."""
    soon = f", in {say_duration(seconds)}" if seconds < 3600 else ""
    said = f"I'll {command} at {say_time(at)} {say_date(at.date(), now.date())}{soon}."
    return said if service else f"{said} {ONE_SHOT}"
