"""Hostile input and faults (issue 8): a discovered device taking over a name or unlocking a door, a
command reported done that was never sent, secrets printed, numbers that crash or hang, wrong things
stored instead of a clear "no", discovery floods, and an LLM server that trickles."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from assistant.config import load_config
from assistant.core import MAX_TEXT, Assistant
from devices.discovery import MqttDiscovery, WarningLimiter
from devices.entities import EntityRegistry
from devices.hub import DeviceHub
from devices.mqtt import MqttClient
from devices.mqtt_codec import PayloadError, parse_state, render_template
from devices.redact import SecretFilter, mask_config, mask_text, mask_url
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings
from intents.conversation import DEFAULT_ID
from intents.normalize import normalize
from intents.recognizer import Candidate
from tests.fixtures_mqtt import Mosquitto, free_port, make_probe, wait_for

NOW = dt.datetime(2026, 11, 30, 9, 0)


def _write(tmp_path: Path, cfg: dict) -> Path:
    cfg.setdefault("data_dir", str(tmp_path / "data"))
    cfg.setdefault("timezone", "UTC")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(
    config: Path, *args: str, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    e.update(ASSISTANT_CONFIG=str(config), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=e, timeout=timeout
    )


# ---- 1. name collisions and things that unlock ---------------------------------------------------


@pytest.fixture
def collision_home(mosquitto, probe, prefix, tmp_path):
    """A YAML Kitchen Light, and retained discovery configs: a "light" also called Kitchen Light whose
    'off' unlocks the front door, a "light" that unlocks with no rival, two discovered Hall Lights."""

    def light(name: str, cmd: str, **extra) -> str:
        return json.dumps({"name": name, "cmd_t": f"{prefix}/{cmd}", **extra})

    probe.publish(
        f"{prefix}/ha/light/evil/config",
        light("Kitchen Light", "home/front_door/set", pl_off="UNLOCK", def_ent_id="light.a_kitchen_light"),
        retain=True,
    )
    probe.publish(
        f"{prefix}/ha/light/porch/config", light("Porch Light", "porch/set", pl_off="UNLOCK"), retain=True
    )
    probe.publish(
        f"{prefix}/ha/light/hall1/config",
        light("Hall Light", "hall1/set", dev={"ids": "h1", "sa": "Upstairs"}),
        retain=True,
    )
    probe.publish(
        f"{prefix}/ha/light/hall2/config",
        light("Hall Light", "hall2/set", dev={"ids": "h2", "sa": "Downstairs"}),
        retain=True,
    )
    probe.subscribe(f"{prefix}/#")
    cfg = {
        "mqtt": {
            "url": mosquitto.url,
            "discovery_prefix": f"{prefix}/ha",
            "base_topic": f"{prefix}/assistant",
        },
        "devices": {
            "devices": [
                {"name": "Kitchen Light", "component": "light", "command_topic": f"{prefix}/kitchen/set"}
            ]
        },
    }
    a = Assistant(load_config(_write(tmp_path, cfg), env={}))
    assert wait_for(lambda: len(a.services.devices.registry) == 5)
    yield a
    a.close()


def test_yaml_name_wins_over_a_discovered_one(collision_home, probe, prefix):
    r = collision_home.ask("turn off the kitchen light")
    assert r.response == "Turned off the Kitchen Light.", r
    assert probe.wait_message(f"{prefix}/kitchen/set") == ["OFF"]
    time.sleep(0.2)
    assert probe.received(f"{prefix}/home/front_door/set") == []


def test_six_devices_of_one_name_ask_which_of_the_first_five():
    """More than five answers to a name: the question offers five (zip(strict=True) raised here)."""
    from devices.entities import Entity
    from intents.devices.targets import which_one_outcome

    lamps = [Entity(f"light.lamp_{i}", "Lamp", "light", "mqtt", area=f"Room {i}") for i in range(6)]
    q = which_one_outcome("turn_on", lamps).question
    assert q is not None
    assert q.say.startswith("Which one do you mean: 1, the Lamp (Room 0) or 2,"), q.say
    assert "5, the Lamp (Room 4)?" in q.say and "Room 5" not in q.say
    assert [c.data["entities"] for c in q.choices] == [[f"light.lamp_{i}"] for i in range(5)]


def test_a_command_that_unlocks_needs_confirmation_whatever_it_claims(collision_home, probe, prefix):
    r = collision_home.ask("turn off the porch light")
    assert r.response == "Are you sure you want to turn off the Porch Light?", r
    assert r.actions[-1]["type"] == "confirmation_required"
    time.sleep(0.2)
    assert probe.received(f"{prefix}/porch/set") == []
    r = collision_home.ask("yes")
    assert r.response == "Turned off the Porch Light.", r
    assert probe.wait_message(f"{prefix}/porch/set") == ["UNLOCK"]


def test_an_ambiguous_name_asks_which_one_and_does_nothing(collision_home, probe, prefix):
    r = collision_home.ask("turn on the hall light")
    assert r.response.startswith("Which one do you mean: 1, the Hall Light ("), r
    assert (
        "(Upstairs)" in r.response
        and "(Downstairs)" in r.response
        and r.response.endswith("I did nothing yet.")
    )
    assert [a["type"] for a in r.actions] == ["clarification_required"] and len(r.actions[0]["choices"]) == 2
    time.sleep(0.2)
    assert probe.received(f"{prefix}/hall1/set") == probe.received(f"{prefix}/hall2/set") == []
    r = collision_home.ask("the one upstairs")
    assert r.response == "Turned on the Hall Light.", r
    assert probe.wait_message(f"{prefix}/hall1/set") == ["ON"]
    assert probe.received(f"{prefix}/hall2/set") == []


def test_topic_heuristic_spares_lights_and_explicit_config():
    from devices.control import drives_security
    from devices.entities import Entity

    light = Entity("light.x", "X", "light", "mqtt")

    def say(topic: str, payload: str = "ON") -> bool:
        return drives_security(light, [{"type": "mqtt", "topic": topic, "payload": payload}])

    assert say("home/front_door/set") and say("garage/opener/set") and say("z2m/Front Door Lock/set")
    assert say("x/set", '{"state": "UNLOCK"}') and say("x/set", "DISARM") and say("x/set", "OPEN")
    assert say("shellies/garage/relay/0/command", "on")
    assert not say("z2m/Front Door Light/set") and not say("garage/lamp/set") and not say("home/kitchen/set")
    assert not say("clock/set") and not say("z2m/indoor/set")
    assert not say("x/set", "OFF")


# ---- 2. a one-shot command that could not be sent says so; the service's queue survives ------------


def test_one_shot_ask_with_broker_down_says_it_was_not_sent(tmp_path):
    cfg = {
        "mqtt": {"url": f"mqtt://127.0.0.1:{free_port()}", "send_timeout": 1.0},
        "devices": {"devices": [{"name": "Kitchen Light", "component": "light", "command_topic": "k/set"}]},
    }
    started = time.monotonic()
    out = _cli(_write(tmp_path, cfg), "ask", "turn off the kitchen light", "--json")
    took = time.monotonic() - started
    result = json.loads(out.stdout)
    assert "Turned off" not in result["response"]
    assert result["response"].startswith("I could not turn off the Kitchen Light: the MQTT broker at"), result
    assert result["actions"][0]["sent"] is False and not result["actions"][0].get("queued")
    assert [w.split(" (")[0] for w in result["warnings"]] == [  # why the device list may be wrong
        f"cannot reach MQTT broker at {cfg['mqtt']['url']}"
    ], result
    assert took < 60, took  # a hang detector: start-up wait (3 s) + send wait (1 s) + imports, busy machine


def _lamps(n: int, topic: str) -> list[dict]:
    return [
        {"name": f"Lamp {i}", "component": "light", "area": "Attic", "command_topic": f"{topic}/{i}"}
        for i in range(n)
    ]


def test_one_shot_command_to_many_lights_waits_for_the_broker_once(tmp_path):
    """Broker down: each light waited its own send_timeout, so "turn off the attic lights" with 10
    lights took 10 x 1 s (a home of 500 would hang for minutes). They are sent together now."""
    cfg = {"mqtt": {"url": f"mqtt://127.0.0.1:{free_port()}", "send_timeout": 1.0}}
    cfg["devices"] = {"devices": _lamps(10, "attic")}
    a = Assistant(load_config(_write(tmp_path, cfg), env={}))
    try:
        started = time.monotonic()
        r = a.ask("turn off the attic lights")
        took = time.monotonic() - started
    finally:
        a.close()
    assert r.response.startswith("I could not turn off the Lamp 0: the MQTT broker at"), r
    assert len(r.actions) == 10 and all(x["sent"] is False and x["reason"] for x in r.actions)
    assert took < 5, took  # one wait of 1 s, not ten: a hang detector with room for a busy machine


def test_one_shot_command_to_many_lights_delivers_every_one(mosquitto, probe, prefix, tmp_path):
    cfg = {"mqtt": {"url": mosquitto.url, "base_topic": f"{prefix}/a", "discovery_prefix": f"{prefix}/ha"}}
    cfg["devices"] = {"devices": _lamps(30, f"{prefix}/attic")}
    probe.subscribe(f"{prefix}/attic/#")
    a = Assistant(load_config(_write(tmp_path, cfg), env={}))
    try:
        r = a.ask("turn on the attic lights")
        states = {e.state for e in a.services.devices.registry.in_area("Attic")}
    finally:
        a.close()
    assert r.response == "Turned on 30 lights in the Attic.", r
    assert states == {"on"}  # no state topic: optimistic, all 30 in one update_states
    assert len(r.actions) == 30 and all(x["sent"] is True for x in r.actions), r.actions
    for i in range(30):
        assert probe.wait_message(f"{prefix}/attic/{i}") == ["ON"], i


def test_service_says_it_queued_and_keeps_it_on_disk(tmp_path):
    cfg = {
        "mqtt": {"url": f"mqtt://127.0.0.1:{free_port()}"},
        "devices": {"devices": [{"name": "Kitchen Light", "component": "light", "command_topic": "k/set"}]},
    }
    a = Assistant(load_config(_write(tmp_path, cfg), env={}), service=True)
    try:
        r = a.ask("turn off the kitchen light")
        assert (
            r.response
            == "The MQTT broker is offline: I will turn off the Kitchen Light as soon as it is back."
        ), r
        assert r.actions[0]["queued"] is True and r.actions[0]["sent"] is False
    finally:
        a.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "mqtt_outbox.db") as db:
        assert db.execute("SELECT topic, payload FROM outbox").fetchall() == [("k/set", b"OFF")]


def test_service_queue_survives_a_restart(tmp_path, prefix):
    broker = Mosquitto()  # not started yet: the broker is down
    outbox = tmp_path / "outbox.db"
    settings = MqttSettings(
        url=broker.url, base_topic=f"{prefix}/a", reconnect_min_delay=0.5, reconnect_max_delay=1
    )
    first = MqttClient(settings, outbox=outbox)
    first.start(timeout=0.2)
    assert first.publish(f"{prefix}/kitchen/set", "OFF") is False and first.queued == 1
    first.stop()  # the service is restarted before the broker comes back
    broker.start()
    try:
        probe = make_probe(broker.port)
        probe.subscribe(f"{prefix}/#")
        second = MqttClient(settings, outbox=outbox)
        assert second.queued == 1
        second.start(timeout=5)
        assert probe.wait_message(f"{prefix}/kitchen/set") == ["OFF"]
        assert wait_for(lambda: second.queued == 0)
        second.stop()
    finally:
        broker.cleanup()


def test_stale_queued_commands_are_dropped_and_named(tmp_path, caplog):
    settings = MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}", max_queue_age_s=0.1)
    client = MqttClient(settings, outbox=tmp_path / "outbox.db")
    client.publish("home/kitchen/set", "OFF")
    time.sleep(0.2)
    with caplog.at_level(logging.WARNING):
        assert client.outbox.take() == []
    assert any(
        "older than" in r.getMessage() and "home/kitchen/set" in r.getMessage() for r in caplog.records
    )
    client.outbox.close()


# ---- 3. secrets ----------------------------------------------------------------------------------

SECRET = "Pw0rd-xyz-SECRET"


def test_assistant_config_masks_passwords_tokens_and_keys(tmp_path):
    cfg = {
        "mqtt": {"url": f"mqtt://alice:{SECRET}1@127.0.0.1:1", "password": f"{SECRET}2"},
        "home_assistant": {"url": "http://ha:8123", "token": f"{SECRET}3"},
        "llm": {"url": "http://llm:8000/v1", "api_key": f"{SECRET}4"},
    }
    out = _cli(_write(tmp_path, cfg), "config")
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stdout + out.stderr
    printed = yaml.safe_load(out.stdout)
    assert printed["mqtt"]["url"] == "mqtt://alice:***@127.0.0.1:1" and printed["mqtt"]["password"] == "***"
    assert printed["home_assistant"]["token"] == "***" and printed["llm"]["api_key"] == "***"
    assert printed["llm"]["url"] == "http://llm:8000/v1"  # nothing secret there: left as is


def test_bad_mqtt_url_error_does_not_print_the_password(tmp_path):
    out = _cli(
        _write(tmp_path, {}),
        "ask",
        "what time is it",
        env={"ASSISTANT_MQTT_URL": f"mqtt://alice:{SECRET}@h:70000"},
    )
    assert out.returncode == 2 and "invalid port" in out.stderr, out.stderr
    assert SECRET not in out.stderr and "alice:***@h:70000" in out.stderr


def test_logs_never_carry_secrets(tmp_path):
    cfg = {
        "mqtt": {"url": f"mqtt://alice:{SECRET}@127.0.0.1:{free_port()}", "send_timeout": 0.2},
        "home_assistant": {"url": f"http://127.0.0.1:{free_port()}", "token": f"{SECRET}tok"},
    }
    out = _cli(_write(tmp_path, cfg), "ask", "what time is it", "-v")
    assert out.returncode == 0, out.stderr
    assert "DEBUG" in out.stderr and SECRET not in out.stderr


def test_mask_helpers():
    assert mask_url("mqtts://bob:p%40ss@broker:8883") == "mqtts://bob:***@broker:8883"
    assert (
        mask_text("GET http://h/api?token=abc123&x=1 Authorization: Bearer eyJhbGci.x")
        == "GET http://h/api?token=***&x=1 Authorization: Bearer ***"
    )
    assert (
        mask_text("said my-secret-value twice: my-secret-value", ["my-secret-value"]) == "said *** twice: ***"
    )
    assert mask_config(
        {"a": {"api_key": "k1", "token": None, "url": "mqtt://u:p@h"}, "l": [{"password": "x"}]}
    ) == {"a": {"api_key": "***", "token": None, "url": "mqtt://u:***@h"}, "l": [{"password": "***"}]}
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "connect %s failed", (f"mqtt://u:{SECRET}@h",), None
    )
    SecretFilter([SECRET]).filter(record)
    assert record.getMessage() == "connect mqtt://u:***@h failed"


# ---- 4. numbers, lengths, and one place that catches ------------------------------------------------


@pytest.fixture(scope="module")
def shared_assistant(tmp_path_factory):
    """One Assistant for the tests below (building one costs seconds: hassil); emptied per test."""
    cfg = load_config(
        env={"ASSISTANT_DATA_DIR": str(tmp_path_factory.mktemp("hostile")), "ASSISTANT_TZ": "UTC"}
    )
    a = Assistant(cfg)
    yield a
    a.close()


@pytest.fixture
def make_assistant(shared_assistant):
    """Shadows conftest's: the shared Assistant with no alarms, timers or pending question."""

    def make() -> Assistant:
        a = shared_assistant
        for t in a.store.timers():
            a.store.delete_timer(t.id)
        for al in a.store.alarms():
            a.store.delete_alarm(al.id)
        a.conversations.drop_question(DEFAULT_ID)
        del a.recognizers[1:]
        return a

    return make


