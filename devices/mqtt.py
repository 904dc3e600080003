"""MQTT client (paho-mqtt 2.x) with background loop, reconnect, resubscribe and an offline queue."""

from __future__ import annotations

import collections
import itertools
import logging
import socket
import sqlite3
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.redact import mask_url
from devices.settings import MqttSettings

log = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes, bool], None]  # (topic, payload, retained)

# MQTT 5 lets a client say how many QoS 1 messages it takes in flight (Receive Maximum). A broker
# otherwise keeps 20 in flight and queues 1000 more (mosquitto's defaults), and drops the rest: the
# retained burst after subscribing to discovery loses every config beyond ~1020. With 65535, every
# retained config published at QoS 1 arrives, however many there are.
RECEIVE_MAXIMUM = 65535
# A broker drops QoS 0 messages while this many are waiting on the socket to a slow reader
# (mosquitto's max_queued_messages): a bigger burst at QoS 0 may have lost some.
BROKER_QUEUE = 1000
# Socket receive buffer asked for (the kernel caps it at net.core.rmem_max): the broker writes a
# retained burst all at once, and what the socket cannot hold while we parse waits in its queue.
RECEIVE_BUFFER = 8 << 20


def _bytes(payload: str | bytes) -> bytes:
    return payload.encode() if isinstance(payload, str) else bytes(payload)


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
        raise MqttError(f"MQTT url {mask_url(url)!r}: scheme must be mqtt:// or mqtts://")
    if not p.hostname:
        raise MqttError(f"MQTT url {mask_url(url)!r} has no host; use e.g. mqtt://192.168.1.10:1883")
    tls = p.scheme == "mqtts"
    return BrokerAddress(
        host=p.hostname,
        port=p.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(p.username) if p.username else None,
        password=unquote(p.password) if p.password else None,
    )


def _locked(method):
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


# an outbox message: id, topic, payload, qos, retain, queued at (epoch seconds)
OutboxRow = tuple[int, str, bytes, int, bool, float]


class Outbox:
    """Messages published while the broker is away, in order, sent on the next connect.

    In memory for one-shot processes; in SQLite (``path``) for the long-running service, so a restart
    loses nothing: a message leaves the file only when the broker acknowledged it. Messages older than
    ``max_age_s`` and those beyond ``max_len`` are dropped, each drop logged with its topic."""

    def __init__(self, max_len: int, max_age_s: float, path: Path | None = None):
        self.max_len, self.max_age_s, self.path = max_len, max_age_s, path
        self._memory: collections.deque[OutboxRow] = collections.deque()
        self._ids = itertools.count(1)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # the network thread and callers share one connection
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT "
                "NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, "
                "queued_at REAL NOT NULL)"
            )
            if len(self):
                log.info(
                    "MQTT outbox %s holds %d messages from before the restart; sent on connect",
                    path,
                    len(self),
                )

    @_locked
    def __len__(self) -> int:
        if self._db is not None:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        return len(self._memory)

    @_locked
    def put(self, topic: str, data: bytes, qos: int, retain: bool) -> None:
        if len(self) >= self.max_len:
            dropped = self.take()[:1]
            for row in dropped:
                self.done(row[0])
                log.warning(
                    "MQTT offline queue full (%d): dropped the oldest message, to %s", self.max_len, row[1]
                )
        if self._db is not None:
            self._db.execute(
                "INSERT INTO outbox (topic, payload, qos, retain, queued_at) VALUES (?, ?, ?, ?, ?)",
                (topic, data, qos, int(retain), time.time()),
            )
        else:
            self._memory.append((next(self._ids), topic, data, qos, retain, time.time()))

    @_locked
    def take(self) -> list[OutboxRow]:
        """Everything queued, oldest first (stays queued until ``done``); too old ones are dropped."""
        if self._db is not None:
            rows = [
                (r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5])
                for r in self._db.execute("SELECT * FROM outbox ORDER BY id")
            ]
        else:
            rows = list(self._memory)
        fresh: list[OutboxRow] = []
        stale: list[OutboxRow] = []
        for row in rows:
            (stale if time.time() - row[5] > self.max_age_s else fresh).append(row)
        for row in stale:
            self.done(row[0])
        if stale:
            log.warning(
                "MQTT: dropped %d queued messages older than %g s (the broker was away too long): %s",
                len(stale),
                self.max_age_s,
                ", ".join(sorted({r[1] for r in stale})[:10]),
            )
        return fresh

    @_locked
    def done(self, row_id: int) -> None:
        if self._db is not None:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
        else:
            self._memory = collections.deque(r for r in self._memory if r[0] != row_id)

    @_locked
    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@dataclass
