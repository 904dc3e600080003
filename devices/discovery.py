"""Home Assistant MQTT discovery: entities from retained configs (read by devices/mqtt_codec.py; their
states tracked by devices/mqtt_state.py)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.entities import Entity, EntityRegistry, slugify
from devices.mqtt import MqttClient
from devices.mqtt_codec import (
    COMPONENTS,
    PayloadError,
    _decode,
    apply_defaults,
    capabilities,
    expand,
    expand_base_topic,
    load_json,
)
from devices.mqtt_state import StateTracker, WarningLimiter

log = logging.getLogger(__name__)

MAX_NAME = 64  # characters of a discovered name (device or entity); longer configs are refused
MAX_TOPIC = 512  # characters of a topic in a discovery config
MAX_ENTITIES = 5000  # discovered entities at most; more is a flood, refused with a warning
MIN_NAME_CHARS = 2  # letters or digits in a discovered name: "E€" is no name, and noise ("E&") would match it


_BAD_TOPIC_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _sayable(name: str) -> bool:
    return sum(ch.isalnum() for ch in name) >= MIN_NAME_CHARS


def _check_topic(key: str, topic: Any) -> None:
    """A topic we publish to or subscribe to: no wildcards (a state topic '#' would subscribe us to
    the whole broker), nothing the broker would cut our connection for, not empty, not absurdly long."""
    if not isinstance(topic, str) or not topic:
        raise PayloadError(f"{key} must be a non-empty string")
    if "#" in topic or "+" in topic:
        raise PayloadError(f"{key} must not contain wildcards ('+', '#')")
    if len(topic) > MAX_TOPIC:
        raise PayloadError(f"{key} is longer than {MAX_TOPIC} characters")
    if _BAD_TOPIC_CHARS.search(topic):
        raise PayloadError(f"{key} holds a character MQTT does not allow in a topic")


@dataclass
class _Registration:
    entity_id: str
    component: str
    config: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


def device_ids(cfg: dict[str, Any]) -> frozenset[str]:
    """The ``device.identifiers`` of an (expanded) discovery config, as strings."""
    device = cfg.get("device")
    ids = device.get("identifiers") if isinstance(device, dict) else None
    if isinstance(ids, (str, int)):
        ids = [ids]
    return frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset()


# (component, device ids, names) -> the entity id of the same thing known another way, or None
TwinOf = Callable[[str, frozenset[str], list[str]], "str | None"]


class MqttDiscovery:
    """Reads ``<prefix>/<component>/[<node_id>/]<object_id>/config`` (and ``<prefix>/device/...``)."""

    def __init__(
        self,
        mqtt: MqttClient,
        registry: EntityRegistry,
        prefix: str = "homeassistant",
        tracker: StateTracker | None = None,
        own_device_ids: frozenset[str] = frozenset(),
    ):
        self.mqtt = mqtt
        self.own_device_ids = own_device_ids  # our own device (HaPublisher): never an entity of ours
        self.twin_of: TwinOf | None = None  # set when Home Assistant exposes MQTT devices too
        self.registry = registry
        self.prefix = prefix.strip("/")
        self.tracker = tracker or StateTracker(mqtt, registry)
        self._regs: dict[tuple[str, str], _Registration] = {}
        self._device_keys: dict[str, set[tuple[str, str]]] = {}  # device config topic -> its components' keys
        self._lock = threading.RLock()
        self._filters = [f"{self.prefix}/+/+/config", f"{self.prefix}/+/+/+/config"]
        self.messages_seen = 0
        self._warn = WarningLimiter(log)  # nor a broker full of junk configs

    def start(self) -> None:
        # QoS 1 over MQTT 5 with a large Receive Maximum (devices/mqtt.py): the broker keeps every
        # retained config published at QoS 1 in flight for us, none dropped. (QoS 0 would downgrade
        # them to messages a broker drops once ~1000 wait on a slow socket; those published at QoS 0
        # come at QoS 0 either way, and DeviceHub warns when there were enough to have lost some.)
        for f in self._filters:
            self.mqtt.subscribe(f, self._on_config, qos=1)
        self.mqtt.subscribe(f"{self.prefix}/status", self._on_ha_status, qos=1)

    def _on_ha_status(self, topic: str, payload: bytes, retained: bool) -> None:
        if payload.strip() == b"online" and not retained:
            log.info("discovery: %s is online; re-reading discovery configs", topic)
            for f in self._filters:
                self.mqtt.resubscribe(f, qos=1)

    # ---- config handling -----------------------------------------------------------------------
    def _on_config(self, topic: str, payload: bytes, retained: bool) -> None:
        """Anyone who can publish on the broker can send a config: whatever it holds, it is logged
        (rate-limited) and ignored, never raised into the network thread."""
        self.messages_seen += 1
        try:
            self.handle_config(topic, payload)
        except PayloadError as e:
            self._warn.warning("discovery: ignoring %s: %s", topic[:200], e)
        except Exception as e:  # noqa: BLE001 - hostile input: a shape no rule above foresaw
            self._warn.warning(
                "discovery: ignoring %s: unusable config (%s: %s)",
                topic[:200],
                type(e).__name__,
                str(e)[:200],
            )

    def handle_config(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        rest = parts[len(self.prefix.split("/")) :]
        if len(rest) not in (3, 4) or rest[-1] != "config":
            raise PayloadError("topic is not <prefix>/<component>/[<node_id>/]<object_id>/config")
        component = rest[0]
        text = _decode(payload)
        if len(rest) == 4 and rest[1] in self.own_device_ids:
            return  # <prefix>/<component>/<our node id>/<object id>/config: published by ourselves
        if component == "device":
            self._handle_device(topic, text)
            return
        if text.strip() == "":
            self._remove((topic, ""))
            return
        cfg = self._parse_json(text)
        if device_ids(cfg) & self.own_device_ids:
            return
        if component not in COMPONENTS:
            raise PayloadError(
                f"component {component!r} not supported; supported: {', '.join(sorted(COMPONENTS))}"
            )
        self._register((topic, ""), component, rest[-2], cfg)

    def _handle_device(self, topic: str, text: str) -> None:
        existing = {k for k in self._device_keys.get(topic, ())}
        if text.strip() == "":
            for k in existing:
                self._remove(k)
            return
        cfg = self._parse_json(text)
        if device_ids(cfg) & self.own_device_ids:
            return
        comps = cfg.pop("components", None)
        if not isinstance(comps, dict) or not comps:
            raise PayloadError("device discovery needs a non-empty 'cmps' object of components")
        shared = {k: v for k, v in cfg.items()}
        seen = set()
        for cid, ccfg in comps.items():
            key = (topic, str(cid))
            seen.add(key)
            try:
                if not isinstance(ccfg, dict):
                    raise PayloadError(f"component {cid!r} must be an object")
                platform = ccfg.get("platform")
                if platform not in COMPONENTS:
                    raise PayloadError(
                        f"component {cid!r}: platform {platform!r} not supported; "
                        f"supported: {', '.join(sorted(COMPONENTS))}"
                    )
                if set(ccfg) <= {"platform"}:
                    self._remove(key)
                    continue
                merged = expand_base_topic({**shared, **ccfg})
                self._register(key, platform, str(cid), merged)
            except PayloadError as e:
                self._warn.warning(
                    "discovery: ignoring component %r of %s: %s", str(cid)[:64], topic[:200], e
                )
        for k in existing - seen:
            self._remove(k)

    @staticmethod
    def _parse_json(text: str) -> dict[str, Any]:
        data = load_json(text, "invalid JSON")
        if not isinstance(data, dict):
            raise PayloadError(f"config must be a JSON object, got {type(data).__name__}")
        return expand_base_topic(expand(data))

    def _register(self, key: tuple[str, str], component: str, object_id: str, cfg: dict[str, Any]) -> None:
        for k, v in cfg.items():
            if (k.endswith("_topic") or k.endswith("_template")) and v is not None and not isinstance(v, str):
                raise PayloadError(f"{k} must be a string, got {type(v).__name__}")
            if k.endswith("_topic") and isinstance(v, str):
                _check_topic(k, v)
        listed = cfg.get("availability")
        for a in listed if isinstance(listed, list) else []:
            if isinstance(a, dict) and a.get("topic") is not None:
                _check_topic("availability.topic", a["topic"])
        for k in ("name", "object_id", "default_entity_id", "unique_id"):
            if cfg.get(k) is not None and not isinstance(cfg[k], (str, int)):
                raise PayloadError(f"{k} must be a string")
            if cfg.get(k) is not None and len(str(cfg[k])) > MAX_NAME:
                raise PayloadError(f"{k} is longer than {MAX_NAME} characters")
        device_name = cfg.get("device", {}).get("name") if isinstance(cfg.get("device"), dict) else None
        if isinstance(device_name, str) and len(device_name) > MAX_NAME:
            raise PayloadError(f"device name is longer than {MAX_NAME} characters")
        with self._lock:
            if key not in self._regs and len(self._regs) >= MAX_ENTITIES:
                raise PayloadError(
                    f"more than {MAX_ENTITIES} discovered entities; is something flooding "
                    "the broker? (see docs/security.md)"
                )
        device = cfg.get("device")
        if not isinstance(device, dict):
            device = {}
        cfg = apply_defaults(component, cfg)
        if component not in ("sensor", "binary_sensor") and not (
            cfg.get("command_topic")
            or cfg.get("temperature_command_topic")
            or cfg.get("set_position_topic")
            or cfg.get("mode_command_topic")
        ):
            raise PayloadError(f"{component} has no command topic (cmd_t)")
        if component in ("sensor", "binary_sensor") and not cfg.get("state_topic"):
            raise PayloadError(f"{component} has no state topic (stat_t)")

        dev_name = device.get("name") if isinstance(device.get("name"), str) else None
        name = cfg.get("name") if isinstance(cfg.get("name"), str) and cfg.get("name") else None
        display = name or dev_name or str(cfg.get("object_id") or object_id)
        aliases = []
        if name and dev_name and not name.lower().startswith(dev_name.lower()):
            display = f"{dev_name} {name}"
            aliases.append(name)
        if not _sayable(display):
            raise PayloadError(
                f"name {display!r} has fewer than {MIN_NAME_CHARS} letters or digits: it cannot be said, "
                "and stray characters would match it"
            )
        aliases = [a for a in aliases if _sayable(a)]
        area = device.get("suggested_area") if isinstance(device.get("suggested_area"), str) else None
        twin = self.twin_of(component, device_ids(cfg), [display, *aliases]) if self.twin_of else None
        if twin is not None:
            log.info("discovery: %s is %s in Home Assistant; controlled there", key[0], twin)
            self._remove(key)
            return

        with self._lock:
            old = self._regs.get(key)
            if old is not None and old.component == component:
                entity_id = old.entity_id
            else:
                if old is not None:
                    self._remove(key)
                entity_id = self._new_entity_id(component, cfg, display, object_id)
            prev = self.registry.get(entity_id)
            entity = Entity(
                entity_id=entity_id,
                name=display,
                component=component,
                source="mqtt",
                aliases=aliases,
                area=area,
                device_class=cfg.get("device_class") if isinstance(cfg.get("device_class"), str) else None,
                state=prev.state if prev else None,
                attributes=dict(prev.attributes) if prev else {},
                capabilities=capabilities(component, cfg),
                device_name=dev_name,
                backend=cfg,
            )
            if component == "climate":
                for k in ("min_temp", "max_temp", "temp_step"):
                    if isinstance(cfg.get(k), (int, float)):
                        entity.attributes[k] = cfg[k]
            if isinstance(cfg.get("unit_of_measurement"), str):
                entity.attributes["unit_of_measurement"] = cfg["unit_of_measurement"]
            self._regs[key] = _Registration(entity_id, component, cfg, [display, *aliases])
            if key[1]:
                self._device_keys.setdefault(key[0], set()).add(key)
            self.registry.add(entity)
        self.tracker.track(entity_id, component, cfg)
        log.debug("discovery: %s -> %s (%s)", key[0], entity_id, display)

    def _new_entity_id(self, component: str, cfg: dict[str, Any], display: str, object_id: str) -> str:
        ent = cfg.get("default_entity_id")
        if isinstance(ent, str) and "." in ent:
            base = slugify(ent.split(".", 1)[1])
        elif cfg.get("object_id") is not None:
            base = slugify(str(cfg["object_id"]))
        else:
            base = slugify(display or object_id)
        candidate, n = f"{component}.{base}", 2
        while (
            candidate in self.registry
        ):  # discovered ones are there too (a set lookup, not a scan per config)
            candidate, n = f"{component}.{base}_{n}", n + 1
        return candidate

    def drop_twins(self) -> list[str]:
        """Remove the entities ``twin_of`` now names (Home Assistant loaded after discovery)."""
        if self.twin_of is None:
            return []
        with self._lock:
            twins = [
                k
                for k, r in self._regs.items()
                if self.twin_of(r.component, device_ids(r.config), r.names) is not None
            ]
        dropped = [self._regs[k].entity_id for k in twins]
        for k in twins:
            self._remove(k)
        return dropped

    def _remove(self, key: tuple[str, str]) -> None:
        with self._lock:
            reg = self._regs.pop(key, None)
            self._device_keys.get(key[0], set()).discard(key)
        if reg is None:
            return
        self.tracker.untrack(reg.entity_id)
        current = self.registry.get(reg.entity_id)
        if current is not None and current.source == "mqtt":  # not Home Assistant's entity of the same id
            self.registry.remove(reg.entity_id)
        log.info("discovery: removed %s", reg.entity_id)

    def entity_ids(self) -> list[str]:
        with self._lock:
            return sorted(r.entity_id for r in self._regs.values())
