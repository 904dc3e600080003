"""The ports: what a handler may use of the outside world (``ctx.services``).

Each service is optional (None: not configured) and a handler must cope with its absence. The
runtime builds them from the config (``assistant/services.py``); tests put in their own. Where a
port has several implementations it is typed by a protocol from ``devices/`` (weather providers,
to-do lists); the device hub and the media service have one implementation each and are typed by
their class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.hub import DeviceHub
    from devices.media.service import MediaService
    from devices.todo import TodoLists
    from devices.weather import WeatherProvider

    from .preferences import Preferences

log = logging.getLogger(__name__)


@dataclass
class Services:
    media: MediaService | None = None  # music players and the local library
    weather: WeatherProvider | None = None  # a forecast for home or a named place
    devices: DeviceHub | None = None  # MQTT discovery, Home Assistant and YAML devices
    lists: TodoLists | None = None  # to-do and shopping lists
    preferences: Preferences | None = None  # what the user told us to remember

    def present(self) -> Iterator[tuple[str, Any]]:
        """(name, service) for each service that is there."""
        for f in fields(self):
            service = getattr(self, f.name)
            if service is not None:
                yield f.name, service

    def slot_lists(self) -> dict[str, list[Any]]:
        """Template slot lists (``name``, ``area``, ...) from the services that have them, merged."""
        lists: dict[str, list[Any]] = {}
        for _, service in self.present():
            provide = getattr(type(service), "slot_lists", None)
            if callable(provide):
                for name, values in provide(service).items():
                    lists.setdefault(name, []).extend(values)
        return lists

    def watch_slot_lists(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever a service's lists may have changed (a device was discovered)."""
        for _, service in self.present():
            watch = getattr(type(service), "watch_slot_lists", None)
            if callable(watch):
                watch(service, callback)

    def close(self) -> None:
        """Close or stop every service; one that fails to close does not keep the others open."""
        for name, service in self.present():
            close = getattr(service, "close", None) or getattr(service, "stop", None)
            if callable(close):
                try:
                    close()
                except Exception:  # closing must not hide the real outcome
                    log.exception("closing %s failed", name)
