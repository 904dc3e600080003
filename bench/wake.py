"""Wake-word benchmark: false accepts per hour of non-wake speech and false rejects, per engine.

    python bench/wake.py                    # >= 10 min negatives, 60 positives, micro and openwakeword
    python bench/wake.py --minutes 20 --positives 90 --json out.json
    python bench/wake.py --sweep            # also false rejects / false accepts per hour over thresholds
    python bench/wake.py --calibrate --positives 210 --minutes 20 --check   # the defaults' set (below)
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
``reverb 80 50 100 100 20``), reverb plus 10 dB noise. Negatives: the SLURP sentences above
(``--minutes``) plus, from ``--extra`` (SNIPS train in the data dir by default), 40 min read by
espeak-ng and 12 min by Piper (``--extra-espeak-minutes``, ``--extra-piper-minutes``): 72 min in all,
so 1 false accept per hour is resolved. For each variant in ``variants()`` (smoothing windows, either
engine, micro confirmed by openWakeWord, ...) it sweeps the thresholds and prints a DET-style table:
the lowest false-reject rate at <= 0, 1 and 5 false accepts per hour, plus a two-fold held-out
figure at <= 1/h. ``--check`` then runs the configured detector (assistant.wake, peak picking and
all) over the same audio. ``--denoise`` sweeps on the audio after the default detector's noise
suppressor (assistant/denoise.py), only the variants where openWakeWord confirms micro's candidates,
with openWakeWord run on the negatives only near them, as the detector does. The first run computes openWakeWord over an hour of audio (tens of minutes
of CPU on a busy machine); its per-block probabilities are cached too.

Synthesised audio is cached as .npy under $TMPDIR/assistant-bench-audio (reruns take seconds).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio import blocks, resample  # noqa: E402
from assistant.denoise import NoiseSuppressor  # noqa: E402
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


DEFAULT_EXTRA = ROOT.parent / "shared" / "data" / "snips_train.jsonl"


def extra_negative_audio(path: Path, minutes: float, tts: str) -> tuple[np.ndarray, int]:
    """More non-wake speech: sentences of another corpus (jsonl with "text" or "sentence"; SNIPS
    train by default) read by espeak-ng (8 voices, 3 speeds, 3 pitches) or Piper joe (2 speeds)
    until `minutes` long, 0.3-0.8 s apart with faint room noise; returns (audio, sentences used).
    espeak-ng takes the even rows and Piper the odd ones, so the two never read the same sentence."""
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    texts = [r.get("text") or r.get("sentence") or "" for r in rows]
    texts = [t for t in texts if t and "nabu" not in t.lower()]
    order = np.random.default_rng(3).permutation(len(texts))
    order = order[0::2] if tts == "espeak" else order[1::2]
    rng = np.random.default_rng(4 if tts == "espeak" else 5)
    parts, total, n = [], 0, 0
    for k, i in enumerate(order):
        if total >= minutes * 60 * SR:
            break
        if tts == "espeak":
            v = ESPEAK_VOICES[k % len(ESPEAK_VOICES)]
            audio = espeak(texts[i], v, (130, 160, 190)[(k // 8) % 3], (35, 50, 70)[(k // 3) % 3])
        else:
            audio = piper(texts[i], (1.0, 1.15)[k % 2])
        parts += [audio, silence(float(rng.uniform(0.3, 0.8)))]
        total += len(audio) + len(parts[-1])
        n += 1
    audio = np.concatenate(parts)
    room = (rng.standard_normal(len(audio)) * 0.003 * 32767).astype(np.int16)
    return np.clip(audio.astype(np.int32) + room, -32768, 32767).astype(np.int16), n


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


def moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean of the last n values at each position (fewer at the start)."""
    if n <= 1:
        return x
    c = np.cumsum(np.concatenate([np.zeros(n, x.dtype), x]))
    return ((c[n:] - c[:-n]) / n).astype(np.float32)


