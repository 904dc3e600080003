"""Whole voice pipeline fed with synthesised speech, faster than real time."""

import time
import wave

import pytest

from assistant.audio import blocks, read_audio_file, write_wav
from assistant.pipeline import Pipeline
from assistant.voice import process_audio, process_file
from tests.fixtures_voice import (
    join,
    keyword_understand,
    noise,
    piper_speech,
    silence,
    test_settings,
    wake_phrase,
)

THREE = [
    ("Set a timer for five minutes.", "SetTimer"),
    ("Turn on the kitchen light.", "TurnOn"),
    ("What time is it?", "GetTime"),
]
TIMING_KEYS = {"asr", "nlu", "tts_first_audio", "end_of_speech_to_action", "end_of_speech_to_first_audio"}
CORE_KEYS = {"text", "intent", "slots", "recognizer", "response", "actions", "timings_ms"}


class Recorder:
    """A real understand(): keyword matcher that remembers what it was asked."""

    def __init__(self):
        self.calls = []

    def __call__(self, text):
        self.calls.append(text)
        return keyword_understand(text)


def test_three_commands_without_wake_word(engines, tmp_path):
    audio = join(silence(0.5), *[join(piper_speech(t), silence(1.2)) for t, _ in THREE])
    path = tmp_path / "three.wav"
    write_wav(path, audio)
    out_wav = tmp_path / "out.wav"
    results = process_file(
        str(path), keyword_understand, test_settings(), no_wake=True, output_wav=str(out_wav), engines=engines
    )
    assert [r["intent"] for r in results] == [i for _, i in THREE], [r["transcript"] for r in results]
    assert results[0]["slots"] == {"duration": 5, "unit": "minute"}
    for r in results:
        assert CORE_KEYS <= set(r) and "transcript" in r
        assert TIMING_KEYS <= set(r["timings_ms"])
        t = r["timings_ms"]
        # a sanity bound; speed is bench/latency.py's business
        assert 0 < t["end_of_speech_to_action"] <= t["end_of_speech_to_first_audio"] < 10_000
        assert t["end_of_speech_to_action"] >= t["endpoint_delay"] > 300  # counts the trailing silence
        names = [e["event"] for e in r["trace"]]
        assert names == [
            "SpeechStarted",
            "SpeechEnded",
            "Transcript",
            "IntentResult",
            "ActionDone",
            "AudioOut",
        ]
        times = [e["t"] for e in r["trace"]]
        assert times == sorted(times)
    assert results[0]["speech_end_s"] < results[1]["speech_end_s"] < results[2]["speech_end_s"]
    # the spoken answers are in the output file and say the right thing
    spoken = read_audio_file(out_wav)
    assert len(spoken) / 16000 > 2.0
    text = engines.asr.transcribe(spoken[: int(2.5 * 16000)]).text.lower()
    assert "timer set for" in text, text


@pytest.mark.parametrize("engine", ["micro", "openwakeword"])
def test_wake_word_then_command(engines, engine):
    audio = join(
        silence(0.5), wake_phrase(), silence(0.3), piper_speech("Set a timer for five minutes."), silence(1.5)
    )
    results = process_audio(audio, keyword_understand, test_settings(wake__engine=engine), engines=engines)
    assert len(results) == 1
    r = results[0]
    assert r["intent"] == "SetTimer" and r["wake_word"] == "okay_nabu"
    assert "nabu" not in r["transcript"].lower()
    assert [e["event"] for e in r["trace"]][:3] == ["WakeDetected", "AudioOut", "SpeechStarted"]


@pytest.mark.parametrize("engine", ["micro", "openwakeword"])
def test_wake_word_and_command_without_pause(engines, engine):
    """'okay nabu set a timer...' in one breath: the pre-roll keeps the start of the command."""
    audio = join(silence(0.5), wake_phrase(), piper_speech("Set a timer for five minutes."), silence(1.5))
    results = process_audio(audio, keyword_understand, test_settings(wake__engine=engine), engines=engines)
    assert [r["slots"] for r in results] == [{"duration": 5, "unit": "minute"}], [
        r["transcript"] for r in results
    ]
    assert results[0]["transcript"].lower().startswith("set a timer")


def test_strip_wake_word():
    from intents.normalize import strip_wake_word

    assert strip_wake_word("Okay Nabu, set a timer.", ["okay_nabu"]) == "Set a timer."
    assert strip_wake_word("Nabu what time is it", ["okay_nabu"]) == "What time is it"
    assert strip_wake_word("Set a timer.", ["okay_nabu"]) == "Set a timer."
    # one list of wake words for the pipeline and the normaliser: the known names and the engine's own
    assert strip_wake_word("Hey Jarvis, turn on the light.", ["okay_nabu"]) == "Turn on the light."
    assert strip_wake_word("Hey, Rhasspy... lights on", ["hey_rhasspy"]) == "Lights on"
    assert strip_wake_word("Okay Nabu.", ["okay_nabu"]) == ""  # the wake word alone: nothing to act on
    assert strip_wake_word("Okay, set a timer.", ["okay_nabu"]) == "Okay, set a timer."  # a filler stays


