"""Weather: providers (Open-Meteo, Home Assistant, outdoor sensor) and spoken answers."""

from __future__ import annotations

from .answer import ASPECTS, DateRange, resolve_date_spec, weather_answer
from .home_assistant import HomeAssistantWeather
from .models import (Current, DayForecast, Forecast, HourForecast, Location, UnknownLocation, WeatherError,
                     WeatherProvider, WeatherUnavailable)
from .open_meteo import OpenMeteoProvider
from .sensor import SensorWeather
from .settings import WeatherSettings

WeatherReport = Forecast  # alias

__all__ = ["ASPECTS", "Current", "DateRange", "DayForecast", "Forecast", "HomeAssistantWeather", "HourForecast",
           "Location", "OpenMeteoProvider", "SensorWeather", "UnknownLocation", "WeatherError", "WeatherProvider",
           "WeatherReport", "WeatherSettings", "WeatherUnavailable", "make_provider", "resolve_date_spec", "weather_answer"]


def make_provider(settings: WeatherSettings, read_sensor=None) -> WeatherProvider:
    """Provider named by ``settings.provider``; "sensor" needs ``read_sensor()`` and uses Open-Meteo for forecasts."""
    if settings.provider == "home_assistant":
        return HomeAssistantWeather(settings)
    if settings.provider == "sensor":
        if read_sensor is None:
            raise ValueError("weather provider 'sensor' needs a read_sensor() callable returning the outdoor temperature")
        return SensorWeather(read_sensor, OpenMeteoProvider(settings),
                             Location(settings.location_name, settings.latitude, settings.longitude), settings.units)
    return OpenMeteoProvider(settings)
