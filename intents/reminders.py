"""Reminders: a message spoken at a time ("remind me to call mom at 5", "remind me every Monday at 8 to
put the bins out"). Stored and rung exactly like alarms (rows of kind 'reminder' in the alarms table,
the same scheduler, snooze and stop); the scheduler emits ``ReminderDue`` with the message."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Self

from pydantic import Field, PrivateAttr, field_validator

from .alarms import AlarmFilter, ListRows, repeat_text
from .registry import register
from .schema import Context, Intent, Outcome, Refusal, SlotError, Usage
from .store import AlarmRow
from .timeparse import WEEKDAYS, When, next_occurrence, parse_when, say_date, say_list, say_time

# Words that may start the time part at the end of a reminder ("call mom | at 5").
_WHEN_START = {
    "at",
    "on",
    "in",
    "every",
    "each",
    "tomorrow",
    "today",
    "tonight",
    "this",
    "next",
    "by",
    "daily",
    "weekdays",
    "weekends",
    *WEEKDAYS,
    *(d + "s" for d in WEEKDAYS),
}
_CONNECTORS = {"to", "that", "about", "of", "for", "i", "me"}
_PART_OF_DAY_HOUR = {"morning": 9, "afternoon": 15, "evening": 19, "night": 21}
DEFAULT_HOUR = 9  # "remind me tomorrow to ...": 9 AM
_PRONOUNS = {
    "my": "your",
    "me": "you",
    "i": "you",
    "myself": "yourself",
    "mine": "yours",
    "i'm": "you're",
    "am": "are",
    "i'll": "you'll",
    "i've": "you've",
    "we": "you",
    "our": "your",
    "us": "you",
}
_BAD_TIME = re.compile(r"\b(?:at|in|on|by|for)\s+(?:\S*\d\S*)(?:\s+\S+)?$")


def _pure(words: list[str], now: dt.datetime) -> When | None:
    """The parsed time if ``words`` say nothing but when (and say something); else None."""
    if not words:
        return None
    try:
        said = parse_when(" ".join(words), now)
    except Refusal:  # an impossible time ("37:99") in a span that may not be the time at all
        return None
    if said.unknown or not (said.has_time or said.date or said.repeat or said.part_of_day):
        return None
    return said


def split_reminder(text: str, now: dt.datetime) -> tuple[str | None, str]:
    """'to call mom at 5' -> ('call mom', 'at 5'); 'in 20 minutes to take the pizza out' ->
    ('take the pizza out', 'in 20 minutes'). The time may come first, last, or both (date first, hour last)."""
    words = text.split()
    head = 0
    for i in range(len(words), 0, -1):  # the longest leading time ("every monday at 8")
        if _pure(words[:i], now):
            head = i
            break
    while head > 1 and _pure(words[: head - 1], now) == _pure(words[:head], now):
        head -= 1  # "on friday at 6 pm | that the plumber comes": filler belongs to the message
    rest = words[head:]
    while rest and rest[0] in _CONNECTORS:
        rest = rest[1:]
    tail = len(rest)
    for j in range(1, len(rest)):  # the longest trailing time ("... at 5 pm tomorrow")
        if rest[j] in _WHEN_START and _pure(rest[j:], now):
            tail = j
            break
    message = " ".join(rest[:tail]) or None
    when = " ".join(words[:head] + rest[tail:])
    return message, when


def spoken_message(message: str) -> str:
    """What the user said, as said back to them: 'call my mom' -> 'call your mom'."""
    return " ".join(_PRONOUNS.get(w, w) for w in message.split())


def describe(row: AlarmRow, now: dt.datetime) -> str:
    """'call your mom at 5 PM today', 'put the bins out at 8 AM on Mondays'."""
    at = dt.datetime.fromtimestamp(row.next_at, now.tzinfo)
    when = f"{say_time(at)} {repeat_text(row.repeat) if row.repeat else say_date(at.date(), now.date())}"
    if row.state == "snoozed":
        when = f"{say_time(at)} (snoozed)"
    return f"{row.name} at {when}" if row.name else f"a reminder at {when}"


def _action(kind: str, row: AlarmRow, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "reminder_id": row.id or None, "time": row.time, "message": row.name, **extra}


@register
class SetReminder(Intent):
    intent: ClassVar[str] = "SetReminder"
    said_fields: ClassVar[tuple[str, ...]] = ("message",)
    description: ClassVar[str] = (
        "Reminds the user of something (a message spoken when due) at a time, after a delay, "
        "or repeating on weekdays."
    )
    usage: ClassVar[Usage] = Usage(
        "remind you of things", "Remind me to call mom at 5 PM.", ("remind", "reminder")
    )

    message: str | None = Field(None, description="What to remind of, as an instruction: 'call mom'")
    time: str | None = Field(None, description="Time of day, 24 h 'HH:MM'", pattern=r"^\d{2}:\d{2}$")
    date: dt.date | None = Field(None, description="Date 'YYYY-MM-DD' for a one-off reminder")
    repeat: list[str] = Field(default_factory=list, description="Weekday names the reminder repeats on")
    delay_s: int | None = Field(
        None, ge=1, le=366 * 86400, description="Seconds from now, for 'in 20 minutes'"
    )
    _unclear: str | None = PrivateAttr(None)  # a time that was said but not understood ("at 37:99")

    @field_validator("repeat")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        value = [v.lower() for v in value]
        bad = [v for v in value if v not in WEEKDAYS]
        if bad:
            raise ValueError(f"not weekdays: {bad}; use {WEEKDAYS}")
        return [d for d in WEEKDAYS if d in value]

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        said = " ".join(str(slots.pop(k, "") or "") for k in ("when", "message")).strip()
        if re.match(r"(?:again|later)\b", said):
            raise SlotError("a snooze, not a reminder")  # "remind me again in 10 minutes"
        message, when = split_reminder(said, ctx.now)
        parsed = parse_when(when, ctx.now)
        unclear = None
        if message and not when and (bad := _BAD_TIME.search(message)):
            unclear, message = bad.group(0), message[: bad.start()].strip() or None
        if (
            parsed.hour is None
            and parsed.relative is None
            and (parsed.date or parsed.repeat or parsed.part_of_day)
        ):
            parsed.hour = _PART_OF_DAY_HOUR.get(parsed.part_of_day or "", DEFAULT_HOUR)
            if parsed.date == ctx.now.date() and not parsed.part_of_day:
                parsed.hour = None  # "remind me today": no sensible default; ask
        clock = parsed.clock(ctx.now) if parsed.relative is None else None
        intent = cls(
            message=spoken_message(message) if message else None,
            time=clock.strftime("%H:%M") if clock else None,
            date=parsed.date,
            repeat=parsed.repeat,
            delay_s=round(parsed.relative.total_seconds()) if parsed.relative else None,
        )
        intent._unclear = unclear
        return intent

    @classmethod
    def from_tool_args(cls, args: dict[str, Any], ctx: Context, text: str = "") -> Self:
        return cls.model_validate(args)

    def slots(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def handle(self, ctx: Context) -> Outcome:
        what = f" to {self.message}" if self.message else ""
        if self._unclear:
            return Outcome(
                f"Sorry, I didn't understand the time '{self._unclear}'. "
                f"Try, for example: remind me{what or ' to call mom'} at 5 PM."
            )
        if self.delay_s:
            at = ctx.now + dt.timedelta(seconds=self.delay_s)
        elif self.time:
            hour, minute = map(int, self.time.split(":"))
            at = next_occurrence(dt.time(hour, minute), ctx.now, self.date, self.repeat)
        else:
            return Outcome(
                f"When should I remind you{what}?" if what else "What should I remind you of, and when?"
            )
        if at <= ctx.now:
            return Outcome(
                f"{say_time(at)} {say_date(at.date(), ctx.now.date())} has already passed; "
                "I can only remind you of something in the future."
            )
        row = AlarmRow(
            0,
            self.message,
            at.strftime("%H:%M"),
            None if self.repeat else at.date().isoformat(),
            self.repeat,
            at.timestamp(),
            "scheduled",
            ctx.now.timestamp(),
            kind="reminder",
        )
        if not ctx.dry_run:
            ctx.store.add_alarm(row)
        when = describe(row, ctx.now).removeprefix(f"{row.name} at " if row.name else "a reminder at ")
        return Outcome(
            f"Reminder set for {when}" + (f": {self.message}." if self.message else "."),
            [_action("reminder_set", row, at=at.isoformat(), repeat=self.repeat)],
        )


class ReminderFilter(AlarmFilter):
    """Which reminders a sentence means: by time, day, words of the message ("the bins reminder"), or all."""

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        said = f"{slots.pop('when', '') or ''} {slots.pop('name', '') or ''}"
        words = [
            w for w in said.split() if w not in {"reminder", "reminders", "remainder", "remainders", "about"}
        ]
        intent = super().from_slots({"when": " ".join(words)}, text, ctx)
        intent.all = bool(re.search(r"\b(?:all|every|each|any)\b|\breminders\b", text))
        return intent

    def matches_name(self, row: AlarmRow) -> bool:
        from rapidfuzz import fuzz

        said = [w for w in (self.name or "").lower().split() if w not in ("to", "the", "my", "a")]
        message = (row.name or "").lower().split()
        return all(
            any(fuzz.ratio(w.removesuffix("s"), m.removesuffix("s")) >= 80 for m in message) for w in said
        )


@register
class ListReminders(ListRows, ReminderFilter):
    intent: ClassVar[str] = "ListReminders"
    description: ClassVar[str] = "Tells which reminders are set, optionally only for a day or time."
    wording: ClassVar[tuple[str, str, str, str]] = (
        "You have no reminders{for_said}.",
        "Your next reminder: {item}.",
        "You have one reminder: {items}.",
        "You have {n} reminders: {items}.",
    )

    def rows(self, ctx: Context) -> list[AlarmRow]:
        return ctx.store.reminders()

    def describe(self, row: AlarmRow, now: dt.datetime) -> str:
        return describe(row, now)  # a reminder's own wording (its message)


@register
class CancelReminder(ReminderFilter):
    intent: ClassVar[str] = "CancelReminder"
    description: ClassVar[str] = "Cancels reminders by words of their message, time, day, or all of them."

    def handle(self, ctx: Context) -> Outcome:
        said = self.said()
        rows = self.select(ctx.store.reminders(), ctx.now)
        if not rows:
            return Outcome(
                f"You have no reminder{' ' + said if said else 's'} to cancel.".replace(
                    "reminder ", "reminder about " if self.name else "reminder ", 1
                )
            )
        if len(rows) > 1 and not self.all and not said:
            return Outcome("Which reminder? You have " + say_list([describe(r, ctx.now) for r in rows]) + ".")
        if not ctx.dry_run:
            for row in rows:
                ctx.store.delete_alarm(row.id)
        if len(rows) == 1:
            return Outcome(
                f"Cancelled the reminder: {describe(rows[0], ctx.now)}.",
                [_action("reminder_cancel", rows[0])],
            )
        return Outcome(f"Cancelled {len(rows)} reminders.", [_action("reminder_cancel", r) for r in rows])
