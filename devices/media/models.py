"""Plain data types shared by the media library and players."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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

    def label(self) -> str:
        """Short spoken description: 'Title by Artist'."""
        title = self.title or self.uri.rsplit("/", 1)[-1]
        return f"{title} by {self.artist}" if self.artist else title

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


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

    def describe(self) -> str:
        """Spoken description of what will play, or why nothing will."""
        if not self.found:
            return f"I couldn't find anything matching {self.query!r} in your music."
        if self.kind == "album" and self.artist:
            return f"{self.name} by {self.artist}"
        if self.kind == "title":
            return self.tracks[0].label()
        if self.kind == "playlist":
            return f"your {self.name} playlist"
        if self.kind == "station":
            return f"{self.name} radio"
        if self.kind in ("genre", "mood"):
            return f"some {self.name} music"
        return self.name

    @classmethod
    def nothing(cls, query: str) -> SearchResult:
        return cls(query=query, kind="none")
