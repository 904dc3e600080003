"""Music library index and fuzzy search (local folder or MPD database).

``LibraryIndex.find(lookup)`` tolerates ASR errors via rapidfuzz. The ``Lookup`` comes from
intents/media_query.py, which reads the request ("abby road by the beetles", "something relaxing":
mood words stand for genres there); the index only matches names.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rapidfuzz import fuzz, process

from ..names import NameKey
from .models import Lookup, MatchKind, SearchResult, Track

log = logging.getLogger(__name__)

AUDIO_EXTS = {
    ".mp3",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".mp4",
    ".aac",
    ".wav",
    ".wma",
    ".aiff",
    ".aif",
}
PLAYLIST_EXTS = {".m3u", ".m3u8"}
CACHE_VERSION = 1

CUTOFF = 72.0  # minimum rapidfuzz WRatio to accept a match


@dataclass
class _Keys:
    """The index's names as search keys, made with one ``NameKey``."""

    artists: list[str]
    albums: list[str]
    titles: list[str]
    genres: list[str]
    playlists: list[str]
    stations: list[str]


class LibraryIndex:
    """Tracks + playlists + radio stations with fuzzy search."""

    def __init__(
        self,
        tracks: Iterable[Track] = (),
        playlists: dict[str, list[Track]] | None = None,
        stations: dict[str, str] | None = None,
    ):
        self.tracks: list[Track] = list(tracks)
        self.playlists: dict[str, list[Track]] = dict(playlists or {})
        self.stations: dict[str, str] = dict(stations or {})
        self._build()

    # ---- index -------------------------------------------------------------
    def _build(self) -> None:
        by_artist: dict[str, list[Track]] = {}
        by_album: dict[tuple[str, str], list[Track]] = {}
        by_genre: dict[str, list[Track]] = {}
        for t in self.tracks:
            if t.artist:
                by_artist.setdefault(t.artist, []).append(t)
            if t.album:
                by_album.setdefault((t.album, t.artist), []).append(t)
            for g in _split_genres(t.genre):
                by_genre.setdefault(g, []).append(t)
        self._by_artist = {a: _sorted(ts) for a, ts in by_artist.items()}
        self._by_album = {k: _sorted(ts) for k, ts in by_album.items()}
        self._by_genre = by_genre
        self._artist_names = list(self._by_artist)
        self._album_ids = list(self._by_album)
        self._genre_names = list(self._by_genre)
        self._playlist_names = list(self.playlists)
        self._station_names = list(self.stations)
        self._keys_by: dict[NameKey, _Keys] = {}

    def _keys(self, key: NameKey) -> _Keys:
        """The names as ``key`` makes them (made on the first search with that key)."""
        keys = self._keys_by.get(key)
        if keys is None:
            keys = self._keys_by[key] = _Keys(
                artists=[key(a) for a in self._artist_names],
                albums=[key(a) for a, _ in self._album_ids],
                titles=[key(t.title) for t in self.tracks],
                genres=[key(g) for g in self._genre_names],
                playlists=[key(p) for p in self._playlist_names],
                stations=[key(s) for s in self._station_names],
            )
        return keys

    def __len__(self) -> int:
        return len(self.tracks)

    # ---- search ------------------------------------------------------------
    def find(self, lookup: Lookup) -> SearchResult:
        """The best match for ``lookup``: ``kind`` restricts to one of
        artist/album/title/genre/mood/playlist/station, ``artist`` restricts album/title matches."""
        raw, q, kind, artist = lookup.said, lookup.name, lookup.kind, lookup.artist
        if not q and not artist:
            return SearchResult.nothing(raw)
        keys = self._keys(lookup.key)

        candidates: list[SearchResult] = []

        def want(k: str) -> bool:
            return kind is None or kind == k

        if want("playlist"):
            candidates.append(
                self._match_simple(
                    raw, q, "playlist", self._playlist_names, keys.playlists, lambda n: self.playlists[n]
                )
            )
        if want("station"):
            candidates.append(
                self._match_simple(
                    raw,
                    q,
                    "station",
                    self._station_names,
                    keys.stations,
                    lambda n: [Track(uri=self.stations[n], title=n)],
                )
            )
        if want("mood"):
            candidates.append(self._match_mood(raw, lookup.mood, lookup.genres))
        if artist:
            candidates.extend(self._match_with_artist(raw, q, artist, kind, lookup.key))
        else:
            if want("artist"):
                candidates.append(
                    self._match_simple(
                        raw, q, "artist", self._artist_names, keys.artists, lambda n: self._by_artist[n]
                    )
                )
            if want("album"):
                candidates.append(self._match_album(raw, q, None, keys))
            if want("genre"):
                candidates.append(
                    self._match_simple(
                        raw, q, "genre", self._genre_names, keys.genres, lambda n: self._by_genre[n]
                    )
                )
            if want("title"):
                candidates.append(self._match_title(raw, q, None, keys))
        # best score wins; ties keep the earlier (priority) kind
        best = SearchResult.nothing(raw)
        for c in candidates:
            if c.found and c.score > best.score:
                best = c
        log.debug("search %r -> %s %r (%.0f)", raw, best.kind, best.name, best.score)
        return best

    def _match_simple(
        self,
        raw: str,
        q: str,
        kind: MatchKind,
        names: list[str],
        keys: list[str],
        tracks_of: Callable[[str], list[Track]],
    ) -> SearchResult:
        hit = _best(q, keys)
        if hit is None:
            return SearchResult.nothing(raw)
        score, i = hit
        name = names[i]
        return SearchResult(query=raw, kind=kind, name=name, tracks=list(tracks_of(name)), score=score)

    def _match_album(self, raw: str, q: str, artist_names: set[str] | None, keys: _Keys) -> SearchResult:
        idx = [i for i, (_, a) in enumerate(self._album_ids) if artist_names is None or a in artist_names]
        hit = _best(q, [keys.albums[i] for i in idx])
        if hit is None:
            return SearchResult.nothing(raw)
        score, j = hit
        album, art = self._album_ids[idx[j]]
        return SearchResult(
            query=raw,
            kind="album",
            name=album,
            artist=art,
            tracks=list(self._by_album[(album, art)]),
            score=score,
        )

    def _match_title(self, raw: str, q: str, artist_names: set[str] | None, keys: _Keys) -> SearchResult:
        idx = [i for i, t in enumerate(self.tracks) if artist_names is None or t.artist in artist_names]
        hit = _best(q, [keys.titles[i] for i in idx])
        if hit is None:
            return SearchResult.nothing(raw)
        score, j = hit
        t = self.tracks[idx[j]]
        # a title match should not outrank an equally good artist/album match
        return SearchResult(
            query=raw, kind="title", name=t.title, artist=t.artist, tracks=[t], score=score - 0.5
        )

    def _match_with_artist(
        self, raw: str, q: str, artist: str, kind: str | None, key: NameKey
    ) -> list[SearchResult]:
        keys = self._keys(key)
        scored = process.extract(key(artist), keys.artists, scorer=fuzz.WRatio, score_cutoff=CUTOFF, limit=5)
        if not scored:
            return []
        top = scored[0][1]
        names = {self._artist_names[i] for _, s, i in scored if s >= top - 5}
        out = []
        if kind in (None, "album"):
            out.append(self._match_album(raw, q, names, keys))
        if kind in (None, "title"):
            out.append(self._match_title(raw, q, names, keys))
        return out

    def _match_mood(self, raw: str, mood: str | None, genres: tuple[str, ...]) -> SearchResult:
        if mood is None:
            return SearchResult.nothing(raw)
        wanted = set(genres)
        tracks = [t for g, ts in self._by_genre.items() if g.lower() in wanted for t in ts]
        if not tracks:
            return SearchResult.nothing(raw)
        return SearchResult(query=raw, kind="mood", name=mood, tracks=tracks, score=99.0)

    # ---- serialisation -----------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "tracks": [t.to_dict() for t in self.tracks],
            "playlists": {n: [t.to_dict() for t in ts] for n, ts in self.playlists.items()},
        }


