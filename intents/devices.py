"""Smart-home devices: on/off, lights, thermostats, state questions, vacuums.

Home Assistant's intent and slot names (HassTurnOn/Off: name, area, floor, domain, device_class; HassLightSet:
brightness, color, temperature; HassClimateSetTemperature: temperature; HassGetState: state). HA's own
templates are merged with ours (``sentences/en/devices.yaml``). The ``name`` slot comes either from the
exact name list (device names and aliases, each with a ``domain`` context so HA's ``requires_context``
checks work) or from our wildcard templates, resolved fuzzily here ("living room lamb").

The handlers use ``ctx.services.devices`` (``devices.hub.DeviceHub``). Commands on locks, garage
doors and alarm panels ask "Are you sure?" (an ``intents.pending`` question kept with the conversation,
so one-shot ``assistant ask`` processes share it); it expires after 30 s.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import Field

from .conversation import Choice, Question
from .pending import continuation
from .registry import register
from .schema import Context, Intent, IntentError, Outcome, SlotError, Usage

if TYPE_CHECKING:
    from devices.hub import DeviceHub

log = logging.getLogger(__name__)

CONFIRM_TTL_S = 30.0
NO_DEVICES = (
    "No smart-home devices are set up. Add a broker (mqtt.url), Home Assistant or devices to the config."
)

# Words that name a kind of device in a wildcard name ("the porch light") -> domain.
_KIND_WORDS: list[tuple[str, str]] = [
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
_KIND = [(re.compile(rf"\b(?:{words})\b"), domain) for words, domain in _KIND_WORDS]
_WHOLE_HOME = {"home", "house", "whole house", "whole home", "flat", "apartment", "everywhere", "all rooms"}
# Words that never belong to a device name a wildcard caught ("power off on", "a different light colour").
_NOT_A_NAME = re.compile(
    r"\b(?:on|off|colou?rs?|brightness|brighter|darker|dimmer|percent|degrees?|to|up|down)\b"
)
_PALETTE = [
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
_LEADING = re.compile(r"^(?:(?:the|my|our|a|an|this|that|these|those|all|all of|of|some)\s+)+")
_SUFFIX = re.compile(r"\s+(?:please|now|for me|right now|again)$")

# How each command (devices.control.ON_OFF) is said: done, and to do.
_SAID: dict[str, tuple[str, str]] = {
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
_PAST = {command: said[0] for command, said in _SAID.items()}
_FUTURE = {command: said[1] for command, said in _SAID.items()}
# How a kind of device is named: one, several.
_NOUNS: dict[str, tuple[str, str]] = {
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
_SINGULAR = {component: nouns[0] for component, nouns in _NOUNS.items()}
_PLURAL = {component: nouns[1] for component, nouns in _NOUNS.items()}


def spoken(e: Any) -> str:
    """How to say an entity: discovery names it "<device> <entity>" (e.g. "garage-node Garage Door");
    the entity's own name (kept as its first alias) sounds better."""
    if e.device_name and e.aliases and e.name.startswith(e.device_name):
        return e.aliases[0]
    return e.name


def hub_of(ctx: Context) -> DeviceHub | None:
    return ctx.services.devices


def the_hub(ctx: Context) -> DeviceHub:
    """The device hub, where a handler cannot go on without one."""
    if ctx.services.devices is None:
        raise IntentError(NO_DEVICES)
    return ctx.services.devices


def backend_problem(hub: Any) -> str | None:
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


def clean(text: str | None) -> str | None:
    if not isinstance(text, str):
        return None
    t = _SUFFIX.sub("", _LEADING.sub("", text.strip().lower())).strip()
    t = re.sub(r"'s\b", "", t)
    return t or None


def kind_of(text: str) -> str | None:
    """The device domain a phrase names ("bedside lamp" -> light), or None."""
    for pattern, domain in _KIND:
        if pattern.search(text):
            return domain
    return None


# ---- resolving what a request is about ----------------------------------------------------------


