"""Entities for devices declared in YAML (``devices.devices``), controlled over MQTT."""

from __future__ import annotations

import logging

from devices.entities import Entity, EntityRegistry, slugify
from devices.mqtt_codec import apply_defaults, capabilities
from devices.mqtt_state import StateTracker
from devices.settings import DeviceConfig

log = logging.getLogger(__name__)


def entity_from_config(dev: DeviceConfig) -> Entity:
    """Build the Entity (backend = HA-style MQTT config) for one YAML device."""
    raw = dev.model_dump(exclude={"name", "aliases", "area", "entity_id", "schema_"})  # requires_confirmation
    # stays in the backend: an explicit ``false`` there is the user's word that its topic is not a lock
    raw["schema"] = dev.schema_
    if dev.component == "light" and dev.schema_ == "json":
        raw.setdefault("supported_color_modes", [])
    cfg = apply_defaults(dev.component, raw)
    if dev.state_on is None and dev.component in ("switch", "fan", "binary_sensor"):
        cfg["state_on"], cfg["state_off"] = dev.payload_on, dev.payload_off
    caps = capabilities(dev.component, cfg)
    entity_id = dev.entity_id or f"{dev.component}.{slugify(dev.name)}"
    if "." not in entity_id:
        entity_id = f"{dev.component}.{slugify(entity_id)}"
    return Entity(
        entity_id=entity_id,
        name=dev.name,
        component=dev.component,
        source="config",
        aliases=list(dev.aliases),
        area=dev.area,
        device_class=dev.device_class,
        capabilities=caps,
        requires_confirmation=bool(dev.requires_confirmation),
        backend=cfg,
    )


def load_config_devices(
    devices: list[DeviceConfig], registry: EntityRegistry, tracker: StateTracker | None = None
) -> list[Entity]:
    """Add YAML devices to the registry and, if a tracker is given, follow their state topics."""
    out = []
    for dev in devices:
        ent = entity_from_config(dev)
        if ent.entity_id in registry:
            log.warning("devices: %s (%r) replaces an entity with the same id", ent.entity_id, dev.name)
        added = registry.add(ent, confirmation_explicit=dev.requires_confirmation is not None)
        if tracker is not None:
            tracker.track(added.entity_id, added.component, added.backend)
        out.append(added)
    return out
