"""MQTT client (paho-mqtt 2.x) with background loop, reconnect, resubscribe and an offline queue."""

from __future__ import annotations

import collections
import itertools
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices.settings import MqttSettings

log = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes, bool], None]  # (topic, payload, retained)


class MqttError(RuntimeError):
    """The broker could not be used; the message says what to do."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @property
    def display(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_url(url: str) -> BrokerAddress:
    """Parse ``mqtt://[user[:pass]@]host[:port]`` or ``mqtts://...``."""
    p = urlparse(url)
    if p.scheme not in ("mqtt", "mqtts"):
        raise MqttError(f"MQTT url {url!r}: scheme must be mqtt:// or mqtts://")
    if not p.hostname:
        raise MqttError(f"MQTT url {url!r} has no host; use e.g. mqtt://192.168.1.10:1883")
    tls = p.scheme == "mqtts"
    return BrokerAddress(
        host=p.hostname,
        port=p.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(p.username) if p.username else None,
        password=unquote(p.password) if p.password else None,
    )


@dataclass
class _Subscription:
    id: int
    topic_filter: str
    callback: MessageCallback
    qos: int


class MqttClient:
    """Thread-backed MQTT client.

    - ``start(timeout)`` connects; if the broker is unreachable it logs a clear error, sets
      ``last_error`` and keeps retrying in the background (backoff ``reconnect_min/max_delay``).
    - ``publish`` while disconnected queues the message (in order) and sends it after reconnect.
    - ``subscribe(filter, cb)`` survives reconnects; callbacks run on the network thread.
    - ``availability=True`` (the long-running service only): last will ``<base_topic>/status`` =
      "offline" (retained), "online" published on connect, "offline" on ``stop``. A one-shot client
      (``availability=False``) touches neither, so it never marks the running service unavailable,
      and it adds a random suffix to a configured ``client_id`` so it cannot kick the service off.
    """

    def __init__(self, settings: MqttSettings, *, availability: bool = False):
        if not settings.url:
            raise MqttError("no MQTT broker configured (mqtt.url is empty)")
        self.settings = settings
        self.address = parse_url(settings.url)
        self.status_topic = f"{settings.base_topic}/status"
        self.availability = availability
        self.last_error: str | None = None
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self._queue: collections.deque[tuple[str, bytes, int, bool]] = collections.deque()
        self._subs: dict[int, _Subscription] = {}
        self._ids = itertools.count(1)
        self._started = False
        self._stopping = False
        self._connect_count = 0
        self._connect_listeners: list[Callable[[], None]] = []
        self._pending_subacks: set[int] = set()
        self._subacks_done = threading.Condition(self._lock)
        client_id = settings.client_id or "assistant"
        if not (availability and settings.client_id):
            client_id = f"{client_id}-{uuid.uuid4().hex[:8]}"
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        username = settings.username or self.address.username
        password = settings.password or self.address.password
        if username:
            c.username_pw_set(username, password)
        if self.address.tls:
            c.tls_set(ca_certs=settings.ca_file, cert_reqs=ssl.CERT_NONE if settings.tls_insecure else ssl.CERT_REQUIRED)
            if settings.tls_insecure:
                c.tls_insecure_set(True)
        if availability:
            c.will_set(self.status_topic, "offline", qos=1, retain=True)
        c.reconnect_delay_set(min_delay=max(1, int(settings.reconnect_min_delay)),
                              max_delay=max(1, int(settings.reconnect_max_delay)))
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self._client = c

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def connect_count(self) -> int:
        """How many times a connection was (re)established."""
        return self._connect_count

    def add_connect_listener(self, cb: Callable[[], None]) -> None:
        """Call ``cb()`` (on the network thread) after every (re)connect."""
        self._connect_listeners.append(cb)

    def start(self, timeout: float = 5.0) -> bool:
        """Connect in the background and wait up to ``timeout`` s. Returns True when connected."""
        if not self._started:
            self._started = True
            self._stopping = False
            self._client.connect_async(self.address.host, self.address.port, keepalive=self.settings.keepalive)
            self._client.loop_start()
        end = time.monotonic() + timeout
        if self.wait_connected(timeout):
            self.wait_subscribed(max(0.0, end - time.monotonic()))
            return True
        self.last_error = (
            f"cannot reach MQTT broker at {self.address.display}"
            f"{' (' + self.last_error + ')' if self.last_error else ''}: check that the broker is running, "
            f"that mqtt.url host/port are right and that credentials/TLS settings match; retrying in the background"
        )
        log.error(self.last_error)
        return False

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until the broker acknowledged every subscription sent so far."""
        with self._subacks_done:
            return self._subacks_done.wait_for(lambda: not self._pending_subacks, timeout)

    def stop(self) -> None:
        """Publish "offline" (``availability`` only), disconnect and stop the network thread."""
        if not self._started:
            return
        self._stopping = True
        if self.connected and self.availability:
            try:
                info = self._client.publish(self.status_topic, "offline", qos=1, retain=True)
                info.wait_for_publish(timeout=1.0)
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._started = False

    # ---- publish / subscribe ---------------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> bool:
        """Publish now if connected (returns True), else queue for after reconnect (returns False)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        with self._lock:
            if not self._connected.is_set():
                if len(self._queue) >= self.settings.max_queued:
                    dropped = self._queue.popleft()
                    log.warning("MQTT offline queue full (%d): dropped oldest message to %s",
                                self.settings.max_queued, dropped[0])
                self._queue.append((topic, data, qos, retain))
                return False
            info = self._client.publish(topic, data, qos=qos, retain=retain)
            if info.rc != paho.MQTT_ERR_SUCCESS and qos == 0:
                # qos 0 is dropped by paho when the socket is gone; keep it for the reconnect
                self._queue.append((topic, data, qos, retain))
                return False
            return True  # qos>=1 that failed mid-flight stays in paho's queue and is resent

    @property
    def queued(self) -> int:
        return len(self._queue)

    def subscribe(self, topic_filter: str, callback: MessageCallback, qos: int = 1) -> int:
        """Subscribe; returns a handle for ``unsubscribe``. Resubscribed after every reconnect."""
        with self._lock:
            sub = _Subscription(next(self._ids), topic_filter, callback, qos)
            self._subs[sub.id] = sub
            if self._connected.is_set():
                self._track_suback(self._client.subscribe(topic_filter, qos))
        return sub.id

    def resubscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe again to make the broker resend retained messages."""
        with self._lock:
            if self._connected.is_set():
                self._track_suback(self._client.subscribe(topic_filter, qos))

    def _track_suback(self, result: tuple) -> None:
        rc, mid = result
        if rc == paho.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subacks.add(mid)

    def unsubscribe(self, handle: int) -> None:
        with self._lock:
            sub = self._subs.pop(handle, None)
            if sub is None:
                return
            still_used = any(s.topic_filter == sub.topic_filter for s in self._subs.values())
            if not still_used and self._connected.is_set():
                self._client.unsubscribe(sub.topic_filter)

    # ---- paho callbacks (network thread) ---------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            log.error("MQTT %s: %s (check mqtt.username/password and client_id)", self.address.display, reason_code)
            return
        with self._lock:
            self._connect_count += 1
            self.last_error = None
            if self.availability:
                client.publish(self.status_topic, "online", qos=1, retain=True)
            filters: dict[str, int] = {}
            for s in self._subs.values():
                filters[s.topic_filter] = max(filters.get(s.topic_filter, 0), s.qos)
            self._pending_subacks.clear()
            if filters:
                self._track_suback(client.subscribe(list(filters.items())))
            pending = len(self._queue)
            while self._queue:
                topic, data, qos, retain = self._queue.popleft()
                client.publish(topic, data, qos=qos, retain=retain)
            self._connected.set()
        log.info("MQTT connected to %s (%d subscriptions, %d queued messages sent)",
                 self.address.display, len(filters), pending)
        for cb in list(self._connect_listeners):
            try:
                cb()
            except Exception:  # noqa: BLE001
                log.exception("MQTT connect listener failed")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._subacks_done:
            self._pending_subacks.discard(mid)
            self._subacks_done.notify_all()
        for rc in reason_codes:
            if rc.is_failure:
                log.error("MQTT broker refused a subscription (mid %s): %s (check broker ACLs)", mid, rc)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            self._connected.clear()
        if not self._stopping:
            self.last_error = f"disconnected: {reason_code}"
            log.warning("MQTT lost connection to %s (%s); reconnecting", self.address.display, reason_code)

    def _on_connect_fail(self, client, userdata) -> None:
        self.last_error = "connection failed"
        log.debug("MQTT connect to %s failed; will retry", self.address.display)

    def _on_message(self, client, userdata, msg: paho.MQTTMessage) -> None:
        with self._lock:
            subs = [s for s in self._subs.values() if paho.topic_matches_sub(s.topic_filter, msg.topic)]
        for s in subs:
            try:
                s.callback(msg.topic, msg.payload, bool(msg.retain))
            except Exception as e:  # noqa: BLE001 - one bad handler must not stop the loop
                log.error("MQTT handler for %s failed on topic %s: %s: %s",
                          s.topic_filter, msg.topic, type(e).__name__, e)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout``; small helper for startup waits."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
