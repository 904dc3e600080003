"""Latency from ``controller.turn_off(...)`` to the command arriving at an MQTT subscriber.

Usage: python bench/mqtt_latency.py [--runs 100] [--url mqtt://host:port]
Without --url a private mosquitto is started on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices.hub import DeviceHub
from devices.settings import DeviceConfig, DevicesSettings, HomeAssistantSettings, MqttSettings


def start_mosquitto() -> tuple[subprocess.Popen, str, Path]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = Path(tempfile.mkdtemp(prefix="mosq-bench-"))
    (d / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen(
        [exe, "-c", str(d / "m.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"mqtt://127.0.0.1:{port}", d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--url")
    args = ap.parse_args()
    proc = tmp = None
    url = args.url
    if not url:
        proc, url, tmp = start_mosquitto()
    topic = "bench/kitchen/set"
    hub = DeviceHub.from_settings(
        MqttSettings(url=url, base_topic="bench/assistant", discovery_prefix="bench/ha"),
        HomeAssistantSettings(),
        DevicesSettings(
            devices=[DeviceConfig(name="Kitchen", component="light", command_topic=topic)], discovery_wait=0
        ),
    )
    arrived = threading.Event()
    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: arrived.set()
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    p = urlparse(url)
    sub.connect(p.hostname, p.port or 1883)
    sub.loop_start()
    sub.subscribe(topic, 1)
    subscribed.wait(5)
    try:
        if hub.start(timeout=5):
            raise SystemExit(f"cannot connect: {hub.errors}")
        samples = []
        for _ in range(args.runs):
            arrived.clear()
            t0 = time.perf_counter()
            hub.controller.turn_off("light.kitchen")
            if not arrived.wait(5):
                raise SystemExit("command did not arrive within 5 s")
            samples.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.005)
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
        print(
            f"runs={len(samples)} p50={statistics.median(samples):.2f} ms p95={p95:.2f} ms "
            f"min={samples[0]:.2f} ms max={samples[-1]:.2f} ms"
        )
    finally:
        hub.stop()
        sub.disconnect()
        sub.loop_stop()
        if proc:
            proc.terminate()
            proc.wait(5)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
