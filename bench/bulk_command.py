"""CPU time of one command to every light of a discovery flood: the slowest lines of bench/fuzz.py.

Usage: python bench/bulk_command.py [--configs 10000] [--seed 8] [--repeat 10] [--profile FILE]
                                    [--line TEXT ...]

A private mosquitto gets the retained discovery configs bench/fuzz.py publishes (``tests/fuzzgen.py``,
same seed: ~480 of them become optimistic lights); an Assistant starts on them as ``assistant ask``
does (one-shot: every command is delivered and its PUBACK awaited). Printed, as CPU time of the
asking thread (what bench/fuzz.py judges against 100 ms):

* the first "turn off the lights": a text not seen before, and every light changes state;
* "turn on the lights" / "turn off the lights" in turn (every light changes state; the templates'
  match of a text seen before is kept, so this is the command without most of its recognition);
* "turn off the lights" again and again (already off);
* the first "in -5 minutes turn off the lights".

``--line TEXT`` (repeatable): ask these instead, ``--repeat`` times each. ``--profile FILE``: the
first command under cProfile (wall clock) instead, stats written to FILE and the costliest printed.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_config  # noqa: E402
from assistant.core import Assistant, settle_memory  # noqa: E402
from tests.fixtures_mqtt import Mosquitto, free_port, make_probe  # noqa: E402
from tests.fuzzgen import discovery_configs, offline_config  # noqa: E402

LINES = ("turn on the lights", "turn off the lights")


@contextlib.contextmanager
def flooded_assistant(configs: int, seed: int) -> Iterator[Assistant]:
    """A one-shot Assistant on a private broker that holds bench/fuzz.py's discovery flood."""
    broker = Mosquitto().start()
    tmp = Path(tempfile.mkdtemp(prefix="bulk-"))
    try:
        probe = make_probe(broker.port)
        for _, topic, payload in discovery_configs(seed, configs, "ha"):
            probe.client.publish(topic, payload, qos=0, retain=True)
        probe.publish(
            "ha/light/real1/config", json.dumps({"name": "Bench Light 1", "cmd_t": "real/1/set"}), retain=True
        )
        dead = f"http://127.0.0.1:{free_port()}/v1/forecast"
        cfg = offline_config(
            tmp, {"url": broker.url, "discovery_prefix": "ha", "base_topic": "bulkbench"}, dead
        )
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
        assistant = Assistant(load_config(tmp / "config.yaml", env={}))
        settle_memory()
        hub = assistant.services.devices
        print(f"entities {len(hub.registry)}, exposed lights {len(hub.registry.exposed({'light'}))}")
        for warm in ("set the bench light 1 to 50 percent", "turn off the attic fan", "what time is it"):
            assistant.ask(warm)
        try:
            yield assistant
        finally:
            assistant.close()
    finally:
        broker.cleanup()


def measure(assistant: Assistant, line: str) -> tuple[float, str]:
    """(CPU ms of this thread, the answer's start)"""
    c0 = time.thread_time()
    r = assistant.ask(line)
    return (time.thread_time() - c0) * 1000, r.response[:50]


def summary(ms: list[float]) -> str:
    return f"median {statistics.median(ms):.0f} ms CPU, min {min(ms):.0f}, max {max(ms):.0f} (n={len(ms)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--profile", type=Path, help="write cProfile stats of the first command here")
    ap.add_argument("--line", action="append", help="ask this line instead of the bulk commands (repeatable)")
    args = ap.parse_args()
    with flooded_assistant(args.configs, args.seed) as assistant:
        if args.profile:
            prof = cProfile.Profile()
            line = (args.line or ["turn off the lights"])[0]
            prof.enable()
            assistant.ask(line)
            prof.disable()
            prof.dump_stats(args.profile)
            print(f"{line!r} under cProfile (wall clock: 'acquire' is the wait for PUBACKs)")
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
            pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(45)
        elif args.line:
            for line in args.line:
                cpu = [measure(assistant, line) for _ in range(args.repeat)]
                print(f"{line!r}: CPU ms " + ", ".join(f"{c:.0f}" for c, _ in cpu) + f"; {cpu[-1][1]!r}")
        else:
            ms, said = measure(assistant, "turn off the lights")
            print(f"first 'turn off the lights' (every light changes state): {ms:.0f} ms CPU; {said!r}")
            switched = [measure(assistant, LINES[i % 2])[0] for i in range(2 * args.repeat)]
            print(f"'turn on/off the lights' in turn (every light changes state): {summary(switched)}")
            again = [measure(assistant, LINES[1])[0] for _ in range(args.repeat)]
            print(f"'turn off the lights' again (already off): {summary(again)}")
            line = "in -5 minutes turn off the lights"
            print(f"first {line!r}: {measure(assistant, line)[0]:.0f} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
