"""Provision a fresh Home Assistant core for tests/test_real_home_assistant.py, as a person would in the UI.

Runs with the Home Assistant venv's Python (it has aiohttp): onboarding over REST (owner user, token,
analytics, integration step; not core_config, see below), a long-lived access token over the websocket, the MQTT
config entry through the config-flow API (our test mosquitto), and areas through the registry
websocket calls. Prints one JSON object: {"token": ..., "areas": {...}, "mqtt_entry": ...}.

    python provision.py http://127.0.0.1:PORT BROKER_PORT '{"light.ceiling_lights": "Kitchen", ...}'
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys

import aiohttp

CLIENT_ID = "http://127.0.0.1/"


async def provision(url: str, broker_port: int, areas: dict[str, str]) -> dict:
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict, token: str | None = None, form: bool = False) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            kw = {"data": body} if form else {"json": body}
            async with http.post(url + path, headers=headers, **kw) as r:
                text = await r.text()
                if r.status >= 400:
                    raise RuntimeError(f"POST {path}: HTTP {r.status}: {text[:300]}")
                return json.loads(text) if text else {}

        user = await post(
            "/api/onboarding/users",
            {
                "client_id": CLIENT_ID,
                "name": "Test Owner",
                "username": "owner",
                "password": "test-pass-12345",
                "language": "en",
            },
        )
        tokens = await post(
            "/auth/token",
            {"grant_type": "authorization_code", "code": user["auth_code"], "client_id": CLIENT_ID},
            form=True,
        )
        access = tokens["access_token"]
        # The core_config step is left out on purpose: finishing it sets up met, radio_browser and
        # google_translate, which would reach the internet (test traffic stays on 127.0.0.1).
        await post("/api/onboarding/analytics", {}, access)
        await post(
            "/api/onboarding/integration",
            {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID + "?auth_callback=1"},
            access,
        )

        # MQTT config entry through the config-flow API: user step, then the broker form.
        flow = await post(
            "/api/config/config_entries/flow", {"handler": "mqtt", "show_advanced_options": False}, access
        )
        for _ in range(3):
            if flow.get("type") == "create_entry":
                break
            if flow.get("type") != "form":
                raise RuntimeError(f"MQTT config flow: {flow}")
            fields = {f["name"] for f in flow.get("data_schema", [])}
            answer = {k: v for k, v in {"broker": "127.0.0.1", "port": broker_port}.items() if k in fields}
            flow = await post(f"/api/config/config_entries/flow/{flow['flow_id']}", answer, access)
        if flow.get("type") != "create_entry":
            raise RuntimeError(f"MQTT config flow did not finish: {flow}")

        ids = itertools.count(1)
        async with http.ws_connect(url + "/api/websocket") as ws:
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json({"type": "auth", "access_token": access})
            assert (await ws.receive_json())["type"] == "auth_ok"

            async def call(msg: dict) -> object:
                msg = {"id": next(ids), **msg}
                await ws.send_json(msg)
                while True:
                    reply = await ws.receive_json()
                    if reply.get("id") == msg["id"] and reply.get("type") == "result":
                        if not reply["success"]:
                            raise RuntimeError(f"{msg['type']}: {reply['error']}")
                        return reply["result"]

            long_lived = await call(
                {"type": "auth/long_lived_access_token", "client_name": "assistant tests", "lifespan": 30}
            )
            for _ in range(240):  # the demo platforms register their entities after HA answers HTTP
                known = {e["entity_id"] for e in await call({"type": "config/entity_registry/list"})}
                if set(areas) <= known:
                    break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError(f"entities never registered: {sorted(set(areas) - known)}")
            existing = {a["name"]: a["area_id"] for a in await call({"type": "config/area_registry/list"})}
            for name in sorted(set(areas.values()) - set(existing)):
                existing[name] = (await call({"type": "config/area_registry/create", "name": name}))[
                    "area_id"
                ]
            for entity_id, name in areas.items():
                await call(
                    {
                        "type": "config/entity_registry/update",
                        "entity_id": entity_id,
                        "area_id": existing[name],
                    }
                )
    entry = flow.get("result")
    return {
        "token": long_lived,
        "areas": existing,
        "mqtt_entry": entry.get("entry_id") if isinstance(entry, dict) else entry,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(provision(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])))))
