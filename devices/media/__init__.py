"""Music: library search and players (local PyAV, MPD, Home Assistant, MQTT)."""

from __future__ import annotations

from typing import Any

from .library import DEFAULT_MOODS, LibraryIndex, LocalLibrary, MpdLibrary
from .models import SearchResult, Track
from .player import Player, PlayerError, PlayState
from .settings import MediaSettings, PlayerConfig
from .sinks import AudioSink, NullSink, WavFileSink

__all__ = ["DEFAULT_MOODS", "AudioSink", "LibraryIndex", "LocalLibrary", "MediaSettings", "MpdLibrary", "NullSink",
           "Player", "PlayerConfig", "PlayerError", "PlayState", "SearchResult", "Track", "WavFileSink", "make_player"]


def make_player(settings: MediaSettings, config: PlayerConfig | None = None, *, sink: AudioSink | None = None,
                publish: Any = None) -> Player:
    """Build the player for ``config`` (or the default backend). Local needs ``sink``; MQTT needs ``publish``."""
    backend = config.backend if config else settings.backend
    name = config.name if config else backend
    target = config.target if config else None
    if backend == "local":
        from .local import LocalPlayer
        if sink is None:
            raise PlayerError("the local player needs an audio sink (sample_rate, write, close)")
        return LocalPlayer(sink, name=name, volume=settings.default_volume)
    if backend == "mpd":
        from .mpd_player import MpdPlayer
        return MpdPlayer.from_settings(settings, name=name)
    if backend == "home_assistant":
        from .home_assistant import HomeAssistantPlayer
        if not target:
            raise PlayerError(f"player {name!r}: set target to the media_player entity id, e.g. media_player.kitchen")
        return HomeAssistantPlayer.from_settings(settings, target, name)
    if backend == "mqtt":
        from .mqtt_player import MqttPlayer
        if publish is None:
            raise PlayerError("the MQTT player needs a publish(topic, payload) callable")
        return MqttPlayer(publish, target or name, settings.mqtt.topic_prefix, settings.default_volume)
    raise PlayerError(f"unknown media backend {backend!r}")
