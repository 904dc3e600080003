"""Paused-command set: does early endpointing cut people off who pause mid-command?

    python bench/paused_commands.py                      # Piper + 2 espeak-ng voices, pauses 300/450/600 ms
    python bench/paused_commands.py --pauses 300,500,700 --voices piper,en-us --json paused.json
    python bench/paused_commands.py --model base

Each command is spoken in two halves ("Turn on the" ... "kitchen light."), synthesised separately
(Piper joe with noise_scale=0, noise_w_scale=0, and espeak-ng voices), trimmed of their own
leading/trailing silence and joined with a pause. Every clip goes through the pipeline with the real
text core (bench/home.yaml, dry run) twice: with early endpointing (``Assistant.is_complete``) and
without. A clip is **cut early** when an utterance ended after the short silence
(``vad.early_endpoint_ms``) before the second half began. Pauses longer than
``vad.trailing_silence_ms`` (400 ms) are split by the ordinary endpointer with or without early
endpointing; those splits are counted separately ("split by the timeout"), as today's behaviour.

Two groups: ``hesitation`` (a pause where people search for a word: after "the", "for", "to",
a verb, ...; the goal is <= 1 % cut early) and ``complete_prefix`` (the first half is itself a whole
command, "Dim the living room lights" ... "to fifty percent"; early endpointing cannot know more
is coming, so these are cut when the pause outlasts the short silence: reported as a known limit).
Synthesised audio is cached under $TMPDIR/assistant-bench-audio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.engines import Engines  # noqa: E402
from assistant.voice import process_audio  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from bench.wake import cached, espeak, piper  # noqa: E402

SR = 16000

HESITATION = [
    ("Turn on the", "kitchen light."),
    ("Set an alarm for", "seven thirty."),
    ("Set a timer for", "ten minutes."),
    ("Turn off the", "bedroom light."),
    ("Play", "some jazz."),
    ("Set the thermostat to", "twenty one degrees."),
    ("What's the weather like in", "Paris tomorrow?"),
    ("Dim the", "living room lamp."),
    ("Turn on the lamp in the", "office."),
    ("Wake me up at", "six thirty."),
    ("Switch off the", "bathroom light."),
    ("Set the living room lamp to", "blue."),
    ("Cancel the", "pizza timer."),
    ("Set a pizza timer for", "twelve minutes."),
    ("Start the", "vacuum."),
    ("Turn off all the", "lights."),
    ("How much time is left on the", "timer?"),
    ("Set the bedroom light to", "fifty percent."),
    ("Turn on the", "hallway light."),
    ("Set a timer for", "three minutes."),
    ("Set an alarm for", "six in the morning."),
    ("Turn off the", "TV plug."),
    ("What's the temperature in", "the kitchen?"),
    ("Turn the volume", "up."),
    ("Play", "the next song."),
]
COMPLETE_PREFIX = [
    ("Dim the living room lamp", "to fifty percent."),
    ("Set an alarm for seven", "thirty."),
    ("Turn on the kitchen light", "and the hallway light."),
    ("Set a timer for five minutes", "and thirty seconds."),
]
ESPEAK = {"en-us": ("en-us", 160), "en-gb": ("en-gb", 150), "en-us+f3": ("en-us+f3", 170)}


def trim(audio: np.ndarray, level: int = 200) -> np.ndarray:
    """Drop the synthesiser's own leading/trailing silence, so the pause is the one we insert."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > level)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def half(text: str, voice: str) -> np.ndarray:
    audio = piper(text) if voice == "piper" else espeak(text, *ESPEAK[voice])
    return trim(audio)


