"""Wake-word benchmark: false accepts per hour of non-wake speech and false rejects, for both engines.

    python bench/wake.py                    # >= 10 min negatives, 60 positives, micro and openwakeword
    python bench/wake.py --minutes 20 --positives 90 --json out.json
    python bench/wake.py --sweep            # also false rejects / false accepts per hour over thresholds
    python bench/wake.py --calibrate --positives 140 --minutes 20   # the larger calibration set (below)
    python bench/wake.py --own my_wake/ --negative-file talk.wav    # your own recordings (docs/voice.md)

Negatives: SLURP devel home sentences (bench/data/slurp_devel_home.jsonl), three in four spoken
by Piper (joe, noise 0, two speeds) and one in four by espeak-ng (several voices), 0.3-0.8 s apart,
with faint room noise. Positives: "Okay Nabu, <command>" spoken by espeak-ng with several voices,
speeds and pitches, half with a comma pause and half with a sentence pause before the command,
every third one with white noise at 10 dB SNR (Piper's "okay nabu" triggers
neither engine; see docs/voice.md). Each engine runs with its default cutoff (wake.threshold unset: assistant.wake.DEFAULT_THRESHOLDS).

``--calibrate`` uses the larger set the defaults are chosen on: positives from espeak-ng (8 voices,
130/160/190 wpm, 3 pitches) and Piper joe (length scale 0.9/1.0/1.2, three spellings), each in one
of seven conditions in turn: clean, white noise at 20/15/10/5 dB SNR, far-field-like reverb (sox
``reverb 80 50 100 100 20``), reverb plus 10 dB noise. It sweeps each engine's threshold and two
combinations (either engine; micro verified by openWakeWord within 1 s) and names, per option, the
lowest false-reject rate at <= 1 false accept per hour of the negatives (with 20 min of negatives
that means none heard: the resolution is 3/h).

Synthesised audio is cached as .npy under $TMPDIR/assistant-bench-audio (reruns take seconds).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio import blocks, resample  # noqa: E402
from assistant.voice_settings import WakeSettings  # noqa: E402
from assistant.wake import make_wake  # noqa: E402

SR = 16000
CACHE = Path(tempfile.gettempdir()) / "assistant-bench-audio"
DEFAULT_DATA = ROOT / "bench" / "data" / "slurp_devel_home.jsonl"
ESPEAK_VOICES = [
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-029",
    "en-gb-x-rp",
    "en-us-nyc",
    "en-us+f3",
    "en-gb-x-gbclan",
]
WAKE_COMMANDS = [
    "set a timer for five minutes",
    "turn on the kitchen light",
    "what time is it",
    "play some music",
    "what's the weather like today",
    "turn off the bedroom light",
    "wake me up at seven",
    "pause the music",
    "turn the volume down",
    "what's the date today",
]


def cached(key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
    """16 kHz int16 audio for `key`, synthesised once and kept as .npy under CACHE."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / (hashlib.sha1(repr(key).encode()).hexdigest() + ".npy")
    if path.is_file():
        return np.load(path)
    audio = np.asarray(make(), dtype=np.int16)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, audio)
    tmp.replace(path)
    return audio


def piper(text: str, length_scale: float = 1.0) -> np.ndarray:
    """Deterministic Piper joe (noise 0), half scale, cached."""
    from tests.fixtures_voice import piper_speech

    return cached(("piper", text, length_scale), lambda: piper_speech(text, length_scale))


def espeak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """espeak-ng speech at half scale, cached."""
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: apt-get install espeak-ng")

    def make() -> np.ndarray:
        out = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
            capture_output=True,
            check=True,
        ).stdout
        with wave.open(io.BytesIO(out)) as w:
            rate = w.getframerate()
            audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return (resample(audio, rate, SR).astype(np.float32) * 0.5).astype(np.int16)

    return cached(("espeak", text, voice, speed, pitch), make)