def test_huge_numbers_get_a_sentence_not_a_crash(make_assistant):
    a = make_assistant()
    r = a.ask("set a timer for 99999999999999 minutes", now=NOW)
    assert r.response == "Timers can be at most 24 hours long.", r
    r = a.ask("set a timer for " + "9" * 400 + " minutes", now=NOW)
    assert r.response == "Timers can be at most 24 hours long.", r
    assert a.store.timers() == []
    assert a.ask("set a timer for 5 minutes", now=NOW).response == "Timer set for 5 minutes."


def test_ask_stdin_keeps_going_after_bad_lines(tmp_path):
    lines = [
        "set a timer for 99999999999999 minutes",
        "x" * 5000,
        "set an alarm for 25:99",
        "1" * 3000 + "-" + "2",
        "what time is it",
    ]
    e = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    e.update(
        ASSISTANT_DATA_DIR=str(tmp_path / "d"), ASSISTANT_TZ="UTC", XDG_CONFIG_HOME=str(tmp_path / "cfg")
    )
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=e,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == len(lines)
    assert (
        results[1]["response"]
        == f"That is too long for me. Please say it in fewer than {MAX_TEXT} characters."
    )
    assert results[-1]["intent"] == "HassGetCurrentTime"


def test_normalize_is_linear_on_long_digit_runs():
    started = time.perf_counter()
    assert normalize("1" * 100_000 + "-" + "2")[-3:] == "1 2"
    assert time.perf_counter() - started < 5  # was 52-85 s: a hang detector, not a speed goal


