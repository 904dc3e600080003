"""Built-in player: decodes files/streams with PyAV and plays them to an ``AudioSink``."""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

import numpy as np

from .models import SearchResult, Track
from .player import Player, PlayState, as_tracks, clamp_volume
from .sinks import AudioSink

log = logging.getLogger(__name__)


def volume_gain(volume: int) -> float:
    """Software gain for volume 0-100: a square-law curve (50 -> 0.25, about -12 dB)."""
    return (clamp_volume(volume) / 100.0) ** 2


class LocalPlayer(Player):
    """Queue + background decoder thread; pause/next/volume act within one audio frame."""

    def __init__(self, sink: AudioSink, name: str = "local", volume: int = 50, stream_timeout_s: float = 5.0):
        self.name = name
        self.sink = sink
        self.channels = sink.channels
        self.stream_timeout_s = stream_timeout_s
        self._cv = threading.Condition()
        self._queue: list[Track] = []
        self._pos = -1
        self._state = PlayState.STOPPED
        self._gen = 0  # bumped on every command that abandons the current track
        self._volume = clamp_volume(volume)
        self._muted = False
        self._elapsed = 0.0
        self._closed = False
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name=f"media-{name}", daemon=True)
        self._thread.start()

    # ---- commands ----------------------------------------------------------
    def play(self, items: SearchResult | Track | list[Track] | str, shuffle: bool = False) -> None:
        tracks = as_tracks(items)
        if shuffle:
            random.shuffle(tracks)
        with self._cv:
            self._queue, self._pos, self._elapsed = tracks, (0 if tracks else -1), 0.0
            self._state = PlayState.PLAYING if tracks else PlayState.STOPPED
            self._gen += 1
            self._cv.notify_all()

    def pause(self) -> None:
        with self._cv:
            if self._state is PlayState.PLAYING:
                self._state = PlayState.PAUSED
                self._cv.notify_all()

    def resume(self) -> None:
        with self._cv:
            if self._state is PlayState.PAUSED or (
                self._state is PlayState.STOPPED and 0 <= self._pos < len(self._queue)
            ):
                self._state = PlayState.PLAYING
                self._cv.notify_all()

    def stop(self) -> None:
        with self._cv:
            self._state = PlayState.STOPPED
            self._elapsed = 0.0
            self._gen += 1
            self._cv.notify_all()

    def next(self) -> None:
        with self._cv:
            self._jump(self._pos + 1)

    def previous(self) -> None:
        with self._cv:
            self._jump(self._pos if self._elapsed > 3.0 else max(0, self._pos - 1))

    def _jump(self, pos: int) -> None:
        self._gen += 1
        self._elapsed = 0.0
        if 0 <= pos < len(self._queue):
            self._pos = pos
            if self._state is PlayState.STOPPED:
                self._state = PlayState.PLAYING
        else:
            self._state = PlayState.STOPPED
        self._cv.notify_all()

    def set_volume(self, volume: int) -> int:
        with self._cv:
            self._volume = clamp_volume(volume)
            return self._volume

    def get_volume(self) -> int:
        return self._volume

    def mute(self) -> None:
        self._muted = True

    def unmute(self) -> None:
        self._muted = False

    @property
    def state(self) -> PlayState:
        return self._state

    def now_playing(self) -> dict[str, Any] | None:
        with self._cv:
            if self._state is PlayState.STOPPED or not (0 <= self._pos < len(self._queue)):
                return None
            t = self._queue[self._pos]
            return {
                **t.to_dict(),
                "state": self._state.value,
                "position_s": round(self._elapsed, 2),
                "volume": self._volume,
                "muted": self._muted,
                "index": self._pos,
                "queue_length": len(self._queue),
            }

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._gen += 1
            self._cv.notify_all()
        self._thread.join(timeout=2)
        self.sink.close()

    # ---- playback thread ---------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and not (
                    self._state is PlayState.PLAYING and 0 <= self._pos < len(self._queue)
                ):
                    self._cv.wait()
                if self._closed:
                    return
                track, gen = self._queue[self._pos], self._gen
            try:
                finished = self._play_track(track, gen)
            except Exception as e:  # undecodable file or dead stream: skip it
                log.warning("cannot play %s: %s", track.uri, e)
                self.errors.append(f"{track.uri}: {e}")
                finished = True
            with self._cv:
                if finished and gen == self._gen:
                    self._jump(self._pos + 1)

    def _play_track(self, track: Track, gen: int) -> bool:
        """Decode and write one track; False when interrupted by a command."""
        import av

        opts = {"timeout": str(int(self.stream_timeout_s * 1e6))} if track.is_stream else {}
        layout = "mono" if self.channels == 1 else "stereo"
        with av.open(track.uri, options=opts) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout=layout, rate=self.sink.sample_rate)
            frames = (f for packet in container.demux(stream) for f in packet.decode())
            wrote = False
            for frame in _chain(frames, [None]):
                for out in resampler.resample(frame):
                    if not self._write(out.to_ndarray().reshape(-1, self.channels), gen):
                        return False
                    wrote = True
        if not wrote:
            raise ValueError("no audio could be decoded (not an audio file?)")
        return True

    def _write(self, pcm: np.ndarray, gen: int) -> bool:
        with self._cv:
            while self._state is PlayState.PAUSED and gen == self._gen and not self._closed:
                self._cv.wait()
            if gen != self._gen or self._state is not PlayState.PLAYING or self._closed:
                return False
            gain = 0.0 if self._muted else volume_gain(self._volume)
        if gain != 1.0:
            pcm = np.clip(pcm.astype(np.float32) * gain, -32768, 32767).astype(np.int16)
        self.sink.play(pcm, self.sink.sample_rate)
        with self._cv:
            if gen == self._gen:
                self._elapsed += len(pcm) / self.sink.sample_rate
        return True


def _chain(a, b):
    yield from a
    yield from b
