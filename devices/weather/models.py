"""Typed weather data shared by all providers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

Units = Literal["metric", "imperial"]


def wmo_condition(code: int | None) -> str:
    """A WMO weather code (Open-Meteo) as a condition key: "wmo:61"; "" when unknown. Conditions are
    keys, not words: "wmo:<code>" or Home Assistant's condition state ("rainy", "partlycloudy");
    intents/weather_conditions.py says them."""
    return "" if code is None else f"wmo:{int(code)}"


Service = Literal["weather", "geocoding", "home_assistant"]


class WeatherError(Exception):
    """Base class. The error carries what went wrong as data; intents/weather_answer.py says it."""


class WeatherUnavailable(WeatherError):
    """``service`` unreachable or timed out (``problem`` "unreachable"), answered with an HTTP error
    ("error"), or sent a reply that cannot be read ("unreadable")."""

    def __init__(self, service: Service, problem: Literal["unreachable", "error", "unreadable"]):
        super().__init__(f"{service} {problem}")
        self.service, self.problem = service, problem


class UnknownLocation(WeatherError):
    """Geocoding found no ``place``; or the provider knows only home (``only_home``: "home_assistant",
    an HA weather entity, or "sensor", the outdoor sensor) and was asked about ``place``."""

    def __init__(self, place: str, only_home: Literal["home_assistant", "sensor"] | None = None):
        super().__init__(
            f"unknown place {place!r}" + (f" ({only_home} knows only home)" if only_home else "")
        )
        self.place, self.only_home = place, only_home


@dataclass(frozen=True)
class Location:
    name: str
    latitude: float
    longitude: float
    country: str = ""
    timezone: str = ""


@dataclass
class Current:
    time: datetime | None
    temperature: float | None
    condition: str = ""
    wind_speed: float | None = None


@dataclass
class DayForecast:
    date: date
    condition: str = ""
    high: float | None = None
    low: float | None = None
    precipitation_probability: float | None = None  # percent
    precipitation: float | None = None  # mm or inch
    snowfall: float | None = None  # cm or inch
    wind_speed_max: float | None = None
    code: int | None = None  # WMO code when known


@dataclass
class HourForecast:
    time: datetime
    temperature: float | None = None
    condition: str = ""
    precipitation_probability: float | None = None
    precipitation: float | None = None
    snowfall: float | None = None
    wind_speed: float | None = None
    code: int | None = None


@dataclass
class Forecast:
    """A provider's whole answer. Times are naive local times of ``location``."""

    location: Location
    units: Units = "metric"
    current: Current | None = None
    days: list[DayForecast] = field(default_factory=list)
    hourly: list[HourForecast] = field(default_factory=list)
    source: str = ""

    def day(self, d: date) -> DayForecast | None:
        return next((x for x in self.days if x.date == d), None)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return v


class WeatherProvider(Protocol):
    """``get_forecast(None)`` is home; a place name is geocoded where supported."""

    def get_forecast(self, location: str | None = None) -> Forecast: ...
