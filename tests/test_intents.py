"""Data-driven intent tests (tests/intents/<lang>/*.yaml), in the style of home-assistant/intents:
sentence -> intent + slots + response pattern, each sentence on fresh state plus `setup`.

A file may ask for real services with a top-level ``services:`` key (see tests/fixtures_services.py)
and declare YAML devices (``devices:``, the config's ``devices.devices`` list; no broker, so use dry runs);
a block may set ``dry_run: true``, ``area: kitchen`` and expect ``actions:`` (a list of dicts whose keys
must match the actions done, in order)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

CASES_DIR = Path(__file__).parent / "intents" / "en"


def _cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for i, block in enumerate(data["tests"]):
            for sentence in block["sentences"]:
                yield pytest.param(data, block, sentence, id=f"{path.stem}-{i}-{sentence}")


@pytest.fixture(scope="module")
def assistants(tmp_path_factory):
    from assistant.config import load_config
    from assistant.core import Assistant

    made: dict[tuple[str, str, str], tuple[Assistant, object]] = {}
    stack = contextlib.ExitStack()

    def get(tz: str, services: dict | None = None, devices: list | None = None) -> tuple[Assistant, object]:
        key = (tz, json.dumps(services or {}, sort_keys=True), json.dumps(devices or [], sort_keys=True))
        if key not in made:
            d = tmp_path_factory.mktemp("data")
            config = load_config(env={"ASSISTANT_DATA_DIR": str(d), "ASSISTANT_TZ": tz})
            if devices:
                config = config.model_validate({**config.model_dump(), "devices": {"devices": devices}})
            assistant = Assistant(config)
            extra = None
            if services:
                from tests.fixtures_services import IntentServices

                extra = IntentServices(services, tmp_path_factory.mktemp("services"), stack)
            made[key] = (assistant, extra)
        return made[key]

    with stack:
        yield get
        for a, _ in made.values():
            a.close()


@pytest.mark.parametrize("data,block,sentence", list(_cases()))
def test_sentence(assistants, data, block, sentence):
    assistant, services = assistants(data.get("timezone", "UTC"), data.get("services"), data.get("devices"))
    assistant.store.clear()
    assistant.conversations.forget("default")  # no question or context left by the sentence before
    assistant.preferences.forget()
    assistant.services.lists.clear()
    if services is not None:
        services.reset(assistant)
    now = dt.datetime.fromisoformat(data["now"])
    for step in block.get("setup", []):
        done = assistant.ask(step, now=now)
        assert done.actions, f"setup step {step!r} did nothing: {done.response}"
    result = assistant.ask(sentence, now=now, dry_run=block.get("dry_run", False), area=block.get("area"))
    want = block["intent"]
    if want is None:
        assert result.intent is None, f"{sentence!r} acted: {result.intent} {result.slots}"
        assert result.actions == []
    else:
        assert result.intent == want["name"], f"{sentence!r} -> {result.intent} {result.slots}"
        for key, value in (want.get("slots") or {}).items():
            assert result.slots.get(key) == value, f"slot {key}: {result.slots}"
    for i, want_action in enumerate(block.get("actions", [])):
        assert i < len(result.actions), f"expected action {want_action}, got {result.actions}"
        assert {k: result.actions[i].get(k) for k in want_action} == want_action, result.actions
    if "response" in block:
        assert re.fullmatch(block["response"], result.response), result.response
