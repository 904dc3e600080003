#!/usr/bin/env python3
"""Choose the learned tier's thresholds: the accuracy / false-action trade-off on SLURP devel, 5-fold CV.

    python -m intents.train --fold-models DIR        # five models, each without one devel fold
    python bench/learned_thresholds.py DIR

Each fold's rows (crc32(slurp_id) % 5) are asked of an assistant (bench/home.yaml, as in
bench/understanding.py) whose learned tier is that fold's model at threshold 0; a learned answer is
then kept or dropped under every setting of the global threshold and the top-1/top-2 margin. Prints
in-scope intent accuracy and the out-of-scope false-action rate of templates + learned for each
setting, so the setting is chosen on held-out rows only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))

from understanding import MAPPING, label_of, scope  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "fold_models", type=Path, help="DIR written by `python -m intents.train --fold-models DIR`"
    )
    ap.add_argument("--data", default=str(here / "data" / "slurp_devel_home.jsonl"))
    ap.add_argument("--home", default=str(here / "home.yaml"))
    ap.add_argument(
        "--verbose", action="store_true", help="list every out-of-scope row the learned tier would act on"
    )
    args = ap.parse_args()

    from assistant.config import load_config
    from assistant.core import Assistant
    from intents.learned import NONE, least_probability
    from intents.normalize import normalize
    from intents.train import FOLDS, fold_of

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    rows = [r for r in rows if scope(label_of(r)) != "skip"]
    now = dt.datetime(2026, 11, 29, 10, 0)
    # per row: (label, what templates + learned answer with the learned tier at threshold 0 and its
    # recogniser, the learned model's top-1 intent, p1 and p2)
    seen = []
    with tempfile.TemporaryDirectory() as data_dir:
        for k in range(FOLDS):
            env = {
                "ASSISTANT_DATA_DIR": data_dir,
                "ASSISTANT_TZ": "UTC",
                "ASSISTANT_CONFIG": args.home,
                "ASSISTANT_LEARNED_MODEL": str(args.fold_models / f"fold{k}.npz"),
            }
            config = load_config(env=env)
            config = config.model_validate(
                {**config.model_dump(), "learned": {**config.learned.model_dump(), "threshold": 0.0}}
            )
            assistant = Assistant(config)
            rec = next(r for r in assistant.recognizers if r.name == "learned")
            rec.model.margin = 0.0
            for r in rows:
                if fold_of(r["slurp_id"]) != k:
                    continue
                result = assistant.ask(r["sentence"], now=now, dry_run=True)
                words = normalize(r["sentence"]).split()
                probs = rec.model.classify(words) if words else {NONE: 1.0, "": 0.0}
                (top, p1), (_, p2) = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
                seen.append((label_of(r), result.intent, result.recognizer, top, p1, p2, r["sentence"]))
            assistant.close()

    n_in = sum(scope(s[0]) == "in" for s in seen)
    n_out = len(seen) - n_in

    def score(threshold: float, margin: float) -> tuple[float, float]:
        right = false = 0
        for label, got, recognizer, top, p1, p2, _ in seen:
            if recognizer == "learned":
                if p1 < least_probability(top, threshold) or p1 - p2 < margin:
                    got = None
            if scope(label) == "in":
                right += got in MAPPING.get(label, set())
            else:
                false += got is not None
        return 100 * right / n_in, 100 * false / n_out

    print(
        "learned acceptances at p >= 0.4 by intent: right in-scope / wrong in-scope / out-of-scope (p of each)"
    )
    by_intent: dict[str, list[list[str]]] = {}
    for label, got, recognizer, top, p1, p2, sentence in seen:
        if recognizer == "learned" and p1 >= 0.4:
            kind = 2 if scope(label) == "out" else (0 if got in MAPPING.get(label, set()) else 1)
            by_intent.setdefault(top, [[], [], []])[kind].append(f"{p1:.2f}/{p1 - p2:.2f}")
            if args.verbose:
                print(
                    f"  {('right', 'wrong', 'OUT')[kind]:5} {str(got):24} p {p1:.2f} margin {p1 - p2:.2f}  {label:18} {sentence}"
                )
    for intent, (ok, wrong, out) in sorted(by_intent.items()):
        print(
            f"  {intent:26} {len(ok):3d} {len(wrong):3d} {len(out):3d}   out at p/margin: {' '.join(sorted(out))}"
        )
    n_in = sum(scope(s[0]) == "in" for s in seen)
    n_out = len(seen) - n_in
    base = score(2.0, 0.0)
    print(f"SLURP devel, {n_in} in-scope and {n_out} out-of-scope rows; learned tier 5-fold CV")
    print(f"templates alone: in-scope {base[0]:5.1f}%  false actions {base[1]:4.1f}%")
    print(f"{'threshold':>9} {'margin':>6} {'in-scope':>9} {'false':>6}")
    for threshold in (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
        for margin in (0.0, 0.2, 0.4):
            acc, false = score(threshold, margin)
            print(f"{threshold:9.2f} {margin:6.1f} {acc:8.1f}% {false:5.1f}%")


if __name__ == "__main__":
    main()
