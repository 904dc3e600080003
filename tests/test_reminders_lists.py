"""Reminders fire with their message (also after a restart), recurring ones roll over; lists work on the
local store and on Home Assistant's to-do entities (a local HTTP server speaking HA's REST API)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time

import pytest

from tests.fixtures_ha import TOKEN, FakeHA
from tests.fixtures_service import cli, read_events

UTC = dt.UTC
SUNDAY = dt.datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def test_reminder_fires_with_its_message_after_a_restart(env, serving):
    serve = serving(env)
    assert cli(env, "ask", "remind me in 3 seconds to take the pizza out").startswith("Reminder set for")
    serve.proc.send_signal(signal.SIGKILL)  # nothing runs when it falls due
    serve.proc.wait()
    assert [r["message"] for r in json.loads(cli(env, "reminders", "--json"))] == ["take the pizza out"]
    time.sleep(3.5)  # it falls due while nothing runs

    serve = serving(env)
    try:
        fired = read_events(serve, 1)
    finally:
        serve.proc.terminate()
        assert serve.proc.wait(timeout=10) == 0
    assert [e["event"] for e in fired] == ["reminder_due"], fired
    assert fired[0]["message"] == "take the pizza out" and fired[0]["late_s"] > 0
    assert cli(env, "ask", "stop") == "Reminder stopped.\n"  # it rang until stopped; a one-off is then gone
    assert cli(env, "reminders") == "No reminders set.\n"


def test_recurring_reminder_rolls_over_and_snoozes(make_assistant):
    a = make_assistant()
    said = []
    a.listeners.append(said.append)
    assert (
        a.ask("remind me every monday at 8 am to put the bins out", now=SUNDAY).response
        == "Reminder set for 8 AM on Mondays: put the bins out."
    )
    monday = dt.datetime(2026, 11, 30, 8, 0, 1, tzinfo=UTC)
    assert a.tick(monday - dt.timedelta(seconds=2)) == []
    events = a.tick(monday)
    assert [(e.kind, e.message, e.spoken()) for e in events] == [
        ("reminder_due", "put the bins out", "Reminder: put the bins out.")
    ]
    assert said == events and a.tick(monday) == []  # fires once
    assert a.ask("snooze for 5 minutes", now=monday).response == "Snoozed for 5 minutes."
    assert a.tick(monday + dt.timedelta(minutes=4)) == []
    assert [e.message for e in a.tick(monday + dt.timedelta(minutes=5))] == ["put the bins out"]
    assert a.ask("stop", now=monday + dt.timedelta(minutes=6)).response == "Reminder stopped."
    [row] = a.store.reminders()
    assert row.state == "scheduled"
    assert dt.datetime.fromtimestamp(row.next_at, UTC) == dt.datetime(
        2026, 12, 7, 8, 0, tzinfo=UTC
    )  # next Monday
    # nobody stops it: it goes quiet after the ring timeout and still rolls over
    next_monday = dt.datetime(2026, 12, 7, 8, 0, 1, tzinfo=UTC)
    assert len(a.tick(next_monday)) == 1
    a.tick(next_monday + dt.timedelta(minutes=a.config.intents.ring_timeout_minutes, seconds=1))
    [row] = a.store.reminders()
    assert (row.state, dt.datetime.fromtimestamp(row.next_at, UTC).date()) == (
        "scheduled",
        dt.date(2026, 12, 14),
    )
    assert a.store.alarms() == []  # a reminder is not an alarm


def test_old_database_gets_the_reminder_column(tmp_path):
    import sqlite3

    from intents.store import Store

    db = sqlite3.connect(tmp_path / "assistant.db")
    db.executescript("""CREATE TABLE alarms (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, time TEXT NOT NULL,
        date TEXT, repeat TEXT NOT NULL, next_at REAL NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL,
        fired_at REAL);
        INSERT INTO alarms (name, time, repeat, next_at, state, created_at)
            VALUES ('taxi', '07:00', '[]', 1, 'scheduled', 0);""")
    db.commit()
    db.close()
    store = Store(tmp_path / "assistant.db")
    try:
        assert [(a.name, a.kind) for a in store.alarms()] == [("taxi", "alarm")] and store.reminders() == []
    finally:
        store.close()


def test_local_lists_persist(make_assistant):
    from devices.todo import LocalTodoLists

    a = make_assistant()
    assert a.services.lists.source == "local"
    assert (
        a.ask("add milk and eggs to the shopping list").response
        == "Added milk and eggs to your shopping list."
    )
    assert a.ask("add call the plumber to my to-do list").actions[0]["list"] == "to-do"
    assert a.ask("check milk off my shopping list").response == "Checked milk off your shopping list."
    a.services.lists.close()  # reopened from its file, as after a restart
    a.services.lists = LocalTodoLists(a.config.data_dir / "lists.db", a.config.lists)
    assert a.ask("what's on my shopping list").response == "Your shopping list has one item: eggs."
    assert a.ask("what's on my to-do list").response == "Your to-do list has one item: call the plumber."


class FakeTodoHA(FakeHA):
    """The fake HA REST API with two to-do entities and the todo services (get_items answers with
    ``?return_response``, as HA does)."""

    def __init__(self) -> None:
        super().__init__()
        self.todo: dict[str, list[dict]] = {"todo.shopping_list": [], "todo.chores": []}
        self.down = False
        self.states["todo.shopping_list"] = {
            **self.states["sun.sun"],
            "entity_id": "todo.shopping_list",
            "state": "0",
            "attributes": {"friendly_name": "Shopping List"},
        }
        self.states["todo.chores"] = {
            **self.states["sun.sun"],
            "entity_id": "todo.chores",
            "state": "0",
            "attributes": {"friendly_name": "Chores"},
        }

    def service(self, domain: str, service: str, body: dict, query: str):
        if domain != "todo":
            return None
        if self.down:
            return 502, {"message": "Bad gateway"}
        items = self.todo[body["entity_id"]]
        if service == "get_items" and query == "return_response":
            return 200, {"changed_states": [], "service_response": {body["entity_id"]: {"items": items}}}
        if service == "add_item":
            items.append({"summary": body["item"], "uid": f"uid-{len(items)}", "status": "needs_action"})
        elif service == "update_item":
            for item in items:
                if body["item"] in (item["uid"], item["summary"]):
                    item["status"] = body["status"]
        elif service == "remove_item":
            items[:] = [i for i in items if body["item"] not in (i["uid"], i["summary"])]
        else:
            return 400, {"message": f"unknown service todo.{service}"}
        return 200, []


@pytest.fixture
def todo_ha():
    fake = FakeTodoHA()
    yield fake
    fake.close()


def test_home_assistant_todo_lists(make_assistant, todo_ha):
    from devices.settings import HomeAssistantSettings

    a = make_assistant(home_assistant=HomeAssistantSettings(url=todo_ha.url, token=TOKEN))
    assert a.services.lists.source == "home_assistant"
    # names as said: "Shopping List" is the shopping list (intents.lists.list_name), and the default one
    assert a.services.lists.names() == {"shopping": "shopping", "chores": "chores"}
    assert a.services.lists.default() == "shopping"
    r = a.ask("add milk and eggs to the shopping list")
    assert r.response == "Added milk and eggs to your shopping list."
    assert [(c[1], c[2]) for c in todo_ha.calls if c[1] == "add_item"] == [
        ("add_item", {"entity_id": "todo.shopping_list", "item": "milk"}),
        ("add_item", {"entity_id": "todo.shopping_list", "item": "eggs"}),
    ]
    assert a.ask("add vacuum the stairs to my chores list").actions[0]["source"] == "home_assistant"
    assert a.ask("what's on my shopping list").response == "Your shopping list has 2 items: milk and eggs."
    assert a.ask("check milk off my shopping list").response == "Checked milk off your shopping list."
    assert todo_ha.calls[-1][1:] == (
        "update_item",
        {"entity_id": "todo.shopping_list", "item": "uid-0", "status": "completed"},
    )
    assert [i["status"] for i in todo_ha.todo["todo.shopping_list"]] == ["completed", "needs_action"]
    assert a.ask("remove eggs from the shopping list").response == "Removed eggs from your shopping list."
    assert todo_ha.todo["todo.shopping_list"] == [{"summary": "milk", "uid": "uid-0", "status": "completed"}]
    assert a.ask("what's on my chores list").response == "Your chores list has one item: vacuum the stairs."
    assert (
        a.ask("add milk to my to-do list").intent is None
    )  # HA has no such list; nothing added locally either
    todo_ha.down = True  # HA fails: a clear answer, nothing pretended
    assert a.ask("add bread to the shopping list").response == (
        "Sorry, I couldn't reach your shopping list: Home Assistant did not answer. Check that it is "
        "running and that home_assistant.url is right."
    )  # worded in intents/lists.py from the TodoError's problem code
