"""Open-Meteo forecast + geocoding (no API key), standard library only."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime
from typing import Any

from .models import (
    Current,
    DayForecast,
    Forecast,
    HourForecast,
    Location,
    Units,
    UnknownLocation,
    WeatherUnavailable,
    wmo_condition,
)
from .settings import WeatherSettings

log = logging.getLogger(__name__)

CURRENT_VARS = "temperature_2m,weather_code,wind_speed_10m"
HOURLY_VARS = "temperature_2m,precipitation_probability,precipitation,snowfall,weather_code,wind_speed_10m"
DAILY_VARS = (
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,"
    "precipitation_probability_max,snowfall_sum,wind_speed_10m_max"
)


class OpenMeteoProvider:
    """Forecasts cached for ``cache_ttl_s``; geocoding results cached for the process lifetime.

    ``timeout_s`` bounds the whole call (geocoding + forecast), not each request.
    """

    def __init__(self, settings: WeatherSettings | None = None):
        self.settings = settings or WeatherSettings()
        self.home = Location(self.settings.location_name, self.settings.latitude, self.settings.longitude)
        self._forecasts: dict[tuple[float, float, str], tuple[float, Forecast]] = {}
        self._places: dict[str, Location] = {}
        self._other_units: dict[str, OpenMeteoProvider] = {}  # with_units: the same service in other units
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests made (for tests/diagnostics)

    # ---- public ------------------------------------------------------------
    def with_units(self, units: Units) -> OpenMeteoProvider:
        """The same service in other units ("metric" / "imperial"); places already found are shared."""
        if units == self.settings.units:
            return self
        other = self._other_units.get(units)
        if other is None:
            other = OpenMeteoProvider(self.settings.model_copy(update={"units": units}))
            other._places = self._places
            self._other_units[units] = other
        return other

    def get_forecast(self, location: str | None = None) -> Forecast:
        deadline = time.monotonic() + self.settings.timeout_s
        loc = self.home if not location else self.geocode(location, deadline)
        key = (round(loc.latitude, 3), round(loc.longitude, 3), self.settings.units)
        with self._lock:
            hit = self._forecasts.get(key)
        if hit and time.monotonic() - hit[0] < self.settings.cache_ttl_s:
            return hit[1]
        params = {
            "latitude": loc.latitude,
            "longitude": loc.longitude,
            "current": CURRENT_VARS,
            "hourly": HOURLY_VARS,
            "daily": DAILY_VARS,
            "timezone": "auto",
            "forecast_days": self.settings.forecast_days,
        }
        if self.settings.units == "imperial":
            params |= {
                "temperature_unit": "fahrenheit",
                "wind_speed_unit": "mph",
                "precipitation_unit": "inch",
            }
        data = self._get_json(self.settings.forecast_url, params, deadline)
        try:
            fc = parse_forecast(data, loc, self.settings.units)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise WeatherUnavailable("weather", "unreadable") from e
        with self._lock:
            self._forecasts[key] = (time.monotonic(), fc)
        return fc

    def geocode(self, name: str, deadline: float | None = None) -> Location:
        key = " ".join(name.lower().split())
        with self._lock:
            if key in self._places:
                return self._places[key]
        deadline = deadline or time.monotonic() + self.settings.timeout_s
        data = self._get_json(
            self.settings.geocoding_url,
            {"name": name, "count": 1, "language": "en", "format": "json"},
            deadline,
        )
        if not isinstance(data, dict):
            raise WeatherUnavailable("geocoding", "unreadable")
        results = data.get("results") or []
        if not results:
            raise UnknownLocation(name)
        r = results[0]
        try:
            loc = Location(
                str(r["name"]),
                float(r["latitude"]),
                float(r["longitude"]),
                str(r.get("country", "")),
                str(r.get("timezone", "")),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise WeatherUnavailable("geocoding", "unreadable") from e
        with self._lock:
            self._places[key] = loc
        return loc

    # ---- HTTP --------------------------------------------------------------
    def _get_json(self, url: str, params: dict[str, Any], deadline: float) -> Any:
        full = f"{url}?{urllib.parse.urlencode(params)}"
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            raise WeatherUnavailable("weather", "unreachable")
        self.requests += 1
        req = urllib.request.Request(
            full, headers={"User-Agent": "home-assistant-voice/0.1", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=remaining) as resp:
                body = _read_until(resp, deadline)
        except urllib.error.HTTPError as e:
            reason = ""
            try:
                reason = json.loads(e.read() or b"{}").get("reason", "")
            except Exception:
                pass
            log.warning("weather HTTP %s from %s %s", e.code, url, reason)
            raise WeatherUnavailable("weather", "error") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            log.warning("weather service %s unreachable: %s", url, e)
            raise WeatherUnavailable("weather", "unreachable") from e
        try:
            return json.loads(body)
        except ValueError as e:
            raise WeatherUnavailable("weather", "unreadable") from e


def _read_until(resp: Any, deadline: float) -> bytes:
    """Read the body in chunks so a trickling server can't exceed the deadline."""
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("deadline exceeded while reading")
        b = resp.read(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _at(seq: Any, i: int) -> Any:
    return seq[i] if isinstance(seq, list) and i < len(seq) else None


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _code(v: Any) -> int | None:
    return None if v is None else int(v)


def parse_forecast(data: dict[str, Any], loc: Location, units: Units) -> Forecast:
    """Open-Meteo JSON -> Forecast. Raises KeyError/TypeError/ValueError on a malformed reply."""
    if not isinstance(data, dict):
        raise TypeError("reply is not a JSON object")
    if data.get("error"):
        raise ValueError(str(data.get("reason", "error")))
    if data.get("timezone") and not loc.timezone:
        loc = Location(loc.name, loc.latitude, loc.longitude, loc.country, str(data["timezone"]))
    cur = None
    if isinstance(data.get("current"), dict):
        c = data["current"]
        cur = Current(
            time=datetime.fromisoformat(c["time"]) if c.get("time") else None,
            temperature=_num(c.get("temperature_2m")),
            condition=wmo_condition(_code(c.get("weather_code"))),
            wind_speed=_num(c.get("wind_speed_10m")),
        )
    days = []
    d = data["daily"]
    for i, t in enumerate(d["time"]):
        code = _code(_at(d.get("weather_code"), i))
        days.append(
            DayForecast(
                date=date.fromisoformat(t),
                condition=wmo_condition(code),
                code=code,
                high=_num(_at(d.get("temperature_2m_max"), i)),
                low=_num(_at(d.get("temperature_2m_min"), i)),
                precipitation_probability=_num(_at(d.get("precipitation_probability_max"), i)),
                precipitation=_num(_at(d.get("precipitation_sum"), i)),
                snowfall=_num(_at(d.get("snowfall_sum"), i)),
                wind_speed_max=_num(_at(d.get("wind_speed_10m_max"), i)),
            )
        )
    hours = []
    h = data.get("hourly") or {}
    for i, t in enumerate(h.get("time") or []):
        code = _code(_at(h.get("weather_code"), i))
        hours.append(
            HourForecast(
                time=datetime.fromisoformat(t),
                temperature=_num(_at(h.get("temperature_2m"), i)),
                condition=wmo_condition(code),
                code=code,
                precipitation_probability=_num(_at(h.get("precipitation_probability"), i)),
                precipitation=_num(_at(h.get("precipitation"), i)),
                snowfall=_num(_at(h.get("snowfall"), i)),
                wind_speed=_num(_at(h.get("wind_speed_10m"), i)),
            )
        )
    return Forecast(location=loc, units=units, current=cur, days=days, hourly=hours, source="open-meteo")
