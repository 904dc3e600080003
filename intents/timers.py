"""Timers with Home Assistant's semantics: many at once, named, paused, changed, persisted."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Self

from pydantic import Field, PrivateAttr

from . import delayed
from .conversation import Choice, Question
from .pending import continuation
from .registry import register
from .schema import Context, Intent, IntentError, Outcome, Refusal, SlotError, Usage
from .store import TimerRow
from .timeparse import MAX_DURATION_S, UNIT, parse_duration, say_duration, say_list, split_duration

MAX_NAME = 40  # characters; a timer's name is a word or two ("pasta", "eggs for breakfast")


def _clean_name(name: Any) -> str | None:
    if name is None:
        return None
    text = str(name).strip().lower()
    for prefix in ("the ", "my ", "a ", "an "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.removesuffix(" timer").strip()
    if len(text) > MAX_NAME:
        raise SlotError(f"a timer name is at most {MAX_NAME} characters")
    return text or None


def _seconds(hours: Any = None, minutes: Any = None, seconds: Any = None) -> float | None:
    """Total seconds, capped (a 400-digit number of minutes is just "too long", never an OverflowError)."""
    if hours is None and minutes is None and seconds is None:
        return None
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    return float(max(-MAX_DURATION_S, min(total, MAX_DURATION_S)))


def _label(timer: TimerRow) -> str:
    if timer.command:  # a delayed command ("in 10 minutes turn off the lights")
        return f"timer to {timer.command}"
    if timer.name:
        return f"{timer.name} timer"
    return (
        f"{say_duration(timer.duration_s)} timer".replace("s timer", " timer")
        .replace("s and ", " and ")
        .replace("s, ", ", ")
    )


ZERO = "The time needs to be more than zero, like 10 minutes."
_ZERO_SAID = re.compile(rf"\b0+ {UNIT}\b")


def _with_duration_text(slots: dict[str, Any], key: str = "duration", prefix: str = "") -> dict[str, Any]:
    """Templates of our own capture a whole duration phrase; split it into HA's slots."""
    slots = dict(slots)
    text = slots.pop(key, None)
    if text is not None:
        delta = parse_duration(str(text))
        if delta is None:
            if _ZERO_SAID.search(str(text)):  # "0 minutes": said, and nothing
                raise Refusal(ZERO)
            raise SlotError(f"not a duration: {text!r}")
        slots.update({prefix + k: v for k, v in split_duration(delta).items()})
    return slots


class TimerTarget(Intent):
    """Slots that pick an existing timer (HA: start_hours/start_minutes/start_seconds, name, area)."""

    reply_heads: ClassVar[tuple[str, ...]] = ("There are no timers running.",)

    start_hours: int | None = Field(None, ge=0, description="Hours the timer was started with")
    start_minutes: int | None = Field(None, ge=0, description="Minutes the timer was started with")
    start_seconds: int | None = Field(None, ge=0, description="Seconds the timer was started with")
    name: str | None = Field(None, description="Name of the timer, e.g. 'pasta'")
    area: str | None = Field(None, description="Area the timer was set in")
    _timer_id: int | None = PrivateAttr(None)  # picked by the answer to "Which timer?"

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        slots = _with_duration_text(slots, "start_duration", "start_")
        if "name" in slots:
            slots["name"] = _clean_name(slots["name"])
        return cls.model_validate(slots)

    def described(self) -> str:
        start = _seconds(self.start_hours, self.start_minutes, self.start_seconds)
        if self.name:
            return f"{self.name} timer"
        if start:
            return f"{say_duration(start)} timer"
        if self.area:
            return f"timer in the {self.area}"
        return "timer"

    def matching(self, ctx: Context) -> list[TimerRow]:
        timers = [t for t in ctx.store.timers() if t.state in ("running", "paused", "ringing")]
        if self._timer_id is not None:
            return [t for t in timers if t.id == self._timer_id]
        if self.name:
            timers = [t for t in timers if (t.name or "") == self.name]
        start = _seconds(self.start_hours, self.start_minutes, self.start_seconds)
        if start is not None:
            timers = [t for t in timers if abs(t.duration_s - start) < 1]
        if self.area:
            timers = [t for t in timers if (t.area or "").lower() == self.area.lower()]
        return timers

    def one(self, ctx: Context) -> TimerRow:
        """The one timer meant; else an ``IntentError`` says why there is none, or asks which."""
        timers = self.matching(ctx)
        if not timers:
            if self.described() == "timer":
                raise IntentError("There are no timers running.")
            raise IntentError(f"There is no {self.described()}.")
        if len(timers) > 1:
            now = ctx.now.timestamp()
            names = say_list([f"{_label(t)} with {say_duration(t.remaining(now))} left" for t in timers])
            say = f"Which timer? You have {len(timers)}: {names}."
            choices = [Choice(_label(t), {"timer_id": t.id}) for t in timers]
            raise IntentError(
                Outcome(
                    say,
                    question=Question(
                        say, "choose", "timers.pick", {"intent": self.intent, "slots": self.slots()}, choices
                    ),
                )
            )
        return timers[0]