def recent_max(x: np.ndarray, n: int) -> np.ndarray:
    """Max of the last n+1 values at each position (the window a verifier looks back over)."""
    out = x.copy()
    for k in range(1, n + 1):
        out[k:] = np.maximum(out[k:], x[:-k])
    return out


GRID = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03] + [
    round(float(t), 3) for t in np.concatenate([np.arange(0.05, 0.9, 0.05), np.arange(0.9, 1.0, 0.01)])
]
PRODUCT_GRID = [0.0005, 0.0006, 0.0007, 0.0008, 0.0009, 0.001, 0.0011, 0.0012, 0.0015, 0.002, 0.003, 0.005]
COMBO_GRID = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97]


class Variant(NamedTuple):
    """A detector variant: its thresholds (names, grids), the score arrays it needs from an audio's
    traces (computed once), and whether it is above its thresholds per block."""

    thresholds: list[str]
    grids: list[list[float]]
    derive: Callable[[dict], tuple[np.ndarray, ...]]
    test: Callable[..., np.ndarray]


def variants() -> dict[str, Variant]:
    """The detector variants measured by --calibrate. Traces per kind: "micro" (the model's mean of 5
    steps), "micro_raw" (before that mean), "openwakeword"."""
    verify = int(1.0 * SR / 512)  # openWakeWord peaks ~0.3 s after micro: look back 1 s

    def one(kind: str, n: int = 1) -> Variant:
        return Variant(
            [kind.split("_")[0]], [GRID], lambda d: (moving_mean(d[kind], n),), lambda a, t: a[0] > t
        )

    both = lambda d: (d["micro"], d["openwakeword"], recent_max(d["micro"], verify))  # noqa: E731
    return {
        "micro (model's mean of 5)": one("micro"),
        "micro, mean of 3": one("micro_raw", 3),
        "micro, mean of 10": one("micro_raw", 10),
        "openWakeWord": one("openwakeword"),
        "openWakeWord, mean of 3": one("openwakeword", 3),
        "micro or openWakeWord": Variant(
            ["micro", "openwakeword"], [COMBO_GRID, GRID], both, lambda a, tm, to: (a[0] > tm) | (a[1] > to)
        ),
        "micro, openWakeWord confirms in 1 s": Variant(
            ["micro", "openwakeword"], [COMBO_GRID, GRID], both, lambda a, tm, to: (a[2] > tm) & (a[1] > to)
        ),
        "micro + openWakeWord (sum of scores)": Variant(
            ["sum"], [[round(0.1 * k, 2) for k in range(1, 20)]], both, lambda a, t: a[2] + a[1] > t
        ),
        "micro strict, or micro + openWakeWord": Variant(
            ["micro strict", "micro", "openwakeword"],
            [[0.8, 0.9, 0.95, 0.97, 1.0], COMBO_GRID, GRID],
            both,
            lambda a, th, tm, to: (a[0] > th) | ((a[2] > tm) & (a[1] > to)),
        ),
        # the default (assistant.wake.ConfirmedWake): micro >= 0.05 is a candidate; openWakeWord's
        # probability times micro's must pass the product cutoff
        "micro strict, or micro x openWakeWord": Variant(
            ["micro strict", "product"],
            [[0.9, 0.95, 1.0], PRODUCT_GRID],
            both,
            lambda a, th, tp: (a[0] > th) | ((a[2] > 0.05) & (a[2] * a[1] > tp)),
        ),
    }


GATED = (
    "micro, openWakeWord confirms in 1 s",
    "micro strict, or micro + openWakeWord",
    "micro strict, or micro x openWakeWord",
)


def best_point(points: list[dict], fa_per_hour: float) -> dict | None:
    """The lowest false-reject rate with at most `fa_per_hour`; ties: the strictest thresholds."""
    ok = [p for p in points if p["fa_per_hour"] <= fa_per_hour]
    return min(ok, key=lambda p: (p["frr"], p["fa"], [-v for v in p["thresholds"].values()])) if ok else None


