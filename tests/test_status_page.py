"""The status page in a real headless browser (Debian's chromium driven by Playwright): it shows
what the service holds, escapes what users and devices control, and its cancel button works.
Writes a screenshot to $ASSISTANT_TEST_ARTIFACTS (default build/test-artifacts/)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.fixtures_mqtt import Mosquitto
from tests.fixtures_service import start_serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("ASSISTANT_TEST_ARTIFACTS") or Path(__file__).parent.parent / "build" / "test-artifacts"
)
HOSTILE_DEVICE = '<img src=x onerror="window.pwned=1">Desk lamp'
HOSTILE_TEXT = "<script>window.pwned=2</script>what time is it"


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"chromium not found at {CHROMIUM}: install it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def publish_hostile_light(port: int) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    config = {
        "name": HOSTILE_DEVICE,
        "unique_id": "desk_lamp_1",
        "command_topic": "desk/set",
        "state_topic": "desk/state",
        "device": {"identifiers": ["desk1"], "name": "Desk", "suggested_area": "Office"},
    }
    client.publish(
        "homeassistant/light/desk1/light/config", json.dumps(config), qos=1, retain=True
    ).wait_for_publish(5)
    client.publish("desk/state", "ON", qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def test_status_page_shows_escapes_and_cancels(env, browser):
    broker = Mosquitto().start()
    try:
        publish_hostile_light(broker.port)
        served = start_serve({**env, "ASSISTANT_MQTT_URL": broker.url})
        try:
            for text in ("set an alarm for 6:30 am", HOSTILE_TEXT):
                assert served.request("POST", "/api/ask", json_body={"text": text}).status == 200
            # bypass_csp: the page's Content-Security-Policy would stop injected scripts by itself; the
            # escaping must hold without it (and Playwright's wait_for_function needs eval)
            page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served.url)
            page.wait_for_selector("#alarms button.cancel")
            page.wait_for_function("document.querySelector('#devices').innerText.includes('Desk lamp')")

            # what devices and users control is shown as text, never run
            assert HOSTILE_DEVICE in page.inner_text("#devices")
            assert HOSTILE_TEXT in page.inner_text("#traces")
            assert page.evaluate("window.pwned") is None
            assert page.locator("main img").count() == 0 and page.locator("#traces script").count() == 0
            # conversations with their stage timings as bars; health of each part
            assert page.locator("#traces .bar .stage").count() >= 2
            assert "mqtt" in page.inner_text("#health") and page.inner_text("#status") == "ok"
            assert "6:30" in page.inner_text("#alarms")

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
            page.click("#alarms button.cancel")
            page.wait_for_function(
                "document.querySelectorAll('#alarms button.cancel').length === 0", timeout=10000
            )
            assert "No alarms set." in page.inner_text("#alarms")
            assert errors == []
            assert served.request("GET", "/api/alarms").json() == []  # gone for real, not only on the page
        finally:
            served.stop()
    finally:
        broker.stop()
