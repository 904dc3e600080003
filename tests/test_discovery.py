"""Home Assistant MQTT discovery from a real mosquitto: retained configs, device-based discovery,
abbreviations, '~', removal, state tracking and robustness against malformed payloads."""

from __future__ import annotations

import json
import logging
import random

import pytest

from devices.hub import DeviceHub
from devices.mqtt_codec import PayloadError, expand, expand_base_topic, render_template
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings
from tests.fixtures_mqtt import mosquitto, prefix, probe, wait_for  # noqa: F401


# ---- payload shapes as published by real firmwares ---------------------------------------------
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
        f"lock/front/config": {
            "name": None,
            "cmd_t": f"{p}/lock/front/set",
            "stat_t": f"{p}/lock/front",
            "dev": {"ids": "lk1", "name": "Front Door", "sa": "Hallway"},
        },
        f"vacuum/robo/config": {
            "name": "Robot",
            "schema": "state",
            "cmd_t": f"{p}/vac/cmd",
            "stat_t": f"{p}/vac/state",
            "sup_feat": ["start", "stop", "return_home"],
            "dev": {"ids": "v1", "name": "Robot", "sa": "Living Room"},
        },
        f"binary_sensor/node1/window/config": {
            "name": "Bedroom Window",
            "stat_t": f"{p}/node1/window",
            "dev_cla": "window",
            "dev": {"ids": "n1", "sa": "Bedroom"},
        },
        f"fan/ceiling/config": {
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
def hub(mosquitto, probe, prefix):
    publish_all(probe, prefix)  # retained before the hub starts
    h = DeviceHub.from_settings(
        MqttSettings(url=mosquitto.url, discovery_prefix=f"{prefix}/ha", base_topic=f"{prefix}/assistant"),
        HomeAssistantSettings(),
        DevicesSettings(discovery_wait=2.0),
    )
    assert h.start(timeout=5) == []
    yield h
    h.stop()


EXPECTED = {
    "light.kitchen_ceiling",
    "light.tasmota_lamp_living_room_lamp",
    "cover.garage_door",
    "light.office_desk_lamp",
    "switch.office_hub_fan",
    "sensor.office_hub_temperature",
    "climate.office_hub_thermostat",
    "lock.front_door",
    "vacuum.robot",
    "binary_sensor.bedroom_window",
    "fan.bedroom_fan",
}


def test_retained_discovery_builds_entities(hub):
    reg = hub.registry
    assert {e.entity_id for e in reg.all()} == EXPECTED
    k = reg.get("light.kitchen_ceiling")
    assert (k.name, k.area, k.source) == ("Kitchen Ceiling", "Kitchen", "mqtt")
    assert {"on_off", "brightness", "color", "color_temp"} <= k.capabilities
    t = reg.get("light.tasmota_lamp_living_room_lamp")
    assert t.backend["command_topic"].endswith("/tasmota_1A2B3C/cmnd/POWER")  # '~' expanded
    assert t.backend["brightness_scale"] == 100 and t.area == "Living Room"
    assert (t.name, t.aliases) == ("Tasmota Lamp Living Room Lamp", ["Living Room Lamp"])
    assert {"brightness", "color"} <= t.capabilities
    g = reg.get("cover.garage_door")
    assert g.device_class == "garage" and g.requires_confirmation and "position" in g.capabilities
    assert reg.get("lock.front_door").requires_confirmation
    assert reg.get("switch.office_hub_fan").name == "Office Hub Fan"
    assert reg.get("switch.office_hub_fan").aliases == ["Fan"]
    assert reg.get("light.office_desk_lamp").backend["state_topic"].endswith("/office/desk/state")
    assert reg.get("climate.office_hub_thermostat").attributes["max_temp"] == 30
    assert reg.areas() == ["Bedroom", "Garage", "Hallway", "Kitchen", "Living Room", "Office"]
    assert [e.entity_id for e in reg.in_area("office")] == [
        "climate.office_hub_thermostat",
        "light.office_desk_lamp",
        "sensor.office_hub_temperature",
        "switch.office_hub_fan",
    ]


def test_state_tracking_for_firmware_payloads(hub, probe, prefix):
    reg = hub.registry
    p = prefix
    probe.publish(
        f"{p}/z2m/Kitchen Ceiling",
        json.dumps(
            {
                "state": "ON",
                "brightness": 127,
                "color_temp": 370,
                "color_mode": "color_temp",
                "linkquality": 87,
            }
        ),
    )
    assert wait_for(lambda: reg.get("light.kitchen_ceiling").state == "on")
    k = reg.get("light.kitchen_ceiling")
    assert k.attributes["brightness"] == round(127 * 255 / 254) and k.attributes["color_temp_kelvin"] == 2703
    probe.publish(
        f"{p}/tasmota_1A2B3C/tele/STATE", json.dumps({"POWER": "ON", "Dimmer": 40, "Color": "1,2,3"})
    )
    assert wait_for(
        lambda: reg.get("light.tasmota_lamp_living_room_lamp").attributes.get("brightness") == 102
    )
    assert reg.get("light.tasmota_lamp_living_room_lamp").state == "on"
    probe.publish(f"{p}/tasmota_1A2B3C/tele/LWT", "Offline")
    assert wait_for(lambda: reg.get("light.tasmota_lamp_living_room_lamp").available is False)
    probe.publish(f"{p}/garage-node/cover/garage_door/state", "open")
    probe.publish(f"{p}/garage-node/cover/garage_door/position/state", "35")
    assert wait_for(lambda: reg.get("cover.garage_door").attributes.get("current_position") == 35)
    assert reg.get("cover.garage_door").state == "open"
    probe.publish(f"{p}/office/fan/state", "1")
    probe.publish(f"{p}/office/env", json.dumps({"temperature": 21.456, "humidity": 40}))
    probe.publish(f"{p}/office/clim/state", json.dumps({"target": 20.5, "current": 19.25, "mode": "heat"}))
    assert wait_for(
        lambda: reg.get("climate.office_hub_thermostat").attributes.get("current_temperature") == 19.25
    )
    c = reg.get("climate.office_hub_thermostat")
    assert c.state == "heat" and c.attributes["temperature"] == 20.5
    assert wait_for(lambda: reg.get("sensor.office_hub_temperature").state == "21.5")
    assert reg.get("switch.office_hub_fan").state == "on"
    probe.publish(f"{p}/lock/front", "UNLOCKED")
    probe.publish(f"{p}/vac/state", json.dumps({"state": "docked", "battery_level": 80}))
    probe.publish(f"{p}/node1/window", "ON")
    assert wait_for(lambda: reg.get("binary_sensor.bedroom_window").state == "on")
    assert wait_for(lambda: reg.get("vacuum.robot").state == "docked")
    assert reg.get("lock.front_door").state == "unlocked"


def test_removal_and_device_component_removal(hub, probe, prefix):
    reg = hub.registry
    probe.publish(f"{prefix}/ha/lock/front/config", "", retain=True)
    assert wait_for(lambda: "lock.front_door" not in reg)
    dev = device_based(prefix)
    dev["cmps"]["fan"] = {"p": "switch"}  # platform only = remove this component
    probe.publish(f"{prefix}/ha/device/office01/config", json.dumps(dev), retain=True)
    assert wait_for(lambda: "switch.office_hub_fan" not in reg)
    assert "light.office_desk_lamp" in reg
    probe.publish(f"{prefix}/ha/device/office01/config", "", retain=True)
    assert wait_for(lambda: not reg.in_area("office"))
    # a state message for a removed entity is harmless
    probe.publish(f"{prefix}/office/desk/state", "ON")
    assert hub.mqtt.connected


def test_config_update_keeps_entity_id_and_state(hub, probe, prefix):
    reg = hub.registry
    probe.publish(f"{prefix}/office/desk/state", "ON")
    assert wait_for(lambda: reg.get("light.office_desk_lamp").state == "on")
    dev = device_based(prefix)
    dev["cmps"]["desk"]["name"] = "Writing Lamp"
    probe.publish(f"{prefix}/ha/device/office01/config", json.dumps(dev), retain=True)
    assert wait_for(lambda: reg.get("light.office_desk_lamp").name == "Office Hub Writing Lamp")
    assert reg.get("light.office_desk_lamp").state == "on"


def test_reread_after_homeassistant_online(hub, probe, prefix):
    before = hub.discovery.messages_seen
    probe.publish(f"{prefix}/ha/status", "online")
    # all 8 retained config topics are delivered again after the resubscribe
    assert wait_for(lambda: hub.discovery.messages_seen >= before + 8), hub.discovery.messages_seen - before
    assert {e.entity_id for e in hub.registry.all()} == EXPECTED


def test_malformed_payloads_never_crash(hub, probe, prefix, caplog):
    reg = hub.registry
    rnd = random.Random(7)
    junk = [
        b"{",
        b"[]",
        b"null",
        b"42",
        b'"str"',
        b"\xff\xfe\x00binary",
        b"{}" * 10,
        json.dumps({"cmd_t": 5}).encode(),
        json.dumps({"name": ["x"], "cmd_t": "a/b"}).encode(),
        json.dumps({"cmd_t": ["a"]}).encode(),
        json.dumps({"cmps": "nope", "dev": {}}).encode(),
        json.dumps({"cmps": {"a": {"p": "toaster"}}}).encode(),
        json.dumps({"cmps": {"a": 1, "b": {"p": "light"}}}).encode(),
        b"x" * 100_000,
        json.dumps({"~": 3, "cmd_t": "~/x", "name": "T"}).encode(),
        json.dumps({"name": "no topics"}).encode(),
    ]
    topics = [
        f"{prefix}/ha/light/bad/config",
        f"{prefix}/ha/toaster/x/config",
        f"{prefix}/ha/device/bad/config",
        f"{prefix}/ha/switch/n/bad/config",
        f"{prefix}/ha/sensor/bad/config",
    ]
    state_junk = [
        b"{",
        b"\xff\xfe",
        b'{"state": 5}',
        b'{"state": "MAYBE"}',
        b'{"brightness": "lots"}',
        b"[1,2]",
        b'{"color": {"r": "x", "g": 1, "b": 2}}',
        b"y" * 70_000,
        b'{"color_temp": 0}',
    ]
    with caplog.at_level(logging.WARNING, logger="devices.discovery"):
        probe.publish(f"{prefix}/ha/light/weird/config", json.dumps({"schema": "weird", "cmd_t": "a"}))
        for i in range(1000):
            if i % 2:
                probe.publish(rnd.choice(topics), rnd.choice(junk), qos=0)
            else:
                probe.publish(f"{prefix}/z2m/Kitchen Ceiling", rnd.choice(state_junk), qos=0)
        probe.publish(f"{prefix}/z2m/Kitchen Ceiling", json.dumps({"state": "OFF", "brightness": 10}))
        assert wait_for(lambda: reg.get("light.kitchen_ceiling").state == "off", 10)
    assert hub.mqtt.connected
    assert {e.entity_id for e in reg.all()} == EXPECTED  # nothing added, nothing lost
    assert reg.get("light.kitchen_ceiling").attributes["brightness"] == 10
    lines = [r.getMessage() for r in caplog.records]
    assert any("unknown light schema 'weird'" in m for m in lines)
    # rate-limited (issue 8): the first 20 a minute from configs and 20 from state, then a line counting the rest
    assert 20 <= len(lines) <= 42 and all("\n" not in m and len(m) < 600 for m in lines)
    # other devices still work, and new valid configs are still accepted
    probe.publish(f"{prefix}/office/desk/state", "ON")
    assert wait_for(lambda: reg.get("light.office_desk_lamp").state == "on")
    probe.publish(
        f"{prefix}/ha/switch/late/config",
        json.dumps({"name": "Late Plug", "cmd_t": f"{prefix}/plug"}),
        retain=True,
    )
    assert wait_for(lambda: "switch.late_plug" in reg)


def test_expand_and_templates_unit():
    cfg = expand_base_topic(
        expand(
            {
                "~": "base/x",
                "cmd_t": "~/set",
                "stat_t": "state/~",
                "avty": [{"t": "~/av"}],
                "dev": {"sa": "Den", "ids": "1"},
            }
        )
    )
    assert cfg["command_topic"] == "base/x/set" and cfg["state_topic"] == "state/base/x"
    assert cfg["availability"][0]["topic"] == "base/x/av" and cfg["device"]["suggested_area"] == "Den"
    assert render_template("{{ value_json.a.b }}", '{"a": {"b": 3}}') == 3
    assert render_template("{{value_json['x y']|int}}", '{"x y": "4.7"}') == 4
    assert render_template("{{ value }}", "raw") == "raw"
    assert render_template("{{ value_json.missing | default('z') }}", "{}") == "z"
    with pytest.raises(PayloadError, match="unsupported template"):
        render_template("{% if value == '1' %}ON{% endif %}", "1")
