"""Piper TTS: deterministic output, sentence streaming, phrase cache, feedback sounds."""

import threading
import time
import wave

import numpy as np
import pytest

from assistant.audio import resample
from assistant.speaker import Speaker
from assistant.tts import Tts, feedback_sound, first_phrase, split_sentences, trim_silence
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
    # not "... five minutes": tiny.en hears that "Timer" as "Time or" or not by the last bit of the
    # log-mel (numpy's BLAS on one thread or two, bench/latency_ab.py's "blas_threads")
    audio = engines.tts.synthesize("Timer set for ten minutes.")
    text = engines.asr.transcribe(
        join(silence(0.2), resample(audio, engines.tts.sample_rate, 16000), silence(0.2))
    ).text
    assert "timer set for" in text.lower() and ("10" in text or "ten" in text.lower())


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


@pytest.mark.parametrize(
    "sentence, pieces",
    [
        ("Would turn off 2 lights in the living room.", ["Would turn off 2 lights,", "in the living room."]),
        ("Today is Sunday, November 29, 2026.", ["Today is Sunday,", "November 29, 2026."]),
        (
            "Your music library is empty; put music in it.",
            ["Your music library is empty;", "put music in it."],
        ),
        ("The pizza timer is set for 5 minutes.", ["The pizza timer is set,", "for 5 minutes."]),
        # no boundary: "on" and "to" belong to the verb, a date's comma is not a phrase, a head of
        # fewer than 3 words or 12 characters, a short tail
        ("Would turn on the Kitchen Light.", ["Would turn on the Kitchen Light."]),
        ("Would set the Thermostat to 21 degrees.", ["Would set the Thermostat to 21 degrees."]),
        ("November 30, 2026 is a Monday.", ["November 30, 2026 is a Monday."]),
        ("Timer set for 5 minutes.", ["Timer set for 5 minutes."]),
        ("It is set for the evening.", ["It is set for the evening."]),
        ("The hall lights are on.", ["The hall lights are on."]),
    ],
)
def test_first_phrase(sentence, pieces):
    assert first_phrase(sentence, 20) == pieces
    assert first_phrase(sentence, 0) == [sentence]
    assert first_phrase(sentence, 100) == [sentence]


def test_stream_starts_with_the_first_phrase(tts):
    tts._cache.clear()
    text = "Your alarm is set for 7 AM tomorrow morning. Sleep well."
    chunks = list(tts.stream(text))
    head = np.concatenate(list(tts._synth("Your alarm is set,")))
    assert len(chunks) == 3 and len(chunks[0]) < len(head)  # its comma pause is shortened
    quiet = np.flatnonzero(np.abs(chunks[0].astype(np.int32)) > 300)
    assert quiet[0] <= 0.03 * tts.sample_rate and len(chunks[0]) - quiet[-1] <= 0.12 * tts.sample_rate + 1
    assert chunks[0].tolist() == trim_silence(head, tts.sample_rate, 0.03, 0.12).tolist()
    whole = TtsSettings(noise_scale=0.0, noise_w_scale=0.0, first_phrase_chars=0)
    tts.s, saved = whole, tts.s
    try:
        tts._cache.clear()
        assert len(list(tts.stream(text))) == 2
    finally:
        tts.s = saved


class _Voice:
    """A stand-in for Tts whose chunks say when they were made, and a sink that says when it plays."""

    sample_rate = 22050

    def __init__(self, n: int):
        self.n, self.log, self.made = n, [], [threading.Event() for _ in range(n)]

    def stream(self, text):
        for i in range(self.n):
            self.log.append(f"made {i}")
            self.made[i].set()
            yield np.full(100, i, np.int16)

    def play(self, samples, sample_rate):
        i = int(samples[0])
        self.log.append(f"play {i}")
        if i + 1 < self.n:
            self.made[i + 1].wait(2.0)  # while this chunk plays, the next one is being synthesised
        self.log.append(f"played {i}")

    def stop(self):
        pass

    def close(self):
        pass


def test_speaker_synthesises_the_next_chunk_while_one_plays():
    voice = _Voice(3)
    speaker = Speaker(voice, voice)  # type: ignore[arg-type]
    try:
        speaker.say_text("three chunks")
        for _ in range(200):
            if "played 2" in voice.log:
                break
            time.sleep(0.01)
        log = voice.log
        assert [e for e in log if e.startswith("play ")] == ["play 0", "play 1", "play 2"]
        assert log.index("made 1") < log.index("played 0") and log.index("made 2") < log.index("played 1")
    finally:
        speaker.close()


def test_speaker_stop_ends_the_synthesis_thread():
    voice = _Voice(50)
    voice.play = lambda samples, rate: time.sleep(0.05)  # type: ignore[method-assign]
    speaker = Speaker(voice, voice)  # type: ignore[arg-type]
    try:
        speaker.say_text("many chunks")
        time.sleep(0.12)
        speaker.stop()
        for _ in range(100):
            if not any(t.name == "speaker-synth" for t in threading.enumerate()) and not speaker.active:
                break
            time.sleep(0.02)
        assert not any(t.name == "speaker-synth" for t in threading.enumerate())
        assert len(voice.log) < 50
    finally:
        speaker.close()


def _gap_s(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """Silence between the last sound of ``a`` and the first of ``b`` when played one after the other."""
    loud_a = np.flatnonzero(np.abs(a.astype(np.int32)) > 300)
    loud_b = np.flatnonzero(np.abs(b.astype(np.int32)) > 300)
    return (len(a) - 1 - loud_a[-1] + loud_b[0]) / sample_rate


def test_a_kept_head_opens_the_answer_and_the_rest_follows_closely(tts):
    tts.keep(["Alarm set", "There are no timers running."])
    assert set(tts.kept()) >= {"Alarm set", "There are no timers running."}
    tts.forget()  # the LRU only: kept heads stay
    assert "Alarm set" in tts.kept()
    chunks = list(tts.stream("Alarm set for 7 AM tomorrow. Sleep well."))
    assert len(chunks) == 3 and chunks[0] is tts._kept["Alarm set"]
    assert _gap_s(chunks[0], chunks[1], tts.sample_rate) <= 0.12  # one sentence, not two
    whole = list(tts.stream("There are no timers running."))
    assert len(whole) == 1 and whole[0] is tts._kept["There are no timers running."]
    assert (
        list(tts.stream("Alarm setting is off.")) != [] and tts._head_split("Alarm setting is off.") is None
    )
    tts.s, saved = tts.s.model_copy(update={"reply_heads": False}), tts.s
    try:
        tts.forget()
        assert len(list(tts.stream("Alarm set for 7 AM tomorrow."))) == 1
    finally:
        tts.s = saved


def test_answers_opened_by_a_kept_head_are_heard_whole(tts, engines):
    tts.keep(["Alarm set", "Turned off"])  # this module's voice: the shared engines' keeps none
    for answer, words in (
        ("Alarm set for 7 AM tomorrow.", "alarm set for 7"),
        ("Turned off 2 lights in the living room.", "turned off two lights in the living room"),
    ):
        tts.forget()
        chunks = list(tts.stream(answer))
        assert len(chunks) == 2
        audio = resample(np.concatenate(chunks), tts.sample_rate, 16000)
        text = engines.asr.transcribe(join(silence(0.2), audio, silence(0.3))).text.lower()
        assert words in text, text
