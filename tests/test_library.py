"""Library index: tags via mutagen, JSON cache by mtime, playlists, fuzzy/mood search, latency."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from devices.media import LibraryIndex, LocalLibrary, MediaSettings, Track
from intents.media_query import describe, read_query
from tests.fixtures_media import make_library


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_library(tmp_path_factory.mktemp("music"))


@pytest.fixture
def library(music: Path, tmp_path: Path) -> LocalLibrary:
    lib = LocalLibrary(music, tmp_path / "cache", stations={"Jazz FM": "http://127.0.0.1:9/jazz.mp3"})
    lib.refresh()
    return lib


def test_index_reads_tags_and_playlist(library: LocalLibrary) -> None:
    assert len(library.index) == 8
    so_what = next(t for t in library.index.tracks if t.title == "So What")
    assert (so_what.artist, so_what.album, so_what.genre, so_what.track_no) == (
        "Miles Davis",
        "Kind of Blue",
        "Jazz",
        1,
    )
    assert so_what.duration_s == pytest.approx(1.0, abs=0.05)
    workout = library.index.playlists["Workout"]
    assert [t.title for t in workout] == ["One More Time", "Come Together"]  # missing entry skipped


@pytest.mark.parametrize(
    "query, kind, name, first_title",
    [
        ("abby road by the beetles", "album", "Abbey Road", "Come Together"),
        ("put on Abbey Road by the Beatles", "album", "Abbey Road", "Come Together"),
        ("some jazz", "genre", "Jazz", None),
        ("play my workout playlist", "playlist", "Workout", "One More Time"),
        ("miles davies", "artist", "Miles Davis", "So What"),
        ("digital loves", "title", "Digital Love", "Digital Love"),
        ("let it be by the beatles", "album", "Let It Be", "Let It Be"),
        ("jazz fm radio", "station", "Jazz FM", "Jazz FM"),
        ("daft punk", "artist", "Daft Punk", "One More Time"),
    ],
)
def test_fuzzy_search(
    library: LocalLibrary, query: str, kind: str, name: str, first_title: str | None
) -> None:
    r = library.find(read_query(query))
    assert r.found, r
    assert (r.kind, r.name) == (kind, name)
    if first_title:
        assert r.tracks[0].title == first_title
    if kind == "genre":
        assert {t.genre for t in r.tracks} == {"Jazz"}


def test_describe_album(library: LocalLibrary) -> None:
    assert describe(library.find(read_query("abby road by the beetles"))) == "Abbey Road by The Beatles"


@pytest.mark.parametrize(
    "query, genres",
    [
        ("something relaxing", {"Jazz", "Ambient"}),
        ("some upbeat music", {"Rock", "Electronic"}),
    ],
)
def test_mood_maps_to_genres(library: LocalLibrary, query: str, genres: set[str]) -> None:
    r = library.find(read_query(query))
    assert r.kind == "mood"
    assert {t.genre for t in r.tracks} == genres


def test_mood_override_from_settings(music: Path, tmp_path: Path) -> None:
    s = MediaSettings(music_dir=music, cache_dir=tmp_path, moods={"Relaxing": ["Electronic"]})
    lib = LocalLibrary.from_settings(s)
    lib.refresh()
    assert {t.genre for t in lib.find(read_query("something relaxing", moods=s.moods)).tracks} == {
        "Electronic"
    }


@pytest.mark.parametrize("query", ["zzqx klmnop", "the rolling stones", ""])
def test_nothing_matches(library: LocalLibrary, query: str) -> None:
    r = library.find(read_query(query))
    assert not r.found and r.kind == "none" and r.tracks == []
    assert "couldn't find" in describe(r)


def test_cache_reused_and_refreshed_on_change(music: Path, tmp_path: Path) -> None:
    lib = LocalLibrary(music, tmp_path / "c")
    lib.refresh()
    assert lib.last_scan["reread"] == 8 and (tmp_path / "c" / "library.json").exists()
    lib2 = LocalLibrary(music, tmp_path / "c")
    lib2.refresh()
    assert lib2.last_scan["reread"] == 0 and len(lib2.index) == 8
    # change one file's tags -> only it is re-read, new title searchable
    from tests.fixtures_media import tag

    f = music / "Brian Eno/Ambient 1/01 1-1.flac"
    tag(f, title="Airport Lounge")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    lib2.refresh()
    assert lib2.last_scan["reread"] == 1
    assert lib2.find(read_query("airport lounge")).tracks[0].uri == str(f.resolve())
    tag(f, title="1/1")


def test_search_latency_5000_tracks() -> None:
    rng = random.Random(1)
    syll = ["ka", "lo", "mi", "ren", "tos", "va", "dri", "sun", "mar", "bel", "no", "qui"]

    def word() -> str:
        return "".join(rng.choice(syll) for _ in range(rng.randint(2, 4)))

    tracks = [
        Track(
            uri=f"/m/{i}.flac",
            title=f"{word()} {word()}",
            artist=f"Artist {i % 400} {word()}",
            album=f"{word()} {word()}",
            genre=rng.choice(["Rock", "Jazz", "Pop", "Ambient", "Folk"]),
            track_no=i % 12,
        )
        for i in range(4998)
    ]
    tracks += [
        Track(
            uri="/m/ar1.flac", title="Come Together", artist="The Beatles", album="Abbey Road", genre="Rock"
        ),
        Track(uri="/m/ar2.flac", title="Something", artist="The Beatles", album="Abbey Road", genre="Rock"),
    ]
    idx = LibraryIndex(tracks)
    queries = [
        "abby road by the beetles",
        "some jazz",
        "something relaxing",
        "come togeter",
        "xq zzv",
        "artist 12",
    ]
    t0 = time.perf_counter()
    n = 0
    for _ in range(3):
        for q in queries:
            idx.find(read_query(q))
            n += 1
    per = (time.perf_counter() - t0) / n
    print(f"\nsearch latency on {len(idx)} tracks: {per * 1000:.1f} ms/query")
    assert idx.find(read_query("abby road by the beetles")).name == "Abbey Road"
    assert per < 0.25, f"search too slow: {per * 1000:.0f} ms/query"
