"""Latency from "play X" (library search + LocalPlayer.play) to the first audio sample at the sink.

Usage: python bench/play_latency.py [--music-dir DIR] [--runs 30] [--query "abbey road by the beatles"]
Without --music-dir a small tagged tone library is generated in a temp dir (needs sox).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.media import LocalLibrary, NullSink  # noqa: E402
from devices.media.local import LocalPlayer  # noqa: E402
from intents.media_query import describe, read_query


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--music-dir", type=Path)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--query", default="abby road by the beetles")
    ap.add_argument("--rate", type=int, default=22050)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    music = args.music_dir
    if music is None:
        from tests.fixtures_media import make_library

        music = make_library(Path(tmp.name) / "music")
    lib = LocalLibrary(music, Path(tmp.name) / "cache")
    lib.refresh()
    print(f"library: {len(lib.index)} tracks in {music}")
    lat, search_ms = [], []
    for _ in range(args.runs):
        sink = NullSink(args.rate, speed=1.0)
        player = LocalPlayer(sink)
        t0 = time.perf_counter()
        result = lib.find(read_query(args.query))
        t1 = time.perf_counter()
        if not result.found:
            sys.exit(f"nothing matches {args.query!r}")
        player.play(result)
        if not sink.first_write_event.wait(5):
            sys.exit("no audio within 5 s")
        lat.append((sink.first_write_at - t0) * 1000)
        search_ms.append((t1 - t0) * 1000)
        player.close()
    q = statistics.quantiles(lat, n=20)
    print(f"query {args.query!r} -> {describe(result)}")
    print(f"search:           p50 {statistics.median(search_ms):.1f} ms")
    print(f"play->first audio p50 {statistics.median(lat):.1f} ms  p95 {q[18]:.1f} ms  (n={len(lat)})")


if __name__ == "__main__":
    main()
