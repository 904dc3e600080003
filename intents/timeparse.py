"""Parse durations, clock times, dates and repeats out of *normalised* text (see normalize.py).

Everything here is pure: it takes the text and ``now`` and returns values, so it is easy to test.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .schema import Refusal

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_WEEKDAY_RE = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_MONTH_RE = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"

_UNIT_SECONDS = {
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_DURATION_PART = re.compile(r"(\d+)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b")
_NEGATIVE = re.compile(r"(?:\b(?:minus|negative)\s*|-\s*)\d")
# Longer than any handler accepts (timers: a day or a week; alarms: a year): a duration is capped
# here so that "99999999999999 minutes" is a number a handler can refuse, not an OverflowError.
MAX_DURATION_S = 10**9
# the unit words of a spoken duration, as a regex group ("5 mins", "0 seconds")
UNIT = r"(?:hours?|minutes?|mins?|seconds?|secs?)"


def parse_duration(text: str) -> dt.timedelta | None:
    """'1 hour and 30 minutes' -> 1:30:00. The whole text must be a duration (filler aside)."""
    if _NEGATIVE.search(text):
        raise Refusal("A duration cannot be negative.")
    total, rest = 0, text
    for m in _DURATION_PART.finditer(text):
        digits = m.group(1).lstrip("0") or "0"  # "0 minutes" is no duration, not a ValueError
        total += (int(digits) if len(digits) < 12 else MAX_DURATION_S) * _UNIT_SECONDS[m.group(2)]
    total = min(total, MAX_DURATION_S)
    rest = _DURATION_PART.sub(" ", text)
    rest = re.sub(r"\b(and|a|an|for|of|just|about|only|exactly)\b", " ", rest)
    rest = re.sub(r"\btimer\b", " ", rest)
    if total <= 0 or rest.strip():
        return None
    return dt.timedelta(seconds=total)


def split_duration(delta: dt.timedelta) -> dict[str, int]:
    """Duration -> HA slot values (hours/minutes/seconds, zero parts left out)."""
    secs = int(delta.total_seconds())
    hours, rem = divmod(secs, 3600)
    minutes, seconds = divmod(rem, 60)
    parts = {"hours": hours, "minutes": minutes, "seconds": seconds}
    return {k: v for k, v in parts.items() if v}


def say_duration(seconds: float) -> str:
    """3725 -> '1 hour, 2 minutes and 5 seconds' (rounded to whole seconds)."""
    secs = max(0, int(round(seconds)))
    hours, rem = divmod(secs, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if n
    ]
    return say_list(parts) if parts else "0 seconds"


def say_list(items: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def say_time(t: dt.time | dt.datetime) -> str:
    """07:05 -> '7:05 AM', 12:00 -> '12 PM'."""
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def say_date(d: dt.date, today: dt.date) -> str:
    if d == today:
        return "today"
    if d == today + dt.timedelta(days=1):
        return "tomorrow"
    if 0 < (d - today).days < 7:
        return d.strftime("%A")
    return f"{d.strftime('%A')}, {d.strftime('%B')} {d.day}"


@dataclass
class When:
    """What a person said about when an alarm should ring (or which alarms they mean)."""

    hour: int | None = None
    minute: int = 0
    meridiem: str | None = None  # "am" | "pm" | None (unknown)
    date: dt.date | None = None
    repeat: list[str] = field(default_factory=list)
    relative: dt.timedelta | None = None
    part_of_day: str | None = None  # morning | afternoon | evening | night
    unknown: list[str] = field(default_factory=list)

    @property
    def has_time(self) -> bool:
        return self.hour is not None or self.relative is not None

    def clock(self, now: dt.datetime, wake: bool = False) -> dt.time | None:
        """24-hour time, choosing am/pm from what was said, the part of day, or the next occurrence."""
        if self.relative is not None:
            return (now + self.relative).time().replace(second=0, microsecond=0)
        if self.hour is None:
            return None
        hour = self.hour
        if self.meridiem == "pm":
            hour = hour % 12 + 12
        elif self.meridiem == "am":
            hour = hour % 12
        elif 1 <= hour <= 12:
            if self.part_of_day in ("afternoon", "evening") or (self.part_of_day == "night" and hour >= 6):
                hour = hour % 12 + 12
            elif self.part_of_day in ("morning", "night") or wake:
                hour = hour % 12
            elif self.date is None and not self.repeat:
                # "at 7" means the next 7 o'clock, morning or evening
                morning = now.replace(hour=hour % 12, minute=self.minute, second=0, microsecond=0)
                hour = hour % 12 if morning > now else hour % 12 + 12
                if hour >= 12 and now.replace(hour=hour, minute=self.minute, second=0, microsecond=0) <= now:
                    hour %= 12
        if not 0 <= hour <= 23 or not 0 <= self.minute <= 59:
            return None
        return dt.time(hour, self.minute)


_TIME_RE = re.compile(r"\b(\d{1,2})(?::(\d{2}))?(?: ?(am|pm)\b)?")
_PART_OF_DAY = [
    (
        re.compile(r"\b(?:in the|this|tomorrow|during the|early in the|early) morning\b|\bmorning\b"),
        "morning",
    ),
    (re.compile(r"\b(?:in the|this|tomorrow) afternoon\b|\bafternoon\b"), "afternoon"),
    (re.compile(r"\b(?:in the|this|tomorrow) evening\b|\bevening\b|\btonight\b"), "evening"),
    (re.compile(r"\b(?:at|tomorrow|last|to) night\b"), "night"),
]
_REPEATS = [
    (re.compile(r"\b(?:every|each) ?day\b|\bdaily\b|\bevery (?:morning|evening|night)\b"), WEEKDAYS),
    (
        re.compile(
            r"\b(?:every |on |during the |all )?week ?days?\b|\bevery work ?day\b|\bmonday (?:to|through|till) friday\b"
        ),
        WEEKDAYS[:5],
    ),
    (re.compile(r"\b(?:every |on |at )?(?:the )?week ?ends?\b"), WEEKDAYS[5:]),
]
_FILLER = set(
    "a an the at on for of to in by from this that me my i it up set alarm alarms wake please next "
    "coming upcoming and with o'clock sharp be is am pm time so can you make it get".split()
)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """n-th (1-based; -1 = last) weekday of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> dt.date:
    from dateutil.easter import easter

    return easter(year)


