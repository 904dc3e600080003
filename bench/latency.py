"""Voice latency benchmark: Piper-synthesised commands through the whole pipeline, faster than real time.

    python bench/latency.py                 # the real text core (dry run), no wake word
    python bench/latency.py --quick         # only the side-by-side latency runs (no paused set, CPU, RSS)
    python bench/latency.py --wake micro    # "okay nabu" (espeak-ng) before each command
    python bench/latency.py --model base    # asr.model (tiny.en, base or a path)
    python bench/latency.py --compare       # speculative / short encoder on and off
    python bench/latency.py --quick --cpu-clock   # CPU time, one thread per engine: for a loaded machine
    python bench/latency.py --understand keywords         # the tiny keyword matcher of the tests
    python bench/latency.py --understand mypkg.mod:func   # another text core (str -> dict)

The default text core is ``Assistant`` (assistant/core.py) on a throw-away data dir with the devices
of bench/home.yaml, asked with ``dry_run=True`` (nothing is switched, nothing persists).
Prints p50/p95 per stage and end of speech -> action / first audio **with and without early
endpointing side by side** (``Assistant.is_complete`` ends a complete command after
``vad.early_endpoint_ms`` of silence), for the Piper set and 10 espeak-ng commands; how many
utterances ended early; the early-cut count on the paused-command set (bench/paused_commands.py,
Piper, pauses 300 and 450 ms); the first utterance against the rest (one-time warm-up), intent per
command, idle CPU % for both wake engines and the peak RSS of a service-like process (core + models
+ wake + VAD, measured in a child process).

``endpoint_silence`` is the silence the endpointer waited on the audio clock (does not depend on CPU
load); ``endpoint_delay`` adds the processing that ran before the decision (the speculative decode
and the completeness check, on the busy clock).
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
from assistant.engines import Engines  # noqa: E402
from assistant.pipeline import Pipeline  # noqa: E402
from assistant.tts import Tts  # noqa: E402
from assistant.voice import process_audio  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from intents.normalize import plain  # noqa: E402
from tests.fixtures_voice import join, keyword_understand, noise, piper_speech, silence, wake_phrase  # noqa: E402

# command -> the intent the core should give (None: out of scope, must not act)
EXPECTED: dict[str, str | None] = {
    "Set a timer for five minutes.": "HassStartTimer",
    "Set a timer for ten minutes.": "HassStartTimer",
    "Set a pizza timer for twelve minutes.": "HassStartTimer",
    "Cancel the timer.": "HassCancelTimer",
    "How much time is left on the timer?": "HassTimerStatus",
    "Set an alarm for seven in the morning.": "SetAlarm",
    "Wake me up at six thirty.": "SetAlarm",
    "Cancel my alarm.": "CancelAlarm",
    "What alarms do I have?": "ListAlarms",
    "Turn on the kitchen light.": "HassTurnOn",
    "Turn off the kitchen light.": "HassTurnOff",
    "Turn on the bedroom lights.": "HassTurnOn",
    "Turn off all the lights.": "HassTurnOff",
    "Dim the living room lights to fifty percent.": "HassLightSet",
    "Turn on the lamp in the office.": "HassTurnOn",
    "Switch off the bathroom light.": "HassTurnOff",
    "Set the living room lamp to blue.": "HassLightSet",
    "What time is it?": "HassGetCurrentTime",
    "What's the date today?": "HassGetCurrentDate",
    "What day is it tomorrow?": "HassGetCurrentDate",
    "What's the weather like today?": "HassGetWeather",
    "Will it rain tomorrow?": "HassGetWeather",
    "What's the temperature outside?": "HassGetWeather",
    "Play some music.": "HassMediaSearchAndPlay",
    "Pause the music.": "HassMediaPause",
    "Next song.": "HassMediaNext",
    "Turn the volume up.": "HassSetVolumeRelative",
    "Set the thermostat to twenty one degrees.": "HassClimateSetTemperature",
    "Start the vacuum.": "HassVacuumStart",
    "Turn on the TV plug.": "HassTurnOn",
    "Add milk to the shopping list.": "HassListAddItem",
    "Stop.": "HassMediaPause",
}
COMMANDS = list(EXPECTED)
STAGES = [
    "asr",
    "nlu",
    "tts_first_audio",
    "tts_late",
    "endpoint_silence",
    "endpoint_delay",
    "end_of_speech_to_action",
    "end_of_speech_to_first_audio",
]
ESPEAK_COMMANDS = [
    "Set a timer for five minutes.",
    "Turn on the kitchen light.",
    "What time is it?",
    "Turn off the bedroom lights.",
    "What's the weather like today?",
    "Set an alarm for seven in the morning.",
    "Play some music.",
    "Cancel the timer.",
    "Turn the volume up.",
    "Start the vacuum.",
]
BENCH_NOW = dt.datetime(2026, 11, 29, 10, 0)  # fixed clock for the core, as in bench/understanding.py


def core_understand(home: str | None = str(ROOT / "bench" / "home.yaml"), env: dict[str, str] | None = None):
    """The real text core: ``Assistant`` on a temp data dir (removed at exit), dry run, fixed clock;
    ``env``: more ASSISTANT_* settings (e.g. ASSISTANT_LEARNED_MODEL)."""
    return core_understand_and_check(home, env)[0]


def core_understand_and_check(
    home: str | None = str(ROOT / "bench" / "home.yaml"), env: dict[str, str] | None = None
):
    """(understand, is_complete) of the real text core (see ``core_understand``)."""
    import atexit
    import logging

    from assistant.config import load_config
    from assistant.core import Assistant

    logging.getLogger("devices").setLevel(logging.ERROR)  # "music folder does not exist" is expected here
    data_dir = tempfile.TemporaryDirectory(prefix="assistant-bench-")
    config = load_config(
        home, env={"ASSISTANT_DATA_DIR": data_dir.name, "ASSISTANT_TZ": "UTC", **(env or {})}
    )
    assistant = Assistant(config)
    atexit.register(data_dir.cleanup)
    atexit.register(assistant.close)
    return (lambda text: assistant.ask(text, now=BENCH_NOW, dry_run=True)), assistant.is_complete


def pick_understand(spec: str | None):
    """(understand, is_complete or None)."""
    if not spec or spec == "core":
        return core_understand_and_check()
    if spec == "keywords":
        return keyword_understand, None
    mod, func = spec.split(":")
    return getattr(importlib.import_module(mod), func), None


def same_words(a: str, b: str) -> bool:
    """Transcript equals the text, up to case, punctuation and digits vs number words."""
    from text_to_num import alpha2digit

    norm = lambda x: plain(alpha2digit(x.replace("%", " percent"), "en")).replace(" ", "")  # noqa: E731
    return norm(a) == norm(b)


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def build_audio(commands: list[str], wake: bool, gap_s: float = 1.5, voice: str = "piper") -> np.ndarray:
    from bench.wake import espeak

    parts = [silence(0.5)]
    for text in commands:
        if wake:
            parts += [wake_phrase(), silence(0.3)]
        parts += [piper_speech(text) if voice == "piper" else espeak(text, "en-us", 160), silence(gap_s)]
    return join(*parts)


def run_arms(
    settings: VoiceSettings,
    understand,
    commands: list[str],
    wake: bool,
    engines: Engines,
    arms: dict,
    voice: str = "piper",
    clock=time.perf_counter,
) -> dict:
    """Each command alone through a fresh pipeline (so a slow, shared CPU cannot pile lag from one
    command onto the next), every arm (name -> is_complete or None) in turn per command, the phrase
    cache emptied before each (every answer synthesised but for the reply heads the text core declares,
    which a running service keeps from start-up: both arms pay the same)."""
    results: dict[str, list[dict]] = {name: [] for name in arms}
    understand_owner = next((getattr(c, "__self__", None) for c in arms.values() if c is not None), None)
    heads = understand_owner.reply_heads() if hasattr(understand_owner, "reply_heads") else []
    audio_s, t0 = 0.0, time.perf_counter()
    for text in commands:
        audio = build_audio([text], wake, voice=voice)
        audio_s += len(audio) / 16000
        for name, is_complete in arms.items():
            engines.tts.forget()
            forget_recognitions(understand_owner)
            results[name] += process_audio(
                audio,
                understand,
                settings,
                no_wake=not wake,
                engines=engines,
                is_complete=is_complete,
                clock=clock,
                reply_heads=heads,
            )
    wall = time.perf_counter() - t0
    return {name: summarize(res, commands, audio_s, wall / len(arms)) for name, res in results.items()}


def run(
    settings: VoiceSettings,
    understand,
    commands: list[str],
    wake: bool,
    engines: Engines,
    is_complete=None,
    voice: str = "piper",
    clock=time.perf_counter,
) -> dict:
    return run_arms(settings, understand, commands, wake, engines, {"one": is_complete}, voice, clock)["one"]


def forget_recognitions(assistant) -> None:
    """Each arm starts without the template matches an earlier arm left (``ask`` after
    ``is_complete`` reuses the match; an arm without early endpointing must pay for its own)."""
    for recognizer in getattr(assistant, "recognizers", []):
        forget = getattr(recognizer, "forget", None)
        if forget is not None:
            forget()


def summarize(results: list[dict], commands: list[str], audio_s: float, wall: float) -> dict:
    stats = {s: [r["timings_ms"][s] for r in results] for s in STAGES}
    aligned = len(results) == len(commands)
    exact = sum(1 for r, c in zip(results, commands) if same_words(r["transcript"], c)) if aligned else None
    intents_ok = (
        sum(1 for r, c in zip(results, commands) if r.get("intent") == EXPECTED.get(c)) if aligned else None
    )
    rest = {s: v[1:] for s, v in stats.items()}
    return {
        "utterances": len(results),
        "commands": len(commands),
        "transcripts_exact": exact,
        "intents_as_expected": intents_ok,
        "speculative_used": sum(1 for r in results if r["asr_speculative"]),
        "ended_early": sum(1 for r in results if r.get("early_endpoint")),
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 2),
        "p50": {s: round(pct(v, 50), 1) for s, v in stats.items()},
        "p95": {s: round(pct(v, 95), 1) for s, v in stats.items()},
        "first": {s: v[0] for s, v in stats.items() if v},
        "rest_p50": {s: round(pct(v, 50), 1) for s, v in rest.items()},
        "misses": [r["transcript"] for r, c in zip(results, commands) if not same_words(r["transcript"], c)],
        "wrong_intents": [
            (c, r["transcript"], r.get("intent"))
            for r, c in zip(results, commands)
            if r.get("intent") != EXPECTED.get(c)
        ]
        if aligned
        else [],
    }


def idle_cpu(
    settings: VoiceSettings, engines: Engines, seconds: float = 20.0, no_wake: bool = False
) -> float:
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


def probe(audio_path: str, wake: str, warm: bool, model: str | None = None) -> None:
    """Child process, like a fresh service: core + Whisper + Piper + one wake engine + VAD, then the
    commands in `audio_path`. Prints per-utterance timings (first one included) and the peak RSS."""
    settings = VoiceSettings()
    settings.tts.noise_scale = settings.tts.noise_w_scale = 0.0
    settings.wake.engine = wake
    if model:
        settings.asr.model = model
    understand, is_complete = core_understand_and_check()
    # Engines.load warms ASR and TTS up once; warm=False builds them bare, to show what that saves
    engines = Engines.load(settings) if warm else Engines(Transcriber(settings.asr), Tts(settings.tts))
    results = process_audio(
        np.load(audio_path), understand, settings, no_wake=True, engines=engines, is_complete=is_complete
    )
    pipe = Pipeline(understand, settings, engines=engines)  # the wake engine, listening
    for b in blocks(noise(2.0, 0.005), 512):
        pipe.feed(b)
    print(json.dumps({"timings": [r["timings_ms"] for r in results], "peak_rss_mb": peak_rss_mb()}))


def fresh_process(wake: str, warm: bool, commands: list[str], model: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as f:
        np.save(f, build_audio(commands, wake=False))
    try:
        cmd = [sys.executable, __file__, "--probe", f.name, "--wake", wake, "--model", model] + (
            [] if warm else ["--cold"]
        )
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    report = json.loads(out.strip().splitlines()[-1])
    t = report.pop("timings")
    report["first"] = t[0]
    report["rest_p50"] = {s: round(pct([x[s] for x in t[1:]], 50), 1) for s in STAGES}
    return report


def print_side_by_side(title: str, early: dict, plain: dict) -> None:
    print(
        f"== {title}: {early['utterances']}/{early['commands']} utterances; ended early {early['ended_early']}/"
        f"{early['utterances']}; exact transcripts {early['transcripts_exact']} / {plain['transcripts_exact']}; "
        f"intents as expected {early['intents_as_expected']} / {plain['intents_as_expected']} (early / without); "
        f"speculative reused {early['speculative_used']} / {plain['speculative_used']}"
    )
    print(f"   {'stage (ms)':32s} {'early p50':>10s} {'p95':>7s} {'without p50':>12s} {'p95':>7s}")
    for stage in STAGES:
        print(
            f"   {stage:32s} {early['p50'][stage]:10.1f} {early['p95'][stage]:7.1f} "
            f"{plain['p50'][stage]:12.1f} {plain['p95'][stage]:7.1f}"
        )
    for name, r in (("early", early), ("without", plain)):
        if r["wrong_intents"]:
            print(f"   {name}: intents not as expected (command, transcript, intent):", r["wrong_intents"])


def paused_cut_count(
    settings: VoiceSettings, understand, is_complete, engines: Engines, pauses=(300, 450), voices=("piper",)
) -> dict:
    """Early cuts on the hesitation group of the paused-command set (see bench/paused_commands.py)."""
    from bench.paused_commands import HESITATION, clip, run_clip

    cut, n, cuts = 0, 0, []
    for first, second in HESITATION:
        for voice in voices:
            for pause in pauses:
                audio, start = clip(first, second, voice, pause)
                r = run_clip(audio, start, understand, is_complete, settings, engines)
                n += 1
                if r["cut_early"]:
                    cut += 1
                    cuts.append((first, second, voice, pause, r["transcripts"]))
    return {"clips": n, "cut_early": cut, "cuts": cuts, "pauses_ms": list(pauses), "voices": list(voices)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wake", choices=["micro", "openwakeword"], help="put 'okay nabu' before each command")
    ap.add_argument(
        "--model", help="asr.model: tiny.en, base or a model directory (default: the config default)"
    )
    ap.add_argument(
        "--compare", action="store_true", help="also run without speculative decoding / short encoder"
    )
    ap.add_argument(
        "--quick", action="store_true", help="only the side-by-side runs (skip paused set, idle CPU, RSS)"
    )
    ap.add_argument("--no-paused", action="store_true", help="skip the paused-command early-cut count")
    ap.add_argument(
        "--understand", help="'core' (default: Assistant, dry run), 'keywords', or module:function"
    )
    ap.add_argument(
        "--cpu-clock",
        action="store_true",
        help="time the processing in CPU seconds with one thread per engine (asr.cpu_threads 1, tts.threads 1): "
        "close to an idle single core's figures even while other processes load the machine",
    )
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--probe", metavar="NPY", help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        return probe(args.probe, args.wake or "micro", warm=not args.cold, model=args.model)

    t0 = time.perf_counter()
    understand, is_complete = pick_understand(args.understand)
    core_load_s = time.perf_counter() - t0

    settings = VoiceSettings()
    settings.tts.noise_scale = settings.tts.noise_w_scale = 0.0
    if args.model:
        settings.asr.model = args.model
    if args.wake:
        settings.wake.engine = args.wake
    clock = time.perf_counter
    if args.cpu_clock:
        settings.asr.cpu_threads = settings.tts.threads = 1
        clock = time.process_time
    t0 = time.perf_counter()
    engines = Engines.load(settings)  # includes one warm-up decode + synthesis
    load_s = time.perf_counter() - t0
    for text in COMMANDS:  # synthesise the inputs before measuring
        piper_speech(text)
    build_audio(ESPEAK_COMMANDS, False, voice="espeak")

    report: dict = {
        "model_load_s": round(load_s, 2),
        "core_load_s": round(core_load_s, 2),
        "understand": args.understand or "core",
        "asr_model": settings.asr.model,
        "early_endpoint_ms": settings.vad.early_endpoint_ms,
        "trailing_silence_ms": settings.vad.trailing_silence_ms,
        "load_average": os.getloadavg(),
        "clock": "cpu (one thread per engine)" if args.cpu_clock else "wall",
    }
    wake = bool(args.wake)
    # interleaved per command, so load changes on the shared machine hit both arms alike
    arms = {"early": is_complete, "without": None}
    for voice, commands in (("piper", COMMANDS), ("espeak", ESPEAK_COMMANDS)):
        for name, r in run_arms(settings, understand, commands, wake, engines, arms, voice, clock).items():
            report[f"{voice}_{name}"] = r
    variants = []
    if args.compare:
        variants = [
            ("no_speculative", {"speculative": False}),
            ("full_30s_encoder", {"short_encoder": False}),
            ("neither", {"speculative": False, "short_encoder": False}),
        ]
    for name, asr_over in variants:
        s = settings.model_copy(deep=True)
        for k, v in asr_over.items():
            if k == "_tts_cache":
                s.tts.phrase_cache_size = v
            else:
                setattr(s.asr, k, v)
        engines.asr.s, engines.tts.s = s.asr, s.tts
        engines.tts.forget()
        report[name] = run(s, understand, COMMANDS, wake, engines, is_complete, clock=clock)
    engines.asr.s, engines.tts.s = settings.asr, settings.tts

    if not args.quick and not args.no_paused and is_complete is not None:
        report["paused_set"] = paused_cut_count(settings, understand, is_complete, engines)
    if not args.quick:
        report["idle_cpu_percent"] = {
            "micro_wake": round(
                idle_cpu(
                    settings.model_copy(
                        update={"wake": settings.wake.model_copy(update={"engine": "micro"})}
                    ),
                    engines,
                ),
                2,
            ),
            "openwakeword_wake": round(
                idle_cpu(
                    settings.model_copy(
                        update={"wake": settings.wake.model_copy(update={"engine": "openwakeword"})}
                    ),
                    engines,
                ),
                2,
            ),
            "no_wake_vad_only": round(idle_cpu(settings, engines, no_wake=True), 2),
        }
        report["bench_peak_rss_mb"] = peak_rss_mb()
        # fresh processes: 10 distinct commands (answers not in the phrase cache), first utterance vs the rest
        fresh = COMMANDS[::3][:10]
        report["fresh_process"] = {"micro_warm": fresh_process("micro", True, fresh, settings.asr.model)}
        if args.compare:
            report["fresh_process"].update(
                {
                    "openwakeword_warm": fresh_process("openwakeword", True, fresh, settings.asr.model),
                    "micro_no_warm_up": fresh_process("micro", False, fresh, settings.asr.model),
                }
            )

    print(
        f"text core: {report['understand']} (load {report['core_load_s']} s) | asr.model {settings.asr.model} | "
        f"Whisper + Piper load with warm-up: {report['model_load_s']} s | load average {report['load_average']}"
        f" | processing clock: {report['clock']}"
    )
    print(
        f"vad.early_endpoint_ms {settings.vad.early_endpoint_ms}, vad.trailing_silence_ms {settings.vad.trailing_silence_ms}, "
        f"vad.pause_ms {settings.vad.pause_ms}, vad.early_decode_ms {settings.vad.early_decode_ms}, "
        f"tts.first_phrase_chars {settings.tts.first_phrase_chars}"
    )
    print_side_by_side(f"Piper, {len(COMMANDS)} commands", report["piper_early"], report["piper_without"])
    print_side_by_side(
        f"espeak-ng en-us 160 wpm, {len(ESPEAK_COMMANDS)} commands",
        report["espeak_early"],
        report["espeak_without"],
    )
    for name, _ in variants:
        r = report[name]
        print(
            f"== {name} (early endpointing on): p50/p95 ms "
            + ", ".join(f"{st} {r['p50'][st]:.0f}/{r['p95'][st]:.0f}" for st in STAGES)
        )
    if "paused_set" in report:
        p = report["paused_set"]
        print(
            f"paused-command set (hesitation group, {p['voices']}, pauses {p['pauses_ms']} ms): cut early "
            f"{p['cut_early']}/{p['clips']}" + "".join(f"\n   {c}" for c in p["cuts"])
        )
    if "fresh_process" in report:
        print(
            "fresh process (like `assistant serve`), 10 commands: first utterance vs p50 of the other 9 (ms)"
        )
        print(
            f"   {'':22s} "
            + " ".join(
                f"{st:>30s}" for st in ("asr", "nlu", "tts_first_audio", "end_of_speech_to_first_audio")
            )
        )
        for name, r in report["fresh_process"].items():
            print(
                f"   {name:22s} "
                + " ".join(
                    f"{r['first'][st]:14.1f} vs {r['rest_p50'][st]:11.1f}"
                    for st in ("asr", "nlu", "tts_first_audio", "end_of_speech_to_first_audio")
                )
            )
        print("idle CPU (% of one core):", report["idle_cpu_percent"])
        print(
            "peak RSS (MB) of a fresh service-like process (core + Whisper + Piper + wake + VAD):",
            {name: r["peak_rss_mb"] for name, r in report["fresh_process"].items()},
            "| this bench process (+ both wake engines, a second Piper for the inputs):",
            report["bench_peak_rss_mb"],
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