class _Subscription:
    id: int
    topic_filter: str
    callback: MessageCallback
    qos: int
    qos0_retained: int = 0  # retained messages it got at QoS 0 (a broker may drop those: BROKER_QUEUE)


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

    def __init__(self, settings: MqttSettings, *, availability: bool = False, outbox: Path | None = None):
        """``outbox``: an SQLite file for the offline queue (the long-running service), so queued
        commands survive a restart; None keeps it in memory (one-shot commands use ``deliver``)."""
        if not settings.url:
            raise MqttError("no MQTT broker configured (mqtt.url is empty)")
        self.settings = settings
        self.address = parse_url(settings.url)
        self.status_topic = f"{settings.base_topic}/status"
        self.availability = availability
        self.last_error: str | None = None
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self.outbox = Outbox(settings.max_queued, settings.max_queue_age_s, outbox)
        self.persistent = outbox is not None
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row, removed from the outbox on PUBACK
        # _on_publish runs while paho holds its own message lock: it must never wait for self._lock,
        # which a publishing thread holds while it waits for paho's (a lock-order deadlock)
        self._inflight_lock = threading.Lock()
        self._subs: dict[int, _Subscription] = {}
        self._exact: dict[str, list[_Subscription]] = {}  # topic -> subscriptions without wildcards
        self._wild: list[_Subscription] = []  # the others (discovery): few, matched one by one
        self._ids = itertools.count(1)
        self._sync_topic = f"{settings.base_topic}/sync/{uuid.uuid4().hex}"
        self._sync_seen: set[str] = set()
        self._sync_cond = threading.Condition()
        self._started = False
        self._stopping = False
        self._connect_count = 0
        self._connect_listeners: list[Callable[[], None]] = []
        self._pending_subacks: set[int] = set()
        self._subacks_done = threading.Condition(self._lock)
        client_id = settings.client_id or "assistant"
        if not (availability and settings.client_id):
            client_id = f"{client_id}-{uuid.uuid4().hex[:8]}"
        self.v5 = settings.protocol == "5"
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5 if self.v5 else paho.MQTTv311,
            clean_session=None if self.v5 else True,
        )
        username = settings.username or self.address.username
        password = settings.password or self.address.password
        if username:
            c.username_pw_set(username, password)
        if self.address.tls:
            c.tls_set(
                ca_certs=settings.ca_file,
                cert_reqs=ssl.CERT_NONE if settings.tls_insecure else ssl.CERT_REQUIRED,
            )
            if settings.tls_insecure:
                c.tls_insecure_set(True)
        if availability:
            c.will_set(self.status_topic, "offline", qos=1, retain=True)
        c.reconnect_delay_set(
            min_delay=max(1, int(settings.reconnect_min_delay)),
            max_delay=max(1, int(settings.reconnect_max_delay)),
        )
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        c.on_publish = self._on_publish
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
            host, port, keepalive = self.address.host, self.address.port, self.settings.keepalive
            if self.v5:
                props = Properties(PacketTypes.CONNECT)
                props.ReceiveMaximum = RECEIVE_MAXIMUM
                self._client.connect_async(
                    host, port, keepalive=keepalive, clean_start=True, properties=props
                )
            else:
                self._client.connect_async(host, port, keepalive=keepalive)
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
        if self.persistent and len(self.outbox):
            log.warning(
                "MQTT: %d messages are still queued in %s; they are sent after the next start",
                len(self.outbox),
                self.outbox.path,
            )
        self.outbox.close()

    # ---- publish / subscribe ---------------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> bool:
        """Publish now if connected (returns True), else queue for after reconnect (returns False)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        with self._lock:
            if not self._connected.is_set():
                self.outbox.put(topic, data, qos, retain)
                return False
            info = self._client.publish(topic, data, qos=qos, retain=retain)
            if info.rc != paho.MQTT_ERR_SUCCESS and qos == 0:
                # qos 0 is dropped by paho when the socket is gone; keep it for the reconnect
                self.outbox.put(topic, data, qos, retain)
                return False
            return True  # qos>=1 that failed mid-flight stays in paho's queue and is resent

    def deliver(
        self,
        topic: str,
        payload: str | bytes,
        qos: int = 1,
        retain: bool = False,
        timeout: float | None = None,
    ) -> bool:
        """Publish and wait (at most ``timeout``, default ``mqtt.send_timeout``) for the broker to
        take it: connected and, for QoS 1, its PUBACK. False: not delivered and not queued either
        (for one-shot commands, which must not claim what they did not do)."""
        return self.deliver_all([(topic, payload, qos, retain)], timeout)[0]

    def deliver_all(
        self, messages: Sequence[tuple[str, str | bytes, int, bool]], timeout: float | None = None
    ) -> list[bool]:
        """``deliver`` for (topic, payload, qos, retain) messages at once: all are published, then
        their PUBACKs awaited together, within one ``timeout`` (one round trip instead of one per
        message: a command to 500 lights waited 0.5-1.5 s). Delivered or not, per message."""
        end = time.monotonic() + (self.settings.send_timeout if timeout is None else timeout)
        if not messages:
            return []
        if not self.wait_connected(max(0.0, end - time.monotonic())):
            return [False] * len(messages)
        with self._lock:
            infos = [
                self._client.publish(topic, _bytes(payload), qos=qos, retain=retain)
                for topic, payload, qos, retain in messages
            ]
        # the broker acknowledges in order: once the last is in, the others are too (no wait each)
        acked = [self._acked(info, end) for info in reversed(infos)]
        return acked[::-1]

    @staticmethod
    def _acked(info: paho.MQTTMessageInfo, end: float) -> bool:
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        if info.is_published():
            return True
        try:
            left = end - time.monotonic()
            if left > 0:
                info.wait_for_publish(left)
        except (RuntimeError, ValueError):  # paho: the connection went away meanwhile
            return False
        return info.is_published()

    @property
    def queued(self) -> int:
        return len(self.outbox)

    def subscribe(self, topic_filter: str, callback: MessageCallback, qos: int = 1) -> int:
        """Subscribe; returns a handle for ``unsubscribe``. Resubscribed after every reconnect."""
        with self._lock:
            sub = _Subscription(next(self._ids), topic_filter, callback, qos)
            self._subs[sub.id] = sub
            self._index()
            if self._connected.is_set():
                self._track_suback(self._client.subscribe(topic_filter, qos))
        return sub.id

    def resubscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe again to make the broker resend retained messages."""
        with self._lock:
            if self._connected.is_set():
                self._track_suback(self._client.subscribe(topic_filter, qos))

    def _index(self) -> None:
        """Rebuild the lookup ``_on_message`` uses: exact topics by dict, wildcard filters in a list
        (thousands of state topics must not cost a filter match each per message)."""
        exact: dict[str, list[_Subscription]] = {}
        wild: list[_Subscription] = []
        for s in self._subs.values():
            if "+" in s.topic_filter or "#" in s.topic_filter:
                wild.append(s)
            else:
                exact.setdefault(s.topic_filter, []).append(s)
        self._exact, self._wild = exact, wild

    def qos0_retained(self, callback: MessageCallback) -> int:
        """How many retained messages the subscriptions with this callback got at QoS 0."""
        with self._lock:
            return sum(s.qos0_retained for s in self._subs.values() if s.callback == callback)

    def sync(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) until every message the broker queued for us before now has been
        handled, e.g. the retained burst after a subscription: we publish a marker to our own topic and
        wait for it to come back behind them. False: not connected, or not back in time."""
        token = uuid.uuid4().hex
        if not self.wait_connected(timeout):
            return False
        with self._lock:
            info = self._client.publish(self._sync_topic, token, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        with self._sync_cond:
            done = self._sync_cond.wait_for(lambda: token in self._sync_seen, timeout)
            self._sync_seen.discard(token)
        return done

    def _on_sync(self, topic: str, payload: bytes, retained: bool) -> None:
        with self._sync_cond:
            self._sync_seen.add(payload.decode(errors="replace"))
            self._sync_cond.notify_all()

    def _track_suback(self, result: tuple) -> None:
        rc, mid = result
        if rc == paho.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subacks.add(mid)

    def unsubscribe(self, handle: int) -> None:
        with self._lock:
            sub = self._subs.pop(handle, None)
            if sub is None:
                return
            self._index()
            still_used = any(s.topic_filter == sub.topic_filter for s in self._subs.values())
            if not still_used and self._connected.is_set():
                self._client.unsubscribe(sub.topic_filter)

    # ---- paho callbacks (network thread) ---------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            hint = "check mqtt.username/password and client_id"
            if "protocol" in str(reason_code).lower():
                hint = "the broker does not speak MQTT 5: set mqtt.protocol: '3.1.1'"
            log.error("MQTT %s: %s (%s)", self.address.display, reason_code, hint)
            return
        with self._lock:
            self._connect_count += 1
            self.last_error = None
            if self.availability:
                client.publish(self.status_topic, "online", qos=1, retain=True)
            self._grow_receive_buffer(client)
            filters: dict[str, int] = {self._sync_topic: 1}
            for s in self._subs.values():
                filters[s.topic_filter] = max(filters.get(s.topic_filter, 0), s.qos)
            self._pending_subacks.clear()
            if filters:
                self._track_suback(client.subscribe(list(filters.items())))
            queued = self.outbox.take()
            for row_id, topic, data, qos, retain, _ in queued:
                info = client.publish(topic, data, qos=qos, retain=retain)
                if qos == 0 or not self.persistent:
                    self.outbox.done(row_id)  # in memory: handed to paho, which resends QoS 1 itself
                else:
                    with self._inflight_lock:
                        self._inflight[info.mid] = row_id  # PUBACK arrives later, on this thread
            pending = len(queued)
            self._connected.set()
        log.info(
            "MQTT connected to %s (%d subscriptions, %d queued messages sent)",
            self.address.display,
            len(filters),
            pending,
        )
        for cb in list(self._connect_listeners):
            try:
                cb()
            except Exception:  # noqa: BLE001
                log.exception("MQTT connect listener failed")

    @staticmethod
    def _grow_receive_buffer(client) -> None:
        sock = client.socket()
        if isinstance(sock, socket.socket):  # (not for websockets/TLS wrappers that hide it)
            try:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < RECEIVE_BUFFER:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            except OSError as e:  # best effort
                log.debug("MQTT: could not enlarge the socket receive buffer: %s", e)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._subacks_done:
            self._pending_subacks.discard(mid)
            self._subacks_done.notify_all()
        for rc in reason_codes:
            if rc.is_failure:
                log.error("MQTT broker refused a subscription (mid %s): %s (check broker ACLs)", mid, rc)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._inflight_lock:
            row_id = self._inflight.pop(mid, None)
        if row_id is not None:
            self.outbox.done(row_id)  # the broker has it: it leaves the persistent queue (own lock)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            self._connected.clear()
        if not self._stopping:
            self.last_error = f"disconnected: {reason_code}"
            log.warning("MQTT lost connection to %s (%s); reconnecting", self.address.display, reason_code)

    def _on_connect_fail(self, client, userdata) -> None:
        # keep a more telling reason (``start``'s "cannot reach ...", which callers may be reading)
        self.last_error = self.last_error or "connection failed"
        log.debug("MQTT connect to %s failed; will retry", self.address.display)

    def _on_message(self, client, userdata, msg: paho.MQTTMessage) -> None:
        if msg.topic == self._sync_topic:
            self._on_sync(msg.topic, bytes(msg.payload), False)
            return
        with self._lock:
            subs = self._exact.get(msg.topic, []) + [
                s for s in self._wild if paho.topic_matches_sub(s.topic_filter, msg.topic)
            ]
        if msg.retain and msg.qos == 0:
            for s in subs:
                s.qos0_retained += 1
        for s in subs:
            try:
                s.callback(msg.topic, bytes(msg.payload), bool(msg.retain))
            except Exception as e:  # noqa: BLE001 - one bad handler must not stop the loop
                log.error(
                    "MQTT handler for %s failed on topic %s: %s: %s",
                    s.topic_filter,
                    msg.topic,
                    type(e).__name__,
                    e,
                )


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout``; small helper for startup waits."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