# Holidays people ask about, by the rule that places them in a year (US-centred where they differ).
HOLIDAYS = {
    r"christmas eve": lambda y: dt.date(y, 12, 24),
    r"(?:christmas|xmas)(?: day)?": lambda y: dt.date(y, 12, 25),
    r"boxing day": lambda y: dt.date(y, 12, 26),
    r"new year'?s eve": lambda y: dt.date(y, 12, 31),
    r"new year'?s(?: day)?": lambda y: dt.date(y, 1, 1),
    r"valentine'?s(?: day)?": lambda y: dt.date(y, 2, 14),
    r"st patrick'?s day|saint patrick'?s day": lambda y: dt.date(y, 3, 17),
    r"halloween": lambda y: dt.date(y, 10, 31),
    r"independence day|(?:the )?4th of july": lambda y: dt.date(y, 7, 4),
    r"thanksgiving(?: day)?": lambda y: _nth_weekday(y, 11, 3, 4),
    r"memorial day": lambda y: _nth_weekday(y, 5, 0, -1),
    r"labou?r day": lambda y: _nth_weekday(y, 9, 0, 1),
    r"mother'?s day": lambda y: _nth_weekday(y, 5, 6, 2),
    r"father'?s day": lambda y: _nth_weekday(y, 6, 6, 3),
    r"easter(?: sunday)?": _easter,
    r"good friday": lambda y: _easter(y) - dt.timedelta(days=2),
}


