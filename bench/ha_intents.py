#!/usr/bin/env python3
"""Home Assistant's English intent tests (vendored in tests/data/ha_intents_en, CC BY 4.0): templates
alone against templates + the learned tier, for every intent we register.

    python bench/ha_intents.py [--model intents/learned_model.npz] [--failures FILE]

HA's fixture entities and areas are loaded into our registry (as tests/test_device_ha_suite.py
does); each test block runs with its context (the satellite's area). Prints passed/total per intent
for both, and every sentence that templates alone get right and templates + learned get wrong (a
regression: the learned tier must only add answers where no template matched).

Note: the learned tier is trained on these sentences (intents/train_data/ha_tests.jsonl), so the
"+learned" column is not a measure of generalisation; it checks that the tier does not get in the
way of the templates.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from assistant.config import load_config  # noqa: E402
from assistant.core import Assistant  # noqa: E402
from intents.registry import intents  # noqa: E402
from tests.ha_suite import run  # noqa: E402
from tests.test_device_ha_suite import fixture_hub  # noqa: E402


def suite(env: dict[str, str]):
    with tempfile.TemporaryDirectory() as data_dir:
        config = load_config(env={"ASSISTANT_DATA_DIR": data_dir, "ASSISTANT_TZ": "UTC", **env})
        assistant = Assistant(config)
        try:
            assistant.use_devices(fixture_hub())

            def ask(sentence: str, context: dict) -> dict:
                r = assistant.ask(sentence, dry_run=True, area=context.get("area"))
                return {"intent": r.intent, "slots": r.slots}

            return run(ask, set(intents()), with_context=True)
        finally:
            assistant.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="learned model (default: the shipped one)")
    ap.add_argument("--failures", metavar="FILE", help="write the regressions as JSON lines here")
    args = ap.parse_args()
    alone = suite({"ASSISTANT_LEARNED": "false"})
    learned = suite({"ASSISTANT_LEARNED_MODEL": args.model} if args.model else {})

    fail_a = Counter(f["want"][0] for f in alone.failed)
    fail_l = Counter(f["want"][0] for f in learned.failed)
    key = lambda f: (f["file"], f["sentence"])  # noqa: E731
    failed_alone = {key(f) for f in alone.failed}
    regressions = [f for f in learned.failed if key(f) not in failed_alone]
    fixed = len(failed_alone - {key(f) for f in learned.failed})
    print(f"{'intent':32} {'failed, templates':>18} {'failed, +learned':>17}")
    for name in sorted(set(fail_a) | set(fail_l)):
        print(f"{name:32} {fail_a[name]:18d} {fail_l[name]:17d}")
    print(f"\ntemplates alone:      {alone.passed}/{alone.total} passed")
    print(f"templates + learned:  {learned.passed}/{learned.total} passed")
    print(f"regressions (right alone, wrong with the learned tier): {len(regressions)}; newly right: {fixed}")
    for f in regressions[:20]:
        print(f"  {f['sentence']!r}: want {f['want']}, got {f['got']}")
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as out:
            for f in regressions:
                out.write(json.dumps(f) + "\n")


if __name__ == "__main__":
    main()