@continuation("timers.pick")
def _picked(ctx: Context, data: dict[str, Any]) -> Outcome:
    """The answer to "Which timer?": the same request, on the timer picked."""
    from .registry import intents

    kind = intents()[data["intent"]]
    if not issubclass(kind, TimerTarget):  # only timer intents ask "Which timer?"
        raise TypeError(f"timers.pick continues {kind.__name__}, which picks no timer")
    intent = kind.model_validate(data["slots"])
    intent._timer_id = data["timer_id"]
    return intent.run(ctx)


def restart_timer(ctx: Context, timer_id: int, seconds: float) -> Outcome:
    """ "Make it 10": the timer just set runs for the new duration instead (from now)."""
    timer = next((t for t in ctx.store.timers() if t.id == timer_id), None)
    if timer is None:
        return Outcome("That timer is gone.")
    if seconds <= 0 or seconds > ctx.settings.max_timer_hours * 3600:
        return Outcome(f"Timers can be at most {ctx.settings.max_timer_hours} hours long.")
    now = ctx.now.timestamp()
    timer.duration_s, timer.end_at, timer.remaining_s, timer.state = seconds, now + seconds, None, "running"
    if not ctx.dry_run:
        ctx.store.save_timer(timer)
    return Outcome(
        f"{_label(timer).capitalize()} now set for {say_duration(seconds)}.",
        [_action("timer_change", timer, duration_s=seconds, remaining_s=seconds)],
    )


def _action(kind: str, timer: TimerRow, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "timer_id": timer.id or None, "name": timer.name, **extra}


@register
class HassStartTimer(Intent):
    intent: ClassVar[str] = "HassStartTimer"
    reply_heads: ClassVar[tuple[str, ...]] = ("Timer set",)
    said_fields: ClassVar[tuple[str, ...]] = ("name",)
    usage: ClassVar[Usage] = Usage(
        "set timers", "Set a pasta timer for 9 minutes.", ("timer", "timers", "countdown")
    )
    description: ClassVar[str] = "Starts a new timer, optionally named."

    hours: int | None = Field(None, ge=0)
    minutes: int | None = Field(None, ge=0)
    seconds: int | None = Field(None, ge=0)
    name: str | None = Field(None, description="Name of the timer, e.g. 'pasta'")
    area: str | None = None
    conversation_command: str | None = Field(None, description="A request to carry out when the timer ends")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        if slots.pop("ask_duration", False):  # "set a timer": no duration yet
            return cls.model_validate(slots)
        command = slots.get("conversation_command")
        if command:
            delayed.check(str(command), ctx)  # something to do, and fit to be done later unasked
            slots["conversation_command"] = str(command).strip()
        slots = _with_duration_text(slots)
        if "name" in slots:
            slots["name"] = _clean_name(slots["name"])
        if slots.get("name") and parse_duration(slots["name"]) is not None:
            raise SlotError("a duration is not a timer name")
        intent = cls.model_validate(slots)
        if not intent.total():
            if _ZERO_SAID.search(text):  # HA's template read "0 minutes" (not an LLM's own 0)
                raise Refusal(ZERO)
            raise SlotError("timer without a duration")
        return intent

    def total(self) -> float:
        return _seconds(self.hours, self.minutes, self.seconds) or 0.0

    def needs_more(self) -> bool:
        return not self.total()  # "set a timer": "For how long?"

    def handle(self, ctx: Context) -> Outcome:
        total = self.total()
        if not total:
            return Outcome(
                "For how long?",
                question=Question(
                    "For how long?", "fill", retry=["set a timer for {answer}"], declined="Okay, no timer."
                ),
            )
        if total > ctx.settings.max_timer_hours * 3600:
            if self.conversation_command:
                return Outcome(
                    f"I can carry out a command at most {ctx.settings.max_timer_hours} hours ahead."
                )
            return Outcome(f"Timers can be at most {ctx.settings.max_timer_hours} hours long.")
        now = ctx.now.timestamp()
        timer = TimerRow(
            0,
            self.name,
            self.area or ctx.area,
            total,
            now + total,
            None,
            "running",
            now,
            command=self.conversation_command,
        )
        if not ctx.dry_run:
            ctx.store.add_timer(timer)
        if self.conversation_command:
            at = ctx.now + dt.timedelta(seconds=total)
            return Outcome(
                delayed.answer(self.conversation_command, at, ctx.now, total, ctx.service),
                [
                    _action(
                        "timer_start",
                        timer,
                        duration_s=total,
                        command=self.conversation_command,
                        at=at.isoformat(),
                    )
                ],
            )
        what = f"{self.name.capitalize()} timer" if self.name else "Timer"
        return Outcome(
            f"{what} set for {say_duration(total)}.",
            [_action("timer_start", timer, duration_s=total)],
        )


@register
class HassCancelTimer(TimerTarget):
    intent: ClassVar[str] = "HassCancelTimer"
    description: ClassVar[str] = "Cancels a timer."

    def handle(self, ctx: Context) -> Outcome:
        timer = self.one(ctx)
        if not ctx.dry_run:
            ctx.store.delete_timer(timer.id)
        return Outcome(f"{_label(timer).capitalize()} cancelled.", [_action("timer_cancel", timer)])


