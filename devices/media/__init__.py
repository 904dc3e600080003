"""Music: library search and players (local PyAV, MPD, Home Assistant, MQTT).

Names are imported on first use, so reading the configuration (``devices.media.settings``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .player import Player
    from .settings import MediaSettings, PlayerConfig
    from .sinks import AudioSink

_WHERE = {
    "Lookup": "models",
    "LibraryIndex": "library",
    "LocalLibrary": "library",
    "MpdLibrary": "library",
    "SearchResult": "models",
    "Track": "models",
    "Player": "player",
    "PlayerError": "player",
    "PlayState": "player",
    "MediaSettings": "settings",
    "PlayerConfig": "settings",
    "AudioSink": "sinks",
    "NullSink": "sinks",
    "WavSink": "sinks",
    "MediaService": "service",
}

__all__ = sorted([*_WHERE, "make_player"])


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_player(
    settings: MediaSettings,
    config: PlayerConfig | None = None,
    *,
    sink: AudioSink | None = None,
    publish: Any = None,
) -> Player:
    """Build the player for ``config`` (or the default backend). Local needs ``sink``; MQTT needs ``publish``."""
    from .player import PlayerError

    backend = config.backend if config else settings.backend
    name = config.name if config else backend
    target = config.target if config else None
    if backend == "local":
        from .local import LocalPlayer

        if sink is None:
            raise PlayerError("the local player needs an audio sink (an AudioSink)")
        return LocalPlayer(sink, name=name, volume=settings.default_volume)
    if backend == "mpd":
        from .mpd_player import MpdPlayer

        return MpdPlayer.from_settings(settings, name=name)
    if backend == "home_assistant":
        from .home_assistant import HomeAssistantPlayer

        if not target:
            raise PlayerError(
                f"player {name!r}: set target to the media_player entity id, e.g. media_player.kitchen"
            )
        return HomeAssistantPlayer.from_settings(settings, target, name)
    if backend == "mqtt":
        from .mqtt_player import MqttPlayer

        if publish is None:
            raise PlayerError("the MQTT player needs a publish(topic, payload) callable")
        return MqttPlayer(publish, target or name, settings.mqtt.topic_prefix, settings.default_volume)
    raise PlayerError(f"unknown media backend {backend!r}")
