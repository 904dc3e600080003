"""Plain data types shared by the media library and players."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..names import NameKey, plain_key

MatchKind = Literal["artist", "album", "title", "genre", "mood", "playlist", "station", "none"]


@dataclass(frozen=True)
class Track:
    """One playable item: a local file, an MPD path or a stream URL."""

    uri: str
    title: str = ""
    artist: str = ""
    album: str = ""
    genre: str = ""
    duration_s: float = 0.0
    track_no: int = 0

    @property
    def is_stream(self) -> bool:
        return "://" in self.uri and not self.uri.startswith("file://")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class Lookup:
    """What to find in the library, read from the request by intents/media_query.py."""

    said: str  # the request's words (a result quotes them back)
    name: str  # what to match, as a search key (made with ``key``)
    kind: MatchKind | None = None  # only this kind of match
    artist: str | None = None  # album/title matches by this artist only
    mood: str | None = None  # the mood asked for ("relaxing") ...
    genres: tuple[str, ...] = ()  # ... and the genres it stands for
    key: NameKey = field(default=plain_key, compare=False, repr=False)  # how names are compared


@dataclass
class SearchResult:
    """What a library search found. ``kind == "none"`` means nothing matched."""

    query: str
    kind: MatchKind
    name: str = ""
    artist: str = ""
    tracks: list[Track] = field(default_factory=list)
    score: float = 0.0

    @property
    def found(self) -> bool:
        return self.kind != "none" and bool(self.tracks)

    @classmethod
    def nothing(cls, query: str) -> SearchResult:
        return cls(query=query, kind="none")
