"""Voice latency benchmark: Piper-synthesised commands through the whole pipeline, faster than real time.

    python bench/latency.py                 # the real text core (dry run), no wake word
    python bench/latency.py --wake micro    # "okay nabu" (espeak-ng) before each command
    python bench/latency.py --compare       # speculative / short encoder on and off
    python bench/latency.py --understand keywords         # the tiny keyword matcher of the tests
    python bench/latency.py --understand mypkg.mod:func   # another text core (str -> dict)

The default text core is ``Assistant`` (assistant/core.py) on a throw-away data dir with the devices
of bench/home.yaml, asked with ``dry_run=True`` (nothing is switched, nothing persists).
Prints p50/p95 per stage, end of speech -> action / first audio, the first utterance against the
rest (one-time warm-up), intent per command, idle CPU % for both wake engines and the peak RSS of a
service-like process (core + models + wake + VAD, measured in a child process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.asr import Transcriber  # noqa: E402
from assistant.audio import blocks  # noqa: E402
from assistant.pipeline import Engines, Pipeline, process_audio  # noqa: E402
from assistant.tts import Tts  # noqa: E402
from assistant.vad import normalize_text  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from tests.fixtures_voice import join, keyword_understand, noise, piper_speech, silence, wake_phrase  # noqa: E402

# command -> the intent the core should give (None: out of scope, must not act)
EXPECTED: dict[str, str | None] = {
    "Set a timer for five minutes.": "HassStartTimer", "Set a timer for ten minutes.": "HassStartTimer",
    "Set a pizza timer for twelve minutes.": "HassStartTimer", "Cancel the timer.": "HassCancelTimer",
    "How much time is left on the timer?": "HassTimerStatus", "Set an alarm for seven in the morning.": "SetAlarm",
    "Wake me up at six thirty.": "SetAlarm", "Cancel my alarm.": "CancelAlarm", "What alarms do I have?": "ListAlarms",
    "Turn on the kitchen light.": "HassTurnOn", "Turn off the kitchen light.": "HassTurnOff",
    "Turn on the bedroom lights.": "HassTurnOn", "Turn off all the lights.": "HassTurnOff",
    "Dim the living room lights to fifty percent.": "HassLightSet", "Turn on the lamp in the office.": "HassTurnOn",
    "Switch off the bathroom light.": "HassTurnOff", "Set the living room lamp to blue.": "HassLightSet",
    "What time is it?": "HassGetCurrentTime", "What's the date today?": "HassGetCurrentDate",
    "What day is it tomorrow?": "HassGetCurrentDate", "What's the weather like today?": "HassGetWeather",
    "Will it rain tomorrow?": "HassGetWeather", "What's the temperature outside?": "HassGetWeather",
    "Play some music.": "HassMediaSearchAndPlay", "Pause the music.": "HassMediaPause", "Next song.": "HassMediaNext",
    "Turn the volume up.": "HassSetVolumeRelative", "Set the thermostat to twenty one degrees.": "HassClimateSetTemperature",
    "Start the vacuum.": "HassVacuumStart", "Turn on the TV plug.": "HassTurnOn",
    "Add milk to the shopping list.": None, "Stop.": "HassMediaPause",
}
COMMANDS = list(EXPECTED)
STAGES = ["asr", "nlu", "tts_first_audio", "endpoint_delay", "end_of_speech_to_action", "end_of_speech_to_first_audio"]
BENCH_NOW = dt.datetime(2026, 11, 29, 10, 0)  # fixed clock for the core, as in bench/understanding.py


def core_understand(home: str | None = str(ROOT / "bench" / "home.yaml"), env: dict[str, str] | None = None):
    """The real text core: ``Assistant`` on a temp data dir (removed at exit), dry run, fixed clock;
    ``env``: more ASSISTANT_* settings (e.g. ASSISTANT_LEARNED_MODEL)."""
    import atexit
    import logging

    from assistant.config import load_config
    from assistant.core import Assistant

    logging.getLogger("devices").setLevel(logging.ERROR)  # "music folder does not exist" is expected here
    data_dir = tempfile.TemporaryDirectory(prefix="assistant-bench-")
    config = load_config(home, env={"ASSISTANT_DATA_DIR": data_dir.name, "ASSISTANT_TZ": "UTC", **(env or {})})
    assistant = Assistant(config)
    atexit.register(data_dir.cleanup)
    atexit.register(assistant.close)
    return lambda text: assistant.ask(text, now=BENCH_NOW, dry_run=True)


def pick_understand(spec: str | None):
    if not spec or spec == "core":
        return core_understand()
    if spec == "keywords":
        return keyword_understand
    mod, func = spec.split(":")
    return getattr(importlib.import_module(mod), func)


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
    aligned = len(results) == len(commands)
    exact = sum(1 for r, c in zip(results, commands) if same_words(r["transcript"], c)) if aligned else None
    intents_ok = sum(1 for r, c in zip(results, commands) if r.get("intent") == EXPECTED.get(c)) if aligned else None
    rest = {s: v[1:] for s, v in stats.items()}
    return {
        "utterances": len(results), "commands": len(commands), "transcripts_exact": exact,
        "intents_as_expected": intents_ok,
        "speculative_used": sum(1 for r in results if r["asr_speculative"]),
        "audio_s": round(len(audio) / 16000, 1), "wall_s": round(wall, 2),
        "p50": {s: round(pct(v, 50), 1) for s, v in stats.items()},
        "p95": {s: round(pct(v, 95), 1) for s, v in stats.items()},
        "first": {s: v[0] for s, v in stats.items() if v},
        "rest_p50": {s: round(pct(v, 50), 1) for s, v in rest.items()},
        "misses": [r["transcript"] for r, c in zip(results, commands) if not same_words(r["transcript"], c)],
        "wrong_intents": [(c, r["transcript"], r.get("intent")) for r, c in zip(results, commands)
                          if r.get("intent") != EXPECTED.get(c)] if aligned else [],
    }


def idle_cpu(settings: VoiceSettings, engines: Engines, seconds: float = 20.0, no_wake: bool = False) -> float:
    """% of one core used by the listening loop on quiet room noise (no speech)."""
    pipe = Pipeline(keyword_understand, settings, no_wake=no_wake, engines=engines)
    audio = noise(seconds, 0.005, seed=7)
    t0 = time.process_time()
    for b in blocks(audio, 512):
        pipe.feed(b)
    return 100.0 * (time.process_time() - t0) / seconds


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it is not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def probe(audio_path: str, wake: str, warm: bool) -> None:
    """Child process, like a fresh service: core + Whisper + Piper + one wake engine + VAD, then the
    commands in `audio_path`. Prints per-utterance timings (first one included) and the peak RSS."""
    settings = VoiceSettings()
    settings.tts.noise_scale = settings.tts.noise_w_scale = 0.0
    settings.wake.engine = wake
    understand = core_understand()
    # Engines.load warms ASR and TTS up once; warm=False builds them bare, to show what that saves
    engines = Engines.load(settings) if warm else Engines(Transcriber(settings.asr), Tts(settings.tts))
    results = process_audio(np.load(audio_path), understand, settings, no_wake=True, engines=engines)
    pipe = Pipeline(understand, settings, engines=engines)  # the wake engine, listening
    for b in blocks(noise(2.0, 0.005), 512):
        pipe.feed(b)
    print(json.dumps({"timings": [r["timings_ms"] for r in results], "peak_rss_mb": peak_rss_mb()}))


def fresh_process(wake: str, warm: bool, commands: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as f:
        np.save(f, build_audio(commands, wake=False))
    try:
        cmd = [sys.executable, __file__, "--probe", f.name, "--wake", wake] + ([] if warm else ["--cold"])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    report = json.loads(out.strip().splitlines()[-1])
    t = report.pop("timings")
    report["first"] = t[0]
    report["rest_p50"] = {s: round(pct([x[s] for x in t[1:]], 50), 1) for s in STAGES}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wake", choices=["micro", "openwakeword"], help="put 'okay nabu' before each command")
    ap.add_argument("--compare", action="store_true", help="also run without speculative decoding / short encoder")
    ap.add_argument("--understand", help="'core' (default: Assistant, dry run), 'keywords', or module:function")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--probe", metavar="NPY", help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        return probe(args.probe, args.wake or "micro", warm=not args.cold)

    t0 = time.perf_counter()
    understand = pick_understand(args.understand)
    core_load_s = time.perf_counter() - t0

    settings = VoiceSettings()
    settings.tts.noise_scale = settings.tts.noise_w_scale = 0.0
    if args.wake:
        settings.wake.engine = args.wake
    t0 = time.perf_counter()
    engines = Engines.load(settings)  # includes one warm-up decode + synthesis
    load_s = time.perf_counter() - t0
    for text in COMMANDS:  # synthesise the inputs before measuring
        piper_speech(text)

    report: dict = {"model_load_s": round(load_s, 2), "core_load_s": round(core_load_s, 2),
                    "understand": args.understand or "core"}
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
    report["bench_peak_rss_mb"] = peak_rss_mb()
    # fresh processes: 10 distinct commands (answers not in the phrase cache), first utterance vs the rest
    fresh = COMMANDS[::3][:10]
    report["fresh_process"] = {"micro_warm": fresh_process("micro", True, fresh),
                               "openwakeword_warm": fresh_process("openwakeword", True, fresh),
                               "micro_no_warm_up": fresh_process("micro", False, fresh)}

    print(f"text core: {report['understand']} (load {report['core_load_s']} s) | Whisper + Piper load "
          f"with warm-up: {report['model_load_s']} s")
    for name, _ in variants:
        r = report[name]
        print(f"== {name}: {r['utterances']}/{r['commands']} utterances, exact transcripts {r['transcripts_exact']}, "
              f"intents as expected {r['intents_as_expected']}, speculative reused {r['speculative_used']}, "
              f"{r['audio_s']} s audio in {r['wall_s']} s")
        print(f"   {'stage':32s} {'p50 ms':>8s} {'p95 ms':>8s} {'1st utt':>8s} {'rest p50':>8s}")
        for stage in STAGES:
            print(f"   {stage:32s} {r['p50'][stage]:8.1f} {r['p95'][stage]:8.1f} "
                  f"{r['first'].get(stage, float('nan')):8.1f} {r['rest_p50'][stage]:8.1f}")
        if r["misses"]:
            print("   transcripts differing from the text:", r["misses"])
        if r["wrong_intents"]:
            print("   intents not as expected (command, transcript, intent):", r["wrong_intents"])
    print("fresh process (like `assistant serve`), 10 commands: first utterance vs p50 of the other 9 (ms)")
    print(f"   {'':22s} " + " ".join(f"{st:>30s}" for st in ("asr", "nlu", "tts_first_audio", "end_of_speech_to_first_audio")))
    for name, r in report["fresh_process"].items():
        print(f"   {name:22s} " + " ".join(f"{r['first'][st]:14.1f} vs {r['rest_p50'][st]:11.1f}"
                                           for st in ("asr", "nlu", "tts_first_audio", "end_of_speech_to_first_audio")))
    print("idle CPU (% of one core):", report["idle_cpu_percent"])
    print("peak RSS (MB) of a fresh service-like process (core + Whisper + Piper + wake + VAD):",
          {name: r["peak_rss_mb"] for name, r in report["fresh_process"].items()},
          "| this bench process (+ both wake engines, a second Piper for the inputs):", report["bench_peak_rss_mb"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
