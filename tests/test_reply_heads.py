"""Reply heads (``Intent.reply_heads``): the fixed openings and whole answers the voice keeps
synthesised must be what the intents really say, or they would never be used."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from intents.devices.words import FUTURE, PAST
from intents.replies import reply_heads

ROOT = Path(__file__).resolve().parents[1]
# answers of bench/home.yaml's devices in a dry run, which the YAML cases do not cover
DRY_RUN = [
    "cancel my alarm",
    "set the thermostat to 21 degrees",
    "what day is it tomorrow",
    "set the living room lamp to blue",
    "play some music",
    "turn on the kitchen light",
    "start the vacuum",
]


def _opens(answer: str, head: str) -> bool:
    return answer == head or answer.startswith(head + " ") or (head[-1] in ",;:" and answer.startswith(head))


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> list[str]:
    from assistant.config import load_config
    from assistant.core import Assistant

    said = []
    for path in sorted((ROOT / "tests" / "intents" / "en").glob("*.yaml")):
        for block in yaml.safe_load(path.read_text())["tests"]:
            if block.get("response"):
                said.append(re.sub(r"\\(.)", r"\1", block["response"]))
    data = tmp_path_factory.mktemp("data")
    config = load_config(
        str(ROOT / "bench" / "home.yaml"), env={"ASSISTANT_DATA_DIR": str(data), "ASSISTANT_TZ": "UTC"}
    )
    assistant = Assistant(config)
    try:
        now = dt.datetime(2026, 11, 29, 10, 0)
        said += [assistant.ask(text, now=now, dry_run=True).response for text in DRY_RUN]
        assert assistant.reply_heads() == reply_heads()
    finally:
        assistant.close()
    return said


def test_every_reply_head_opens_an_answer(answers):
    heads = reply_heads()
    assert len(heads) == len(set(heads)) and "Timer set" in heads and "Turned off" in heads
    # device commands' heads come from the one table their answers are written from (words.SAID)
    derived = {*PAST.values(), *("Would " + verb for verb in FUTURE.values())}
    unused = [h for h in heads if h not in derived and not any(_opens(a, h) for a in answers)]
    assert unused == []


def test_tomorrow_is_said_day_first(answers):
    assert "Tomorrow is Monday, November 30, 2026." in answers
