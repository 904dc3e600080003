"""Home Assistant REST backend (homeassistant-api Client) against a local HTTP server speaking the HA REST API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devices.entities import EntityRegistry
from devices.homeassistant import ENTITY_TEMPLATE, HomeAssistantBackend, HomeAssistantError
from devices.hub import DeviceHub
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings
from tests.fixtures_mqtt import mosquitto, prefix, probe, wait_for  # noqa: F401

TOKEN = "test-token-123"


def _state(eid, state, **attrs):
    return {
        "entity_id": eid,
        "state": state,
        "attributes": attrs,
        "last_changed": "2024-01-01T00:00:00+00:00",
        "last_updated": "2024-01-01T00:00:00+00:00",
        "context": {"id": "c1", "parent_id": None, "user_id": None},
    }


class FakeHA:
    """Minimal HA REST API: /api/, /api/states, /api/states/<id>, /api/services/<d>/<s>, /api/template."""

    def __init__(self, template_ok: bool = True):
        self.template_ok = template_ok
        self.calls: list[tuple[str, str, dict]] = []
        self.states = {
            s["entity_id"]: s
            for s in [
                _state(
                    "light.living_room",
                    "on",
                    friendly_name="Living Room Light",
                    brightness=128,
                    supported_color_modes=["color_temp", "xy"],
                ),
                _state(
                    "cover.garage_door",
                    "closed",
                    friendly_name="Garage Door",
                    device_class="garage",
                    current_position=0,
                ),
                _state(
                    "climate.hallway",
                    "heat",
                    friendly_name="Thermostat",
                    temperature=19,
                    current_temperature=18.5,
                    min_temp=7,
                    max_temp=30,
                ),
                _state("lock.front_door", "locked", friendly_name="Front Door"),
                _state("sun.sun", "above_horizon", friendly_name="Sun"),
            ]
        }
        self.areas = {
            "light.living_room": "Living Room",
            "cover.garage_door": "Garage",
            "climate.hallway": "Hallway",
        }
        self.mqtt_devices: dict[str, list[str]] = {}  # entity from HA's MQTT integration -> MQTT device ids
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, code, body, ctype="application/json"):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _auth(self):
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, "401: Unauthorized", "text/plain")
                    return False
                return True

            def do_GET(self):
                if not self._auth():
                    return
                if self.path == "/api/":
                    return self._send(200, {"message": "API running."})
                if self.path == "/api/states":
                    return self._send(200, list(fake.states.values()))
                if self.path.startswith("/api/states/"):
                    eid = self.path.rsplit("/", 1)[1]
                    if eid in fake.states:
                        return self._send(200, fake.states[eid])
                    return self._send(404, {"message": "Entity not found."})
                self._send(404, {"message": "not found"})

            def do_POST(self):
                if not self._auth():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/api/template":
                    if not fake.template_ok:
                        return self._send(404, {"message": "not found"})
                    assert body["template"] == ENTITY_TEMPLATE
                    rows = [
                        [e, fake.areas.get(e, ""), e in fake.mqtt_devices, fake.mqtt_devices.get(e, [])]
                        for e in fake.states
                    ]
                    return self._send(200, json.dumps(rows), "text/plain")
                if self.path.startswith("/api/services/"):
                    path, _, query = self.path.partition("?")
                    _, _, _, domain, service = path.split("/")
                    fake.calls.append((domain, service, body))
                    answer = fake.service(domain, service, body, query)
                    if answer is not None:  # a subclass's service (e.g. todo), as (status, body)
                        return self._send(*answer)
                    eid = body.get("entity_id")
                    st = fake.states.get(eid)
                    if st is None:
                        return self._send(400, {"message": f"unknown entity {eid}"})
                    if service == "turn_off":
                        st["state"] = "off"
                    elif service == "turn_on":
                        st["state"] = "on"
                        if "brightness_pct" in body:
                            st["attributes"]["brightness"] = round(body["brightness_pct"] * 255 / 100)
                    elif service == "set_temperature":
                        st["attributes"]["temperature"] = body["temperature"]
                    elif service == "close_cover":
                        st["state"] = "closing"
                    return self._send(200, [st])
                self._send(404, {"message": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def service(self, domain: str, service: str, body: dict, query: str) -> tuple[int, object] | None:
        """Override to answer services the generic handling below does not know."""
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_ha():
    f = FakeHA()
    yield f
    f.close()


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
    l = reg.get("light.living_room")
    assert (l.name, l.area, l.source, l.state) == ("Living Room Light", "Living Room", "homeassistant", "on")
    assert {"brightness", "color", "color_temp"} <= l.capabilities and l.attributes["brightness"] == 128
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
    assert c.open_cover("cover.garage_door")[0]["type"] == "confirmation_required"
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
    fake_ha.states["switch.voice_assistant_mute"] = _state(
        "switch.voice_assistant_mute", "off", friendly_name="Voice Assistant Mute"
    )
    fake_ha.mqtt_devices["switch.voice_assistant_mute"] = ["voice_assistant"]
    h = _hub(fake_ha.url)
    assert h.start(timeout=1) == []
    assert "switch.voice_assistant_mute" not in h.registry and "light.living_room" in h.registry


def test_one_device_once_when_mqtt_and_home_assistant_both_know_it(fake_ha, mosquitto, probe, prefix):  # noqa: F811
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
    fake_ha.states[ha_id] = _state(ha_id, "on", friendly_name="Garden light", supported_color_modes=["onoff"])
    fake_ha.areas[ha_id] = "Garden"
    fake_ha.mqtt_devices[ha_id] = ["garden01"]
    fake_ha.states["light.porch"] = _state(
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
        actions = h.controller.turn_off_area("Garden")
        assert sorted(a["entity_id"] for a in actions) == [ha_id, "light.porch"]
        assert {a["type"] for a in actions} == {"ha_service"}
        assert [c[:2] for c in fake_ha.calls] == [("light", "turn_off")] * 2
        time.sleep(0.3)
        assert not [t for t, _ in probe.received() if t.endswith("/set")]  # no second command over MQTT
    finally:
        h.stop()
        for topic in ("garden01", "porch01"):
            probe.publish(f"{prefix}/ha/light/{topic}/light/config", "", retain=True)
