"""The wake word's noise suppressor (assistant/denoise.py)."""

import numpy as np

from assistant.denoise import DELAY_S, NoiseSuppressor
from tests.fixtures_voice import espeak_speech, join, noise, silence

SR = 16000


def run(audio: np.ndarray, block: int = 512) -> np.ndarray:
    ns = NoiseSuppressor()
    return np.concatenate([ns.process(audio[i : i + block]) for i in range(0, len(audio), block)])


def power_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-9))


def test_removes_steady_noise_and_keeps_speech():
    speech = join(silence(2.0), espeak_speech("Okay Nabu, turn on the kitchen light"), silence(1.0))
    hiss = noise(len(speech) / SR, 0.03, seed=3)
    out = run(join(speech) + hiss)
    delay = int(DELAY_S * SR)
    assert len(out) == len(speech)
    aligned = out[delay:]
    words = np.abs(speech[: len(aligned)]) > 1000
    quiet = slice(int(1.0 * SR), int(1.9 * SR))  # noise alone, after the suppressor has learnt it
    # a mild suppressor (the setting the wake word was calibrated with): about 3 dB less noise alone
    assert power_db(aligned[quiet]) < power_db(hiss[quiet]) - 2
    # while the words keep their clean level, noise and all: the speech-to-noise ratio grows
    assert abs(power_db(aligned[words]) - power_db(speech[: len(aligned)][words])) < 1


def test_any_block_size_same_output():
    audio = noise(1.5, 0.1, seed=4) + join(silence(0.5), espeak_speech("timer"), silence(1.5))[:24000]
    a, b = run(audio, 512), run(audio, 333)
    assert len(b) == len(audio) and np.array_equal(a, b)