def _holiday(m: re.Match[str], today: dt.date) -> dt.date | None:
    name = m.group(1)
    for pattern, rule in HOLIDAYS.items():
        if re.fullmatch(pattern, name):
            d = rule(today.year)
            return d if d >= today else rule(today.year + 1)
    return None


_HOLIDAY_RE = "(" + "|".join(HOLIDAYS) + ")"


# compiled once: hassil compiles many patterns of its own, which push these out of re's small cache
_DATE_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str], dt.date], dt.date | None]]] = [
    (re.compile(p), resolve)
    for p, resolve in [
        (rf"\b(?:on )?{_HOLIDAY_RE}(?: this year| next year)?\b", _holiday),
        (r"\b(?:the )?day after tomorrow\b", lambda m, today: today + dt.timedelta(days=2)),
        (r"\btomorrow(?:'s)?\b", lambda m, today: today + dt.timedelta(days=1)),
        (r"\btoday(?:'s)?\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b", lambda m, today: today),
        (r"\b(\d{4})-(\d{2})-(\d{2})\b", lambda m, today: dt.date(int(m[1]), int(m[2]), int(m[3]))),
        (
            rf"\b(?:on )?(?:the )?(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{_MONTH_RE}\b",
            lambda m, today: _month_day(m[2], int(m[1]), today),
        ),
        (
            rf"\b(?:on )?{_MONTH_RE} (?:the )?(\d{{1,2}})(?:st|nd|rd|th)?\b",
            lambda m, today: _month_day(m[1], int(m[2]), today),
        ),
        (r"\b(?:on )?(?:the )?(\d{1,2})(?:st|nd|rd|th)\b", lambda m, today: _day_of_month(int(m[1]), today)),
        (rf"\b(?:on |this |next |coming )?{_WEEKDAY_RE}\b", lambda m, today: _next_weekday(m, today)),
    ]
]


def parse_date(text: str, now: dt.datetime) -> tuple[dt.date | None, str]:
    """Find one date expression; return it (resolved against now) and the text without it."""
    today = now.date()
    for pattern, resolve in _DATE_RULES:
        m = pattern.search(text)
        if m:
            try:
                value = resolve(m, today)
            except ValueError:
                if m.re.pattern.count(_MONTH_RE):  # "the 31st of april": say so, not another date
                    day = next(g for g in m.groups() if g and g.isdigit())
                    month = next(g for g in m.groups() if g and not g.isdigit())
                    month = MONTHS[_MONTH_ABBR[month[:3]] - 1] if month[:3] in _MONTH_ABBR else month
                    raise Refusal(f"There is no {month.capitalize()} {int(day)}.") from None
                continue
            if value is not None:
                return value, (text[: m.start()] + " " + text[m.end() :]).strip()
    return None, text


def _month_day(month: str, day: int, today: dt.date) -> dt.date:
    month_no = MONTHS.index(month) + 1 if month in MONTHS else _MONTH_ABBR[month]
    d = dt.date(today.year, month_no, day)
    return d if d >= today else dt.date(today.year + 1, month_no, day)


def _day_of_month(day: int, today: dt.date) -> dt.date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            d = dt.date(year, month, day)
        except ValueError:
            d = None
        if d and d >= today:
            return d
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


def _next_weekday(m: re.Match[str], today: dt.date) -> dt.date:
    target = WEEKDAYS.index(m.group(1))
    days = (target - today.weekday()) % 7
    if m.group(0).startswith("next") and days == 0:
        days = 7
    return today + dt.timedelta(days=days)


_DURATION_WORDS = r"\d+ (?:hours?|minutes?|seconds?)(?: (?:and )?\d+ (?:minutes?|seconds?))*"
_IN_DURATION = re.compile(rf"\bin ({_DURATION_WORDS})\b")
_DURATION_FROM_NOW = re.compile(rf"\b({_DURATION_WORDS}) from now\b")
_ON_WEEKDAYS = re.compile(rf"\b(?:every|on|each) ((?:{_WEEKDAY_RE}(?:,? (?:and )?)?)+)")
_WEEKDAYS_PLURAL = re.compile(rf"\b{_WEEKDAY_RE[:-3]})s\b")


