"""Wake word detection: microWakeWord, openWakeWord, or micro confirmed by openWakeWord, behind one
interface; or none."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .denoise import DELAY_S, NoiseSuppressor
from .voice_settings import WakeSettings

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000

# Cutoffs used when wake.threshold is unset, chosen by bench/wake.py --calibrate (210 clips, 72 min of
# non-wake speech; docs/voice.md): micro keeps its model's 0.85 (47.6 % false rejects, 1 false accept),
# openWakeWord 0.02 (35.2 %, none). Either alone misses far more than micro+openwakeword (below).
DEFAULT_THRESHOLDS = {"micro": 0.85, "openwakeword": 0.02}
# After crossing the threshold, wait for the probability to fall by PEAK_DROP from its peak (at most
# PEAK_WAIT_S) before firing: see _Trigger.
PEAK_WAIT_S = 0.3
PEAK_DROP = 0.02
# micro+openwakeword (ConfirmedWake, the default) listens to noise-suppressed audio (assistant/denoise.py):
# micro above "strict" (wake.threshold) fires alone; above "micro" it is a candidate that fires if
# openWakeWord's probability times the candidate's passes "product" within CONFIRM_WAIT_S (a weak micro
# needs a surer openWakeWord, and the other way round); openWakeWord is run over the last
# CONFIRM_CONTEXT_S of audio first (it needs ~2 s of context before its first output). Chosen by the
# same calibration (bench/wake.py --calibrate --denoise) and checked with this class over the same
# audio (--check; docs/voice.md): 8.1 % false rejects with 1 false accept in 72 min, 9.0 % two-fold
# held out (without the suppressor, and with openWakeWord above a fixed 0.004: 17.6 %).
CONFIRMED = {"strict": 0.9, "micro": 0.05, "product": 0.001}
CONFIRM_WAIT_S = 1.0
CONFIRM_CONTEXT_S = 3.0


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


def _models(
    words: list[str], models_dir: Path, suffix: str, engine: str, shared: tuple[str, ...] = ()
) -> list[Path]:
    """Each wake word's model file: a path ending in ``suffix`` as given, else the engine package's
    model of that name (``shared``: the package's files that are no word)."""
    paths = []
    for word in words:
        path = Path(word) if word.endswith(suffix) else models_dir / f"{word}{suffix}"
        if not path.is_file() or path.stem in shared:
            known = sorted(p.stem for p in models_dir.glob(f"*{suffix}") if p.stem not in shared)
            raise ValueError(f"Unknown {engine} word {word!r}; use one of {known} or a model {suffix} path")
        paths.append(path)
    return paths


class MicroWake:
    """microWakeWord (pymicro-wakeword): light, streaming, 10 ms features."""

    def __init__(
        self,
        words: list[str],
        threshold: float | None = None,
        refractory_s: float = 2.0,
        peak_wait_s: float = PEAK_WAIT_S,
    ):
        import pymicro_wakeword
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

        models_dir = Path(pymicro_wakeword.__file__).parent / "models"
        self.models = [
            MicroWakeWord.from_config(cfg) for cfg in _models(words, models_dir, ".json", "microWakeWord")
        ]
        self.words = [m.id for m in self.models]
        self.threshold = DEFAULT_THRESHOLDS["micro"] if threshold is None else threshold
        self._features = MicroWakeWordFeatures()
        self.last_probability = 0.0  # the highest of the last block
        self._trigger = _Trigger(self.threshold, refractory_s, peak_wait_s)

    def process(self, samples: np.ndarray) -> Detection | None:
        t = self._trigger.advance(len(samples))
        best: tuple[float, str] | None = None
        for features in self._features.process_streaming(np.asarray(samples, np.int16).tobytes()):
            for model in self.models:
                prob = model.process_streaming_prob(features)
                if prob is not None and (best is None or prob > best[0]):
                    best = (float(prob), model.id)
        self.last_probability = best[0] if best else 0.0
        return self._trigger.update(best[1] if best else None, self.last_probability, t)

    @property
    def clock(self) -> float:
        """Seconds of audio processed."""
        return self._trigger.samples / SAMPLE_RATE

    def reset(self) -> None:
        self._features.reset()
        self._trigger.reset()
        for model in self.models:
            model._probabilities.clear()
            model._features.clear()


class OpenWake:
    """openWakeWord (pyopen-wakeword): shared mel+embedding, one small head per word."""

    def __init__(
        self,
        words: list[str],
        threshold: float | None = None,
        refractory_s: float = 2.0,
        peak_wait_s: float = PEAK_WAIT_S,
    ):
        import pyopen_wakeword
        from pyopen_wakeword import OpenWakeWord, OpenWakeWordFeatures

        models_dir = Path(pyopen_wakeword.__file__).parent / "models"
        paths = _models(
            words, models_dir, ".tflite", "openWakeWord", shared=("melspectrogram", "embedding_model")
        )
        self.models = [OpenWakeWord.from_model(path) for path in paths]
        self.words = [m.id for m in self.models]
        self.threshold = DEFAULT_THRESHOLDS["openwakeword"] if threshold is None else threshold
        self._features = OpenWakeWordFeatures.from_builtin()
        self.last_probability = 0.0  # the highest of the last block
        self._trigger = _Trigger(self.threshold, refractory_s, peak_wait_s)

    def process(self, samples: np.ndarray) -> Detection | None:
        t = self._trigger.advance(len(samples))
        best: tuple[float, str] | None = None
        for emb in self._features.process_streaming(np.asarray(samples, np.int16).tobytes()):
            for model in self.models:
                for prob in model.process_streaming(emb):
                    if best is None or prob > best[0]:
                        best = (float(prob), model.id)
        self.last_probability = best[0] if best else 0.0
        return self._trigger.update(best[1] if best else None, self.last_probability, t)

    def reset(self) -> None:
        self._features.reset()
        self._trigger.reset()
        for model in self.models:
            model.reset()


class ConfirmedWake:
    """microWakeWord confirmed by openWakeWord, on noise-suppressed audio. micro listens all the time;
    a word it hears above a low threshold is taken at once if micro alone passes the strict one
    (``threshold``), otherwise only if openWakeWord, run over the last seconds of audio and the next
    second, agrees: its probability times micro's must pass CONFIRMED["product"]. openWakeWord costs
    ~12 % of a core while it runs, so it runs only on those candidates (a few a minute in speech, none
    in silence). Needs a word both engines know (okay_nabu, alexa, hey_jarvis, hey_mycroft)."""

    def __init__(
        self,
        words: list[str],
        threshold: float | None = None,
        refractory_s: float = 2.0,
        noise_suppression: bool = True,
    ):
        self.strict = CONFIRMED["strict"] if threshold is None else threshold
        try:
            self.micro = MicroWake(words, min(CONFIRMED["micro"], self.strict), refractory_s)
            self.oww = OpenWake(words, 1.0, refractory_s=0.0, peak_wait_s=0.0)  # its own cutoff unused
        except ValueError as e:
            raise ValueError(
                f"wake.engine micro+openwakeword needs words both engines know: {e}; or use engine micro"
            ) from e
        self.words = self.micro.words
        self.threshold = self.strict
        self.denoise = NoiseSuppressor() if noise_suppression else None
        self._audio: deque[np.ndarray] = deque(maxlen=int(CONFIRM_CONTEXT_S * SAMPLE_RATE / 512) + 1)
        self._candidate: Detection | None = None
        self._deadline = 0.0

    def process(self, samples: np.ndarray) -> Detection | None:
        if self.denoise is not None:
            samples = self.denoise.process(samples)
        self._audio.append(samples)
        det = self.micro.process(samples)
        t = self.micro.clock
        if self._candidate is not None:
            if self.micro.last_probability > self.strict:  # micro alone got there after all
                return self._take(t)
            self._candidate.probability = max(self._candidate.probability, self.micro.last_probability)
            return self._confirm([samples], t, recent_s=len(samples) / SAMPLE_RATE + 0.001)
        if det is None or det.probability > self.strict:
            return det and self._delayed(det)
        _LOGGER.debug("wake candidate %s p=%.2f t=%.2f: asking openWakeWord", det.word, det.probability, t)
        self._candidate, self._deadline = det, t + CONFIRM_WAIT_S
        self.oww.reset()
        return self._confirm(list(self._audio), t, recent_s=det.since_peak_s + PEAK_WAIT_S)

    def _confirm(self, audio: list[np.ndarray], t: float, recent_s: float) -> Detection | None:
        """Feed openWakeWord `audio` (ending at t); the candidate if it agrees in its last `recent_s`."""
        assert self._candidate is not None
        elapsed = 0.0
        total = sum(len(b) for b in audio) / SAMPLE_RATE
        agrees = False
        for block in audio:
            self.oww.process(block)
            elapsed += len(block) / SAMPLE_RATE
            score = self.oww.last_probability * self._candidate.probability
            agrees = agrees or (elapsed > total - recent_s and score > CONFIRMED["product"])
        if agrees:
            _LOGGER.debug("wake confirmed by openWakeWord t=%.2f", t)
            return self._take(t)
        if t >= self._deadline:
            self._candidate = None
            _LOGGER.debug("wake candidate not confirmed")
        return None

    def _take(self, t: float) -> Detection:
        cand, self._candidate = self._candidate, None
        assert cand is not None
        return self._delayed(Detection(cand.word, cand.probability, t, cand.since_peak_s + t - cand.t))

    def _delayed(self, det: Detection) -> Detection:
        """The peak in the input's time: the suppressor's output lags its input."""
        if self.denoise is not None:
            det.since_peak_s += DELAY_S
        return det

    def reset(self) -> None:
        self.micro.reset()
        self.oww.reset()
        if self.denoise is not None:
            self.denoise.reset()
        self._audio.clear()
        self._candidate = None


def make_wake(settings: WakeSettings, force_none: bool = False) -> WakeDetector:
    """Build the configured detector."""
    if force_none or settings.engine == "none":
        return NoWake()
    if settings.engine == "micro+openwakeword":
        return ConfirmedWake(settings.words, settings.threshold, settings.refractory_s)
    if settings.engine == "micro":
        return MicroWake(settings.words, settings.threshold, settings.refractory_s)
    return OpenWake(settings.words, settings.threshold, settings.refractory_s)
