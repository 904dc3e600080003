"""Conversations with real devices on mosquitto: compound device requests (risky parts still
confirmed), "make it brighter" after "turn on the kitchen ceiling", and "Which room?"."""

from __future__ import annotations

import json
import time

import pytest

from assistant.config import load_config
from assistant.core import Assistant
from tests.fixtures_devices import commands
from tests.fixtures_mqtt import wait_for


@pytest.fixture
def nowhere(device_home):
    """A box that stands in no area (so "the lights" could be anywhere)."""
    cfg = json.loads(device_home.read_text())
    cfg.pop("area")
    device_home.write_text(json.dumps(cfg))
    a = Assistant(load_config(device_home, env={}))
    yield a
    a.close()


def test_compound_device_request_confirms_the_risky_part(device_assistant, probe, prefix):
    r = device_assistant.ask("turn off the kitchen ceiling and open the garage door")
    assert r.intent == "Compound" and r.expects_answer, r
    assert r.response == "Turned off the Kitchen Ceiling. Are you sure you want to open the Garage Door?"
    assert json.loads(probe.wait_message(f"{prefix}/z2m/Kitchen Ceiling/set")[-1]) == {"state": "OFF"}
    time.sleep(0.2)
    garage = f"{prefix}/garage-node/cover/garage_door/command"
    assert probe.received(garage) == []
    assert device_assistant.ask("yes").response == "Opened the Garage Door."
    assert probe.wait_message(garage) == ["OPEN"]


def test_lights_off_and_lock_the_door(device_assistant, probe, prefix):
    r = device_assistant.ask("turn off the lights and lock the front door")
    assert [p["intent"] for p in r.slots["parts"]] == ["HassTurnOff", "HassTurnOn"], r
    assert "Locked the Front Door." in r.response, r
    wait_for(lambda: any("lock/front/set" in t for t, _ in commands(probe, prefix)))


def test_make_it_brighter_carries_the_light_over(device_assistant, probe, prefix):
    device_assistant.ask("turn on the living room lamp")
    r = device_assistant.ask("make it brighter")
    assert (r.intent, r.recognizer) == ("HassLightSet", "template+context"), r
    assert r.response.startswith("Brightened the Living Room Lamp"), r
    r = device_assistant.ask("make it 40 percent")
    assert r.intent == "HassLightSet" and "40 percent" in r.response, r


def test_which_room_takes_a_bare_area(nowhere, probe, prefix):
    r = nowhere.ask("make the lights brighter")
    assert r.expects_answer and r.response.startswith("Which room?"), r
    assert commands(probe, prefix) == []
    r = nowhere.ask("the kitchen")
    assert r.intent == "HassLightSet" and "Kitchen Ceiling" in r.response, r
    probe.wait_message(f"{prefix}/z2m/Kitchen Ceiling/set")