class Target:
    """Entities a request acts on, and the words to say about them."""

    def __init__(
        self,
        entities: list[Any],
        area: str | None = None,
        domain: str | None = None,
        missing: str | None = None,
        choices: list[Any] | None = None,
    ):
        self.entities, self.area, self.domain, self.missing = entities, area, domain, missing
        self.choices = choices or []  # several devices share the name said: ask which one

    def describe(self) -> str:
        ents = self.entities
        if len(ents) == 1:
            return f"the {spoken(ents[0])}"
        domains = {e.component for e in ents}
        noun = _PLURAL.get(domains.pop(), "devices") if len(domains) == 1 else "devices"
        if len(ents) == 1:
            noun = _SINGULAR.get(ents[0].component, "device")
        where = f" in the {self.area}" if self.area else ""
        return f"{len(ents)} {noun}{where}"


def resolve_area(hub: Any, area: str | None) -> str | None:
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


def find_all_named(hub: Any, name: str, domains: set[str] | None, area: str | None = None) -> list[Any]:
    """The entities called ``name`` equally well (fuzzy, ASR-tolerant), optionally limited to
    domains/area. One unless the name is ambiguous: a name in the YAML config beats the same name
    discovered (the registry ranks it first), two discovered entities of one name tie."""
    from devices.entities import SOURCE_RANK

    n = clean(name) or name
    for threshold in (101, 78):
        hits = [
            m
            for m in hub.registry.search(n, area=area, threshold=min(threshold, 100), limit=10)
            if not (domains and m.entity.component not in domains)
            and not (threshold == 101 and m.score < 100)
        ]
        if hits:
            rank = SOURCE_RANK.get(hits[0].entity.source, 1)
            return [
                m.entity
                for m in hits
                if m.score == hits[0].score and SOURCE_RANK.get(m.entity.source, 1) == rank
            ]
    return []


def find_named(hub: Any, name: str, domains: set[str] | None, area: str | None = None) -> Any:
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
) -> Target:
    """Entities for name / area / domain, with the asking box's area as the default place."""
    hub = hub_of(ctx)
    if hub is None:
        return Target([], missing=NO_DEVICES)
    t = _pick_targets(
        ctx,
        hub,
        name=name,
        area=area,
        domain=domain,
        device_class=device_class,
        domains=domains,
        default_all=default_all,
    )
    if t.missing:
        t.missing = backend_problem(hub) or t.missing  # not "There is no device called ..." after a 401
    return t


def _pick_targets(
    ctx: Context,
    hub: Any,
    *,
    name: str | None,
    area: str | None,
    domain: str | None,
    device_class: str | None,
    domains: set[str] | None,
    default_all: bool,
) -> Target:
    allowed = {domain} if domain else domains
    whole_home = (clean(area) or "") in _WHOLE_HOME
    if whole_home:
        area = None
    real_area = resolve_area(hub, area)
    if area and real_area is None and not name:
        return Target([], missing=f"There is no area called {clean(area) or area}.")
    if name:
        found = find_all_named(hub, name, allowed, real_area) or (
            find_all_named(hub, name, allowed) if real_area else []
        )
        ent = found[0] if found else None
        if len(found) > 1:
            return Target([], missing=which_one(found), choices=found)
        if ent is None:
            where = resolve_area(hub, name)  # "turn off the kitchen": an area said as a name
            if where is not None:
                real_area, name = where, None
            else:
                return Target([], missing=f"There is no device called {clean(name) or name}.")
        else:
            return Target([ent])
    place = real_area or (None if whole_home else resolve_area(hub, ctx.area))
    pool = hub.registry.in_area(place) if place else (hub.registry.exposed() if default_all else [])
    wanted = allowed or {"light", "switch", "fan"}
    ents = [
        e for e in pool if e.component in wanted and (device_class is None or e.device_class == device_class)
    ]
    if not ents and device_class:  # "the garage door": area garage + class door, or a garage-class cover
        spoken = f"{area or ''} {device_class}".strip()
        named = find_named(hub, spoken, wanted) if area else None
        ents = [named] if named else [e for e in pool if e.component in wanted]
    if not ents:
        what = _PLURAL.get(domain or "", "devices") if domain else "devices"
        if device_class:
            what = f"{device_class.replace('_', ' ')}s"
        return Target([], missing=f"There are no {what}{f' in the {place}' if place else ''}.")
    return Target(ents, area=place, domain=domain)


def _distinct(e: Any) -> str:
    """How to tell one of several same-named entities apart: its area, else its entity id."""
    return f"the {spoken(e)} ({e.area or e.entity_id})"


def which_one(choices: list[Any]) -> str:
    options = [f"{i}, {_distinct(e)}" for i, e in enumerate(choices[:5], 1)]
    return f"Which one do you mean: {' or '.join(options)}? I did nothing yet."