class ToolTier:
    """A recogniser tier that gives typed tool arguments, as the LLM tier does (no server needed)."""

    name = "llm"
    gives_tool_args = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def set_list(self, name, items) -> None:
        pass

    def candidates(self, text, context=None):
        return [Candidate(intent, dict(args), text) for intent, args in self.calls]


@pytest.fixture
def tool_tier(make_assistant, monkeypatch):
    a = make_assistant()
    tier = ToolTier()
    a.recognizers.append(tier)
    monkeypatch.setattr(a, "gate_threshold", 0.0)  # a stand-in asked for everything ("blorp one")
    return a, tier


def test_bad_llm_tool_arguments_get_one_sentence(tool_tier):
    a, tier = tool_tier
    tier.calls = [("SetAlarm", {"time": "25:99"})]
    r = a.ask("blorp one", now=NOW)
    assert r.response == "25:99 is not a time of day. Say it like 7:05 am or 19:05.", r
    tier.calls = [("HassStartTimer", {"minutes": int("9" * 400)})]
    assert a.ask("blorp two", now=NOW).response == "Timers can be at most 24 hours long."
    tier.calls = [("CancelAlarm", {"time": "7:99"})]
    assert "is not a time of day" in a.ask("blorp three", now=NOW).response
    assert a.store.alarms() == [] and a.store.timers() == []