def _best(q: str, keys: list[str]) -> tuple[float, int] | None:
    if not keys or not q:
        return None
    hit = process.extractOne(q, keys, scorer=fuzz.WRatio, score_cutoff=CUTOFF)
    if hit is None:
        return None
    _, score, i = hit
    # penalise very short/very different lengths that WRatio's partial matching favours
    if len(keys[i]) > 2 * len(q) + 4 and score < 95:
        score -= 10
    return (score, i) if score >= CUTOFF else None


def _split_genres(genre: str) -> list[str]:
    return [g.strip() for g in re.split(r"[;/,]", genre) if g.strip()]


def _sorted(ts: list[Track]) -> list[Track]:
    return sorted(ts, key=lambda t: (t.album.lower(), t.track_no, t.title.lower()))


# ---------------------------------------------------------------------------
# Local folder
# ---------------------------------------------------------------------------


def read_tags(path: Path) -> Track:
    """Read artist/album/title/genre/duration with mutagen; falls back to the file name."""
    import mutagen

    title = artist = album = genre = ""
    duration = 0.0
    track_no = 0
    try:
        f = mutagen.File(path, easy=True)
    except Exception as e:  # corrupt file: index by name
        log.warning("cannot read tags of %s: %s", path, e)
        f = None
    if f is not None:
        tags = f.tags or {}

        def first(key: str) -> str:
            try:
                v = tags.get(key)
            except Exception:
                return ""
            return str(v[0]).strip() if v else ""

        title, artist, album, genre = first("title"), first("artist"), first("album"), first("genre")
        artist = artist or first("albumartist")
        m = re.match(r"\d+", first("tracknumber"))
        track_no = int(m.group()) if m else 0
        duration = float(getattr(f.info, "length", 0.0) or 0.0)
    return Track(
        uri=str(path),
        title=title or path.stem,
        artist=artist,
        album=album,
        genre=genre,
        duration_s=round(duration, 3),
        track_no=track_no,
    )


