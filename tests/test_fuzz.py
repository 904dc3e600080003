"""Seeded fuzzing in the suite: a few thousand hostile lines and discovery configs (tests/fuzzgen.py)
through one Assistant with a real broker. Nothing may escape as an exception, garbage must never
act, every discovered entity must be sane, and the valid devices among the junk must work.
The longer run with figures is ``bench/fuzz.py``."""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml

from assistant.config import load_config
from assistant.core import TOO_LONG, Assistant
from intents.delayed import not_now
from intents.normalize import normalize
from tests.fixtures_mqtt import free_port
from tests.fuzzgen import discovery_configs, lines, offline_config

SEED = 8
LINES = int(os.environ.get("FUZZ_LINES", 1000))
CONFIGS = int(os.environ.get("FUZZ_CONFIGS", 2000))
HANG_S = 5.0  # far above any real answer: this detects hangs, it does not measure speed
BUDGET_S = 60.0  # the line test stops there on a slow machine (and says how far it got)


@pytest.fixture
def fuzzed(mosquitto, probe, prefix, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1/forecast"  # weather answers "unavailable" at once, offline
    cfg = offline_config(
        tmp_path,
        {"url": mosquitto.url, "discovery_prefix": f"{prefix}/ha", "base_topic": f"{prefix}/a"},
        dead,
    )
    kitchen = {"name": "Kitchen Light", "component": "light", "command_topic": f"{prefix}/kitchen/set"}
    cfg["devices"] = {"devices": [kitchen]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    probe.subscribe(f"{prefix}/#")
    a = Assistant(load_config(tmp_path / "c.yaml", env={}))
    yield a
    a.close()


def test_fuzzed_discovery_configs_leave_a_sane_registry(fuzzed, probe, prefix):
    hub = fuzzed.services.devices
    valid = []
    for kind, topic, payload in discovery_configs(SEED, CONFIGS, f"{prefix}/ha"):
        hub.discovery._on_config(topic, payload, True)  # what the network thread does with each message
        if kind == "valid":
            valid.append(json.loads(payload)["name"])
    ents = hub.registry.all()
    assert {e.name for e in ents} >= set(valid) and len(valid) > 100
    for e in ents:
        assert len(e.name) <= 64 + 65  # "<device> <entity>" at most
        for key, value in e.backend.items():
            if key.endswith("_topic") and isinstance(value, str):
                assert "#" not in value and "+" not in value, (e.entity_id, key, value)
    subscribed = {s.topic_filter for s in hub.mqtt._subs.values()}
    assert not any(("#" in f or "+" in f) and not f.startswith(f"{prefix}/ha/") for f in subscribed)
    r = fuzzed.ask(f"turn on the {valid[-1].lower()}")
    assert r.response == f"Turned on the {valid[-1]}.", r
    r = fuzzed.ask("turn off the kitchen light")  # the YAML light, whatever the junk called itself
    assert r.response == "Turned off the Kitchen Light.", r
    assert probe.wait_message(f"{prefix}/kitchen/set") == ["OFF"]


def test_fuzzed_lines_never_crash_hang_or_act_on_garbage(fuzzed):
    crashes, acted, slow = [], [], []
    end = time.monotonic() + BUDGET_S
    for done, (kind, line) in enumerate(lines(SEED, LINES)):
        if time.monotonic() > end:
            print(f"fuzz: time budget spent after {done} of {LINES} lines")
            break
        started = time.perf_counter()
        try:
            r = fuzzed.ask(line, dry_run=kind == "command" and "unlock" in line)
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            crashes.append((line[:80], repr(exc)))
            continue
        took = time.perf_counter() - started
        if took > HANG_S:
            slow.append((line[:80], took))
        assert isinstance(r.response, str) and r.response, line[:80]
        if "something went wrong" in r.response:
            crashes.append((line[:80], r.response))
        if kind == "long":
            assert r.response == TOO_LONG
        if kind == "garbage" and r.actions:
            acted.append((line[:80], r.actions))
        if kind == "command" and not_now(normalize(line)) and any(a.get("type") == "mqtt" for a in r.actions):
            acted.append((line[:80], r.actions))  # "in 59 minutes turn off the ...": never done at once
    assert crashes == [] and slow == [] and acted == []