def _which_one(op: str, choices: list[Any]) -> Question:
    """The question behind "Which one do you mean: 1, ... or 2, ...?": the answer ("the second one", "2",
    "the one upstairs") picks a device and the command runs on it (``devices.run``)."""
    labels = [f"{i}, {_distinct(e)}" for i, e in enumerate(choices[:5], 1)]
    return Question(
        which_one(choices),
        "choose",
        "devices.run",
        {"op": op, "confirmed": False},
        [Choice(label, {"entities": [e.entity_id]}) for label, e in zip(labels, choices, strict=True)],
        declined=f"Okay, I won't {_FUTURE[_verb(op, choices[0])]} the {spoken(choices[0])}.",
        ttl_s=CONFIRM_TTL_S,
    )


# ---- doing it, with confirmation -------------------------------------------------------------


def _verb(op: str, entity: Any) -> str:
    """The command ``op`` means for this entity (devices.control.ON_OFF): the key of _PAST/_FUTURE."""
    from devices.control import command_for

    return command_for(entity.component, op)


def run_command(ctx: Context, op: str, target: Target, confirmed: bool = False) -> Outcome:
    """Carry ``op`` out on every target entity; ask first where a confirmation is needed."""
    from devices.control import ConfirmationRequired, DeviceError

    hub = hub_of(ctx)
    if hub is None:  # no devices, so no targets (a "yes" after the hub went away)
        return Outcome("Nothing to do.")
    actions: list[dict[str, Any]] = []
    done: list[Any] = []
    ask: list[Any] = []
    problems: list[str] = []
    queued: list[Any] = []
    for e in target.entities:
        try:
            acts = hub.controller.command(e, op, dry_run=ctx.dry_run, confirmed=confirmed)
        except ConfirmationRequired:
            ask.append(e)
            continue
        except DeviceError as exc:
            problems.append(str(exc))
            continue
        actions += acts
        failed = undelivered(acts, ctx)
        if failed:
            problems.append(f"I could not {_FUTURE[_verb(op, e)]} the {spoken(e)}: {failed}.")
        elif any(a.get("queued") for a in acts):
            queued.append(e)
        else:
            done.append(e)
    words = []
    question = None
    if done:
        verb = _verb(op, done[0])
        sub = Target(done, target.area if len(done) == len(target.entities) else None, target.domain)
        words.append(f"{'Would ' + _FUTURE[verb] if ctx.dry_run else _PAST[verb]} {sub.describe()}.")
    if queued:
        verb = _verb(op, queued[0])
        words.append(
            f"The MQTT broker is offline: I will {_FUTURE[verb]} {Target(queued).describe()} "
            "as soon as it is back."
        )
    if ask:
        verb = _verb(op, ask[0])
        what = " and ".join(f"the {spoken(e)}" for e in ask)
        if ctx.dry_run:
            words.append(f"I would ask for a confirmation before I {_FUTURE[verb]} {what}.")
        else:
            words.append(f"Are you sure you want to {_FUTURE[verb]} {what}?")
            question = Question(
                words[-1],
                "confirm",
                "devices.run",
                {"op": op, "entities": [e.entity_id for e in ask]},
                declined=f"Okay, I won't {_FUTURE[verb]} {what}.",
                ttl_s=CONFIRM_TTL_S,
            )
        actions.append(
            {
                "type": "confirmation_required",
                "entity_ids": [e.entity_id for e in ask],
                "operation": verb,
                "sent": False,
            }
        )
    words += problems[:2]
    return Outcome(" ".join(words) or "Nothing to do.", actions, question=question)


def undelivered(actions: list[dict[str, Any]], ctx: Context) -> str | None:
    """Why a command was not carried out (not sent, not queued), or None when it was (or dry run)."""
    if ctx.dry_run:
        return None
    for a in actions:
        if a.get("sent") is False and not a.get("queued"):
            return str(a.get("reason") or "it was not sent").rstrip(".")
    return None


@continuation("devices.run")
def _confirmed(ctx: Context, data: dict[str, Any]) -> Outcome:
    """ "Yes" to "Are you sure?", or the device picked after "Which one do you mean?": carry the command
    out on the entities that still exist."""
    hub = hub_of(ctx)
    ents = [e for e in (hub.registry.get(i) for i in data["entities"]) if e is not None] if hub else []
    if not ents:
        return Outcome("That device is gone, so I did nothing.")
    return run_command(ctx, data["op"], Target(ents), confirmed=data.get("confirmed", True))


