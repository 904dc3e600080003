"""Every intent the assistant knows, by name. Intent modules register their schema with
``@register``; ``intents()`` imports them all once."""

from __future__ import annotations

import importlib
from typing import TypeVar

from .schema import Intent

# Modules that define intents. Add yours here (and its templates under sentences/).
INTENT_MODULES = [
    "intents.timers",
    "intents.alarms",
    "intents.clock",
    "intents.media",
    "intents.weather",
    "intents.devices",
    "intents.reminders",
    "intents.lists",
    "intents.help",
    "intents.preferences",
]

_REGISTRY: dict[str, type[Intent]] = {}
T = TypeVar("T", bound=type[Intent])


def register(cls: T) -> T:
    if cls.intent in _REGISTRY and _REGISTRY[cls.intent] is not cls:
        raise ValueError(f"intent {cls.intent} registered twice")
    _REGISTRY[cls.intent] = cls
    return cls


def intents() -> dict[str, type[Intent]]:
    for module in INTENT_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)
