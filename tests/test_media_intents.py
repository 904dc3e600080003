"""End to end: `Assistant.ask` -> media intents -> the real local player decoding the tone library into a WAV file."""

from __future__ import annotations

import contextlib
import time
import wave

import pytest

from tests.fixtures_services import IntentServices

PLAYERS = [
    {"name": "kitchen speaker", "area": "kitchen"},
    {"name": "living room speaker", "area": "living room"},
]


@pytest.fixture
def home(make_assistant, tmp_path):
    with contextlib.ExitStack() as stack:
        assistant = make_assistant()
        services = IntentServices({"music": True, "players": PLAYERS}, tmp_path, stack)
        services.install(assistant)
        yield assistant, services
        assistant.services.media.close()


def wait_for(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_play_writes_audio_and_controls_follow(home) -> None:
    assistant, services = home
    r = assistant.ask("play my workout playlist in the kitchen")
    assert r.response == "Playing your Workout playlist in the kitchen."
    player = assistant.services.media.player(assistant.services.media.resolve("kitchen"))
    sink = services.sinks[0]
    wait_for(lambda: sink.frames_written > 2000)
    assert assistant.ask("what's playing").response == "This is One More Time by Daft Punk, from Discovery."
    assert assistant.ask("turn it up a bit").response == "Volume 60 percent." and player.get_volume() == 60
    assert (
        assistant.ask("set the volume to 30 percent").response == "Volume 30 percent."
        and player.get_volume() == 30
    )
    assert assistant.ask("skip this song").actions[0]["command"] == "next"
    wait_for(lambda: (player.now_playing() or {}).get("title") == "Come Together")
    assert assistant.ask("pause").response == "Paused." and player.state.value == "paused"
    frames = sink.frames_written
    time.sleep(0.3)
    assert sink.frames_written == frames, "audio kept flowing while paused"
    assert assistant.ask("resume").response == "Resuming."
    wait_for(lambda: sink.frames_written > frames)
    assert assistant.ask("stop").response == "Music paused."  # StopAlarm with nothing ringing
    assert player.state.value == "paused"
    assistant.services.media.close()
    with wave.open(str(sink.path)) as w:
        assert w.getframerate() == 22050 and w.getnframes() > 4000


def test_stop_prefers_a_ringing_timer(home) -> None:
    assistant, _ = home
    assistant.ask("play some jazz")
    media = assistant.services.media
    wait_for(lambda: bool(media.playing()))
    assistant.ask("set a timer for 1 second")
    time.sleep(1.2)
    assistant.tick()
    r = assistant.ask("stop")
    assert r.response == "Timer stopped.", r.response
    assert media.playing(), "stopping the timer must leave the music alone"


def test_dry_run_plays_nothing(home) -> None:
    assistant, services = home
    r = assistant.ask("play abbey road by the beatles in the living room", dry_run=True)
    assert r.actions == [
        {
            "type": "media",
            "command": "play",
            "player": "living room speaker",
            "query": "abbey road by the beatles",
            "matched": "Abbey Road by The Beatles",
            "kind": "album",
            "tracks": 2,
            "shuffle": False,
        }
    ]
    assert services.sinks == [] and not assistant.services.media.playing()
    assert assistant.ask("turn it up", dry_run=True).actions[0]["volume"] == 60
    assert services.sinks == []


def test_games_and_likes_never_play(home) -> None:
    assistant, services = home
    for text in ("play a game", "let's play chess", "play chess with me"):
        r = assistant.ask(text)
        assert r.intent is None and r.actions == [], (text, r.intent)
    r = assistant.ask("i like this song")  # a liking (tests/test_preferences.py), never a search
    assert (r.intent, r.actions) == ("SetPreference", []), r
    assert services.sinks == []


def test_unreachable_backend_is_one_sentence(make_assistant, tmp_path) -> None:
    from devices.media import MediaSettings
    from devices.media.service import MediaService
    from tests.fixtures_media import free_port

    assistant = make_assistant()
    settings = MediaSettings(
        backend="mpd",
        music_dir=tmp_path,
        cache_dir=tmp_path / "cache",
        mpd={"host": "127.0.0.1", "port": free_port(), "timeout_s": 1},
    )
    assistant.services.media = MediaService(settings)
    assert assistant.ask("play some jazz").response == "I can't reach the music player right now."
    assert (
        assistant.ask("set the volume to 20 percent").response == "I can't reach the music player right now."
    )


def test_services_wiring_is_lazy_and_configurable(tmp_path) -> None:
    from assistant.config import load_config
    from assistant.services import LazyService, build_services

    cfg = load_config(
        env={"ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_WEATHER_URL": "http://127.0.0.1:9/v1/forecast"}
    )
    assert cfg.weather.forecast_url == "http://127.0.0.1:9/v1/forecast" and cfg.media.backend == "local"
    services = build_services(cfg)
    assert isinstance(services.weather, LazyService) and services.weather._service is None
    assert services.media._players == {} and services.media._library is None
    assert services.weather.get_forecast is not None and services.weather._service is not None
    services.close()