# ---- intents ---------------------------------------------------------------------------------


class DeviceIntent(Intent):
    """What HA's device intents share: which device(s)."""

    name: str | None = Field(None, description="Name of a device, e.g. 'kitchen light'")
    area: str | None = Field(None, description="Area, e.g. 'kitchen'; default: where the assistant stands")
    floor: str | None = Field(None, description="Floor (not used yet)")
    domain: str | None = Field(
        None, description="Kind of device: light, switch, fan, cover, climate, vacuum, lock"
    )
    device_class: str | None = Field(None, description="e.g. garage, door, blind (covers)")

    domains: ClassVar[set[str] | None] = None  # what this intent can act on

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        hub = hub_of(ctx)
        for key in ("name", "area", "floor"):
            if key in slots:
                slots[key] = clean(str(slots[key])) if slots[key] is not None else None
        name = slots.get("name")
        if isinstance(slots.get("domain"), list):
            slots["domain"] = slots["domain"][0] if slots["domain"] else None
        if name:
            kind = kind_of(name)
            if _NOT_A_NAME.search(name) and (hub is None or find_named(hub, name, None) is None):
                raise SlotError(f"{name!r} is not a device name")
            if hub is None:
                if kind is None:
                    raise SlotError(f"{name!r} is no device (and no devices are set up)")
            elif find_named(hub, name, cls._allowed(slots.get("domain"))) is None:
                if resolve_area(hub, name) is not None and not slots.get("area"):
                    slots["area"], slots["name"] = name, None
                elif kind is None and backend_problem(hub) is None:
                    raise SlotError(f"no device called {name!r}")
                elif cls.domains and kind not in cls.domains and kind != "switch":
                    raise SlotError(f"{name!r} is a {kind}; {cls.intent} does not apply")
        if hub is not None:
            cls._canonical(hub, slots, text)
        return cls.model_validate(slots)

    @classmethod
    def _canonical(cls, hub: Any, slots: dict[str, Any], text: str) -> None:
        """Report the registry's names: 'bedroom lamp' said as area + kind is the Bedroom Lamp itself."""
        allowed = cls._allowed(slots.get("domain"))
        if not slots.get("name") and slots.get("area") and slots.get("domain"):
            best = None
            for e in hub.registry.exposed():
                if allowed and e.component not in allowed:
                    continue
                for n in (e.name, *e.aliases):
                    if len(n) > len(best[1] if best else "") and re.search(
                        rf"\b{re.escape(n.lower())}\b", text
                    ):
                        best = (e, n)
            if best is not None:
                slots["name"], slots["area"] = best[0].name, None
        if slots.get("name"):
            ent = find_named(hub, slots["name"], allowed)
            if ent is not None:
                slots["name"] = ent.name
        if slots.get("area"):
            slots["area"] = resolve_area(hub, slots["area"]) or slots["area"]

    @classmethod
    def _allowed(cls, domain: str | None) -> set[str] | None:
        return {domain} if domain else cls.domains

    def target(self, ctx: Context, default_all: bool = True) -> Target:
        return pick_targets(
            ctx,
            name=self.name,
            area=self.area,
            domain=self.domain,
            device_class=self.device_class,
            domains=self.domains,
            default_all=default_all,
        )


@register
class HassTurnOn(DeviceIntent):
    intent: ClassVar[str] = "HassTurnOn"
    usage: ClassVar[Usage] = Usage(
        "control your lights and devices",
        "Turn on the kitchen light.",
        ("light", "lights", "lamp", "device", "devices", "switch", "fan", "heating", "thermostat", "door"),
        needs="devices",
    )
    description: ClassVar[str] = "Turn on / open / start / lock a device, or all lights (fans...) in an area"
    op: ClassVar[str] = "turn_on"

    def handle(self, ctx: Context) -> Outcome:
        t = self.target(ctx)
        if t.missing:
            if not t.choices:
                return Outcome(t.missing)
            return Outcome(
                t.missing,
                [
                    {
                        "type": "clarification_required",
                        "choices": [e.entity_id for e in t.choices],
                        "sent": False,
                    }
                ],
                question=_which_one(self.op, t.choices),
            )
        return run_command(ctx, self.op, t)