def clip(first: str, second: str, voice: str, pause_ms: int) -> tuple[np.ndarray, float]:
    """(audio, second-half start in s): 0.5 s silence, first half, pause, second half, 1.2 s silence."""

    def make() -> np.ndarray:
        a, b = half(first, voice), half(second, voice)
        return np.concatenate(
            [
                np.zeros(SR // 2, np.int16),
                a,
                np.zeros(pause_ms * SR // 1000, np.int16),
                b,
                np.zeros(int(1.2 * SR), np.int16),
            ]
        )

    audio = cached(("paused", first, second, voice, pause_ms), make)
    second_start = len(audio) / SR - 1.2 - len(half(second, voice)) / SR
    return audio, second_start


def run_clip(audio: np.ndarray, second_start: float, understand, is_complete, settings, engines) -> dict:
    def silent(text: str) -> dict:  # the answer is not spoken: synthesis would only slow the bench down
        r = understand(text)
        return dict(r if isinstance(r, dict) else r.to_dict(), response="")

    results = process_audio(audio, silent, settings, no_wake=True, engines=engines, is_complete=is_complete)
    before = [r for r in results if r["speech_end_s"] < second_start]
    return {
        "utterances": len(results),
        "cut_early": any(r["early_endpoint"] for r in before),
        "split_by_timeout": bool(before) and not any(r["early_endpoint"] for r in before),
        "early_at_end": bool(results) and results[-1]["early_endpoint"] and not before,
        "transcripts": [r["transcript"] for r in results],
        "intents": [r.get("intent") for r in results],
    }


def main() -> None:
    from bench.latency import core_understand_and_check

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pauses", default="300,450,600", help="pause lengths in ms, comma-separated")
    ap.add_argument(
        "--voices", default="piper,en-us,en-gb", help=f"piper and/or espeak-ng voices {list(ESPEAK)}"
    )
    ap.add_argument("--model", help="asr.model (tiny.en, base or a path); default: the config default")
    ap.add_argument("--early-ms", type=int, help="vad.early_endpoint_ms (default: the config default)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run without early endpointing")
    ap.add_argument("--json", help="write per-clip results to this file")
    args = ap.parse_args()

    settings = VoiceSettings()
    settings.tts.noise_scale = settings.tts.noise_w_scale = 0.0
    if args.model:
        settings.asr.model = args.model
    if args.early_ms is not None:
        settings.vad.early_endpoint_ms = args.early_ms
    understand, is_complete = core_understand_and_check()
    engines = Engines.load(settings)
    pauses = [int(p) for p in args.pauses.split(",")]
    voices = args.voices.split(",")
    t0 = time.perf_counter()
    rows = []
    for group, pairs in (("hesitation", HESITATION), ("complete_prefix", COMPLETE_PREFIX)):
        for first, second in pairs:
            for voice in voices:
                for pause in pauses:
                    audio, start = clip(first, second, voice, pause)
                    row = {
                        "group": group,
                        "first": first,
                        "second": second,
                        "voice": voice,
                        "pause_ms": pause,
                    }
                    row["early"] = run_clip(audio, start, understand, is_complete, settings, engines)
                    if not args.no_baseline:
                        row["baseline"] = run_clip(audio, start, understand, None, settings, engines)
                    rows.append(row)
    wall = time.perf_counter() - t0
    print(
        f"{len(rows)} clips ({len(HESITATION)} + {len(COMPLETE_PREFIX)} commands x voices {voices} x pauses {pauses} ms), "
        f"asr.model {settings.asr.model}, vad.early_endpoint_ms {settings.vad.early_endpoint_ms}, "
        f"trailing_silence_ms {settings.vad.trailing_silence_ms}; {wall:.0f} s"
    )
    summary = {}
    for group in ("hesitation", "complete_prefix"):
        g = [r for r in rows if r["group"] == group]
        s = {
            "clips": len(g),
            "cut_early": sum(r["early"]["cut_early"] for r in g),
            "split_by_timeout_with_early": sum(r["early"]["split_by_timeout"] for r in g),
        }
        if not args.no_baseline:
            s["split_by_timeout_baseline"] = sum(r["baseline"]["split_by_timeout"] for r in g)
        s["by_pause"] = {
            p: {
                "clips": sum(1 for r in g if r["pause_ms"] == p),
                "cut_early": sum(r["early"]["cut_early"] for r in g if r["pause_ms"] == p),
                "split_by_timeout": sum(r["early"]["split_by_timeout"] for r in g if r["pause_ms"] == p),
            }
            for p in pauses
        }
        summary[group] = s
        print(
            f"== {group}: cut early {s['cut_early']}/{s['clips']} ({100 * s['cut_early'] / max(1, s['clips']):.1f} %); "
            f"split by the {settings.vad.trailing_silence_ms} ms timeout: {s['split_by_timeout_with_early']} with early "
            f"endpointing"
            + (f", {s['split_by_timeout_baseline']} without" if "split_by_timeout_baseline" in s else "")
        )
        for p, v in s["by_pause"].items():
            print(
                f"   pause {p} ms: cut early {v['cut_early']}/{v['clips']}, split by timeout {v['split_by_timeout']}"
            )
        for r in g:
            if r["early"]["cut_early"]:
                print(
                    f"   cut early: [{r['voice']}, {r['pause_ms']} ms] {r['first']!r} | {r['second']!r} -> "
                    f"{r['early']['transcripts']}"
                )
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "clips": rows}, indent=2, default=str))


if __name__ == "__main__":
    main()
