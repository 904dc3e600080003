"""Run Home Assistant's data-driven English intent tests (vendored in tests/data/ha_intents_en/tests)
against our recogniser, for the intents we implement. Shared by the tests and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HA_TESTS = Path(__file__).resolve().parent / "data" / "ha_intents_en" / "tests"


@dataclass
class SuiteResult:
    passed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + len(self.failed)


def fixture_areas() -> list[str]:
    data = yaml.safe_load((HA_TESTS / "_fixtures.yaml").read_text())
    return [a["name"] for a in data.get("areas", [])]


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return float(expected) == float(got)
    if isinstance(expected, str) and isinstance(got, str):
        return expected.strip().lower() == got.strip().lower()
    if isinstance(expected, list):  # HA's tests list the values any of which is right
        if isinstance(got, list):
            return len(expected) == len(got) and all(_same(e, g) for e, g in zip(expected, got, strict=True))
        return any(_same(e, got) for e in expected)
    return expected == got


def run(ask, supported: set[str], with_context: bool = False) -> SuiteResult:
    """``ask(sentence) -> dict`` with 'intent' and 'slots'. Every block whose intent we support.
    ``with_context=True`` calls ``ask(sentence, context)`` with the block's context (e.g. its area)
    and also runs the per-intent folders (``HassTurnOn/area_domain.yaml``: slots at block level)."""
    result = SuiteResult()
    for path in sorted(HA_TESTS.rglob("*.yaml")):
        if path.name.startswith("_"):
            continue
        folder_intent = path.parent.name if with_context and path.parent != HA_TESTS else None
        data = yaml.safe_load(path.read_text()) or {}
        for block in data.get("tests", []):
            expected = block.get("intent") or (
                {"name": folder_intent, "slots": block.get("slots")} if folder_intent else {}
            )
            name = expected.get("name")
            if name not in supported:
                continue
            slots = expected.get("slots") or {}
            context = expected.get("context") or block.get("context") or {}
            for sentence in block["sentences"]:
                got = ask(sentence, context) if with_context else ask(sentence)
                ok = got["intent"] == name and all(_same(v, got["slots"].get(k)) for k, v in slots.items())
                if ok:
                    result.passed += 1
                else:
                    result.failed.append(
                        {
                            "file": str(path.relative_to(HA_TESTS)),
                            "sentence": sentence,
                            "want": [name, slots],
                            "got": [got["intent"], got["slots"]],
                        }
                    )
    return result
