"""A real mosquitto broker on 127.0.0.1: the fixtures ``mosquitto`` (one per session), ``prefix`` (a
fresh topic prefix per test) and ``probe`` (a client that records what it sees), registered in
tests/conftest.py; helpers (imported by name): ``Mosquitto``, ``make_probe``, ``wait_for``,
``free_port``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout: float = 5.0, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


class Mosquitto:
    """A mosquitto process on 127.0.0.1:<port>; can be stopped and started again on the same port."""

    def __init__(self, port: int | None = None, persistence: bool = False):
        if not os.path.exists(MOSQUITTO):
            pytest.fail(f"mosquitto not found at {MOSQUITTO}: install it (apt-get install mosquitto)")
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mosq-"))
        self.dir.chmod(
            0o777
        )  # mosquitto started as root drops to user 'mosquitto' and must write its db here
        self.conf = self.dir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        if persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/"]
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "log.txt", "ab"),
        )

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        if not wait_for(up, 10):
            self.stop()
            pytest.fail(
                f"mosquitto did not start on port {self.port}: {(self.dir / 'log.txt').read_text()[-500:]}"
            )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def mosquitto():
    broker = Mosquitto().start()
    yield broker
    broker.cleanup()


@pytest.fixture
def prefix() -> str:
    """A unique topic root per test, so retained messages of other tests never interfere."""
    return f"t{uuid.uuid4().hex[:10]}"


@dataclass
class Probe:
    """A second, independent paho client: publishes fixtures and records what it receives."""

    client: paho.Client
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, topic: str | None = None) -> list[tuple[str, str]]:
        with self.lock:
            return [
                (t, p.decode(errors="replace")) for t, p, _ in self.messages if topic is None or t == topic
            ]

    def wait_message(self, topic: str, count: int = 1, timeout: float = 5.0) -> list[str]:
        wait_for(lambda: len(self.received(topic)) >= count, timeout)
        return [p for _, p in self.received(topic)]

    def publish(self, topic: str, payload: str | bytes, retain: bool = False, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def subscribe(self, topic_filter: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic_filter, 1)
        assert done.wait(5), f"probe could not subscribe to {topic_filter}"


def make_probe(url_port: int, client_id: str | None = None, clean_session: bool = True) -> Probe:
    c = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}",
        clean_session=clean_session,
    )
    probe = Probe(c)

    def on_message(client, userdata, msg):
        with probe.lock:
            probe.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    c.on_message = on_message
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.reconnect_delay_set(1, 2)
    c.connect("127.0.0.1", url_port)
    c.loop_start()
    assert connected.wait(5), "probe could not connect to mosquitto"
    return probe


@pytest.fixture
def probe(mosquitto):
    p = make_probe(mosquitto.port)
    yield p
    p.client.disconnect()
    p.client.loop_stop()
