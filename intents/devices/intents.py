"""The device intents: HassTurnOn/Off, HassVacuumStart, HassLightSet, HassClimateSetTemperature,
HassClimateGetTemperature, HassGetState."""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import Field

from ..conversation import Question
from ..device_errors import say_device_error
from ..registry import register
from ..schema import Context, Intent, IntentError, Outcome, SlotError, Usage
from .commands import run_command, settle, undelivered
from .targets import Target, backend_problem, find_named, hub_of, pick_targets, resolve_area, the_hub
from .words import FUTURE, NOT_A_NAME, PALETTE, PAST, PLURAL, clean, kind_of, says, spoken

if TYPE_CHECKING:
    from devices.entities import Entity
    from devices.hub import DeviceHub

log = logging.getLogger(__name__)


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
    op: ClassVar[str | None] = None  # its command: an answer to "Which one do you mean?" runs it

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
            if NOT_A_NAME.search(name) and (hub is None or find_named(hub, name, None) is None):
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
    def _canonical(cls, hub: DeviceHub, slots: dict[str, Any], text: str) -> None:
        """Report the registry's names: 'bedroom lamp' said as area + kind is the Bedroom Lamp itself."""
        allowed = cls._allowed(slots.get("domain"))
        if not slots.get("name") and slots.get("area") and slots.get("domain"):
            best = None
            for e in hub.registry.exposed():
                if allowed and e.component not in allowed:
                    continue
                for n in (e.name, *e.aliases):
                    if len(n) > len(best[1] if best else "") and says(text, n.lower()):
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
            op=self.op,
        )


@register
class HassTurnOn(DeviceIntent):
    intent: ClassVar[str] = "HassTurnOn"
    delayable: ClassVar[bool] = True
    reply_heads: ClassVar[tuple[str, ...]] = tuple(
        said
        for verb in ("turn_on", "turn_off", "open", "close")
        for said in (PAST[verb], "Would " + FUTURE[verb])
    )
    usage: ClassVar[Usage] = Usage(
        "control your lights and devices",
        "Turn on the kitchen light.",
        ("light", "lights", "lamp", "device", "devices", "switch", "fan", "heating", "thermostat", "door"),
        needs="devices",
    )
    description: ClassVar[str] = "Turn on / open / start / lock a device, or all lights (fans...) in an area"
    op: ClassVar[str] = "turn_on"

    def handle(self, ctx: Context) -> Outcome:
        return run_command(ctx, self.op, self.target(ctx))


@register
class HassTurnOff(HassTurnOn):
    intent: ClassVar[str] = "HassTurnOff"
    description: ClassVar[str] = "Turn off / close / unlock a device, or everything in an area"
    op: ClassVar[str] = "turn_off"


@register
class HassVacuumStart(DeviceIntent):
    intent: ClassVar[str] = "HassVacuumStart"
    delayable: ClassVar[bool] = True
    reply_heads: ClassVar[tuple[str, ...]] = (PAST["start"], "Would " + FUTURE["start"])
    description: ClassVar[str] = "Start the robot vacuum"
    domains: ClassVar[set[str] | None] = {"vacuum"}

    def handle(self, ctx: Context) -> Outcome:
        if self.name:
            t = pick_targets(ctx, name=self.name, area=None, domain="vacuum")
        else:  # the one in the box's area, else any
            hub = the_hub(ctx)
            place = resolve_area(hub, ctx.area)
            here = [e for e in hub.registry.in_area(place) if e.component == "vacuum"] if place else []
            t = Target(here or [e for e in hub.registry.exposed() if e.component == "vacuum"])
            if not t.entities:
                raise IntentError("There is no robot vacuum.")
        return run_command(ctx, "start", Target(t.entities[:1]))


_STEP_SMALL = re.compile(r"\b(?:a (?:little )?bit|a little|slightly|a touch|a tad|somewhat)\b")
_STEP_BIG = re.compile(r"\b(?:a lot|much|way|lots|significantly|all the way)\b")


@register
class HassLightSet(DeviceIntent):
    intent: ClassVar[str] = "HassLightSet"
    delayable: ClassVar[bool] = True
    reply_heads: ClassVar[tuple[str, ...]] = ("Set", "Would have set", "Turned off")
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
                color = PALETTE[int(time.time() * 1000) % len(PALETTE)]
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
        hub = the_hub(ctx)
        problems: list[str] = []
        issued: list[tuple[Entity, list[dict[str, Any]]]] = []
        with hub.controller.together():  # sent at the end of the block, all at once
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
                    issued.append((e, acts))
                except DeviceError as exc:
                    problems.append(say_device_error(exc))
        actions, delivered, queued, failures = settle(issued, ctx, lambda e: f"set the {spoken(e)}")
        kept = {id(e) for e in delivered + queued}  # a queued light command counts as done here
        done = [e for e, _ in issued if id(e) in kept]
        problems += failures
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
    if name or area:
        return pick_targets(ctx, name=name, area=area, domain="climate", default_all=False)
    hub = the_hub(ctx)
    place = resolve_area(hub, ctx.area)
    here = [e for e in hub.registry.in_area(place) if e.component == "climate"] if place else []
    if here:
        return Target(here, area=place, domain="climate")
    everywhere = [e for e in hub.registry.exposed() if e.component == "climate"]
    if len(everywhere) > 1:
        names = [e.area or spoken(e) for e in everywhere]
        if len(set(names)) < len(names):
            names = [spoken(e) for e in everywhere]
        listed = ", ".join(f"the {n}" for n in names[:-1]) + f" or the {names[-1]}"
        raise IntentError(
            f"Which thermostat: {listed}? Say, for example, set the {names[0]} thermostat to {value} degrees."
        )
    if everywhere:
        return Target(everywhere)
    raise IntentError(backend_problem(hub) or "There is no thermostat.")


@register
class HassClimateSetTemperature(DeviceIntent):
    intent: ClassVar[str] = "HassClimateSetTemperature"
    delayable: ClassVar[bool] = True
    reply_heads: ClassVar[tuple[str, ...]] = ("Set", "Would set")
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
        e = t.entities[0]
        try:
            actions = the_hub(ctx).controller.set_temperature(e, self.temperature, dry_run=ctx.dry_run)
        except DeviceError as exc:
            return Outcome(say_device_error(exc))
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

    def _sources(self, ctx: Context) -> list[Entity]:
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
        hub = hub_of(ctx)
        if hub is None:
            raise SlotError("no devices")
        if isinstance(slots.get("state"), str):
            slots["state"] = slots["state"].strip().lower()
        intent = super().from_slots(slots, text, ctx)
        if intent.name and find_named(hub, intent.name, None) is None and backend_problem(hub) is None:
            raise SlotError(f"no device called {intent.name!r}")
        return intent

    def handle(self, ctx: Context) -> Outcome:
        hub = the_hub(ctx)
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
        if self.state is None:
            return Outcome(" ".join(self._one(e) for e in t.entities[:5]))
        hits = [e for e in t.entities if _state(e) == self.state]
        noun = PLURAL.get(self.domain or "", "devices")
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

    def _one(self, e: Entity) -> str:
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


def _state(e: Entity) -> str | None:
    s = (e.state or "").lower()
    if not s or s in ("unknown", "unavailable", "none"):
        return None
    if e.component in ("light", "switch", "fan"):
        return "on" if s in ("on", "true", "1") else "off" if s in ("off", "false", "0") else s
    if e.component == "cover":
        return {"closed": "closed", "open": "open"}.get(s, s)
    return s
