"""Streaming Silero VAD (the ONNX model shipped with faster-whisper) and an utterance endpointer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .voice_settings import VadSettings

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW = 512  # samples per Silero call (32 ms)
CONTEXT = 64


def silero_model_path() -> Path:
    import faster_whisper

    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


class SileroVad:
    """Streaming Silero VAD v6: feed 512-sample windows, get speech probabilities."""

    def __init__(self, model_path: Path | None = None):
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(
            str(model_path or silero_model_path()), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def __call__(self, samples: np.ndarray) -> list[float]:
        """Probabilities for each complete 512-sample window in (buffered) `samples`."""
        audio = np.asarray(samples, dtype=np.float32)
        if samples.dtype == np.int16:
            audio = audio / 32768.0
        self._pending = np.concatenate([self._pending, audio])
        probs = []
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            x = np.concatenate([self._context, window])[None, :]
            out, self._h, self._c = self.session.run(None, {"input": x, "h": self._h, "c": self._c})
            self._context = window[-CONTEXT:]
            probs.append(float(np.asarray(out).reshape(-1)[0]))
        return probs


@dataclass
class VadEvent:
    kind: str  # "start" | "peek" | "pause" | "resume" | "end" | "drop"
    t: float  # audio clock (s) of the event
    speech_end: float = 0.0  # for pause/end: audio clock of the last speech window
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))  # utterance so far
    early: bool = False  # for end: ended after early_endpoint_ms (a complete command), not the full timeout


class Endpointer:
    """Turns VAD probabilities into utterances: start, pause (speech stopped, may resume), end.

    Audio before speech start (speech_pad_ms) is kept; the utterance audio is cut at the last
    speech window plus a short pad, so trailing silence is not sent to ASR.

    Early endpointing: after a pause, the caller may decide that what was said is a whole command
    (``end_early()``); the utterance then ends after ``early_endpoint_ms`` of silence instead of
    ``trailing_silence_ms``. Speech resuming withdraws that decision. With early endpointing on, a
    "peek" event comes after ``early_decode_ms`` of silence (before "pause"), so the caller can decide
    sooner (its audio ends in zeros standing in for the rest of the pause); the "pause" event follows
    as usual.
    """

    def __init__(self, settings: VadSettings, vad: SileroVad | None = None):
        self.s = settings
        self.vad = vad or SileroVad()
        self.reset()

    def reset(self, t0: float | None = None) -> None:
        """Forget the current utterance; `t0` sets the audio clock."""
        self.vad.reset()
        if t0 is not None:
            self.samples_seen = int(round(t0 * SAMPLE_RATE))
        elif not hasattr(self, "samples_seen"):
            self.samples_seen = 0
        self._buf: list[np.ndarray] = []
        self._buf_start = self.samples_seen  # sample index of buf[0]
        self.in_speech = False
        self._speech_start = 0
        self._last_speech = 0  # sample index of the end of the last speech window
        self._speech_samples = 0
        self._paused = False
        self._early = False
        self._peeked = -1  # _last_speech of the silence a peek event was sent for

    @property
    def peek_ms(self) -> int:
        """Silence after which a "peek" event comes (0: none): ``early_decode_ms`` when early
        endpointing is on and it comes before ``pause_ms``."""
        s = self.s
        on = s.early_endpoint_ms > 0 and 0 < s.early_decode_ms < s.pause_ms
        return s.early_decode_ms if on else 0

    def end_early(self) -> None:
        """The speech so far is a complete command: end at ``early_endpoint_ms`` of silence, unless
        speech resumes first. No effect when ``early_endpoint_ms`` is 0 (off) or no speech is open."""
        silent = self._paused or self._peeked == self._last_speech
        if self.in_speech and silent and self.s.early_endpoint_ms > 0:
            self._early = True

    @property
    def last_speech_s(self) -> float:
        """Audio clock (s) at the end of the last speech window of the open utterance."""
        return self._last_speech / SAMPLE_RATE

    @property
    def ends_early(self) -> bool:
        """Whether the open utterance will end after the short silence (see ``end_early``)."""
        return self._early

    @property
    def t(self) -> float:
        return self.samples_seen / SAMPLE_RATE

    def _audio(self, start: int, end: int) -> np.ndarray:
        data = np.concatenate(self._buf) if self._buf else np.zeros(0, np.int16)
        return data[max(0, start - self._buf_start) : max(0, end - self._buf_start)]

    def process(self, samples: np.ndarray) -> list[VadEvent]:
        events: list[VadEvent] = []
        pad = self.s.speech_pad_ms * SAMPLE_RATE // 1000
        self._buf.append(np.asarray(samples, np.int16))
        probs = self.vad(samples)
        base = self.samples_seen
        self.samples_seen += len(samples)
        for i, p in enumerate(probs):
            win_end = base + (i + 1) * WINDOW
            if not self.in_speech:
                if p >= self.s.threshold:
                    self.in_speech = True
                    self._paused = self._early = False
                    self._speech_start = max(self._buf_start, win_end - WINDOW - pad)
                    self._last_speech = win_end
                    self._speech_samples = WINDOW
                    events.append(VadEvent("start", win_end / SAMPLE_RATE))
                continue
            if p >= self.s.neg_threshold:
                if self._paused:
                    events.append(VadEvent("resume", win_end / SAMPLE_RATE))
                self._paused = self._early = False
                self._last_speech = win_end
                self._speech_samples += WINDOW
            silence_ms = (win_end - self._last_speech) * 1000 / SAMPLE_RATE
            if self.peek_ms and not self._paused and self._last_speech != self._peeked:
                if silence_ms >= self.peek_ms:
                    self._peeked = self._last_speech
                    peek = self._event("peek", win_end, pad)
                    # zeros stand in for the silence still to come before "pause": Whisper heard
                    # "Next song" cut 32 ms after it as "next on", and with the pause's silence right
                    wait = min(self.s.pause_ms, self.s.speech_pad_ms) * SAMPLE_RATE // 1000
                    heard = len(peek.audio) - (self._last_speech - self._speech_start)
                    peek.audio = np.concatenate([peek.audio, np.zeros(max(0, wait - heard), np.int16)])
                    events.append(peek)
            if not self._paused and silence_ms >= self.s.pause_ms:
                self._paused = True
                events.append(self._event("pause", win_end, pad))
            too_long = (win_end - self._speech_start) / SAMPLE_RATE >= self.s.max_utterance_s
            needed = self.s.early_endpoint_ms if self._early else self.s.trailing_silence_ms
            if silence_ms >= needed or too_long:
                long_enough = self._speech_samples * 1000 / SAMPLE_RATE >= self.s.min_speech_ms
                events.append(self._event("end" if long_enough else "drop", win_end, pad))
                events[-1].early = self._early and not too_long
                self.in_speech = False
                self._paused = self._early = False
                self._trim(win_end)
        if not self.in_speech:
            keep_from = self.samples_seen - pad - WINDOW
            self._trim(keep_from)
        return events

    def _event(self, kind: str, win_end: int, pad: int) -> VadEvent:
        end = min(self._last_speech + pad, win_end)
        return VadEvent(
            kind, win_end / SAMPLE_RATE, self._last_speech / SAMPLE_RATE, self._audio(self._speech_start, end)
        )

    def _trim(self, keep_from: int) -> None:
        """Drop buffered audio before sample `keep_from`."""
        if keep_from <= self._buf_start or not self._buf:
            return
        data = np.concatenate(self._buf)
        cut = min(len(data), keep_from - self._buf_start)
        self._buf = [data[cut:]]
        self._buf_start += cut
