"""Audio sinks for the built-in player: 16-bit little-endian interleaved PCM."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class AudioSink(Protocol):
    """Where the local player writes PCM. ``channels`` is optional (default 1)."""

    sample_rate: int

    def write(self, pcm: bytes) -> None: ...

    def close(self) -> None: ...


class _Paced:
    """Sleep so writes advance like a real device (``speed`` x real time; 0 = no pacing)."""

    def __init__(self, sample_rate: int, channels: int, speed: float):
        self.sample_rate, self.channels, self.speed = sample_rate, channels, speed
        self._t0: float | None = None
        self._played = 0.0

    def pace(self, nbytes: int) -> None:
        if self.speed <= 0:
            return
        now = time.monotonic()
        if self._t0 is None or now - (self._t0 + self._played) > 0.05:
            self._t0, self._played = now, 0.0  # (re)start after an underrun, e.g. pause
        self._played += nbytes / (2 * self.channels * self.sample_rate) / self.speed
        delay = self._t0 + self._played - now
        if delay > 0:
            time.sleep(delay)


class WavFileSink:
    """Writes everything to a WAV file; records when the first sample arrived."""

    def __init__(self, path: str | Path, sample_rate: int = 22050, channels: int = 1, speed: float = 0.0):
        self.path = Path(path)
        self.sample_rate, self.channels = sample_rate, channels
        self._wav: wave.Wave_write | None = wave.open(str(self.path), "wb")
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)
        self._pace = _Paced(sample_rate, channels, speed)
        self._lock = threading.Lock()
        self.first_write_at: float | None = None
        self.frames_written = 0

    def write(self, pcm: bytes) -> None:
        with self._lock:
            if self._wav is None:
                return
            if self.first_write_at is None and pcm:
                self.first_write_at = time.perf_counter()
            self._wav.writeframes(pcm)
            self.frames_written += len(pcm) // (2 * self.channels)
        self._pace.pace(len(pcm))

    def close(self) -> None:
        with self._lock:
            if self._wav is not None:
                self._wav.close()
                self._wav = None


class NullSink:
    """Discards audio (optionally paced); counts frames and the first-write time."""

    def __init__(self, sample_rate: int = 22050, channels: int = 1, speed: float = 0.0):
        self.sample_rate, self.channels = sample_rate, channels
        self._pace = _Paced(sample_rate, channels, speed)
        self.first_write_at: float | None = None
        self.frames_written = 0
        self.first_write_event = threading.Event()

    def write(self, pcm: bytes) -> None:
        if self.first_write_at is None and pcm:
            self.first_write_at = time.perf_counter()
            self.first_write_event.set()
        self.frames_written += len(pcm) // (2 * self.channels)
        self._pace.pace(len(pcm))

    def close(self) -> None:
        pass
