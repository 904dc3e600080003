"""Home Assistant REST backend (homeassistant-api Client) against a local HTTP server speaking the HA REST API."""

from __future__ import annotations

import json
import time

import pytest

from devices.control import ConfirmationRequired
from devices.entities import EntityRegistry
from devices.homeassistant import HomeAssistantBackend, HomeAssistantError
from devices.hub import DeviceHub
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings
from tests.fixtures_ha import TOKEN, FakeHA, ha_state
from tests.fixtures_mqtt import wait_for


def _hub(url, token=TOKEN, **ha):
    return DeviceHub.from_settings(
        MqttSettings(), HomeAssistantSettings(url=url, token=token, **ha), DevicesSettings()
    )


def test_load_states_and_areas(fake_ha):
    h = _hub(fake_ha.url)
    assert h.start(timeout=1) == []
    reg = h.registry
    assert {e.entity_id for e in reg.all()} == {
        "light.living_room",
        "cover.garage_door",
        "climate.hallway",
        "lock.front_door",
    }  # sun.* is not a device
    light = reg.get("light.living_room")
    assert (light.name, light.area, light.source, light.state) == (
        "Living Room Light",
        "Living Room",
        "homeassistant",
        "on",
    )
    assert {"brightness", "color", "color_temp"} <= light.capabilities and light.attributes[
        "brightness"
    ] == 128
    assert reg.get("cover.garage_door").requires_confirmation and h.ha.areas_from_ha
    assert reg.find("living room lite").entity_id == "light.living_room"


def test_service_calls_from_controller(fake_ha):
    h = _hub(fake_ha.url)
    h.start(timeout=1)
    c = h.controller
    a = c.set_light("light.living_room", brightness_pct=20)
    assert a == [
        {
            "type": "ha_service",
            "domain": "light",
            "service": "turn_on",
            "data": {"entity_id": "light.living_room", "brightness_pct": 20},
            "entity_id": "light.living_room",
            "sent": True,
        }
    ]
    assert h.registry.get("light.living_room").attributes["brightness"] == 51  # from the returned state
    c.set_light("light.living_room", brightness_step_pct=10, color="blue")
    assert fake_ha.calls[-1] == (
        "light",
        "turn_on",
        {"entity_id": "light.living_room", "brightness_step_pct": 10.0, "color_name": "blue"},
    )
    c.turn_off("light.living_room")
    assert fake_ha.calls[-1] == ("light", "turn_off", {"entity_id": "light.living_room"})
    assert h.registry.get("light.living_room").state == "off"
    c.set_temperature("climate.hallway", 21)
    assert fake_ha.calls[-1] == (
        "climate",
        "set_temperature",
        {"entity_id": "climate.hallway", "temperature": 21.0},
    )
    c.close_cover("cover.garage_door")
    assert fake_ha.calls[-1][:2] == ("cover", "close_cover")
    assert h.registry.get("cover.garage_door").state == "closing"
    with pytest.raises(ConfirmationRequired):
        c.open_cover("cover.garage_door")
    n = len(fake_ha.calls)
    assert c.turn_off("light.living_room", dry_run=True)[0]["sent"] is False and len(fake_ha.calls) == n
    fake_ha.states["light.living_room"]["state"] = "on"
    assert h.ha.refresh("light.living_room").state == "on"


def test_bad_token_and_unreachable_are_clear(fake_ha):
    h = _hub(fake_ha.url, token="wrong")
    errors = h.start(timeout=1)
    assert len(errors) == 1 and "rejected the token" in errors[0] and "long-lived access token" in errors[0]
    assert "home_assistant.token" in errors[0]  # issue 12: the real key, not "homeassistant.token"
    h2 = _hub("http://127.0.0.1:9", timeout=1)
    errors = h2.start(timeout=1)
    assert len(errors) == 1 and "http://127.0.0.1:9" in errors[0] and "reachable" in errors[0]
    assert "home_assistant.url" in errors[0]
    with pytest.raises(
        HomeAssistantError, match=r"not configured: set home_assistant\.url and home_assistant\.token"
    ):
        HomeAssistantBackend(HomeAssistantSettings(), EntityRegistry())


def test_areas_from_config_when_template_unavailable():
    fake = FakeHA(template_ok=False)
    try:
        h = _hub(fake.url, areas={"lock.front_door": "Hallway"})
        assert h.start(timeout=1) == []
        assert h.registry.get("lock.front_door").area == "Hallway"
        assert h.registry.get("light.living_room").area is None
        assert not h.ha.areas_from_ha
    finally:
        fake.close()


