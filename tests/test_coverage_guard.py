"""Guard: every registered intent has at least one template (ours or Home Assistant's) and at least
one data-driven case in tests/intents/en/*.yaml, so a new intent cannot land untested."""

from __future__ import annotations

from pathlib import Path

import yaml

from intents.recognizer import build_data
from intents.registry import intents

CASES_DIR = Path(__file__).parent / "intents" / "en"


def _intents_with_cases() -> set[str]:
    named: set[str] = set()
    for path in CASES_DIR.glob("*.yaml"):
        for block in yaml.safe_load(path.read_text())["tests"]:
            if block.get("intent"):
                named.add(block["intent"]["name"] if isinstance(block["intent"], dict) else block["intent"])
    return named


def test_every_intent_has_a_template():
    names = set(intents())
    data = build_data(names)
    missing = sorted(n for n in names if not data["intents"].get(n, {}).get("data"))
    assert not missing, f"intents without any template: {missing}"


def test_every_intent_has_a_yaml_case():
    missing = sorted(set(intents()) - _intents_with_cases())
    assert not missing, f"intents without a case in tests/intents/en/*.yaml: {missing}"