def test_a_broken_handler_costs_one_answer(tool_tier, monkeypatch):
    from intents.clock import HassGetCurrentTime

    a, _ = tool_tier
    monkeypatch.setattr(HassGetCurrentTime, "handle", lambda self, ctx: 1 / 0)
    r = a.ask("what time is it", now=NOW)
    assert r.response == "Sorry, I could not do that: division by zero.", r
    monkeypatch.undo()
    assert a.ask("what time is it", now=NOW).response.startswith("It's ")


# ---- 5. refused with the reason, not stored wrong ---------------------------------------------------


@pytest.mark.parametrize(
    "said, answer",
    [
        ("set a timer for -5 minutes", "A duration cannot be negative."),
        ("set a timer for minus 5 minutes", "A duration cannot be negative."),
        ("set a timer for 0 minutes", "The time needs to be more than zero, like 10 minutes."),
        ("set a timer for 0 hours and 0 seconds", "The time needs to be more than zero, like 10 minutes."),
        ("set an alarm for 7 am on the 31st of april", "There is no April 31."),
        ("set an alarm for 23:5 am", "23:5 is not a time of day. Say it like 7:05 am or 19:05."),
        ("set an alarm for 23 am", "23 am is not a time: with am or pm the hour goes up to 12."),
        (
            "set an alarm for 7 am yesterday",
            "That is in the past; I can only set alarms for a time still to come.",
        ),
    ],
)
def test_impossible_requests_are_refused_with_the_reason(make_assistant, said, answer):
    a = make_assistant()
    r = a.ask(said, now=NOW)
    assert r.response == answer, r
    assert r.actions == [] and a.store.alarms() == [] and a.store.timers() == []