def test_awaiting_wake_only_until_the_wake_word(engines):
    """``awaiting_wake``: the microphone loop may take its blocks in bursts (run_live's hold) only
    while nothing but the wake word is listened for."""
    pipe = Pipeline(keyword_understand, test_settings(), engines=engines)
    assert pipe.awaiting_wake
    audio = join(silence(0.5), wake_phrase(), silence(0.5))
    heard = []
    for i in range(0, len(audio), 512):
        pipe.feed(audio[i : i + 512])
        heard.append(pipe.awaiting_wake)
    assert heard[0] and not heard[-1]  # listening for the command: each block at once
    assert not Pipeline(keyword_understand, test_settings(), no_wake=True, engines=engines).awaiting_wake


def test_command_without_wake_word_is_ignored(engines):
    understand = Recorder()
    audio = join(silence(0.5), piper_speech("Turn on the kitchen light."), silence(1.5))
    assert process_audio(audio, understand, test_settings(), engines=engines) == []
    assert understand.calls == []


@pytest.mark.parametrize("no_wake", [True, False])
def test_silence_noise_give_nothing(engines, no_wake):
    understand = Recorder()
    audio = join(silence(2.0), noise(3.0, 0.03), silence(1.0), noise(2.0, 0.2, seed=3))
    assert process_audio(audio, understand, test_settings(), no_wake=no_wake, engines=engines) == []
    assert understand.calls == []


def test_hallucination_never_reaches_understand(engines):
    understand = Recorder()
    audio = join(
        silence(0.5), piper_speech("Thank you."), silence(1.5), piper_speech("What time is it?"), silence(1.5)
    )
    results = process_audio(audio, understand, test_settings(), no_wake=True, engines=engines)
    assert [r["intent"] for r in results] == ["GetTime"]
    assert len(understand.calls) == 1


def test_wake_timeout_returns_to_idle(engines):
    s = test_settings(wake__listen_timeout_s=1.0)
    audio = join(
        silence(0.5), wake_phrase(), silence(2.5), piper_speech("Turn on the kitchen light."), silence(1.5)
    )
    assert process_audio(audio, keyword_understand, s, engines=engines) == []


def test_push_to_talk_trigger(engines):
    pipe = Pipeline(keyword_understand, test_settings(), engines=engines)
    pipe.trigger()
    audio = join(silence(0.3), piper_speech("What time is it?"), silence(3.0))
    results = []
    for i in range(0, len(audio) - 512, 512):
        results.extend(pipe.feed(audio[i : i + 512]))
    assert [r["intent"] for r in results] == ["GetTime"] and results[0]["wake_word"] == "push_to_talk"


def test_muted_pipeline_ignores_the_microphone(engines):
    """Issue 12: HA's Mute switch (``HaPublisher.mute``, the Event `assistant run` passes) makes the pipeline deaf: no wake word,
    no push-to-talk, no request; unmuted, the same audio is heard again."""
    import threading

    muted = threading.Event()
    recorder = Recorder()
    pipe = Pipeline(recorder, test_settings(), engines=engines, muted=muted)
    audio = join(
        silence(0.5), wake_phrase(), silence(0.3), piper_speech("Turn on the kitchen light."), silence(1.5)
    )

    def feed_all(samples):
        out = []
        for i in range(0, len(samples) - 512, 512):
            out.extend(pipe.feed(samples[i : i + 512]))
        return out

    muted.set()
    assert feed_all(audio) == []
    pipe.trigger()
    assert feed_all(audio) == [] and recorder.calls == []
    muted.clear()
    assert [r["intent"] for r in feed_all(audio)] == ["TurnOn"] and len(recorder.calls) == 1


def test_understand_failure_is_reported_and_pipeline_goes_on(engines):
    def broken(text):
        if "timer" in text.lower():
            raise RuntimeError("core exploded")
        return keyword_understand(text)

    audio = join(
        silence(0.5),
        piper_speech("Set a timer for five minutes."),
        silence(1.2),
        piper_speech("What time is it?"),
        silence(1.2),
    )
    results = process_audio(audio, broken, test_settings(), no_wake=True, engines=engines)
    assert "core exploded" in results[0]["error"] and results[0]["response"].startswith("Sorry")
    assert results[1]["intent"] == "GetTime"


