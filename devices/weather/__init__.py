"""Weather: providers (Open-Meteo, Home Assistant, outdoor sensor) returning forecasts as data
(intents/weather_answer.py turns them into sentences).

Names are imported on first use, so reading the configuration (``devices.weather.settings``) stays
cheap; the Home Assistant provider alone pulls in homeassistant_api (~0.5 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import WeatherProvider
    from .settings import WeatherSettings

_WHERE = {
    "HomeAssistantWeather": "home_assistant",
    "OpenMeteoProvider": "open_meteo",
    "SensorWeather": "sensor",
    "WeatherSettings": "settings",
    **{
        n: "models"
        for n in (
            "Current",
            "DayForecast",
            "Forecast",
            "HourForecast",
            "Location",
            "UnknownLocation",
            "WeatherError",
            "WeatherProvider",
            "WeatherUnavailable",
        )
    },
}
_ALIASES = {"WeatherReport": ("models", "Forecast")}

__all__ = sorted([*_WHERE, *_ALIASES, "make_provider"])


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name in _ALIASES:
        module, attr = _ALIASES[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_provider(settings: WeatherSettings, read_sensor=None) -> WeatherProvider:
    """Provider named by ``settings.provider``; "sensor" needs ``read_sensor()`` and uses Open-Meteo for forecasts."""
    from .models import Location
    from .open_meteo import OpenMeteoProvider

    if settings.provider == "home_assistant":
        from .home_assistant import HomeAssistantWeather

        return HomeAssistantWeather(settings)
    if settings.provider == "sensor":
        from .sensor import SensorWeather

        if read_sensor is None:
            raise ValueError(
                "weather provider 'sensor' needs a read_sensor() callable returning the outdoor temperature"
            )
        return SensorWeather(
            read_sensor,
            OpenMeteoProvider(settings),
            Location(settings.location_name, settings.latitude, settings.longitude),
            settings.units,
        )
    return OpenMeteoProvider(settings)