def parse_m3u(path: Path, resolve: Callable[[str], Track | None]) -> list[Track]:
    """Parse an .m3u/.m3u8 playlist; entries are resolved relative to the playlist's folder."""
    out: list[Track] = []
    text = path.read_text(encoding="utf-8" if path.suffix == ".m3u8" else "latin-1", errors="replace")
    for line in text.splitlines():
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if "://" in line and not line.startswith("file://"):
            out.append(Track(uri=line, title=line))
            continue
        p = Path(line.removeprefix("file://"))
        if not p.is_absolute():
            p = path.parent / p
        t = resolve(str(p.resolve()))
        if t is not None:
            out.append(t)
        else:
            log.warning("playlist %s: %s not in the library, skipped", path.name, line)
    return out


class Library(Protocol):
    """What the media service needs of a library: a searchable index, refreshed on demand."""

    index: LibraryIndex

    def refresh(self) -> LibraryIndex: ...

    def find(self, lookup: Lookup) -> SearchResult: ...


class LocalLibrary:
    """Index of a music folder, cached as JSON and refreshed by file mtime/size."""

    def __init__(
        self,
        music_dir: Path | str,
        cache_dir: Path | str | None = None,
        stations: dict[str, str] | None = None,
    ):
        self.music_dir = Path(music_dir).expanduser()
        self.cache_file = Path(cache_dir).expanduser() / "library.json" if cache_dir else None
        self.stations = dict(stations or {})
        self.index = LibraryIndex(stations=self.stations)
        self.last_scan: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> LocalLibrary:
        return cls(settings.music_dir, settings.cache_dir, settings.radio_stations)

    def refresh(self) -> LibraryIndex:
        """Rescan the folder; only files whose mtime/size changed are re-tagged."""
        t0 = time.perf_counter()
        cached = self._load_cache()
        entries: dict[str, dict[str, Any]] = {}
        playlists: list[Path] = []
        reread = 0
        if not self.music_dir.is_dir():
            log.warning(
                "music folder %s does not exist; set media.music_dir to your music folder", self.music_dir
            )
        for root, _dirs, files in os.walk(self.music_dir):
            for fn in files:
                p = Path(root, fn)
                ext = p.suffix.lower()
                if ext in PLAYLIST_EXTS:
                    playlists.append(p)
                    continue
                if ext not in AUDIO_EXTS:
                    continue
                try:
                    st = p.stat()
                except OSError:
                    continue
                key = str(p.resolve())
                old = cached.get(key)
                if old and old["mtime"] == st.st_mtime_ns and old["size"] == st.st_size:
                    entries[key] = old
                else:
                    reread += 1
                    entries[key] = {
                        "mtime": st.st_mtime_ns,
                        "size": st.st_size,
                        "track": read_tags(p).to_dict() | {"uri": key},
                    }
        tracks = {k: Track.from_dict(v["track"]) for k, v in entries.items()}
        pls = {p.stem: parse_m3u(p, tracks.get) for p in sorted(playlists)}
        self.index = LibraryIndex(sorted(tracks.values(), key=lambda t: t.uri), pls, self.stations)
        self.last_scan = {"tracks": len(tracks), "reread": reread, "playlists": len(pls)}
        if reread or len(entries) != len(cached):
            self._save_cache(entries)
        log.info(
            "library: %d tracks (%d re-read), %d playlists in %.2fs",
            len(tracks),
            reread,
            len(pls),
            time.perf_counter() - t0,
        )
        return self.index

    def find(self, lookup: Lookup) -> SearchResult:
        return self.index.find(lookup)

    def _load_cache(self) -> dict[str, dict[str, Any]]:
        if not self.cache_file or not self.cache_file.exists():
            return {}
        try:
            data = json.loads(self.cache_file.read_text())
            if data.get("version") != CACHE_VERSION or data.get("music_dir") != str(self.music_dir):
                return {}
            return data["files"]
        except (OSError, ValueError, KeyError) as e:
            log.warning("ignoring unreadable library cache %s: %s", self.cache_file, e)
            return {}

    def _save_cache(self, entries: dict[str, dict[str, Any]]) -> None:
        if not self.cache_file:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"version": CACHE_VERSION, "music_dir": str(self.music_dir), "files": entries})
        )
        tmp.replace(self.cache_file)


