"""Seeded generators of hostile input: typed or spoken lines, and MQTT discovery configs.

Used by ``tests/test_fuzz.py`` (a few thousand of each, in the suite) and ``bench/fuzz.py`` (10 000 of
each against a real mosquitto). Every item comes with a kind; ``"garbage"`` items must never make
the assistant act.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WORDS = (
    "set timer alarm for minutes hours seconds at am pm turn off on the kitchen light lights lock unlock door "
    "garage open close cancel all my every day tomorrow yesterday april 31st of play music weather what "
    "time is it add to take dim brightness percent degrees called named in and a an please stop snooze "
    "minus negative one two three twenty thousand million billion zero"
).split()
NUMBERS = [
    "0",
    "-5",
    "-0",
    "1",
    "7",
    "23",
    "24",
    "25",
    "59",
    "60",
    "99",
    "100",
    "999999999",
    "99999999999999",
    "9" * 40,
    "1" * 400,
    "1e309",
    "nan",
    "inf",
    "3.5",
    "1,000",
    "0x1f",
    "٣",
    "²",
    "½",
    "one hundred",
    "a billion",
    "twenty-five",
    "minus five",
]
TIMES = [
    "25:99",
    "23:5",
    "23:5 am",
    "13 am",
    "0:00",
    "24:00",
    "12:60",
    "7:30 pm",
    "99:99 pm",
    "7 am",
    "noon",
    "midnight",
    "1:2:3",
    "7.30",
    "730 am",
    ":",
    "::",
    "7:",
    ":30",
]
DATES = [
    "on the 31st of april",
    "on february 30th",
    "on the 32nd",
    "yesterday",
    "last monday",
    "2 days ago",
    "on 2026-13-45",
    "on 0000-00-00",
    "tomorrow",
    "on the 29th of february",
    "on christmas",
    "next year",
]
COMMANDS = [
    "set a timer for {n} minutes",
    "set a timer for {n} hours and {n} seconds",
    "add {n} minutes to the timer",
    "take {n} seconds off the timer",
    "set an alarm for {t}",
    "set an alarm for {t} {d}",
    "wake me up at {t} {d}",
    "set an alarm at {t} called {w}",
    "cancel the alarm at {t}",
    "snooze for {n} minutes",
    "set the kitchen light to {n} percent",
    "set the thermostat to {n} degrees",
    "turn off the {w} light",
    "turn off the {w}",
    "unlock the {w}",
    "open the {w} door",
    "what's the weather {d}",
    "what day is {d}",
    "remind me in {n} minutes to {w}",
    "in {n} minutes turn off the {w}",
    "turn off the {w} lights in {n} minutes",
    "at {t} turn on the {w}",
    "turn on the {w} light {d} at {t}",
    "cancel all timers",
    "play {w}",
]
JUNK_CHARS = string.printable + "äöüß€漢字🙂\u200b\u202e\u0000\x7f\ufeff"


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _junk(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(JUNK_CHARS) for _ in range(n))


def lines(seed: int, count: int) -> Iterator[tuple[str, str]]:
    """(kind, line): kind is "command" (a plausible request with hostile values), "garbage"
    (must not act), or "long" (over the length cap)."""
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.55:
            template = rng.choice(COMMANDS)
            line = template.format(
                n=rng.choice(NUMBERS),
                t=rng.choice(TIMES),
                d=rng.choice(DATES),
                w=" ".join(_word(rng) for _ in range(rng.randint(1, 3))),
            )
            yield "command", line
        elif roll < 0.75:
            yield "garbage", _junk(rng, rng.randint(0, 200))
        elif roll < 0.85:
            yield (
                "garbage",
                " ".join(
                    rng.choice(["x", "qq", "zzz", "blorp", "~", "%%", "\\d+", "(a+)+", ".*"])
                    for _ in range(rng.randint(1, 40))
                ),
            )
        elif roll < 0.9:
            digits = "".join(rng.choice("0123456789-:") for _ in range(rng.randint(100, 3000)))
            yield "garbage", digits
        elif roll < 0.95:
            yield "long", " ".join(_word(rng) for _ in range(rng.randint(200, 2000)))
        else:
            yield "command", " ".join(_word(rng) for _ in range(rng.randint(2, 12)))


COMPONENTS = [
    "light",
    "switch",
    "fan",
    "cover",
    "lock",
    "climate",
    "vacuum",
    "sensor",
    "binary_sensor",
    "alarm_control_panel",
    "device",
    "camera",
    "../..",
    "",
]
KEYS = [
    "name",
    "cmd_t",
    "stat_t",
    "avty_t",
    "avty",
    "pl_on",
    "pl_off",
    "pl_unlk",
    "dev",
    "uniq_id",
    "obj_id",
    "def_ent_id",
    "sch",
    "bri_cmd_t",
    "bri_scl",
    "val_tpl",
    "stat_val_tpl",
    "~",
    "cmps",
    "json_attr_t",
    "pos_t",
    "set_pos_t",
    "temp_cmd_t",
    "modes",
    "sup_clrm",
    "p",
    "qos",
    "ret",
    "opt",
    "dev_cla",
]


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(
            [
                "#",
                "+",
                "a/#",
                "home/+/set",
                "",
                "~/set",
                "set~",
                "home/front_door/set",
                "UNLOCK",
                "OPEN",
                "DISARM",
                "ON",
                "OFF",
                "{{ value_json.state }}",
                "{{ value | int }}",
                "{% for x in y %}",
                "{{ 7*7 }}",
                "x" * rng.choice([10, 65, 1000, 70000]),
            ]
        )
    if roll < 0.45:
        return rng.choice([0, -1, 2**63, 10**400 if depth else 1e308, 3.14, True, False, None])
    if roll < 0.6 and depth < 3:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if roll < 0.7 and depth < 3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return _junk(rng, rng.randint(0, 30))


def discovery_configs(seed: int, count: int, prefix: str) -> Iterator[tuple[str, str, bytes]]:
    """(kind, topic, payload) under ``prefix`` (the discovery prefix): "junk" configs of every shape,
    "valid" lights and switches with unique names, "hostile" ones that try wildcards and takeovers."""
    rng = random.Random(seed)
    for i in range(count):
        roll = rng.random()
        comp = rng.choice(COMPONENTS)
        odd = "".join(rng.choice(["x", "ä", "漢", "🙂", "$", " ", "..", "-", "_"]) for _ in range(5))
        topic = (
            f"{prefix}/{comp}/fz{i}/config" if rng.random() < 0.9 else f"{prefix}/{comp}/{odd}/x{i}/config"
        )
        if roll < 0.1:
            payload = {"name": f"Fuzz Device {i}", "cmd_t": f"fuzz/{i}/set", "uniq_id": f"fz{i}"}
            yield (
                "valid",
                f"{prefix}/{rng.choice(['light', 'switch'])}/fz{i}/config",
                json.dumps(payload).encode(),
            )
            continue
        if roll < 0.3:
            payload = {
                "name": rng.choice(["Kitchen Light", "Front Door", "x" * 200, "Hall Light"]),
                "cmd_t": rng.choice(["#", "home/front_door/set", f"fuzz/{i}/set", "+/set"]),
                "stat_t": rng.choice(["#", "+", f"fuzz/{i}/state", "$SYS/#"]),
                "avty_t": rng.choice(["#", f"fuzz/{i}/avail", None]),
                "pl_off": rng.choice(["UNLOCK", "OFF", "DISARM"]),
                "def_ent_id": rng.choice(["light.a", "lock.front_door", f"light.fz{i}", None]),
            }
            yield "hostile", topic, json.dumps(payload).encode()
            continue
        if roll < 0.6:
            payload = {rng.choice(KEYS): _value(rng) for _ in range(rng.randint(0, 12))}
            try:
                raw = json.dumps(payload).encode()
            except (ValueError, OverflowError):
                raw = b"{}"
            yield "junk", topic, raw
            continue
        if roll < 0.8:
            yield "junk", topic, _junk(rng, rng.randint(0, 300)).encode("utf-8", "surrogatepass")
        elif roll < 0.9:
            yield "junk", topic, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
        else:
            depth = rng.randint(10, 2000)
            yield "junk", topic, ("[" * depth + "]" * depth).encode()


def offline_config(tmp: Path, mqtt: dict[str, Any], weather_url: str) -> dict[str, Any]:
    """An assistant's config for a fuzz run: data and music in tmp, weather at a dead local URL (it
    answers "unavailable" at once, offline), the given MQTT settings."""
    (tmp / "music").mkdir(exist_ok=True)
    return {
        "data_dir": str(tmp / "data"),
        "timezone": "UTC",
        "weather": {"forecast_url": weather_url, "geocoding_url": weather_url},
        "media": {"music_dir": str(tmp / "music"), "cache_dir": str(tmp / "cache")},
        "mqtt": mqtt,
    }
