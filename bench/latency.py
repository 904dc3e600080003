"""Voice latency benchmark: Piper-synthesised commands through the whole pipeline, faster than real time.

    python bench/latency.py                 # default settings, no wake word
    python bench/latency.py --wake micro    # "okay nabu" (espeak-ng) before each command
    python bench/latency.py --compare       # speculative / short encoder on and off
    python bench/latency.py --understand mypkg.mod:func   # another text core (str -> dict)

Prints p50/p95 per stage, end of speech -> action / first audio, idle CPU % and peak RSS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.audio import blocks  # noqa: E402
from assistant.pipeline import Engines, Pipeline, process_audio  # noqa: E402
from assistant.vad import normalize_text  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from assistant.wake import make_wake  # noqa: E402
from tests.fixtures_voice import join, keyword_understand, noise, piper_speech, silence, wake_phrase  # noqa: E402

COMMANDS = [
    "Set a timer for five minutes.", "Set a timer for ten minutes.", "Set a pizza timer for twelve minutes.",
    "Cancel the timer.", "How much time is left on the timer?", "Set an alarm for seven in the morning.",
    "Wake me up at six thirty.", "Cancel my alarm.", "Turn on the kitchen light.", "Turn off the kitchen light.",
    "Turn on the bedroom lights.", "Turn off all the lights.", "Dim the living room lights to fifty percent.",
    "Turn on the lamp in the office.", "Switch off the bathroom light.", "What time is it?",
    "What's the date today?", "What day is it tomorrow?", "What's the weather like today?",
    "Will it rain tomorrow?", "What's the temperature outside?", "Play some music.", "Pause the music.",
    "Next song.", "Turn the volume up.", "Set the thermostat to twenty one degrees.", "Open the garage door.",
    "Lock the front door.", "Add milk to the shopping list.", "Remind me to call mom at five.", "Stop.",
    "Turn on the fan.",
]
STAGES = ["asr", "nlu", "tts_first_audio", "endpoint_delay", "end_of_speech_to_action", "end_of_speech_to_first_audio"]


def same_words(a: str, b: str) -> bool:
    """Transcript equals the text, up to case, punctuation and digits vs number words."""
    from text_to_num import alpha2digit

    norm = lambda x: normalize_text(alpha2digit(x.replace("%", " percent"), "en")).replace(" ", "")  # noqa: E731
    return norm(a) == norm(b)


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def build_audio(commands: list[str], wake: bool, gap_s: float = 1.5) -> np.ndarray:
    parts = [silence(0.5)]
    for text in commands:
        if wake:
            parts += [wake_phrase(), silence(0.3)]
        parts += [piper_speech(text), silence(gap_s)]
    return join(*parts)


def run(settings: VoiceSettings, understand, commands: list[str], wake: bool, engines: Engines) -> dict:
    audio = build_audio(commands, wake)
    t0 = time.perf_counter()
    results = process_audio(audio, understand, settings, no_wake=not wake, engines=engines)
    wall = time.perf_counter() - t0
    stats = {s: [r["timings_ms"][s] for r in results] for s in STAGES}
    exact = sum(1 for r, c in zip(results, commands) if same_words(r["transcript"], c)) \
        if len(results) == len(commands) else None
    return {
        "utterances": len(results), "commands": len(commands), "transcripts_exact": exact,
        "speculative_used": sum(1 for r in results if r["asr_speculative"]),
        "audio_s": round(len(audio) / 16000, 1), "wall_s": round(wall, 2),
        "p50": {s: round(pct(v, 50), 1) for s, v in stats.items()},
        "p95": {s: round(pct(v, 95), 1) for s, v in stats.items()},
        "misses": [r["transcript"] for r, c in zip(results, commands) if not same_words(r["transcript"], c)],
    }


def idle_cpu(settings: VoiceSettings, engines: Engines, seconds: float = 20.0, no_wake: bool = False) -> float:
    """% of one core used by the listening loop on quiet room noise (no speech)."""
    pipe = Pipeline(keyword_understand, settings, no_wake=no_wake, engines=engines)
    audio = noise(seconds, 0.005, seed=7)
    t0 = time.process_time()
    for b in blocks(audio, 512):
        pipe.feed(b)
    return 100.0 * (time.process_time() - t0) / seconds


def wake_error_rates(settings: VoiceSettings, positives: list[np.ndarray], negative_audio: np.ndarray) -> dict:
    """False rejects over `positives` (clips with the wake word) and false accepts per hour of `negative_audio`."""
    misses = 0
    for clip in positives:
        det = make_wake(settings.wake)
        if not any(det.process(b) for b in blocks(join(silence(0.5), clip, silence(1.0)), 512)):
            misses += 1
    det = make_wake(settings.wake)
    accepts = sum(1 for b in blocks(negative_audio, 512) if det.process(b) is not None)
    hours = len(negative_audio) / 16000 / 3600
    return {"false_reject_rate": misses / max(1, len(positives)), "false_accepts_per_hour": accepts / hours}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wake", choices=["micro", "openwakeword"], help="put 'okay nabu' before each command")
    ap.add_argument("--compare", action="store_true", help="also run without speculative decoding / short encoder")
    ap.add_argument("--understand", help="module:function to use as the text core (default: keyword matcher)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    understand = keyword_understand
    if args.understand:
        mod, func = args.understand.split(":")
        understand = getattr(importlib.import_module(mod), func)

    settings = VoiceSettings()
    settings.tts.noise_scale = settings.tts.noise_w_scale = 0.0
    if args.wake:
        settings.wake.engine = args.wake
    t0 = time.perf_counter()
    engines = Engines.load(settings)
    load_s = time.perf_counter() - t0
    for text in COMMANDS:  # synthesise the inputs before measuring
        piper_speech(text)

    report: dict = {"model_load_s": round(load_s, 2)}
    variants = [("default", {}), ("tts_no_phrase_cache", {"_tts_cache": 0})]
    if args.compare:
        variants += [("no_speculative", {"speculative": False}), ("full_30s_encoder", {"short_encoder": False}),
                     ("neither", {"speculative": False, "short_encoder": False})]
    for name, asr_over in variants:
        s = settings.model_copy(deep=True)
        for k, v in asr_over.items():
            if k == "_tts_cache":
                s.tts.phrase_cache_size = v
            else:
                setattr(s.asr, k, v)
        engines.asr.s, engines.tts.s = s.asr, s.tts
        engines.tts._cache.clear()
        report[name] = run(s, understand, COMMANDS, bool(args.wake), engines)
    engines.asr.s, engines.tts.s = settings.asr, settings.tts

    report["idle_cpu_percent"] = {
        "micro_wake": round(idle_cpu(settings.model_copy(update={"wake": settings.wake.model_copy(update={"engine": "micro"})}), engines), 2),
        "openwakeword_wake": round(idle_cpu(settings.model_copy(update={"wake": settings.wake.model_copy(update={"engine": "openwakeword"})}), engines), 2),
        "no_wake_vad_only": round(idle_cpu(settings, engines, no_wake=True), 2),
    }
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    for name, _ in variants:
        r = report[name]
        print(f"== {name}: {r['utterances']}/{r['commands']} utterances, exact transcripts {r['transcripts_exact']}, "
              f"speculative reused {r['speculative_used']}, {r['audio_s']} s audio in {r['wall_s']} s")
        print(f"   {'stage':32s} {'p50 ms':>8s} {'p95 ms':>8s}")
        for stage in STAGES:
            print(f"   {stage:32s} {r['p50'][stage]:8.1f} {r['p95'][stage]:8.1f}")
        if r["misses"]:
            print("   transcripts differing from the text:", r["misses"])
    print("idle CPU (% of one core):", report["idle_cpu_percent"])
    print("peak RSS (MB):", report["peak_rss_mb"], "| model load (s):", report["model_load_s"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