def test_settings_error_names_the_real_key():
    with pytest.raises(ValueError, match=r"home_assistant\.token"):
        HomeAssistantSettings(url="http://127.0.0.1:8123")


def _assistant(tmp_path, **cfg):
    from assistant.config import load_config
    from assistant.core import Assistant

    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"data_dir": str(tmp_path / "data"), "timezone": "UTC", **cfg}))
    return Assistant(load_config(path, env={}))


def test_bad_token_is_said_not_no_such_device(fake_ha, tmp_path):
    """Issue 12: with a refused token, "turn off the kitchen light" says so (not "There is no device")."""
    a = _assistant(tmp_path, home_assistant={"url": fake_ha.url, "token": "wrong"})
    try:
        for text in ("turn off the living room light", "set the thermostat to 21", "is the garage door open"):
            r = a.ask(text)
            assert r.response.startswith("Home Assistant refused my access token"), (text, r)
            assert "home_assistant.token" in r.response and r.actions == []
        assert fake_ha.calls == []
    finally:
        a.close()


def test_own_entities_from_home_assistant_are_not_devices(fake_ha):
    """Issue 12: our Mute switch and sensors, published to HA by MQTT discovery, come back over REST."""
    fake_ha.states["switch.voice_assistant_mute"] = ha_state(
        "switch.voice_assistant_mute", "off", friendly_name="Voice Assistant Mute"
    )
    fake_ha.mqtt_devices["switch.voice_assistant_mute"] = ["voice_assistant"]
    h = _hub(fake_ha.url)
    assert h.start(timeout=1) == []
    assert "switch.voice_assistant_mute" not in h.registry and "light.living_room" in h.registry


def test_one_device_once_when_mqtt_and_home_assistant_both_know_it(fake_ha, mosquitto, probe, prefix):
    """Issue 12: an MQTT light HA also exposes is one entity (HA's), and one command goes out."""

    def light(name, ident, topic):
        return json.dumps(
            {
                "name": name,
                "command_topic": f"{prefix}/{topic}/set",
                "state_topic": f"{prefix}/{topic}",
                "unique_id": f"{ident}_light",
                "device": {"identifiers": [ident], "name": name},
            }
        )

    probe.publish(
        f"{prefix}/ha/light/garden01/light/config", light("Garden light", "garden01", "garden"), retain=True
    )
    probe.subscribe(f"{prefix}/#")
    ha_id = "light.garden_light_garden_light"  # how HA 2024.3 named it
    fake_ha.states[ha_id] = ha_state(
        ha_id, "on", friendly_name="Garden light", supported_color_modes=["onoff"]
    )
    fake_ha.areas[ha_id] = "Garden"
    fake_ha.mqtt_devices[ha_id] = ["garden01"]
    fake_ha.states["light.porch"] = ha_state(
        "light.porch", "off", friendly_name="Porch light", supported_color_modes=["onoff"]
    )
    fake_ha.mqtt_devices["light.porch"] = ["porch01"]
    fake_ha.areas["light.porch"] = "Garden"
    h = DeviceHub.from_settings(
        MqttSettings(url=mosquitto.url, discovery_prefix=f"{prefix}/ha", base_topic=f"{prefix}/assistant"),
        HomeAssistantSettings(url=fake_ha.url, token=TOKEN),
        DevicesSettings(),
    )
    try:
        assert h.start(timeout=3) == []
        lights = sorted(e.entity_id for e in h.registry.all() if e.component == "light")
        assert lights == [ha_id, "light.living_room", "light.porch"], lights
        assert h.registry.get(ha_id).source == "homeassistant"
        # a config that arrives later (HA restarted, a new device) is recognised too
        probe.publish(
            f"{prefix}/ha/light/porch01/light/config", light("Porch light", "porch01", "porch"), retain=True
        )
        assert wait_for(lambda: h.discovery.messages_seen >= 2)
        time.sleep(0.2)
        assert sorted(e.entity_id for e in h.registry.all() if e.component == "light") == lights
        garden = [e for e in h.registry.in_area("Garden") if e.component == "light"]
        actions = [a for e in garden for a in h.controller.turn_off(e)]
        assert sorted(a["entity_id"] for a in actions) == [ha_id, "light.porch"]
        assert {a["type"] for a in actions} == {"ha_service"}
        assert [c[:2] for c in fake_ha.calls] == [("light", "turn_off")] * 2
        time.sleep(0.3)
        assert not [t for t, _ in probe.received() if t.endswith("/set")]  # no second command over MQTT
    finally:
        h.stop()
        for topic in ("garden01", "porch01"):
            probe.publish(f"{prefix}/ha/light/{topic}/light/config", "", retain=True)