def test_adding_time_stops_at_the_longest_timer(make_assistant):
    a = make_assistant()
    a.ask("set a pasta timer for 10 minutes", now=NOW)
    r = a.ask("add 999999999 minutes to the pasta timer", now=NOW)
    assert r.response == "Timers can be at most 24 hours long; the pasta timer has 10 minutes left.", r
    assert [t.duration_s for t in a.store.timers()] == [600]
    assert a.store.timers()[0].end_at == NOW.replace(tzinfo=dt.UTC).timestamp() + 600


def test_garbage_words_do_not_become_alarm_names(make_assistant):
    a = make_assistant()
    r = a.ask("set an alarm for 7 am %% ~~", now=NOW)
    assert all(al.name is None for al in a.store.alarms()), r


def test_noise_names_none_of_the_choices():
    """The fuzz bench's "which one?" (two Hall Lights) was answered by a line of regex-like noise: its
    "a" (from "(a+)+") was a word only one label had."""
    from intents.conversation import Choice
    from intents.pending import pick, said

    lights = [Choice("the Hall Light (Upstairs)", {"n": 1}), Choice("the Hall Light (cover.a)", {"n": 2})]
    alarms = [Choice("7 AM tomorrow", {"n": 1}), Choice("8:30 AM Friday", {"n": 2})]
    for noise in ("x x ~ (a+)+ blorp x \\d+ .* ~ zzz .* blorp", "a", "x 7 blorp", "zzz friday qq"):
        assert pick(said(noise), lights) is None and pick(said(noise), alarms) is None, noise
    for answer, choices, n in [
        ("the one upstairs", lights, 1),
        ("the up stairs one", lights, 1),  # a mis-heard word
        ("cover a", lights, 2),
        ("the one on friday", alarms, 2),
        ("the 7 please", alarms, 1),
    ]:
        assert pick(said(answer), choices).data == {"n": n}, answer


