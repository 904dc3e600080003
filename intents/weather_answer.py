"""Turn a forecast into one spoken sentence: ``weather_answer(provider, location, date_spec, aspect, now)``.

The providers in devices/weather return data (a ``Forecast``) or raise typed errors; every word the
user hears about the weather, failures included, is chosen here."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from devices.weather.models import (
    DayForecast,
    Forecast,
    HourForecast,
    UnknownLocation,
    WeatherError,
    WeatherProvider,
    WeatherUnavailable,
)

from .weather_conditions import condition_words, is_rainy, is_snowy

log = logging.getLogger(__name__)

Aspect = Literal["conditions", "rain", "snow", "umbrella", "temperature", "high", "low", "wind"]
ASPECTS = ("conditions", "rain", "snow", "umbrella", "temperature", "high", "low", "wind")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
UNREACHABLE = "I can't reach the weather service right now."
_UNAVAILABLE = {
    ("weather", "unreachable"): UNREACHABLE,
    ("weather", "error"): "The weather service returned an error, so I can't get the forecast right now.",
    ("weather", "unreadable"): "The weather service sent a reply I can't read.",
    ("geocoding", "unreadable"): "The geocoding service sent a reply I can't read.",
    ("home_assistant", "unreachable"): "I can't reach Home Assistant for the weather right now.",
    ("home_assistant", "unreadable"): "Home Assistant sent weather data I can't read.",
}


def say_weather_error(e: WeatherError) -> str:
    """One sentence for what a weather provider could not do."""
    if isinstance(e, UnknownLocation):
        if e.only_home == "home_assistant":
            return f"I only know the weather at home, not in {e.place}."
        if e.only_home == "sensor":
            return f"I only have the outdoor sensor at home, not the weather in {e.place}."
        return f"I couldn't find a place called {e.place}."
    if isinstance(e, WeatherUnavailable):
        return _UNAVAILABLE.get((e.service, e.problem), UNREACHABLE)
    return UNREACHABLE


@dataclass(frozen=True)
class DateRange:
    """What a date spec means. ``part``: now | day | night | days."""

    label: str  # spoken, capitalised: "Tomorrow", "On Friday", "This weekend"
    part: str
    days: tuple[date, ...]
    start: datetime
    end: datetime


def resolve_date_spec(spec: str | None, now: datetime) -> DateRange:
    """today, tonight, tomorrow (night), a weekday, this weekend, next week, day after tomorrow, YYYY-MM-DD."""
    s = " ".join((spec or "").lower().replace("'", "").split())
    s = re.sub(r"^(on|for|this coming|coming)\s+", "", s)
    today = now.date()

    def day(d: date, label: str) -> DateRange:
        return DateRange(
            label, "day", (d,), datetime.combine(d, time()), datetime.combine(d + timedelta(days=1), time())
        )

    def night(d: date, label: str) -> DateRange:
        start = datetime.combine(d, time(18))
        return DateRange(label, "night", (d,), start, start + timedelta(hours=12))

    if s in ("", "now", "right now", "currently", "at the moment", "outside"):
        return DateRange("Right now", "now", (today,), now, now)
    if s in ("today", "this afternoon", "this morning", "later", "later today"):
        return day(today, "Today")
    if s in ("tonight", "this evening", "tonite"):
        return night(today, "Tonight")
    if s in ("tomorrow", "tomorrow morning", "tomorrow afternoon"):
        return day(today + timedelta(days=1), "Tomorrow")
    if s in ("tomorrow night", "tomorrow evening"):
        return night(today + timedelta(days=1), "Tomorrow night")
    if s in ("day after tomorrow", "the day after tomorrow"):
        return day(today + timedelta(days=2), "The day after tomorrow")
    if s in ("this weekend", "weekend", "the weekend", "over the weekend", "next weekend"):
        wd = today.weekday()
        sat = today + timedelta(days=(5 - wd) % 7) if wd != 6 else today - timedelta(days=1)
        if s == "next weekend":
            sat += timedelta(days=7)
        ds = tuple(d for d in (sat, sat + timedelta(days=1)) if d >= today)
        return DateRange(
            "This weekend" if s != "next weekend" else "Next weekend",
            "days",
            ds,
            datetime.combine(ds[0], time()),
            datetime.combine(ds[-1] + timedelta(days=1), time()),
        )
    if s in (
        "next week",
        "the next week",
        "this week",
        "the coming week",
        "next few days",
        "the next few days",
    ):
        if s == "next week":
            start = today + timedelta(days=7 - today.weekday())
            ds = tuple(start + timedelta(days=i) for i in range(7))
            label = "Next week"
        elif s == "this week":
            ds = tuple(today + timedelta(days=i) for i in range(7 - today.weekday()))
            label = "This week"
        else:
            ds = tuple(today + timedelta(days=i) for i in range(1, 4 if "few" in s else 8))
            label = "Over the next few days" if "few" in s else "Over the next week"
        return DateRange(
            label,
            "days",
            ds,
            datetime.combine(ds[0], time()),
            datetime.combine(ds[-1] + timedelta(days=1), time()),
        )
    m = re.fullmatch(
        r"(next\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?:\s+(night|evening|morning|afternoon))?",
        s,
    )
    if m:
        target = WEEKDAYS.index(m.group(2))
        ahead = (target - today.weekday()) % 7
        if m.group(1) and ahead == 0:
            ahead = 7
        d = today + timedelta(days=ahead)
        name = m.group(2).capitalize()
        if ahead == 0:
            return night(d, "Tonight") if m.group(3) in ("night", "evening") else day(d, "Today")
        if m.group(3) in ("night", "evening"):
            return night(d, f"On {name} night")
        return day(d, f"On {name}")
    m = re.fullmatch(r"in (\d+|one|two|three|four|five|six|seven) days?", s)
    if m:
        words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
        n = int(words.get(m.group(1), m.group(1)))
        return day(today + timedelta(days=n), f"In {n} days")
    try:
        d = date.fromisoformat(s)
        return day(d, f"On {d.strftime('%A, %B')} {d.day}")
    except ValueError:
        pass
    raise ValueError(f"I don't understand which day you mean by {spec!r}.")


# ---------------------------------------------------------------------------


def _r(v: float | None) -> str:
    return "unknown" if v is None else str(int(round(v)))


def _umbrella_needed(prob: float | None, amount: float | None, cond: str, units: str) -> bool:
    wet = 1.0 if units == "metric" else 0.04
    return (
        (prob is not None and prob >= 50)
        or (amount is not None and amount >= wet)
        or (prob is None and is_rainy(cond))
    )


@dataclass
class _Period:
    """A summarised day or night."""

    name: str
    condition: str
    high: float | None
    low: float | None
    prob: float | None
    rain: float | None
    snow: float | None
    wind: float | None


def _from_day(d: DayForecast, name: str) -> _Period:
    return _Period(
        name,
        condition_words(d.condition),
        d.high,
        d.low,
        d.precipitation_probability,
        d.precipitation,
        d.snowfall,
        d.wind_speed_max,
    )


def _from_hours(hs: list[HourForecast], name: str) -> _Period:
    def vals(attr: str) -> list[float]:
        return [getattr(h, attr) for h in hs if getattr(h, attr) is not None]

    temps, probs, wet, snow, wind = (
        vals("temperature"),
        vals("precipitation_probability"),
        vals("precipitation"),
        vals("snowfall"),
        vals("wind_speed"),
    )
    conds = [condition_words(h.condition) for h in hs if h.condition]
    wet_conds = [c for c in conds if is_rainy(c) or is_snowy(c)]
    cond = (
        Counter(wet_conds).most_common(1)[0][0]
        if len(wet_conds) >= max(2, len(conds) // 4)
        else (Counter(conds).most_common(1)[0][0] if conds else "")
    )
    return _Period(
        name,
        cond,
        max(temps) if temps else None,
        min(temps) if temps else None,
        max(probs) if probs else None,
        sum(wet) if wet else None,
        sum(snow) if snow else None,
        max(wind) if wind else None,
    )


def _periods(fc: Forecast, rng: DateRange) -> list[_Period]:
    if rng.part == "night":
        hs = [h for h in fc.hourly if rng.start <= h.time < rng.end]
        if hs:
            return [_from_hours(hs, rng.label)]
        d = fc.day(rng.days[0])
        return (
            [
                _Period(
                    rng.label,
                    condition_words(d.condition),
                    None,
                    d.low,
                    d.precipitation_probability,
                    d.precipitation,
                    d.snowfall,
                    d.wind_speed_max,
                )
            ]
            if d
            else []
        )
    out = []
    for dd in rng.days:
        d = fc.day(dd)
        if d is not None:
            out.append(_from_day(d, dd.strftime("%A")))
    return out


def _wind_unit(units: str) -> str:
    return "kilometers per hour" if units == "metric" else "miles per hour"


def _phrase(p: _Period, aspect: str, units: str, night: bool) -> str:
    temps = (
        f"a low of {_r(p.low)} degrees"
        if night
        else f"a high of {_r(p.high)} and a low of {_r(p.low)} degrees"
    )
    if aspect == "conditions":
        return (
            f"{p.condition or 'no condition reported'}, with {temps}"
            if p.high is not None or p.low is not None
            else p.condition
        )
    if aspect in ("temperature",):
        return f"{temps}" if not night else f"down to {_r(p.low)} degrees"
    if aspect == "high":
        return f"a high of {_r(p.high)} degrees" if p.high is not None else f"down to {_r(p.low)} degrees"
    if aspect == "low":
        return f"a low of {_r(p.low)} degrees"
    if aspect == "wind":
        return f"winds up to {_r(p.wind)} {_wind_unit(units)}"
    if aspect == "snow":
        if (p.snow or 0) > 0 or is_snowy(p.condition):
            unit = "centimeters" if units == "metric" else "inches"
            return (
                f"snow expected, about {p.snow:.0f} {unit}"
                if p.snow and p.snow >= 0.5
                else "some snow possible"
            )
        return "no snow expected"
    # rain / umbrella
    chance = f"a {_r(p.prob)} percent chance of rain" if p.prob is not None else ""
    if _umbrella_needed(p.prob, p.rain, p.condition, units):
        return f"{p.condition}, with {chance}" if chance else f"{p.condition} expected"
    return f"{p.condition}, only {chance}" if chance else f"{p.condition}, no rain expected"


def weather_answer(
    provider: WeatherProvider, location: str | None, date_spec: str | None, aspect: str, now: datetime
) -> tuple[str, dict[str, Any]]:
    """Answer a weather question in one natural spoken sentence, plus the data behind it.

    Never raises for service problems: unreachable/timeouts/malformed replies give a one-sentence apology.
    """
    if aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {', '.join(ASPECTS)}, got {aspect!r}")
    data: dict[str, Any] = {"aspect": aspect, "location": location, "date_spec": date_spec}
    try:
        rng = resolve_date_spec(date_spec, now)
    except ValueError as e:
        data["error"] = "date_spec"
        return str(e), data
    data.update(label=rng.label, part=rng.part, days=[d.isoformat() for d in rng.days])
    try:
        fc = provider.get_forecast(location)
    except WeatherError as e:
        data["error"] = type(e).__name__
        return say_weather_error(e), data
    except Exception as e:  # a provider bug must not break the conversation
        log.exception("weather provider failed")
        data["error"] = type(e).__name__
        return UNREACHABLE, data
    place = (
        fc.location.name
        if location
        else (fc.location.name if fc.location.name.lower() not in ("home", "") else "")
    )
    where = f" in {place}" if place else ""
    data["location"] = place or None
    data["units"] = fc.units

    if rng.part == "now":
        return _answer_now(fc, rng, aspect, where, now, data)

    periods = _periods(fc, rng)
    if not periods:
        last = fc.days[-1].date if fc.days else None
        data["error"] = "out_of_range"
        span = f" up to {last.strftime('%A, %B')} {last.day}" if last else ""
        return f"I don't have a forecast that far ahead; I only have it{span}." if span else UNREACHABLE, data
    data["periods"] = [p.__dict__ for p in periods]
    night = rng.part == "night"
    umbrella = any(_umbrella_needed(p.prob, p.rain, p.condition, fc.units) for p in periods)
    data["umbrella"] = umbrella
    data["snow"] = any((p.snow or 0) > 0 or is_snowy(p.condition) for p in periods)

    if len(periods) == 1:
        body = _phrase(periods[0], aspect, fc.units, night)
    else:
        body = "; ".join(f"{p.name} {_phrase(p, aspect, fc.units, night)}" for p in periods)
    sentence = f"{rng.label}{where}: {body}."
    if aspect in ("rain", "umbrella"):
        if umbrella:
            wet_days = [p.name for p in periods if _umbrella_needed(p.prob, p.rain, p.condition, fc.units)]
            when = "" if len(periods) == 1 else f" on {' and '.join(wet_days)}"
            sentence += (
                f" Yes, take an umbrella{when}." if aspect == "umbrella" else f" Yes, rain is likely{when}."
            )
        else:
            sentence += (
                " No, you won't need an umbrella." if aspect == "umbrella" else " No rain is expected."
            )
    return sentence, data


def _answer_now(
    fc: Forecast, rng: DateRange, aspect: str, where: str, now: datetime, data: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    c = fc.current
    today = fc.day(rng.days[0])
    data["current"] = c.__dict__ if c else None
    if c is None or c.temperature is None:
        if today is None:
            data["error"] = "no_current"
            return UNREACHABLE, data
        return weather_answer_day(fc, today, aspect, where, data)
    if aspect in ("conditions", "temperature", "high", "low"):
        cond = f" and {condition_words(c.condition)}" if c.condition and aspect == "conditions" else ""
        s = f"Right now{where} it's {_r(c.temperature)} degrees{cond}."
        if aspect in ("high", "low") and today is not None:
            s = s[:-1] + (
                f", with a high of {_r(today.high)} today."
                if aspect == "high"
                else f", with a low of {_r(today.low)} today."
            )
        return s, data
    if aspect == "wind":
        return f"Right now{where} the wind is {_r(c.wind_speed)} {_wind_unit(fc.units)}.", data
    if today is not None:
        return weather_answer_day(fc, today, aspect, where, data, label="Today")
    return f"Right now{where} it's {condition_words(c.condition) or 'unknown'}.", data


def weather_answer_day(
    fc: Forecast, d: DayForecast, aspect: str, where: str, data: dict[str, Any], label: str = "Today"
) -> tuple[str, dict[str, Any]]:
    p = _from_day(d, label)
    s = f"{label}{where}: {_phrase(p, aspect, fc.units, False)}."
    umbrella = _umbrella_needed(p.prob, p.rain, p.condition, fc.units)
    data["umbrella"] = umbrella
    if aspect == "umbrella":
        s += " Yes, take an umbrella." if umbrella else " No, you won't need an umbrella."
    elif aspect == "rain":
        s += " Yes, rain is likely." if umbrella else " No rain is expected."
    return s, data