def held_out(points: list[dict], hours: float, fa_per_hour: float = 1.0) -> dict:
    """Two-fold check of the choice at <= `fa_per_hour`: thresholds chosen on even clips and the first
    half of the negatives, measured on odd clips and the second half, and the other way round; the
    false-reject rate is the mean of the two, the false accepts are summed (over all the negatives)."""
    frr, fa, chosen = [], 0, []
    for fold in (0, 1):
        pts = [
            dict(
                p,
                frr=p["folds"][fold],
                fa=p["folds"][2 + fold],
                fa_per_hour=p["folds"][2 + fold] / (hours / 2),
            )
            for p in points
        ]
        best = best_point(pts, fa_per_hour)
        if best is None:
            return {}
        chosen.append(best["thresholds"])
        frr.append(best["folds"][1 - fold])
        fa += best["folds"][3 - fold]
    return {"frr": float(np.mean(frr)), "fa": fa, "fa_per_hour": fa / hours, "thresholds": chosen}


def near_micro_candidates(audio: np.ndarray) -> np.ndarray:
    """openWakeWord's probabilities only where ConfirmedWake runs it: from 3 s before to 1 s after each
    block where micro passes 0.05 (openWakeWord restarted at each stretch); 0 elsewhere."""
    micro = probabilities("micro", audio)
    out = np.zeros(len(micro), np.float32)
    near = np.zeros(len(micro), bool)
    for i in np.flatnonzero(micro > 0.05):
        near[max(0, i - math.ceil(3.0 * SR / 512)) : i + math.ceil(1.0 * SR / 512)] = True
    edges = np.flatnonzero(np.diff(np.concatenate([[0], near.astype(np.int8), [0]])))
    for start, end in zip(edges[0::2], edges[1::2], strict=True):
        out[start:end] = probabilities("openwakeword", audio[start * 512 : end * 512])[: end - start]
    return out


def calibrate(
    clips: list[tuple[dict, np.ndarray]],
    negatives: dict[str, np.ndarray],
    refractory_s: float = 2.0,
    gated_only: bool = False,
) -> dict:
    """A DET-style table: per detector variant, the lowest false-reject rate over its threshold(s) with
    at most 0, 1 and 5 false accepts per hour of the negatives, and the thresholds that give it.
    ``gated_only``: only the variants where openWakeWord merely confirms micro's candidates, with
    openWakeWord run on the negatives only near them (minutes of CPU instead of an hour of audio)."""
    hours = sum(len(a) for a in negatives.values()) / SR / 3600
    gap = int(refractory_s * SR / 512)
    kinds = {"micro": ("micro", False), "micro_raw": ("micro", True), "openwakeword": ("openwakeword", False)}
    pos = {k: [probabilities(e, a, raw) for _, a in clips] for k, (e, raw) in kinds.items()}
    neg = {
        k: [
            near_micro_candidates(a) if gated_only and e == "openwakeword" else probabilities(e, a, raw)
            for a in negatives.values()
        ]
        for k, (e, raw) in kinds.items()
    }
    budgets = [0, 1, 5]
    table: dict[str, dict] = {}
    for name, v in variants().items():
        if gated_only and name not in GATED:
            continue
        pos_a = [v.derive({k: pos[k][i] for k in pos}) for i in range(len(clips))]
        neg_a = [v.derive({k: neg[k][j] for k in neg}) for j in range(len(negatives))]
        points = []
        for ths in itertools.product(*v.grids):
            missed = np.array([not v.test(a, *ths).any() for a in pos_a])
            halves = [0, 0]  # false accepts in the first and the second half of each negative recording
            for j in range(len(negatives)):
                score = v.test(neg_a[j], *ths).astype(np.float32)
                for h, part in enumerate(np.array_split(score, 2)):
                    halves[h] += len(fires(part, 0.5, gap))
            points.append(
                {
                    "thresholds": dict(zip(v.thresholds, ths, strict=True)),
                    "frr": float(missed.mean()),
                    "fa": sum(halves),
                    "fa_per_hour": sum(halves) / hours,
                    "folds": (float(missed[0::2].mean()), float(missed[1::2].mean()), *halves),
                }
            )
        row = {budget: best_point(points, budget) for budget in budgets}
        table[name] = {"at_fa_per_hour": row, "points": points, "held_out": held_out(points, hours)}
    return {
        "negative_hours": hours,
        "negative_minutes": {k: len(a) / SR / 60 for k, a in negatives.items()},
        "positives": len(clips),
        "per_condition_clips": calibration_counts(clips),
        "table": table,
    }


