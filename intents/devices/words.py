"""The words of device requests: what names a kind of device, what is never part of a name, how
commands and kinds are said, and how an entity is spoken."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.entities import Entity

NO_DEVICES = (
    "No smart-home devices are set up. Add a broker (mqtt.url), Home Assistant or devices to the config."
)

# Words that name a kind of device in a wildcard name ("the porch light") -> domain.
KIND_WORDS: list[tuple[str, str]] = [
    (r"lights?|lamps?|lighting|bulbs?|led|leds|strip|chandelier|sconce", "light"),
    (r"plugs?|sockets?|outlets?|switch(?:es)?|wemo", "switch"),
    (r"fans?|ventilat\w*", "fan"),
    (r"vacuum\w*|hoover|roomba|robot|cleaner", "vacuum"),
    (r"thermostats?|heating|heater|radiator|ac|air ?con\w*|climate", "climate"),
    (
        r"garage(?: door)?|blinds?|shades?|shutters?|curtains?|awnings?|gates?|doors?|windows?|covers?",
        "cover",
    ),
    (r"locks?|deadbolt", "lock"),
    (
        r"tv|television|kettle|heater|coffee \w+|machine|speaker|radio|purifier|humidifier|dehumidifier",
        "switch",
    ),
]
KIND = [(re.compile(rf"\b(?:{words})\b"), domain) for words, domain in KIND_WORDS]
WHOLE_HOME = {"home", "house", "whole house", "whole home", "flat", "apartment", "everywhere", "all rooms"}
# Words that never belong to a device name a wildcard caught ("power off on", "a different light colour").
NOT_A_NAME = re.compile(
    r"\b(?:on|off|colou?rs?|brightness|brighter|darker|dimmer|percent|degrees?|to|up|down)\b"
)
PALETTE = [
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "pink",
    "magenta",
    "turquoise",
    "gold",
]
LEADING = re.compile(r"^(?:(?:the|my|our|a|an|this|that|these|those|all|all of|of|some)\s+)+")
SUFFIX = re.compile(r"\s+(?:please|now|for me|right now|again)$")

# How each command (devices.control.ON_OFF) is said: done, and to do.
SAID: dict[str, tuple[str, str]] = {
    "turn_on": ("Turned on", "turn on"),
    "turn_off": ("Turned off", "turn off"),
    "open": ("Opened", "open"),
    "close": ("Closed", "close"),
    "lock": ("Locked", "lock"),
    "unlock": ("Unlocked", "unlock"),
    "start": ("Started", "start"),
    "return": ("Sent home", "send home"),
    "set": ("Set", "set"),
}
PAST = {command: said[0] for command, said in SAID.items()}
FUTURE = {command: said[1] for command, said in SAID.items()}
# How a kind of device is named: one, several.
NOUNS: dict[str, tuple[str, str]] = {
    "light": ("light", "lights"),
    "switch": ("switch", "switches"),
    "fan": ("fan", "fans"),
    "cover": ("cover", "covers"),
    "lock": ("lock", "locks"),
    "climate": ("thermostat", "thermostats"),
    "vacuum": ("vacuum", "vacuums"),
    "sensor": ("sensor", "sensors"),
    "binary_sensor": ("sensor", "sensors"),
}
SINGULAR = {component: nouns[0] for component, nouns in NOUNS.items()}
PLURAL = {component: nouns[1] for component, nouns in NOUNS.items()}


def spoken(e: Entity) -> str:
    """How to say an entity: discovery names it "<device> <entity>" (e.g. "garage-node Garage Door");
    the entity's own name (kept as its first alias) sounds better."""
    if e.device_name and e.aliases and e.name.startswith(e.device_name):
        return e.aliases[0]
    return e.name


def clean(text: str | None) -> str | None:
    if not isinstance(text, str):
        return None
    t = SUFFIX.sub("", LEADING.sub("", text.strip().lower())).strip()
    t = re.sub(r"'s\b", "", t)
    return t or None


def says(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words (``\\b...\\b`` without compiling a
    pattern: one per device name, for a home of a thousand, thrashed ``re``'s cache every request)."""
    if not phrase:
        return False
    at = text.find(phrase)
    while at >= 0:
        end = at + len(phrase)
        before, after = text[at - 1 : at] if at else "", text[end : end + 1]
        if not _word_char(before) and not _word_char(after):
            return True
        at = text.find(phrase, at + 1)
    return False


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def kind_of(text: str) -> str | None:
    """The device domain a phrase names ("bedside lamp" -> light), or None."""
    for pattern, domain in KIND:
        if pattern.search(text):
            return domain
    return None
