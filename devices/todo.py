"""To-do and shopping lists: a local SQLite store, or Home Assistant's to-do entities (``todo.*``).

Both backends offer the same small interface (``TodoLists``); the intent handlers in
``intents/lists.py`` only see that. Lists are named as the user says them ("shopping", "to-do");
Home Assistant's are its ``todo`` entities by friendly name ("Shopping List" -> "shopping").
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

log = logging.getLogger(__name__)


class ListsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "local", "home_assistant"] = Field(
        "auto",
        description="auto = Home Assistant's to-do entities when home_assistant is configured, else local",
    )
    local: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "shopping": ["grocery", "groceries"],
            "to-do": ["to do", "todo", "task", "tasks"],
        },
        description="Local lists (first = default) and other names they answer to",
    )


@dataclass
class TodoItem:
    summary: str
    done: bool = False
    uid: str | None = None


TodoProblem = Literal["cannot_open", "no_such_list", "refused", "unreachable"]


class TodoError(RuntimeError):
    """A list could not be read or changed. ``problem`` says what (intents/lists.py words it for the
    user); the message, for the log, says what to do."""

    def __init__(self, problem: TodoProblem, message: str):
        super().__init__(message)
        self.problem = problem


class TodoLists(Protocol):
    source: str  # "local" | "home_assistant"

    def names(self) -> dict[str, str]: ...  # spoken name -> list name (aliases included)
    def default(self) -> str | None: ...
    def items(self, name: str) -> list[TodoItem]: ...  # not done first, in the order added
    def add(self, name: str, summary: str) -> None: ...
    def complete(self, name: str, item: TodoItem) -> None: ...
    def remove(self, name: str, item: TodoItem) -> None: ...


def find_item(items: list[TodoItem], said: str) -> TodoItem | None:
    """The open item ``said`` means (tolerant of plurals and small mishearings), else None."""
    open_items = [i for i in items if not i.done]
    choices = {idx: i.summary.lower() for idx, i in enumerate(open_items)}
    best = process.extractOne(said.lower(), choices, scorer=fuzz.token_sort_ratio, score_cutoff=75)
    return open_items[best[2]] if best else None


class _SlotLists:
    def names(self) -> dict[str, str]:  # pragma: no cover - both backends override it
        raise NotImplementedError

    def slot_lists(self) -> dict[str, list[Any]]:
        """The recogniser's ``name`` entries for the lists, with the context HA's list templates require."""
        return {"name": [(spoken, name, {"domain": "todo"}) for spoken, name in self.names().items()]}


# ---- local ---------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    list TEXT NOT NULL,
    summary TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    done_at REAL
);
"""


class LocalTodoLists(_SlotLists):
    """Lists in one SQLite file; every change is committed before the answer."""

    source = "local"

    def __init__(self, path: Path, settings: ListsSettings | None = None):
        self.settings = settings or ListsSettings()
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise TodoError(
                "cannot_open",
                f"cannot open the list database {path}: {exc}; set data_dir to a writable folder",
            ) from exc
        self._lock = threading.Lock()

    def names(self) -> dict[str, str]:
        out = {}
        for name, aliases in self.settings.local.items():
            for spoken in [name, *aliases]:
                out[spoken] = name
        return out

    def default(self) -> str | None:
        return next(iter(self.settings.local), None)

    def items(self, name: str) -> list[TodoItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, summary, done FROM items WHERE list=? ORDER BY done, id", (name,)
            ).fetchall()
        return [TodoItem(summary, bool(done), str(uid)) for uid, summary, done in rows]

    def add(self, name: str, summary: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO items (list, summary, created_at) VALUES (?, ?, ?)", (name, summary, time.time())
            )

    def complete(self, name: str, item: TodoItem) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE items SET done=1, done_at=? WHERE id=? AND list=?", (time.time(), item.uid, name)
            )

    def remove(self, name: str, item: TodoItem) -> None:
        with self._lock:
            self._db.execute("DELETE FROM items WHERE id=? AND list=?", (item.uid, name))

    def clear(self) -> None:
        """Forget every item of every list."""
        with self._lock:
            self._db.execute("DELETE FROM items")

    def close(self) -> None:
        self._db.close()


# ---- Home Assistant ------------------------------------------------------------------------


class HomeAssistantTodoLists(_SlotLists):
    """Home Assistant's ``todo`` entities over its REST API (``todo.add_item``, ``todo.update_item``,
    ``todo.remove_item``, ``todo.get_items``). ``backend`` is a started ``HomeAssistantBackend``; the
    entities are the ones it saw when it loaded the states."""

    source = "home_assistant"
    DEFAULT = "todo.shopping_list"  # the list of HA's Shopping list integration, whatever its name

    def __init__(self, backend: Any, list_name: Callable[[str], str] = str.strip):
        """``list_name`` turns an HA name (lower case: its friendly name, or its entity id's words) into
        the list's name as said; intents/ gives one that knows the language ("shopping list" ->
        "shopping")."""
        self.backend = backend
        self.list_name = list_name

    def _entities(self) -> dict[str, str]:
        """entity_id -> list name ('Shopping List' -> 'shopping')."""
        out = {}
        for entity_id, friendly in self.backend.todo_lists.items():
            name = friendly.lower().strip()
            out[entity_id] = self.list_name(name) or name
        return out

    def names(self) -> dict[str, str]:
        out = {}
        for entity_id, name in self._entities().items():
            out[name] = name
            out.setdefault(self.list_name(entity_id.split(".", 1)[1].replace("_", " ")), name)
        return out

    def default(self) -> str | None:
        entities = self._entities()
        return entities.get(self.DEFAULT) or next(iter(entities.values()), None)

    def _entity(self, name: str) -> str:
        for entity_id, list_name in self._entities().items():
            if list_name == name:
                return entity_id
        raise TodoError("no_such_list", f"Home Assistant has no to-do list called {name!r}")

    def _call(self, service: str, data: dict[str, Any], response: bool = False) -> Any:
        from devices.homeassistant import HomeAssistantAuthError, HomeAssistantError

        try:
            if response:
                return self.backend.call_service_with_response("todo", service, data)
            return self.backend.call_service("todo", service, data)
        except HomeAssistantError as e:
            raise TodoError(
                "refused" if isinstance(e, HomeAssistantAuthError) else "unreachable", str(e)
            ) from e

    def items(self, name: str) -> list[TodoItem]:
        entity_id = self._entity(name)
        answer = self._call("get_items", {"entity_id": entity_id}, response=True) or {}
        raw = (answer.get(entity_id) or {}).get("items", [])
        items = [
            TodoItem(str(i.get("summary", "")), i.get("status") == "completed", i.get("uid")) for i in raw
        ]
        return sorted(items, key=lambda i: i.done)

    def add(self, name: str, summary: str) -> None:
        self._call("add_item", {"entity_id": self._entity(name), "item": summary})

    def complete(self, name: str, item: TodoItem) -> None:
        self._call(
            "update_item",
            {"entity_id": self._entity(name), "item": item.uid or item.summary, "status": "completed"},
        )

    def remove(self, name: str, item: TodoItem) -> None:
        self._call("remove_item", {"entity_id": self._entity(name), "item": item.uid or item.summary})
