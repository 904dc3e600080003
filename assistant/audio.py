"""Audio I/O: 16 kHz mono int16 blocks from microphone, files or stdin; the speaker sink."""

from __future__ import annotations

import logging
import queue
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from devices.media.sinks import fit, to_rate

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
DEFAULT_BLOCK = 512  # 32 ms
DROP_WARNING_EVERY_S = 10.0  # a microphone that overruns says so at most this often
# While only the wake word is awaited, the microphone loop takes its blocks in bursts: woken once per
# block (31 times a second), it paid for cold caches each time about as much as for the wake engines'
# work. A hold delays a detection (and its chime) by at most this much; no audio is lost, and a
# command, an answer or barge-in during speech take each block at once (docs/voice.md, "Idle cost of
# the service": 0.1 s gave 3.3-3.7 % of a core, 0.15 s 3.1-3.2 %, 0.2 s 2.6-2.9 %, main 4.1-4.8 %).
IDLE_HOLD_S = 0.2


class AudioDeviceError(RuntimeError):
    """No usable sound device."""


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample int16 or float mono audio; returns int16."""
    if samples.dtype != np.int16:
        samples = np.clip(np.asarray(samples, dtype=np.float32) * 32767.0, -32768, 32767)
    return to_rate(samples, src_rate, dst_rate)


def read_audio_file(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode WAV/FLAC/OGG/MP3... to mono int16 at `sample_rate`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Audio file not found: {path}")
    if path.suffix.lower() == ".wav":
        try:
            with wave.open(str(path), "rb") as wav:
                if wav.getsampwidth() == 2:
                    data = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
                    channels = wav.getnchannels()
                    if channels > 1:
                        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
                    return resample(data, wav.getframerate(), sample_rate)
        except wave.Error:
            pass  # e.g. float WAV: let PyAV handle it
    import av

    chunks = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, dtype=np.int16)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono int16 WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.asarray(samples, dtype=np.int16).tobytes())


def blocks(samples: np.ndarray, block: int = DEFAULT_BLOCK) -> Iterator[np.ndarray]:
    """Split into fixed blocks; the last one is zero-padded."""
    for i in range(0, len(samples), block):
        b = samples[i : i + block]
        if len(b) < block:
            b = np.concatenate([b, np.zeros(block - len(b), dtype=np.int16)])
        yield b


# ----------------------------------------------------------------------------- sources


class Source(Protocol):
    def __iter__(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


class ArraySource:
    """Blocks from an array; `realtime=False` runs as fast as the consumer."""

    def __init__(self, samples: np.ndarray, block: int = DEFAULT_BLOCK, realtime: bool = False):
        self.samples = np.asarray(samples, dtype=np.int16)
        self.block = block
        self.realtime = realtime

    def __iter__(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        for i, b in enumerate(blocks(self.samples, self.block)):
            if self.realtime:
                delay = start + i * self.block / SAMPLE_RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield b

    def close(self) -> None:
        pass


class FileSource(ArraySource):
    """Blocks decoded from an audio file (any format PyAV reads)."""

    def __init__(self, path: str | Path, block: int = DEFAULT_BLOCK, realtime: bool = False):
        super().__init__(read_audio_file(path), block, realtime)


class RawPcmSource:
    """Raw s16le 16 kHz mono PCM from a binary stream (e.g. sys.stdin.buffer)."""

    def __init__(self, stream: BinaryIO, block: int = DEFAULT_BLOCK):
        self.stream = stream
        self.block = block

    def __iter__(self) -> Iterator[np.ndarray]:
        nbytes = self.block * 2
        buf = b""
        while True:
            chunk = self.stream.read(nbytes - len(buf))
            if not chunk:
                break
            buf += chunk
            if len(buf) >= nbytes:
                yield np.frombuffer(buf[:nbytes], dtype=np.int16).copy()
                buf = buf[nbytes:]
        if buf:
            yield from blocks(np.frombuffer(buf[: len(buf) // 2 * 2], dtype=np.int16), self.block)

    def close(self) -> None:
        pass


def _device_hint(kind: str, device) -> str:
    return (
        f"No usable audio {kind} device ({'default' if device is None else repr(device)}). "
        f"Check that a sound card is present (`arecord -l` / `aplay -l`), and set "
        f"`audio.{'input' if kind == 'input' else 'output'}_device` in the config "
        f"(list devices: python -m sounddevice)."
    )


def check_input(device=None) -> None:
    """Raise AudioDeviceError (saying what to do) unless ``device`` can capture 16 kHz mono."""
    try:
        import sounddevice as sd

        sd.check_input_settings(device=device, samplerate=SAMPLE_RATE, channels=1, dtype="int16")
    except Exception as exc:  # PortAudioError, ValueError (no such device), OSError (no PortAudio)
        raise AudioDeviceError(f"{_device_hint('input', device)} ({exc})") from exc


class MicSource:
    """Live microphone capture via sounddevice."""

    def __init__(self, device=None, block: int = DEFAULT_BLOCK):
        self.device = device
        self.block = block
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=500)
        self._stream: Any = None  # a sounddevice.InputStream (sounddevice has no types)
        self._closed = threading.Event()
        self._dropped = 0
        self._warned_at = -DROP_WARNING_EVERY_S
        # > 0: once the queue runs dry, wait this long so that the next blocks come as one burst (set
        # by the consumer while nothing needs a quick answer, e.g. IDLE_HOLD_S while awaiting the wake
        # word); 0: each block as soon as it is captured
        self.hold_s = 0.0

    def _callback(self, indata, frames, time_info, status) -> None:  # sounddevice thread
        if status:
            _LOGGER.debug("capture status: %s", status)
        try:
            self._queue.put_nowait(indata[:, 0].copy())
        except queue.Full:  # one warning per DROP_WARNING_EVERY_S, not one per block (31 a second)
            self._dropped += 1
            now = time.monotonic()
            if now - self._warned_at >= DROP_WARNING_EVERY_S:
                _LOGGER.warning(
                    "Audio queue full: dropped %d block(s) of microphone audio since the last warning "
                    "(processing too slow)",
                    self._dropped,
                )
                self._dropped, self._warned_at = 0, now

    def start(self) -> None:
        try:
            import sounddevice as sd

            self._stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=self.block,
                device=self.device,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError (no device)...
            raise AudioDeviceError(f"{_device_hint('input', self.device)} ({exc})") from exc

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._stream is None:
            self.start()
        while not self._closed.is_set():
            if self.hold_s > 0 and self._queue.empty():
                self._closed.wait(self.hold_s)
            try:
                yield self._queue.get(timeout=0.2)
            except queue.Empty:
                continue

    def close(self) -> None:
        self._closed.set()
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


# ----------------------------------------------------------------------------- sinks
# The sink protocol (``AudioSink``), the WAV and null sinks live in devices/media/sinks.py.


class SpeakerSink:
    """An ``AudioSink`` for spoken replies: plays mono through sounddevice, a stream per reply at the
    reply's rate; `play` blocks until done or `stop()` (barge-in)."""

    sample_rate, channels = 22050, 1

    def __init__(self, device=None):
        self.device = device
        self._stop = threading.Event()
        try:
            import sounddevice as sd

            sd.check_output_settings(device=device, channels=1, dtype="int16", samplerate=22050)
        except Exception as exc:
            raise AudioDeviceError(f"{_device_hint('output', device)} ({exc})") from exc

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        import sounddevice as sd

        self._stop.clear()
        samples = fit(samples, sample_rate, sample_rate, 1)
        step = sample_rate // 10  # write 100 ms at a time so stop() is quick
        with sd.OutputStream(samplerate=sample_rate, channels=1, dtype="int16", device=self.device) as out:
            for i in range(0, len(samples), step):
                if self._stop.is_set():
                    out.abort()
                    return
                out.write(samples[i : i + step])

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()


class MusicSpeakerSink:
    """An ``AudioSink`` for the built-in music player: 16-bit stereo written to one open output stream
    (``play`` blocks at the device's pace)."""

    def __init__(self, sample_rate: int = 44100, channels: int = 2, device=None):
        import sounddevice as sd

        self.sample_rate, self.channels = sample_rate, channels
        self._stream: Any = sd.RawOutputStream(
            samplerate=sample_rate, channels=channels, dtype="int16", device=device
        )
        self._stream.start()

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        if self._stream is not None:
            self._stream.write(fit(samples, sample_rate, self.sample_rate, self.channels).tobytes())

    def stop(self) -> None:
        pass

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
