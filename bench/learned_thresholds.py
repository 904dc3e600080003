#!/usr/bin/env python3
"""Choose the learned tier's thresholds: the accuracy / false-action trade-off on SLURP devel, 5-fold CV.

    python -m intents.train --fold-models DIR        # five models, each without one devel fold
    python bench/learned_thresholds.py DIR

The template tier answers first (``assistant ask -``, as in bench/understanding.py); on the rows it
leaves, each fold's model (crc32(slurp_id) % 5) proposes its candidate under every setting of the
global threshold, the stricter per-intent thresholds of ``intents.train.INTENT_THRESHOLDS`` (on/off)
and the top-1/top-2 margin. Prints in-scope intent accuracy and the out-of-scope false-action rate of
templates + learned for each setting, so the setting can be chosen on held-out rows only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))

from understanding import MAPPING, home_lists, label_of, run_ours, scope  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fold_models", type=Path, help="DIR written by `python -m intents.train --fold-models DIR`")
    ap.add_argument("--data", default=str(here / "data" / "slurp_devel_home.jsonl"))
    ap.add_argument("--home", default=str(here / "home.yaml"))
    ap.add_argument("--verbose", action="store_true", help="list every out-of-scope row the learned tier would act on")
    args = ap.parse_args()

    from intents.learned import NONE, LearnedRecognizer
    from intents.normalize import normalize
    from intents.registry import intents
    from intents.train import FOLDS, INTENT_THRESHOLDS, fold_of

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    rows = [r for r in rows if scope(label_of(r)) != "skip"]
    templates, _ = run_ours([r["sentence"] for r in rows], [sys.executable, "-m", "assistant.cli"], args.home,
                            {"ASSISTANT_LEARNED": "false"})
    areas, names = home_lists(args.home)
    known = set(intents())
    # per row: (label, template intent, learned (intent, p1, p2) or None when the learned tier would not act)
    seen = []
    for k in range(FOLDS):
        rec = LearnedRecognizer(known, args.fold_models / f"fold{k}.npz", threshold=0.0)
        rec.model.intent_thresholds, rec.model.margin = {}, 0.0
        rec.set_list("area", areas)
        rec.set_list("name", [(n, v) for n, v, _ in names])
        for r, t in zip(rows, templates):
            if fold_of(r["slurp_id"]) != k:
                continue
            guess = None
            if t["intent"] is None:
                text = normalize(r["sentence"])
                words = text.split()
                if len(words) >= 2:
                    probs = rec.model.classify(words)
                    (top, p1), (_, p2) = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
                    if top != NONE and rec.candidates(text):  # slots the intent can act on
                        guess = (top, p1, p2)
            seen.append((label_of(r), t["intent"], guess, r["sentence"]))

    n_in = sum(scope(s[0]) == "in" for s in seen)
    n_out = len(seen) - n_in

    def score(threshold: float, per_intent: bool, margin: float) -> tuple[float, float]:
        right = false = 0
        for label, tmpl, guess, _ in seen:
            got = tmpl
            if got is None and guess:
                top, p1, p2 = guess
                need = max(threshold, INTENT_THRESHOLDS.get(top, 0.0) if per_intent else 0.0)
                if p1 >= need and p1 - p2 >= margin:
                    got = top
            if scope(label) == "in":
                right += got in MAPPING.get(label, set())
            else:
                false += got is not None
        return 100 * right / n_in, 100 * false / n_out

    print("learned acceptances at p >= 0.4 by intent: right in-scope / wrong in-scope / out-of-scope (p of each)")
    by_intent: dict[str, list[list[str]]] = {}
    for label, tmpl, guess, sentence in seen:
        if tmpl is None and guess and guess[1] >= 0.4:
            kind = 2 if scope(label) == "out" else (0 if guess[0] in MAPPING.get(label, set()) else 1)
            by_intent.setdefault(guess[0], [[], [], []])[kind].append(f"{guess[1]:.2f}/{guess[1] - guess[2]:.2f}")
            if kind == 2 and args.verbose:
                print(f"  out: {guess[0]:24} p {guess[1]:.2f} margin {guess[1] - guess[2]:.2f}  {label:18} {sentence}")
    for intent, (ok, wrong, out) in sorted(by_intent.items()):
        print(f"  {intent:26} {len(ok):3d} {len(wrong):3d} {len(out):3d}   out at p/margin: {' '.join(sorted(out))}")
    base = score(2.0, False, 0.0)
    print(f"SLURP devel, {n_in} in-scope and {n_out} out-of-scope rows; learned tier 5-fold CV")
    print(f"templates alone: in-scope {base[0]:5.1f}%  false actions {base[1]:4.1f}%")
    print(f"per-intent thresholds: {INTENT_THRESHOLDS}")
    print(f"{'threshold':>9} {'margin':>6} {'per-intent':>10} {'in-scope':>9} {'false':>6}")
    for threshold in (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
        for margin in (0.0, 0.2, 0.4):
            for per_intent in (False, True):
                acc, false = score(threshold, per_intent, margin)
                print(f"{threshold:9.2f} {margin:6.1f} {str(per_intent):>10} {acc:8.1f}% {false:5.1f}%")


if __name__ == "__main__":
    main()
