"""A follow-up question by voice: the box keeps listening for the answer without a second wake word
(Piper speech with noise 0, the real text core)."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.voice import process_audio
from tests.fixtures_voice import join, piper_speech, silence, test_settings, wake_phrase

NOW = dt.datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def core(make_assistant):
    assistant = make_assistant()
    return assistant, (lambda text: assistant.ask(text, now=NOW))


def test_answer_to_a_question_needs_no_wake_word(engines, core):
    assistant, understand = core
    audio = join(
        silence(0.5),
        wake_phrase(),
        silence(0.3),
        piper_speech("Set a timer."),
        silence(1.5),
        piper_speech("Ten minutes."),
        silence(1.5),
    )
    results = process_audio(audio, understand, test_settings(), engines=engines)
    assert [(r["intent"], r["response"]) for r in results] == [
        ("HassStartTimer", "For how long?"),
        ("HassStartTimer", "Timer set for 10 minutes."),
    ], [r["transcript"] for r in results]
    assert [r["wake_word"] for r in results] == ["okay_nabu", "follow_up"]
    assert results[0]["expects_answer"] and not results[1]["expects_answer"]
    assert [t.duration_s for t in assistant.store.timers()] == [600]


def test_without_a_question_the_next_words_need_the_wake_word(engines, core):
    assistant, understand = core
    audio = join(
        silence(0.5),
        wake_phrase(),
        silence(0.3),
        piper_speech("What time is it?"),
        silence(1.5),
        piper_speech("Set a timer for ten minutes."),
        silence(1.5),
    )
    results = process_audio(audio, understand, test_settings(), engines=engines)
    assert [r["intent"] for r in results] == ["HassGetCurrentTime"], [r["transcript"] for r in results]
    assert assistant.store.timers() == []


def test_the_follow_up_window_closes(engines, core):
    assistant, understand = core
    settings = test_settings(wake__listen_timeout_s=1.0)
    audio = join(
        silence(0.5),
        wake_phrase(),
        silence(0.3),
        piper_speech("Set a timer."),
        silence(5.0),
        piper_speech("Ten minutes."),
        silence(1.5),
    )
    results = process_audio(audio, understand, settings, engines=engines)
    assert [r["response"] for r in results] == ["For how long?"]
    assert assistant.store.timers() == []