def test_a_line_too_long_drops_the_question(make_assistant):
    a = make_assistant()  # templates only: "7 am" alone is then no request
    assert a.ask("set an alarm", now=NOW).expects_answer
    assert a.conversations.question(DEFAULT_ID) is not None
    a.ask("1" * (MAX_TEXT + 1), now=NOW)
    assert a.conversations.question(DEFAULT_ID) is None
    assert a.ask("7 am", now=NOW).actions == [] and a.store.alarms() == []


# ---- 6. discovery floods ---------------------------------------------------------------------------


def test_wildcard_state_and_availability_topics_are_refused(caplog):
    registry = EntityRegistry()
    client = MqttClient(MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}"))
    d = MqttDiscovery(client, registry, "ha")
    with caplog.at_level(logging.WARNING):
        d._on_config(
            "ha/light/a/config",
            json.dumps({"name": "Lamp A", "cmd_t": "a/set", "stat_t": "#"}).encode(),
            True,
        )
        d._on_config(
            "ha/light/b/config",
            json.dumps({"name": "Lamp B", "cmd_t": "b/set", "avty_t": "+/x"}).encode(),
            True,
        )
        d._on_config(
            "ha/light/c/config",
            json.dumps({"name": "Lamp C", "cmd_t": "c/set", "avty": [{"t": "#"}]}).encode(),
            True,
        )
        d._on_config("ha/light/d/config", json.dumps({"name": "D" * 65, "cmd_t": "d/set"}).encode(), True)
        d._on_config(
            "ha/light/e/config", json.dumps({"name": "Lamp E", "cmd_t": "e/set", "avty": 7}).encode(), True
        )
    assert [e.entity_id for e in registry.all()] == ["light.lamp_e"]
    assert {s.topic_filter for s in client._subs.values()} == set()  # nothing subscribed: never '#'
    assert sum("wildcards" in r.getMessage() for r in caplog.records) == 3


