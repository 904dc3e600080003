"""Preferences: stated, used by local defaults (music, weather city and units), listed and forgotten
(`assistant prefs`, "forget my preferences"), surviving SIGKILL; a liking learned from plays."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.fixtures_services import IntentServices


@pytest.fixture
def home(make_assistant, tmp_path):
    with contextlib.ExitStack() as stack:
        assistant = make_assistant()
        services = IntentServices({"music": True, "weather": "open_meteo"}, tmp_path, stack)
        services.install(assistant)
        yield assistant, services
        assistant.services.media.close()


@pytest.mark.parametrize(
    "said, key, value, answer",
    [
        ("my name is ana", "name", "Ana", "Nice to meet you, Ana."),
        ("call me Ana please", "name", "Ana", "Nice to meet you, Ana."),
        ("I like jazz", "music", "jazz", "Got it, you like jazz."),
        ("my favourite music is jazz", "music", "jazz", "Got it, you like jazz."),
        ("use Fahrenheit", "units", "imperial", "Okay, I'll use Fahrenheit."),
        ("use celsius from now on", "units", "metric", "Okay, I'll use Celsius."),
        ("my city is Lyon", "city", "Lyon", "Got it, your city is Lyon."),
        ("I live in Lyon", "city", "Lyon", "Got it, your city is Lyon."),
        (
            "call me at 6:30 on weekdays",
            "wake",
            "6:30 on weekdays",
            "Got it, you get up at 6:30 on weekdays.",
        ),
    ],
)
def test_statements_are_understood_and_stored(make_assistant, said, key, value, answer):
    assistant = make_assistant()
    r = assistant.ask(said)
    assert (r.intent, r.response) == ("SetPreference", answer), r
    assert assistant.preferences.all() == {key: value}


@pytest.mark.parametrize("said", ["i like it", "i like to turn on the lights", "my name is what"])
def test_vague_statements_store_nothing(make_assistant, said):
    assistant = make_assistant()
    assistant.ask(said)
    assert assistant.preferences.all() == {}


def test_play_my_music_plays_what_they_like(home):
    assistant, _ = home
    assistant.ask("I like jazz")
    r = assistant.ask("play my music")
    assert r.response == "Playing some Jazz music, as you like.", r
    assert r.actions[0]["query"] == "jazz"


def test_liking_this_song_keeps_its_artist(home):
    assistant, _ = home
    assert assistant.ask("i like this song").response == (
        "Nothing is playing, so I don't know which song you mean."
    )
    assert assistant.preferences.all() == {}
    assistant.ask("play come together")
    r = assistant.ask("save this song to my favourites")
    assert (r.intent, r.response) == ("SetPreference", "Got it, you like The Beatles."), r
    assert assistant.preferences.all() == {"music": "The Beatles"}
    assert assistant.ask("play my music").actions[0]["query"] == "The Beatles"


def test_a_liking_is_learned_from_plays_and_said_so(home):
    assistant, _ = home
    assert assistant.ask("play my music").actions[0]["matched"] == "your music"  # nothing known yet
    for _ in range(3):
        assistant.ask("play rock")
    r = assistant.ask("play my music")
    assert r.actions[0]["query"] == "rock" and "which you play most" in r.response, r


def test_weather_uses_home_city_and_units(home):
    assistant, services = home
    assistant.ask("my city is Berlin")
    assistant.ask("use fahrenheit")
    r = assistant.ask("what's the weather like")
    assert r.intent == "HassGetWeather" and "Berlin" in r.response, r
    forecast = [q for q in services.server.requests if q.path == "/v1/forecast"]
    assert forecast and forecast[-1].query["temperature_unit"] == ["fahrenheit"]
    geocoded = [q for q in services.server.requests if q.path == "/v1/search"]
    assert geocoded[-1].query["name"] == ["Berlin"]


def test_list_and_forget_by_voice(make_assistant):
    assistant = make_assistant()
    assert (
        assistant.ask("what do you know about me").response
        == "You haven't told me anything about yourself yet."
    )
    assistant.ask("my name is Ana")
    assistant.ask("I like jazz")
    r = assistant.ask("what do you know about me")
    assert r.response == "I know that your music is jazz and your name is Ana.", r
    assert assistant.ask("forget my name").response == "Done, I forgot your name."
    assert assistant.preferences.all() == {"music": "jazz"}
    assert assistant.ask("forget my preferences").response == "Done, I forgot your preferences."
    assert assistant.preferences.all() == {}


def test_prefs_cli_survives_sigkill(env, tmp_path):
    """A preference is on disk before the answer: a process killed right after answering keeps it."""
    script = (
        "import sys, time\nfrom assistant.config import load_config\nfrom assistant.core import Assistant\n"
        "a = Assistant(load_config())\nprint(a.ask('my name is Ana').response, flush=True)\n"
        "print(a.ask('I like jazz').response, flush=True)\ntime.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "Nice to meet you, Ana."
        assert proc.stdout.readline().strip() == "Got it, you like jazz."
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)

    def cli(*args):
        out = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "prefs", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    rows = json.loads(cli("--json"))
    assert {r["key"]: r["value"] for r in rows} == {"name": "Ana", "music": "jazz"}
    assert rows[1]["said"] == "my name is ana"
    assert "name   Ana" in cli()
    assert cli("--forget", "music").strip() == "Forgot 1 preference."
    assert [r["key"] for r in json.loads(cli("--json"))] == ["name"]
    assert cli("--forget", "all").strip() == "Forgot 1 preference."
    assert cli().strip() == "No preferences stored."
    bad = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "prefs", "--forget", "shoe"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2 and "no preference called 'shoe'" in bad.stderr
