"""Shopping and to-do lists, with Home Assistant's intent names (HassListAddItem, HassListCompleteItem,
HassListRemoveItem) and GetListItems to read a list back. The lists themselves are the ``lists``
service (devices/todo.py): a local store, or Home Assistant's to-do entities."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import Field

from .registry import register
from .schema import Context, Intent, IntentError, Outcome, SlotError, Usage
from .timeparse import say_list

if TYPE_CHECKING:
    from devices.todo import TodoItem, TodoLists

log = logging.getLogger(__name__)

# Why a list could not be used (devices.todo.TodoError's problem), said after "Sorry, I couldn't reach
# your shopping list: ".
_WHY = {
    "cannot_open": "its database cannot be opened. Set data_dir to a writable folder.",
    "no_such_list": "Home Assistant has no such list.",
    "refused": "Home Assistant refused my access token. Create a new long-lived access token in Home "
    "Assistant and put it in home_assistant.token.",
    "unreachable": "Home Assistant did not answer. Check that it is running and that home_assistant.url "
    "is right.",
}

_SPLIT = re.compile(r"\s+(?:and|plus|&)\s+(?:also\s+)?")
_ARTICLE = re.compile(r"^(?:some|a|an|the|more|also)\s+")


def _lists(ctx: Context) -> TodoLists:
    lists = ctx.services.lists
    if lists is None:
        raise IntentError("Lists are not available.")
    return lists


def _clean(item: str) -> str:
    return _ARTICLE.sub("", item.strip()).strip()


def _list_name(slots: dict[str, Any], ctx: Context) -> str | None:
    """The list a sentence names (the recogniser gives the list's name), or the default list."""
    name = slots.pop("name", None)
    if name is not None:
        return str(name)
    lists = ctx.services.lists
    return lists.default() if lists is not None else None


def _action(kind: str, name: str | None, item: str, ctx: Context) -> dict[str, Any]:
    return {"type": kind, "list": name, "item": item, "source": _lists(ctx).source}


def _title(name: str) -> str:
    return f"{name} list"


def list_name(name: str) -> str:
    """A list's name as said before the word "list" (Home Assistant's "Shopping List" is the
    "shopping" list: "add milk to my shopping list")."""
    return name.removesuffix(" list").strip()


class ListIntent(Intent):
    name: str | None = Field(None, description="The list: 'shopping', 'to-do', ... (default: the first list)")

    def change(self, ctx: Context) -> Outcome:  # pragma: no cover - every list intent overrides it
        """Read or change the list (it exists); an ``IntentError`` says why not."""
        raise NotImplementedError

    def handle(self, ctx: Context) -> Outcome:
        from devices.todo import TodoError  # only the error type: the service comes from ctx

        try:
            known = sorted(set(_lists(ctx).names().values()))
            if not known:
                where = " in Home Assistant" if _lists(ctx).source == "home_assistant" else ""
                return Outcome(f"You have no lists{where} yet.")
            if self.name not in known:
                which = f"{self.name} " if self.name else ""
                return Outcome(f"You have no {which}list. Your lists are: {say_list(known)}.")
            return self.change(ctx)
        except TodoError as e:
            log.warning("%s: %s", _title(self.name or ""), e)
            return Outcome(f"Sorry, I couldn't reach your {_title(self.name or '')}: {_WHY[e.problem]}")


@register
class HassListAddItem(ListIntent):
    reply_heads: ClassVar[tuple[str, ...]] = ("Added",)
    intent: ClassVar[str] = "HassListAddItem"
    said_fields: ClassVar[tuple[str, ...]] = ("item",)
    description: ClassVar[str] = "Adds one or more items to a shopping or to-do list."
    usage: ClassVar[Usage] = Usage(
        "keep your shopping and to-do lists",
        "Add milk and eggs to the shopping list.",
        ("list", "lists", "shopping", "todo", "to-do", "item"),
    )

    item: list[str] = Field(min_length=1, description="The items to add, one string each: ['milk', 'eggs']")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        name = _list_name(slots, ctx)
        raw = slots.pop("item", None)
        raw = raw if isinstance(raw, list) else [str(raw or "")]
        items = [_clean(part) for said in raw for part in _SPLIT.split(said)]
        items = [i for i in items if i]
        if not items:
            raise SlotError("nothing to add")
        return cls(name=name, item=items)

    def change(self, ctx: Context) -> Outcome:
        assert self.name is not None
        lists = _lists(ctx)
        already = (
            {i.summary.lower() for i in lists.items(self.name) if not i.done} if not ctx.dry_run else set()
        )
        new = [i for i in self.item if i.lower() not in already]
        if not ctx.dry_run:
            for item in new:
                lists.add(self.name, item)
        actions = [_action("list_add", self.name, i, ctx) for i in new]
        said = f"your {_title(self.name)}"
        if not new:
            verb = "is" if len(self.item) == 1 else "are"
            return Outcome(f"{say_list(self.item).capitalize()} {verb} already on {said}.")
        extra = [i for i in self.item if i not in new]
        note = (
            f" {say_list(extra).capitalize()} {'was' if len(extra) == 1 else 'were'} already on it."
            if extra
            else ""
        )
        return Outcome(f"Added {say_list(new)} to {said}.{note}", actions)


class _ItemIntent(ListIntent):
    said_fields: ClassVar[tuple[str, ...]] = ("item",)
    item: str = Field(min_length=1, description="The item, as on the list: 'milk'")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        name = _list_name(slots, ctx)
        item = _clean(str(slots.pop("item", "") or ""))
        if not item:
            raise SlotError("no item")
        return cls(name=name, item=item)

    def _find(self, ctx: Context) -> tuple[str, TodoItem]:
        """(the list, the open item on it that was said)."""
        from devices.todo import find_item

        assert self.name is not None  # handle() found the list
        found = find_item(_lists(ctx).items(self.name), self.item)
        if found is None:
            raise IntentError(f"{self.item.capitalize()} isn't on your {_title(self.name)}.")
        return self.name, found


@register
class HassListCompleteItem(_ItemIntent):
    intent: ClassVar[str] = "HassListCompleteItem"
    description: ClassVar[str] = "Checks an item off a shopping or to-do list (marks it done)."

    def change(self, ctx: Context) -> Outcome:
        name, found = self._find(ctx)
        if not ctx.dry_run:
            _lists(ctx).complete(name, found)
        return Outcome(
            f"Checked {found.summary} off your {_title(name)}.",
            [_action("list_complete", self.name, found.summary, ctx)],
        )


@register
class HassListRemoveItem(_ItemIntent):
    intent: ClassVar[str] = "HassListRemoveItem"
    description: ClassVar[str] = "Removes an item from a shopping or to-do list."

    def change(self, ctx: Context) -> Outcome:
        name, found = self._find(ctx)
        if not ctx.dry_run:
            _lists(ctx).remove(name, found)
        return Outcome(
            f"Removed {found.summary} from your {_title(name)}.",
            [_action("list_remove", self.name, found.summary, ctx)],
        )


@register
class GetListItems(ListIntent):
    intent: ClassVar[str] = "GetListItems"
    description: ClassVar[str] = "Reads a shopping or to-do list back (the items not done yet)."

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        return cls(name=_list_name(slots, ctx))

    def change(self, ctx: Context) -> Outcome:
        assert self.name is not None
        items = [i.summary for i in _lists(ctx).items(self.name) if not i.done]
        title = _title(self.name)
        if not items:
            return Outcome(f"Your {title} is empty.")
        if len(items) == 1:
            return Outcome(f"Your {title} has one item: {items[0]}.")
        return Outcome(f"Your {title} has {len(items)} items: {say_list(items)}.")
