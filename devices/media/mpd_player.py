"""MPD backend (python-mpd2). One short connection per command: robust to MPD's idle timeout."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mpd import CommandError, MPDClient
from mpd import ConnectionError as MpdConnectionError

from .library import MpdLibrary, _mpd_str
from .models import SearchResult, Track
from .player import Player, PlayerError, PlayState, as_tracks, clamp_volume

log = logging.getLogger(__name__)


class MpdPlayer(Player):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6600,
        password: str | None = None,
        timeout_s: float = 5.0,
        music_dir: Path | str | None = None,
        name: str = "mpd",
    ):
        self.host, self.port, self.password, self.timeout_s = host, port, password, timeout_s
        self.music_dir = Path(music_dir).expanduser().resolve() if music_dir else None
        self.name = name
        self._saved_volume: int | None = None

    @classmethod
    def from_settings(cls, settings: Any, name: str = "mpd") -> MpdPlayer:
        m = settings.mpd
        return cls(m.host, m.port, m.password, m.timeout_s, settings.music_dir, name)

    @contextlib.contextmanager
    def connection(self) -> Iterator[MPDClient]:
        c = MPDClient()
        c.timeout = self.timeout_s
        try:
            c.connect(self.host, self.port)
            if self.password:
                c.password(self.password)
        except (TimeoutError, OSError, MpdConnectionError) as e:
            raise PlayerError(
                f"cannot reach MPD at {self.host}:{self.port} ({e}); is mpd running and media.mpd.host/port right?"
            ) from e
        except CommandError as e:
            raise PlayerError(f"MPD rejected the password: {e}; check media.mpd.password") from e
        try:
            yield c
        except CommandError as e:
            raise PlayerError(f"MPD command failed: {e}") from e
        finally:
            with contextlib.suppress(Exception):
                c.close()
                c.disconnect()

    def library(self, stations: dict[str, str] | None = None) -> MpdLibrary:
        return MpdLibrary(self.connection, stations)

    def update_database(self, wait_s: float = 10.0) -> None:
        """Ask MPD to rescan its music folder and wait until done."""
        import time

        with self.connection() as c:
            c.update()
            deadline = time.monotonic() + wait_s
            while "updating_db" in c.status() and time.monotonic() < deadline:
                time.sleep(0.05)

    def _uri(self, t: Track) -> str:
        if self.music_dir and not t.is_stream:
            p = Path(t.uri.removeprefix("file://"))
            if p.is_absolute():
                with contextlib.suppress(ValueError):
                    return str(p.resolve().relative_to(self.music_dir))
        return t.uri

    def play(self, items: SearchResult | Track | list[Track] | str, shuffle: bool = False) -> None:
        tracks = as_tracks(items)
        with self.connection() as c:
            c.clear()
            for t in tracks:
                c.add(self._uri(t))
            if shuffle:
                c.shuffle()
            if tracks:
                c.play(0)

    def pause(self) -> None:
        with self.connection() as c:
            c.pause(1)

    def resume(self) -> None:
        with self.connection() as c:
            if c.status().get("state") == "stop":
                c.play()
            else:
                c.pause(0)

    def stop(self) -> None:
        with self.connection() as c:
            c.stop()

    def next(self) -> None:
        with self.connection() as c:
            c.next()

    def previous(self) -> None:
        with self.connection() as c:
            c.previous()

    def set_volume(self, volume: int) -> int:
        v = clamp_volume(volume)
        with self.connection() as c:
            c.setvol(v)
        return v

    def get_volume(self) -> int:
        with self.connection() as c:
            return int(c.status().get("volume", -1))

    def mute(self) -> None:
        v = self.get_volume()
        if v > 0:
            self._saved_volume = v
            self.set_volume(0)

    def unmute(self) -> None:
        if self._saved_volume is not None:
            self.set_volume(self._saved_volume)
            self._saved_volume = None

    @property
    def state(self) -> PlayState:
        with self.connection() as c:
            return {"play": PlayState.PLAYING, "pause": PlayState.PAUSED}.get(
                c.status().get("state"), PlayState.STOPPED
            )

    def now_playing(self) -> dict[str, Any] | None:
        with self.connection() as c:  # both in one command list: a song that ends between two
            c.command_list_ok_begin()  # commands would leave a "play" status with no current song
            c.status()
            c.currentsong()
            st, song = c.command_list_end()
        if st.get("state") not in ("play", "pause") or not song:
            return None
        return {
            "title": _mpd_str(song.get("title"))
            or _mpd_str(song.get("name"))
            or Path(_mpd_str(song.get("file"))).stem,
            "artist": _mpd_str(song.get("artist")),
            "album": _mpd_str(song.get("album")),
            "genre": _mpd_str(song.get("genre")),
            "uri": _mpd_str(song.get("file")),
            "state": "playing" if st["state"] == "play" else "paused",
            "position_s": float(st.get("elapsed", 0) or 0),
            "volume": int(st.get("volume", -1)),
            "index": int(st.get("song", 0)),
            "queue_length": int(st.get("playlistlength", 0)),
        }