@register
class HassTurnOff(HassTurnOn):
    intent: ClassVar[str] = "HassTurnOff"
    description: ClassVar[str] = "Turn off / close / unlock a device, or everything in an area"
    op: ClassVar[str] = "turn_off"


@register
class HassVacuumStart(DeviceIntent):
    intent: ClassVar[str] = "HassVacuumStart"
    description: ClassVar[str] = "Start the robot vacuum"
    domains: ClassVar[set[str] | None] = {"vacuum"}

    def handle(self, ctx: Context) -> Outcome:
        t = pick_targets(ctx, name=self.name, area=None, domain="vacuum")
        hub = hub_of(ctx)
        if not t.entities and not self.name and hub is not None:
            t = Target([e for e in hub.registry.exposed() if e.component == "vacuum"])
            t.missing = None if t.entities else "There is no robot vacuum."
        if t.missing:
            return Outcome(t.missing)
        return run_command(ctx, "start", Target(t.entities[:1]))


_STEP_SMALL = re.compile(r"\b(?:a (?:little )?bit|a little|slightly|a touch|a tad|somewhat)\b")
_STEP_BIG = re.compile(r"\b(?:a lot|much|way|lots|significantly|all the way)\b")


@register
class HassLightSet(DeviceIntent):
    intent: ClassVar[str] = "HassLightSet"
    description: ClassVar[str] = "Set lights' brightness (absolute or relative), colour or colour temperature"
    domains: ClassVar[set[str] | None] = {"light"}

    brightness: int | None = Field(None, ge=0, le=100, description="Brightness in percent")
    brightness_step: int | None = Field(
        None, ge=-100, le=100, description="Relative brightness change, percent"
    )
    color: str | None = Field(None, description="Colour name, e.g. 'blue'")
    temperature: int | None = Field(None, ge=1000, le=10000, description="Colour temperature in kelvin")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        step = slots.pop("brightness_direction", None)
        if step is not None:
            size = slots.pop("brightness_change", None)
            if size is None:
                size = 10 if _STEP_SMALL.search(text) else 50 if _STEP_BIG.search(text) else 25
            slots["brightness_step"] = int(size) * (-1 if step == "down" else 1)
        if isinstance(slots.get("color"), str):
            from devices.control import color_to_rgb

            color = clean(slots["color"]) or ""
            color = re.sub(r"\s+(?:colou?r|light|lights|please)$", "", color)
            if color == "random":
                color = _PALETTE[int(time.time() * 1000) % len(_PALETTE)]
            try:
                color_to_rgb(color)
            except ValueError:
                raise SlotError(f"{color!r} is not a colour") from None
            slots["color"] = color
        return super().from_slots(slots, text, ctx)

    def handle(self, ctx: Context) -> Outcome:
        from devices.control import DeviceError

        if (
            self.brightness is None
            and self.brightness_step is None
            and self.color is None
            and self.temperature is None
        ):
            return Outcome(
                "What should I set the lights to? Say a brightness, such as 50 percent, or a colour."
            )
        which = _which_room(ctx, self.name, self.area, "light")
        if which is not None:
            return which
        t = pick_targets(ctx, name=self.name, area=self.area, domain="light")
        if t.missing:
            return Outcome(t.missing)
        hub = the_hub(ctx)
        actions: list[dict[str, Any]] = []
        done, problems = [], []
        for e in t.entities:
            try:
                acts = hub.controller.set_light(
                    e,
                    brightness_pct=self.brightness,
                    brightness_step_pct=self.brightness_step,
                    color=self.color,
                    color_temp_kelvin=self.temperature,
                    dry_run=ctx.dry_run,
                )
                actions += acts
                failed = undelivered(acts, ctx)
                if failed:
                    problems.append(f"I could not set the {spoken(e)}: {failed}.")
                else:
                    done.append(e)
            except DeviceError as exc:
                problems.append(str(exc))
        if not done:
            return Outcome(" ".join(problems[:2]) or "Nothing to do.", actions)
        what = Target(done, t.area if len(done) == len(t.entities) else None, "light").describe()
        if self.brightness is not None:
            change = f"to {self.brightness} percent" if self.brightness else "off"
            says = (
                f"{'Set' if self.brightness else 'Turned'} {what} {change}"
                if self.brightness
                else f"Turned off {what}"
            )
        elif self.brightness_step is not None:
            says = f"{'Brightened' if self.brightness_step > 0 else 'Dimmed'} {what}"
        elif self.color is not None:
            says = f"Set {what} to {self.color}"
        else:
            says = f"Set {what} to {self.temperature} kelvin"
        if ctx.dry_run:
            says = "Would have " + says[0].lower() + says[1:]
        return Outcome(" ".join([says + ".", *problems[:1]]), actions)