def add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White noise at `snr_db` below the speech power."""
    x = audio.astype(np.float32)
    power = float(np.mean(x[np.abs(x) > 100] ** 2)) if np.any(np.abs(x) > 100) else float(np.mean(x**2))
    n = np.random.default_rng(seed).standard_normal(len(x)) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.clip(x + n, -32768, 32767).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), np.int16)


def negative_audio(data: Path, minutes: float) -> tuple[np.ndarray, dict]:
    """Non-wake speech from SLURP sentences until `minutes` long; returns (audio, what was used:
    counts per synthesiser and (start sample, sentence) pairs)."""
    rows = [json.loads(line) for line in open(data, encoding="utf-8")]
    sentences = [r["sentence"] for r in rows if "nabu" not in r["sentence"].lower()]
    rng = np.random.default_rng(1)
    parts, used = [], {"piper": 0, "espeak": 0, "offsets": []}
    total = 0
    for i, text in enumerate(sentences):
        if total >= minutes * 60 * SR:
            break
        if i % 4 == 3:
            audio = espeak(text, ESPEAK_VOICES[(i // 4) % len(ESPEAK_VOICES)], 150 + 10 * (i % 3))
            used["espeak"] += 1
        else:
            audio = piper(text, 1.0 if i % 2 == 0 else 1.15)
            used["piper"] += 1
        used["offsets"].append((total, text))
        parts += [audio, silence(float(rng.uniform(0.3, 0.8)))]
        total += len(audio) + len(parts[-1])
    audio = np.concatenate(parts)
    room = (np.random.default_rng(2).standard_normal(len(audio)) * 0.003 * 32767).astype(np.int16)
    return np.clip(audio.astype(np.int32) + room, -32768, 32767).astype(np.int16), used


def positive_clips(n: int) -> list[tuple[dict, np.ndarray]]:
    """n clips of "Okay Nabu, <command>" / "Okay Nabu. <command>" (alternating) over espeak-ng voices,
    speeds (130/160/190 wpm) and pitches (35/50/70), every third with white noise at 10 dB SNR."""
    clips = []
    for i in range(n):
        spec = {
            "voice": ESPEAK_VOICES[i % len(ESPEAK_VOICES)],
            "speed": (130, 160, 190)[(i // 8) % 3],
            "pitch": (35, 50, 70)[(i // 3) % 3],
            "noise_snr_db": 10 if i % 3 == 0 else None,
        }
        sep = ", " if i % 2 == 0 else ". "  # a short (comma) or a sentence pause before the command
        audio = espeak(
            f"Okay Nabu{sep}{WAKE_COMMANDS[i % len(WAKE_COMMANDS)]}.",
            spec["voice"],
            spec["speed"],
            spec["pitch"],
        )
        audio = np.concatenate([silence(0.5), audio, silence(1.0)])
        if spec["noise_snr_db"] is not None:
            audio = add_noise(audio, spec["noise_snr_db"], seed=i)
        clips.append((spec, audio))
    return clips


CONDITIONS = ["clean", "snr20", "snr15", "snr10", "snr5", "reverb", "reverb+snr10"]
PIPER_WAKE = ["Okay Nabu", "Okay, Nabu", "OK Nabu"]


def reverb(audio: np.ndarray) -> np.ndarray:
    """Far-field-like room reverb with sox (dry + wet), back at the input's level."""
    if shutil.which("sox") is None:
        sys.exit("sox is not installed: apt-get install sox")
    raw = ["-t", "raw", "-r", str(SR), "-e", "signed", "-b", "16", "-c", "1"]
    out = subprocess.run(
        ["sox", *raw, "-", *raw, "-", "reverb", "80", "50", "100", "100", "20"],
        input=audio.astype(np.int16).tobytes(),
        capture_output=True,
        check=True,
    ).stdout
    wet = np.frombuffer(out, np.int16).astype(np.float32)[: len(audio)]
    peak = max(1.0, float(np.abs(wet).max()))
    return (wet * (float(np.abs(audio).max()) / peak)).astype(np.int16)


