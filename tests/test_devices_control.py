"""DeviceController + registry: right payload on the right topic (real mosquitto), relative brightness,
confirmation, dry run, config devices, no-broker hub, fuzzy names, settings errors."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from devices.control import COLORS, ConfirmationRequired, DeviceError, color_to_rgb
from devices.entities import Entity, EntityRegistry, StateChange
from devices.hub import DeviceHub
from devices.settings import (
    DeviceConfig,
    DevicesSettings,
    ExposureSettings,
    HomeAssistantSettings,
    MqttSettings,
    format_validation_error,
)
from intents.device_errors import say_device_error
from tests.fixtures_devices import publish_all
from tests.fixtures_mqtt import wait_for


@pytest.fixture
def hub(mosquitto, probe, prefix):
    publish_all(probe, prefix)
    devices = DevicesSettings(
        discovery_wait=2.0,
        devices=[
            DeviceConfig(
                name="Hallway Light",
                component="light",
                area="Hallway",
                command_topic=f"{prefix}/hall/set",
                brightness_command_topic=f"{prefix}/hall/bri",
                rgb_command_topic=f"{prefix}/hall/rgb",
                aliases=["corridor light"],
            ),
            DeviceConfig(
                name="Shed Door",
                component="cover",
                device_class="garage",
                command_topic=f"{prefix}/shed",
                requires_confirmation=False,
            ),
        ],
        exposure=ExposureSettings(exclude=["binary_sensor.*"]),
    )
    h = DeviceHub.from_settings(
        MqttSettings(url=mosquitto.url, discovery_prefix=f"{prefix}/ha", base_topic=f"{prefix}/assistant"),
        HomeAssistantSettings(),
        devices,
    )
    assert h.start(timeout=5) == []
    probe.subscribe(f"{prefix}/#")
    yield h
    h.stop()


def last(probe, topic, n=1):
    msgs = probe.wait_message(topic, n)
    assert len(msgs) >= n, f"nothing on {topic}"
    return msgs[n - 1]


def test_zigbee2mqtt_json_light_commands(hub, probe, prefix):
    c, reg = hub.controller, hub.registry
    topic = f"{prefix}/z2m/Kitchen Ceiling/set"
    a = c.turn_off("light.kitchen_ceiling")
    assert a == [
        {
            "type": "mqtt",
            "topic": topic,
            "payload": '{"state": "OFF"}',
            "qos": 1,
            "retain": False,
            "entity_id": "light.kitchen_ceiling",
            "sent": True,
        }
    ]
    assert json.loads(last(probe, topic)) == {"state": "OFF"}
    c.set_light("light.kitchen_ceiling", brightness_pct=20)
    assert json.loads(last(probe, topic, 2)) == {"state": "ON", "brightness": 51}  # scale 254
    c.set_light("light.kitchen_ceiling", color="blue")
    assert json.loads(last(probe, topic, 3)) == {"state": "ON", "color": {"r": 0, "g": 0, "b": 255}}
    c.set_light("light.kitchen_ceiling", color_temp_kelvin=2700)
    assert json.loads(last(probe, topic, 4)) == {"state": "ON", "color_temp": 370}
    # relative brightness uses tracked state (device reports 50%)
    probe.publish(f"{prefix}/z2m/Kitchen Ceiling", json.dumps({"state": "ON", "brightness": 127}))
    assert wait_for(lambda: reg.get("light.kitchen_ceiling").attributes.get("brightness") == 128)
    c.set_light("light.kitchen_ceiling", brightness_step_pct=25)
    assert json.loads(last(probe, topic, 5)) == {"state": "ON", "brightness": round(75.2 * 254 / 100)}


def test_tasmota_default_schema_light(hub, probe, prefix):
    c = hub.controller
    eid = "light.tasmota_lamp_living_room_lamp"
    c.set_light(eid, brightness_pct=40)  # on_cmd_type brightness: only the Dimmer command, scale 100
    assert last(probe, f"{prefix}/tasmota_1A2B3C/cmnd/Dimmer") == "40"
    c.set_light(eid, color=(255, 128, 0))
    assert last(probe, f"{prefix}/tasmota_1A2B3C/cmnd/Color2") == "255,128,0"
    c.turn_off(eid)
    assert last(probe, f"{prefix}/tasmota_1A2B3C/cmnd/POWER") == "OFF"
    assert probe.received(f"{prefix}/tasmota_1A2B3C/cmnd/POWER") == [
        (f"{prefix}/tasmota_1A2B3C/cmnd/POWER", "OFF")
    ]


def test_other_components(hub, probe, prefix):
    c = hub.controller
    c.set_temperature("climate.office_hub_thermostat", 21)
    assert last(probe, f"{prefix}/office/clim/set_temp") == "21"
    with pytest.raises(DeviceError) as refused:
        c.set_temperature("climate.office_hub_thermostat", 35)
    assert say_device_error(refused.value).endswith("accepts 7 to 30 degrees, not 35")
    c.turn_off("climate.office_hub_thermostat")
    assert last(probe, f"{prefix}/office/clim/mode") == "off"
    c.close_cover("cover.garage_door")
    assert last(probe, f"{prefix}/garage-node/cover/garage_door/command") == "CLOSE"
    c.turn_on("switch.office_hub_fan")
    assert last(probe, f"{prefix}/office/fan/set") == "1"
    c.lock("lock.front_door")
    assert last(probe, f"{prefix}/lock/front/set") == "LOCK"
    c.start_vacuum("vacuum.robot")
    assert last(probe, f"{prefix}/vac/cmd") == "start"
    with pytest.raises(DeviceError) as refused:
        c.set_light("switch.office_hub_fan", brightness_pct=10)
    assert (refused.value.problem, refused.value.data["op"]) == ("wrong_component", "set_light")
    assert "cannot be dimmed or coloured" in say_device_error(refused.value)
    with pytest.raises(DeviceError) as refused:
        c.set_light("light.kitchen_ceiling", color="blurple")
    assert refused.value.data["colour"] == "blurple"
    assert say_device_error(refused.value).startswith("unknown colour 'blurple'")


def test_confirmation_for_garage_and_lock(hub, probe, prefix):
    c = hub.controller
    with pytest.raises(ConfirmationRequired) as asked:
        c.open_cover("cover.garage_door")
    assert (asked.value.entity.entity_id, asked.value.command) == ("cover.garage_door", "open")
    with pytest.raises(ConfirmationRequired):
        c.command("lock.front_door", "turn_off")  # "turn off the lock": unlock (devices.control.ON_OFF)
    c.unlock("lock.front_door", confirmed=True)
    assert last(probe, f"{prefix}/lock/front/set") == "UNLOCK"
    assert probe.received(f"{prefix}/garage-node/cover/garage_door/command") == []
    # explicit requires_confirmation=False in YAML wins over the garage default
    assert c.open_cover("cover.shed_door")[0]["sent"] is True
    assert last(probe, f"{prefix}/shed") == "OPEN"


def test_dry_run_sends_nothing(hub, probe, prefix):
    a = hub.controller.turn_off("light.kitchen_ceiling", dry_run=True)
    assert a[0]["sent"] is False and a[0]["topic"] == f"{prefix}/z2m/Kitchen Ceiling/set"
    hub.controller.turn_on("switch.office_hub_fan")  # marker sent after the dry run
    last(probe, f"{prefix}/office/fan/set")
    assert probe.received(f"{prefix}/z2m/Kitchen Ceiling/set") == []


def test_config_device_optimistic_relative_brightness_and_area(hub, probe, prefix):
    c, reg = hub.controller, hub.registry
    assert reg.find("corridor light").entity_id == "light.hallway_light"
    c.set_light("light.hallway_light", brightness_pct=50)
    assert last(probe, f"{prefix}/hall/bri") == "128"
    assert last(probe, f"{prefix}/hall/set") == "ON"
    assert reg.get("light.hallway_light").state == "on"  # optimistic: no state topic
    c.set_light("light.hallway_light", brightness_step_pct=-30)
    assert last(probe, f"{prefix}/hall/bri", 2) == str(round(round(50.2 - 30, 1) * 255 / 100))
    c.set_light("light.hallway_light", color="red")
    assert last(probe, f"{prefix}/hall/rgb") == "255,0,0"
    # what "turn off everything in the office" does (intents/devices/targets.py picks the entities)
    office = [e for e in reg.in_area("office") if e.component in ("light", "switch", "fan")]
    actions = [a for e in office for a in c.turn_off(e)]
    assert sorted(a["entity_id"] for a in actions) == ["light.office_desk_lamp", "switch.office_hub_fan"]
    assert last(probe, f"{prefix}/office/desk/set") == "OFF"
    assert last(probe, f"{prefix}/office/fan/set") == "0"
    # exposure: binary sensors are excluded
    assert reg.get("binary_sensor.bedroom_window").exposed is False
    assert reg.find("bedroom window") is None


def test_hub_without_broker_or_ha():
    h = DeviceHub.from_settings(
        MqttSettings(),
        HomeAssistantSettings(),
        DevicesSettings(
            devices=[
                DeviceConfig(name="Porch Light", component="light", command_topic="porch/set", area="Porch")
            ]
        ),
    )
    assert h.start(timeout=0.1) == []
    a = h.controller.turn_off("light.porch_light")
    assert a[0]["sent"] is False and "no MQTT broker configured" in a[0]["reason"]
    h.stop()


def test_hub_with_unreachable_broker_reports_and_queues(tmp_path):
    """The service (a hub with an outbox) queues; a one-shot hub says it did not send (test_hostile.py)."""
    h = DeviceHub.from_settings(
        MqttSettings(url="mqtt://127.0.0.1:9"),
        HomeAssistantSettings(),
        DevicesSettings(devices=[DeviceConfig(name="Porch", component="switch", command_topic="porch/set")]),
        outbox=tmp_path / "outbox.db",
    )
    try:
        errors = h.start(timeout=0.3)
        assert len(errors) == 1 and "mqtt://127.0.0.1:9" in errors[0]
        a = h.controller.turn_on("switch.porch")
        assert a[0]["queued"] is True and "offline" in a[0]["reason"]
    finally:
        h.stop()


# ---- registry / fuzzy names ----------------------------------------------------------------------
def _reg() -> EntityRegistry:
    r = EntityRegistry()
    for eid, name, area, aliases in [
        ("light.living_room_lamp", "Living Room Lamp", "Living Room", []),
        ("light.living_room_ceiling", "Ceiling Light", "Living Room", ["big light"]),
        ("light.kitchen", "Kitchen Lights", "Kitchen", []),
        ("cover.garage", "Garage Door", "Garage", []),
        ("fan.bedroom", "Bedroom Fan", "Bedroom", []),
    ]:
        r.add(Entity(eid, name, eid.split(".")[0], "config", aliases=aliases, area=area))
    return r


def test_fuzzy_find_tolerates_asr_errors():
    r = _reg()
    assert r.find("living room lamb").entity_id == "light.living_room_lamp"
    assert r.find("the kitchen light").entity_id == "light.kitchen"
    assert r.find("garage doors").entity_id == "cover.garage"
    assert r.find("bed room fan").entity_id == "fan.bedroom"
    assert r.find("garage store") is None  # too far (score 78 < 80)
    assert r.find("big lights").entity_id == "light.living_room_ceiling"
    assert r.find("ceiling light", area="living room").entity_id == "light.living_room_ceiling"
    assert r.find("living room ceiling light").entity_id == "light.living_room_ceiling"
    assert r.find("toaster") is None
    assert r.find("bedroom fan", area="kitchen") is None
    assert r.find("") is None
    assert [e.entity_id for e in r.in_area("living rooms", "light")] == [
        "light.living_room_ceiling",
        "light.living_room_lamp",
    ]
    assert r.areas() == ["Bedroom", "Garage", "Kitchen", "Living Room"]


def test_registry_listeners_and_copies():
    r = _reg()
    events = []
    r.add_listener(lambda ev, e: events.append((ev, e.entity_id, e.state)))
    r.update("fan.bedroom", state="on")
    r.update("fan.bedroom", state="on")  # no change -> no event
    got = r.get("fan.bedroom")
    got.state = "hacked"
    got.attributes["percentage"] = 1
    assert r.get("fan.bedroom").state == "on" and r.get("fan.bedroom").attributes == {}
    with pytest.raises(TypeError):  # shared by every copy, so nobody may change it
        got.backend["command_topic"] = "home/front_door/set"  # type: ignore[index]
    r.update_states(  # a command to many: only what changed is announced; unknown ids are skipped
        [
            StateChange("fan.bedroom", "on"),
            StateChange("light.kitchen", "on", {"brightness": 255}),
            StateChange("light.gone", "on"),
        ]
    )
    assert r.get("light.kitchen").attributes == {"brightness": 255}
    r.remove("fan.bedroom")
    assert events == [
        ("updated", "fan.bedroom", "on"),
        ("updated", "light.kitchen", "on"),
        ("removed", "fan.bedroom", "on"),
    ]


def test_colour_table():
    assert color_to_rgb("Dark Orange") == (255, 140, 0) and color_to_rgb("#0A0B0C") == (10, 11, 12)
    assert len(COLORS) > 140
    with pytest.raises(ValueError):
        color_to_rgb((300, 0, 0))


# ---- settings ------------------------------------------------------------------------------------
def test_settings_errors_name_field_and_allowed_values():
    with pytest.raises(ValidationError) as ei:
        DevicesSettings.model_validate(
            {"devices": [{"name": "Lamp", "component": "lamp", "command_topic": "x"}]}
        )
    msg = format_validation_error(ei.value, "devices")
    assert "devices.devices.0.component" in msg and "'light'" in msg and "'lamp'" in msg
    with pytest.raises(ValidationError) as ei:
        DevicesSettings.model_validate({"devices": [{"name": "Lamp", "component": "light"}]})
    assert "needs a command_topic" in format_validation_error(ei.value)
    with pytest.raises(ValidationError) as ei:
        MqttSettings.model_validate({"url": "mqtt://h", "keepalive": 1, "colour": 1})
    msg = format_validation_error(ei.value, "mqtt")
    assert "mqtt.keepalive" in msg and "mqtt.colour: Extra inputs are not permitted" in msg
    with pytest.raises(ValidationError, match="long-lived access token"):
        HomeAssistantSettings(url="http://ha:8123")
    d = DevicesSettings()
    assert (
        d.exposure.expose_all
        and d.needs_confirmation("cover", "garage")
        and not d.needs_confirmation("light", None)
    )
    assert MqttSettings().url is None and MqttSettings().discovery_prefix == "homeassistant"
