"""Home Assistant MQTT discovery: entities from retained configs, state tracking from state topics."""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.entities import Entity, EntityRegistry, slugify
from devices.mqtt import MqttClient

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024
MAX_NAME = 64  # characters of a discovered name (device or entity); longer configs are refused
MAX_TOPIC = 512  # characters of a topic in a discovery config
MAX_DEPTH = 32  # nesting of a config's JSON; a real one has 4 or 5 levels (device configs)
MAX_ENTITIES = 5000  # discovered entities at most; more is a flood, refused with a warning
COMPONENTS = {"light", "switch", "fan", "cover", "lock", "climate", "vacuum", "sensor", "binary_sensor"}

# Subset of homeassistant/components/mqtt/abbreviations.py (the keys this module reads, and friends).
ABBREVIATIONS: dict[str, str] = {
    "act_t": "action_topic",
    "act_tpl": "action_template",
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "bri_cmd_t": "brightness_command_topic",
    "bri_cmd_tpl": "brightness_command_template",
    "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic",
    "bri_val_tpl": "brightness_value_template",
    "clr_temp_cmd_t": "color_temp_command_topic",
    "clr_temp_cmd_tpl": "color_temp_command_template",
    "clr_temp_stat_t": "color_temp_state_topic",
    "clr_temp_val_tpl": "color_temp_value_template",
    "clr_temp_k": "color_temp_kelvin",
    "clrm": "color_mode",
    "clrm_stat_t": "color_mode_state_topic",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "curr_temp_t": "current_temperature_topic",
    "curr_temp_tpl": "current_temperature_template",
    "dev": "device",
    "dev_cla": "device_class",
    "def_ent_id": "default_entity_id",
    "fx_cmd_t": "effect_command_topic",
    "fx_list": "effect_list",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "max_mirs": "max_mireds",
    "min_mirs": "min_mireds",
    "max_kmw": "max_kelvin",
    "min_kmw": "min_kelvin",
    "max_temp": "max_temp",
    "min_temp": "min_temp",
    "mode_cmd_t": "mode_command_topic",
    "mode_stat_t": "mode_state_topic",
    "mode_stat_tpl": "mode_state_template",
    "modes": "modes",
    "name": "name",
    "obj_id": "object_id",
    "on_cmd_type": "on_command_type",
    "opt": "optimistic",
    "o": "origin",
    "p": "platform",
    "pct_cmd_t": "percentage_command_topic",
    "pct_stat_t": "percentage_state_topic",
    "pct_val_tpl": "percentage_value_template",
    "pl_avail": "payload_available",
    "pl_cln_sp": "payload_clean_spot",
    "pl_cls": "payload_close",
    "pl_lock": "payload_lock",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_open": "payload_open",
    "pl_ret": "payload_return_to_base",
    "pl_strt": "payload_start",
    "pl_stop": "payload_stop",
    "pl_unlk": "payload_unlock",
    "pl_paus": "payload_pause",
    "pl_loc": "payload_locate",
    "pos_clsd": "position_closed",
    "pos_open": "position_open",
    "pos_t": "position_topic",
    "pos_tpl": "position_template",
    "pow_cmd_t": "power_command_topic",
    "qos": "qos",
    "ret": "retain",
    "rgb_cmd_t": "rgb_command_topic",
    "rgb_cmd_tpl": "rgb_command_template",
    "rgb_stat_t": "rgb_state_topic",
    "rgb_val_tpl": "rgb_value_template",
    "sch": "schema",
    "send_cmd_t": "send_command_topic",
    "set_pos_t": "set_position_topic",
    "set_pos_tpl": "set_position_template",
    "stat_clsd": "state_closed",
    "stat_closing": "state_closing",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_open": "state_open",
    "stat_opening": "state_opening",
    "stat_stopped": "state_stopped",
    "stat_locked": "state_locked",
    "stat_unlocked": "state_unlocked",
    "stat_jam": "state_jammed",
    "stat_locking": "state_locking",
    "stat_unlocking": "state_unlocking",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template",
    "sup_clrm": "supported_color_modes",
    "sup_feat": "supported_features",
    "temp_cmd_t": "temperature_command_topic",
    "temp_cmd_tpl": "temperature_command_template",
    "temp_stat_t": "temperature_state_topic",
    "temp_stat_tpl": "temperature_state_template",
    "temp_unit": "temperature_unit",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
    "whit_cmd_t": "white_command_topic",
    "xy_cmd_t": "xy_command_topic",
    "hs_cmd_t": "hs_command_topic",
    "stat_cla": "state_class",
    "ic": "icon",
    "ent_cat": "entity_category",
    "t": "topic",
}
DEVICE_ABBREVIATIONS = {
    "cns": "connections",
    "ids": "identifiers",
    "name": "name",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "hw": "hw_version",
    "sw": "sw_version",
    "sa": "suggested_area",
    "via_device": "via_device",
    "cu": "configuration_url",
    "sn": "serial_number",
}
ORIGIN_ABBREVIATIONS = {"name": "name", "sw": "sw_version", "url": "support_url"}

