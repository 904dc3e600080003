"""Built-in PyAV player writing to a WAV file sink: real decoding, real audio checks."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from devices.media import LocalLibrary, MediaSettings, NullSink, PlayState, WavSink, make_player
from devices.media.local import LocalPlayer, volume_gain
from intents.media_query import read_query
from tests.fixtures_media import make_library

RATE = 16000


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> LocalLibrary:
    root = make_library(tmp_path_factory.mktemp("music"))
    lib = LocalLibrary(root, tmp_path_factory.mktemp("cache"))
    lib.refresh()
    return lib


def wait_for(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)


def dominant_freq(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * RATE / len(x))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def test_plays_album_to_wav(library: LocalLibrary, tmp_path: Path) -> None:
    sink = WavSink(tmp_path / "out.wav", RATE)
    player = LocalPlayer(sink, volume=100)
    result = library.find(read_query("abby road by the beetles"))
    player.play(result)
    wait_for(lambda: player.now_playing() is not None or player.state is PlayState.STOPPED)
    wait_for(lambda: player.state is PlayState.STOPPED)
    assert player.now_playing() is None
    player.close()
    x = read_wav(tmp_path / "out.wav")
    assert len(x) / RATE == pytest.approx(2.0, abs=0.05)  # two 1 s tracks, resampled 44.1k -> 16k
    assert rms(x) > 0.3 * 32767 * 0.5  # -6 dBFS sine at full volume, not silence
    # Come Together (330 Hz) then Something (392 Hz): order and resampling preserved
    assert dominant_freq(x[: RATE // 2]) == pytest.approx(330, abs=5)
    assert dominant_freq(x[RATE + RATE // 4 : RATE + 3 * RATE // 4]) == pytest.approx(392, abs=5)


def test_pause_stops_output_and_resume_finishes(library: LocalLibrary, tmp_path: Path) -> None:
    sink = WavSink(tmp_path / "p.wav", RATE, speed=2.0)  # paced at 2x real time
    player = LocalPlayer(sink, volume=100)
    player.play(library.find(read_query("so what by miles davis")))
    wait_for(lambda: sink.frames_written > RATE // 10)
    player.pause()
    assert player.state is PlayState.PAUSED
    time.sleep(0.05)
    frozen = sink.frames_written
    time.sleep(0.4)
    assert sink.frames_written == frozen, "audio kept flowing while paused"
    assert frozen < RATE  # paused mid-track
    np_ = player.now_playing()
    assert np_ and np_["title"] == "So What" and np_["state"] == "paused"
    assert 0 < np_["position_s"] < 1.0
    player.resume()
    wait_for(lambda: player.state is PlayState.STOPPED)
    player.close()
    assert len(read_wav(tmp_path / "p.wav")) / RATE == pytest.approx(1.0, abs=0.05)


def test_next_previous_and_stop(library: LocalLibrary) -> None:
    sink = NullSink(RATE, speed=1.0)
    player = LocalPlayer(sink)
    player.play(library.find(read_query("discovery")))
    wait_for(lambda: (player.now_playing() or {}).get("title") == "One More Time")
    player.next()
    wait_for(lambda: (player.now_playing() or {}).get("title") == "Digital Love")
    player.previous()
    wait_for(lambda: (player.now_playing() or {}).get("title") == "One More Time")
    player.stop()
    assert player.state is PlayState.STOPPED and player.now_playing() is None
    before = sink.frames_written
    time.sleep(0.2)
    assert sink.frames_written == before
    player.close()


def test_volume_and_mute_scale_samples(library: LocalLibrary, tmp_path: Path) -> None:
    track = library.find(read_query("so what")).tracks[0]
    levels = {}
    for vol, muted in [(100, False), (50, False), (80, True)]:
        sink = WavSink(tmp_path / f"v{vol}{muted}.wav", RATE)
        p = LocalPlayer(sink, volume=vol)
        if muted:
            p.mute()
        p.play(track)
        wait_for(lambda sink=sink, p=p: sink.frames_written > 0 and p.state is PlayState.STOPPED)
        p.close()
        levels[(vol, muted)] = rms(read_wav(sink.path))
    assert levels[(50, False)] / levels[(100, False)] == pytest.approx(volume_gain(50), rel=0.02)
    assert levels[(80, True)] == 0.0


def test_volume_commands_clamp() -> None:
    p = LocalPlayer(NullSink(RATE), volume=50)
    assert p.change_volume(+10) == 60
    assert p.set_volume(130) == 100
    assert p.change_volume(-150) == 0
    p.close()


def test_unplayable_file_is_skipped(library: LocalLibrary, tmp_path: Path) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"not audio at all")
    sink = NullSink(RATE)
    p = LocalPlayer(sink)
    p.play([str(bad), library.find(read_query("digital love")).tracks[0]])
    wait_for(lambda: p.state is PlayState.STOPPED and sink.frames_written > 0)
    assert sink.frames_written == pytest.approx(RATE, abs=RATE * 0.05)
    assert p.errors and "broken.flac" in p.errors[0]
    p.close()


def test_make_player_local_requires_sink() -> None:
    from devices.media import PlayerError

    with pytest.raises(PlayerError, match="sink"):
        make_player(MediaSettings())
    p = make_player(MediaSettings(default_volume=30), sink=NullSink())
    assert p.get_volume() == 30
    p.close()
