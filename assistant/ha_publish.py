"""The assistant as one Home Assistant device, by MQTT discovery.

Entities: last transcript and last response (sensors), next alarm and next reminder (timestamp sensors; the
reminder's message is its ``message`` attribute), a mute switch (the microphone: ``mute`` is set while
it is on, the Event the voice pipeline takes as ``muted``; kept across restarts in ``<data_dir>/muted``), an "announce" text entity (text written there is
handed to ``announce_listeners`` to be spoken) and a "request" text entity: text written there, or
published to ``<base_topic>/ask``, is a typed request handled like ``assistant ask`` (``requests``; the
service answers it and the sensors show it).
Availability is the long-running service's status topic (``<base_topic>/status``: "online", last
will "offline"); one-shot commands do not touch it.
Discovery configs are retained and re-published on every reconnect and when HA says it is online.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_STATE = 255  # HA truncates/refuses longer sensor states


class HaPublisher:
    def __init__(
        self,
        mqtt: Any,
        *,
        base_topic: str,
        discovery_prefix: str = "homeassistant",
        node_id: str = "voice_assistant",
        name: str = "Voice Assistant",
        next_alarm: Callable[[], dt.datetime | None] | None = None,
        next_reminder: Callable[[], tuple[dt.datetime, str | None] | None] | None = None,
        mute_file: Path | None = None,
    ):
        self.mqtt = mqtt
        self.base = base_topic.rstrip("/")
        self.prefix = discovery_prefix.rstrip("/")
        self.node_id = node_id
        self.name = name
        self.next_alarm = next_alarm
        self.next_reminder = next_reminder
        self._published: dict[str, str] = {}  # sensor -> what was published last
        self.mute_file = mute_file
        self.mute = threading.Event()  # set while HA's Mute switch is on: the pipeline ignores the microphone
        if _read_mute(mute_file):
            self.mute.set()
        self.announce_listeners: list[Callable[[str], None]] = []
        self.requests: queue.Queue[str] = queue.Queue()  # typed requests from MQTT, for the service to ask
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- topics -----------------------------------------------------------------------------
    def topic(self, leaf: str) -> str:
        return f"{self.base}/{leaf}"

    def configs(self) -> dict[str, dict[str, Any]]:
        """discovery topic -> config payload."""
        device = {
            "identifiers": [self.node_id],
            "name": self.name,
            "manufacturer": "assistant",
            "model": "local voice assistant",
        }
        common: dict[str, Any] = {
            "availability_topic": self.mqtt.status_topic,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": device,
        }
        entities: dict[tuple[str, str], dict[str, Any]] = {
            ("sensor", "last_transcript"): {
                "name": "Last transcript",
                "state_topic": self.topic("transcript"),
                "icon": "mdi:microphone-message",
            },
            ("sensor", "last_response"): {
                "name": "Last response",
                "state_topic": self.topic("response"),
                "icon": "mdi:message-reply-text",
            },
            ("sensor", "next_alarm"): {
                "name": "Next alarm",
                "state_topic": self.topic("next_alarm"),
                "device_class": "timestamp",
                "icon": "mdi:alarm",
            },
            ("sensor", "next_reminder"): {
                "name": "Next reminder",
                "state_topic": self.topic("next_reminder"),
                "json_attributes_topic": self.topic("next_reminder/attributes"),
                "device_class": "timestamp",
                "icon": "mdi:bell-ring",
            },
            ("switch", "mute"): {
                "name": "Mute",
                "state_topic": self.topic("mute"),
                "command_topic": self.topic("mute/set"),
                "payload_on": "ON",
                "payload_off": "OFF",
                "icon": "mdi:microphone-off",
            },
            ("text", "announce"): {
                "name": "Announce",
                "state_topic": self.topic("announce"),
                "command_topic": self.topic("announce/set"),
                "max": MAX_STATE,
                "mode": "text",
                "icon": "mdi:bullhorn",
            },
            ("text", "request"): {
                "name": "Request",
                "state_topic": self.topic("transcript"),
                "command_topic": self.topic("ask"),
                "max": MAX_STATE,
                "mode": "text",
                "icon": "mdi:text-box-outline",
            },
        }
        out = {}
        for (component, object_id), cfg in entities.items():
            uid = f"{self.node_id}_{object_id}"
            out[f"{self.prefix}/{component}/{self.node_id}/{object_id}/config"] = {
                **cfg,
                **common,
                "unique_id": uid,
                "object_id": uid,
            }
        return out

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self, poll_s: float = 2.0) -> None:
        self.mqtt.subscribe(self.topic("mute/set"), self._on_mute)
        self.mqtt.subscribe(self.topic("announce/set"), self._on_announce)
        self.mqtt.subscribe(self.topic("ask"), self._on_request)
        self.mqtt.subscribe(f"{self.prefix}/status", self._on_ha_status)
        self.mqtt.add_connect_listener(self.publish_configs)
        if self.mqtt.connected:
            self.publish_configs()
        self._thread = threading.Thread(target=self._poll, args=(poll_s,), name="ha-publish", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def publish_configs(self) -> None:
        for topic, cfg in self.configs().items():
            self.mqtt.publish(topic, json.dumps(cfg), qos=1, retain=True)
        self.mqtt.publish(self.topic("mute"), "ON" if self.muted else "OFF", qos=1, retain=True)
        self._published.clear()
        self.refresh()

    # ---- state ------------------------------------------------------------------------------
    def on_ask(self, result: Any) -> None:
        """An ``Assistant.ask_listeners`` callback: publish what was heard and answered."""
        self.mqtt.publish(self.topic("transcript"), str(result.text)[:MAX_STATE], qos=1, retain=True)
        self.mqtt.publish(self.topic("response"), str(result.response)[:MAX_STATE], qos=1, retain=True)
        self.refresh()

    def refresh(self) -> None:
        """Publish the next reminder (its message as an attribute) and the next alarm, each when it changed."""
        if self.next_reminder is not None:
            lookup = self.next_reminder

            def reminder() -> tuple[dt.datetime | None, dict[str, str]]:
                upcoming = lookup()
                message = (upcoming[1] or "") if upcoming else ""
                return (upcoming[0] if upcoming else None), {"message": message[:MAX_STATE]}

            self._publish_next("next_reminder", reminder)
        if self.next_alarm is not None:
            next_alarm = self.next_alarm
            self._publish_next("next_alarm", lambda: (next_alarm(), None))

    def _publish_next(
        self, sensor: str, lookup: Callable[[], tuple[dt.datetime | None, dict[str, str] | None]]
    ) -> None:
        """One "next ..." sensor: its time ("None" when there is none: HA reads it as unknown) and
        attributes, published only when they changed since last time."""
        try:
            moment, attributes = lookup()
        except Exception:  # noqa: BLE001 - a broken store must not stop publishing
            log.exception("%s lookup failed", sensor.replace("_", " "))
            return
        value = moment.isoformat() if moment else "None"
        key = f"{value}|{json.dumps(attributes)}"
        if key == self._published.get(sensor):
            return
        self._published[sensor] = key
        if attributes is not None:
            self.mqtt.publish(self.topic(f"{sensor}/attributes"), json.dumps(attributes), qos=1, retain=True)
        self.mqtt.publish(self.topic(sensor), value, qos=1, retain=True)

    def _poll(self, every: float) -> None:
        while not self._stop.wait(every):
            self.refresh()

    def _on_mute(self, topic: str, payload: bytes, retained: bool) -> None:
        value = payload.decode(errors="replace").strip().upper()
        if value not in ("ON", "OFF"):
            log.warning("mute: ignoring %r (expected ON or OFF)", value)
            return
        self.set_muted(value == "ON")

    @property
    def muted(self) -> bool:
        return self.mute.is_set()

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute: set or clear ``mute``, keep it in ``mute_file``, echo the state to HA."""
        changed = muted != self.muted
        if muted:
            self.mute.set()
        else:
            self.mute.clear()
        if changed and self.mute_file is not None:
            try:
                self.mute_file.write_text("ON\n" if muted else "OFF\n", encoding="utf-8")
            except OSError as e:
                log.error("cannot keep the mute state in %s: %s", self.mute_file, e)
        self.mqtt.publish(self.topic("mute"), "ON" if muted else "OFF", qos=1, retain=True)
        log.info("microphone %s", "muted" if muted else "unmuted")

    def _on_request(self, topic: str, payload: bytes, retained: bool) -> None:
        text = payload.decode(errors="replace").strip()
        if text and not retained:
            self.requests.put(text[:1000])

    def handle_requests(self, ask: Callable[[str], Any]) -> int:
        """Ask every request that came over MQTT (``ask`` publishes the outcome); returns how many."""
        n = 0
        while True:
            try:
                text = self.requests.get_nowait()
            except queue.Empty:
                return n
            n += 1
            try:
                ask(text)
            except Exception:  # noqa: BLE001 - one bad request must not stop the service
                log.exception("request %r failed", text)

    def _on_announce(self, topic: str, payload: bytes, retained: bool) -> None:
        text = payload.decode(errors="replace").strip()
        if not text or retained:
            return
        self.mqtt.publish(self.topic("announce"), text[:MAX_STATE], qos=1, retain=True)
        log.info("announce: %s", text)
        for cb in list(self.announce_listeners):
            try:
                cb(text)
            except Exception:  # noqa: BLE001
                log.exception("announce listener failed")

    def _on_ha_status(self, topic: str, payload: bytes, retained: bool) -> None:
        if payload.strip() == b"online" and not retained:
            self.publish_configs()


