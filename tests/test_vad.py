"""Streaming Silero VAD + endpointer, and the Whisper hallucination filter."""

import pytest

from assistant.audio import blocks
from assistant.vad import Endpointer, SileroVad
from assistant.voice_settings import VadSettings
from intents.noise import is_noise
from tests.fixtures_voice import join, noise, piper_speech, silence


def run(audio, **kw):
    ep = Endpointer(VadSettings(**kw))
    events = []
    for b in blocks(audio, 512):
        events.extend(ep.process(b))
    return events


def kinds(events):
    return [e.kind for e in events if e.kind in ("start", "end", "drop")]


def test_silero_probabilities_streaming():
    vad = SileroVad()
    speech = piper_speech("Turn on the kitchen light.")
    probs = vad(speech)
    assert len(probs) == len(speech) // 512
    assert max(probs) > 0.9
    vad.reset()
    assert max(vad(silence(1.0))) < 0.1
    # odd block sizes are buffered
    vad.reset()
    assert len(vad(speech[:300])) == 0 and len(vad(speech[300:1000])) == 1


def test_one_utterance_with_end_time():
    speech = piper_speech("Set a timer for five minutes.")
    events = run(join(silence(0.5), speech, silence(1.0)), trailing_silence_ms=400)
    assert kinds(events) == ["start", "end"]
    end = [e for e in events if e.kind == "end"][0]
    true_end = 0.5 + len(speech) / 16000
    assert abs(end.speech_end - true_end) < 0.25
    assert end.t - end.speech_end == pytest.approx(0.4, abs=0.04)
    assert 0.5 * len(speech) < len(end.audio) < len(speech) + 0.5 * 16000
    assert any(e.kind == "pause" for e in events)


def test_two_utterances_and_short_gap():
    a, b = piper_speech("Turn on the light."), piper_speech("What time is it?")
    assert kinds(run(join(silence(0.3), a, silence(1.0), b, silence(1.0)))) == [
        "start",
        "end",
        "start",
        "end",
    ]
    assert kinds(run(join(silence(0.3), a, silence(0.15), b, silence(1.0)), trailing_silence_ms=500)) == [
        "start",
        "end",
    ]


def test_silence_and_noise_give_nothing():
    assert kinds(run(silence(3.0))) == []
    assert kinds(run(noise(3.0, 0.05))) == []


def test_max_utterance_cuts():
    long = join(*[piper_speech("One two three four five six seven eight nine ten.")] * 3)
    events = run(join(silence(0.3), long, silence(1.0)), max_utterance_s=2.0)
    ends = [e for e in events if e.kind == "end"]
    assert len(ends) >= 2 and all(len(e.audio) <= 2.3 * 16000 for e in ends)


def test_short_burst_dropped():
    burst = piper_speech("Hm.")[:2400]  # 150 ms
    assert "end" not in kinds(run(join(silence(0.5), burst, silence(1.0)), min_speech_ms=300))


@pytest.mark.parametrize(
    "text", ["Thanks for watching!", " you", "Thank you.", "[Music]", "(wind blowing)", "♪♪", "", "Bye."]
)
def test_hallucinations_dropped(text):
    assert is_noise(text)


@pytest.mark.parametrize(
    "text", ["Stop.", "Turn on the lights.", "(music) set a timer", "Thank you, set a timer."]
)
def test_real_commands_kept(text):
    assert not is_noise(text)
