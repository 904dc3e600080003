"""What a device request is about: the hub, fuzzy names and areas, the entities a request targets
(``Target``), and "Which one do you mean?" when a name fits several.

``pick_targets`` returns a ``Target`` with at least one entity, or raises ``IntentError`` with what to
say: no such device or area, or the question which one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..conversation import Choice, Question
from ..normalize import name_key
from ..schema import Context, IntentError, Outcome
from .words import FUTURE, NO_DEVICES, PLURAL, SINGULAR, WHOLE_HOME, clean, spoken

if TYPE_CHECKING:
    from devices.entities import Entity
    from devices.hub import DeviceHub

log = logging.getLogger(__name__)

CHOICE_TTL_S = 30.0  # an answer later than this is no answer to "Which one do you mean?"


def hub_of(ctx: Context) -> DeviceHub | None:
    return ctx.services.devices


def the_hub(ctx: Context) -> DeviceHub:
    """The device hub, where a handler cannot go on without one."""
    if ctx.services.devices is None:
        raise IntentError(NO_DEVICES)
    return ctx.services.devices


def backend_problem(hub: DeviceHub | None) -> str | None:
    """Why devices may be missing, said aloud: Home Assistant refused the token or is unreachable."""
    from devices.homeassistant import HomeAssistantAuthError

    for problem in getattr(hub, "problems", None) or []:
        if isinstance(problem, HomeAssistantAuthError):
            return (
                "Home Assistant refused my access token, so I cannot reach its devices. Create a new "
                "long-lived access token in Home Assistant and put it in home_assistant.token."
            )
        return (
            "I cannot reach Home Assistant, so I do not know its devices. Check that it is running "
            "and that home_assistant.url is right."
        )
    return None


class Target:
    """Entities a request acts on, and the words to say about them."""

    def __init__(self, entities: list[Entity], area: str | None = None, domain: str | None = None):
        self.entities, self.area, self.domain = entities, area, domain

    def describe(self) -> str:
        ents = self.entities
        if len(ents) == 1:
            return f"the {spoken(ents[0])}"
        domains = {e.component for e in ents}
        noun = PLURAL.get(domains.pop(), "devices") if len(domains) == 1 else "devices"
        if len(ents) == 1:
            noun = SINGULAR.get(ents[0].component, "device")
        where = f" in the {self.area}" if self.area else ""
        return f"{len(ents)} {noun}{where}"


def resolve_area(hub: DeviceHub | None, area: str | None) -> str | None:
    """A registry area for a spoken one (fuzzy: 'living room' ~ 'Living Room', 'hall' ~ 'Hallway')."""
    if not area or hub is None:
        return None
    from rapidfuzz import fuzz, process

    areas = hub.registry.areas()
    if not areas:
        return None
    a = clean(area) or area
    by_lower = {x.lower(): x for x in areas}
    if a in by_lower:
        return by_lower[a]
    best = process.extractOne(a, list(by_lower), scorer=fuzz.ratio)
    if best and best[1] >= 80:
        return by_lower[best[0]]
    best = process.extractOne(a, list(by_lower), scorer=fuzz.partial_ratio)
    if best and best[1] >= 90 and len(a) >= 4:
        return by_lower[best[0]]
    return None


def find_all_named(
    hub: DeviceHub, name: str, domains: set[str] | None, area: str | None = None
) -> list[Entity]:
    """The entities called ``name`` equally well (fuzzy, ASR-tolerant), optionally limited to
    domains/area. One unless the name is ambiguous: a name in the YAML config beats the same name
    discovered (the registry ranks it first), two discovered entities of one name tie."""
    from devices.entities import SOURCE_RANK

    n = clean(name) or name
    hits = [  # best first: an exact name before the near ones, the config's before the discovered
        m
        for m in hub.registry.search(n, area=area, threshold=78, limit=10, key=name_key)
        if not (domains and m.entity.component not in domains)
    ]
    if not hits:
        return []
    rank = SOURCE_RANK.get(hits[0].entity.source, 1)
    return [
        m.entity for m in hits if m.score == hits[0].score and SOURCE_RANK.get(m.entity.source, 1) == rank
    ]


def find_named(hub: DeviceHub, name: str, domains: set[str] | None, area: str | None = None) -> Entity | None:
    """The best entity called ``name`` (fuzzy, ASR-tolerant), optionally limited to domains/area."""
    found = find_all_named(hub, name, domains, area)
    return found[0] if found else None


def pick_targets(
    ctx: Context,
    *,
    name: str | None,
    area: str | None,
    domain: str | None,
    device_class: str | None = None,
    domains: set[str] | None = None,
    default_all: bool = True,
    op: str | None = None,
) -> Target:
    """Entities for name / area / domain, with the asking box's area as the default place. Raises
    ``IntentError`` when none fits; when several share the name, its question asks which one, and the
    answer runs ``op`` on it (without ``op``, only the sentence)."""
    hub = hub_of(ctx)
    if hub is None:
        raise IntentError(NO_DEVICES)
    allowed = {domain} if domain else domains
    whole_home = (clean(area) or "") in WHOLE_HOME
    if whole_home:
        area = None
    real_area = resolve_area(hub, area)
    if area and real_area is None and not name:
        raise _missing(hub, f"There is no area called {clean(area) or area}.")
    if name:
        found = find_all_named(hub, name, allowed, real_area) or (
            find_all_named(hub, name, allowed) if real_area else []
        )
        ent = found[0] if found else None
        if len(found) > 1:
            raise IntentError(which_one_outcome(op, found))
        if ent is None:
            where = resolve_area(hub, name)  # "turn off the kitchen": an area said as a name
            if where is not None:
                real_area, name = where, None
            else:
                raise _missing(hub, f"There is no device called {clean(name) or name}.")
        else:
            return Target([ent])
    place = real_area or (None if whole_home else resolve_area(hub, ctx.area))
    wanted = allowed or {"light", "switch", "fan"}
    pool = hub.registry.in_area(place) if place else (hub.registry.exposed(wanted) if default_all else [])
    ents = [
        e for e in pool if e.component in wanted and (device_class is None or e.device_class == device_class)
    ]
    if not ents and device_class:  # "the garage door": area garage + class door, or a garage-class cover
        spoken = f"{area or ''} {device_class}".strip()
        named = find_named(hub, spoken, wanted) if area else None
        ents = [named] if named else [e for e in pool if e.component in wanted]
    if not ents:
        what = PLURAL.get(domain or "", "devices") if domain else "devices"
        if device_class:
            what = f"{device_class.replace('_', ' ')}s"
        raise _missing(hub, f"There are no {what}{f' in the {place}' if place else ''}.")
    return Target(ents, area=place, domain=domain)


def _missing(hub: DeviceHub, sentence: str) -> IntentError:
    """Nothing fits: why devices may be missing (Home Assistant refused the token), else ``sentence``."""
    return IntentError(backend_problem(hub) or sentence)


def distinct(e: Entity) -> str:
    """How to tell one of several same-named entities apart: its area, else its entity id."""
    return f"the {spoken(e)} ({e.area or e.entity_id})"


def which_one(choices: list[Entity]) -> str:
    options = [f"{i}, {distinct(e)}" for i, e in enumerate(choices[:5], 1)]
    return f"Which one do you mean: {' or '.join(options)}? I did nothing yet."


def which_one_outcome(op: str | None, choices: list[Entity]) -> Outcome:
    """ "Which one do you mean: 1, ... or 2, ...?" With ``op``, a question: the answer ("the second one",
    "2", "the one upstairs") picks a device and the command runs on it (``devices.run``)."""
    if op is None:
        return Outcome(which_one(choices))
    from devices.control import command_for

    labels = [f"{i}, {distinct(e)}" for i, e in enumerate(choices[:5], 1)]
    question = Question(
        which_one(choices),
        "choose",
        "devices.run",
        {"op": op, "confirmed": False},
        [Choice(label, {"entities": [e.entity_id]}) for label, e in zip(labels, choices[:5], strict=True)],
        declined=f"Okay, I won't {FUTURE[command_for(choices[0].component, op)]} the {spoken(choices[0])}.",
        ttl_s=CHOICE_TTL_S,
    )
    action = {"type": "clarification_required", "choices": [e.entity_id for e in choices], "sent": False}
    return Outcome(which_one(choices), [action], question=question)