def parse_when(text: str, now: dt.datetime) -> When:
    """Parse everything about 'when' in text; words it did not understand land in ``unknown``."""
    w = When()
    t = f" {text} "
    m = _IN_DURATION.search(t)
    m = m or _DURATION_FROM_NOW.search(t)
    if m:
        w.relative = parse_duration(m.group(1))
        t = t[: m.start()] + " " + t[m.end() :]
    for pattern, days in _REPEATS:
        if pattern.search(t):
            w.repeat = list(days)
            t = pattern.sub(" ", t)
            break
    if not w.repeat:
        m = _ON_WEEKDAYS.search(t)
        plural = _WEEKDAYS_PLURAL.findall(t)
        if m:
            w.repeat = (
                [d for d in WEEKDAYS if d in m.group(1)]
                if m.group(0).startswith(("every", "each")) or re.search(r"\b\w+days\b", m.group(1))
                else []
            )
            if w.repeat:
                t = t[: m.start()] + " " + t[m.end() :]
        elif plural:
            w.repeat = [d for d in WEEKDAYS if d in plural]
            t = _WEEKDAYS_PLURAL.sub(" ", t)
    for pattern, part in _PART_OF_DAY:
        found = pattern.search(t)
        if found:
            w.part_of_day = part
            if "tomorrow" in found.group(0):
                t = t.replace("tomorrow", " tomorrow ", 1)
            t = pattern.sub(
                lambda m: (
                    " tomorrow "
                    if "tomorrow" in m.group(0)
                    else (" tonight " if m.group(0) == "tonight" else " ")
                ),
                t,
            )
            break
    date, t = parse_date(t, now)
    if not w.repeat:
        w.date = date
    for clock in re.finditer(r"\b(\d+):(\d+)\b", t):  # "23:5", "25:99": refused, not half-read
        hour, minute = clock.groups()
        if len(hour) > 2 or len(minute) != 2 or int(hour) > 24 or int(minute) > 59:
            raise Refusal(f"{clock.group(0)[:12]} is not a time of day. Say it like 7:05 am or 19:05.")
    m = _TIME_RE.search(t)
    if m and m.group(3) and int(m.group(1)) > 12:
        raise Refusal(f"{m.group(0).strip()} is not a time: with am or pm the hour goes up to 12.")
    if m and w.relative is not None:
        w.unknown.append(m.group(0))  # "at 7 am in 10 minutes": two times
    elif m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour <= 24 and minute <= 59:
            w.hour, w.minute, w.meridiem = hour % 24, minute, m.group(3)
            t = t[: m.start()] + " " + t[m.end() :]
    t = re.sub(r"\btonight\b", " ", t)
    w.unknown += [word for word in t.split() if word not in _FILLER]
    return w


def next_occurrence(
    clock: dt.time, now: dt.datetime, date: dt.date | None = None, repeat: list[str] | None = None
) -> dt.datetime:
    """The next moment (after now) an alarm at ``clock`` rings."""
    if date is not None:
        return now.replace(
            year=date.year,
            month=date.month,
            day=date.day,
            hour=clock.hour,
            minute=clock.minute,
            second=0,
            microsecond=0,
        )
    candidate = now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
    for _ in range(8):
        if candidate > now and (not repeat or WEEKDAYS[candidate.weekday()] in repeat):
            return candidate
        candidate = _add_days(candidate, 1)
    raise ValueError("repeat has no weekday")


def _add_days(moment: dt.datetime, days: int) -> dt.datetime:
    """Add calendar days keeping the wall-clock time (DST-safe for zoneinfo datetimes)."""
    naive = moment.replace(tzinfo=None) + dt.timedelta(days=days)
    return naive.replace(tzinfo=moment.tzinfo)
