"""The voice pipelines speak the LLM's final answer as it is written (``llm.final_answer``): Piper
starts on the first sentence while the model still streams the rest. Real pieces: Piper speech (noise
0) through Whisper, the text core, and a canned OpenAI-compatible server on 127.0.0.1 that streams
the answer and holds its last piece back until the box has played audio (or 30 s), so the order of
events is checked, not a time."""

from __future__ import annotations

import base64
import io
import threading
import time
import wave

import numpy as np
import pytest

from assistant.pipeline import Pipeline
from tests.fixtures_llm import llm_settings, tool_reply
from tests.fixtures_service import write_config
from tests.fixtures_voice import join, piper_speech, silence, test_settings
from tests.test_http_api import wav_bytes

EGGS = "Keep an eye on the eggs for me, five minutes or so."
ANSWER = ["Your egg ", "timer is set. It ", "rings in five", " minutes!"]


class RecordingSink:
    """Records, for every chunk played, how many pieces the server had streamed by then."""

    sample_rate, channels = 22050, 1

    def __init__(self, canned) -> None:
        self.canned = canned
        self.played: list[int] = []
        self.first = threading.Event()

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        self.played.append(self.canned.streamed)
        self.first.set()

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def _timer_core(make_llm, canned, monkeypatch):
    """The text core whose LLM calls HassStartTimer and then streams ANSWER."""
    canned.reply = tool_reply("HassStartTimer", '{"minutes": 5}')
    canned.stream = ANSWER
    assistant = make_llm(llm_settings(canned.url, timeout_s=60))
    monkeypatch.setattr(
        assistant.config,
        "llm",
        assistant.config.llm.model_copy(update={"final_answer": True, "timeout_s": 60}),
    )
    return assistant


@pytest.fixture
def streaming(make_llm, canned, monkeypatch):
    """The text core whose LLM calls HassStartTimer and then streams ANSWER, the last piece held back
    until the sink plays something."""
    assistant = _timer_core(make_llm, canned, monkeypatch)
    sink = RecordingSink(canned)
    canned.hold_last = sink.first

    def understand(text: str, *, say) -> dict:
        return assistant.ask(text, on_sentence=say).to_dict()

    return assistant, understand, sink


def _check(result: dict, sink: RecordingSink, canned) -> None:
    assert (result["intent"], result["recognizer"]) == ("HassStartTimer", "llm"), result["transcript"]
    assert result["response"] == "Your egg timer is set. It rings in five minutes!"
    assert sink.played, "nothing was spoken"
    # the first audio was played while the server still held the answer's last piece back
    assert sink.played[0] < len(ANSWER), sink.played
    assert canned.streamed == len(ANSWER)
    spoken = [e["text"] for e in result["trace"] if e["event"] == "AudioOut" and e["kind"] == "speech"]
    assert spoken == ["Your egg timer is set.", "It rings in five minutes!"]  # each once, in order
    events = [e["event"] if e["event"] != "AudioOut" else e["kind"] for e in result["trace"]]
    assert events.index("speech") < events.index("IntentResult")  # speaking began before ask returned


def _feed(pipe: Pipeline) -> list[dict]:
    """EGGS spoken into ``pipe``, faster than real time; then the reply played to its end."""
    results: list[dict] = []
    try:
        for block in np.array_split(join(silence(0.5), piper_speech(EGGS), silence(1.5)), 200):
            results += pipe.feed(block)
        results += pipe.flush()
        deadline = time.monotonic() + 60
        while pipe.speaking and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pipe.close()
    return results


def test_recording_speaks_the_first_sentence_while_the_model_writes(engines, streaming, canned):
    """Not live (``process_audio``: ``assistant process``, HTTP /api/audio, satellites): each
    sentence is synthesised into the sink as it arrives."""
    assistant, understand, sink = streaming
    pipe = Pipeline(
        understand, test_settings(), no_wake=True, sink=sink, engines=engines, stream_replies=True
    )
    (result,) = _feed(pipe)
    _check(result, sink, canned)
    timings = result["timings_ms"]
    assert timings["end_of_speech_to_first_audio"] < timings["end_of_speech_to_action"]
    assert [t.duration_s for t in assistant.store.timers()] == [300]


def test_live_speaker_starts_on_the_first_sentence(engines, streaming, canned):
    """The microphone loop (``assistant run``): the speaker thread plays each sentence as it comes."""
    _, understand, sink = streaming
    pipe = Pipeline(
        understand, test_settings(), no_wake=True, sink=sink, engines=engines, live=True, stream_replies=True
    )
    (result,) = _feed(pipe)
    _check(result, sink, canned)


def test_without_streaming_the_answer_is_spoken_after(engines, make_llm, canned, monkeypatch):
    """A plain understand(text) (no ``say``): the same answer, spoken once, after ask returned."""
    assistant = _timer_core(make_llm, canned, monkeypatch)
    sink = RecordingSink(canned)
    audio = join(silence(0.5), piper_speech(EGGS), silence(1.5))
    pipe = Pipeline(
        lambda text: assistant.ask(text).to_dict(), test_settings(), no_wake=True, sink=sink, engines=engines
    )
    try:
        results = [r for block in np.array_split(audio, 200) for r in pipe.feed(block)] + pipe.flush()
    finally:
        pipe.close()
    (result,) = results
    assert result["response"] == "Your egg timer is set. It rings in five minutes!"
    assert sink.played and sink.played[0] == len(ANSWER)  # nothing before the model had finished


def test_http_audio_speaks_the_streamed_answer_sentence_by_sentence(canned, env, tmp_path, serving):
    """``POST /api/audio`` on a real ``assistant serve``: the reply WAV starts with the first sentence
    before the request is done (first audio before the action's end), and holds the whole answer."""
    canned.reply = tool_reply("HassStartTimer", '{"minutes": 5}')
    canned.stream = ANSWER
    env["ASSISTANT_CONFIG"] = write_config(
        tmp_path,
        {
            "learned": {"enabled": False},  # what reaches the LLM, as in the fixtures above
            "llm": {"url": canned.url, "final_answer": True, "timeout_s": 60, "scope_threshold": 0},
            "tts": {"noise_scale": 0, "noise_w_scale": 0},
        },
    )
    served = serving(env)
    audio = wav_bytes(join(silence(0.5), piper_speech(EGGS), silence(1.5)))
    r = served.request("POST", "/api/audio?no_wake=1", data=audio, headers={"Content-Type": "audio/wav"})
    assert r.status == 200, r.body
    body = r.json()
    [result] = body["results"]
    assert (result["intent"], result["recognizer"]) == ("HassStartTimer", "llm"), result
    assert result["response"] == "Your egg timer is set. It rings in five minutes!"
    streamed = [bool(c.get("stream")) for c in canned.chats()]
    assert streamed == [False, True]  # the tool call, then the answer written as a stream
    assert canned.streamed == len(ANSWER)
    timings = result["timings_ms"]
    assert timings["end_of_speech_to_first_audio"] < timings["end_of_speech_to_action"], timings
    with wave.open(io.BytesIO(base64.b64decode(body["reply_wav"]))) as w:
        seconds = w.getnframes() / w.getframerate()
    alone = [len(piper_speech(s)) / 16000 for s in ("Your egg timer is set.", "It rings in five minutes!")]
    assert seconds > 0.8 * sum(alone), (seconds, alone)  # both sentences, not just the first
    trace = served.request("GET", "/api/traces?limit=1").json()[0]
    assert trace["source"] == "audio" and trace["intent"] == "HassStartTimer", trace
