"""CPU time of one command to every light of a discovery flood, the slowest kind of line in bench/fuzz.py.

Usage: python bench/bulk_command.py [--configs 10000] [--seed 8] [--repeat 3] [--profile FILE]

A private mosquitto gets the retained discovery configs bench/fuzz.py publishes (``tests/fuzzgen.py``,
same seed: ~480 of them become lights); an Assistant starts on them as ``assistant ask`` does (one-shot:
every command is delivered and its PUBACK awaited). Then each line below is asked ``--repeat`` times
and the asking thread's CPU time printed: the first "turn off" changes every light's state, the
next ones find them off already. ``--profile FILE``: the first "turn off the lights" under cProfile,
its stats written to FILE (read with ``python -m pstats FILE``), the 25 costliest functions printed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_config  # noqa: E402
from assistant.core import Assistant, settle_memory  # noqa: E402
from tests.fixtures_mqtt import Mosquitto, free_port, make_probe  # noqa: E402
from tests.fuzzgen import discovery_configs  # noqa: E402

LINES = (
    "turn off the lights",
    "turn on the lights",
    "turn off the lights",
    "in -5 minutes turn off the lights",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", type=Path, help="write cProfile stats of the first bulk command here")
    ap.add_argument(
        "--loop", type=int, default=0, help="then ask the lines this many times more (for py-spy)"
    )
    args = ap.parse_args()
    broker = Mosquitto().start()
    tmp = Path(tempfile.mkdtemp(prefix="bulk-"))
    try:
        probe = make_probe(broker.port)
        for _, topic, payload in discovery_configs(args.seed, args.configs, "ha"):
            probe.client.publish(topic, payload, qos=0, retain=True)
        probe.publish(
            "ha/light/real1/config", json.dumps({"name": "Bench Light 1", "cmd_t": "real/1/set"}), retain=True
        )
        dead = f"http://127.0.0.1:{free_port()}/v1/forecast"
        (tmp / "music").mkdir()
        cfg = {
            "data_dir": str(tmp / "data"),
            "timezone": "UTC",
            "weather": {"forecast_url": dead, "geocoding_url": dead},
            "media": {"music_dir": str(tmp / "music"), "cache_dir": str(tmp / "cache")},
            "mqtt": {"url": broker.url, "discovery_prefix": "ha", "base_topic": "bulkbench"},
        }
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
        assistant = Assistant(load_config(tmp / "config.yaml", env={}))
        settle_memory()
        hub = assistant.services.devices
        lights = hub.registry.exposed({"light"})
        print(f"entities {len(hub.registry)}, exposed lights {len(lights)}")
        for warm in ("set the bench light 1 to 50 percent", "turn off the attic fan", "what time is it"):
            assistant.ask(warm)
        if args.profile:  # the first command (every light changes state) under cProfile
            prof = cProfile.Profile()
            prof.enable()
            assistant.ask(LINES[0])
            prof.disable()
            prof.dump_stats(args.profile)
            print(f"{LINES[0]!r} under cProfile (wall clock: 'acquire' is the wait for PUBACKs)")
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
            pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(45)
            assistant.ask("turn on the lights")
        for line in LINES:
            cpu = []
            for _ in range(args.repeat):
                c0, t0 = time.thread_time(), time.perf_counter()
                r = assistant.ask(line)
                cpu.append(((time.thread_time() - c0) * 1000, (time.perf_counter() - t0) * 1000))
            sent = sum(1 for a in r.actions if a.get("sent"))
            print(
                f"{line!r}: CPU ms "
                + ", ".join(f"{c:.0f}" for c, _ in cpu)
                + " (wall "
                + ", ".join(f"{w:.0f}" for _, w in cpu)
                + f"); last: {sent} sent, {r.response[:60]!r}"
            )
        for _ in range(args.loop):
            for line in LINES:
                assistant.ask(line)
        assistant.close()
    finally:
        broker.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
