"""Piper TTS: deterministic output, sentence streaming, phrase cache, feedback sounds."""

import time
import wave

import numpy as np
import pytest

from assistant.audio import resample
from assistant.tts import Tts, feedback_sound, split_sentences
from assistant.voice_settings import TtsSettings
from tests.fixtures_voice import join, silence


@pytest.fixture(scope="module")
def tts():
    return Tts(TtsSettings(noise_scale=0.0, noise_w_scale=0.0, phrase_cache_size=8))


def test_deterministic_with_noise_zero(tts):
    a = np.concatenate(list(tts._synth("Timer set for 5 minutes.")))
    b = np.concatenate(list(tts._synth("Timer set for 5 minutes.")))
    assert tts.sample_rate == 22050
    assert a.tolist() == b.tolist()
    assert 0.8 < len(a) / tts.sample_rate < 3.0


def test_split_sentences():
    assert split_sentences("It is sunny. High of 20! Bring a hat?") == [
        "It is sunny.",
        "High of 20!",
        "Bring a hat?",
    ]
    assert split_sentences("  ") == []


def test_streaming_first_chunk_before_the_rest(tts):
    text = "It is sunny today. The high will be twenty degrees. Tonight it will rain, with a low of nine degrees."
    t0 = time.perf_counter()
    chunks, first_ms = [], 0.0
    for chunk in tts.stream(text):
        first_ms = first_ms or (time.perf_counter() - t0) * 1000
        chunks.append(chunk)
    total_ms = (time.perf_counter() - t0) * 1000
    assert len(chunks) == 3
    assert first_ms < total_ms * 0.7


def test_phrase_cache(tts):
    tts.cache("Done.")
    hits = tts.hits
    t0 = time.perf_counter()
    audio = tts.synthesize("Done.")
    assert (time.perf_counter() - t0) < 0.01 and tts.hits == hits + 1 and len(audio) > 1000
    for i in range(12):  # LRU bound
        tts.cache(f"Number {i}.")
    assert len(tts._cache) == 8 and "Done." not in tts._cache


def test_tts_roundtrip_through_asr(engines):
    audio = engines.tts.synthesize("Timer set for five minutes.")
    text = engines.asr.transcribe(
        join(silence(0.2), resample(audio, engines.tts.sample_rate, 16000), silence(0.2))
    ).text
    assert "timer set for" in text.lower() and ("5" in text or "five" in text.lower())


@pytest.mark.parametrize("kind", ["awake", "done", "error"])
def test_feedback_sounds(kind):
    s = feedback_sound(kind, 22050)
    assert 0.05 < len(s) / 22050 < 0.3 and np.abs(s).max() > 3000 and abs(int(s[0])) < 200


def test_feedback_unknown():
    with pytest.raises(ValueError, match="awake, done or error"):
        feedback_sound("beep")


def test_say_to_wav(tmp_path):
    from assistant.voice import say
    from tests.fixtures_voice import test_settings

    out = tmp_path / "say.wav"
    seconds = say("Hello there. How are you?", test_settings(), str(out))
    with wave.open(str(out)) as w:
        assert abs(w.getnframes() / w.getframerate() - seconds) < 0.01 and seconds > 1.0


def test_missing_voice_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="tts.voice"):
        Tts(TtsSettings(voice=str(tmp_path / "x.onnx")))
