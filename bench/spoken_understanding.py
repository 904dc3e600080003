"""Spoken understanding: SLURP devel home commands as text vs spoken (Piper, espeak-ng) -> Whisper -> core.

    python bench/spoken_understanding.py                 # fixed stratified sample (see below)
    python bench/spoken_understanding.py --all           # every supported-label row + every out-of-scope row
    python bench/spoken_understanding.py --per-label 30 --out-of-scope 120 --errors misses.jsonl
    python bench/spoken_understanding.py --per-label 6 --out-of-scope 20 --model base   # asr.model
    python bench/spoken_understanding.py --per-label 6 --bias hotwords   # Whisper biased to the home's names

``--bias hotwords`` / ``--bias prompt`` fill faster-whisper's ``hotwords`` / ``initial_prompt`` with
the registry's names (``Assistant.vocabulary()``: devices, aliases, areas, players, stations).
Besides intent accuracy it prints **name accuracy**: of the rows where the text run is right and
has a name-like slot (name, area, location, search_query), the share where the spoken run gives the
same intent and the same values. ASR time is the decode alone (``AsrResult.duration_ms``).

Labels, the intents that count as right and the scope rules come from bench/understanding.py
(MAPPING, label_of, scope). Speech goes through the pipeline's ASR engine (Whisper tiny.en int8, short encoder,
as `Engines.load` sets it up) and its transcript filters (hallucination / no-speech drop), then
``Assistant.ask(transcript, dry_run=True)`` with the devices of bench/home.yaml, clock fixed at
2026-11-29 10:00 UTC (as bench/understanding.py). Template and learned tiers; the learned tier is
cross-validated as in bench/understanding.py (each row answered by the fold model trained without it). The wake word and VAD are not involved.

Default sample (deterministic): per supported label the first --per-label rows (20) in sha1(slurp_id)
order, plus the first --out-of-scope rows (80) of the out-of-scope labels in the same order.
Audio is cached under $TMPDIR/assistant-bench-audio (shared with bench/wake.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from understanding import MAPPING, label_of, scope  # noqa: E402  (bench/understanding.py: one source of labels)
from wake import DEFAULT_DATA, espeak, piper, silence  # noqa: E402  (cached synthesis)

from assistant.engines import Engines  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from intents.noise import is_noise  # noqa: E402


def sample_rows(rows: list[dict], per_label: int | None, out_of_scope: int | None) -> list[dict]:
    """Supported labels (MAPPING, intent registered) and out-of-scope rows; capped per label / in total unless None."""
    from intents.registry import intents

    registered = set(intents())  # as bench/understanding.py: supported = a MAPPING intent is registered
    order = sorted(rows, key=lambda r: hashlib.sha1(str(r["slurp_id"]).encode()).hexdigest())
    picked, counts, out = [], defaultdict(int), 0
    for row in order:
        label = label_of(row)
        if MAPPING.get(label, set()) & registered and scope(label) == "in":
            if per_label is None or counts[label] < per_label:
                counts[label] += 1
                picked.append(row)
        elif scope(label) == "out":
            if out_of_scope is None or out < out_of_scope:
                out += 1
                picked.append(row)
    return picked


def spoken(sentence: str) -> str:
    """What reaches the ASR: SLURP's recordings address their assistant as "olly"; on our box the wake
    word is heard and cut by the wake-word stage, never transcribed, so it is not synthesised (the
    text path drops it in normalisation too). Only a leading "olly" / "hey olly" goes."""
    return re.sub(r"^(?:hey |ok |okay )?olly\b[ ,]*", "", sentence)


NAME_KEYS = ("name", "area", "location", "search_query")
ASR_MS: list[float] = []


def transcribe(engines: Engines, audio: np.ndarray) -> str:
    """Whisper transcript with the pipeline's drops ('' if it would be dropped)."""
    res = engines.asr.transcribe(np.concatenate([silence(0.2), audio, silence(0.3)]))
    ASR_MS.append(res.duration_ms)
    text = res.text.strip()
    if is_noise(text) or engines.asr.is_noise(res):
        return ""
    return text