_TEMPLATE_RE = re.compile(
    r"^\{\{\s*(value_json|value)((?:\s*\.\s*\w+|\s*\[\s*(?:'[^']*'|\"[^\"]*\"|\d+)\s*\])*)\s*"
    r"((?:\|\s*\w+(?:\([^)]*\))?\s*)*)\}\}$"
)
_PATH_RE = re.compile(r"\.\s*(\w+)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[\s*(\d+)\s*\]")


class PayloadError(ValueError):
    """A discovery or state payload could not be used."""


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


def expand(config: dict[str, Any], table: dict[str, str] = ABBREVIATIONS) -> dict[str, Any]:
    """Expand abbreviated keys (recursively for device/origin/availability/components)."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = table.get(k, k)
        if key == "device" and isinstance(v, dict):
            v = {DEVICE_ABBREVIATIONS.get(dk, dk): dv for dk, dv in v.items()}
        elif key == "origin" and isinstance(v, dict):
            v = {ORIGIN_ABBREVIATIONS.get(ok, ok): ov for ok, ov in v.items()}
        elif key == "availability" and isinstance(v, list):
            v = [expand(a) if isinstance(a, dict) else a for a in v]
        elif key == "components" and isinstance(v, dict):
            v = {cid: expand(c) if isinstance(c, dict) else c for cid, c in v.items()}
        out[key] = v
    return out


def expand_base_topic(config: dict[str, Any]) -> dict[str, Any]:
    """Replace a leading/trailing '~' in *_topic values (and availability topics) with config['~']."""
    if "~" not in config:
        return config
    base = config["~"]
    if not isinstance(base, str):
        raise PayloadError(f"'~' (base topic) must be a string, got {type(base).__name__}")

    def sub(v: Any) -> Any:
        if isinstance(v, str):
            if v.startswith("~"):
                return base + v[1:]
            if v.endswith("~"):
                return v[:-1] + base
        return v

    out = {}
    for k, v in config.items():
        if k.endswith("_topic") or k == "topic":
            v = sub(v)
        elif k == "availability" and isinstance(v, list):
            v = [{**a, "topic": sub(a.get("topic"))} if isinstance(a, dict) else a for a in v]
        out[k] = v
    return out


def render_template(template: str | None, payload: str) -> Any:
    """Evaluate the simple template forms ``{{ value }}`` / ``{{ value_json.a.b }}`` / ``{{ value_json['k'] }}``
    with optional ``| int``, ``| float``, ``| round(n)``, ``| lower``, ``| upper``, ``| string``, ``| default(x)``.
    Anything else raises PayloadError (full Jinja is not supported)."""
    if not template:
        return payload
    m = _TEMPLATE_RE.match(template.strip())
    if not m:
        raise PayloadError(f"unsupported template {template!r} (only '{{{{ value_json.KEY }}}}' forms)")
    root, path, filters = m.groups()
    if root == "value":
        value: Any = payload
        if path:
            raise PayloadError(f"unsupported template {template!r}")
    else:
        try:
            value = json.loads(payload)
        except ValueError as e:
            raise PayloadError(f"state is not JSON ({e})") from None
        for pm in _PATH_RE.finditer(path or ""):
            key = pm.group(1) or pm.group(2) or pm.group(3)
            idx = pm.group(4)
            try:
                if idx is not None:
                    value = value[int(idx)]
                elif isinstance(value, dict):
                    value = value[key]
                else:
                    raise KeyError(key)
            except (KeyError, IndexError, TypeError):
                value = _MISSING
                break
    for f in re.findall(r"\|\s*(\w+)(?:\(([^)]*)\))?", filters or ""):
        name, arg = f
        if value is _MISSING:
            if name == "default":
                value = _literal(arg)
            continue
        try:
            if name == "int":
                value = int(float(value))
            elif name == "float":
                value = float(value)
            elif name == "round":
                value = round(float(value), int(arg or 0))
            elif name == "lower":
                value = str(value).lower()
            elif name == "upper":
                value = str(value).upper()
            elif name == "string":
                value = str(value)
            elif name == "default":
                pass
            else:
                raise PayloadError(f"unsupported template filter {name!r} in {template!r}")
        except (TypeError, ValueError) as e:
            raise PayloadError(f"template {template!r}: {e}") from None
    if value is _MISSING:
        raise PayloadError(f"template {template!r}: key not in state payload")
    return value


class _Missing:
    pass


_MISSING = _Missing()


def _literal(arg: str) -> Any:
    try:
        return json.loads(arg.replace("'", '"'))
    except ValueError:
        return arg


# What a broker refuses in a topic (MQTT 5 spec 1.5.4; mosquitto closes the connection of a client
# that sends one, and it would again after every reconnect): NUL, control characters, surrogates.
_BAD_TOPIC_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


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


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _check_depth(text: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before parsing it: ``json.loads`` takes ~100 ms to
    fail on 2000 nested brackets (a recursion error unwound frame by frame). Linear time."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets and max(itertools.accumulate(map(_STEP.__getitem__, brackets))) > MAX_DEPTH:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")


def _decode(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError(f"payload too large ({len(payload)} bytes > {MAX_PAYLOAD})")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("payload is not UTF-8 text") from None


def _str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _num(v: Any) -> float:
    if isinstance(v, bool):
        raise PayloadError(f"expected a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise PayloadError(f"expected a number, got {str(v)[:40]!r}") from None


def _rgb(v: Any) -> list[int]:
    if isinstance(v, dict) and all(k in v for k in "rgb"):
        parts = [v["r"], v["g"], v["b"]]
    elif isinstance(v, str):
        parts = v.split(",")
    elif isinstance(v, list):
        parts = v
    else:
        raise PayloadError(f"expected r,g,b got {str(v)[:40]!r}")
    if len(parts) < 3:
        raise PayloadError(f"expected r,g,b got {str(v)[:40]!r}")
    return [max(0, min(255, int(_num(p)))) for p in parts[:3]]


# ---- per-component config defaults and capabilities -------------------------------------------
def apply_defaults(component: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """HA defaults for the payload/state keys the controller and tracker use."""
    d: dict[str, Any] = {"qos": 0, "retain": False}
    if component in ("light", "switch", "fan", "binary_sensor"):
        d.update(payload_on="ON", payload_off="OFF")
    if component == "light":
        d.update(schema="default", brightness_scale=255, on_command_type="last")
    if component == "cover":
        d.update(
            payload_open="OPEN",
            payload_close="CLOSE",
            payload_stop="STOP",
            state_open="open",
            state_opening="opening",
            state_closed="closed",
            state_closing="closing",
            state_stopped="stopped",
            position_open=100,
            position_closed=0,
        )
    if component == "lock":
        d.update(
            payload_lock="LOCK",
            payload_unlock="UNLOCK",
            payload_open="OPEN",
            state_locked="LOCKED",
            state_unlocked="UNLOCKED",
            state_jammed="JAMMED",
            state_locking="LOCKING",
            state_unlocking="UNLOCKING",
        )
    if component == "vacuum":
        d.update(
            payload_start="start",
            payload_stop="stop",
            payload_pause="pause",
            payload_return_to_base="return_to_base",
            payload_locate="locate",
        )
    if component == "climate":
        d.update(modes=["auto", "off", "cool", "heat", "dry", "fan_only"])
    d.update({k: v for k, v in cfg.items() if v is not None})
    if component in ("switch", "fan", "binary_sensor"):
        d.setdefault("state_on", d["payload_on"])
        d.setdefault("state_off", d["payload_off"])
    if component == "light" and d.get("schema") not in ("default", "json", "basic"):
        raise PayloadError(f"unknown light schema {d.get('schema')!r}; allowed: default, json")
    return d


def capabilities(component: str, cfg: dict[str, Any]) -> set[str]:
    caps: set[str] = set()
    if component in ("light", "switch", "fan", "climate", "vacuum") and (
        cfg.get("command_topic") or cfg.get("power_command_topic") or cfg.get("mode_command_topic")
    ):
        caps.add("on_off")
    if component == "light":
        modes = set(cfg.get("supported_color_modes") or [])
        if cfg.get("schema") == "json":
            if cfg.get("brightness") or modes - {"onoff"}:
                caps.add("brightness")
            if modes & {"rgb", "rgbw", "rgbww", "hs", "xy"} or cfg.get("rgb"):
                caps.add("color")
            if "color_temp" in modes or cfg.get("color_temp"):
                caps.add("color_temp")
        else:
            if cfg.get("brightness_command_topic"):
                caps.add("brightness")
            if cfg.get("rgb_command_topic"):
                caps.add("color")
            if cfg.get("color_temp_command_topic"):
                caps.add("color_temp")
    if component == "fan" and cfg.get("percentage_command_topic"):
        caps.add("percentage")
    if component == "cover":
        if cfg.get("command_topic"):
            caps.add("open_close")
        if cfg.get("set_position_topic"):
            caps.add("position")
    if component == "lock" and cfg.get("command_topic"):
        caps.add("lock")
    if component == "climate" and cfg.get("temperature_command_topic"):
        caps.add("target_temperature")
    if component == "vacuum" and cfg.get("command_topic"):
        caps.add("start")
    return caps


def state_topics(component: str, cfg: dict[str, Any]) -> dict[str, str]:
    """kind -> topic for every state-carrying topic of this entity."""
    kinds = {
        "state": "state_topic",
        "brightness": "brightness_state_topic",
        "rgb": "rgb_state_topic",
        "color_temp": "color_temp_state_topic",
        "position": "position_topic",
        "temperature": "temperature_state_topic",
        "current_temperature": "current_temperature_topic",
        "mode": "mode_state_topic",
        "percentage": "percentage_state_topic",
    }
    out = {k: cfg[t] for k, t in kinds.items() if isinstance(cfg.get(t), str) and cfg.get(t)}
    return out


def availability_topics(cfg: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """(topic, payload_available, payload_not_available, template)."""
    out = []
    if isinstance(cfg.get("availability_topic"), str):
        out.append(
            (
                cfg["availability_topic"],
                _str(cfg.get("payload_available", "online")),
                _str(cfg.get("payload_not_available", "offline")),
                cfg.get("availability_template"),
            )
        )
    listed = cfg.get("availability")
    for a in listed if isinstance(listed, list) else []:
        if isinstance(a, dict) and isinstance(a.get("topic"), str):
            out.append(
                (
                    a["topic"],
                    _str(a.get("payload_available", "online")),
                    _str(a.get("payload_not_available", "offline")),
                    a.get("value_template"),
                )
            )
    return out


def parse_state(
    component: str, cfg: dict[str, Any], kind: str, text: str
) -> tuple[str | None, dict[str, Any]]:
    """Turn one state message into (state or None, attributes). Raises PayloadError."""
    attrs: dict[str, Any] = {}
    if component == "light" and cfg.get("schema") == "json" and kind == "state":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise PayloadError(f"light state is not JSON ({e})") from None
        if not isinstance(data, dict):
            raise PayloadError(f"light state must be a JSON object, got {type(data).__name__}")
        state = None
        if "state" in data:
            s = _str(data["state"]).upper()
            if s not in ("ON", "OFF"):
                raise PayloadError(f"light state must be ON/OFF, got {str(data['state'])[:40]!r}")
            state = s.lower()
        if data.get("brightness") is not None:
            scale = _num(cfg.get("brightness_scale", 255)) or 255
            attrs["brightness"] = max(0, min(255, round(_num(data["brightness"]) * 255 / scale)))
        color = data.get("color")
        if isinstance(color, dict) and all(k in color for k in "rgb"):
            attrs["rgb_color"] = _rgb(color)
        elif isinstance(color, dict) and ("x" in color or "h" in color):
            attrs["color"] = {k: color[k] for k in ("x", "y", "h", "s") if k in color}
        if data.get("color_temp") is not None:
            ct = _num(data["color_temp"])
            attrs["color_temp_kelvin"] = (
                int(ct) if cfg.get("color_temp_kelvin") else (round(1_000_000 / ct) if ct else None)
            )
        if data.get("color_mode"):
            attrs["color_mode"] = _str(data["color_mode"])
        return state, attrs

    tpl_key = {
        "state": "state_value_template" if component == "light" else "value_template",
        "brightness": "brightness_value_template",
        "rgb": "rgb_value_template",
        "color_temp": "color_temp_value_template",
        "position": "position_template",
        "temperature": "temperature_state_template",
        "current_temperature": "current_temperature_template",
        "mode": "mode_state_template",
        "percentage": "percentage_value_template",
    }[kind]
    template = cfg.get(tpl_key)
    if component == "light" and kind == "state" and not template:
        template = cfg.get("value_template")
    if component == "vacuum" and kind == "state" and not template:
        template = "{{ value_json.state }}"
    value = render_template(template, text)
    if kind == "state":
        return _map_state(component, cfg, value, attrs), attrs
    if kind == "brightness":
        scale = _num(cfg.get("brightness_scale", 255)) or 255
        attrs["brightness"] = max(0, min(255, round(_num(value) * 255 / scale)))
    elif kind == "rgb":
        attrs["rgb_color"] = _rgb(value)
    elif kind == "color_temp":
        ct = _num(value)
        attrs["color_temp_kelvin"] = (
            int(ct) if cfg.get("color_temp_kelvin") else (round(1_000_000 / ct) if ct else None)
        )
    elif kind == "position":
        lo, hi = _num(cfg.get("position_closed", 0)), _num(cfg.get("position_open", 100))
        pos = round((_num(value) - lo) * 100 / ((hi - lo) or 100))
        attrs["current_position"] = max(0, min(100, pos))
        if not cfg.get("state_topic"):
            return ("closed" if attrs["current_position"] == 0 else "open"), attrs
    elif kind == "temperature":
        attrs["temperature"] = _num(value)
    elif kind == "current_temperature":
        attrs["current_temperature"] = _num(value)
    elif kind == "percentage":
        attrs["percentage"] = _num(value)
    elif kind == "mode":
        return _str(value), attrs
    return None, attrs


def _map_state(component: str, cfg: dict[str, Any], value: Any, attrs: dict[str, Any]) -> str | None:
    v = _str(value)
    if component in ("light", "switch", "fan", "binary_sensor"):
        on = _str(cfg.get("state_on", cfg.get("payload_on", "ON")))
        off = _str(cfg.get("state_off", cfg.get("payload_off", "OFF")))
        if v == on:
            return "on"
        if v == off:
            return "off"
        if v.lower() in ("on", "off"):
            return v.lower()
        raise PayloadError(f"state {v[:40]!r} is neither {on!r} nor {off!r}")
    if component == "cover":
        for st in ("open", "opening", "closed", "closing", "stopped"):
            if v == _str(cfg.get(f"state_{st}", st)):
                return st
        raise PayloadError(f"cover state {v[:40]!r} unknown")
    if component == "lock":
        for st in ("locked", "unlocked", "jammed", "locking", "unlocking"):
            if v == _str(cfg.get(f"state_{st}", st.upper())):
                return st
        raise PayloadError(f"lock state {v[:40]!r} unknown")
    if component == "vacuum" and isinstance(value, dict):
        return _str(value.get("state"))
    return v[:255]


class StateTracker:
    """Subscribes to an entity's state/availability topics and updates the registry."""

    def __init__(self, mqtt: MqttClient | None, registry: EntityRegistry):
        self.mqtt = mqtt
        self.registry = registry
        self._handles: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._warn = WarningLimiter(log)  # a device spamming bad state must not flood the log

    def track(self, entity_id: str, component: str, cfg: dict[str, Any]) -> None:
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


@dataclass
class _Registration:
    entity_id: str
    component: str
    config: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


def device_ids(cfg: dict[str, Any]) -> frozenset[str]:
    """The ``device.identifiers`` of an (expanded) discovery config, as strings."""
    device = cfg.get("device") if isinstance(cfg.get("device"), dict) else {}
    ids = device.get("identifiers")
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
        _check_depth(text)
        try:
            data = json.loads(text)
        except ValueError as e:
            raise PayloadError(f"invalid JSON ({e})") from None
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
        device = cfg.get("device") if isinstance(cfg.get("device"), dict) else {}
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
