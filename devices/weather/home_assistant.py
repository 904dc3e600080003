"""Weather from a Home Assistant ``weather.*`` entity (state attributes + weather.get_forecasts)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from homeassistant_api import Client

from .models import (
    Current,
    DayForecast,
    Forecast,
    HourForecast,
    Location,
    Units,
    UnknownLocation,
    WeatherUnavailable,
)
from .settings import WeatherSettings

log = logging.getLogger(__name__)


def _local(ts: str) -> datetime:
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return dt.astimezone().replace(tzinfo=None) if dt.tzinfo else dt


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


class HomeAssistantWeather:
    """Only knows the weather at home: a place name raises UnknownLocation."""

    def __init__(self, settings: WeatherSettings | None = None, client: Client | None = None):
        self.settings = settings or WeatherSettings(provider="home_assistant")
        s = self.settings
        self.client = client or Client(s.ha_url, s.ha_token, global_request_kwargs={"timeout": s.timeout_s})
        self._cache: tuple[float, Forecast] | None = None
        self._lock = threading.Lock()

    def get_forecast(self, location: str | None = None) -> Forecast:
        s = self.settings
        if location and location.lower() not in ("home", "here", s.location_name.lower()):
            raise UnknownLocation(location, only_home="home_assistant")
        with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < s.cache_ttl_s:
                return self._cache[1]
        try:
            st = self.client.get_state(entity_id=s.ha_entity_id)
            _, daily = self.client.trigger_service_with_response(
                "weather", "get_forecasts", entity_id=s.ha_entity_id, type="daily"
            )
            try:
                _, hourly = self.client.trigger_service_with_response(
                    "weather", "get_forecasts", entity_id=s.ha_entity_id, type="hourly"
                )
            except Exception as e:  # many integrations have no hourly forecast
                log.debug("no hourly forecast from %s: %s", s.ha_entity_id, e)
                hourly = {}
            fc = self._parse(st.state, st.attributes, daily, hourly)
        except (KeyError, TypeError, ValueError) as e:
            raise WeatherUnavailable("home_assistant", "unreadable") from e
        except Exception as e:
            log.warning("Home Assistant weather failed: %s", e)
            raise WeatherUnavailable("home_assistant", "unreachable") from e
        with self._lock:
            self._cache = (time.monotonic(), fc)
        return fc

    def _parse(
        self, state: str, attrs: dict[str, Any], daily: dict[str, Any], hourly: dict[str, Any]
    ) -> Forecast:
        s = self.settings
        unit = str(attrs.get("temperature_unit", "°C"))
        units: Units = "imperial" if "F" in unit else "metric"
        loc = Location(str(attrs.get("friendly_name") or s.location_name), s.latitude, s.longitude)
        cur = Current(
            time=None,
            temperature=_f(attrs.get("temperature")),
            condition=state,
            wind_speed=_f(attrs.get("wind_speed")),
        )
        days = []
        for item in (daily.get(s.ha_entity_id) or {}).get("forecast", []):
            cond = str(item.get("condition", ""))
            days.append(
                DayForecast(
                    date=_local(item["datetime"]).date(),
                    condition=cond,
                    high=_f(item.get("temperature")),
                    low=_f(item.get("templow")),
                    precipitation_probability=_f(item.get("precipitation_probability")),
                    precipitation=_f(item.get("precipitation")),
                    wind_speed_max=_f(item.get("wind_speed")),
                )
            )
        hours = []
        for item in (hourly.get(s.ha_entity_id) or {}).get("forecast", []):
            cond = str(item.get("condition", ""))
            hours.append(
                HourForecast(
                    time=_local(item["datetime"]),
                    temperature=_f(item.get("temperature")),
                    condition=cond,
                    precipitation_probability=_f(item.get("precipitation_probability")),
                    precipitation=_f(item.get("precipitation")),
                    wind_speed=_f(item.get("wind_speed")),
                )
            )
        return Forecast(
            location=loc, units=units, current=cur, days=days, hourly=hours, source="home-assistant"
        )
