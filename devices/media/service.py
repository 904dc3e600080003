"""The music service intent handlers use: players by name or area, and the library, made on first use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .models import Lookup, SearchResult
from .player import Player, PlayerError, PlayState
from .settings import MediaSettings, PlayerConfig
from .sinks import AudioSink

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger(__name__)


class MediaService:
    """One object for everything music: ``player(where)``, ``find(lookup)``, ``playing()``.

    Nothing is connected or scanned until first needed (start-up stays fast). ``sink_factory()`` makes the
    audio sink of a local player; ``publish(topic, payload)`` is needed by MQTT players.
    """

    def __init__(
        self,
        settings: MediaSettings,
        sink_factory: Callable[[], AudioSink] | None = None,
        publish: Callable[[str, str], Any] | None = None,
    ):
        self.settings = settings
        self._sink_factory = sink_factory
        self._publish = publish
        self._players: dict[str, Player] = {}
        self._library: Library | None = None
        self._lock = threading.RLock()

    def configured(self) -> bool:
        """Is there any music to play: a music folder, radio stations, a player or a remote backend?"""
        s = self.settings
        return s.backend != "local" or bool(s.players) or bool(s.radio_stations) or s.music_dir.is_dir()

    # ---- players -----------------------------------------------------------
    def resolve(self, where: str | None) -> PlayerConfig | None:
        """The configured player named ``where`` or standing in area ``where`` (None: the default)."""
        return self.settings.player_for(where)

    def knows(self, where: str) -> bool:
        """Is ``where`` a configured player name or area? (Always false when no players are configured.)"""
        return bool(where) and bool(self.settings.players) and self.settings.player_for(where) is not None

    def player_name(self, config: PlayerConfig | None) -> str:
        return config.name if config else self.settings.backend

    def player(self, config: PlayerConfig | None = None) -> Player:
        """The player for ``config`` (None = default), created on first use. Raises PlayerError."""
        from . import make_player

        key = self.player_name(config).lower()
        with self._lock:
            if key not in self._players:
                backend = config.backend if config else self.settings.backend
                sink = self._sink_factory() if backend == "local" and self._sink_factory else None
                self._players[key] = make_player(self.settings, config, sink=sink, publish=self._publish)
            return self._players[key]

    def peek(self, config: PlayerConfig | None = None) -> Player | None:
        """The player if it may be playing: one already in use, or a remote one (cheap to make); else None."""
        key = self.player_name(config).lower()
        backend = config.backend if config else self.settings.backend
        if key in self._players or backend != "local":
            return self.player(config)
        return None

    def playing(self) -> list[tuple[str, Player]]:
        """Players that are playing now: the ones already in use, plus the remote default (asked, errors ignored)."""
        found = []
        candidates = dict(self._players)
        if not candidates and self.settings.backend != "local" and not self.settings.players:
            try:
                candidates[self.settings.backend] = self.player(None)
            except PlayerError as e:
                log.info("cannot check the default player: %s", e)
        for name, player in candidates.items():
            try:
                if player.state is PlayState.PLAYING:
                    found.append((player.name or name, player))
            except (PlayerError, OSError) as e:
                log.info("cannot read the state of player %s: %s", name, e)
        return found

    # ---- library -----------------------------------------------------------
    def library(self) -> Library:
        """The searchable index (local folder, or MPD's database with the mpd backend), loaded once."""
        with self._lock:
            if self._library is None:
                from .library import LocalLibrary

                lib: Library
                if self.settings.backend == "mpd":
                    from .mpd_player import MpdPlayer

                    lib = MpdPlayer.from_settings(self.settings).library(self.settings.radio_stations)
                else:
                    lib = LocalLibrary.from_settings(self.settings)
                try:
                    lib.refresh()
                except OSError as e:
                    raise PlayerError(f"cannot read the music library: {e}") from e
                self._library = lib
            return self._library

    def find(self, lookup: Lookup) -> SearchResult:
        return self.library().find(lookup)

    def everything(self, query: str = "music") -> SearchResult:
        """The whole library as one result ("play some music"; ``name`` empty: everything)."""
        tracks = list(self.library().index.tracks)
        return SearchResult(
            query=query,
            kind="title" if tracks else "none",
            name="",
            tracks=tracks,
            score=100.0 if tracks else 0.0,
        )

    def close(self) -> None:
        with self._lock:
            for name, player in self._players.items():
                try:
                    player.close()
                except Exception:  # closing must not hide the real outcome
                    log.exception("closing player %s failed", name)
            self._players.clear()
