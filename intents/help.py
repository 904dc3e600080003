"""'What can you do?' and 'How do I set an alarm?': answers built from the registered intents' ``usage``
(intents/schema.py) and the services that are configured (no music set up -> no music in the answer)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from pydantic import Field

from .registry import INTENT_MODULES, intents, register
from .schema import Context, Intent, Outcome, SlotError, Usage
from .timeparse import say_list

# What to say when the user asks how to use something that is not set up.
NOT_SET_UP = {
    "media": "Music isn't set up yet: point media.music_dir at your music, or configure a player, in the config file.",
    "devices": "No smart-home devices are set up yet: configure mqtt, home_assistant or devices in the config file.",
    "weather": "The weather isn't set up: check the weather section of the config file.",
}


def available(usage: Usage, ctx: Context) -> bool:
    """Is the service ``usage`` needs there (and, if it can say so, configured)?"""
    if usage.needs is None:
        return True
    service = getattr(ctx.services, usage.needs)
    if service is None:
        return False
    configured = getattr(
        type(service), "configured", None
    )  # on the type: a lazy service is not built for this
    return bool(configured(service)) if callable(configured) else True


def usages() -> list[Usage]:
    """Each area's usage, in the order of INTENT_MODULES (a subclass does not repeat its parent's)."""
    own = [s for s in intents().values() if s.__dict__.get("usage") is not None]

    def order(schema: type[Intent]) -> int:  # a package's modules (intents.devices.*) count as it
        module = schema.__module__
        return next(
            (i for i, m in enumerate(INTENT_MODULES) if module == m or module.startswith(m + ".")),
            len(INTENT_MODULES),
        )

    own.sort(key=order)
    return [s.usage for s in own if s.usage is not None]


def _words(text: str) -> set[str]:
    return {w.removesuffix("s") for w in re.findall(r"[\w'-]+", text.lower())}


def find_usage(topic: str, ctx: Context) -> Usage | None:
    said = _words(topic)
    for usage in usages():
        if said & {t.removesuffix("s") for t in usage.topics}:
            return usage
    return None


@register
class GetHelp(Intent):
    intent: ClassVar[str] = "GetHelp"
    description: ClassVar[str] = (
        "Says what the assistant can do, or, for a topic ('alarms', 'shopping list'), one example sentence."
    )

    topic: str | None = Field(None, description="What the user wants to know how to do, e.g. 'set an alarm'")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        topic = str(slots.get("topic") or "").strip() or None
        if topic and find_usage(topic, ctx) is None:
            raise SlotError(f"no help on {topic!r}")  # "how do I bake bread": not ours to answer
        return cls(topic=topic)

    def handle(self, ctx: Context) -> Outcome:
        if self.topic:
            usage = find_usage(self.topic, ctx)
            if usage is not None:
                if not available(usage, ctx):
                    return Outcome(NOT_SET_UP.get(usage.needs or "", "That isn't set up yet."))
                return Outcome(f"Try saying: {usage.example}")
        can = [u.can for u in usages() if available(u, ctx)]
        return Outcome(f'I can {say_list(can)}. Ask me "how do I" and one of these for an example.')
