"""MQTT entity configs and payloads as Home Assistant's MQTT integration reads them: abbreviated
keys, the ``{{ value_json.x }}`` templates, per-component defaults, capabilities, state and
availability topics, and state payloads. Shared by discovery (devices/discovery.py), YAML devices
(devices/config_devices.py) and state tracking (devices/mqtt_state.py)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from typing import Any

MAX_PAYLOAD = 64 * 1024
MAX_DEPTH = 32  # JSON nesting; a real config has 4 or 5 levels (device configs), a state fewer
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


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def load_json(text: str, problem: str) -> Any:
    """``json.loads`` for what comes off the broker: JSON nested deeper than MAX_DEPTH is refused before
    parsing (``json.loads`` takes ~100 ms to fail on 2000 nested brackets, a recursion error unwound
    frame by frame; the check is linear), and bad JSON is a PayloadError "<problem> (<why>)"."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
        if brackets and max(itertools.accumulate(map(_STEP.__getitem__, brackets))) > MAX_DEPTH:
            raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as e:
        raise PayloadError(f"{problem} ({e})") from None


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
        value = load_json(payload, "state is not JSON")
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


def state_topics(component: str, cfg: Mapping[str, Any]) -> dict[str, str]:
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


def availability_topics(cfg: Mapping[str, Any]) -> list[tuple[str, str, str, str | None]]:
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
    component: str, cfg: Mapping[str, Any], kind: str, text: str
) -> tuple[str | None, dict[str, Any]]:
    """Turn one state message into (state or None, attributes). Raises PayloadError."""
    attrs: dict[str, Any] = {}
    if component == "light" and cfg.get("schema") == "json" and kind == "state":
        data = load_json(text, "light state is not JSON")
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


def _map_state(component: str, cfg: Mapping[str, Any], value: Any, attrs: dict[str, Any]) -> str | None:
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
