"""Normalising transcripts as Whisper writes them, and parsing times, dates and durations."""

from __future__ import annotations

import datetime as dt

import pytest

from intents.normalize import name_key, normalize
from intents.timeparse import parse_duration, parse_when, say_duration, say_time

NOW = dt.datetime(2026, 11, 29, 10, 0)  # Sunday


@pytest.mark.parametrize(
    "spoken, canonical",
    [
        ("Wake me up at 6:45 tomorrow.", "wake me up at 6:45 tomorrow"),
        ("Set an alarm for 7.30", "set an alarm for 7:30"),
        ("alarm at 730am", "alarm at 7:30 am"),
        ("set an alarm for seven thirty a.m.", "set an alarm for 7:30 am"),
        ("Set an alarm for 7:30 A.M.", "set an alarm for 7:30 am"),
        ("quarter past six", "6:15"),
        ("quarter to seven", "6:45"),
        ("half past 12", "12:30"),
        ("ten o'clock", "10:00"),
        ("wake me at noon", "wake me at 12:00 pm"),
        ("half an hour", "30 minutes"),
        ("turn off the lights in a hundred minutes", "turn off the lights in 100 minutes"),
        ("set a timer for a hundred and fifty minutes", "set a timer for 150 minutes"),
        ("set a timer for an hour and a half", "set a timer for 1 hour and 30 minutes"),
        ("set a timer for 1.5 hours", "set a timer for 1 hours and 30 minutes"),
        ("a thirty second timer", "a 30 second timer"),
        ("what day is the twenty second of may", "what day is the 22nd of may"),
        ("Um, so, hey, set a timer for ten minutes, please.", "set a timer for 10 minutes"),
        ("okay nabu what time is it", "what time is it"),
        ("set the lights to 50%", "set the lights to 50 percent"),
        ("add 5 minutes to 1 hour timer", "add 5 minutes to 1 hour timer"),
        ("no one is home", "no one is home"),
        ("Whether in Berlin?", "weather in berlin"),
        ("look up next week whether for me", "look up next week weather"),
        ("tell me whether it rains", "tell me whether it rains"),
        ("Change like color to blue.", "change light color to blue"),
        ("Place turn up the volume.", "turn up the volume"),
        ("Them the living room lights to 50%.", "dim the living room lights to 50 percent"),
        ("then turn off the lights", "then turn off the lights"),
        ("", ""),
    ],
)
def test_normalize(spoken, canonical):
    assert normalize(spoken) == canonical


@pytest.mark.parametrize(
    "text, clock, date, repeat",
    [
        ("6:45 tomorrow", "06:45", "2026-11-30", []),
        ("7", "19:00", None, []),  # the next 7 o'clock
        ("7 am", "07:00", None, []),
        ("6 in the morning", "06:00", None, []),
        ("11 at night", "23:00", None, []),
        ("4 pm tuesday", "16:00", "2026-12-01", []),
        ("in 30 minutes", "10:30", None, []),
        ("2 hours from now", "12:00", None, []),
        ("every weekday at 7", "07:00", None, ["monday", "tuesday", "wednesday", "thursday", "friday"]),
        ("weekends at 9", "09:00", None, ["saturday", "sunday"]),
        ("mondays and fridays at 6:30", "06:30", None, ["monday", "friday"]),
        ("25th may at 5 pm", "17:00", "2027-05-25", []),
        ("december 24th at 6 am", "06:00", "2026-12-24", []),
        ("christmas at 8", "08:00", "2026-12-25", []),
    ],
)
def test_parse_when(text, clock, date, repeat):
    w = parse_when(text, NOW)
    assert not w.unknown
    assert w.clock(NOW).strftime("%H:%M") == clock
    assert (w.date.isoformat() if w.date else None) == date
    assert w.repeat == repeat


def test_parse_when_reports_what_it_did_not_understand():
    assert parse_when("7 am banana", NOW).unknown == ["banana"]


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("5 minutes", 300),
        ("1 hour and 30 minutes", 5400),
        ("2 hours 5 minutes 10 seconds", 7510),
        ("90 secs", 90),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["pasta", "5", "5 minutes of pasta", ""])
def test_parse_duration_rejects_non_durations(text):
    assert parse_duration(text) is None


def test_spoken_forms():
    assert say_duration(3725) == "1 hour, 2 minutes and 5 seconds"
    assert say_duration(60) == "1 minute"
    assert say_time(dt.time(0, 5)) == "12:05 AM"
    assert say_time(dt.time(12, 0)) == "12 PM"


def test_name_keys_drop_english_little_words_on_both_sides():
    """devices/ compares names with the key intents/ hands it; the English one drops articles, "my" and
    possessive 's, and reads "&" as "and" (a name of little words only keeps them)."""
    from devices.entities import Entity, EntityRegistry
    from devices.names import plain_key

    assert name_key("The Kid's Lamp") == "kid lamp" and plain_key("The Kid's Lamp") == "the kid s lamp"
    assert name_key("Simon & Garfunkel") == "simon and garfunkel" and name_key("The The") == "the the"
    reg = EntityRegistry()
    reg.add(Entity("light.big", "The Big Lamp", "light", "config"))
    assert [m.entity.entity_id for m in reg.search("big lamp", key=name_key)] == ["light.big"]
    assert reg.search("big lamp", threshold=95) == []  # the plain key keeps "the"
