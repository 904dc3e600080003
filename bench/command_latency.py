"""Latency from ``Assistant.ask("turn off the kitchen light")`` to the command arriving at the broker
(measured by a second MQTT client subscribed to the command topic).

Usage: python bench/command_latency.py [--runs 100] [--url mqtt://host:port]
Without --url a private mosquitto is started on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from assistant.config import load_config
from assistant.core import Assistant
from bench.mqtt_latency import start_mosquitto


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--url")
    args = ap.parse_args()
    proc = None
    url = args.url
    if not url:
        proc, url, _ = start_mosquitto()
    tmp = Path(tempfile.mkdtemp(prefix="cmd-latency-"))
    topic = "bench/kitchen_light/set"
    cfg = {
        "data_dir": str(tmp),
        "timezone": "UTC",
        "area": "kitchen",
        "mqtt": {"url": url, "base_topic": "bench/assistant", "discovery_prefix": "bench/ha"},
        "devices": {
            "discovery_wait": 0,
            "devices": [
                {"name": "Kitchen Light", "component": "light", "area": "kitchen", "command_topic": topic}
            ],
        },
    }
    (tmp / "config.yaml").write_text(json.dumps(cfg))
    assistant = Assistant(load_config(tmp / "config.yaml", env={}))
    arrived = threading.Event()
    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: arrived.set()
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    host, port = url.split("//")[1].split(":")
    sub.connect(host, int(port))
    sub.loop_start()
    sub.subscribe(topic, 1)
    subscribed.wait(5)
    samples, ask_ms = [], []
    try:
        for i in range(args.runs):
            arrived.clear()
            text = "turn off the kitchen light" if i % 2 else "turn on the kitchen light"
            t0 = time.perf_counter()
            result = assistant.ask(text)
            ask_ms.append((time.perf_counter() - t0) * 1000)
            if not arrived.wait(5):
                raise SystemExit(f"command for {text!r} never arrived: {result.response}")
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        sub.loop_stop()
        assistant.close()
        if proc is not None:
            proc.terminate()
    q = statistics.quantiles(samples, n=20)
    print(
        f"ask -> MQTT message at a subscriber, {len(samples)} runs: p50 {statistics.median(samples):.2f} ms  "
        f"p95 {q[18]:.2f} ms  max {max(samples):.2f} ms  (ask() itself p50 {statistics.median(ask_ms):.2f} ms)"
    )


if __name__ == "__main__":
    main()