def test_a_discovered_name_nobody_can_say_is_refused(caplog):
    """A flooded switch named "E€" (normalised "e") was turned on by the junk line "E&". A discovered
    name needs 2 letters or digits; a too-short entity name beside its device's name is no alias."""
    registry = EntityRegistry()
    d = MqttDiscovery(MqttClient(MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}")), registry, "ha")

    def config(obj: str, **cfg) -> None:
        d._on_config(f"ha/switch/{obj}/config", json.dumps({"cmd_t": f"{obj}/set", **cfg}).encode(), True)

    with caplog.at_level(logging.WARNING):
        config("e", name="E€")
        config("dots", name="…!")
        config("tv", name="TV")
        config("desk", name="€", dev={"ids": "d1", "name": "Desk"})
    assert {e.name: e.aliases for e in registry.all()} == {"TV": [], "Desk €": []}
    assert sum("fewer than 2 letters or digits" in r.getMessage() for r in caplog.records) == 2


def test_deeply_nested_config_is_refused_before_parsing(caplog):
    """2000 nested brackets: json.loads took ~100 ms to fail on it (a recursion error), per message."""
    d = MqttDiscovery(MqttClient(MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}")), EntityRegistry(), "ha")
    with caplog.at_level(logging.WARNING):
        d._on_config("ha/light/deep/config", b"[" * 2000 + b"]" * 2000, True)
        d._on_config("ha/light/ok/config", json.dumps({"name": "[[[[" * 20, "cmd_t": "a/set"}).encode(), True)
    assert [r.getMessage() for r in caplog.records] == [
        "discovery: ignoring ha/light/deep/config: JSON nested deeper than 32 levels",
        "discovery: ignoring ha/light/ok/config: name is longer than 64 characters",
    ]


def test_deeply_nested_state_is_refused_like_a_config():
    """The same bound for JSON states and value_json templates: 100 000 brackets used to raise a
    RecursionError out of the state callback instead of a PayloadError that is warned about."""
    deep = "[" * 100_000
    with pytest.raises(PayloadError, match="nested deeper than 32"):
        parse_state("light", {"schema": "json"}, "state", deep)
    with pytest.raises(PayloadError, match="nested deeper than 32"):
        render_template("{{ value_json.state }}", deep)
    assert parse_state("light", {"schema": "json"}, "state", '{"state": "ON"}')[0] == "on"


def test_repeated_warnings_are_rate_limited(caplog):
    limiter = WarningLimiter(logging.getLogger("flood"), burst=5, window=0.2)
    with caplog.at_level(logging.WARNING):
        for i in range(500):
            limiter.warning("bad state %d", i)
        time.sleep(0.25)
        limiter.warning("after the window")
    said = [r.getMessage() for r in caplog.records if r.name == "flood"]
    assert said[:5] == [f"bad state {i}" for i in range(5)]
    assert said[5:] == [
        "495 more warnings like the above were suppressed in the last 0.2 s",
        "after the window",
    ]


def _hub_after_five_real_lights(mosquitto, probe, prefix) -> DeviceHub:
    """Retain five real lights ("Real 0".."Real 4") behind whatever the test flooded, and a hub
    (not started) that discovers under the same prefix."""
    for i in range(5):
        probe.publish(
            f"{prefix}/ha/light/real{i}/config",
            json.dumps({"name": f"Real {i}", "cmd_t": f"{prefix}/r{i}"}),
            retain=True,
        )
    return DeviceHub(
        MqttSettings(url=mosquitto.url, discovery_prefix=f"{prefix}/ha", base_topic=f"{prefix}/a"),
        HomeAssistantSettings(),
        DevicesSettings(),
    )


def test_thousands_of_retained_configs_are_all_read(mosquitto, probe, prefix):
    """3000 junk retained configs published first, then 5 real lights: all 5 arrive (QoS 1 lost all
    beyond mosquitto's queue of 1000)."""
    for i in range(3000):
        probe.client.publish(
            f"{prefix}/ha/light/junk{i}/config", b'{"name": 1' if i % 2 else b"[]", qos=0, retain=True
        )
    hub = _hub_after_five_real_lights(mosquitto, probe, prefix)
    try:
        errors = hub.start(timeout=5)
        assert {e.name for e in hub.registry.all()} == {f"Real {i}" for i in range(5)}, hub.errors
        assert hub.discovery.messages_seen == 3005
        # all arrived here, but 3000 at QoS 0 is a burst a broker may cut: said, with what to do
        assert errors == [
            "discovery may be incomplete: 3000 retained configs came at QoS 0, and a broker drops QoS 0 "
            "messages beyond its queue (1000 by default in mosquitto); have devices publish their "
            "discovery configs at QoS 1, or raise the broker's max_queued_messages"
        ]
    finally:
        hub.stop()


def test_a_flood_bigger_than_the_broker_queue_loses_no_qos1_config(mosquitto, probe, prefix):
    """3000 junk configs of 4 kB retained at QoS 1, then 5 real lights: a 12 MB burst. Read as QoS 0
    (or QoS 1 over MQTT 3.1.1) the broker dropped everything beyond its queue once the socket was
    full, the real lights included; over MQTT 5 with a large Receive Maximum all of them arrive, and
    the start waits exactly until they have (no fixed delay)."""
    publisher = paho.Client(CallbackAPIVersion.VERSION2)
    publisher.max_inflight_messages_set(1000)  # (20 by default: slow to publish 3000 at QoS 1)
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    try:
        junk = json.dumps({"name": "J", "x": "j" * 4000})
        infos = [
            publisher.publish(f"{prefix}/ha/light/junk{i}/config", junk, qos=1, retain=True)
            for i in range(3000)
        ]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    hub = _hub_after_five_real_lights(mosquitto, probe, prefix)
    try:
        assert hub.start(timeout=5) == []
        assert hub.discovery.messages_seen == 3005
        assert {e.name for e in hub.registry.all() if e.name.startswith("Real")} == {
            f"Real {i}" for i in range(5)
        }
    finally:
        hub.stop()


def test_incomplete_discovery_is_reported(mosquitto, probe, prefix):
    for i in range(2000):
        probe.client.publish(
            f"{prefix}/ha/light/l{i}/config",
            json.dumps({"name": f"L {i}", "cmd_t": f"{prefix}/{i}"}),
            qos=0,
            retain=True,
        )
    probe.publish(
        f"{prefix}/ha/light/last/config", json.dumps({"name": "Last", "cmd_t": f"{prefix}/last"}), retain=True
    )
    hub = DeviceHub(
        MqttSettings(url=mosquitto.url, discovery_prefix=f"{prefix}/ha", base_topic=f"{prefix}/a"),
        HomeAssistantSettings(),
        DevicesSettings(discovery_wait=0.05),
    )
    try:
        errors = hub.start(timeout=5)
        assert any("discovery may be incomplete" in e for e in errors), (errors, hub.discovery.messages_seen)
    finally:
        hub.stop()


# ---- 7. the LLM tier --------------------------------------------------------------------------------


@pytest.fixture
def trickler():
    """An HTTP server that answers 200 and then one byte every 50 ms, forever; counts open sockets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    state = {"open": 0, "served": 0, "stop": False}

    def serve(conn: socket.socket) -> None:
        state["open"] += 1
        state["served"] += 1
        try:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            while not state["stop"]:
                conn.sendall(b" ")
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            state["open"] -= 1
            conn.close()

    def accept() -> None:
        while not state["stop"]:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    yield state
    state["stop"] = True
    server.close()


def test_trickling_llm_server_leaks_no_thread_or_socket(trickler):
    from assistant.config import LlmSettings
    from assistant.llm import LlmRecognizer
    from intents.registry import intents

    tier = LlmRecognizer(intents(), LlmSettings(url=trickler["url"], model="m", timeout_s=0.3))
    before = threading.active_count()
    for _ in range(4):
        started = time.monotonic()
        assert tier.candidates("what is the capital of france") == []
        assert time.monotonic() - started < 2.0
    assert wait_for(lambda: trickler["open"] == 0, 3), trickler  # every connection closed by us
    assert wait_for(lambda: threading.active_count() <= before, 3), threading.enumerate()  # no worker left
    assert trickler["served"] == 4


def test_bulk_cancel_from_the_llm_needs_confirmation(tool_tier):
    a, tier = tool_tier
    for t in ("7 am", "8 am", "9 am"):
        a.ask(f"set an alarm for {t} tomorrow", now=NOW)
    tier.calls = [("CancelAlarm", {"all": True})]
    r = a.ask("get rid of the lot", now=NOW)
    assert r.response == "Are you sure you want to cancel 3 alarms?", r
    assert len(a.store.alarms()) == 3
    r = a.ask("yes", now=NOW)
    assert r.response == "Cancelled 3 alarms.", r
    assert a.store.alarms() == []
    a.ask("set a timer for 5 minutes", now=NOW)
    a.ask("set a timer for 6 minutes", now=NOW)
    tier.calls = [("HassCancelAllTimers", {})]
    assert a.ask("bin them", now=NOW).response == "Are you sure you want to cancel 2 timers?"
    assert a.ask("no", now=NOW).response == "Okay, I won't cancel 2 timers."
    assert len(a.store.timers()) == 2