def calibration_clips(n: int) -> list[tuple[dict, np.ndarray]]:
    """n wake clips for calibration: two in three espeak-ng, one in three Piper; conditions in turn."""
    clips = []
    for i in range(n):
        command = WAKE_COMMANDS[i % len(WAKE_COMMANDS)]
        sep = ", " if i % 2 == 0 else ". "
        if i % 3 == 2:
            spec = {
                "tts": "piper",
                "length_scale": (0.9, 1.0, 1.2)[(i // 3) % 3],
                "spelling": PIPER_WAKE[(i // 9) % 3],
            }
            audio = piper(f"{spec['spelling']}{sep}{command}.", spec["length_scale"])
        else:
            spec = {
                "tts": "espeak",
                "voice": ESPEAK_VOICES[i % len(ESPEAK_VOICES)],
                "speed": (130, 160, 190)[(i // 8) % 3],
                "pitch": (35, 50, 70)[(i // 3) % 3],
            }
            audio = espeak(f"Okay Nabu{sep}{command}.", spec["voice"], spec["speed"], spec["pitch"])
        spec["condition"] = cond = CONDITIONS[i % len(CONDITIONS)]
        audio = np.concatenate([silence(0.5), audio, silence(1.0)])
        key = ("calib", i, json.dumps(spec, sort_keys=True))
        if cond.startswith("reverb"):
            audio = cached(key + ("reverb",), lambda a=audio: reverb(a))
        if "snr" in cond:
            audio = add_noise(audio, float(cond.split("snr")[1]), seed=i)
        clips.append((spec, audio))
    return clips


def calibration_counts(clips: list[tuple[dict, np.ndarray]]) -> dict:
    return {c: sum(1 for s, _ in clips if s["condition"] == c) for c in CONDITIONS}


def fires(prob: np.ndarray, threshold: float, gap: int) -> list[int]:
    """Block indices where a detector with this threshold and refractory gap (blocks) fires."""
    out, last = [], -gap
    for i in np.flatnonzero(prob > threshold):
        if i - last >= gap:
            out.append(int(i))
            last = i
    return out


def calibrate(clips: list[tuple[dict, np.ndarray]], negative: np.ndarray, refractory_s: float = 2.0) -> dict:
    """Per option (micro, openWakeWord, either, micro verified by openWakeWord), the threshold(s) with
    the lowest false-reject rate at <= 1 false accept per hour, and the full sweep."""
    hours = len(negative) / SR / 3600
    gap = int(refractory_s * SR / 512)
    win = int(1.0 * SR / 512)  # verification window: +-1 s around the micro detection
    pos = {e: [probabilities(e, a) for _, a in clips] for e in ("micro", "openwakeword")}
    neg = {e: probabilities(e, negative) for e in ("micro", "openwakeword")}

    def verified(m: np.ndarray, o: np.ndarray, tm: float, to: float) -> np.ndarray:
        ok = np.zeros_like(m)
        for i in np.flatnonzero(m > tm):
            if o[max(0, i - win) : i + win + 1].max(initial=0.0) > to:
                ok[i] = 1.0
        return ok

    grid_m = [0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97]
    grid_o = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
    options: dict[str, list[dict]] = {
        "micro": [],
        "openwakeword": [],
        "either": [],
        "micro_verified_by_oww": [],
    }
    for t in grid_m:
        options["micro"].append(
            {
                "micro": t,
                "frr": float(np.mean([p.max() <= t for p in pos["micro"]])),
                "fa": len(fires(neg["micro"], t, gap)),
            }
        )
    for t in grid_o:
        options["openwakeword"].append(
            {
                "openwakeword": t,
                "frr": float(np.mean([p.max() <= t for p in pos["openwakeword"]])),
                "fa": len(fires(neg["openwakeword"], t, gap)),
            }
        )
    for tm in grid_m:
        for to in grid_o:
            either = lambda m, o: np.maximum((m > tm).astype(np.float32), (o > to).astype(np.float32))  # noqa: E731
            options["either"].append(
                {
                    "micro": tm,
                    "openwakeword": to,
                    "frr": float(
                        np.mean([either(m, o).max() < 1 for m, o in zip(pos["micro"], pos["openwakeword"])])
                    ),
                    "fa": len(fires(either(neg["micro"], neg["openwakeword"]), 0.5, gap)),
                }
            )
            options["micro_verified_by_oww"].append(
                {
                    "micro": tm,
                    "openwakeword": to,
                    "frr": float(
                        np.mean(
                            [
                                verified(m, o, tm, to).max() < 1
                                for m, o in zip(pos["micro"], pos["openwakeword"])
                            ]
                        )
                    ),
                    "fa": len(fires(verified(neg["micro"], neg["openwakeword"], tm, to), 0.5, gap)),
                }
            )
    report = {"negative_hours": hours, "positives": len(clips), "sweep": options, "best": {}}
    for name, rows in options.items():
        for r in rows:
            r["fa_per_hour"] = r["fa"] / hours
        ok = [r for r in rows if r["fa_per_hour"] <= 1.0]
        best = (
            min(ok, key=lambda r: (r["frr"], -r.get("micro", 0), -r.get("openwakeword", 0))) if ok else None
        )
        if best:
            specs = [s for s, _ in clips]
            if name == "micro":
                missed = [s for s, p in zip(specs, pos["micro"]) if p.max() <= best["micro"]]
            elif name == "openwakeword":
                missed = [s for s, p in zip(specs, pos["openwakeword"]) if p.max() <= best["openwakeword"]]
            else:
                missed = None
            if missed is not None:
                best = dict(
                    best,
                    missed_by_condition={
                        c: sum(1 for s in missed if s["condition"] == c) for c in CONDITIONS
                    },
                    missed_by_tts={t: sum(1 for s in missed if s["tts"] == t) for t in ("espeak", "piper")},
                )
        report["best"][name] = best
    report["per_condition_clips"] = {c: sum(1 for s, _ in clips if s["condition"] == c) for c in CONDITIONS}
    return report


def wake_error_rates(settings: WakeSettings, positives: list[np.ndarray], negative: np.ndarray) -> dict:
    """False-reject rate over `positives` (clips with the wake word), false accepts per hour of `negative`,
    and the CPU used (% of one core, process time / audio time) on the negatives."""
    misses = []
    for i, clip in enumerate(positives):
        det = make_wake(settings)
        if not any(det.process(b) for b in blocks(clip, 512)):
            misses.append(i)
    det = make_wake(settings)
    t0 = time.process_time()
    accepts = [round(d.t, 1) for b in blocks(negative, 512) if (d := det.process(b)) is not None]
    cpu = 100.0 * (time.process_time() - t0) / (len(negative) / SR)
    hours = len(negative) / SR / 3600
    return {
        "false_reject_rate": len(misses) / max(1, len(positives)),
        "missed": misses,
        "false_accepts": len(accepts),
        "false_accepts_per_hour": len(accepts) / hours,
        "accept_times_s": accepts,
        "cpu_percent_of_one_core": round(cpu, 2),
    }


def probabilities(engine: str, audio: np.ndarray) -> np.ndarray:
    """Highest wake probability per 512-sample block (0 where the model gave none), the engine's own
    front end and model as in assistant/wake.py but without its cutoff, for a threshold sweep."""
    det = make_wake(WakeSettings(engine=engine))
    model = det.models[0]
    out = np.zeros(len(audio) // 512 + 1, np.float32)
    for i, b in enumerate(blocks(audio, 512)):
        data = np.asarray(b, np.int16).tobytes()
        if engine == "micro":
            probs = [model.process_streaming_prob(f) for f in det._features.process_streaming(data)]
        else:
            probs = [p for e in det._features.process_streaming(data) for p in model.process_streaming(e)]
        out[i] = max([p for p in probs if p is not None], default=0.0)
    return out


def sweep(
    engine: str,
    thresholds: list[float],
    positives: list[np.ndarray],
    negative: np.ndarray,
    refractory_s: float = 2.0,
) -> list[dict]:
    """False-reject rate and false accepts/hour at each threshold (2 s refractory, as the detector)."""
    pos_max = [float(probabilities(engine, clip).max()) for clip in positives]
    neg = probabilities(engine, negative)
    hours = len(negative) / SR / 3600
    gap = int(refractory_s * SR / 512)
    rows = []
    for thr in thresholds:
        fires, last = 0, -gap
        for i in np.flatnonzero(neg > thr):
            if i - last >= gap:
                fires, last = fires + 1, i
        rows.append(
            {
                "threshold": thr,
                "false_reject_rate": float(np.mean([p <= thr for p in pos_max])),
                "false_accepts_per_hour": fires / hours,
            }
        )
    return rows


def own_recordings(folder: Path, negative_file: str | None) -> None:
    """Per engine and threshold: how many of your wake-word recordings fire, and false accepts per
    hour on your recording without it (if given)."""
    from assistant.audio import read_audio_file

    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3", ".m4a")
    )
    if not files:
        sys.exit(f"no recordings (.wav/.flac/.ogg/.mp3) in {folder}")
    clips = [np.concatenate([silence(0.5), read_audio_file(str(f)), silence(1.0)]) for f in files]
    negative = read_audio_file(negative_file) if negative_file else None
    grid = {"micro": [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95], "openwakeword": [0.1, 0.2, 0.3, 0.5, 0.7]}
    print(
        f"{len(files)} recordings in {folder}"
        + (f"; {len(negative) / SR / 60:.1f} min without the wake word" if negative is not None else "")
    )
    for engine, thresholds in grid.items():
        best = [float(probabilities(engine, c).max()) for c in clips]
        neg = probabilities(engine, negative) if negative is not None else None
        hours = len(negative) / SR / 3600 if negative is not None else 0
        cells = []
        for t in thresholds:
            cell = f"{t}: missed {sum(p <= t for p in best)}/{len(best)}"
            if neg is not None:
                cell += f", FA/h {len(fires(neg, t, int(2.0 * SR / 512))) / hours:.1f}"
            cells.append(cell)
        print(f"{engine:13} " + " | ".join(cells))
        print(
            f"{'':13} highest probability per recording: "
            + ", ".join(f"{f.name} {p:.2f}" for f, p in zip(files, best))
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--minutes", type=float, default=12.0, help="minutes of non-wake speech (>= 10)")
    ap.add_argument("--positives", type=int, default=60, help="number of wake phrases (>= 50)")
    ap.add_argument("--sweep", action="store_true", help="also sweep the detection threshold of both engines")
    ap.add_argument(
        "--own", metavar="DIR", help="your recordings of the wake word (one per file: wav, flac, ogg, mp3)"
    )
    ap.add_argument(
        "--negative-file", metavar="FILE", help="with --own: a long recording without the wake word"
    )
    ap.add_argument(
        "--calibrate", action="store_true", help="the larger calibration set and option search (see above)"
    )
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    if args.own:
        return own_recordings(Path(args.own), args.negative_file)
    if args.calibrate:
        t0 = time.perf_counter()
        negative, used = negative_audio(Path(args.data), args.minutes)
        clips = calibration_clips(args.positives)
        print(
            f"audio ready in {time.perf_counter() - t0:.1f} s: negatives {len(negative) / SR / 60:.1f} min "
            f"({used['piper']} Piper, {used['espeak']} espeak-ng sentences); positives {len(clips)} "
            f"({sum(1 for s, _ in clips if s['tts'] == 'piper')} Piper), per condition {dict((c, n) for c, n in calibration_counts(clips).items())}"
        )
        report = calibrate(clips, negative)
        print(f"{'option':24} {'thresholds':32} {'false rejects':>14} {'FA (per hour)':>16}")
        for name, best in report["best"].items():
            if best is None:
                print(f"{name:24} none reaches <= 1 false accept per hour")
                continue
            th = ", ".join(f"{k} {best[k]}" for k in ("micro", "openwakeword") if k in best)
            print(
                f"{name:24} {th:32} {100 * best['frr']:13.1f}% {best['fa']:6d} ({best['fa_per_hour']:.1f}/h)"
                + (
                    f"  missed by condition {best['missed_by_condition']}, by TTS {best['missed_by_tts']}"
                    if "missed_by_condition" in best
                    else ""
                )
            )
        for name in ("micro", "openwakeword"):
            print(
                f"{name} sweep: "
                + "  ".join(
                    f"{r[name]}: FRR {100 * r['frr']:.1f}% FA/h {r['fa_per_hour']:.1f}"
                    for r in report["sweep"][name]
                )
            )
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return

    t0 = time.perf_counter()
    negative, used = negative_audio(Path(args.data), args.minutes)
    clips = positive_clips(args.positives)
    print(f"audio ready in {time.perf_counter() - t0:.1f} s (cache {CACHE})")
    minutes = len(negative) / SR / 60
    print(
        f"negatives: {minutes:.1f} min of SLURP sentences ({used['piper']} Piper, {used['espeak']} espeak-ng); "
        f"positives: {len(clips)} espeak-ng 'Okay Nabu, <command>' ({sum(1 for s, _ in clips if s['noise_snr_db'])} "
        f"with noise at 10 dB SNR)\n"
    )
    offsets = used.pop("offsets")
    report = {"negative_minutes": round(minutes, 2), "negative_sentences": used, "positives": len(clips)}
    print(f"{'engine':14} {'false rejects':>16} {'false accepts':>14} {'per hour':>9} {'CPU %':>7}")
    for engine in ("micro", "openwakeword"):
        r = wake_error_rates(WakeSettings(engine=engine), [a for _, a in clips], negative)
        r["missed_specs"] = [clips[i][0] for i in r.pop("missed")]
        report[engine] = r
        print(
            f"{engine:14} {100 * r['false_reject_rate']:7.1f}% ({len(r['missed_specs'])}/{len(clips)}) "
            f"{r['false_accepts']:14d} {r['false_accepts_per_hour']:9.2f} {r['cpu_percent_of_one_core']:7.2f}"
        )
    noisy = sum(1 for spec, _ in clips if spec["noise_snr_db"])
    for engine in ("micro", "openwakeword"):
        missed_noisy = sum(1 for spec in report[engine]["missed_specs"] if spec["noise_snr_db"])
        missed_clean = len(report[engine]["missed_specs"]) - missed_noisy
        report[engine]["false_reject_rate_clean"] = missed_clean / max(1, len(clips) - noisy)
        report[engine]["false_reject_rate_noisy"] = missed_noisy / max(1, noisy)
        print(
            f"{engine:14} false rejects: clean {missed_clean}/{len(clips) - noisy}, 10 dB SNR noise {missed_noisy}/{noisy}"
        )
    for engine in ("micro", "openwakeword"):
        if report[engine]["missed_specs"]:
            print(f"\n{engine} missed:", *report[engine]["missed_specs"], sep="\n  ")
        if report[engine]["accept_times_s"]:
            print(f"{engine} false accepts (s into the negatives: the sentence being spoken):")
            for t in report[engine]["accept_times_s"]:
                text = [txt for start, txt in offsets if start <= t * SR][-1]
                print(f"  {t:7.1f} s: {text!r}")
    m, o = report["micro"], report["openwakeword"]
    better = min(
        ("micro", "openwakeword"),
        key=lambda e: (
            report[e]["false_reject_rate"] + report[e]["false_accepts_per_hour"] / 10,
            report[e]["cpu_percent_of_one_core"],
        ),
    )
    report["better"] = better
    print(
        f"\nbetter default (false rejects + false accepts/h / 10, then CPU): {better} "
        f"(micro FRR {100 * m['false_reject_rate']:.1f}%, FA/h {m['false_accepts_per_hour']:.2f}; "
        f"openwakeword FRR {100 * o['false_reject_rate']:.1f}%, FA/h {o['false_accepts_per_hour']:.2f})"
    )
    if args.sweep:
        grid = {
            "micro": [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97],
            "openwakeword": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7],
        }
        print(
            "\nthreshold sweep (per-block probabilities, 2 s refractory; model cutoffs: micro 0.85, openwakeword 0.5; defaults now micro 0.85, openwakeword 0.1)"
        )
        for engine, thresholds in grid.items():
            report[f"{engine}_sweep"] = rows = sweep(engine, thresholds, [a for _, a in clips], negative)
            print(
                f"  {engine:13} "
                + "  ".join(
                    f"{r['threshold']:.2f}: FRR {100 * r['false_reject_rate']:4.1f}% "
                    f"FA/h {r['false_accepts_per_hour']:5.1f}"
                    for r in rows
                )
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
