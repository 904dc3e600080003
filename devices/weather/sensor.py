"""Outdoor temperature sensor: current temperature from a callable, forecast from an optional base provider."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from .models import Current, Forecast, Location, Units, UnknownLocation, WeatherProvider

log = logging.getLogger(__name__)


class SensorWeather:
    """``read()`` returns the latest outdoor temperature (or None when stale/unknown)."""

    def __init__(
        self,
        read: Callable[[], float | None],
        base: WeatherProvider | None = None,
        home: Location | None = None,
        units: Units = "metric",
    ):
        self.read = read
        self.base = base
        self.home = home or Location("home", 0.0, 0.0)
        self.units = units

    def get_forecast(self, location: str | None = None) -> Forecast:
        if location and self.base is not None:
            return self.base.get_forecast(location)
        if location:
            raise UnknownLocation(location, only_home="sensor")
        value = None
        try:
            value = self.read()
        except Exception as e:
            log.warning("outdoor sensor read failed: %s", e)
        if self.base is not None:
            fc = self.base.get_forecast(None)
            if value is not None:
                cur = fc.current or Current(time=None, temperature=None)
                fc = Forecast(
                    fc.location,
                    fc.units,
                    Current(datetime.now(), float(value), cur.condition, cur.wind_speed),
                    fc.days,
                    fc.hourly,
                    fc.source + "+sensor",
                )
            return fc
        return Forecast(
            self.home,
            self.units,
            Current(datetime.now(), None if value is None else float(value)),
            source="sensor",
        )
