"""Fuzz the assistant with hostile input and print what happened.

Usage: python bench/fuzz.py [--lines 10000] [--configs 10000] [--seed 8] [--top 3]

A private mosquitto is started on 127.0.0.1. ``--configs`` retained discovery configs from
``tests/fuzzgen.py`` (junk of every shape, hostile wildcards and takeovers, some valid devices) are
published, then 5 real lights last. Then:

1. every config is also fed straight into a discovery instance, timing each (max time per config);
2. an Assistant starts as ``assistant ask`` would (one-shot) and reads them all from the broker;
3. ``--lines`` hostile lines go through ``Assistant.ask``, timed one by one;
4. the 5 real lights are switched, in-process and with one-shot ``assistant ask`` processes, and the
   commands are checked at an MQTT subscriber.

Printed: crashes (an exception out of ``ask``, or its "something went wrong" answer), hangs (an
input over 1 s), max and 99th-percentile time per input (wall clock, CPU time of the asking
thread, and of the whole process), actions taken on garbage, and whether the valid lights still
work. Exit status 1 when any of those fails; the 100 ms limit per input applies to the asking
thread's CPU time: wall clock also counts the other processes of a busy machine and a one-shot
assistant's wait for each command's PUBACK, and the process's CPU paho's network thread sending
them (a command to ~480 flooded lights: ~100 ms wall, ~50 ms of paho's CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_config  # noqa: E402
from assistant.core import Assistant, settle_memory  # noqa: E402
from devices.discovery import MqttDiscovery  # noqa: E402
from devices.entities import EntityRegistry  # noqa: E402
from devices.mqtt import MqttClient  # noqa: E402
from devices.settings import MqttSettings  # noqa: E402
from intents.delayed import not_now  # noqa: E402
from intents.normalize import normalize  # noqa: E402
from tests.fixtures_mqtt import Mosquitto, free_port, make_probe  # noqa: E402
from tests.fuzzgen import discovery_configs, lines, offline_config  # noqa: E402

HANG_S = 1.0  # wall clock
LIMIT_S = 0.1  # CPU time of the asking thread per input: wall clock on a shared machine measures the others
REAL = 5


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))] if values else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--top", type=int, default=3, help="list this many of the slowest lines (CPU time)")
    args = ap.parse_args()
    failed = False
    print(
        f"{os.cpu_count()} CPUs; load average at the start: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    broker = Mosquitto().start()
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        probe = make_probe(broker.port)
        probe.subscribe("real/#")
        configs = list(discovery_configs(args.seed, args.configs, "ha"))
        for _, topic, payload in configs:
            probe.client.publish(topic, payload, qos=0, retain=True)
        for i in range(1, REAL + 1):
            probe.publish(
                f"ha/light/real{i}/config",
                json.dumps({"name": f"Bench Light {i}", "cmd_t": f"real/{i}/set", "uniq_id": f"real{i}"}),
                retain=True,
            )
        kinds = {k: sum(1 for c in configs if c[0] == k) for k in ("junk", "hostile", "valid")}
        print(f"discovery: {len(configs)} retained configs published ({kinds}) + {REAL} real lights")

        # 1. each config straight into discovery, timed (in a started process: start-up objects frozen,
        #    as `serve` has them when configs arrive; otherwise a full garbage collection walking every
        #    imported module lands in one config's time)
        settle_memory()
        client = MqttClient(MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}"))  # never connected
        d = MqttDiscovery(client, EntityRegistry(), "ha")
        times, cpu = [], []  # wall clock, and this thread's CPU time (not inflated by a busy machine)
        crashes = 0
        for _, topic, payload in configs:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                d._on_config(topic, payload, True)
            except Exception:  # noqa: BLE001
                crashes += 1
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        print(
            f"  per config: max {max(times) * 1000:.1f} ms, p99 {pct(times, 0.99) * 1000:.2f} ms, "
            f"mean {statistics.mean(times) * 1000:.3f} ms (CPU: max {max(cpu) * 1000:.1f} ms, "
            f"p99 {pct(cpu, 0.99) * 1000:.2f} ms); crashes {crashes}; entities registered {len(d.registry)}"
        )
        failed |= crashes > 0 or max(cpu) > LIMIT_S

        # 2. an assistant reads them from the broker
        dead = f"http://127.0.0.1:{free_port()}/v1/forecast"  # no network: weather fails at once
        cfg = offline_config(
            tmp, {"url": broker.url, "discovery_prefix": "ha", "base_topic": "fuzzbench"}, dead
        )
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
        t0 = time.perf_counter()
        assistant = Assistant(load_config(tmp / "config.yaml", env={}))
        settle_memory()  # as `assistant ask` and `serve` do once started
        hub = assistant.services.devices
        print(
            f"  assistant start with the flood on the broker: {time.perf_counter() - t0:.1f} s; "
            f"configs read {hub.discovery.messages_seen}; entities {len(hub.registry)}; problems: {hub.errors or 'none'}"
        )

        # 3. lines (after one request per kind of intent: first-use imports are not input-dependent)
        for warm in (
            "what time is it",
            "set the kitchen light to 50 percent",
            "set a timer for 1 minute",
            "cancel all timers",
            "set an alarm for 7 am",
            "cancel all alarms",
            "what's the weather",
            "play some jazz",
            "stop",
            "turn off the attic fan",
            "blorp",
        ):
            assistant.ask(warm)
        times, crashes, garbage_acts, hangs, answers, errors, cpu = [], [], 0, 0, {}, [], []
        walls: list[tuple[float, str, int]] = []  # wall clock, line, actions
        process: list[float] = []  # CPU of every thread: paho's sends a bulk command's messages
        timed, acted_now = (
            0,
            0,
        )  # lines said with a time ("in 5 minutes turn off ..."); device actions done at once
        counts = {"command": 0, "garbage": 0, "long": 0}
        for kind, line in lines(args.seed, args.lines):
            counts[kind] += 1
            t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
            try:
                r = assistant.ask(line)
            except Exception as exc:  # noqa: BLE001
                crashes.append(f"{line[:60]!r}: {exc!r}")
                continue
            took = time.perf_counter() - t0
            times.append(took)
            cpu.append((time.thread_time() - c0, line))
            walls.append((took, line, len(r.actions)))
            process.append(time.process_time() - p0)
            hangs += took > HANG_S
            if "something went wrong" in r.response:
                crashes.append(f"{line[:60]!r}: {r.response}")
            elif r.response.startswith("Sorry, I could not do that: "):  # a ValueError & co. caught
                errors.append(f"{line[:60]!r}: {r.response}")
            if kind == "garbage" and r.actions:
                garbage_acts += 1
                print(f"  ACTED on garbage {line[:60]!r}: {r.actions}")
            if len(line) <= 1000 and not_now(normalize(line)) is not None:  # a time said with it
                timed += 1
                if any(a.get("type") in ("mqtt", "ha_service") for a in r.actions):
                    acted_now += 1
                    print(f"  ACTED NOW on a line said with a time {line[:60]!r}: {r.actions[:2]}")
            key = r.intent or "(none)"
            answers[key] = answers.get(key, 0) + 1
        print(
            f"lines: {len(times) + len(crashes)} ({counts}); crashes {len(crashes)}; hangs (> {HANG_S:g} s) {hangs}; "
            f"max {max(times) * 1000:.0f} ms, p99 {pct(times, 0.99) * 1000:.0f} ms, "
            f"median {statistics.median(times) * 1000:.1f} ms; actions on garbage {garbage_acts}"
        )
        print(f"  lines said with a time: {timed}; device commands done at once among them: {acted_now}")
        cpu.sort(key=lambda c: c[0])
        print(
            f"  CPU time of the asking thread: max {cpu[-1][0] * 1000:.0f} ms, "
            f"p99 {cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))][0] * 1000:.0f} ms; "
            f"over {LIMIT_S * 1000:.0f} ms: {sum(c > LIMIT_S for c, _ in cpu)}; the slowest:"
        )
        for c, line in reversed(cpu[-args.top :]):
            print(f"    {c * 1000:4.0f} ms {line[:70]!r}")
        print(
            f"  CPU time of the whole process (every thread): max {max(process) * 1000:.0f} ms, "
            f"p99 {pct(process, 0.99) * 1000:.0f} ms"
        )
        walls.sort(key=lambda w: w[0])
        print("  the slowest by wall clock (a one-shot assistant waits for each command's PUBACK):")
        for took, line, acts in reversed(walls[-3:]):
            print(f"    {took * 1000:4.0f} ms {line[:70]!r} ({acts} actions)")
        print(f"  errors caught as 'Sorry, I could not do that' (bad input, or a bug): {len(errors)}")
        for e in errors[:5]:
            print(f"    {e}")
        top = sorted(answers.items(), key=lambda kv: -kv[1])[:8]
        print("  intents: " + ", ".join(f"{k} {v}" for k, v in top))
        for c in crashes[:10]:
            print(f"  CRASH {c}")
        failed |= bool(crashes) or hangs > 0 or garbage_acts > 0 or acted_now > 0 or cpu[-1][0] > LIMIT_S

        # 4. the real lights still work
        ok = 0
        for i in range(1, REAL + 1):
            before = len(probe.received(f"real/{i}/set"))  # the fuzzed lines may have switched it too
            r = assistant.ask(f"turn on bench light {i}")
            good = r.response == f"Turned on the Bench Light {i}." and probe.wait_message(
                f"real/{i}/set", before + 1, 3
            )[before:] == ["ON"]
            ok += good
            if not good:
                print(f"  bench light {i}: {r.response!r} {r.actions}")
        assistant.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update(ASSISTANT_CONFIG=str(tmp / "config.yaml"), PYTHONPATH=str(ROOT))
        cli_ok, cli_times, cli_warnings = 0, [], set()
        for i in range(1, REAL + 1):
            before = len(probe.received(f"real/{i}/set"))
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "assistant.cli", "ask", f"turn off bench light {i}", "--json"],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            cli_times.append(time.perf_counter() - t0)
            result = json.loads(out.stdout) if out.returncode == 0 and out.stdout else {}
            said = result.get("response", out.stderr[-200:])
            cli_warnings.update(result.get("warnings", []))
            good = said == f"Turned off the Bench Light {i}." and probe.wait_message(
                f"real/{i}/set", before + 1, 3
            )[before:] == ["OFF"]
            cli_ok += good
            if not good:
                print(f"  one-shot bench light {i}: {said!r}")
        print(
            f"valid lights after the flood: in-process {ok}/{REAL}, one-shot `assistant ask` {cli_ok}/{REAL} "
            f"(each {min(cli_times):.1f}-{max(cli_times):.1f} s, start-up and discovery included)"
        )
        for w in sorted(cli_warnings):
            print(f"  one-shot warning: {w}")
        failed |= ok < REAL or cli_ok < REAL
    finally:
        broker.cleanup()
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