def _read_mute(path: Path | None) -> bool:
    try:
        return path is not None and path.read_text(encoding="utf-8").strip().upper() == "ON"
    except OSError:
        return False


def attach(assistant: Any, on_announce: Callable[[str], None] | None = None) -> HaPublisher | None:
    """Publish ``assistant`` to HA when it has a broker; None otherwise."""
    hub = assistant.services.devices
    mqtt = getattr(hub, "mqtt", None)
    if mqtt is None:
        return None
    settings = assistant.config.mqtt

    def next_alarm() -> dt.datetime | None:
        times = [a.next_at for a in assistant.store.alarms() if a.state == "scheduled" and a.next_at]
        return dt.datetime.fromtimestamp(min(times), assistant.tz) if times else None

    def next_reminder() -> tuple[dt.datetime, str | None] | None:
        due = [r for r in assistant.store.reminders() if r.state == "scheduled" and r.next_at]
        first = min(due, key=lambda r: r.next_at, default=None)
        return (dt.datetime.fromtimestamp(first.next_at, assistant.tz), first.name) if first else None

    publisher = HaPublisher(
        mqtt,
        base_topic=settings.base_topic,
        discovery_prefix=settings.discovery_prefix,
        node_id=settings.node_id,
        next_alarm=next_alarm,
        next_reminder=next_reminder,
        mute_file=assistant.config.data_dir / "muted",
    )
    if on_announce is not None:
        publisher.announce_listeners.append(on_announce)
    publisher.start()
    assistant.ask_listeners.append(publisher.on_ask)
    return publisher
