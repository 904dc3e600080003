"""Remote players: MPD against a real mpd, Home Assistant against a stub REST server, MQTT contract."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from devices.media import MediaSettings, PlayerConfig, PlayerError, PlayState, make_player
from devices.media.home_assistant import HomeAssistantPlayer
from devices.media.mpd_player import MpdPlayer
from devices.media.mqtt_player import MqttPlayer
from intents.media_query import read_query
from tests.fixtures_media import Reply, make_library, run_mpd, stub_http_server


@pytest.fixture(scope="module")
def mpd_env(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mpd")
    music = make_library(root / "music")
    (root / "state" / "playlists").mkdir(parents=True)
    (root / "state" / "playlists" / "Workout.m3u").write_text(
        "Daft Punk/Discovery/01 One More Time.ogg\nThe Beatles/Abbey Road/01 Come Together.flac\n"
    )
    with run_mpd(root / "state", music) as port:
        player = MpdPlayer(port=port, music_dir=music)
        player.update_database()
        yield player, music


def wait_for(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_mpd_library_search(mpd_env) -> None:
    player, _ = mpd_env
    lib = player.library(stations={"Radio One": "http://127.0.0.1:9/live"})
    idx = lib.refresh()
    assert len(idx) == 8
    r = lib.find(read_query("abby road by the beetles"))
    assert (r.kind, r.name, r.artist) == ("album", "Abbey Road", "The Beatles")
    assert [t.uri for t in r.tracks] == [
        "The Beatles/Abbey Road/01 Come Together.flac",
        "The Beatles/Abbey Road/02 Something.flac",
    ]
    w = lib.find(read_query("my workout playlist"))
    assert w.kind == "playlist" and [t.title for t in w.tracks] == ["One More Time", "Come Together"]
    assert lib.find(read_query("some jazz")).kind == "genre"
    assert not lib.find(read_query("qqq zzz xxx")).found


def test_mpd_transport_and_volume(mpd_env) -> None:
    player, _ = mpd_env
    lib = player.library()
    lib.refresh()
    player.play(lib.find(read_query("abbey road")))
    assert player.state is PlayState.PLAYING
    np_ = player.now_playing()
    assert np_["title"] == "Come Together" and np_["artist"] == "The Beatles" and np_["queue_length"] == 2
    player.next()
    assert player.now_playing()["title"] == "Something"
    player.previous()
    assert player.now_playing()["title"] == "Come Together"
    player.pause()
    assert player.state is PlayState.PAUSED
    pos = player.now_playing()["position_s"]
    time.sleep(0.3)
    assert player.now_playing()["position_s"] == pytest.approx(pos, abs=0.01)
    player.resume()
    wait_for(lambda: player.now_playing() and player.now_playing()["position_s"] > pos + 0.1)
    assert player.set_volume(30) == 30 and player.get_volume() == 30
    assert player.change_volume(+10) == 40
    player.mute()
    assert player.get_volume() == 0
    player.unmute()
    assert player.get_volume() == 40
    player.stop()
    assert player.state is PlayState.STOPPED and player.now_playing() is None


def test_mpd_plays_local_library_paths(mpd_env) -> None:
    from devices.media import LocalLibrary

    player, music = mpd_env
    local = LocalLibrary(music)
    local.refresh()
    player.play(local.find(read_query("so what by miles davis")))  # absolute paths mapped to MPD-relative
    with player.connection() as c:  # the queue, not what plays: a one-second track may be over already
        assert [song["title"] for song in c.playlistinfo()] == ["So What"]
    player.stop()


def test_mpd_unreachable_gives_clear_error() -> None:
    from tests.fixtures_media import free_port

    p = MpdPlayer(port=free_port(), timeout_s=1)
    with pytest.raises(PlayerError, match="cannot reach MPD"):
        p.pause()


# ---------------------------------------------------------------- Home Assistant
def test_home_assistant_player_service_calls(tmp_path: Path) -> None:
    with stub_http_server() as srv:
        state = {
            "entity_id": "media_player.kitchen",
            "state": "playing",
            "attributes": {
                "media_title": "Come Together",
                "media_artist": "The Beatles",
                "media_album_name": "Abbey Road",
                "volume_level": 0.42,
                "is_volume_muted": False,
            },
            "last_changed": "2025-03-12T14:00:00+00:00",
            "last_updated": "2025-03-12T14:00:00+00:00",
        }
        srv.routes[("GET", "/api/states/media_player.kitchen")] = Reply(200, state)
        for svc in (
            "play_media",
            "media_pause",
            "media_play",
            "media_next_track",
            "media_previous_track",
            "volume_set",
            "volume_mute",
            "media_stop",
        ):
            srv.routes[("POST", f"/api/services/media_player/{svc}")] = Reply(200, [])
        settings = MediaSettings(
            music_dir=tmp_path,
            home_assistant={"url": f"{srv.url}/api", "token": "t0k"},
            players=[
                PlayerConfig(
                    name="Kitchen speaker",
                    area="kitchen",
                    backend="home_assistant",
                    target="media_player.kitchen",
                )
            ],
        )
        player = make_player(settings, settings.player_for("kitchen"))
        assert isinstance(player, HomeAssistantPlayer)
        from devices.media import Track

        player.play([Track(uri=str(tmp_path / "a b.flac")), Track(uri="http://radio.example/live")])
        player.pause()
        player.next()
        player.set_volume(30)
        assert player.get_volume() == 42
        assert player.change_volume(+10) == 52
        player.mute()
        np_ = player.now_playing()
        assert np_["title"] == "Come Together" and np_["volume"] == 42 and np_["state"] == "playing"
        posts = [(r.path.rsplit("/", 1)[-1], r.json) for r in srv.requests if r.method == "POST"]
        assert posts[0] == (
            "play_media",
            {
                "entity_id": "media_player.kitchen",
                "media_content_type": "music",
                "media_content_id": "media-source://media_source/local/a b.flac",
                "enqueue": "replace",
            },
        )
        assert (
            posts[1][1]["enqueue"] == "add" and posts[1][1]["media_content_id"] == "http://radio.example/live"
        )
        assert [p[0] for p in posts[2:]] == [
            "media_pause",
            "media_next_track",
            "volume_set",
            "volume_set",
            "volume_mute",
        ]
        assert posts[4][1]["volume_level"] == 0.3 and posts[5][1]["volume_level"] == 0.52
        assert all(r.headers.get("Authorization") == "Bearer t0k" for r in srv.requests)
        srv.routes[("POST", "/api/services/media_player/media_stop")] = Reply(500, {"message": "boom"})
        with pytest.raises(PlayerError, match="media_stop"):
            player.stop()


# ---------------------------------------------------------------- MQTT
def test_mqtt_player_topic_contract() -> None:
    sent: list[tuple[str, dict]] = []
    player = make_player(
        MediaSettings(mqtt={"topic_prefix": "home/media/"}),
        PlayerConfig(name="Living room", backend="mqtt", target="livingroom"),
        publish=lambda t, p: sent.append((t, json.loads(p))),
    )
    assert isinstance(player, MqttPlayer)
    assert player.state_topic == "home/media/livingroom/state"
    from devices.media import Track

    player.play([Track(uri="http://radio/x", title="X")])
    player.pause()
    player.set_volume(120)
    player.next()
    assert [t for t, _ in sent] == ["home/media/livingroom/cmd"] * 4
    assert sent[0][1]["command"] == "play" and sent[0][1]["uri"] == "http://radio/x"
    assert [p["command"] for _, p in sent[1:]] == ["pause", "volume", "next"]
    assert sent[2][1]["volume"] == 100
    player.handle_state(json.dumps({"state": "playing", "title": "Song", "artist": "Someone", "volume": 35}))
    assert player.now_playing()["title"] == "Song" and player.get_volume() == 35
    player.handle_state(b"{not json")  # ignored
    assert player.state is PlayState.PLAYING
    player.handle_state('{"state": "stopped"}')
    assert player.now_playing() is None


def test_settings_validation_messages() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="media_player entity id"):
        PlayerConfig(name="x", backend="home_assistant", target="light.kitchen")
    with pytest.raises(ValidationError, match="not a URL"):
        MediaSettings(radio_stations={"jazz": "jazzfm"})
    with pytest.raises(ValidationError, match="unique"):
        MediaSettings(players=[PlayerConfig(name="A"), PlayerConfig(name="a")])
    with pytest.raises(ValidationError, match="wildcards"):
        MediaSettings(mqtt={"topic_prefix": "a/#"})
    s = MediaSettings()
    assert s.backend == "local" and s.music_dir == Path("~/Music").expanduser() and s.mpd.port == 6600
