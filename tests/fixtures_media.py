"""Shared test helpers: tagged tone library, a real mpd, a stub HTTP server on 127.0.0.1.

Import explicitly: ``from tests.fixtures_media import ...`` (no conftest magic).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

# (relative path, title, artist, album, genre, track no, seconds, frequency)
LIBRARY = [
    (
        "The Beatles/Abbey Road/01 Come Together.flac",
        "Come Together",
        "The Beatles",
        "Abbey Road",
        "Rock",
        1,
        1.0,
        330,
    ),
    (
        "The Beatles/Abbey Road/02 Something.flac",
        "Something",
        "The Beatles",
        "Abbey Road",
        "Rock",
        2,
        1.0,
        392,
    ),
    ("The Beatles/Let It Be/06 Let It Be.ogg", "Let It Be", "The Beatles", "Let It Be", "Rock", 6, 1.0, 440),
    (
        "Miles Davis/Kind of Blue/01 So What.flac",
        "So What",
        "Miles Davis",
        "Kind of Blue",
        "Jazz",
        1,
        1.0,
        494,
    ),
    (
        "Miles Davis/Kind of Blue/02 Freddie Freeloader.flac",
        "Freddie Freeloader",
        "Miles Davis",
        "Kind of Blue",
        "Jazz",
        2,
        1.0,
        523,
    ),
    (
        "Brian Eno/Ambient 1/01 1-1.flac",
        "1/1",
        "Brian Eno",
        "Ambient 1: Music for Airports",
        "Ambient",
        1,
        1.0,
        262,
    ),
    (
        "Daft Punk/Discovery/01 One More Time.ogg",
        "One More Time",
        "Daft Punk",
        "Discovery",
        "Electronic",
        1,
        1.0,
        587,
    ),
    (
        "Daft Punk/Discovery/03 Digital Love.flac",
        "Digital Love",
        "Daft Punk",
        "Discovery",
        "Electronic",
        3,
        1.0,
        659,
    ),
]


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"required binary {name!r} not found on PATH; install it (apt-get install {name})")
    return path


def make_tone(path: Path, seconds: float, freq: float, rate: int = 44100, channels: int = 2) -> None:
    """A sine tone at -6 dBFS via sox."""
    require_binary("sox")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            str(rate),
            "-c",
            str(channels),
            "-b",
            "16",
            str(path),
            "synth",
            str(seconds),
            "sine",
            str(freq),
            "vol",
            "0.5",
        ],
        check=True,
        capture_output=True,
    )


def tag(path: Path, **tags: str) -> None:
    import mutagen

    f = mutagen.File(path, easy=True)
    if f.tags is None:
        f.add_tags()
    for k, v in tags.items():
        f[k] = v
    f.save()


def make_library(root: Path, with_playlist: bool = True) -> Path:
    """Generate the tagged tone library (+ 'Workout.m3u') under ``root``; returns root."""
    for rel, title, artist, album, genre, no, secs, freq in LIBRARY:
        p = root / rel
        make_tone(p, secs, freq)
        tag(p, title=title, artist=artist, album=album, genre=genre, tracknumber=str(no))
    if with_playlist:
        (root / "Workout.m3u").write_text(
            "#EXTM3U\n#EXTINF:1,Daft Punk - One More Time\nDaft Punk/Discovery/01 One More Time.ogg\n"
            "The Beatles/Abbey Road/01 Come Together.flac\nmissing/not-here.flac\n"
        )
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def run_mpd(workdir: Path, music_dir: Path) -> Iterator[int]:
    """Start a real mpd on 127.0.0.1:<free port> with a null (software-mixer) output; yields the port."""
    mpd = require_binary("mpd")
    port = free_port()
    (workdir / "playlists").mkdir(parents=True, exist_ok=True)
    conf = workdir / "mpd.conf"
    conf.write_text(f"""
music_directory "{music_dir}"
playlist_directory "{workdir / "playlists"}"
db_file "{workdir / "database"}"
log_file "{workdir / "mpd.log"}"
state_file "{workdir / "state"}"
bind_to_address "127.0.0.1"
port "{port}"
zeroconf_enabled "no"
auto_update "no"
audio_output {{
    type "null"
    name "null"
    mixer_type "software"
}}
""")
    proc = subprocess.Popen(
        [mpd, "--no-daemon", "--stderr", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        try:
            wait_port(port)
        except TimeoutError:
            proc.kill()
            out = proc.communicate()[0].decode(errors="replace")
            pytest.fail(f"mpd did not start: {out[-2000:]}")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------
# Stub HTTP server
# ---------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes/str -> raw
    delay_s: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]


Route = Callable[[Request], Reply] | Reply


@dataclass
class StubServer:
    """Routes ``(METHOD, path)`` to a Reply or a callable; records every request."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def stub_http_server() -> Iterator[StubServer]:
    stub = StubServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            req = Request(
                self.command,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                body,
                dict(self.headers),
            )
            stub.requests.append(req)
            route = stub.routes.get((self.command, parts.path))
            reply = (
                Reply(404, {"message": "not found"})
                if route is None
                else (route(req) if callable(route) else route)
            )
            if reply.delay_s:
                time.sleep(reply.delay_s)
            data = (
                reply.body
                if isinstance(reply.body, bytes)
                else (reply.body.encode() if isinstance(reply.body, str) else json.dumps(reply.body).encode())
            )
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
