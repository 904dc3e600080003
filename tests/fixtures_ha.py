"""A local HTTP server speaking Home Assistant's REST API (registered in tests/conftest.py):
``FakeHA`` (states, areas from /api/template, service calls recorded in ``.calls``; subclass and
override ``service`` for more), the ``fake_ha`` fixture, and the ``TOKEN`` it accepts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devices.homeassistant import ENTITY_TEMPLATE

TOKEN = "test-token-123"


def ha_state(eid, state, **attrs):
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
                ha_state(
                    "light.living_room",
                    "on",
                    friendly_name="Living Room Light",
                    brightness=128,
                    supported_color_modes=["color_temp", "xy"],
                ),
                ha_state(
                    "cover.garage_door",
                    "closed",
                    friendly_name="Garage Door",
                    device_class="garage",
                    current_position=0,
                ),
                ha_state(
                    "climate.hallway",
                    "heat",
                    friendly_name="Thermostat",
                    temperature=19,
                    current_temperature=18.5,
                    min_temp=7,
                    max_temp=30,
                ),
                ha_state("lock.front_door", "locked", friendly_name="Front Door"),
                ha_state("sun.sun", "above_horizon", friendly_name="Sun"),
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
