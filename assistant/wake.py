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
# After crossing the threshold, wait for the probability to fall by PEAK_DROP from its peak (at most
# PEAK_WAIT_S) before firing: see _Trigger.
PEAK_WAIT_S = 0.3
PEAK_DROP = 0.02


@dataclass
class Detection:
    word: str
    probability: float  # the highest probability while the word was heard
    t: float  # audio clock (s) at the end of the block that fired
    since_peak_s: float = 0.0  # how long before t the probability peaked (about where the word ended)


class WakeDetector(Protocol):
    words: list[str]

    def process(self, samples: np.ndarray) -> Detection | None: ...

    def reset(self) -> None: ...


class _Trigger:
    """Threshold, peak picking and refractory period, shared by the engines.

    Crossing the threshold does not fire at once: the detector keeps listening until the probability
    falls from its peak (or ``peak_wait_s`` has passed) and fires then. A low threshold crosses while
    "Nabu" is still being said; firing at the peak puts the detection after the word, so its tail does
    not leak into the command.
    """

    def __init__(self, threshold: float, refractory_s: float, peak_wait_s: float = PEAK_WAIT_S):
        self.threshold = threshold
        self.refractory_s = refractory_s
        self.peak_wait_s = peak_wait_s
        self.samples = 0
        self._last_fire = -1e9
        self._pending: Detection | None = None
        self._since = 0.0

    def advance(self, n: int) -> float:
        self.samples += n
        return self.samples / SAMPLE_RATE

    def update(self, word: str | None, prob: float, t: float) -> Detection | None:
        """Feed the highest probability of a block (``word`` None: the models gave none in it); returns
        the detection once its peak has passed."""
        if self._pending is None:
            if word is None or prob <= self.threshold or t - self._last_fire < self.refractory_s:
                return None
            self._pending, self._since = Detection(word, prob, t), t
            falling = False
        else:
            if word is not None and prob > self._pending.probability:
                self._pending = Detection(word, prob, t)
            falling = word is not None and (
                prob <= self.threshold or prob <= self._pending.probability - PEAK_DROP
            )
        if not falling and t - self._since < self.peak_wait_s:
            return None
        hit, self._pending = self._pending, None
        hit.since_peak_s, hit.t = t - hit.t, t
        self._last_fire = t
        _LOGGER.debug("wake %s p=%.2f t=%.2f", hit.word, hit.probability, t)
        return hit

    def reset(self) -> None:
        self._pending = None


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
            self.models.append(model)
        self.words = [m.id for m in self.models]
        self.threshold = DEFAULT_THRESHOLDS["micro"] if threshold is None else threshold
        self._features = MicroWakeWordFeatures()
        self._trigger = _Trigger(self.threshold, refractory_s)

    def process(self, samples: np.ndarray) -> Detection | None:
        t = self._trigger.advance(len(samples))
        best: tuple[float, str] | None = None
        for features in self._features.process_streaming(np.asarray(samples, np.int16).tobytes()):
            for model in self.models:
                prob = model.process_streaming_prob(features)
                if prob is not None and (best is None or prob > best[0]):
                    best = (float(prob), model.id)
        return self._trigger.update(best[1] if best else None, best[0] if best else 0.0, t)

    def reset(self) -> None:
        self._features.reset()
        self._trigger.reset()
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
        self._trigger = _Trigger(self.threshold, refractory_s)

    def process(self, samples: np.ndarray) -> Detection | None:
        t = self._trigger.advance(len(samples))
        best: tuple[float, str] | None = None
        for emb in self._features.process_streaming(np.asarray(samples, np.int16).tobytes()):
            for model in self.models:
                for prob in model.process_streaming(emb):
                    if best is None or prob > best[0]:
                        best = (float(prob), model.id)
        return self._trigger.update(best[1] if best else None, best[0] if best else 0.0, t)

    def reset(self) -> None:
        self._features.reset()
        self._trigger.reset()
        for model in self.models:
            model.reset()


def make_wake(settings: WakeSettings, force_none: bool = False) -> WakeDetector:
    """Build the configured detector."""
    if force_none or settings.engine == "none":
        return NoWake()
    if settings.engine == "micro":
        return MicroWake(settings.words, settings.threshold, settings.refractory_s)
    return OpenWake(settings.words, settings.threshold, settings.refractory_s)
