"""A running `assistant serve` (real process, real HTTP on 127.0.0.1:<free port>) and the `assistant`
CLI as a subprocess (registered in tests/conftest.py). Fixture: ``serving(env)`` starts serve
processes that never outlive the test. Helpers (imported by name): ``start_serve``, ``cli``,
``read_events``, ``write_config``."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    proc: subprocess.Popen
    url: str
    ready: dict
    stderr: list[str] = field(default_factory=list)
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> Reply:
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method, headers=headers)
        timeout = int(os.environ.get("REQ_TIMEOUT", "120"))  # seconds; lower it to find a hang faster
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Reply(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, dict(e.headers), e.read())

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout)


def write_config(tmp_path: Path, config: dict) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def start_serve(env: dict, *args: str) -> Served:
    """Start `assistant serve`, wait for its "ready" line; the URL comes from there."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--interval", "0.1", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    threading.Thread(target=lambda: [errors.append(line) for line in proc.stderr], daemon=True).start()
    try:
        first = lines.get(timeout=60)
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"serve did not start: {''.join(errors)}") from None
    ready = json.loads(first)
    assert ready["event"] == "ready", ready
    return Served(proc, ready.get("url", ""), ready, errors, lines)


@pytest.fixture
def serving():
    """serving(env, *args) starts `assistant serve`; whatever the test's outcome, none outlives it."""
    started: list[Served] = []

    def start(env: dict, *args: str) -> Served:
        served = start_serve(env, *args)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def cli(env: dict, *args: str) -> str:
    """Run `assistant ARGS` to the end; its stdout (it must succeed)."""
    p = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def read_events(served: Served, count: int, timeout: float = 20.0) -> list[dict]:
    """Up to ``count`` JSON event lines from serve's stdout, waiting at most ``timeout`` seconds."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        try:
            events.append(json.loads(served.lines.get(timeout=0.2)))
        except queue.Empty:
            pass
    return events