def test_speculative_decode_is_reused_and_saves_time(engines):
    audio = join(silence(0.5), piper_speech("Turn off the bedroom lights."), silence(1.5))
    cpu = time.process_time  # CPU time: other processes' load (CI, a shared box) barely changes it
    spec = process_audio(
        audio, keyword_understand, test_settings(), no_wake=True, engines=engines, clock=cpu
    )[0]
    plain = process_audio(
        audio,
        keyword_understand,
        test_settings(asr__speculative=False),
        no_wake=True,
        engines=engines,
        clock=cpu,
    )[0]
    assert spec["asr_speculative"] and not plain["asr_speculative"]
    assert spec["transcript"] == plain["transcript"]
    t_spec, t_plain = spec["timings_ms"], plain["timings_ms"]
    assert t_spec["end_of_speech_to_action"] < t_plain["end_of_speech_to_action"]
    assert t_plain["end_of_speech_to_action"] >= t_plain["endpoint_delay"] + 0.5 * t_plain["asr"]


def test_feedback_sounds_off(engines, tmp_path):
    out = tmp_path / "o.wav"
    audio = join(silence(0.5), wake_phrase(), silence(2.0))  # wake, then nothing: only the beep
    process_audio(
        audio,
        keyword_understand,
        test_settings(tts__feedback_sounds=True),
        output_wav=str(out),
        engines=engines,
    )
    with wave.open(str(out)) as w:
        assert w.getnframes() > 0
    process_audio(
        audio,
        keyword_understand,
        test_settings(tts__feedback_sounds=False),
        output_wav=str(out),
        engines=engines,
    )
    with wave.open(str(out)) as w:
        assert w.getnframes() == 0


def test_live_without_sound_card_fails_clearly():
    from assistant.audio import AudioDeviceError
    from assistant.voice import run_live, say

    with pytest.raises(AudioDeviceError, match=r"arecord -l"):
        run_live(keyword_understand, test_settings())
    with pytest.raises(AudioDeviceError, match="audio.output_device"):
        say("Hello", test_settings())


def test_engines_load_once_when_asked_at_once(monkeypatch):
    """The first /api/audio, a satellite and the microphone may ask for the models together: one load."""
    import threading
    import time

    from assistant import engines as engine_cache
    from assistant.voice_settings import VoiceSettings

    made = []

    class SlowModel:  # stands in for loading Whisper / Piper (seconds on a real machine)
        def __init__(self, *args):
            made.append(self)
            time.sleep(0.2)

        def warm_up(self):
            return 0.0

    monkeypatch.setattr(engine_cache, "Transcriber", SlowModel)
    monkeypatch.setattr(engine_cache, "Tts", SlowModel)
    monkeypatch.setattr(engine_cache, "_ENGINE_CACHE", {})  # restored after the test
    got = []
    threads = [
        threading.Thread(target=lambda: got.append(engine_cache.Engines.load(VoiceSettings())))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 2 and got[0] is got[1] is got[2]  # one Transcriber, one Tts, one set shared


def test_processing_clock_is_the_one_given(engines):
    # a clock that never moves: no processing time, so end of speech -> action is the silence waited
    audio = join(silence(0.5), piper_speech("What time is it?"), silence(1.2))
    (r,) = process_audio(
        audio, keyword_understand, test_settings(), no_wake=True, engines=engines, clock=lambda: 0.0
    )
    t = r["timings_ms"]
    assert t["asr"] == t["nlu"] == t["tts_first_audio"] == 0.0
    assert t["end_of_speech_to_action"] == t["end_of_speech_to_first_audio"] == t["endpoint_silence"] > 0


class _Chunks:
    """A sink that keeps what it is given to play."""

    sample_rate, channels = 22050, 1

    def __init__(self):
        self.played: list = []

    def play(self, samples, sample_rate):
        self.played.append(samples)

    def stop(self):
        pass

    def close(self):
        pass


def test_an_answer_opening_with_a_reply_head_plays_the_kept_head_first(engines):
    from assistant.engines import Engines
    from assistant.tts import Tts

    settings = test_settings(tts__feedback_sounds=False)
    voice = Engines(engines.asr, Tts(settings.tts))  # a voice of its own: the shared one keeps no heads
    sink = _Chunks()
    pipe = Pipeline(
        keyword_understand, settings, no_wake=True, engines=voice, sink=sink, reply_heads=["Timer set"]
    )
    assert voice.tts.kept() == ["Timer set"]
    results = []
    for b in blocks(join(silence(0.5), piper_speech("Set a timer for five minutes."), silence(1.5)), 512):
        results += pipe.feed(b)
    results += pipe.flush()
    (r,) = results
    assert r["response"] == "Timer set for 5 minutes."
    assert len(sink.played) == 2 and sink.played[0] is voice.tts._kept["Timer set"]
    assert "tts_late" in r["timings_ms"]  # how late "for 5 minutes." was (a figure for the benches)
