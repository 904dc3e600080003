"""MqttClient against a real mosquitto: connect, subscribe, status/last will, offline queue, reconnect."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from devices.mqtt import MqttClient, MqttError, parse_url
from devices.settings import MqttSettings
from tests.fixtures_mqtt import Mosquitto, free_port, make_probe, wait_for


def test_parse_url_variants():
    a = parse_url("mqtt://user:p%40ss@broker.lan")
    assert (a.host, a.port, a.tls, a.username, a.password) == ("broker.lan", 1883, False, "user", "p@ss")
    b = parse_url("mqtts://10.0.0.2")
    assert (b.port, b.tls) == (8883, True)
    assert parse_url("mqtt://h:1999").port == 1999
    with pytest.raises(MqttError, match="mqtt:// or mqtts://"):
        parse_url("http://h:1883")


def test_settings_reject_bad_url():
    with pytest.raises(ValueError, match="mqtts://"):
        MqttSettings(url="tcp://localhost:1883")


def _client(url: str, base: str, availability: bool = True, **kw) -> MqttClient:
    return MqttClient(
        MqttSettings(url=url, base_topic=base, reconnect_min_delay=1, reconnect_max_delay=2, **kw),
        availability=availability,
    )


def test_publish_subscribe_and_status(mosquitto, probe, prefix):
    probe.subscribe(f"{prefix}/#")
    c = _client(mosquitto.url, f"{prefix}/assistant")
    got: list[tuple[str, bytes]] = []
    c.subscribe(f"{prefix}/in/+", lambda t, p, r: got.append((t, p)))
    try:
        assert c.start(5), c.last_error
        # "online" retained on connect
        assert probe.wait_message(f"{prefix}/assistant/status") == ["online"]
        assert c.publish(f"{prefix}/out", "hello", qos=1) is True
        assert probe.wait_message(f"{prefix}/out") == ["hello"]
        probe.publish(f"{prefix}/in/a", "x1")
        probe.publish(f"{prefix}/other", "ignored")
        assert wait_for(lambda: got == [(f"{prefix}/in/a", b"x1")])
    finally:
        c.stop()
    assert probe.wait_message(f"{prefix}/assistant/status", 2)[-1] == "offline"


def test_last_will_when_connection_dies(mosquitto, probe, prefix):
    probe.subscribe(f"{prefix}/assistant/status")
    c = _client(mosquitto.url, f"{prefix}/assistant", keepalive=5)
    assert c.start(5)
    assert probe.wait_message(f"{prefix}/assistant/status") == ["online"]
    c._client.socket().close()  # abrupt loss: broker must publish the will
    c._stopping = True
    c._client.loop_stop()
    assert probe.wait_message(f"{prefix}/assistant/status", 2, timeout=10)[-1] == "offline"


def test_one_shot_client_leaves_the_service_status_alone(mosquitto, probe, prefix):
    """Issue 12: an `assistant ask` beside a running `serve` must not mark the service unavailable,
    neither on exit nor by its last will, nor kick it off the broker with the same client id."""
    probe.subscribe(f"{prefix}/assistant/status")
    service = _client(mosquitto.url, f"{prefix}/assistant", client_id="box")
    assert service.start(5)
    assert probe.wait_message(f"{prefix}/assistant/status") == ["online"]
    one_shot = _client(mosquitto.url, f"{prefix}/assistant", availability=False, client_id="box")
    assert one_shot.start(5)
    one_shot.stop()
    dying = _client(mosquitto.url, f"{prefix}/assistant", availability=False, keepalive=5)
    assert dying.start(5)
    dying._client.socket().close()  # an abrupt end: the broker must have no will to publish
    dying._stopping = True
    dying._client.loop_stop()
    time.sleep(1.0)
    assert [p for _, p in probe.received(f"{prefix}/assistant/status")] == ["online"]
    assert service.connected and service.connect_count == 1
    service.stop()
    assert probe.wait_message(f"{prefix}/assistant/status", 2)[-1] == "offline"


def test_callback_exception_does_not_break_loop(mosquitto, probe, prefix, caplog):
    c = _client(mosquitto.url, f"{prefix}/a")
    ok = threading.Event()

    def bad(t, p, r):
        raise RuntimeError("boom")

    c.subscribe(f"{prefix}/x", bad)
    c.subscribe(f"{prefix}/x", lambda t, p, r: ok.set())
    try:
        assert c.start(5)
        with caplog.at_level(logging.ERROR, logger="devices.mqtt"):
            probe.publish(f"{prefix}/x", "1")
            assert ok.wait(5)
        assert any("boom" in r.getMessage() for r in caplog.records)
    finally:
        c.stop()


def test_unreachable_broker_clear_error_then_background_connect(prefix, caplog):
    port = free_port()
    c = _client(f"mqtt://127.0.0.1:{port}", f"{prefix}/a")
    broker = Mosquitto(port=port)
    try:
        with caplog.at_level(logging.ERROR, logger="devices.mqtt"):
            assert c.start(timeout=0.5) is False
        assert f"mqtt://127.0.0.1:{port}" in c.last_error and "check" in c.last_error
        assert any(f"127.0.0.1:{port}" in r.getMessage() for r in caplog.records)
        assert c.publish(f"{prefix}/early", "queued-before-first-connect", retain=True) is False
        broker.start()
        p = make_probe(port)
        p.subscribe(f"{prefix}/#")
        assert c.wait_connected(10), "client did not connect in the background"
        assert p.wait_message(f"{prefix}/early") == ["queued-before-first-connect"]
        assert c.queued == 0 and c.last_error is None
        p.client.disconnect()
        p.client.loop_stop()
    finally:
        c.stop()
        broker.cleanup()


def test_broker_restart_reconnects_resubscribes_and_delivers_queue(prefix):
    broker = Mosquitto(persistence=True).start()
    # persistent-session subscriber: messages published before it reconnects are kept by the broker
    sub = make_probe(broker.port, client_id=f"sub-{prefix}", clean_session=False)
    sub.subscribe(f"{prefix}/cmd/#")
    c = _client(broker.url, f"{prefix}/a")
    got: list[bytes] = []
    c.subscribe(f"{prefix}/in", lambda t, p, r: got.append(p))
    try:
        assert c.start(5)
        c.publish(f"{prefix}/cmd/x", "before")
        assert sub.wait_message(f"{prefix}/cmd/x") == ["before"]
        broker.stop()
        assert wait_for(lambda: not c.connected, 10), "client did not notice the broker going away"
        for i in range(3):
            assert c.publish(f"{prefix}/cmd/x", f"queued-{i}") is False
        assert c.queued == 3
        broker.start()
        assert c.wait_connected(15), "client did not reconnect"
        assert sub.wait_message(f"{prefix}/cmd/x", 4, timeout=15) == [
            "before",
            "queued-0",
            "queued-1",
            "queued-2",
        ]
        assert c.queued == 0 and c.connect_count >= 2
        # our subscription was renewed after the reconnect
        wait_for(lambda: sub.client.is_connected(), 10)
        sub.publish(f"{prefix}/in", "after-restart")
        assert wait_for(lambda: got == [b"after-restart"], 5)
    finally:
        c.stop()
        sub.client.disconnect()
        sub.client.loop_stop()
        broker.cleanup()
