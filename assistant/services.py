"""Builds the services intent handlers use (``ctx.services``, an ``intents.services.Services``) from
the config.

Each outside-world backend lives in ``devices/``; here it is chosen and constructed. A service
that cannot start (no broker, no network) must not stop the assistant: it is left out or
replaced by one that answers with a clear sentence, and the reason is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from intents.services import Services

from .config import Config

if TYPE_CHECKING:
    from devices.hub import DeviceHub
    from devices.media.service import MediaService
    from devices.media.sinks import AudioSink
    from devices.todo import TodoLists
    from devices.weather import WeatherProvider

log = logging.getLogger(__name__)


def build_services(config: Config, *, service: bool = False) -> Services:
    """``service``: for the long-running process (``serve``/``run``), which alone tells HA over MQTT
    that the assistant is online (and, by its last will, offline), and whose MQTT commands queued
    while the broker is away are kept on disk; a one-shot ``ask`` delivers within a bounded wait or
    says it could not."""
    services = Services()
    services.media = _media(config, services)
    services.weather = cast("WeatherProvider", LazyService("weather", lambda: _weather(config)))
    services.devices = _devices(config, service)
    services.lists = _lists(config, services.devices)
    return services


# ---- to-do and shopping lists (issue 16) ----


def _lists(config: Config, hub: DeviceHub | None) -> TodoLists:
    """Home Assistant's to-do entities when HA is configured (``lists.backend`` auto or home_assistant), else
    the local list store in the data dir."""
    from devices.todo import HomeAssistantTodoLists, LocalTodoLists
    from intents.lists import list_name

    backend = config.lists.backend
    ha = getattr(hub, "ha", None)
    if backend != "local" and ha is not None and config.home_assistant.token:
        return HomeAssistantTodoLists(ha, list_name)
    if backend == "home_assistant":
        log.error(
            "lists.backend is home_assistant but home_assistant.url/token are not set; using local lists"
        )
    return LocalTodoLists(config.data_dir / "lists.db", config.lists)


# ---- smart-home devices (issue 3) ----


def _devices(config: Config, service: bool = False) -> DeviceHub | None:
    """A started DeviceHub when a broker, Home Assistant or YAML devices are configured; else None
    (and no start-up delay). With a broker it waits briefly for retained discovery configs."""
    if not (config.mqtt.url or config.home_assistant.url or config.devices.devices):
        return None
    from devices.hub import DeviceHub

    outbox = config.data_dir / "mqtt_outbox.db" if service else None
    hub = DeviceHub.from_settings(
        config.mqtt, config.home_assistant, config.devices, service=service, outbox=outbox
    )
    for problem in hub.start(timeout=3.0):
        log.warning("devices: %s", problem)
    return hub


# ---- media and weather (cheap here: nothing connects, scans or imports much until first used) ----


class LazyService:
    """Stands in for a service and builds it on first attribute access (keeps start-up fast)."""

    def __init__(self, name: str, factory: Callable[[], Any]):
        self._name, self._factory, self._service = name, factory, None

    def __getattr__(self, attr: str) -> Any:
        if self._service is None:
            self._service = self._factory()
            log.debug("%s service started: %s", self._name, type(self._service).__name__)
        return getattr(self._service, attr)

    def close(self) -> None:
        close = getattr(self._service, "close", None)
        if callable(close):
            close()


def _media(config: Config, services: Services) -> MediaService:
    from devices.media.service import MediaService

    settings = config.media
    ha = config.home_assistant
    if ha.url and ha.token and not settings.home_assistant.token:  # one Home Assistant for everything
        settings = settings.model_copy(
            update={
                "home_assistant": settings.home_assistant.model_copy(
                    update={"url": ha.url.rstrip("/") + "/api", "token": ha.token}
                )
            }
        )

    def publish(topic: str, payload: str) -> Any:
        mqtt = services.devices.mqtt if services.devices is not None else None
        if mqtt is None:
            from devices.media.player import PlayerError

            raise PlayerError("MQTT music players need a broker: set mqtt.url in the config")
        return mqtt.publish(topic, payload)

    return MediaService(
        settings, sink_factory=lambda: music_sink(config.audio.output_device), publish=publish
    )


def music_sink(device: Any = None) -> AudioSink:
    """Where the built-in music player plays: the configured speaker (``audio.output_device``) if
    it is usable, else a (real-time paced) NullSink."""
    try:
        from .audio import MusicSpeakerSink, SpeakerSink

        SpeakerSink(device)  # checks the output device; raises AudioDeviceError when there is none
        return MusicSpeakerSink(device=device)
    except Exception as exc:  # no audio module, no PortAudio, no device
        log.warning("no usable speaker for music (%s); music goes to a silent null sink", exc)
        from devices.media.sinks import NullSink

        return NullSink(sample_rate=22050, channels=1, speed=1.0)


def _weather(config: Config) -> Any:
    from devices.weather import make_provider

    settings = config.weather
    ha = config.home_assistant
    if settings.provider == "home_assistant" and ha.url and ha.token and not settings.ha_token:
        settings = settings.model_copy(update={"ha_url": ha.url.rstrip("/") + "/api", "ha_token": ha.token})
    if settings.provider == "sensor":
        log.warning("weather provider 'sensor' needs an outdoor sensor feed; using Open-Meteo alone")
        settings = settings.model_copy(update={"provider": "open_meteo"})
    return make_provider(settings)
