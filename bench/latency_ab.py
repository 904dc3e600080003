"""Voice latency A/B: arms of settings, interleaved per command, for before/after on a shared machine.

    python bench/latency_ab.py --cpu-clock                       # main's last behaviour against the defaults
    python bench/latency_ab.py --arms '{"pad6": {"asr.encoder_pad_s": 6.0}, "now": {}}' --voices piper

Each command of bench/latency.py (32 Piper + 10 espeak-ng) goes through a fresh pipeline once per
arm, the arms in turn per command, so a change in the machine's load hits every arm alike. An arm is
a map of ``section.key`` settings to values; ``"template_memo": false`` makes ``ask`` recognise the
text again after ``is_complete`` did (as before the template tier kept its recognitions);
``"split_peeks": false`` decodes a peek in one step (``Pipeline.split_peeks``); ``"blas_threads": 2``
lets numpy's BLAS use two threads (``Engines.load`` sets one). Every arm
starts without the template matches of the one before it and with an empty phrase cache (the text
core's reply heads stay kept, as in a running service; ``"tts.reply_heads": false`` does without them).
The previous round's baseline was ``{"vad.early_decode_ms": 0, "tts.first_phrase_chars": 0,
"tts.reply_heads": false, "template_memo": false}``.
``--cpu-clock`` times the processing in CPU seconds with one thread per engine (see bench/latency.py).
Prints p50/p95 per stage, intents as expected and utterances ended early per arm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.engines import Engines  # noqa: E402
from assistant.pipeline import Pipeline  # noqa: E402
from assistant.voice import process_audio  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from bench.latency import (  # noqa: E402
    COMMANDS,
    ESPEAK_COMMANDS,
    EXPECTED,
    STAGES,
    build_audio,
    core_understand_and_check,
    forget_recognitions,
    pct,
)

MAIN_VS_NOW = {
    # main as it was before this round: answers synthesised whole (no kept reply heads), a peek's
    # decode in one step
    "main": {"tts.reply_heads": False, "split_peeks": False, "blas_threads": 2},
    "now": {},
}


def arm_settings(base: VoiceSettings, over: dict) -> VoiceSettings:
    s = base.model_copy(deep=True)
    for key, value in over.items():
        if key not in ("template_memo", "split_peeks", "blas_threads"):
            section, name = key.split(".")
            setattr(getattr(s, section), name, value)
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arms", default=json.dumps(MAIN_VS_NOW), help="JSON: arm name -> settings overrides")
    ap.add_argument("--voices", default="piper,espeak", help="piper and/or espeak")
    ap.add_argument("--cpu-clock", action="store_true", help="CPU seconds, one thread per engine")
    ap.add_argument("--limit", type=int, help="only the first N commands of each voice (a quick look)")
    ap.add_argument("--json", help="write every utterance's timings to this file")
    args = ap.parse_args()

    arms: dict[str, dict] = json.loads(args.arms)
    understand, is_complete = core_understand_and_check()
    assistant = is_complete.__self__  # type: ignore[attr-defined]

    def fresh_check(text: str) -> bool:  # no recognition kept for ask to reuse
        complete = is_complete(text)
        forget_recognitions(assistant)
        return complete

    base = VoiceSettings()
    base.tts.noise_scale = base.tts.noise_w_scale = 0.0
    clock = time.perf_counter
    if args.cpu_clock:
        base.asr.cpu_threads = base.tts.threads = 1
        clock = time.process_time
    settings = {name: arm_settings(base, over) for name, over in arms.items()}
    engines = Engines.load(base)
    commands = [("piper", c) for c in COMMANDS[: args.limit] if "piper" in args.voices]
    commands += [("espeak", c) for c in ESPEAK_COMMANDS[: args.limit] if "espeak" in args.voices]
    audio = {vc: build_audio([vc[1]], False, voice=vc[0]) for vc in commands}

    rows: dict[str, list[dict]] = {name: [] for name in arms}
    loads = []
    for voice, command in commands:
        loads.append(os.getloadavg()[0])
        for name, s in settings.items():
            engines.asr.s, engines.tts.s = s.asr, s.tts
            engines.tts.forget()
            forget_recognitions(assistant)
            check = is_complete if arms[name].get("template_memo", True) else fresh_check
            Pipeline.split_peeks = arms[name].get("split_peeks", True)
            threadpool_limits(arms[name].get("blas_threads", 1), user_api="blas")
            results = process_audio(
                audio[(voice, command)],
                understand,
                s,
                no_wake=True,
                engines=engines,
                is_complete=check,
                clock=clock,
                reply_heads=assistant.reply_heads(),
            )
            last = results[-1] if results else {"timings_ms": {}, "transcript": ""}
            rows[name].append(
                {
                    "voice": voice,
                    "command": command,
                    "transcript": " | ".join(r["transcript"] for r in results),
                    "intent_ok": len(results) == 1 and results[0].get("intent") == EXPECTED.get(command),
                    "early": bool(last.get("early_endpoint")),
                    **last["timings_ms"],
                }
            )
    engines.asr.s, engines.tts.s = base.asr, base.tts
    Pipeline.split_peeks = True
    threadpool_limits(1, user_api="blas")

    print(
        f"clock: {'CPU, one thread per engine' if args.cpu_clock else 'wall'}; {len(commands)} commands "
        f"({args.voices}); load average during the run {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'p50 / p95 (ms)':32s}" + "".join(f"{name:>20s}" for name in arms))
    for stage in STAGES:
        cells = []
        for name in arms:
            values = [r[stage] for r in rows[name] if stage in r]
            cells.append(f"{pct(values, 50):9.1f} / {pct(values, 95):<8.1f}")
        print(f"{stage:32s}" + "".join(f"{c:>20s}" for c in cells))
    for label, key in (("intents as expected", "intent_ok"), ("ended early", "early")):
        print(f"{label:32s}" + "".join(f"{sum(r[key] for r in rows[n]):>20d}" for n in arms))
    for name in arms:
        for r in rows[name]:
            if not r["intent_ok"]:
                print(f"   {name}: {r['command']!r} -> {r['transcript']!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
