"""faster-whisper ASR with the bundled tiny.en model."""

import re

import pytest

from assistant.asr import Transcriber, collapse_repeats
from assistant.voice_settings import AsrSettings
from tests.fixtures_voice import espeak_speech, join, piper_speech, silence

COMMANDS = [
    ("Set a timer for five minutes.", ["timer", "(five|5) minutes"]),
    ("Turn on the kitchen light.", ["turn on", "kitchen", "light"]),
    ("What time is it?", ["what time is it"]),
    ("Turn off the bedroom lights.", ["turn off", "bedroom", "light"]),
    ("Set an alarm for seven in the morning.", ["alarm", "(seven|7)", "morning"]),
]


def words_ok(text, patterns):
    low = text.lower()
    return all(re.search(p, low) for p in patterns)


@pytest.mark.parametrize("text,patterns", COMMANDS)
def test_piper_commands(engines, text, patterns):
    res = engines.asr.transcribe(join(silence(0.2), piper_speech(text), silence(0.2)))
    assert words_ok(res.text, patterns), res.text
    assert res.duration_ms > 0 and res.audio_s > 1.0


def test_espeak_stress(engines):
    res = engines.asr.transcribe(join(silence(0.2), espeak_speech("turn on the kitchen light"), silence(0.2)))
    assert words_ok(res.text, ["kitchen", "light"]), res.text


def test_short_encoder_matches_full_and_is_faster():
    s = AsrSettings()
    tr = Transcriber(s)
    audio = join(silence(0.2), piper_speech("What time is it?"), silence(0.2))
    short = tr.transcribe(audio)
    tr.s = s.model_copy(update={"short_encoder": False})
    full = tr.transcribe(audio)
    assert words_ok(short.text, ["what time is it"]) and words_ok(full.text, ["what time is it"])
    assert short.duration_ms < full.duration_ms


def test_hotwords_bias_to_entity_names(engines):
    audio = join(silence(0.2), piper_speech("Turn on the lamp in Siobhan's room."), silence(0.2))
    assert "siobhan" not in engines.asr.transcribe(audio).text.lower()
    engines.asr.set_vocabulary(["Siobhan", "Nanoleaf"])
    try:
        assert "siobhan" in engines.asr.transcribe(audio).text.lower()
    finally:
        engines.asr.set_vocabulary([])


def test_silence_is_noise_or_hallucination(engines):
    from intents.noise import is_noise

    res = engines.asr.transcribe(silence(1.5))
    assert is_noise(res.text) or engines.asr.is_noise(res), res


def test_collapse_repeats():
    assert collapse_repeats("What time is it? What time is it? What") == "What time is it?"
    assert collapse_repeats("Turn on the lamp, Turn on the lamp, Turn") == "Turn on the lamp."
    assert collapse_repeats("Set a timer. Turn on the light.") == "Set a timer. Turn on the light."
    # loops without punctuation (espeak-ng speech makes tiny.en do this)
    assert (
        collapse_repeats("turn the lights off please turn the lights off please turn the")
        == "turn the lights off please"
    )
    assert collapse_repeats("play the the song") == "play the the song"


def test_missing_model_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="asr.model"):
        Transcriber(AsrSettings(model=str(tmp_path)))