@register
class HassCancelAllTimers(Intent):
    intent: ClassVar[str] = "HassCancelAllTimers"
    bulk_destructive: ClassVar[bool] = True
    description: ClassVar[str] = "Cancels all timers, optionally only those of an area."

    area: str | None = None

    def handle(self, ctx: Context) -> Outcome:
        timers = TimerTarget(area=self.area).matching(ctx)
        if not timers:
            return Outcome("There are no timers to cancel.")
        if not ctx.dry_run:
            for t in timers:
                ctx.store.delete_timer(t.id)
        n = len(timers)
        return Outcome(
            "Timer cancelled." if n == 1 else f"Cancelled {n} timers.",
            [_action("timer_cancel", t) for t in timers],
        )


class _ChangeTimer(TimerTarget):
    hours: int | None = Field(None, ge=0)
    minutes: int | None = Field(None, ge=0)
    seconds: int | None = Field(None, ge=0)
    sign: ClassVar[int] = 1

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        intent = super().from_slots(_with_duration_text(slots), text, ctx)
        if not _seconds(intent.hours, intent.minutes, intent.seconds):
            raise SlotError("no amount to change the timer by")
        return intent

    def handle(self, ctx: Context) -> Outcome:
        timer = self.one(ctx)
        now = ctx.now.timestamp()
        delta = self.sign * (_seconds(self.hours, self.minutes, self.seconds) or 0)
        left = max(0.0, timer.remaining(now) + delta)
        if left > ctx.settings.max_timer_hours * 3600:
            raise Refusal(
                f"Timers can be at most {ctx.settings.max_timer_hours} hours long; the {_label(timer)} "
                f"has {say_duration(timer.remaining(now))} left."
            )
        if timer.state == "paused":
            timer.remaining_s = left
        else:
            timer.end_at, timer.state = now + left, "running"
        if not ctx.dry_run:
            ctx.store.save_timer(timer)
        verb = "Added" if delta > 0 else "Took off"
        return Outcome(
            f"{verb} {say_duration(abs(delta))}. {say_duration(left)} left on the {_label(timer)}.",
            [_action("timer_change", timer, delta_s=delta, remaining_s=left)],
        )


@register
class HassIncreaseTimer(_ChangeTimer):
    intent: ClassVar[str] = "HassIncreaseTimer"
    description: ClassVar[str] = "Adds time to a running timer."


@register
class HassDecreaseTimer(_ChangeTimer):
    intent: ClassVar[str] = "HassDecreaseTimer"
    description: ClassVar[str] = "Takes time off a running timer."
    sign: ClassVar[int] = -1


@register
class HassPauseTimer(TimerTarget):
    intent: ClassVar[str] = "HassPauseTimer"
    description: ClassVar[str] = "Pauses a running timer."

    def handle(self, ctx: Context) -> Outcome:
        timer = self.one(ctx)
        if timer.state == "paused":
            return Outcome(f"The {_label(timer)} is already paused.")
        timer.remaining_s = timer.remaining(ctx.now.timestamp())
        timer.state, timer.end_at = "paused", None
        if not ctx.dry_run:
            ctx.store.save_timer(timer)
        return Outcome(
            f"{_label(timer).capitalize()} paused with {say_duration(timer.remaining_s)} left.",
            [_action("timer_pause", timer)],
        )


@register
class HassUnpauseTimer(TimerTarget):
    intent: ClassVar[str] = "HassUnpauseTimer"
    description: ClassVar[str] = "Resumes a paused timer."

    def handle(self, ctx: Context) -> Outcome:
        timer = self.one(ctx)
        if timer.state != "paused":
            return Outcome(f"The {_label(timer)} is not paused.")
        left = timer.remaining_s or 0.0
        timer.state, timer.end_at, timer.remaining_s = "running", ctx.now.timestamp() + left, None
        if not ctx.dry_run:
            ctx.store.save_timer(timer)
        return Outcome(
            f"{_label(timer).capitalize()} resumed with {say_duration(left)} left.",
            [_action("timer_resume", timer)],
        )


@register
class HassTimerStatus(TimerTarget):
    intent: ClassVar[str] = "HassTimerStatus"
    description: ClassVar[str] = "Tells how much time is left on timers."

    def handle(self, ctx: Context) -> Outcome:
        timers = self.matching(ctx)
        now = ctx.now.timestamp()
        if not timers:
            return Outcome(
                "There are no timers running."
                if self.described() == "timer"
                else f"There is no {self.described()}."
            )

        def status(t: TimerRow) -> str:
            if t.state == "ringing":
                return f"the {_label(t)} is done"
            paused = ", paused" if t.state == "paused" else ""
            return f"{say_duration(t.remaining(now))} left on the {_label(t)}{paused}"

        if len(timers) == 1:
            text = status(timers[0])
            return Outcome(text[0].upper() + text[1:] + ".")
        return Outcome(f"You have {len(timers)} timers: " + say_list([status(t) for t in timers]) + ".")
