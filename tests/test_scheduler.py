"""Alarms and timers as time passes: ringing, snooze, stop, repeat, ring timeout, DST, restarts."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from assistant.config import load_config
from assistant.core import Assistant

T0 = dt.datetime(2026, 11, 29, 22, 0)  # a Sunday


def at(assistant, naive):
    return assistant.localize(naive)


def test_alarm_rings_snoozes_and_stops(make_assistant):
    a = make_assistant()
    heard = []
    a.listeners.append(heard.append)
    assert a.ask("wake me up at 7 am", now=T0).response == "Alarm set for 7 AM tomorrow."
    assert a.tick(at(a, T0.replace(hour=23))) == []
    (fired,) = a.tick(at(a, dt.datetime(2026, 11, 30, 7, 0, 30)))
    assert heard == [fired] and fired.kind == "alarm_fired" and round(fired.late_s) == 30
    assert a.tick(at(a, dt.datetime(2026, 11, 30, 7, 1))) == []  # rings once, not every tick
    r = a.ask("snooze", now=dt.datetime(2026, 11, 30, 7, 1))
    assert r.response == "Snoozed for 9 minutes." and r.actions[0]["type"] == "alarm_snooze"
    assert a.tick(at(a, dt.datetime(2026, 11, 30, 7, 9, 59))) == []
    assert len(a.tick(at(a, dt.datetime(2026, 11, 30, 7, 10)))) == 1
    assert (
        a.ask("snooze for 5 minutes", now=dt.datetime(2026, 11, 30, 7, 10)).response
        == "Snoozed for 5 minutes."
    )
    a.tick(at(a, dt.datetime(2026, 11, 30, 7, 15)))
    assert a.ask("stop the alarm", now=dt.datetime(2026, 11, 30, 7, 16)).response == "Alarm stopped."
    assert a.store.alarms() == []  # a one-off alarm is gone once stopped
    assert a.ask("stop", now=dt.datetime(2026, 11, 30, 7, 17)).response == "Nothing is ringing."


def test_repeating_alarm_rearms_after_stop_and_after_ring_timeout(make_assistant):
    a = make_assistant()
    a.ask("set an alarm for 7 am every weekday", now=T0)
    a.tick(at(a, dt.datetime(2026, 11, 30, 7, 0)))  # Monday
    a.ask("turn off the alarm", now=dt.datetime(2026, 11, 30, 7, 1))
    (alarm,) = a.store.alarms()
    assert alarm.state == "scheduled"
    assert dt.datetime.fromtimestamp(alarm.next_at, a.tz) == at(a, dt.datetime(2026, 12, 1, 7, 0))
    a.tick(at(a, dt.datetime(2026, 12, 1, 7, 0)))
    a.tick(at(a, dt.datetime(2026, 12, 1, 7, 10)))  # nobody stopped it: quiet after 10 minutes
    (alarm,) = a.store.alarms()
    assert alarm.state == "scheduled"
    assert dt.datetime.fromtimestamp(alarm.next_at, a.tz) == at(a, dt.datetime(2026, 12, 2, 7, 0))
    # Friday's ring is followed by Monday's
    a.tick(at(a, dt.datetime(2026, 12, 4, 7, 0)))
    a.ask("stop", now=dt.datetime(2026, 12, 4, 7, 0))
    assert dt.datetime.fromtimestamp(a.store.alarms()[0].next_at, a.tz).date() == dt.date(2026, 12, 7)


def test_alarm_across_daylight_saving_keeps_wall_clock(make_assistant):
    a = make_assistant(timezone="Europe/Berlin")
    a.ask("set an alarm for 7 am every day", now=dt.datetime(2027, 3, 27, 8, 0))
    (alarm,) = a.store.alarms()
    ring = dt.datetime.fromtimestamp(alarm.next_at, zoneinfo.ZoneInfo("Europe/Berlin"))
    assert (ring.date(), ring.hour, ring.minute) == (dt.date(2027, 3, 28), 7, 0)  # the DST morning
    assert ring.utcoffset() == dt.timedelta(hours=2)


def test_timer_finishes_and_pause_survives_restart(tmp_path):
    env = {"ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_TZ": "UTC"}
    a = Assistant(load_config(env=env))
    a.ask("set a pasta timer for 10 minutes", now=T0)
    a.ask("set an egg timer for 5 minutes", now=T0)
    a.ask("pause the pasta timer", now=T0 + dt.timedelta(minutes=2))
    a.close()
    b = Assistant(load_config(env=env))  # a restart
    (done,) = b.tick(b.localize(T0 + dt.timedelta(minutes=30)))
    assert done.kind == "timer_finished" and done.name == "egg" and round(done.late_s) == 25 * 60
    r = b.ask("how long is left on the pasta timer", now=T0 + dt.timedelta(minutes=30))
    assert r.response == "8 minutes left on the pasta timer, paused."
    b.ask("resume the pasta timer", now=T0 + dt.timedelta(minutes=30))
    assert b.ask("how much time is left on the pasta timer", now=T0 + dt.timedelta(minutes=31)).response == (
        "7 minutes left on the pasta timer."
    )
    b.close()


def test_tool_definitions_come_from_the_schemas(make_assistant):
    a = make_assistant()
    tool = a.schemas["SetAlarm"].tool()
    assert tool["function"]["name"] == "SetAlarm" and tool["function"]["description"]
    props = tool["function"]["parameters"]["properties"]
    assert {"time", "date", "repeat", "name"} <= set(props)
    assert a.schemas["HassStartTimer"].tool()["function"]["parameters"]["properties"]["minutes"]
    for name, schema in a.schemas.items():
        assert schema.tool()["function"]["name"] == name
