#!/usr/bin/env python3
"""Understanding benchmark on SLURP's home commands (Bastianelli et al., EMNLP 2020; CC BY 4.0).

Runs `assistant ask -` over the sentences (a fresh, throw-away data dir, --dry-run) and, in the
same run, stock hassil + home-assistant-intents over a generic home, and prints per label:
in-scope accuracy, out-of-scope false-action rate and p50/p95 per utterance for both.

    python bench/understanding.py [--data ../shared/data/slurp_devel_home.jsonl] [--labels alarm_,datetime_]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# SLURP label -> the intents that count as right. Labels not here and not in OUT_OF_SCOPE/SKIP are
# in scope but not supported yet (counted as misses).
MAPPING: dict[str, set[str]] = {
    "alarm_set": {"SetAlarm", "HassStartTimer"},
    "alarm_query": {"ListAlarms"},
    "alarm_remove": {"CancelAlarm"},
    "datetime_query": {"HassGetCurrentTime", "HassGetCurrentDate"},
    # devices (issue 3)
    "iot_hue_lighton": {"HassTurnOn"},
    "iot_hue_lightoff": {"HassTurnOff"},
    "iot_hue_lightchange": {"HassLightSet"},
    "iot_hue_lightdim": {"HassLightSet"},
    "iot_hue_lightup": {"HassLightSet"},
    "iot_wemo_on": {"HassTurnOn"},
    "iot_wemo_off": {"HassTurnOff"},
    "iot_cleaning": {"HassVacuumStart", "HassTurnOn"},
    # media and weather (issue 4)
    **{label: {"HassMediaSearchAndPlay", "HassMediaPause", "HassMediaUnpause", "HassMediaNext", "HassMediaPrevious"}
       for label in ("play_music", "play_radio", "play_podcasts", "play_audiobook")},
    "weather_query": {"HassGetWeather"},
    "audio_volume_up": {"HassSetVolumeRelative", "HassSetVolume"},
    "audio_volume_down": {"HassSetVolumeRelative", "HassSetVolume"},
    "audio_volume_mute": {"HassMediaPlayerMute", "HassSetVolume"},
}
OUT_OF_SCOPE_PREFIXES = ("play_game", "calendar_", "datetime_convert", "music_likeness", "music_dislikeness")
SKIP = {"audio_volume_other", "music_settings", "music_query", "iot_coffee"}

# A generic home for stock Home Assistant: what a typical install would expose.
GENERIC_AREAS = ["kitchen", "living room", "bedroom", "bathroom", "office", "hallway", "garage", "dining room"]
GENERIC_NAMES = [
    "kitchen light", "living room lamp", "bedroom light", "ceiling light", "hallway light", "office light",
    "tv", "speaker", "thermostat", "garage door", "front door", "vacuum", "robot vacuum", "fan", "heater",
    "plug", "socket", "coffee maker", "music", "radio",
]


def scope(label: str) -> str:
    if label in SKIP:
        return "skip"
    if label.startswith(OUT_OF_SCOPE_PREFIXES):
        return "out"
    return "in"


def run_ours(sentences: list[str], assistant_cmd: list[str]) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, ASSISTANT_DATA_DIR=data_dir, ASSISTANT_TZ="UTC")
        started = time.perf_counter()
        proc = subprocess.run(
            [*assistant_cmd, "ask", "-", "--dry-run", "--now", "2026-11-29T10:00"],
            input="\n".join(sentences) + "\n", capture_output=True, text=True, env=env, check=False,
        )
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"assistant ask - failed ({proc.returncode}):\n{proc.stderr}")
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    if len(results) != len(sentences):
        sys.exit(f"expected {len(sentences)} results, got {len(results)}")
    return results, wall


def run_stock_ha(sentences: list[str]) -> list[dict]:
    import home_assistant_intents
    from hassil import Intents, TextSlotList, recognize_best

    data = home_assistant_intents.get_intents("en")
    intents = Intents.from_dict(data)
    lists = {
        "area": TextSlotList.from_strings(GENERIC_AREAS),
        "name": TextSlotList.from_strings(GENERIC_NAMES),
        "floor": TextSlotList.from_strings(["upstairs", "downstairs"]),
    }
    recognize_best("what time is it", intents, slot_lists=lists, language="en")  # warm up
    out = []
    for sentence in sentences:
        t0 = time.perf_counter()
        result = recognize_best(sentence, intents, slot_lists=lists, language="en")
        ms = (time.perf_counter() - t0) * 1000
        out.append({"intent": result.intent.name if result else None, "timings_ms": {"total": ms}})
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(here.parent.parent / "shared/data/slurp_devel_home.jsonl"))
    ap.add_argument("--labels", default="", help="comma-separated label prefixes to show in the summary line")
    ap.add_argument("--errors", metavar="FILE", help="write our misses and false actions as JSON lines here")
    ap.add_argument("--no-ha", action="store_true", help="skip the stock Home Assistant comparison")
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    rows = [r for r in rows if scope(r["intent"]) != "skip"]
    sentences = [r["sentence"] for r in rows]
    ours, wall = run_ours(sentences, [sys.executable, "-m", "assistant.cli"])
    systems = {"ours": ours}
    if not args.no_ha:
        systems["stock_ha"] = run_stock_ha(sentences)

    print(f"SLURP devel home rows used: {len(rows)} (skipped labels: {', '.join(sorted(SKIP))})")
    print(f"assistant ask - wall time for all rows: {wall:.1f} s (includes start-up)\n")
    per_label: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    errors = []
    for i, row in enumerate(rows):
        label = row["intent"]
        for name, results in systems.items():
            got = results[i]["intent"]
            ok = (got in MAPPING.get(label, set())) if scope(label) == "in" else got is None
            per_label[label][name].append(int(ok))
            if name == "ours" and not ok:
                errors.append({"label": label, "sentence": row["sentence"], "got": got, "slots": results[i].get("slots")})
    names = list(systems)
    print(f"{'label':24} {'scope':5} {'n':>4} " + " ".join(f"{n:>9}" for n in names))
    for label in sorted(per_label):
        n = len(per_label[label][names[0]])
        cells = " ".join(f"{100 * sum(per_label[label][s]) / n:8.1f}%" for s in names)
        supported = "in" if label in MAPPING else ("out" if scope(label) == "out" else "in*")
        print(f"{label:24} {supported:5} {n:4d} {cells}")
    print("(in* = in scope, not supported yet; out = must not act: the figure is the share left alone)\n")

    def summary(title: str, pred) -> None:
        labels = [l for l in per_label if pred(l)]
        for s in names:
            hits = sum(sum(per_label[l][s]) for l in labels)
            total = sum(len(per_label[l][s]) for l in labels)
            print(f"{title:48} {s:9} {100 * hits / max(total, 1):6.1f}%  ({hits}/{total})")

    summary("in-scope accuracy, supported labels", lambda l: l in MAPPING and scope(l) == "in")
    summary("in-scope accuracy, all in-scope labels", lambda l: scope(l) == "in")
    for prefix in filter(None, args.labels.split(",")):
        summary(f"in-scope accuracy, {prefix}*", lambda l, p=prefix: l.startswith(p) and scope(l) == "in")
    for s in names:
        out_rows = [v for l in per_label if scope(l) == "out" for v in per_label[l][s]]
        false = len(out_rows) - sum(out_rows)
        print(f"{'out-of-scope false-action rate':48} {s:9} {100 * false / max(len(out_rows), 1):6.1f}%  ({false}/{len(out_rows)})")
    print()
    for s in names:
        times = [r["timings_ms"]["total"] for r in systems[s]]
        print(f"per-utterance recognition time {s:9} p50 {percentile(times, 0.5):6.2f} ms  p95 {percentile(times, 0.95):6.2f} ms")
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            for e in errors:
                f.write(json.dumps(e) + "\n")


if __name__ == "__main__":
    main()
