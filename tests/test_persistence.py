"""Alarms and timers survive a SIGKILL: a real `assistant serve` process is killed and restarted."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time

from tests.fixtures_service import cli, read_events


def test_sigkill_keeps_everything_and_fires_what_fell_due(env, serving):
    real_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
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
    serve.proc.send_signal(signal.SIGKILL)
    serve.proc.wait()
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
        serve.proc.terminate()
        assert serve.proc.wait(timeout=10) == 0  # SIGTERM: clean exit
    assert [e["event"] for e in fired] == ["timer_finished"] and fired[0]["name"] == "egg"
    assert fired[0]["late_s"] >= 1.0  # says how late
    # the ringing alarm and egg timer are stopped by voice; the 1-hour timer is untouched
    assert cli(env, "ask", "stop") == "Alarm and timer stopped.\n"
    assert [t["name"] for t in json.loads(cli(env, "timers", "--json"))] == [None]
