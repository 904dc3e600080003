"""DeviceHub: owns the MQTT client, entity registry, discovery, Home Assistant backend and controller."""

from __future__ import annotations

import logging
import time

from devices.config_devices import load_config_devices
from devices.control import DeviceController
from devices.discovery import MqttDiscovery, StateTracker
from devices.entities import EntityRegistry
from devices.homeassistant import HomeAssistantBackend, HomeAssistantError
from devices.mqtt import MqttClient
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings

log = logging.getLogger(__name__)


class DeviceHub:
    """Everything device-related behind one object. Works with no broker and no HA (dry-run actions)."""

    def __init__(self, mqtt: MqttSettings, ha: HomeAssistantSettings, devices: DevicesSettings):
        self.mqtt_settings, self.ha_settings, self.devices_settings = mqtt, ha, devices
        self.registry = EntityRegistry(is_exposed=devices.exposure.is_exposed,
                                       needs_confirmation=devices.needs_confirmation)
        self.mqtt: MqttClient | None = MqttClient(mqtt) if mqtt.url else None
        self.tracker = StateTracker(self.mqtt, self.registry)
        self.discovery = (MqttDiscovery(self.mqtt, self.registry, mqtt.discovery_prefix, self.tracker)
                          if self.mqtt else None)
        self.ha: HomeAssistantBackend | None = HomeAssistantBackend(ha, self.registry) if ha.url else None
        self.controller = DeviceController(self.registry, self.mqtt, self.ha)
        self.errors: list[str] = []

    @classmethod
    def from_settings(cls, mqtt: MqttSettings, ha: HomeAssistantSettings, devices: DevicesSettings) -> "DeviceHub":
        return cls(mqtt, ha, devices)

    def start(self, timeout: float = 5.0) -> list[str]:
        """Load YAML devices, connect MQTT (wait up to ``timeout``), wait for retained discovery, load HA.
        Never raises for an unreachable backend: returns the list of problems (also logged)."""
        self.errors = []
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
        return self.errors

    def _wait_discovery(self, wait: float) -> None:
        """Retained configs arrive right after subscribing; wait until they stop arriving (max ``wait`` s)."""
        end = time.monotonic() + wait
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() < end:
            seen = self.discovery.messages_seen
            if seen != last:
                last, quiet_since = seen, time.monotonic()
            elif time.monotonic() - quiet_since > 0.2:
                break
            time.sleep(0.02)

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
            if event != "updated" or self._names.get(entity.entity_id) != (entity.name, tuple(entity.aliases), entity.area):
                self._names[entity.entity_id] = (entity.name, tuple(entity.aliases), entity.area)
                if event == "removed":
                    self._names.pop(entity.entity_id, None)
                callback()

        self._names = {e.entity_id: (e.name, tuple(e.aliases), e.area) for e in self.registry.all()}
        self.registry.add_listener(on_change)

    def stop(self) -> None:
        if self.mqtt is not None:
            self.mqtt.stop()