def missed_by(clips: list[tuple[dict, np.ndarray]], engine: str, threshold: float) -> dict:
    """Misses of one engine at one threshold, by condition and by synthesiser."""
    missed = [s for s, a in clips if probabilities(engine, a).max() <= threshold]
    return {
        "condition": {c: sum(1 for s in missed if s["condition"] == c) for c in CONDITIONS},
        "tts": {t: sum(1 for s in missed if s["tts"] == t) for t in ("espeak", "piper")},
    }


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


def probabilities(engine: str, audio: np.ndarray, raw: bool = False) -> np.ndarray:
    """Highest wake probability per 512-sample block (0 where the model gave none), the engine's own
    front end and model as in assistant/wake.py but without its cutoff, for a threshold sweep.
    ``raw``: microWakeWord's last probability before its own 5-step sliding mean (for other windows).
    Cached under CACHE/traces by the audio's hash (openWakeWord takes ~10 % of a core: an hour of
    audio is minutes of CPU)."""
    key = hashlib.sha1(audio.astype(np.int16).tobytes()).hexdigest()
    path = CACHE / "traces" / f"{engine}-{key}.npy"
    if path.is_file():
        both = np.load(path)
    else:
        det = make_wake(WakeSettings(engine=engine))
        model = det.models[0]
        both = np.zeros((2, len(audio) // 512 + 1), np.float32)
        for i, b in enumerate(blocks(audio, 512)):
            data = np.asarray(b, np.int16).tobytes()
            if engine == "micro":
                probs, raws = [], []
                for f in det._features.process_streaming(data):
                    probs.append(model.process_streaming_prob(f))
                    raws.append(model._probabilities[-1] if model._probabilities else 0.0)
            else:
                probs = [p for e in det._features.process_streaming(data) for p in model.process_streaming(e)]
                raws = probs
            both[0, i] = max([p for p in probs if p is not None], default=0.0)
            both[1, i] = max(raws, default=0.0)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path.with_suffix(".tmp.npy"), both)
        path.with_suffix(".tmp.npy").replace(path)
    return both[1] if raw else both[0]


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
    grid = {
        "micro": [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95],
        "openwakeword": [0.002, 0.01, 0.02, 0.05, 0.1, 0.3, 0.5],
    }
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
            + ", ".join(f"{f.name} {p:.2f}" for f, p in zip(files, best, strict=True))
        )
    settings = WakeSettings()
    r = wake_error_rates(settings, clips, negative if negative is not None else silence(1.0))
    print(
        f"default detector ({settings.engine}, assistant.wake): missed {len(r['missed'])}/{len(clips)}"
        + (f", FA/h {r['false_accepts_per_hour']:.1f}" if negative is not None else "")
        + (" (" + ", ".join(files[i].name for i in r["missed"]) + ")" if r["missed"] else "")
    )


def suppress(audio: np.ndarray) -> np.ndarray:
    """The audio through the default detector's noise suppressor (32 ms later, as the detector hears it)."""
    ns = NoiseSuppressor()
    return np.concatenate([ns.process(audio[i : i + 512]) for i in range(0, len(audio), 512)])


