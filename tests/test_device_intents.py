"""Spoken device commands end to end against a real mosquitto: discovered Zigbee2MQTT / Tasmota / ESPHome
devices, `assistant ask` in-process and as a real CLI process, area-aware commands, the confirmation
flow (also across processes), dry runs, state questions, `assistant devices` and the HA self-publishing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

from assistant.config import load_config
from assistant.core import Assistant
from tests.fixtures_devices import commands
from tests.fixtures_mqtt import wait_for


def test_turn_off_named_light_sends_json_command(device_assistant, probe, prefix):
    r = device_assistant.ask("turn off the kitchen ceiling")
    assert r.intent == "HassTurnOff" and r.response == "Turned off the Kitchen Ceiling."
    got = probe.wait_message(f"{prefix}/z2m/Kitchen Ceiling/set")
    assert json.loads(got[-1]) == {"state": "OFF"}


def test_area_aware_lights_and_fuzzy_names(device_assistant, probe, prefix):
    r = device_assistant.ask("turn on the lights")  # the box stands in the kitchen
    assert r.intent == "HassTurnOn" and "Kitchen Ceiling" in r.response, r
    assert json.loads(probe.wait_message(f"{prefix}/z2m/Kitchen Ceiling/set")[-1]) == {"state": "ON"}
    assert probe.received(f"{prefix}/tasmota_1A2B3C/cmnd/POWER") == []  # living room lamp left alone
    r = device_assistant.ask("turn on the lights", area="Living Room")
    assert probe.wait_message(f"{prefix}/tasmota_1A2B3C/cmnd/POWER") == ["ON"], r
    r = device_assistant.ask("switch off the living room lamb")  # ASR slip
    assert r.intent == "HassTurnOff" and r.response.endswith("Living Room Lamp."), (
        r
    )  # "Tasmota Lamp Living Room Lamp"
    assert probe.wait_message(f"{prefix}/tasmota_1A2B3C/cmnd/POWER", 2)[-1] == "OFF"


def test_brightness_absolute_relative_and_colour(device_assistant, probe, prefix):
    topic = f"{prefix}/z2m/Kitchen Ceiling/set"
    r = device_assistant.ask("dim the kitchen to 20 percent")
    assert r.intent == "HassLightSet" and r.slots["brightness"] == 20
    assert json.loads(probe.wait_message(topic)[-1]) == {"state": "ON", "brightness": 51}  # 20 % of 254
    probe.publish(f"{prefix}/z2m/Kitchen Ceiling", json.dumps({"state": "ON", "brightness": 127}))
    assert wait_for(
        lambda: (
            device_assistant.services.devices.registry.get("light.kitchen_ceiling").attributes.get(
                "brightness"
            )
            == 128
        )
    )  # 127 of 254
    r = device_assistant.ask("make the lights a bit brighter")  # +10 % of the tracked 50 %
    assert r.slots["brightness_step"] == 10, r
    assert json.loads(probe.wait_message(topic, 2)[-1])["brightness"] == round(60.2 * 254 / 100)
    r = device_assistant.ask("change the kitchen ceiling to blue")
    assert r.slots["color"] == "blue", r
    assert json.loads(probe.wait_message(topic, 3)[-1])["color"] == {"r": 0, "g": 0, "b": 255}


def test_everything_in_an_area_and_thermostat(device_assistant, probe, prefix):
    r = device_assistant.ask("turn off everything in the office")
    assert r.intent == "HassTurnOff" and r.response == "Turned off 2 devices in the Office.", r
    assert probe.wait_message(f"{prefix}/office/desk/set") == ["OFF"]
    assert probe.wait_message(f"{prefix}/office/fan/set") == ["0"]
    r = device_assistant.ask("set the thermostat to 21")
    assert r.intent == "HassClimateSetTemperature" and r.response == "Set the Thermostat to 21 degrees."
    assert probe.wait_message(f"{prefix}/office/clim/set_temp") == ["21"]


def test_missing_device_and_area_are_named(device_assistant, probe, prefix):
    assert (
        device_assistant.ask("turn off the porch light").response == "There is no device called porch light."
    )
    assert (
        device_assistant.ask("turn on the lights in the attic").response == "There is no area called attic."
    )
    assert commands(probe, prefix) == []


def test_garage_door_needs_confirmation(device_assistant, probe, prefix):
    topic = f"{prefix}/garage-node/cover/garage_door/command"
    r = device_assistant.ask("open the garage door")
    assert r.response == "Are you sure you want to open the Garage Door?", r
    time.sleep(0.2)
    assert probe.received(topic) == []
    r = device_assistant.ask("no")
    assert r.intent == "Confirm" and r.response.startswith("Okay, I won't open")
    assert device_assistant.ask("yes").intent is None  # nothing pending any more
    device_assistant.ask("open the garage door")
    r = device_assistant.ask("yes, do it")
    assert r.intent == "Confirm" and r.response == "Opened the Garage Door."
    assert probe.wait_message(topic) == ["OPEN"]
    device_assistant.ask("close the garage door")  # closing is safe: no question
    assert probe.wait_message(topic, 2) == ["OPEN", "CLOSE"]


def test_confirmation_expires_and_other_requests_drop_it(device_assistant, probe, prefix, monkeypatch):
    import intents.devices.commands as dv

    device_assistant.ask("open the garage door")
    assert device_assistant.ask("what time is it").intent == "HassGetCurrentTime"
    assert device_assistant.ask("yes").intent is None
    monkeypatch.setattr(dv, "CONFIRM_TTL_S", -1)
    device_assistant.ask("open the garage door")
    assert device_assistant.ask("yes").intent is None
    time.sleep(0.2)
    assert probe.received(f"{prefix}/garage-node/cover/garage_door/command") == []


def test_dry_run_sends_nothing_and_lists_messages(device_assistant, probe, prefix):
    r = device_assistant.ask("turn off the lights in the office", dry_run=True)
    assert r.response == "Would turn off the Desk Lamp."
    assert r.actions == [
        {
            "type": "mqtt",
            "topic": f"{prefix}/office/desk/set",
            "payload": "OFF",
            "qos": 1,
            "retain": False,
            "entity_id": "light.office_desk_lamp",
            "sent": False,
            "reason": "dry run",
        }
    ]
    time.sleep(0.3)
    assert commands(probe, prefix) == []


def test_state_questions_use_tracked_state(device_assistant, probe, prefix):
    probe.publish(f"{prefix}/garage-node/cover/garage_door/state", "open")
    assert wait_for(
        lambda: device_assistant.services.devices.registry.get("cover.garage_door").state == "open"
    )
    r = device_assistant.ask("is the garage door open")
    assert r.intent == "HassGetState" and r.response == "Yes, the Garage Door is open."
    assert device_assistant.ask("is the garage door closed").response == "No, the Garage Door is open."
    probe.publish(f"{prefix}/office/env", json.dumps({"temperature": 21.44}))
    hub = device_assistant.services.devices
    assert wait_for(lambda: any(e.state == "21.4" for e in hub.registry.all() if e.component == "sensor"))
    r = device_assistant.ask("what's the temperature in the office")
    assert r.intent == "HassClimateGetTemperature" and r.response == "It's 21.4 degrees in the Office.", r


def test_names_and_areas_reach_the_recogniser(device_assistant):
    lists = device_assistant.recognizers[0].slot_lists
    said = {v.text_in.text for v in lists["name"].values}
    assert {"kitchen ceiling", "garage door", "desk lamp"} <= said
    assert {"Kitchen Ceiling", "garage-node Garage Door"} <= {v.value_out for v in lists["name"].values}
    assert {v.context["domain"] for v in lists["name"].values} >= {"light", "cover", "climate", "switch"}
    assert {"kitchen", "office", "garage"} <= {v.value_out.lower() for v in lists["area"].values}


def test_registry_changes_update_the_lists(device_assistant, probe, prefix):
    cfg = {"name": "Porch Light", "cmd_t": f"{prefix}/porch/set", "dev": {"ids": "p1", "sa": "Outside"}}
    probe.publish(f"{prefix}/ha/light/porch/config", json.dumps(cfg), retain=True)
    assert wait_for(
        lambda: (
            "porch light"
            in {v.text_in.text for v in device_assistant.recognizers[0].slot_lists["name"].values}
        )
    )
    device_assistant.ask("turn on the porch light")
    assert probe.wait_message(f"{prefix}/porch/set") == ["ON"]


def _cli(config, *args, timeout=60):
    env = dict(os.environ, ASSISTANT_CONFIG=str(config))
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_cli_ask_publishes_and_confirms_across_processes(device_home, probe, prefix):
    out = _cli(device_home, "ask", "turn off the kitchen ceiling", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["actions"][0]["sent"] is True
    assert json.loads(probe.wait_message(f"{prefix}/z2m/Kitchen Ceiling/set")[-1]) == {"state": "OFF"}
    out = _cli(device_home, "ask", "open the garage door")
    assert out.stdout.strip() == "Are you sure you want to open the Garage Door?", out.stderr
    out = _cli(device_home, "ask", "yes")
    assert out.stdout.strip() == "Opened the Garage Door.", out.stderr
    assert probe.wait_message(f"{prefix}/garage-node/cover/garage_door/command") == ["OPEN"]
    out = _cli(device_home, "ask", "turn on the lights", "--area", "Living Room", "--dry-run", "--json")
    result = json.loads(out.stdout)
    assert [a["topic"] for a in result["actions"]] == [f"{prefix}/tasmota_1A2B3C/cmnd/POWER"]
    assert result["actions"][0]["sent"] is False


def test_cli_devices_lists_entities(device_home):
    out = _cli(device_home, "devices", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["entity_id"]: r for r in json.loads(out.stdout)}
    assert rows["cover.garage_door"]["area"] == "Garage" and rows["cover.garage_door"]["source"] == "mqtt"
    assert rows["cover.garage_door"]["requires_confirmation"] is True
    text = _cli(device_home, "devices").stdout
    assert "light.kitchen_ceiling" in text and "Kitchen" in text


def test_no_devices_configured_means_no_hub(tmp_path):
    a = Assistant(load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path)}))
    try:
        assert a.services.devices is None
        assert a.ask("turn off the kitchen lights").response.startswith("No smart-home devices are set up")
    finally:
        a.close()


def test_assistant_publishes_itself_to_home_assistant(device_home, probe, prefix, caplog):
    from assistant.ha_publish import attach

    said: list[str] = []
    assistant = Assistant(
        load_config(device_home, env={}), service=True
    )  # the long-running service owns the status
    pub = attach(assistant, on_announce=said.append)
    try:
        base = f"{prefix}/assistant"
        cfg = json.loads(probe.wait_message(f"{prefix}/ha/switch/voice_assistant/mute/config")[-1])
        assert cfg["command_topic"] == f"{base}/mute/set" and cfg["availability_topic"] == f"{base}/status"
        for leaf in (
            "sensor/voice_assistant/last_transcript",
            "sensor/voice_assistant/next_alarm",
            "text/voice_assistant/announce",
            "text/voice_assistant/request",
        ):
            assert probe.wait_message(f"{prefix}/ha/{leaf}/config"), leaf
        assert probe.wait_message(f"{base}/status")[-1] == "online"
        assistant.ask("set an alarm for 7 am", now=None)
        assert probe.wait_message(f"{base}/transcript")[-1] == "set an alarm for 7 am"
        assert probe.wait_message(f"{base}/response")[-1].startswith("Alarm set for 7 AM")
        assert wait_for(
            lambda: (
                probe.received(f"{base}/next_alarm")
                and "T07:00:00" in probe.received(f"{base}/next_alarm")[-1][1]
            )
        )
        assistant.ask("remind me every day at 6 pm to feed the cat", now=None)
        assert wait_for(
            lambda: (
                probe.received(f"{base}/next_reminder")
                and "T18:00:00" in probe.received(f"{base}/next_reminder")[-1][1]
            )
        )
        assert json.loads(probe.wait_message(f"{base}/next_reminder/attributes")[-1]) == {
            "message": "feed the cat"
        }
        assert (
            json.loads(probe.wait_message(f"{prefix}/ha/sensor/voice_assistant/next_reminder/config")[-1])[
                "json_attributes_topic"
            ]
            == f"{base}/next_reminder/attributes"
        )
        probe.publish(f"{base}/announce/set", "dinner is ready")
        assert wait_for(lambda: said == ["dinner is ready"])
        probe.publish(f"{base}/mute/set", "ON")
        assert wait_for(pub.mute.is_set)  # issue 12: the Event `assistant run` hands the pipeline as `muted`
        assert probe.wait_message(f"{base}/mute", 2)[-1] == "ON"
        assert (assistant.config.data_dir / "muted").read_text().strip() == "ON"
        # issue 12: our own entities are not devices of ours ("turn off everything" must not unmute)
        hub = assistant.services.devices
        assert not [e.entity_id for e in hub.registry.all() if "voice_assistant" in e.entity_id]
        assert not [
            r for r in caplog.records if "voice_assistant" in r.getMessage() and r.levelno >= logging.WARNING
        ]
    finally:
        pub.stop()
        assistant.close()
    again = Assistant(load_config(device_home, env={}), service=True)  # issue 12: mute survives a restart
    pub = attach(again)
    try:
        assert pub.muted
        assert wait_for(lambda: probe.received(f"{base}/mute")[-1][1] == "ON")
    finally:
        pub.stop()
        again.close()


def test_serve_owns_availability_and_takes_requests_over_mqtt(device_home, probe, prefix):
    """Issue 12: a one-shot `ask` beside `serve` leaves HA's availability alone; under `serve` the
    last transcript / response sensors follow requests typed over MQTT, delayed commands included."""
    base = f"{prefix}/assistant"
    env = dict(
        os.environ, ASSISTANT_CONFIG=str(device_home), ASSISTANT_WYOMING_PORT="0", ASSISTANT_HTTP_PORT="0"
    )  # any free ports
    serve = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--interval", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(serve.stdout.readline())["event"] == "ready"
        assert probe.wait_message(f"{base}/status")[-1] == "online"
        out = _cli(device_home, "ask", "what time is it")
        assert out.returncode == 0, out.stderr
        time.sleep(0.5)
        assert [p for _, p in probe.received(f"{base}/status")] == ["online"]  # not "offline" from the ask
        probe.publish(f"{base}/ask", "in 1 second, turn off the kitchen ceiling")
        event = json.loads(serve.stdout.readline())
        assert event["event"] == "request" and event["intent"] == "HassStartTimer", event
        assert probe.wait_message(f"{base}/transcript")[-1] == "in 1 second, turn off the kitchen ceiling"
        assert json.loads(probe.wait_message(f"{prefix}/z2m/Kitchen Ceiling/set", timeout=10)[-1]) == {
            "state": "OFF"
        }
        assert probe.wait_message(f"{base}/transcript", 2)[-1] == "turn off the kitchen ceiling"
        assert probe.wait_message(f"{base}/response", 2)[-1] == "Turned off the Kitchen Ceiling."
    finally:
        serve.terminate()
        assert serve.wait(timeout=10) == 0
    stderr = serve.stderr.read()
    assert "voice_assistant" not in stderr and "'text' not supported" not in stderr, (
        stderr
    )  # no warning about ourselves
    assert probe.wait_message(f"{base}/status", 2)[-1] == "offline"


def test_several_thermostats_and_no_area_ask_which(tmp_path):
    """Issue 12: three thermostats, no area said and none for the box: ask which, change nothing."""
    devices = [
        {"name": n, "component": "climate", "area": a, "temperature_command_topic": f"t/{a}/set"}
        for n, a in (("Thermostat", "Hallway"), ("Heat Pump", "Bedroom"), ("Ecobee", "Office"))
    ]
    path = tmp_path / "config.yaml"
    path.write_text(
        json.dumps({"data_dir": str(tmp_path / "data"), "timezone": "UTC", "devices": {"devices": devices}})
    )
    a = Assistant(load_config(path, env={}))
    try:
        r = a.ask("set the thermostat to 21")
        assert r.intent == "HassClimateSetTemperature" and r.actions == [], r
        assert r.response.startswith("Which thermostat: the Hallway, the Bedroom or the Office?"), r.response
        r = a.ask(
            "set the thermostat to 21", area="Office", dry_run=True
        )  # the box's area decides (no broker here)
        assert (
            r.response == "Would set the Ecobee to 21 degrees." and r.actions[0]["topic"] == "t/Office/set"
        ), r
    finally:
        a.close()


def test_cli_devices_never_cuts_names(tmp_path):
    name = "Living Room Reading Lamp By The Window"  # 38 characters
    path = tmp_path / "config.yaml"
    path.write_text(
        json.dumps(
            {
                "data_dir": str(tmp_path / "data"),
                "devices": {
                    "devices": [
                        {"name": name, "component": "light", "area": "Living Room", "command_topic": "x/set"}
                    ]
                },
            }
        )
    )
    out = _cli(path, "devices")
    assert out.returncode == 0, out.stderr
    assert name in out.stdout, out.stdout
