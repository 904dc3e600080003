"""Conversations on the local tiers: questions asked back and their bare answers (one mechanism),
context carry-over, compound requests, conversation ids across `assistant ask` processes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from intents.compound import splits
from intents.conversation import HISTORY_ACTIONS, Choice, Conversations, Question, Turn
from intents.pending import answer, pick

NOW = dt.datetime(2026, 3, 2, 9, 0)  # a Monday


@pytest.fixture
def assistant(make_assistant):
    # Templates only: a bare "ten minutes" with no question pending must be no request here (the
    # learned tier would take it for a timer, which hides whether the question was still pending).
    from assistant.config import LearnedSettings

    return make_assistant(learned=LearnedSettings(enabled=False))


def test_for_how_long_takes_a_bare_answer(assistant):
    r = assistant.ask("set a timer", now=NOW)
    assert (r.intent, r.response, r.expects_answer, r.actions) == (
        "HassStartTimer",
        "For how long?",
        True,
        [],
    )
    assert assistant.store.timers() == []
    r = assistant.ask("ten minutes", now=NOW)
    assert (r.intent, r.response, r.expects_answer) == ("HassStartTimer", "Timer set for 10 minutes.", False)
    assert [t.duration_s for t in assistant.store.timers()] == [600]
    assert assistant.ask("five minutes", now=NOW).intent is None  # answered: nothing pending any more


def test_question_belongs_to_its_conversation(assistant):
    assert assistant.ask("set a timer", now=NOW, conversation="kitchen").expects_answer
    other = assistant.ask("ten minutes", now=NOW, conversation="bedroom")
    assert other.intent is None and other.conversation_id == "bedroom"
    r = assistant.ask("ten minutes", now=NOW, conversation="kitchen")
    assert r.response == "Timer set for 10 minutes." and r.conversation_id == "kitchen"


def test_no_and_unrelated_requests_drop_the_question(assistant):
    assistant.ask("set a timer", now=NOW)
    r = assistant.ask("never mind", now=NOW)
    assert (r.intent, r.response) == ("Confirm", "Okay, no timer.")
    assistant.ask("set a timer", now=NOW)
    assert assistant.ask("what time is it", now=NOW).intent == "HassGetCurrentTime"
    assert assistant.ask("ten minutes", now=NOW).intent is None
    assert assistant.store.timers() == []


def test_which_alarm_is_answered_by_its_time(assistant):
    assistant.ask("set an alarm for 7 am tomorrow", now=NOW)
    assistant.ask("set an alarm for 8:30 am tomorrow", now=NOW)
    r = assistant.ask("cancel my alarm", now=NOW)
    assert r.expects_answer and r.response.startswith("Which alarm?"), r
    r = assistant.ask("the 8:30", now=NOW)
    assert r.response.startswith("Cancelled the alarm at 8:30 AM"), r
    assert [a.time for a in assistant.store.alarms()] == ["07:00"]


def test_which_timer_is_answered_by_its_name(assistant):
    assistant.ask("set a pasta timer for 9 minutes", now=NOW)
    assistant.ask("set an egg timer for 5 minutes", now=NOW)
    r = assistant.ask("cancel the timer", now=NOW)
    assert r.expects_answer and r.response.startswith("Which timer?"), r
    r = assistant.ask("the egg one", now=NOW)
    assert r.response == "Egg timer cancelled.", r
    assert [t.name for t in assistant.store.timers()] == ["pasta"]


def test_what_time_for_the_alarm(assistant):
    r = assistant.ask("set an alarm", now=NOW)
    assert r.expects_answer and r.response == "What time should I set the alarm for?"
    r = assistant.ask("half past six in the morning", now=NOW)
    assert r.intent == "SetAlarm" and [a.time for a in assistant.store.alarms()] == ["06:30"], r


def test_noise_after_what_time_sets_no_alarm(make_assistant):
    """ "What time should I set the alarm for?", then a junk line holding a "5": the learned tier read
    "set an alarm for 1aoir0 5" as 5 AM. A bare answer is read by the templates only."""
    a = make_assistant()
    assert "learned" in [t.name for t in a.recognizers]  # on, as in a real install
    assert a.ask("set an alarm", now=NOW).expects_answer
    r = a.ask("[\r1AOiR0\x0c>}/\n5", now=NOW)
    assert r.actions == [] and a.store.alarms() == [], r
    assert a.ask("set an alarm", now=NOW).expects_answer
    r = a.ask("half past six in the morning", now=NOW)  # a real answer still works
    assert [al.time for al in a.store.alarms()] == ["06:30"], r


def test_a_long_line_is_no_bare_answer():
    """After "What time?", 100 characters of noise were tried as "set an alarm for <noise>" (60-80 ms
    of template matching on a flooded home) before being taken as a new request."""
    tried: list[str] = []
    q = Question("What time?", "fill", retry=["set an alarm for {answer}"])
    noise = "qw 0w gr a8347 0 0ku dq 08 9 hle 13tno 72 ss q f bis7 2 0kyuua k prw q e"
    assert answer(q, noise, None, tried.append) is None and tried == []  # type: ignore[arg-type]
    answer(q, "half past seven in the morning", None, tried.append)  # type: ignore[arg-type]
    assert tried == ["set an alarm for half past seven in the morning"]


def test_make_it_ten_changes_the_timer_just_set(assistant):
    assistant.ask("set a timer for 5 minutes", now=NOW)
    r = assistant.ask("make it 10", now=NOW)
    assert r.response == "5 minute timer now set for 10 minutes." or "10 minutes" in r.response, r
    assert [t.duration_s for t in assistant.store.timers()] == [600]
    assert r.actions[0]["type"] == "timer_change"


def test_dry_run_keeps_no_turns_and_asks_nothing(assistant):
    r = assistant.ask("set a timer", now=NOW, dry_run=True)
    assert r.expects_answer
    assert assistant.ask("ten minutes", now=NOW).intent is None
    assert assistant.conversations.history("default")[-1].text == "ten minutes"


def test_compound_request_does_each_part(assistant):
    r = assistant.ask("set a timer for 5 minutes and set an alarm for 7 am", now=NOW)
    assert r.intent == "Compound" and r.recognizer == "template+compound", r
    assert [p["intent"] for p in r.slots["parts"]] == ["HassStartTimer", "SetAlarm"]
    assert r.response.startswith("Timer set for 5 minutes. Alarm set for 7 AM"), r
    assert [a["type"] for a in r.actions] == ["timer_start", "alarm_set"]
    assert len(assistant.store.timers()) == 1 and len(assistant.store.alarms()) == 1


def test_three_part_compound_and_then(assistant):
    r = assistant.ask("what time is it, set a timer for 2 minutes and then set an alarm for 6:45 am", now=NOW)
    assert [p["intent"] for p in r.slots["parts"]] == ["HassGetCurrentTime", "HassStartTimer", "SetAlarm"], r


def test_split_is_conservative(assistant):
    assert list(splits("play rock and roll")) == [["play rock", "roll"]]
    assert (
        assistant._compound("play rock and roll", _ctx(assistant), {}) is None
    )  # "roll" alone means nothing
    assert assistant._compound("play simon and garfunkel", _ctx(assistant), {}) is None
    assert assistant._compound("set a timer for 5 minutes and", _ctx(assistant), {}) is None


def _ctx(assistant):
    from intents.schema import Context

    return Context(
        now=assistant.localize(NOW), store=assistant.store, dry_run=True, services=assistant.services
    )


def test_choice_picking():
    choices = [Choice("7 AM tomorrow", {"id": 1}), Choice("8:30 AM Friday", {"id": 2})]
    assert pick("the 8:30", choices).data == {"id": 2}
    assert pick("seven", choices) is None  # words for numbers are normalised before; here no digits
    assert pick("7", choices).data == {"id": 1}
    assert pick("the second one", choices).data == {"id": 2}
    assert pick("the last one", choices).data == {"id": 2}
    assert pick("friday", choices).data == {"id": 2}
    assert pick("9", choices) is None


def test_conversation_store_expires(tmp_path):
    store = Conversations(tmp_path / "c.db", history_ttl_s=60)
    store.add("a", Turn("hi", None, {}, "hello"))
    store.ask("a", Question("Sure?", "confirm", ttl_s=-1))
    assert [t.text for t in store.history("a")] == ["hi"] and store.history("b") == []
    assert store.question("a") is None  # expired
    store.ask("a", Question("Which?", "choose", "x", choices=[Choice("one", {"n": 1})]))
    assert store.question("a").choices[0].data == {"n": 1}
    store.close()
    again = Conversations(tmp_path / "c.db")
    assert again.question("a").say == "Which?"
    again.close()


def test_cli_conversation_continues_across_processes(env):
    def ask(*args):
        out = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ask", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    first = ask("set a timer", "--conversation", "new")
    cid = first["conversation_id"]
    assert first["response"] == "For how long?" and first["expects_answer"] and len(cid) >= 8
    second = ask("ten minutes", "--conversation", cid)
    assert (second["intent"], second["response"], second["conversation_id"]) == (
        "HassStartTimer",
        "Timer set for 10 minutes.",
        cid,
    )
    assert ask("what time is it")["conversation_id"] == "default"


def test_a_turn_keeps_its_first_actions_only(tmp_path):
    """A command to 500 lights: its 500 actions were written, and read back by every request of the
    next minutes; the history keeps the first few (a follow-up reads a timer's id, nothing more)."""
    store = Conversations(tmp_path / "c.db")
    actions = [{"type": "mqtt", "topic": f"light/{i}/set", "payload": "OFF"} for i in range(500)]
    store.add("a", Turn("turn off the lights", "HassTurnOff", {}, "Turned off 500 lights.", actions))
    store.add(
        "a", Turn("set a timer", "HassStartTimer", {}, "Done.", [{"type": "timer_start", "timer_id": 7}])
    )
    lights, timer = store.history("a")
    assert lights.actions == actions[:HISTORY_ACTIONS] and timer.actions[0]["timer_id"] == 7
    store.close()
