"""Generic MQTT player: publishes JSON commands, keeps the last reported state.

Topic contract (docs/media.md): commands on ``<prefix>/<player>/cmd``, state on ``<prefix>/<player>/state``.
It does not own an MQTT client: pass ``publish(topic, payload)`` and route state messages to ``handle_state``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from .models import SearchResult, Track
from .player import Player, PlayState, as_tracks, clamp_volume

log = logging.getLogger(__name__)

Publish = Callable[[str, str], Any]


class MqttPlayer(Player):
    def __init__(
        self, publish: Publish, player: str, topic_prefix: str = "assistant/media", volume: int = 50
    ):
        self.name = player
        self._publish = publish
        self.cmd_topic = f"{topic_prefix.strip('/')}/{player}/cmd"
        self.state_topic = f"{topic_prefix.strip('/')}/{player}/state"
        self._lock = threading.Lock()
        self._last: dict[str, Any] = {"state": "stopped", "volume": clamp_volume(volume)}

    def _send(self, command: str, **data: Any) -> None:
        payload = json.dumps({"command": command, **data})
        log.debug("mqtt %s <- %s", self.cmd_topic, payload)
        self._publish(self.cmd_topic, payload)

    def handle_state(self, payload: bytes | str) -> None:
        """Feed a message received on ``state_topic``; malformed JSON is logged and ignored."""
        try:
            data = json.loads(payload)
            if not isinstance(data, dict):
                raise ValueError("state payload must be a JSON object")
        except ValueError as e:
            log.warning("ignoring malformed state on %s: %s", self.state_topic, e)
            return
        with self._lock:
            self._last.update(data)

    def play(self, items: SearchResult | Track | list[Track] | str, shuffle: bool = False) -> None:
        tracks = as_tracks(items)
        if not tracks:
            return
        self._send("play", uri=tracks[0].uri, queue=[t.to_dict() for t in tracks], shuffle=shuffle)
        with self._lock:
            self._last.update(tracks[0].to_dict(), state="playing")

    def pause(self) -> None:
        self._send("pause")
        with self._lock:
            if self._last.get("state") == "playing":
                self._last["state"] = "paused"

    def resume(self) -> None:
        self._send("resume")
        with self._lock:
            if self._last.get("state") == "paused":
                self._last["state"] = "playing"

    def stop(self) -> None:
        self._send("stop")
        with self._lock:
            self._last["state"] = "stopped"

    def next(self) -> None:
        self._send("next")

    def previous(self) -> None:
        self._send("previous")

    def set_volume(self, volume: int) -> int:
        v = clamp_volume(volume)
        self._send("volume", volume=v)
        with self._lock:
            self._last["volume"] = v
        return v

    def get_volume(self) -> int:
        return clamp_volume(self._last.get("volume", 0))

    def mute(self) -> None:
        self._send("mute", muted=True)
        self._last["muted"] = True

    def unmute(self) -> None:
        self._send("mute", muted=False)
        self._last["muted"] = False

    @property
    def state(self) -> PlayState:
        try:
            return PlayState(self._last.get("state", "stopped"))
        except ValueError:
            return PlayState.STOPPED

    def now_playing(self) -> dict[str, Any] | None:
        with self._lock:
            return dict(self._last) if self._last.get("state") in ("playing", "paused") else None