def names_of(result: dict) -> dict:
    slots = result.get("slots") or {}
    return {k: str(slots[k]).lower() for k in NAME_KEYS if slots.get(k)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--per-label", type=int, default=20)
    ap.add_argument("--out-of-scope", type=int, default=80)
    ap.add_argument("--all", action="store_true", help="every supported-label and out-of-scope row")
    ap.add_argument("--espeak-voice", default="en-us")
    ap.add_argument("--espeak-speed", type=int, default=160)
    ap.add_argument(
        "--model", help="asr.model: tiny.en, base or a model directory (default: the config default)"
    )
    ap.add_argument(
        "--bias",
        choices=["none", "hotwords", "prompt"],
        default="none",
        help="fill Whisper's hotwords or initial_prompt with the registry's names",
    )
    ap.add_argument("--systems", default="piper,espeak", help="spoken systems to run (text always runs)")
    ap.add_argument(
        "--errors", metavar="FILE", help="write rows where a spoken version differs from text here"
    )
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument(
        "--fold-models",
        metavar="DIR",
        help="the learned tier's cross-validation models (`python -m intents.train --fold-models DIR`); "
        "default: trained here (a few minutes each)",
    )
    args = ap.parse_args()

    from latency import (
        core_understand_and_check,
    )  # the same dry-run core (temp data dir, bench/home.yaml, fixed clock)

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    rows = sample_rows(rows, None if args.all else args.per_label, None if args.all else args.out_of_scope)
    # The learned tier was trained on SLURP devel: each row is answered by the fold model trained without it.
    import subprocess
    import tempfile

    from intents.train import FOLDS, fold_of

    models = args.fold_models
    if not models:
        models = tempfile.mkdtemp(prefix="assistant-folds-")
        subprocess.run([sys.executable, "-m", "intents.train", "--fold-models", models], check=True)
    by_fold = [
        core_understand_and_check(env={"ASSISTANT_LEARNED_MODEL": f"{models}/fold{k}.npz"})
        for k in range(FOLDS)
    ]
    is_complete = by_fold[0][1]
    settings = VoiceSettings()
    if args.model:
        settings.asr.model = args.model
    vocabulary = is_complete.__self__.vocabulary()
    if args.bias == "prompt":
        settings.asr.initial_prompt = ", ".join(vocabulary) + "."
    engines = Engines.load(settings)
    engines.asr.set_vocabulary(vocabulary if args.bias == "hotwords" else [])

    all_systems = {
        "text": lambda r: r["sentence"],
        "piper": lambda r: transcribe(engines, piper(spoken(r["sentence"]))),
        "espeak": lambda r: transcribe(
            engines, espeak(spoken(r["sentence"]), args.espeak_voice, args.espeak_speed)
        ),
    }
    systems = {n: f for n, f in all_systems.items() if n == "text" or n in args.systems.split(",")}
    results: dict[str, list[dict]] = {name: [] for name in systems}
    asr_ms = ASR_MS
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        for name, make_text in systems.items():
            text = make_text(row)
            res = (
                by_fold[fold_of(row["slurp_id"])][0](text).to_dict()
                if text
                else {"intent": None, "slots": {}}
            )
            results[name].append({"text": text, "intent": res["intent"], "slots": res.get("slots")})
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(rows)} rows, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    names = list(systems)
    per_label: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    errors = []
    for i, row in enumerate(rows):
        label = label_of(row)
        oks = {}
        for name in names:
            got = results[name][i]["intent"]
            oks[name] = (got in MAPPING.get(label, set())) if scope(label) == "in" else got is None
            per_label[label][name].append(int(oks[name]))
        if len(set(oks.values())) > 1:
            errors.append(
                {
                    "label": label,
                    "sentence": row["sentence"],
                    **{n: [results[n][i]["text"], results[n][i]["intent"]] for n in names if n != "text"},
                    "text_intent": results["text"][i]["intent"],
                }
            )

    print(
        f"SLURP devel home rows: {len(rows)} ({'all' if args.all else f'sample: <= {args.per_label} per supported label, {args.out_of_scope} out of scope'}); "
        f"espeak-ng voice {args.espeak_voice} at {args.espeak_speed} wpm; asr.model {settings.asr.model}; "
        f"bias {args.bias} ({len(vocabulary)} names); {time.perf_counter() - t0:.0f} s"
    )
    print(f"{'label':24} {'scope':5} {'n':>4} " + " ".join(f"{n:>8}" for n in names))
    for label in sorted(per_label):
        n = len(per_label[label][names[0]])
        cells = " ".join(f"{100 * sum(per_label[label][s]) / n:7.1f}%" for s in names)
        print(f"{label:24} {'in' if scope(label) == 'in' else 'out':5} {n:4d} {cells}")
    print("(out = must not act: the figure is the share left alone)\n")

    report: dict = {
        "rows": len(rows),
        "sample": "all" if args.all else {"per_label": args.per_label, "out_of_scope": args.out_of_scope},
        "asr_model": settings.asr.model,
        "bias": args.bias,
    }
    for name in names:
        inn = [v for l in per_label if scope(l) == "in" for v in per_label[l][name]]
        out = [v for l in per_label if scope(l) == "out" for v in per_label[l][name]]
        labels = [l for l in per_label if scope(l) == "in"]
        macro = statistics.mean(sum(per_label[l][name]) / len(per_label[l][name]) for l in labels)
        report[name] = {
            "in_scope_accuracy": sum(inn) / len(inn),
            "in_scope_macro_accuracy": macro,
            "out_of_scope_false_action_rate": (len(out) - sum(out)) / max(1, len(out)),
            "in_scope": f"{sum(inn)}/{len(inn)}",
            "false_actions": f"{len(out) - sum(out)}/{len(out)}",
        }
        r = report[name]
        print(
            f"{name:7} in-scope accuracy {100 * r['in_scope_accuracy']:5.1f}% ({r['in_scope']}), "
            f"per-label mean {100 * macro:5.1f}%, out-of-scope false-action rate "
            f"{100 * r['out_of_scope_false_action_rate']:5.1f}% ({r['false_actions']})"
        )
    named = [
        i
        for i, row in enumerate(rows)
        if scope(row["intent"]) == "in"
        and results["text"][i]["intent"] in MAPPING.get(row["intent"], set())
        and names_of(results["text"][i])
    ]
    for name in names[1:]:
        print(
            f"{name} vs text: in-scope accuracy ratio {report[name]['in_scope_accuracy'] / report['text']['in_scope_accuracy']:.3f}, "
            f"{100 * (report['text']['in_scope_accuracy'] - report[name]['in_scope_accuracy']):.1f} points below"
        )
        same = sum(
            1
            for i in named
            if results[name][i]["intent"] == results["text"][i]["intent"]
            and names_of(results[name][i]) == names_of(results["text"][i])
        )
        report[name]["name_accuracy"] = same / max(1, len(named))
        report[name]["names"] = f"{same}/{len(named)}"
        print(
            f"{name} name accuracy (same intent and name/area/location/query slots as text): "
            f"{100 * report[name]['name_accuracy']:.1f}% ({same}/{len(named)})"
        )
    report["asr_ms_p50"] = round(float(np.percentile(asr_ms, 50)), 1)
    report["asr_ms_p95"] = round(float(np.percentile(asr_ms, 95)), 1)
    print(
        f"ASR decode per row: p50 {report['asr_ms_p50']} ms, p95 {report['asr_ms_p95']} ms "
        f"(load average {os.getloadavg()[0]:.1f}: shared CPU inflates this)"
    )
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            for e in errors:
                f.write(json.dumps(e) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
