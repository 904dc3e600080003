"""Wake word detection: microWakeWord or openWakeWord behind one interface, or none."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .voice_settings import WakeSettings

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000

# Cutoffs used when wake.threshold is unset (bench/wake.py --calibrate, docs/voice.md): openWakeWord
# at 0.1 misses 44 % of the calibration clips against 59 % at its usual 0.5, with no false accept in
# 12 min. micro keeps its model's 0.85: 0.5 would halve its misses on the same set, but it then fires
# before "Nabu" ends and the tail leaks into the command (tests/test_pipeline.py fails); that needs
# firing at the probability peak first.
DEFAULT_THRESHOLDS = {"micro": 0.85, "openwakeword": 0.1}


@dataclass
class Detection:
    word: str
    probability: float
    t: float  # audio clock (s) at the end of the block that fired


class WakeDetector(Protocol):
    words: list[str]

    def process(self, samples: np.ndarray) -> Detection | None: ...

    def reset(self) -> None: ...


class _Refractory:
    """Audio clock and refractory period shared by the engines."""

    def __init__(self, refractory_s: float):
        self.refractory_s = refractory_s
        self.samples = 0
        self._last_fire = -1e9

    def advance(self, n: int) -> float:
        self.samples += n
        return self.samples / SAMPLE_RATE

    def fire(self, t: float) -> bool:
        if t - self._last_fire < self.refractory_s:
            return False
        self._last_fire = t
        return True


class NoWake:
    """Never fires (no-wake mode, or push-to-talk only)."""

    words: list[str] = []

    def process(self, samples: np.ndarray) -> Detection | None:
        return None

    def reset(self) -> None:
        pass


class MicroWake:
    """microWakeWord (pymicro-wakeword): light, streaming, 10 ms features."""

    def __init__(self, words: list[str], threshold: float | None = None, refractory_s: float = 2.0):
        import pymicro_wakeword
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

        models_dir = Path(pymicro_wakeword.__file__).parent / "models"
        self.models = []
        for word in words:
            cfg = Path(word) if word.endswith(".json") else models_dir / f"{word}.json"
            if not cfg.is_file():
                known = sorted(p.stem for p in models_dir.glob("*.json"))
                raise ValueError(
                    f"Unknown microWakeWord word {word!r}; use one of {known} or a model .json path"
                )
            model = MicroWakeWord.from_config(cfg)
            model.probability_cutoff = DEFAULT_THRESHOLDS["micro"] if threshold is None else threshold
            self.models.append(model)
        self.words = [m.id for m in self.models]
        self._features = MicroWakeWordFeatures()
        self._clock = _Refractory(refractory_s)

    def process(self, samples: np.ndarray) -> Detection | None:
        t = self._clock.advance(len(samples))
        hit: Detection | None = None
        for features in self._features.process_streaming(np.asarray(samples, np.int16).tobytes()):
            for model in self.models:
                prob = model.process_streaming_prob(features)
                if prob is not None and prob > model.probability_cutoff and hit is None:
                    hit = Detection(model.id, float(prob), t)
        if hit is not None and self._clock.fire(t):
            _LOGGER.debug("wake %s p=%.2f t=%.2f", hit.word, hit.probability, t)
            return hit
        return None

    def reset(self) -> None:
        self._features.reset()
        for model in self.models:
            model._probabilities.clear()
            model._features.clear()


class OpenWake:
    """openWakeWord (pyopen-wakeword): shared mel+embedding, one small head per word."""

    def __init__(self, words: list[str], threshold: float | None = None, refractory_s: float = 2.0):
        import pyopen_wakeword
        from pyopen_wakeword import OpenWakeWord, OpenWakeWordFeatures

        models_dir = Path(pyopen_wakeword.__file__).parent / "models"
        self.models = []
        for word in words:
            path = Path(word) if word.endswith(".tflite") else models_dir / f"{word}.tflite"
            if not path.is_file() or path.stem in ("melspectrogram", "embedding_model"):
                known = sorted(
                    p.stem
                    for p in models_dir.glob("*.tflite")
                    if p.stem not in ("melspectrogram", "embedding_model")
                )
                raise ValueError(f"Unknown openWakeWord word {word!r}; use one of {known} or a .tflite path")
            self.models.append(OpenWakeWord.from_model(path))
        self.words = [m.id for m in self.models]
        self.threshold = DEFAULT_THRESHOLDS["openwakeword"] if threshold is None else threshold
        self._features = OpenWakeWordFeatures.from_builtin()
        self._clock = _Refractory(refractory_s)

    def process(self, samples: np.ndarray) -> Detection | None:
        t = self._clock.advance(len(samples))
        hit: Detection | None = None
        for emb in self._features.process_streaming(np.asarray(samples, np.int16).tobytes()):
            for model in self.models:
                for prob in model.process_streaming(emb):
                    if prob > self.threshold and hit is None:
                        hit = Detection(model.id, float(prob), t)
        if hit is not None and self._clock.fire(t):
            _LOGGER.debug("wake %s p=%.2f t=%.2f", hit.word, hit.probability, t)
            return hit
        return None

    def reset(self) -> None:
        self._features.reset()
        for model in self.models:
            model.reset()


def make_wake(settings: WakeSettings, force_none: bool = False) -> WakeDetector:
    """Build the configured detector."""
    if force_none or settings.engine == "none":
        return NoWake()
    if settings.engine == "micro":
        return MicroWake(settings.words, settings.threshold, settings.refractory_s)
    return OpenWake(settings.words, settings.threshold, settings.refractory_s)
