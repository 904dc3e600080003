"""Alarms (Home Assistant has none): wall-clock time, optional date or weekdays, name; list, cancel,
snooze, stop. Persisted in SQLite; the scheduler rings them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Self

from pydantic import Field, field_validator

from .conversation import Choice, Question
from .pending import continuation
from .registry import register
from .scheduler import Scheduler
from .schema import Context, Intent, Outcome, Refusal, SlotError, Usage
from .store import AlarmRow
from .timeparse import WEEKDAYS, next_occurrence, parse_duration, parse_when, say_date, say_list, say_time

_LABEL = re.compile(r"\b(?:called|named|labell?ed|label(?:led)?|titled|with (?:the )?(?:label|name))\s+(.+)$")
_ALL = re.compile(r"\b(?:all|every|each|any)\b")
_PAST = re.compile(r"\b(?:yesterday|ago|last)\b")
_NAME_WORD = re.compile(r"[a-z][a-z']*")
MAX_NAME = 40  # characters
MAX_AHEAD = dt.timedelta(days=366)


def _check_clock(value: Any) -> None:
    """A 24 h 'HH:MM' an LLM tool call may get wrong ("25:99"): refused with the reason."""
    if value is None:
        return
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise Refusal(f"{str(value)[:12]} is not a time of day. Say it like 7:05 am or 19:05.")


def repeat_text(repeat: list[str]) -> str:
    if set(repeat) == set(WEEKDAYS):
        return "every day"
    if repeat == WEEKDAYS[:5]:
        return "on weekdays"
    if repeat == WEEKDAYS[5:]:
        return "on weekends"
    days = [d.capitalize() + "s" for d in repeat]
    return "on " + say_list(days)


def describe(alarm: AlarmRow, now: dt.datetime) -> str:
    """'6:45 AM tomorrow', '7 AM on weekdays', 'the taxi alarm at 5 PM today'."""
    at = dt.datetime.fromtimestamp(alarm.next_at, now.tzinfo)
    when = f"{say_time(at)} {repeat_text(alarm.repeat) if alarm.repeat else say_date(at.date(), now.date())}"
    if alarm.state == "snoozed":
        when = f"{say_time(at)} (snoozed)"
    return f"{when} called {alarm.name}" if alarm.name else when


def _split_label(label: str, when: str, ctx: Context) -> tuple[str, str]:
    """'taxi for friday at 5 pm' -> ('taxi', 'for friday at 5 pm') when the tail is a time."""
    words = label.split()
    for i in range(1, len(words)):
        tail = " ".join(words[i:])
        try:
            said = parse_when(tail, ctx.now)
        except Refusal:
            continue
        if not said.unknown and (said.has_time or said.date or said.repeat):
            return " ".join(words[:i]), f"{when} {tail}"
    return label, when


def _action(kind: str, alarm: AlarmRow, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "alarm_id": alarm.id or None, "time": alarm.time, "name": alarm.name, **extra}


@register
class SetAlarm(Intent):
    intent: ClassVar[str] = "SetAlarm"
    reply_heads: ClassVar[tuple[str, ...]] = ("Alarm set",)
    said_fields: ClassVar[tuple[str, ...]] = ("name",)
    description: ClassVar[str] = (
        "Sets an alarm at a wall-clock time, optionally on a date or repeating on weekdays."
    )
    usage: ClassVar[Usage] = Usage("set alarms", "Wake me up at 7 tomorrow.", ("alarm", "wake"))

    time: str | None = Field(None, description="Time of day, 24 h 'HH:MM'", pattern=r"^\d{2}:\d{2}$")
    date: dt.date | None = Field(None, description="Date 'YYYY-MM-DD' for a one-off alarm")
    repeat: list[str] = Field(default_factory=list, description="Weekday names the alarm repeats on")
    name: str | None = Field(None, description="Label, e.g. 'taxi'")

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
        when = str(slots.pop("when", "") or "")
        name = slots.pop("name", None)
        if _PAST.search(f"{when} {name or ''}"):
            raise Refusal("That is in the past; I can only set alarms for a time still to come.")
        if name:  # "a weekday alarm", "a daily alarm": the 'name' is really about when
            said = parse_when(str(name), ctx.now)
            if not said.unknown:
                when, name = f"{name} {when}", None
        label = _LABEL.search(when)
        if label:
            name, when = _split_label(label.group(1), when[: label.start()], ctx)
        parsed = parse_when(when, ctx.now)
        if parsed.unknown:
            if (
                name
                or len(parsed.unknown) > 3
                or not parsed.has_time
                or not all(_NAME_WORD.fullmatch(w) for w in parsed.unknown)
            ):  # ":5" is no name
                raise SlotError(f"not understood: {' '.join(parsed.unknown)}")
            name = " ".join(parsed.unknown)
        if name and len(str(name)) > MAX_NAME:
            raise SlotError(f"an alarm name is at most {MAX_NAME} characters")
        clock = parsed.clock(ctx.now, wake=bool(re.search(r"\bwake\b", text)))
        if when.strip() and clock is None and parsed.date is None and not parsed.repeat:
            raise SlotError(f"no time in {when!r}")
        if parsed.relative is not None:
            parsed.date = (ctx.now + parsed.relative).date()
        return cls(
            time=clock.strftime("%H:%M") if clock else None,
            date=parsed.date,
            repeat=parsed.repeat,
            name=(str(name).strip() or None) if name else None,
            **slots,
        )

    @classmethod
    def from_tool_args(cls, args: dict[str, Any], ctx: Context, text: str = "") -> Self:
        _check_clock(args.get("time"))
        if args.get("name") is not None and len(str(args["name"])) > MAX_NAME:
            raise SlotError(f"an alarm name is at most {MAX_NAME} characters")
        return cls.model_validate(args)  # typed time/date/repeat, not the spoken "when"

    def slots(self) -> dict[str, Any]:
        return self.model_dump(mode="json")  # the CLI contract: time, date, repeat, name always

    def needs_more(self) -> bool:
        return self.time is None

    def handle(self, ctx: Context) -> Outcome:
        if self.time is None:
            say = "What time should I set the alarm for?"
            again = f"set {'a ' + self.name if self.name else 'an'} alarm for {{answer}}"
            return Outcome(say, question=Question(say, "fill", retry=[again, "wake me up at {answer}"]))
        hour, minute = map(int, self.time.split(":"))
        at = next_occurrence(dt.time(hour, minute), ctx.now, self.date, self.repeat)
        if at <= ctx.now:
            return Outcome(f"{say_time(at)} on {say_date(at.date(), ctx.now.date())} has already passed.")
        if at - ctx.now > MAX_AHEAD:
            return Outcome("I can set alarms up to a year ahead, not further.")
        now = ctx.now.timestamp()
        alarm = AlarmRow(
            0,
            self.name,
            self.time,
            self.date.isoformat() if self.date else None,
            self.repeat,
            at.timestamp(),
            "scheduled",
            now,
        )
        if not ctx.dry_run:
            ctx.store.add_alarm(alarm)
        return Outcome(
            f"Alarm set for {describe(alarm, ctx.now)}.",
            [_action("alarm_set", alarm, at=at.isoformat())],
        )


class AlarmFilter(Intent):
    """Which alarms a sentence means: by time, date, weekday, part of day, name, or all."""

    time: str | None = Field(None, description="'HH:MM' 24 h, or 'H:MM' when am/pm was not said")
    date: dt.date | None = None
    name: str | None = None
    all: bool = False
    part_of_day: str | None = None

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        when = str(slots.pop("when", "") or "")
        name = slots.pop("name", None)
        parsed = parse_when(when, ctx.now)
        time = None
        if parsed.hour is not None:
            if parsed.meridiem or parsed.hour > 12 or parsed.hour == 0:
                time = (parsed.clock(ctx.now) or dt.time(0)).strftime("%H:%M")
            else:
                time = f"{parsed.hour}:{parsed.minute:02d}"  # either am or pm
        words = [
            w
            for w in parsed.unknown
            if w not in {"any", "all", "every", "each", "alarm", "alarms", "early", "late"}
        ]
        if words and not name:
            name = " ".join(words)
        return cls(
            time=time,
            date=parsed.date,
            name=name,
            all=bool(_ALL.search(text) or re.search(r"\balarms\b", text)),
            part_of_day=parsed.part_of_day,
            **slots,
        )

    @classmethod
    def from_tool_args(cls, args: dict[str, Any], ctx: Context, text: str = "") -> Self:
        _check_clock(args.get("time"))
        return cls.model_validate(args)

    def select(self, alarms: list[AlarmRow], now: dt.datetime) -> list[AlarmRow]:
        out = []
        for a in alarms:
            at = dt.datetime.fromtimestamp(a.next_at, now.tzinfo)
            hour, minute = map(int, a.time.split(":"))
            if self.time:
                h, m = map(int, self.time.split(":"))
                if m != minute or (h != hour and not (len(self.time) < 5 and h % 12 == hour % 12)):
                    continue
            if self.date and not (at.date() == self.date or WEEKDAYS[self.date.weekday()] in a.repeat):
                continue
            if self.part_of_day == "morning" and not hour < 12:
                continue
            if self.part_of_day in ("evening", "night") and not hour >= 17:
                continue
            if self.part_of_day == "afternoon" and not 12 <= hour < 18:
                continue
            if self.name and not self.matches_name(a):
                continue
            out.append(a)
        return out

    def matches_name(self, alarm: AlarmRow) -> bool:
        said = (self.name or "").lower()
        return (alarm.name or "").lower() in (said, said.removesuffix("s"))  # "yoga alarms"

    def said(self) -> str:
        parts = []
        if self.name:
            parts.append(self.name)
        if self.time:
            h, m = map(int, self.time.split(":"))
            parts.append(
                say_time(dt.time(h, m)) if len(self.time) == 5 else (f"{h}" if m == 0 else f"{h}:{m:02d}")
            )
        if self.date:
            parts.append(f"on {self.date.strftime('%A')}")
        return " ".join(parts)


class ListRows(AlarmFilter):
    """What alarms (or reminders) are set, all the filter selects or only the ``next`` one. A subclass
    says where its rows come from, how one is described, and words the four answers."""

    next_only: bool = False
    # none ({for_said}: " for <filter>" or ""), the next one ({item}), one ({items}), several ({n}, {items})
    wording: ClassVar[tuple[str, str, str, str]]

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        intent = super().from_slots(slots, text, ctx)
        intent.next_only = bool(re.search(r"\bnext\b", text))
        return intent

    def rows(self, ctx: Context) -> list[AlarmRow]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def describe(self, row: AlarmRow, now: dt.datetime) -> str:
        return describe(row, now)

    def handle(self, ctx: Context) -> Outcome:
        rows = self.select(self.rows(ctx), ctx.now)
        said = self.said()
        none, next_one, one, several = self.wording
        if not rows:
            return Outcome(none.format(for_said=f" for {said}" if said else ""))
        if self.next_only:
            return Outcome(next_one.format(item=self.describe(rows[0], ctx.now)))
        items = say_list([self.describe(r, ctx.now) for r in rows])
        return Outcome(
            one.format(items=items) if len(rows) == 1 else several.format(n=len(rows), items=items)
        )


@register
class ListAlarms(ListRows):
    intent: ClassVar[str] = "ListAlarms"
    reply_heads: ClassVar[tuple[str, ...]] = ("You have no alarms set.", "Your next alarm is at")
    description: ClassVar[str] = "Tells which alarms are set, optionally only for a day or time."
    wording: ClassVar[tuple[str, str, str, str]] = (
        "You have no alarms set{for_said}.",
        "Your next alarm is at {item}.",
        "You have one alarm, at {items}.",
        "You have {n} alarms: {items}.",
    )

    def rows(self, ctx: Context) -> list[AlarmRow]:
        return ctx.store.alarms()


@register
class CancelAlarm(AlarmFilter):
    intent: ClassVar[str] = "CancelAlarm"
    reply_heads: ClassVar[tuple[str, ...]] = ("You have no alarms to cancel.", "Cancelled the alarm at")
    bulk_destructive: ClassVar[bool] = True
    description: ClassVar[str] = "Cancels alarms by time, date, name, or all of them."

    def handle(self, ctx: Context) -> Outcome:
        said = self.said()
        if not said and not self.all and _ringing(ctx)[0]:
            return StopAlarm().run(ctx)  # "turn off the alarm" while it rings
        alarms = self.select(ctx.store.alarms(), ctx.now)
        if not alarms:
            return Outcome(f"You have no {said + ' ' if said else ''}alarm{'' if said else 's'} to cancel.")
        if len(alarms) > 1 and not self.all and not said:
            say = "Which alarm? You have " + say_list([describe(a, ctx.now) for a in alarms]) + "."
            choices = [Choice(describe(a, ctx.now), {"alarm_id": a.id}) for a in alarms]
            return Outcome(say, question=Question(say, "choose", "alarms.cancel", choices=choices))
        if not ctx.dry_run:
            for a in alarms:
                ctx.store.delete_alarm(a.id)
        if len(alarms) == 1:
            return Outcome(
                f"Cancelled the alarm at {describe(alarms[0], ctx.now)}.",
                [_action("alarm_cancel", alarms[0])],
            )
        return Outcome(f"Cancelled {len(alarms)} alarms.", [_action("alarm_cancel", a) for a in alarms])


@continuation("alarms.cancel")
def _cancel_picked(ctx: Context, data: dict[str, Any]) -> Outcome:
    """The answer to "Which alarm?"."""
    alarm = next((a for a in ctx.store.alarms() if a.id == data["alarm_id"]), None)
    if alarm is None:
        return Outcome("That alarm is gone already.")
    if not ctx.dry_run:
        ctx.store.delete_alarm(alarm.id)
    return Outcome(f"Cancelled the alarm at {describe(alarm, ctx.now)}.", [_action("alarm_cancel", alarm)])


def _ringing(ctx: Context) -> tuple[list[AlarmRow], list[Any]]:
    """Ringing alarms and reminders (snooze and stop treat them alike), and finished timers."""
    alarms = [a for a in ctx.store.alarms(kind=None) if a.state == "ringing"]
    timers = [t for t in ctx.store.timers() if t.state == "ringing"]
    return alarms, timers


@register
class SnoozeAlarm(Intent):
    intent: ClassVar[str] = "SnoozeAlarm"
    description: ClassVar[str] = "Snoozes the ringing alarm, by default for the configured snooze time."

    minutes: int | None = Field(None, ge=1, le=240)

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        duration = slots.pop("duration", None)
        if duration is not None:
            delta = parse_duration(str(duration))
            if delta is None:
                raise SlotError(f"not a duration: {duration!r}")
            slots["minutes"] = max(1, round(delta.total_seconds() / 60))
        return cls.model_validate(slots)

    def handle(self, ctx: Context) -> Outcome:
        alarms, _ = _ringing(ctx)
        if not alarms:
            return Outcome("No alarm is ringing.")
        minutes = self.minutes or ctx.settings.snooze_minutes
        until = ctx.now + dt.timedelta(minutes=minutes)
        actions = []
        for alarm in alarms:
            alarm.state, alarm.next_at = "snoozed", until.timestamp()
            if not ctx.dry_run:
                ctx.store.save_alarm(alarm)
            actions.append(_action("alarm_snooze", alarm, until=until.isoformat(), of=alarm.kind))
        return Outcome(f"Snoozed for {minutes} minute{'s' if minutes != 1 else ''}.", actions)


@register
class StopAlarm(Intent):
    intent: ClassVar[str] = "StopAlarm"
    description: ClassVar[str] = (
        "Stops the ringing alarm or finished timer (or, when nothing rings, the music)."
    )

    def handle(self, ctx: Context) -> Outcome:
        alarms, timers = _ringing(ctx)
        if not alarms and not timers:
            from .media import stop_music  # "stop" with music playing and nothing ringing

            return stop_music(ctx) or Outcome("Nothing is ringing.")
        actions = []
        if not ctx.dry_run:
            scheduler = Scheduler(ctx.store, ctx.settings)
            for alarm in alarms:
                scheduler.dismiss(alarm, ctx.now)
            for timer in timers:
                ctx.store.delete_timer(timer.id)
        actions += [_action("alarm_stop", a, of=a.kind) for a in alarms]
        actions += [{"type": "timer_stop", "timer_id": t.id, "name": t.name} for t in timers]
        reminders = [a for a in alarms if a.kind == "reminder"]
        alarms = [a for a in alarms if a.kind != "reminder"]
        what = " and ".join(
            w for w, rows in (("alarm", alarms), ("reminder", reminders), ("timer", timers)) if rows
        )
        return Outcome(f"{what.capitalize()} stopped.", actions)
