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
from tests.fixtures_devices import device_based, publish_all
from tests.fixtures_mqtt import wait_for


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