def _which_room(ctx: Context, name: str | None, area: str | None, domain: str) -> Outcome | None:
    """ "Which room?" when neither the request nor the box says where and the home has such devices in
    several areas (dimming every light of the house is rarely meant); the answer completes the request."""
    hub = hub_of(ctx)
    if name or area or ctx.area or hub is None or not ctx.text:
        return None
    areas = sorted({e.area for e in hub.registry.exposed() if e.component == domain and e.area})
    if len(areas) < 2:
        return None
    say = f"Which room? {' or '.join([', '.join(areas[:-1]), areas[-1]]) if len(areas) <= 4 else ''}".strip()
    say = say if say.endswith("?") else say + "?"
    return Outcome(
        say,
        question=Question(
            say,
            "fill",
            retry=[f"{ctx.text} in the {{answer}}", f"{ctx.text} in {{answer}}"],
            declined="Okay, I'll leave the lights.",
        ),
    )


def _climates(ctx: Context, name: str | None, area: str | None, value: str) -> Target:
    """The thermostat meant: by name or area, else the one in the box's area, else the only one;
    with several and nothing to tell them apart, ask which."""
    t = pick_targets(ctx, name=name, area=area, domain="climate", default_all=False)
    if t.entities or name or area:
        return t
    hub = hub_of(ctx)
    everywhere = [e for e in hub.registry.exposed() if e.component == "climate"] if hub else []
    if len(everywhere) > 1:
        names = [e.area or spoken(e) for e in everywhere]
        if len(set(names)) < len(names):
            names = [spoken(e) for e in everywhere]
        listed = ", ".join(f"the {n}" for n in names[:-1]) + f" or the {names[-1]}"
        return Target(
            [],
            missing=f"Which thermostat: {listed}? Say, for example, "
            f"set the {names[0]} thermostat to {value} degrees.",
        )
    if everywhere:
        return Target(everywhere)
    return Target([], missing=backend_problem(hub) or "There is no thermostat.")


@register
class HassClimateSetTemperature(DeviceIntent):
    intent: ClassVar[str] = "HassClimateSetTemperature"
    description: ClassVar[str] = "Set a thermostat's target temperature"
    domains: ClassVar[set[str] | None] = {"climate"}

    temperature: float = Field(description="Target temperature in the thermostat's unit")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        if slots.get("temperature") is None:
            raise SlotError("no temperature")
        if hub_of(ctx) is None:
            raise SlotError("no devices")
        return super().from_slots(slots, text, ctx)

    def handle(self, ctx: Context) -> Outcome:
        from devices.control import DeviceError

        value = int(self.temperature) if float(self.temperature).is_integer() else self.temperature
        t = _climates(ctx, self.name, self.area, str(value))
        if t.missing:
            return Outcome(t.missing)
        e = t.entities[0]
        try:
            actions = the_hub(ctx).controller.set_temperature(e, self.temperature, dry_run=ctx.dry_run)
        except DeviceError as exc:
            return Outcome(str(exc))
        failed = undelivered(actions, ctx)
        if failed:
            return Outcome(f"I could not set the {spoken(e)} to {value} degrees: {failed}.", actions)
        return Outcome(
            f"{'Would set' if ctx.dry_run else 'Set'} the {spoken(e)} to {value} degrees.", actions
        )


