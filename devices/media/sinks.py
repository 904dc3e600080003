"""Audio sinks: where sound goes, spoken replies and the built-in music player's alike.

One protocol, ``AudioSink``: ``play(samples, sample_rate)`` takes int16 samples, mono ``(frames,)`` or
``(frames, channels)``, at any rate; ``fit`` converts them to what a sink plays. Here are the sinks that need no sound card (a WAV file, nothing);
the speaker sinks live in ``assistant/audio.py`` and ``assistant/services.py``.
"""

from __future__ import annotations

import threading
import time
import wave
from math import gcd
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class AudioSink(Protocol):
    """Where audio is played.

    ``sample_rate`` and ``channels`` say what the sink plays best: the music player decodes to them,
    so nothing is resampled; a spoken reply comes at its voice's rate, mono, and the sink converts it.
    ``play`` returns when the sink has taken the samples (a speaker, or a paced sink, at its own
    pace); ``stop`` cuts short what is playing (barge-in; any thread); ``close`` releases the sink.
    """

    sample_rate: int
    channels: int

    def play(self, samples: np.ndarray, sample_rate: int) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def to_rate(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Samples (int16, or floats on the int16 scale; frames along the first axis) as int16 at ``dst_rate``."""
    if src_rate == dst_rate:
        return np.asarray(samples).astype(np.int16)
    from scipy.signal import resample_poly

    g = gcd(src_rate, dst_rate)
    out = resample_poly(np.asarray(samples, dtype=np.float32), dst_rate // g, src_rate // g, axis=0)
    return np.clip(out, -32768, 32767).astype(np.int16)


def fit(samples: np.ndarray, sample_rate: int, rate: int, channels: int) -> np.ndarray:
    """``samples`` (mono, or frames x channels) at ``sample_rate`` as int16 frames x ``channels`` at ``rate``."""
    x = np.asarray(samples)
    x = x.reshape(len(x), -1)
    if x.shape[1] != channels:  # mono to stereo, or down to mono
        x = np.repeat(x.mean(axis=1, keepdims=True) if x.shape[1] > 1 else x, channels, axis=1)
    return to_rate(x, sample_rate, rate)


class _Paced:
    """Sleep so plays advance like a real device (``speed`` x real time; 0 = no pacing)."""

    def __init__(self, speed: float):
        self.speed = speed
        self._t0: float | None = None
        self._played = 0.0

    def pace(self, seconds: float) -> None:
        if self.speed <= 0:
            return
        now = time.monotonic()
        if self._t0 is None or now - (self._t0 + self._played) > 0.05:
            self._t0, self._played = now, 0.0  # (re)start after an underrun, e.g. pause
        self._played += seconds / self.speed
        delay = self._t0 + self._played - now
        if delay > 0:
            time.sleep(delay)


class WavSink:
    """Writes everything played to one WAV file (other rates resampled); records when the first
    sample arrived. ``speed`` paces it like a device (1.0 = real time; 0 = as fast as it can)."""

    def __init__(self, path: str | Path, sample_rate: int = 22050, channels: int = 1, speed: float = 0.0):
        self.path = Path(path)
        self.sample_rate, self.channels = sample_rate, channels
        self._wav: wave.Wave_write | None = wave.open(str(self.path), "wb")
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)
        self._pace = _Paced(speed)
        self._lock = threading.Lock()
        self.first_write_at: float | None = None
        self.frames_written = 0

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        frames = len(samples := fit(samples, sample_rate, self.sample_rate, self.channels))
        with self._lock:
            if self._wav is None:
                return
            if self.first_write_at is None and frames:
                self.first_write_at = time.perf_counter()
            self._wav.writeframes(samples.astype("<i2", copy=False).tobytes())
            self.frames_written += frames
        self._pace.pace(frames / self.sample_rate)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            if self._wav is not None:
                self._wav.close()
                self._wav = None


class NullSink:
    """Discards audio (optionally paced); counts frames, seconds and the first-play time."""

    def __init__(self, sample_rate: int = 22050, channels: int = 1, speed: float = 0.0):
        self.sample_rate, self.channels = sample_rate, channels
        self._pace = _Paced(speed)
        self.first_write_at: float | None = None
        self.first_write_event = threading.Event()
        self.frames_written = 0
        self.seconds = 0.0

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        frames = len(samples)
        if self.first_write_at is None and frames:
            self.first_write_at = time.perf_counter()
            self.first_write_event.set()
        self.frames_written += frames
        self.seconds += frames / sample_rate
        self._pace.pace(frames / sample_rate)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass
