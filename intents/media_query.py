"""Spoken music requests read into a library ``Lookup``, and search results said back.

What the user says around a name ("play some ... music please"), the kind a word asks for
("playlist", "radio"), "X by Y", and mood words ("something relaxing": genres) are English and
live here; devices/media matches names only.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from devices.media.models import Lookup, MatchKind, SearchResult, Track

from .normalize import name_key

# Mood word -> genres (lowercase). Documented in docs/media.md; media.moods adds to it or overrides.
MOODS: dict[str, list[str]] = {
    "relaxing": ["ambient", "classical", "jazz", "acoustic", "chillout", "lounge", "folk", "new age"],
    "calm": ["ambient", "classical", "acoustic", "chillout", "new age"],
    "chill": ["chillout", "lounge", "ambient", "trip-hop", "jazz", "lo-fi"],
    "upbeat": ["pop", "dance", "disco", "funk", "rock", "electronic", "ska"],
    "happy": ["pop", "funk", "disco", "reggae", "soul"],
    "energetic": ["rock", "electronic", "dance", "metal", "punk", "drum and bass"],
    "party": ["dance", "pop", "house", "disco", "hip-hop", "electronic"],
    "workout": ["electronic", "rock", "hip-hop", "dance", "metal"],
    "focus": ["classical", "ambient", "lo-fi", "instrumental", "soundtrack"],
    "sad": ["blues", "folk", "singer-songwriter", "soul"],
    "romantic": ["soul", "r&b", "jazz", "ballad"],
    "sleep": ["ambient", "classical", "new age"],
}
MOOD_ALIASES = {
    "relax": "relaxing",
    "relaxed": "relaxing",
    "mellow": "chill",
    "chilled": "chill",
    "quiet": "calm",
    "peaceful": "calm",
    "soothing": "calm",
    "lively": "upbeat",
    "cheerful": "happy",
    "fun": "happy",
    "energizing": "energetic",
    "dancing": "party",
    "dance party": "party",
    "gym": "workout",
    "exercise": "workout",
    "running": "workout",
    "concentration": "focus",
    "study": "focus",
    "studying": "focus",
    "melancholic": "sad",
    "romance": "romantic",
    "sleepy": "sleep",
    "bedtime": "sleep",
}

_FILLER = re.compile(
    r"^(?:please\s+)?(?:play|put on|start|listen to|i want to hear|queue)?\s*"
    r"(?:some|a bit of|a little|any|something|me|the|my|a)?\s*",
)
_TRAILER = re.compile(r"\s+(?:music|songs|tunes|tracks|please|for me)$")
_KIND_WORDS = re.compile(r"\b(playlist|radio station|radio|station|album|song|track|the album|the song)\b")


def read_query(
    query: str,
    kind: MatchKind | None = None,
    artist: str | None = None,
    moods: dict[str, list[str]] | None = None,
) -> Lookup:
    """What to look for in the library for ``query`` ("abby road by the beetles", "my jazz playlist",
    "something relaxing"). ``kind`` restricts the match; ``moods`` (media.moods) add to ``MOODS``."""
    said = query.strip()
    q = said.lower().strip(" .!?")
    q = _FILLER.sub("", q, count=1)
    q = _TRAILER.sub("", q)
    if kind is None:
        if re.search(r"\bplaylist\b", q):
            kind = "playlist"
        elif re.search(r"\b(radio|station)\b", q):
            kind = "station"
    q = _KIND_WORDS.sub(" ", q)
    if artist is None and " by " in f" {q} ":
        q, _, artist = q.rpartition(" by ")
    q = name_key(q)
    if not q and artist:  # "something by queen": the artist
        q, artist, kind = name_key(artist), None, kind or "artist"
    table = {**MOODS, **(moods or {})}
    mood = mood_of(q, table) if q else None
    return Lookup(said, q, kind, artist, mood, tuple(table[mood]) if mood else (), key=name_key)


def mood_of(words: str, moods: dict[str, list[str]]) -> str | None:
    """The mood ``words`` name ("relaxing", "something mellow" -> chill), also misheard ("relaxin")."""
    split = words.split()
    for w in [words, *split]:
        w = MOOD_ALIASES.get(w, w)
        if w in moods:
            return w
    # fuzzy on whole words only ("relaxin" -> relaxing); plain genre names are matched by the library
    for w in split:
        hit = process.extractOne(w, list(moods) + list(MOOD_ALIASES), scorer=fuzz.ratio, score_cutoff=85)
        if hit:
            return MOOD_ALIASES.get(hit[0], hit[0])
    return None


def track_label(track: Track) -> str:
    """Short spoken description: 'Title by Artist'."""
    title = track.title or track.uri.rsplit("/", 1)[-1]
    return f"{title} by {track.artist}" if track.artist else title


def describe(result: SearchResult) -> str:
    """Spoken description of what will play, or why nothing will."""
    if not result.found:
        return f"I couldn't find anything matching {result.query!r} in your music."
    if result.kind == "album" and result.artist:
        return f"{result.name} by {result.artist}"
    if result.kind == "title":
        return track_label(result.tracks[0])
    if result.kind == "playlist":
        return f"your {result.name} playlist"
    if result.kind == "station":
        return f"{result.name} radio"
    if result.kind in ("genre", "mood"):
        return f"some {result.name} music"
    return result.name
