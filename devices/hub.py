"""DeviceHub: owns the MQTT client, entity registry, discovery, Home Assistant backend and controller."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from devices.config_devices import load_config_devices
from devices.control import DeviceController
from devices.discovery import MqttDiscovery
from devices.entities import EntityRegistry
from devices.homeassistant import HomeAssistantBackend, HomeAssistantError
from devices.mqtt import BROKER_QUEUE, MqttClient
from devices.mqtt_state import StateTracker
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings

log = logging.getLogger(__name__)


class DeviceHub:
    """Everything device-related behind one object. Works with no broker and no HA (dry-run actions)."""

    def __init__(
        self,
        mqtt: MqttSettings,
        ha: HomeAssistantSettings,
        devices: DevicesSettings,
        *,
        service: bool = False,
        outbox: Path | None = None,
    ):
        """``service``: this is the long-running process, the one that owns ``<base_topic>/status``
        (HA's availability of our own device); one-shot commands leave it alone.
        ``outbox``: SQLite file for MQTT commands queued while the broker is away (the long-running
        service); None: one-shot, a command is delivered within ``mqtt.send_timeout`` or reported unsent."""
        self.mqtt_settings, self.ha_settings, self.devices_settings = mqtt, ha, devices
        self.registry = EntityRegistry(
            is_exposed=devices.exposure.is_exposed, needs_confirmation=devices.needs_confirmation
        )
        self.mqtt: MqttClient | None = (
            MqttClient(mqtt, availability=service, outbox=outbox) if mqtt.url else None
        )
        self.tracker = StateTracker(self.mqtt, self.registry)
        own = frozenset({mqtt.node_id})
        self.discovery = (
            MqttDiscovery(self.mqtt, self.registry, mqtt.discovery_prefix, self.tracker, own_device_ids=own)
            if self.mqtt
            else None
        )
        self.ha: HomeAssistantBackend | None = (
            HomeAssistantBackend(ha, self.registry, own_device_ids=own) if ha.url else None
        )
        if self.discovery is not None and self.ha is not None:  # one device once: HA's entity wins
            self.discovery.twin_of = self.ha.twin_of
        self.controller = DeviceController(self.registry, self.mqtt, self.ha)
        self.errors: list[str] = []
        self.problems: list[HomeAssistantError] = []  # typed: why devices may be missing (e.g. a bad token)

    @classmethod
    def from_settings(
        cls,
        mqtt: MqttSettings,
        ha: HomeAssistantSettings,
        devices: DevicesSettings,
        *,
        service: bool = False,
        outbox: Path | None = None,
    ) -> DeviceHub:
        return cls(mqtt, ha, devices, service=service, outbox=outbox)

    def start(self, timeout: float = 5.0) -> list[str]:
        """Load YAML devices, connect MQTT (wait up to ``timeout``), wait for retained discovery, load HA.
        Never raises for an unreachable backend: returns the list of problems (also logged)."""
        self.errors, self.problems = [], []
        load_config_devices(self.devices_settings.devices, self.registry, self.tracker)
        if self.discovery is not None:
            self.discovery.start()
        if self.mqtt is not None:
            if self.mqtt.start(timeout):
                self._wait_discovery(self.devices_settings.discovery_wait)
            else:
                self.errors.append(self.mqtt.last_error or "MQTT broker unreachable")
        if self.ha is not None:
            try:
                self.ha.check()
                self.ha.load()
            except HomeAssistantError as e:
                log.error("%s", e)
                self.errors.append(str(e))
                self.problems.append(e)
            if self.discovery is not None:
                for entity_id in self.discovery.drop_twins():
                    log.info(
                        "devices: %s is also in Home Assistant; using Home Assistant's entity", entity_id
                    )
        return self.errors

    def _wait_discovery(self, wait: float) -> None:
        """Retained configs arrive right after subscribing: wait until the broker has delivered all of
        them (``MqttClient.sync``: a marker sent behind them comes back), at most ``wait`` s. Say so
        when the device list may be incomplete: still arriving then, or a burst at QoS 0 big enough
        for the broker to have dropped some (``BROKER_QUEUE``)."""
        assert self.mqtt is not None and self.discovery is not None
        started = time.monotonic()
        end = started + wait
        done = self.mqtt.sync(wait)
        # the configs subscribed to their entities' state topics meanwhile: wait for those retained
        # states too (one more round; each is fast)
        if done and self.mqtt.wait_subscribed(max(0.0, end - time.monotonic())):
            done = self.mqtt.sync(max(0.0, end - time.monotonic()))
        seen, qos0 = self.discovery.messages_seen, self.mqtt.qos0_retained(self.discovery._on_config)
        log.debug(
            "discovery: %d configs read in %.2f s (%d retained at QoS 0)",
            seen,
            time.monotonic() - started,
            qos0,
        )
        if not done:
            self._incomplete(
                f"configs were still arriving after {wait:g} s ({seen} read); raise devices.discovery_wait"
            )
        elif qos0 >= BROKER_QUEUE:
            self._incomplete(
                f"{qos0} retained configs came at QoS 0, and a broker drops QoS 0 messages beyond its "
                f"queue ({BROKER_QUEUE} by default in mosquitto); have devices publish their discovery "
                "configs at QoS 1, or raise the broker's max_queued_messages"
            )

    def _incomplete(self, why: str) -> None:
        problem = f"discovery may be incomplete: {why}"
        log.warning("%s", problem)
        self.errors.append(problem)

    def configured(self) -> bool:
        """Is there any device to control?"""
        return bool(self.registry.exposed())

    def slot_lists(self) -> dict[str, list]:
        """Names for the recogniser: ``name`` as (text, entity name, {"domain": component}) for every
        exposed entity name and alias; ``area`` as the known area names."""
        names = []
        for e in self.registry.exposed():
            for text in dict.fromkeys([e.name, *e.aliases]):
                names.append((text, e.name, {"domain": e.component}))
        return {"name": names, "area": self.registry.areas()}

    def watch_slot_lists(self, callback) -> None:
        """Call ``callback()`` after entities are added, renamed or removed (not on state changes)."""

        def on_change(event: str, entity) -> None:
            if event != "updated" or self._names.get(entity.entity_id) != (
                entity.name,
                tuple(entity.aliases),
                entity.area,
            ):
                self._names[entity.entity_id] = (entity.name, tuple(entity.aliases), entity.area)
                if event == "removed":
                    self._names.pop(entity.entity_id, None)
                callback()

        self._names = {e.entity_id: (e.name, tuple(e.aliases), e.area) for e in self.registry.all()}
        self.registry.add_listener(on_change)

    def stop(self) -> None:
        if self.mqtt is not None:
            self.mqtt.stop()
