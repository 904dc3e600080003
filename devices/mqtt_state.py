"""State tracking: an MQTT entity's state and availability topics, read into the registry."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from devices.entities import EntityRegistry
from devices.mqtt import MqttClient
from devices.mqtt_codec import (
    PayloadError,
    _decode,
    _str,
    availability_topics,
    parse_state,
    render_template,
    state_topics,
)

log = logging.getLogger(__name__)


class WarningLimiter:
    """At most ``burst`` warnings per ``window`` seconds from one noisy source; the rest are counted
    and summed up in one line when the window ends (a broker full of junk must not flood the log)."""

    def __init__(self, logger: logging.Logger, burst: int = 20, window: float = 60.0):
        self.log, self.burst, self.window = logger, burst, window
        self._lock = threading.Lock()
        self._start, self._count, self._suppressed = 0.0, 0, 0

    def warning(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._start > self.window:
                if self._suppressed:
                    self.log.warning(
                        "%d more warnings like the above were suppressed in the last %g s",
                        self._suppressed,
                        self.window,
                    )
                self._start, self._count, self._suppressed = now, 0, 0
            self._count += 1
            if self._count > self.burst:
                self._suppressed += 1
                return
        self.log.warning(msg, *args)


class StateTracker:
    """Subscribes to an entity's state/availability topics and updates the registry."""

    def __init__(self, mqtt: MqttClient | None, registry: EntityRegistry):
        self.mqtt = mqtt
        self.registry = registry
        self._handles: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._warn = WarningLimiter(log)  # a device spamming bad state must not flood the log

    def track(self, entity_id: str, component: str, cfg: Mapping[str, Any]) -> None:
        self.untrack(entity_id)
        if self.mqtt is None:
            return
        handles = []
        for kind, topic in state_topics(component, cfg).items():
            handles.append(self.mqtt.subscribe(topic, self._state_cb(entity_id, component, cfg, kind), qos=1))
        for topic, pl_av, pl_na, tpl in availability_topics(cfg):
            handles.append(self.mqtt.subscribe(topic, self._avail_cb(entity_id, pl_av, pl_na, tpl), qos=1))
        with self._lock:
            self._handles[entity_id] = handles

    def untrack(self, entity_id: str) -> None:
        with self._lock:
            handles = self._handles.pop(entity_id, [])
        if self.mqtt is not None:  # else nothing was subscribed
            for h in handles:
                self.mqtt.unsubscribe(h)

    def _state_cb(self, entity_id, component, cfg, kind):
        def cb(topic: str, payload: bytes, retained: bool) -> None:
            try:
                text = _decode(payload)
                if text == "" or text == "None":
                    return
                state, attrs = parse_state(component, cfg, kind, text)
            except PayloadError as e:
                self._warn.warning("state: ignoring message on %s for %s: %s", topic[:200], entity_id, e)
                return
            self.registry.update(entity_id, state=state, attributes=attrs)

        return cb

    def _avail_cb(self, entity_id, pl_av, pl_na, tpl):
        def cb(topic: str, payload: bytes, retained: bool) -> None:
            try:
                v = _str(render_template(tpl, _decode(payload)))
            except PayloadError as e:
                self._warn.warning(
                    "availability: ignoring message on %s for %s: %s", topic[:200], entity_id, e
                )
                return
            if v == pl_av:
                self.registry.update(entity_id, available=True)
            elif v == pl_na:
                self.registry.update(entity_id, available=False)

        return cb
