"""Alarms and timers survive a SIGKILL: a real `assistant serve` process is killed and restarted."""

from __future__ import annotations

import datetime as dt
import json
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest


def cli(env, *args):
    p = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture
def serving():
    """Start `assistant serve` processes; whatever the test's outcome, none outlives it."""
    procs = []

    def start(env):
        proc = start_serve(env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_serve(env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--interval", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.lines = queue.Queue()
    threading.Thread(target=lambda: [proc.lines.put(line) for line in proc.stdout], daemon=True).start()
    ready = json.loads(proc.lines.get(timeout=30))
    assert ready["event"] == "ready"
    return proc


def read_events(proc, count, timeout=20.0):
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        try:
            events.append(json.loads(proc.lines.get(timeout=0.2)))
        except queue.Empty:
            pass
    return events


def test_sigkill_keeps_everything_and_fires_what_fell_due(env, serving):
    real_now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    # An alarm a minute ago (set "before" it was due, by telling the CLI it is 3 minutes earlier).
    due = (real_now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    cli(
        env,
        "ask",
        f"set an alarm for {due:%H:%M} called bread",
        "--now",
        (due - dt.timedelta(minutes=2)).isoformat(),
    )
    cli(env, "ask", "set a timer for 1 hour")
    cli(env, "ask", "set an alarm for 7 am every weekday")

    serve = serving(env)
    fired = read_events(serve, 1)
    assert [e["event"] for e in fired] == ["alarm_fired"] and fired[0]["name"] == "bread"
    assert 0 < fired[0]["late_s"] < 200

    cli(env, "ask", "set an egg timer for 2 seconds")
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    time.sleep(3.5)  # the egg timer falls due while nothing runs

    timers = {t["name"]: t for t in json.loads(cli(env, "timers", "--json"))}
    assert set(timers) == {None, "egg"}
    assert 3500 < timers[None]["remaining_s"] < 3600  # the 1-hour timer kept counting
    alarms = json.loads(cli(env, "alarms", "--json"))
    assert {a["time"] for a in alarms} >= {"07:00"}

    serve = serving(env)
    try:
        fired = read_events(serve, 1)
    finally:
        serve.terminate()
        assert serve.wait(timeout=10) == 0  # SIGTERM: clean exit
    assert [e["event"] for e in fired] == ["timer_finished"] and fired[0]["name"] == "egg"
    assert fired[0]["late_s"] >= 1.0  # says how late
    # the ringing alarm and egg timer are stopped by voice; the 1-hour timer is untouched
    assert cli(env, "ask", "stop") == "Alarm and timer stopped.\n"
    assert [t["name"] for t in json.loads(cli(env, "timers", "--json"))] == [None]
