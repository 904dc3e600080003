"""Time and date questions, answered in the configured time zone (or a named place's)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Any, ClassVar, Self

from pydantic import Field

from .registry import register
from .schema import Context, Intent, Outcome, SlotError, Usage
from .timeparse import parse_date, say_time

# Places whose zone is not named after them in the tz database.
_ZONE_ALIASES = {
    "eastern": "America/New_York",
    "east coast": "America/New_York",
    "est": "America/New_York",
    "central": "America/Chicago",
    "cst": "America/Chicago",
    "mountain": "America/Denver",
    "pacific": "America/Los_Angeles",
    "west coast": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "california": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "texas": "America/Chicago",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "florida": "America/New_York",
    "orlando": "America/New_York",
    "miami": "America/New_York",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "ottawa": "America/Toronto",
    "india": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "japan": "Asia/Tokyo",
    "china": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "uk": "Europe/London",
    "england": "Europe/London",
    "britain": "Europe/London",
    "france": "Europe/Paris",
    "germany": "Europe/Berlin",
    "spain": "Europe/Madrid",
    "italy": "Europe/Rome",
    "russia": "Europe/Moscow",
    "australia": "Australia/Sydney",
    "zimbabwe": "Africa/Harare",
    "brazil": "America/Sao_Paulo",
    "mexico": "America/Mexico_City",
    "canada": "America/Toronto",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul",
    "utc": "UTC",
    "gmt": "UTC",
    "hawaii": "Pacific/Honolulu",
    "alaska": "America/Anchorage",
    "alabama": "America/Chicago",
    "new zealand": "Pacific/Auckland",
    "ireland": "Europe/Dublin",
    "dubai": "Asia/Dubai",
    "doha": "Asia/Qatar",
}


@functools.cache
def _zones_by_city() -> dict[str, str]:
    zones: dict[str, str] = {}
    for key in zoneinfo.available_timezones():
        if "/" in key and not key.startswith(("Etc/", "SystemV/", "US/")):
            zones.setdefault(key.rsplit("/", 1)[1].replace("_", " ").lower(), key)
    return zones


def zone_for(place: str) -> zoneinfo.ZoneInfo | None:
    words = place.lower().replace(",", " ").split()
    # try the longest leading phrase first: "orlando florida" -> "orlando"
    for end in range(len(words), 0, -1):
        phrase = " ".join(words[:end])
        key = _ZONE_ALIASES.get(phrase) or _zones_by_city().get(phrase)
        if key:
            return zoneinfo.ZoneInfo(key)
    return None


_DATE_FILLER = {
    "a",
    "on",
    "the",
    "fall",
    "falls",
    "this",
    "next",
    "year",
    "month",
    "week",
    "come",
    "in",
    "of",
    "day",
    "it",
    "be",
    "is",
    "for",
}


@register
class HassGetCurrentTime(Intent):
    intent: ClassVar[str] = "HassGetCurrentTime"
    reply_heads: ClassVar[tuple[str, ...]] = ("It's",)
    usage: ClassVar[Usage] = Usage(
        "tell the time and date", "What time is it?", ("time", "date", "clock", "day")
    )
    description: ClassVar[str] = "Tells the current time, here or in a named place."

    location: str | None = Field(None, description="City, country or time zone, e.g. 'Tokyo'")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        place = slots.get("location")
        if place and (
            len(str(place).split()) > 3 or zone_for(str(place)) is None and len(str(place).split()) > 2
        ):
            raise SlotError(f"not a place: {place!r}")
        return cls.model_validate(slots)

    def handle(self, ctx: Context) -> Outcome:
        if not self.location:
            return Outcome(f"It's {say_time(ctx.now)}.")
        zone = zone_for(self.location)
        if zone is None:
            return Outcome(f"I don't know the time zone of {self.location}.")
        there = ctx.now.astimezone(zone)
        day = (
            ""
            if there.date() == ctx.now.date()
            else (" tomorrow" if there.date() > ctx.now.date() else " yesterday")
        )
        return Outcome(f"In {self.location.title()} it's {say_time(there)}{day}.")


@register
class HassGetCurrentDate(Intent):
    intent: ClassVar[str] = "HassGetCurrentDate"
    reply_heads: ClassVar[tuple[str, ...]] = ("Today is", "Tomorrow is")
    description: ClassVar[str] = "Tells today's date, or the weekday of a given date."

    date: dt.date | None = Field(None, description="A date to ask about, 'YYYY-MM-DD'")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        spoken = slots.pop("when", None)
        if spoken:
            # "what day of the week is 12": ASR writes the ordinal as a bare number
            spoken = re.sub(r"^(?:the )?([1-9]|[12]\d|3[01])$", r"the \1th", str(spoken).strip())
            date, rest = parse_date(spoken, ctx.now)
            if date is None or set(rest.split()) - _DATE_FILLER:
                raise SlotError(f"not a date: {spoken!r}")
            slots["date"] = date
        return cls.model_validate(slots)

    def handle(self, ctx: Context) -> Outcome:
        today = ctx.now.date()
        if self.date is None or self.date == today:
            return Outcome(
                f"Today is {today.strftime('%A')}, {today.strftime('%B')} {today.day}, {today.year}."
            )
        days = (self.date - today).days
        if days == 1:  # the day first, as people say it (and the answer opens with a fixed head)
            return Outcome(
                f"Tomorrow is {self.date.strftime('%A')}, {self.date.strftime('%B')} {self.date.day}, {self.date.year}."
            )
        verb = "was" if days < 0 else "is"
        when = f"{abs(days)} day{'s' if abs(days) != 1 else ''} {'from now' if days > 0 else 'ago'}"
        return Outcome(
            f"{self.date.strftime('%B')} {self.date.day}, {self.date.year} {verb} a {self.date.strftime('%A')}, {when}."
        )
