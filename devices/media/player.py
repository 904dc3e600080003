"""The small player interface every backend implements."""

from __future__ import annotations

import abc
from enum import StrEnum
from typing import Any

from .models import SearchResult, Track


class PlayState(StrEnum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


class PlayerError(RuntimeError):
    """A player backend failed; the message is safe to speak/log."""


def as_tracks(items: SearchResult | Track | list[Track] | str) -> list[Track]:
    """Normalise what ``play`` accepts into a track list (a str is one URI or path)."""
    if isinstance(items, SearchResult):
        return list(items.tracks)
    if isinstance(items, Track):
        return [items]
    if isinstance(items, str):
        return [Track(uri=items, title=items)]
    return [Track(uri=i, title=i) if isinstance(i, str) else i for i in items]


def clamp_volume(v: float) -> int:
    return int(max(0, min(100, round(v))))


class Player(abc.ABC):
    """Transport + volume control of one player. Volume is 0-100."""

    name: str = "player"

    @abc.abstractmethod
    def play(self, items: SearchResult | Track | list[Track] | str, shuffle: bool = False) -> None:
        """Replace the queue with ``items`` and start playing."""

    @abc.abstractmethod
    def pause(self) -> None: ...

    @abc.abstractmethod
    def resume(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    @abc.abstractmethod
    def next(self) -> None: ...

    @abc.abstractmethod
    def previous(self) -> None: ...

    @abc.abstractmethod
    def set_volume(self, volume: int) -> int:
        """Set volume 0-100 (clamped); returns the new volume."""

    @abc.abstractmethod
    def get_volume(self) -> int: ...

    def change_volume(self, delta: int) -> int:
        """Relative change ('turn it up a bit' = +10); returns the new volume."""
        return self.set_volume(clamp_volume(self.get_volume() + delta))

    @abc.abstractmethod
    def mute(self) -> None: ...

    @abc.abstractmethod
    def unmute(self) -> None: ...

    @abc.abstractmethod
    def now_playing(self) -> dict[str, Any] | None:
        """{'title','artist','album','uri','state','volume',...} or None when idle."""

    @property
    @abc.abstractmethod
    def state(self) -> PlayState: ...

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract: most players hold nothing
        """Release resources (threads, connections)."""
