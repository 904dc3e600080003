"""Wake word engines: microWakeWord and openWakeWord behind one interface."""

import time

import pytest

from assistant.audio import blocks
from assistant.voice_settings import WakeSettings
from assistant.wake import MicroWake, NoWake, OpenWake, make_wake
from tests.fixtures_voice import espeak_speech, join, noise, piper_speech, silence, wake_phrase

ENGINES = ["micro", "openwakeword"]


def detections(detector, audio):
    out = []
    for b in blocks(audio, 512):
        d = detector.process(b)
        if d is not None:
            out.append(d)
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_fires_once_on_okay_nabu(engine):
    det = make_wake(WakeSettings(engine=engine))
    audio = join(silence(1.0), wake_phrase(), silence(1.0))
    hits = detections(det, audio)
    assert len(hits) == 1, hits
    assert hits[0].word == "okay_nabu"
    end_of_phrase = 1.0 + len(wake_phrase()) / 16000
    assert end_of_phrase - 0.5 < hits[0].t < end_of_phrase + 0.8


@pytest.mark.parametrize("engine", ENGINES)
def test_refractory_then_fires_again(engine):
    det = make_wake(WakeSettings(engine=engine, refractory_s=1.0))
    audio = join(silence(0.5), wake_phrase(), silence(2.0), wake_phrase(), silence(1.0))
    hits = detections(det, audio)
    assert len(hits) == 2 and hits[1].t - hits[0].t > 1.5


@pytest.mark.parametrize("engine", ENGINES)
def test_no_fire_on_other_audio(engine):
    det = make_wake(WakeSettings(engine=engine))
    audio = join(
        silence(1.0),
        noise(2.0, 0.05),
        piper_speech("Set a timer for five minutes. Turn on the kitchen light. What time is it?"),
        espeak_speech("Hey Jarvis, what is the weather"),
        silence(0.5),
    )
    assert detections(det, audio) == []


def test_threshold_and_multiple_words():
    strict = MicroWake(["okay_nabu"], threshold=0.999999)
    assert detections(strict, join(silence(0.5), wake_phrase(), silence(1.0))) == []
    multi = MicroWake(["hey_jarvis", "okay_nabu"])
    hits = detections(multi, join(silence(0.5), wake_phrase(), silence(1.0)))
    assert [h.word for h in hits] == ["okay_nabu"]


def test_unknown_word_message():
    with pytest.raises(ValueError, match="okay_nabu"):
        MicroWake(["okay_computer"])
    with pytest.raises(ValueError, match="hey_rhasspy"):
        OpenWake(["okay_computer"])


def test_none_engine():
    det = make_wake(WakeSettings(engine="none"))
    assert isinstance(det, NoWake) and detections(det, wake_phrase()) == []
    assert isinstance(make_wake(WakeSettings(engine="micro"), force_none=True), NoWake)


def idle_cpu_fraction(engine: str, seconds: float = 10.0) -> float:
    """CPU seconds per audio second spent on wake detection (idle listening cost, 1.0 = one core)."""
    det = make_wake(WakeSettings(engine=engine))
    audio = noise(seconds, 0.01, seed=1)
    det.process(audio[:512])
    t0 = time.process_time()
    for b in blocks(audio, 512):
        det.process(b)
    return (time.process_time() - t0) / seconds


def test_idle_listening_is_cheap():
    frac = idle_cpu_fraction("micro", 10.0)
    print(f"micro idle CPU: {frac * 100:.1f} % of one core")
    assert frac < 0.10
