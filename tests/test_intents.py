"""Data-driven intent tests (tests/intents/<lang>/*.yaml), in the style of home-assistant/intents:
sentence -> intent + slots + response pattern, each sentence on fresh state plus `setup`."""

from __future__ import annotations

import datetime as dt
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

    made: dict[str, Assistant] = {}

    def get(tz: str) -> Assistant:
        if tz not in made:
            d = tmp_path_factory.mktemp("data")
            made[tz] = Assistant(load_config(env={"ASSISTANT_DATA_DIR": str(d), "ASSISTANT_TZ": tz}))
        return made[tz]

    yield get
    for a in made.values():
        a.close()


@pytest.mark.parametrize("data,block,sentence", list(_cases()))
def test_sentence(assistants, data, block, sentence):
    assistant = assistants(data.get("timezone", "UTC"))
    assistant.store.clear()
    now = dt.datetime.fromisoformat(data["now"])
    for step in block.get("setup", []):
        done = assistant.ask(step, now=now)
        assert done.actions, f"setup step {step!r} did nothing: {done.response}"
    result = assistant.ask(sentence, now=now)
    want = block["intent"]
    if want is None:
        assert result.intent is None, f"{sentence!r} acted: {result.intent} {result.slots}"
        assert result.actions == []
    else:
        assert result.intent == want["name"], f"{sentence!r} -> {result.intent} {result.slots}"
        for key, value in (want.get("slots") or {}).items():
            assert result.slots.get(key) == value, f"slot {key}: {result.slots}"
    if "response" in block:
        assert re.fullmatch(block["response"], result.response), result.response