# ---------------------------------------------------------------------------
# MPD database
# ---------------------------------------------------------------------------


def _mpd_str(v: Any) -> str:
    if isinstance(v, list):
        v = v[0] if v else ""
    return str(v or "").strip()


def mpd_track(d: dict[str, Any]) -> Track:
    """Convert an MPD song dict (from listallinfo/playlistinfo) to a Track."""
    m = re.match(r"\d+", _mpd_str(d.get("track")))
    dur = _mpd_str(d.get("duration") or d.get("time")) or "0"
    f = _mpd_str(d.get("file"))
    return Track(
        uri=f,
        title=_mpd_str(d.get("title")) or Path(f).stem,
        artist=_mpd_str(d.get("artist") or d.get("albumartist")),
        album=_mpd_str(d.get("album")),
        genre=_mpd_str(d.get("genre")),
        duration_s=float(dur),
        track_no=int(m.group()) if m else 0,
    )


class MpdLibrary:
    """The same search over MPD's database (``listallinfo`` + stored playlists)."""

    def __init__(
        self,
        connect: Callable[[], Any],
        stations: dict[str, str] | None = None,
    ):
        self._connect = connect  # returns a context manager yielding a connected MPDClient
        self.stations = dict(stations or {})
        self.index = LibraryIndex(stations=self.stations)

    def refresh(self) -> LibraryIndex:
        with self._connect() as c:
            tracks = [mpd_track(d) for d in c.listallinfo() if "file" in d]
            pls = {}
            for p in c.listplaylists():
                pls[p["playlist"]] = [mpd_track(d) for d in c.listplaylistinfo(p["playlist"])]
        self.index = LibraryIndex(tracks, pls, self.stations)
        return self.index

    def find(self, lookup: Lookup) -> SearchResult:
        return self.index.find(lookup)
