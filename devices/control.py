"""Turn high-level commands (turn off, dim, colour, temperature, open/close, lock) into MQTT publishes or
Home Assistant service calls. Every method returns the list of actions (plain dicts); ``dry_run=True`` sends nothing."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any, Literal

from devices.entities import Entity, EntityRegistry, StateChange
from devices.homeassistant import HomeAssistantBackend, HomeAssistantError
from devices.mqtt import MqttClient

log = logging.getLogger(__name__)

_HEX = """
aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff beige f5f5dc bisque ffe4c4
black 000000 blanchedalmond ffebcd blue 0000ff blueviolet 8a2be2 brown a52a2a burlywood deb887
cadetblue 5f9ea0 chartreuse 7fff00 chocolate d2691e coral ff7f50 cornflowerblue 6495ed cornsilk fff8dc
crimson dc143c cyan 00ffff darkblue 00008b darkcyan 008b8b darkgoldenrod b8860b darkgray a9a9a9
darkgreen 006400 darkgrey a9a9a9 darkkhaki bdb76b darkmagenta 8b008b darkolivegreen 556b2f
darkorange ff8c00 darkorchid 9932cc darkred 8b0000 darksalmon e9967a darkseagreen 8fbc8f
darkslateblue 483d8b darkslategray 2f4f4f darkslategrey 2f4f4f darkturquoise 00ced1 darkviolet 9400d3
deeppink ff1493 deepskyblue 00bfff dimgray 696969 dimgrey 696969 dodgerblue 1e90ff firebrick b22222
floralwhite fffaf0 forestgreen 228b22 fuchsia ff00ff gainsboro dcdcdc ghostwhite f8f8ff gold ffd700
goldenrod daa520 gray 808080 green 008000 greenyellow adff2f grey 808080 honeydew f0fff0 hotpink ff69b4
indianred cd5c5c indigo 4b0082 ivory fffff0 khaki f0e68c lavender e6e6fa lavenderblush fff0f5
lawngreen 7cfc00 lemonchiffon fffacd lightblue add8e6 lightcoral f08080 lightcyan e0ffff
lightgoldenrodyellow fafad2 lightgray d3d3d3 lightgreen 90ee90 lightgrey d3d3d3 lightpink ffb6c1
lightsalmon ffa07a lightseagreen 20b2aa lightskyblue 87cefa lightslategray 778899 lightslategrey 778899
lightsteelblue b0c4de lightyellow ffffe0 lime 00ff00 limegreen 32cd32 linen faf0e6 magenta ff00ff
maroon 800000 mediumaquamarine 66cdaa mediumblue 0000cd mediumorchid ba55d3 mediumpurple 9370db
mediumseagreen 3cb371 mediumslateblue 7b68ee mediumspringgreen 00fa9a mediumturquoise 48d1cc
mediumvioletred c71585 midnightblue 191970 mintcream f5fffa mistyrose ffe4e1 moccasin ffe4b5
navajowhite ffdead navy 000080 navyblue 000080 oldlace fdf5e6 olive 808000 olivedrab 6b8e23 orange ffa500
orangered ff4500 orchid da70d6 palegoldenrod eee8aa palegreen 98fb98 paleturquoise afeeee
palevioletred db7093 papayawhip ffefd5 peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd
powderblue b0e0e6 purple 800080 red ff0000 rosybrown bc8f8f royalblue 4169e1 saddlebrown 8b4513
salmon fa8072 sandybrown f4a460 seagreen 2e8b57 seashell fff5ee sienna a0522d silver c0c0c0
skyblue 87ceeb slateblue 6a5acd slategray 708090 slategrey 708090 snow fffafa springgreen 00ff7f
steelblue 4682b4 tan d2b48c teal 008080 thistle d8bfd8 tomato ff6347 turquoise 40e0d0 violet ee82ee
wheat f5deb3 white ffffff whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32 homeassistant 03a9f4
"""

COLORS: dict[str, tuple[int, int, int]] = {}
_it = iter(_HEX.split())
for _name, _hex in zip(_it, _it, strict=True):
    COLORS[_name] = (int(_hex[0:2], 16), int(_hex[2:4], 16), int(_hex[4:6], 16))


def color_to_rgb(color: str | tuple[int, int, int] | list[int]) -> tuple[int, int, int]:
    """'dark blue' / 'DarkBlue' / '#00008b' / (0, 0, 139) -> (0, 0, 139). Raises ValueError if unknown."""
    if isinstance(color, (tuple, list)):
        if len(color) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in color):
            raise ValueError(f"rgb colour must be three integers 0-255, got {color!r}")
        return (color[0], color[1], color[2])
    key = "".join(color.lower().split()).replace("-", "").replace("_", "")
    if key.startswith("#") and len(key) == 7:
        try:
            return (int(key[1:3], 16), int(key[3:5], 16), int(key[5:7], 16))
        except ValueError:
            pass
    if key in COLORS:
        return COLORS[key]
    raise ValueError(
        f"unknown colour {color!r}; use a CSS colour name such as 'blue' or 'dark orange', or '#rrggbb'"
    )


DeviceProblem = Literal[
    "both_brightnesses",  # brightness_pct and brightness_step_pct given together
    "no_brightness",
    "no_colour",
    "unknown_colour",  # colour
    "no_white_temperature",
    "nothing_to_set",  # set_light with nothing to change
    "temperature_out_of_range",  # low, high, value
    "no_position",  # a cover that only opens and closes
    "nothing_in_area",  # area, component (None: lights, switches, fans), known (the areas there are)
    "unknown_device",
    "not_exposed",  # entity_id
    "wrong_component",  # component, op
    "looks_like_security",  # op: its MQTT command drives a lock, door or alarm, and cannot be asked about
    "no_topic",  # key, op: the MQTT config lacks the topic op needs
    "not_controllable",  # component
]


class DeviceError(ValueError):
    """A command cannot be carried out on this entity. ``problem`` says what, ``device`` names the
    entity, ``data`` holds the details; intents/device_errors.py says it to the user."""

    def __init__(self, problem: DeviceProblem, device: str = "", **data: Any):
        super().__init__(f"{device or 'device'}: {problem}" + (f" {data}" if data else ""))
        self.problem, self.device, self.data = problem, device, data


class ConfirmationRequired(Exception):
    """The command was not sent: it opens, unlocks or disarms something (or its MQTT command looks as
    if it did), so the user must confirm first. Sending it again with ``confirmed=True`` carries it out."""

    def __init__(self, entity: Entity, command: str):
        super().__init__(f"{entity.name} needs a spoken confirmation before '{command}'")
        self.entity, self.command = entity, command


# The one table from a kind of device to what "turn on" and "turn off" mean for it; any other kind
# is switched on and off. The controller carries the commands out; intents/ words them.
ON_OFF: dict[str, tuple[str, str]] = {
    "cover": ("open", "close"),
    "lock": ("lock", "unlock"),
    "vacuum": ("start", "return"),
}
SWITCHABLE = {"light", "switch", "fan", "climate"}


def command_for(component: str, op: str) -> str:
    """The command ``op`` means for a kind of device: "turn_on" and "turn_off" as ``ON_OFF`` says;
    any other ``op`` ("start", "open", ...) is a command already."""
    on, off = ON_OFF.get(component, ("turn_on", "turn_off"))
    return {"turn_on": on, "turn_off": off}.get(op, op)


Action = dict[str, Any]
_SENSITIVE = {"unlock", "open", "disarm"}
# What an MQTT command drives, judged by its topic and payload rather than by what the entity claims
# to be: a discovered "light" whose command publishes UNLOCK to home/front_door/set is a door lock.
_RISKY_PAYLOAD = re.compile(r"\b(?:UNLOCK\w*|DISARM\w*)\b", re.I)
_OPEN_PAYLOAD = re.compile(r"\bOPEN\b", re.I)
_RISKY_TOPIC_WORDS = {
    "lock",
    "locks",
    "unlock",
    "door",
    "doors",
    "garage",
    "doorlock",
    "frontdoor",
    "backdoor",
    "garagedoor",
    "sidedoor",
    "smartlock",
    "gate",
    "gates",
    "alarm",
    "alarms",
    "deadbolt",
    "opener",
    "garageopener",
}
_HARMLESS_TOPIC_WORDS = {
    "light",
    "lights",
    "lamp",
    "bulb",
    "led",
    "strip",
    "bell",
    "doorbell",
    "sensor",
    "contact",
}
_CONFIRMABLE = {"turn_on", "turn_off", "open", "unlock", "start"}  # what a "yes" can carry out (run_command)


def drives_security(e: Entity, actions: list[Action]) -> bool:
    """Does any of these MQTT commands look like it unlocks, opens or disarms something (a lock, a
    door, a garage, an alarm panel), whatever component the entity says it is?"""
    return any(
        _risky(str(a.get("topic", "")), str(a.get("payload", "")), e.component == "cover")
        for a in actions
        if a.get("type") == "mqtt"
    )


@functools.lru_cache(maxsize=4096)
def _risky(topic: str, payload: str, cover: bool) -> bool:
    """``drives_security`` for one MQTT command (kept: a command to 500 lights judges the same 500
    topics and payloads every time)."""
    if _RISKY_PAYLOAD.search(payload) or (not cover and _OPEN_PAYLOAD.search(payload)):
        return True
    words = set(re.split(r"[^a-z0-9]+", topic.lower())) | {topic.lower()}
    risky = words & _RISKY_TOPIC_WORDS
    # "door" and "garage" also name places: "front door light", "garage lamp" are lights
    return bool(risky - {"door", "doors", "garage"} or (risky and not words & _HARMLESS_TOPIC_WORDS))


class DeviceController:
    """Executes commands on entities from the registry via MQTT or Home Assistant."""

    def __init__(
        self, registry: EntityRegistry, mqtt: MqttClient | None = None, ha: HomeAssistantBackend | None = None
    ):
        self.registry = registry
        self.mqtt = mqtt
        self.ha = ha
        self._batch = threading.local()  # .pending: one-shot MQTT commands of a ``together`` block

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """Commands given inside the block to one-shot MQTT entities are published when it ends, all at
        once, and their PUBACKs awaited together (``MqttClient.deliver_all``): "turn off the lights"
        in a home of 500 waits one round trip, not 500. Their actions say ``sent`` after the block."""
        outer = getattr(self._batch, "pending", None)
        pending: list[tuple[Entity, list[Action], dict[str, Any]]] = []
        self._batch.pending = pending if outer is None else outer
        try:
            yield
        finally:
            if outer is None:
                self._batch.pending = None
                self._deliver_together(pending)

    # ---- public commands -------------------------------------------------------------------
    # Each returns the actions sent (or, dry run, planned), raises DeviceError when the entity cannot
    # do it, and ConfirmationRequired when it must not be done unasked.
    def command(
        self, entity: Entity | str, op: str, *, dry_run: bool = False, confirmed: bool = False
    ) -> list[Action]:
        """Carry out ``op`` ("turn_on", "turn_off", or a command such as "open" or "start") on an
        entity, as ``ON_OFF`` says for its kind: "turn on" opens a cover, locks a lock, starts a vacuum."""
        e = self._entity(entity)
        command = command_for(e.component, op)
        if command in ("turn_on", "turn_off"):
            state = "on" if command == "turn_on" else "off"
            self._require(e, SWITCHABLE, command)
            return self._run(e, command, {"state": state}, dry_run, confirmed)
        if command == "open":
            return self.open_cover(e, dry_run=dry_run, confirmed=confirmed)
        if command == "close":
            return self.close_cover(e, dry_run=dry_run)
        if command == "lock":
            return self.lock(e, dry_run=dry_run)
        if command == "unlock":
            return self.unlock(e, dry_run=dry_run, confirmed=confirmed)
        if command == "start":
            return self.start_vacuum(e, dry_run=dry_run, confirmed=confirmed)
        if command == "return":
            return self.return_vacuum(e, dry_run=dry_run)
        raise DeviceError("wrong_component", e.name, component=e.component, op=op)

    def turn_on(
        self, entity: Entity | str, *, dry_run: bool = False, confirmed: bool = False
    ) -> list[Action]:
        return self.command(entity, "turn_on", dry_run=dry_run, confirmed=confirmed)

    def turn_off(
        self, entity: Entity | str, *, dry_run: bool = False, confirmed: bool = False
    ) -> list[Action]:
        return self.command(entity, "turn_off", dry_run=dry_run, confirmed=confirmed)

    def set_light(
        self,
        entity: Entity | str,
        *,
        brightness_pct: float | None = None,
        brightness_step_pct: float | None = None,
        color: str | tuple[int, int, int] | None = None,
        color_temp_kelvin: int | None = None,
        dry_run: bool = False,
    ) -> list[Action]:
        """Absolute (``brightness_pct``) or relative (``brightness_step_pct``, +/-) brightness, colour name/rgb,
        colour temperature. Relative steps use the tracked brightness (0 when off/unknown)."""
        e = self._entity(entity)
        self._require(e, {"light"}, "set_light")
        args: dict[str, Any] = {}
        if brightness_pct is not None and brightness_step_pct is not None:
            raise DeviceError("both_brightnesses")
        if brightness_pct is not None or brightness_step_pct is not None:
            if e.source != "homeassistant" and "brightness" not in e.capabilities:
                raise DeviceError("no_brightness", e.name)
        if brightness_pct is not None:
            args["brightness_pct"] = _clamp_pct(brightness_pct)
        if brightness_step_pct is not None:
            if e.source == "homeassistant":
                args["brightness_step_pct"] = float(brightness_step_pct)
            else:
                cur = 0.0 if e.state == "off" else (e.attributes.get("brightness") or 0) * 100 / 255
                if e.state == "on" and e.attributes.get("brightness") is None:
                    cur = 100.0
                args["brightness_pct"] = _clamp_pct(cur + brightness_step_pct)
        if color is not None:
            if e.source != "homeassistant" and "color" not in e.capabilities:
                raise DeviceError("no_colour", e.name)
            try:
                args["rgb_color"] = list(color_to_rgb(color))
            except ValueError:
                raise DeviceError("unknown_colour", e.name, colour=color) from None
            if isinstance(color, str) and "".join(color.lower().split()) in COLORS:
                args["color_name"] = "".join(color.lower().split())
        if color_temp_kelvin is not None:
            if e.source != "homeassistant" and "color_temp" not in e.capabilities:
                raise DeviceError("no_white_temperature", e.name)
            args["color_temp_kelvin"] = int(color_temp_kelvin)
        if not args:
            raise DeviceError("nothing_to_set", e.name)
        if args.get("brightness_pct") == 0 and len(args) == 1:
            return self._run(e, "turn_off", {"state": "off"}, dry_run, False, can_ask=False)
        return self._run(e, "turn_on", {"state": "on", **args}, dry_run, False, can_ask=False)

    def set_temperature(self, entity: Entity | str, value: float, *, dry_run: bool = False) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"climate"}, "set_temperature")
        lo, hi = e.attributes.get("min_temp"), e.attributes.get("max_temp")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise DeviceError("temperature_out_of_range", e.name, low=lo, high=hi, value=value)
        return self._run(e, "set_temperature", {"temperature": float(value)}, dry_run, False, can_ask=False)

    def open_cover(
        self, entity: Entity | str, *, dry_run: bool = False, confirmed: bool = False
    ) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"cover"}, "open")
        return self._run(e, "open", {"state": "open"}, dry_run, confirmed)

    def close_cover(self, entity: Entity | str, *, dry_run: bool = False) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"cover"}, "close")
        return self._run(e, "close", {"state": "closed"}, dry_run, True)

    def lock(self, entity: Entity | str, *, dry_run: bool = False) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"lock"}, "lock")
        return self._run(e, "lock", {"state": "locked"}, dry_run, True)

    def unlock(self, entity: Entity | str, *, dry_run: bool = False, confirmed: bool = False) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"lock"}, "unlock")
        return self._run(e, "unlock", {"state": "unlocked"}, dry_run, confirmed)

    def start_vacuum(
        self, entity: Entity | str, *, dry_run: bool = False, confirmed: bool = False
    ) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"vacuum"}, "start")
        return self._run(e, "start", {"state": "cleaning"}, dry_run, confirmed)

    def return_vacuum(self, entity: Entity | str, *, dry_run: bool = False) -> list[Action]:
        e = self._entity(entity)
        self._require(e, {"vacuum"}, "return_home")
        return self._run(e, "return_to_base", {"state": "returning"}, dry_run, True)

    # ---- internals -----------------------------------------------------------------------------
    def _entity(self, entity: Entity | str) -> Entity:
        """The registry's entity (read only: what leaves the controller is a copy or plain values)."""
        eid = entity.entity_id if isinstance(entity, Entity) else entity
        e = self.registry.view(eid)
        if e is None:
            raise DeviceError("unknown_device", eid)
        if not e.exposed:
            raise DeviceError("not_exposed", e.name, entity_id=eid)
        return e

    @staticmethod
    def _require(e: Entity, components: set[str], op: str) -> None:
        if e.component not in components:
            raise DeviceError("wrong_component", e.name, component=e.component, op=op)

    def _run(
        self, e: Entity, op: str, args: dict[str, Any], dry_run: bool, confirmed: bool, can_ask: bool = True
    ) -> list[Action]:
        """Build the actions, check they are safe to send unasked, send them (unless ``dry_run``).
        ``can_ask=False``: the caller cannot ask "are you sure?" (dimming, colours), so a command that
        needs a confirmation is refused instead."""
        if e.source == "homeassistant":
            actions = [self._ha_action(e, op, args)]
        else:
            actions = self._mqtt_actions(e, op, args)
        trusted = e.source == "config" and e.backend.get("requires_confirmation") is False  # the user said so
        if not confirmed and (
            (e.requires_confirmation and op in _SENSITIVE)
            or (not trusted and op not in ("lock", "close") and drives_security(e, actions))
        ):
            if not can_ask or op not in _CONFIRMABLE:
                raise DeviceError("looks_like_security", e.name, op=op)
            raise ConfirmationRequired(e.copy(), op)
        for a in actions:
            a["entity_id"] = e.entity_id
        if dry_run:
            for a in actions:
                a["sent"] = False
                a.setdefault("reason", "dry run")
            return actions
        if e.source == "homeassistant":
            self._send_ha(actions)
        else:
            self._send_mqtt(e, actions, args)
        return actions

    # ---- Home Assistant ----------------------------------------------------------------------
    def _ha_action(self, e: Entity, op: str, args: dict[str, Any]) -> Action:
        domain = e.component
        data: dict[str, Any] = {"entity_id": e.entity_id}
        service = op
        if domain == "light" and op == "turn_on":
            for k in ("brightness_pct", "brightness_step_pct", "color_temp_kelvin"):
                if k in args:
                    data[k] = args[k]
            if "color_name" in args:
                data["color_name"] = args["color_name"]
            elif "rgb_color" in args:
                data["rgb_color"] = args["rgb_color"]
        elif domain == "cover":
            service = {"open": "open_cover", "close": "close_cover"}[op]
        elif domain == "climate" and op == "set_temperature":
            data["temperature"] = args["temperature"]
        return {"type": "ha_service", "domain": domain, "service": service, "data": data}

    def _send_ha(self, actions: list[Action]) -> None:
        for a in actions:
            if self.ha is None:
                a.update(
                    sent=False,
                    reason="Home Assistant is not configured (set home_assistant.url and home_assistant.token)",
                )
                continue
            try:
                self.ha.call_service(a["domain"], a["service"], a["data"])
                a["sent"] = True
            except HomeAssistantError as err:
                a.update(sent=False, reason=str(err))
                log.error("%s", err)

    # ---- MQTT ----------------------------------------------------------------------------------
    def _mqtt_actions(self, e: Entity, op: str, args: dict[str, Any]) -> list[Action]:
        c = e.backend
        qos = 1
        out: list[tuple[str, str]] = []

        def need(key: str) -> str:
            t = c.get(key)
            if not t:
                raise DeviceError("no_topic", e.name, key=key, op=op)
            return t

        comp = e.component
        if comp == "light" and c.get("schema") == "json":
            body: dict[str, Any] = {"state": "ON" if op == "turn_on" else "OFF"}
            if "brightness_pct" in args:
                body["brightness"] = round(
                    args["brightness_pct"] * float(c.get("brightness_scale", 255)) / 100
                )
            if "rgb_color" in args:
                r, g, b = args["rgb_color"]
                body["color"] = {"r": r, "g": g, "b": b}
            if "color_temp_kelvin" in args:
                k = args["color_temp_kelvin"]
                body["color_temp"] = k if c.get("color_temp_kelvin") else round(1_000_000 / k)
            out.append((need("command_topic"), json.dumps(body)))
        elif comp == "light":
            on_type = c.get("on_command_type", "last")
            extra: list[tuple[str, str]] = []
            if "brightness_pct" in args:
                val = round(args["brightness_pct"] * float(c.get("brightness_scale", 255)) / 100)
                extra.append((need("brightness_command_topic"), str(val)))
            if "rgb_color" in args:
                extra.append((need("rgb_command_topic"), ",".join(str(x) for x in args["rgb_color"])))
            if "color_temp_kelvin" in args:
                k = args["color_temp_kelvin"]
                extra.append(
                    (
                        need("color_temp_command_topic"),
                        str(k if c.get("color_temp_kelvin") else round(1_000_000 / k)),
                    )
                )
            if op == "turn_off":
                out.append((need("command_topic"), str(c.get("payload_off", "OFF"))))
            elif not extra:
                out.append((need("command_topic"), str(c.get("payload_on", "ON"))))
            else:
                on_topic = c.get("command_topic")
                on = [(on_topic, str(c.get("payload_on", "ON")))] if on_topic else []
                if on_type == "first":
                    out += on
                out += extra
                if on_type == "last" and e.state != "on":
                    out += on
        elif comp in ("switch", "fan"):
            out.append(
                (
                    need("command_topic"),
                    str(
                        c.get(
                            "payload_on" if op == "turn_on" else "payload_off",
                            "ON" if op == "turn_on" else "OFF",
                        )
                    ),
                )
            )
        elif comp == "cover":
            out.append((need("command_topic"), str(c.get(f"payload_{op}", op.upper()))))
        elif comp == "lock":
            out.append((need("command_topic"), str(c.get(f"payload_{op}", op.upper()))))
        elif comp == "climate":
            if op == "set_temperature":
                t = args["temperature"]
                out.append((need("temperature_command_topic"), str(int(t) if float(t).is_integer() else t)))
            elif c.get("power_command_topic"):
                out.append(
                    (
                        c["power_command_topic"],
                        str(
                            c.get(
                                "payload_on" if op == "turn_on" else "payload_off",
                                "ON" if op == "turn_on" else "OFF",
                            )
                        ),
                    )
                )
            else:
                modes = c.get("modes") or ["heat"]
                mode = (
                    "off"
                    if op == "turn_off"
                    else next((m for m in ("heat", "auto", "cool") if m in modes), "heat")
                )
                out.append((need("mode_command_topic"), mode))
        elif comp == "vacuum":
            out.append((need("command_topic"), str(c.get(f"payload_{op}", op))))
        else:
            raise DeviceError("not_controllable", e.name, component=comp)
        return [
            {"type": "mqtt", "topic": t, "payload": p, "qos": qos, "retain": bool(c.get("retain", False))}
            for t, p in out
        ]

    def _send_mqtt(self, e: Entity, actions: list[Action], args: dict[str, Any]) -> None:
        if self.mqtt is None:
            for a in actions:
                a.update(
                    sent=False,
                    reason="no MQTT broker configured (set mqtt.url, e.g. mqtt://localhost:1883); "
                    "command not sent",
                )
            return
        if not self.mqtt.persistent:  # one-shot: delivered now (or with the rest of a ``together`` block)
            pending = getattr(self._batch, "pending", None)
            if pending is None:
                self._deliver_together([(e, actions, args)])
            else:
                pending.append((e, actions, args))
            return
        for a in actions:  # the service: its queue survives a restart, so queueing is a promise
            now = self.mqtt.publish(a["topic"], a["payload"], qos=a["qos"], retain=a["retain"])
            a["sent"] = now
            if not now:
                a["queued"] = True
                a["reason"] = "broker offline; queued until it reconnects"
        if (change := self._optimistic(e, args)) is not None:
            self.registry.update_states([change])

    def _deliver_together(self, commands: list[tuple[Entity, list[Action], dict[str, Any]]]) -> None:
        """One-shot MQTT commands: deliver every action, then mark each sent or not, with the reason
        (rather than leave it in a queue that dies with the process)."""
        if not commands or self.mqtt is None:
            return
        sent = iter(
            self.mqtt.deliver_all(
                [(a["topic"], a["payload"], a["qos"], a["retain"]) for _, acts, _ in commands for a in acts]
            )
        )
        failed: list[str] = []
        changes: list[StateChange] = []
        for e, actions, args in commands:
            for a in actions:
                a["sent"] = next(sent)
                if not a["sent"]:
                    failed.append(a["topic"])
                    a["reason"] = (
                        f"the MQTT broker at {self.mqtt.address.display} did not take it within "
                        f"{self.mqtt.settings.send_timeout:g} s, so it was not sent"
                    )
            if (change := self._optimistic(e, args)) is not None:
                changes.append(change)
        self.registry.update_states(changes)  # one lock for the lot
        if failed:
            log.warning(
                "MQTT command%s to %s not delivered: %s",
                "s" if len(failed) > 1 else "",
                ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else ""),
                self.mqtt.last_error or "no PUBACK",
            )

    @staticmethod
    def _optimistic(e: Entity, args: dict[str, Any]) -> StateChange | None:
        """The state to set ourselves when the device reports none (HA's 'optimistic' mode), else None."""
        c = e.backend
        if c.get("state_topic") and not c.get("optimistic"):
            return None
        attrs: dict[str, Any] = {}
        if "brightness_pct" in args:
            attrs["brightness"] = round(args["brightness_pct"] * 255 / 100)
        if "rgb_color" in args:
            attrs["rgb_color"] = list(args["rgb_color"])
        if "color_temp_kelvin" in args:
            attrs["color_temp_kelvin"] = args["color_temp_kelvin"]
        if "temperature" in args:
            attrs["temperature"] = args["temperature"]
        state = args.get("state")
        if e.component == "climate":
            state = None if "temperature" in args else ("off" if state == "off" else "heat")
        return StateChange(e.entity_id, state, attrs or None)


def _clamp_pct(v: float) -> float:
    v = float(v)
    v = 0.0 if v < 0 else 100.0 if v > 100 else v
    return int(v) if v.is_integer() else round(v, 1)