def run_calibration(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    negatives = {"SLURP devel home (Piper, espeak-ng)": negative_audio(Path(args.data), args.minutes)[0]}
    extra = Path(args.extra)
    if extra.is_file():
        for tts, minutes in (("espeak", args.extra_espeak_minutes), ("piper", args.extra_piper_minutes)):
            if minutes > 0:
                audio, n = extra_negative_audio(extra, minutes, tts)
                negatives[f"{extra.stem} ({n} sentences, {'espeak-ng' if tts == 'espeak' else 'Piper'})"] = (
                    audio
                )
    else:
        print(f"{extra} not found: negatives from {args.data} only")
    clips = calibration_clips(args.positives)
    if args.denoise:
        clips = [(spec, suppress(a)) for spec, a in clips]
        negatives = {k: suppress(a) for k, a in negatives.items()}
    hours = sum(len(a) for a in negatives.values()) / SR / 3600
    print(
        f"audio ready in {time.perf_counter() - t0:.0f} s; negatives {60 * hours:.1f} min: "
        + ", ".join(f"{k} {len(a) / SR / 60:.1f} min" for k, a in negatives.items())
        + f"\npositives {len(clips)} ({sum(1 for s, _ in clips if s['tts'] == 'piper')} Piper), "
        f"per condition {calibration_counts(clips)}"
    )
    report = calibrate(clips, negatives, gated_only=args.denoise)
    budgets = [0, 1, 5]
    print(
        f"\nfalse rejects at <= N false accepts per hour ({60 * hours:.0f} min of negatives: 1/h allows "
        f"{int(hours)} false accept(s), 5/h {int(5 * hours)}); thresholds chosen on this same set"
    )
    print(f"{'variant':38}" + "".join(f"{f'FA/h <= {b}':>30}" for b in budgets) + f"{'held out, <= 1/h':>30}")
    for name, r in report["table"].items():
        cells = []
        for b in budgets:
            p = r["at_fa_per_hour"][b]
            th = "/".join(f"{v:g}" for v in p["thresholds"].values()) if p else ""
            cells.append(f"{100 * p['frr']:5.1f}% ({p['fa']} FA) @ {th}" if p else "-")
        h = r["held_out"]
        cells.append(f"{100 * h['frr']:5.1f}% ({h['fa']} FA)" if h else "-")
        print(f"{name:38}" + "".join(f"{c:>30}" for c in cells))
    for engine, label in (("micro", "micro (model's mean of 5)"), ("openwakeword", "openWakeWord")):
        p = report["table"][label]["at_fa_per_hour"][1] if label in report["table"] else None
        if p:
            report[f"{engine}_missed_at_1_fa_per_hour"] = m = missed_by(
                clips, engine, p["thresholds"][engine]
            )
            print(
                f"{engine} at {p['thresholds'][engine]}: missed by condition {m['condition']}, by TTS {m['tts']}"
            )
    if args.check:
        settings = WakeSettings()
        r = wake_error_rates(settings, [a for _, a in clips], np.concatenate(list(negatives.values())))
        report["default_detector"] = r
        print(
            f"\nassistant.wake default ({settings.engine}, threshold {make_wake(settings).threshold}, peak "
            f"picking): false rejects {100 * r['false_reject_rate']:.1f}% ({len(r['missed'])}/{len(clips)}), "
            f"false accepts {r['false_accepts']} ({r['false_accepts_per_hour']:.2f}/h), "
            f"CPU {r['cpu_percent_of_one_core']:.2f} % of a core"
        )
    if args.json:
        for r in report["table"].values():
            r.pop("points")
        Path(args.json).write_text(json.dumps(report, indent=2))


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
    ap.add_argument(
        "--extra",
        default=str(DEFAULT_EXTRA),
        help="with --calibrate: more sentences for the negatives (jsonl; default SNIPS train in the data dir)",
    )
    ap.add_argument("--extra-espeak-minutes", type=float, default=40.0, help="with --calibrate")
    ap.add_argument("--extra-piper-minutes", type=float, default=12.0, help="with --calibrate")
    ap.add_argument(
        "--denoise",
        action="store_true",
        help="with --calibrate: sweep on the audio after the default detector's noise suppressor "
        "(assistant/denoise.py); only the variants where openWakeWord confirms micro",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="with --calibrate: also run the default detector (assistant.wake, peak picking included) "
        "over the same audio",
    )
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    if args.own:
        return own_recordings(Path(args.own), args.negative_file)
    if args.calibrate:
        return run_calibration(args)

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