def _degrees(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


@register
class HassClimateGetTemperature(DeviceIntent):
    intent: ClassVar[str] = "HassClimateGetTemperature"
    description: ClassVar[str] = "Say the temperature a thermostat or temperature sensor measures"
    domains: ClassVar[set[str] | None] = {"climate", "sensor"}

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        intent = super().from_slots(slots, text, ctx)
        if hub_of(ctx) is None or not intent._sources(ctx):
            raise SlotError("no thermostat or temperature sensor here")  # leave it to the weather
        return intent

    def _sources(self, ctx: Context) -> list[Any]:
        hub = hub_of(ctx)
        if hub is None:
            return []
        if self.name:
            e = find_named(hub, self.name, {"climate", "sensor"})
            return [e] if e else []
        place = resolve_area(hub, self.area or ctx.area)
        if place is None:
            return []
        pool = hub.registry.in_area(place)
        sensors = [e for e in pool if e.component == "sensor" and e.device_class == "temperature"]
        climate = [e for e in pool if e.component == "climate"]
        reported = [e for e in climate if e.attributes.get("current_temperature") is not None]
        # a thermostat that has not reported yet still answers (it says so) rather than the weather
        return reported + sensors + [e for e in climate if e not in reported]

    def handle(self, ctx: Context) -> Outcome:
        e = self._sources(ctx)[0]
        value = e.attributes.get("current_temperature") if e.component == "climate" else e.state
        if value in (None, "", "unknown", "unavailable"):
            return Outcome(f"The {spoken(e)} has not reported a temperature yet.")
        unit = e.attributes.get("unit_of_measurement", "")
        unit = "" if unit in ("", "°C", "°F") else f" {unit}"
        where = f"the {e.area}" if e.area and not self.name else f"the {spoken(e)}"
        return Outcome(
            f"It's {_degrees(value)} degrees{unit} in {where}."
            if not self.name
            else f"The {spoken(e)} reads {_degrees(value)} degrees{unit}."
        )


_STATE_WORDS = {
    "on": "on",
    "off": "off",
    "open": "open",
    "closed": "closed",
    "opening": "opening",
    "closing": "closing",
    "locked": "locked",
    "unlocked": "unlocked",
}


@register
class HassGetState(DeviceIntent):
    intent: ClassVar[str] = "HassGetState"
    description: ClassVar[str] = "Ask whether a device is on/off/open/locked, or which/how many are"

    state: str | None = Field(None, description="on, off, open, closed, locked, unlocked")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        if hub_of(ctx) is None:
            raise SlotError("no devices")
        if isinstance(slots.get("state"), str):
            slots["state"] = slots["state"].strip().lower()
        intent = super().from_slots(slots, text, ctx)
        hub = hub_of(ctx)
        if intent.name and find_named(hub, intent.name, None) is None and backend_problem(hub) is None:
            raise SlotError(f"no device called {intent.name!r}")
        return intent

    def handle(self, ctx: Context) -> Outcome:
        hub = hub_of(ctx)
        if self.name:
            e = find_named(hub, self.name, None)
            return Outcome(
                self._one(e) if e is not None else backend_problem(hub) or "I don't know that device."
            )
        t = pick_targets(
            ctx,
            name=None,
            area=self.area,
            domain=self.domain,
            device_class=self.device_class,
            domains={self.domain} if self.domain else {"light", "switch", "fan", "cover", "lock"},
        )
        if t.missing:
            return Outcome(t.missing)
        if self.state is None:
            return Outcome(" ".join(self._one(e) for e in t.entities[:5]))
        hits = [e for e in t.entities if _state(e) == self.state]
        noun = _PLURAL.get(self.domain or "", "devices")
        if not hits:
            return Outcome(f"No, none of the {noun} are {self.state}.")
        names = ", ".join(spoken(e) for e in hits[:6])
        if len(hits) == len(t.entities):
            return Outcome(
                f"Yes, all {len(hits)} {noun} are {self.state}."
                if len(hits) > 1
                else f"Yes, the {spoken(hits[0])} is {self.state}."
            )
        return Outcome(f"Yes, {len(hits)} {noun} {'is' if len(hits) == 1 else 'are'} {self.state}: {names}.")

    def _one(self, e: Any) -> str:
        state = _state(e)
        if state is None:
            return f"I don't know the state of the {spoken(e)} yet."
        if e.component == "sensor":
            unit = e.attributes.get("unit_of_measurement", "")
            return f"The {spoken(e)} is {state}{(' ' + unit) if unit else ''}."
        if self.state:
            yes = state == self.state
            return f"{'Yes' if yes else 'No'}, the {spoken(e)} is {state}."
        return f"The {spoken(e)} is {state}."


def _state(e: Any) -> str | None:
    s = (e.state or "").lower()
    if not s or s in ("unknown", "unavailable", "none"):
        return None
    if e.component in ("light", "switch", "fan"):
        return "on" if s in ("on", "true", "1") else "off" if s in ("off", "false", "0") else s
    if e.component == "cover":
        return {"closed": "closed", "open": "open"}.get(s, s)
    return s
