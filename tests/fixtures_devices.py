"""A home of discovered MQTT devices (registered in tests/conftest.py): discovery payloads shaped as
real firmwares publish them (Zigbee2MQTT, Tasmota, ESPHome, device-based ``cmps``), ``publish_all``
to retain them on the test broker, and the fixtures ``device_home`` (a config file for that home)
and ``device_assistant`` (an Assistant on it). Helpers are imported by name; fixtures are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.core import Assistant


def z2m_light(p: str) -> dict:
    """Zigbee2MQTT: json schema, name null (entity named after the device), suggested area."""
    return {
        "name": None,
        "schema": "json",
        "brightness": True,
        "brightness_scale": 254,
        "supported_color_modes": ["xy", "color_temp"],
        "max_mireds": 500,
        "min_mireds": 153,
        "command_topic": f"{p}/z2m/Kitchen Ceiling/set",
        "state_topic": f"{p}/z2m/Kitchen Ceiling",
        "availability": [{"topic": f"{p}/z2m/bridge/state", "value_template": "{{ value_json.state }}"}],
        "unique_id": "0x00158d0001_light_z2m",
        "object_id": "kitchen_ceiling",
        "device": {
            "identifiers": ["z2m_0x00158d0001"],
            "name": "Kitchen Ceiling",
            "manufacturer": "IKEA",
            "model": "LED1545G12",
            "suggested_area": "Kitchen",
        },
        "origin": {"name": "Zigbee2MQTT", "sw": "1.40.0"},
    }


def tasmota_light(p: str) -> dict:
    """Tasmota (legacy HA discovery): abbreviated keys, '~' base topic, Dimmer 0-100."""
    return {
        "name": "Living Room Lamp",
        "~": f"{p}/tasmota_1A2B3C/",
        "cmd_t": "~cmnd/POWER",
        "stat_t": "~tele/STATE",
        "val_tpl": "{{value_json.POWER}}",
        "pl_off": "OFF",
        "pl_on": "ON",
        "avty_t": "~tele/LWT",
        "pl_avail": "Online",
        "pl_not_avail": "Offline",
        "uniq_id": "1A2B3C_LI_1",
        "bri_cmd_t": "~cmnd/Dimmer",
        "bri_stat_t": "~tele/STATE",
        "bri_scl": 100,
        "on_cmd_type": "brightness",
        "bri_val_tpl": "{{value_json.Dimmer}}",
        "rgb_cmd_t": "~cmnd/Color2",
        "rgb_stat_t": "~tele/STATE",
        "rgb_val_tpl": "{{value_json.Color.split(',')[0:3]|join(',')}}",
        "dev": {
            "ids": ["1A2B3C"],
            "name": "Tasmota Lamp",
            "mdl": "Sonoff B1",
            "sw": "12.0",
            "mf": "Tasmota",
            "sa": "Living Room",
        },
    }


def esphome_cover(p: str) -> dict:
    return {
        "name": "Garage Door",
        "dev_cla": "garage",
        "~": f"{p}/garage-node/cover/garage_door",
        "cmd_t": "~/command",
        "stat_t": "~/state",
        "pos_t": "~/position/state",
        "set_pos_t": "~/position/command",
        "avty_t": f"{p}/garage-node/status",
        "uniq_id": "ESPcovergarage_door",
        "obj_id": "garage_door",
        "dev": {
            "ids": "a4cf12",
            "name": "garage-node",
            "sw": "esphome v2024.6",
            "mdl": "esp32",
            "sa": "Garage",
        },
    }


def device_based(p: str) -> dict:
    """Device-based discovery (HA 2024.11+): one payload, several components in 'cmps'."""
    return {
        "dev": {"ids": "office01", "name": "Office Hub", "sa": "Office"},
        "o": {"name": "test-fw", "sw": "1.0"},
        "~": f"{p}/office",
        "cmps": {
            "desk": {
                "p": "light",
                "name": "Desk Lamp",
                "cmd_t": "~/desk/set",
                "stat_t": "~/desk/state",
                "uniq_id": "office_desk",
                "obj_id": "office_desk_lamp",
            },
            "fan": {
                "p": "switch",
                "name": "Fan",
                "cmd_t": "~/fan/set",
                "stat_t": "~/fan/state",
                "stat_on": "1",
                "stat_off": "0",
                "pl_on": "1",
                "pl_off": "0",
                "uniq_id": "office_fan",
            },
            "temp": {
                "p": "sensor",
                "name": "Temperature",
                "stat_t": "~/env",
                "unit_of_meas": "°C",
                "val_tpl": "{{ value_json.temperature | round(1) }}",
                "dev_cla": "temperature",
                "uniq_id": "office_temp",
            },
            "stat": {
                "p": "climate",
                "name": "Thermostat",
                "temp_cmd_t": "~/clim/set_temp",
                "temp_stat_t": "~/clim/state",
                "temp_stat_tpl": "{{ value_json.target }}",
                "curr_temp_t": "~/clim/state",
                "curr_temp_tpl": "{{ value_json.current }}",
                "mode_cmd_t": "~/clim/mode",
                "mode_stat_t": "~/clim/state",
                "mode_stat_tpl": "{{ value_json.mode }}",
                "modes": ["off", "heat"],
                "min_temp": 7,
                "max_temp": 30,
                "uniq_id": "office_clim",
            },
        },
        "qos": 1,
    }


def others(p: str) -> dict[str, dict]:
    return {
        "lock/front/config": {
            "name": None,
            "cmd_t": f"{p}/lock/front/set",
            "stat_t": f"{p}/lock/front",
            "dev": {"ids": "lk1", "name": "Front Door", "sa": "Hallway"},
        },
        "vacuum/robo/config": {
            "name": "Robot",
            "schema": "state",
            "cmd_t": f"{p}/vac/cmd",
            "stat_t": f"{p}/vac/state",
            "sup_feat": ["start", "stop", "return_home"],
            "dev": {"ids": "v1", "name": "Robot", "sa": "Living Room"},
        },
        "binary_sensor/node1/window/config": {
            "name": "Bedroom Window",
            "stat_t": f"{p}/node1/window",
            "dev_cla": "window",
            "dev": {"ids": "n1", "sa": "Bedroom"},
        },
        "fan/ceiling/config": {
            "name": "Bedroom Fan",
            "cmd_t": f"{p}/fan/set",
            "stat_t": f"{p}/fan/state",
            "pct_cmd_t": f"{p}/fan/pct",
            "dev": {"ids": "f1", "name": "Bedroom Fan", "sa": "Bedroom"},
        },
    }


def publish_all(probe, p: str) -> None:
    probe.publish(f"{p}/ha/light/0x00158d0001/light/config", json.dumps(z2m_light(p)), retain=True)
    probe.publish(f"{p}/ha/light/1A2B3C_LI_1/config", json.dumps(tasmota_light(p)), retain=True)
    probe.publish(f"{p}/ha/cover/garage-node/garage_door/config", json.dumps(esphome_cover(p)), retain=True)
    probe.publish(f"{p}/ha/device/office01/config", json.dumps(device_based(p)), retain=True)
    for topic, cfg in others(p).items():
        probe.publish(f"{p}/ha/{topic}", json.dumps(cfg), retain=True)


@pytest.fixture
def device_home(mosquitto, probe, prefix, tmp_path) -> Path:
    """Retained discovery configs on the broker, a probe on every command topic, a config file."""
    publish_all(probe, prefix)
    probe.subscribe(f"{prefix}/#")
    cfg = {
        "area": "Kitchen",
        "data_dir": str(tmp_path / "data"),
        "timezone": "UTC",
        "mqtt": {
            "url": mosquitto.url,
            "discovery_prefix": f"{prefix}/ha",
            "base_topic": f"{prefix}/assistant",
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture
def device_assistant(device_home):
    """An Assistant in the kitchen of ``device_home``."""
    a = Assistant(load_config(device_home, env={}))
    yield a
    a.close()


def commands(probe, prefix) -> list[tuple[str, str]]:
    """(topic, payload) the probe saw on command topics (not discovery, state or the assistant's own)."""
    return [
        (t, p)
        for t, p in probe.received()
        if not t.startswith((f"{prefix}/ha/", f"{prefix}/assistant/"))
        and ("set" in t or "cmnd" in t or "command" in t or t.endswith("/cmd"))
    ]
