"""The running service's HTTP API: a real `assistant serve` process, real HTTP, a real broker."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import wave

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.fixtures_mqtt import Mosquitto, free_port, wait_for
from tests.fixtures_service import Served, start_serve, write_config
from tests.fixtures_voice import SR, join, piper_speech, silence, wake_phrase

TOKEN = "api-token-5ecret"
SECRETS = ["mqtt-pass-5ecret", "ha-token-5ecret", "llm-key-5ecret", TOKEN]


@pytest.fixture(scope="module")
def broker():
    b = Mosquitto().start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, broker):
    """Environment + config with every kind of secret set (and HA/LLM servers that are down)."""
    tmp = tmp_path_factory.mktemp("http")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_DATA_DIR=str(tmp / "data"),
        ASSISTANT_TZ="UTC",
        XDG_CONFIG_HOME=str(tmp / "cfg"),
        ASSISTANT_HTTP_PORT="0",
        ASSISTANT_WYOMING_PORT="0",
    )
    env["ASSISTANT_CONFIG"] = write_config(
        tmp,
        {
            "log_level": "DEBUG",
            "mqtt": {
                "url": f"mqtt://hauser:mqtt-pass-5ecret@127.0.0.1:{broker.port}",
                "base_topic": "voicebox",
            },
            "home_assistant": {
                "url": f"http://127.0.0.1:{free_port()}",
                "token": "ha-token-5ecret",
                "timeout": 1,
            },
            "llm": {
                "url": f"http://127.0.0.1:{free_port()}/v1",
                "model": "m",
                "api_key": "llm-key-5ecret",
                "timeout_s": 1,
            },
            "http": {"token": TOKEN},
            "tts": {"noise_scale": 0, "noise_w_scale": 0},
        },
    )
    return env


@pytest.fixture(scope="module")
def served(setup):
    s = start_serve(setup)
    yield s
    s.stop()


def cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def wav_bytes(samples) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(SR)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def test_health_says_each_part(served):
    r = served.request("GET", "/health")  # no token needed: container health checks
    body = r.json()
    assert r.status == 200 and body["ready"] and body["live"]
    parts = body["parts"]
    assert parts["mqtt"]["connected"] is True
    assert parts["llm"]["ok"] is False and parts["llm"]["state"].startswith("unreachable")
    assert parts["store"]["ok"] and parts["scheduler"]["ok"]
    assert body["status"] == "degraded"  # the LLM is down
    assert served.ready["llm"].startswith("unreachable") and served.ready["url"] == served.url


def test_token_is_required_and_checked(served):
    assert served.request("GET", "/api/alarms").status == 401
    assert served.request("GET", "/api/alarms", token="wrong").status == 401
    assert served.request("GET", "/metrics").status == 401
    r = served.request("GET", "/api/alarms", token=TOKEN)
    assert r.status == 200 and r.json() == []
    page = served.request("GET", "/", token=None)  # the page itself asks for the token
    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_ask_gives_the_json_of_ask_json(served, setup):
    now = "2026-11-30T08:00"
    r = served.request(
        "POST",
        "/api/ask",
        token=TOKEN,
        json_body={"text": "set an alarm for 7:15 am tomorrow", "dry_run": True, "now": now},
    )
    assert r.status == 200
    api = r.json()
    cli_result = json.loads(
        cli(setup, "ask", "set an alarm for 7:15 am tomorrow", "--json", "--dry-run", "--now", now).stdout
    )
    api.pop("timings_ms"), cli_result.pop("timings_ms")
    # both warn that HA (a closed port here) is unreachable; the texts name different socket objects
    warned = [[w.split(" failed:")[0] for w in r.pop("warnings")] for r in (api, cli_result)]
    assert warned[0] == warned[1] and warned[0][0].startswith("Home Assistant at http://127.0.0.1:"), warned
    assert api == cli_result and api["intent"] and api["slots"]["time"] == "07:15"
    assert served.request("GET", "/api/alarms", token=TOKEN).json() == []  # dry run: nothing set


def test_alarms_are_listed_and_cancelled(served):
    r = served.request("POST", "/api/ask", token=TOKEN, json_body={"text": "set an alarm for 6:30 pm"})
    assert r.status == 200 and r.json()["actions"]
    alarms = served.request("GET", "/api/alarms", token=TOKEN).json()
    assert len(alarms) == 1 and alarms[0]["time"] == "18:30"
    alarm_id = alarms[0]["id"]
    assert served.request("DELETE", f"/api/alarms/{alarm_id}", token=TOKEN).json() == {"deleted": alarm_id}
    assert served.request("GET", "/api/alarms", token=TOKEN).json() == []
    r = served.request("DELETE", f"/api/alarms/{alarm_id}", token=TOKEN)
    assert r.status == 404 and "no alarm" in r.json()["error"]
    served.request("POST", "/api/ask", token=TOKEN, json_body={"text": "set a pasta timer for 9 minutes"})
    timers = served.request("GET", "/api/timers", token=TOKEN).json()
    assert [t["name"] for t in timers] == ["pasta"]
    assert served.request("DELETE", f"/api/timers/{timers[0]['id']}", token=TOKEN).status == 200
    assert served.request("GET", "/api/timers", token=TOKEN).json() == []


def test_traces_keep_what_was_heard_and_done(served):
    served.request("POST", "/api/ask", token=TOKEN, json_body={"text": "what time is it"})
    trace = served.request("GET", "/api/traces?limit=1", token=TOKEN).json()
    assert len(trace) == 1
    t = trace[0]
    assert t["transcript"] == "what time is it" and t["intent"] and t["recognizer"] == "template"
    assert t["source"] == "text" and t["response"] and "template" in t["stages_ms"] and t["error"] is None


def test_spoken_request_goes_through_the_voice_pipeline(served):
    audio = wav_bytes(
        join(
            silence(0.5),
            wake_phrase(),
            silence(0.4),
            piper_speech("Set a timer for ten minutes."),
            silence(1.0),
        )
    )
    r = served.request(
        "POST",
        "/api/audio?dry_run=1&no_wake=0",
        token=TOKEN,
        data=audio,
        headers={"Content-Type": "audio/wav"},
    )
    assert r.status == 200, r.body
    body = r.json()
    [result] = body["results"]
    assert (
        result["intent"] and result["slots"].get("minutes") == 10 and "timer" in result["transcript"].lower()
    )
    for key in ("asr", "nlu", "tts_first_audio", "end_of_speech_to_first_audio"):
        assert result["timings_ms"][key] > 0
    with wave.open(io.BytesIO(base64.b64decode(body["reply_wav"]))) as w:
        assert w.getnframes() > 0.3 * w.getframerate()  # the answer, spoken
    trace = served.request("GET", "/api/traces?limit=1", token=TOKEN).json()[0]
    assert trace["source"] == "audio" and set(trace["stages_ms"]) == {"endpoint", "asr", "understand", "tts"}
    metrics = served.request("GET", "/metrics", token=TOKEN).body.decode()
    assert 'assistant_stage_seconds_count{stage="asr"} 1.0' in metrics
    assert re.search(r'assistant_wake_detections_total\{word="[^"]+"\} 1.0', metrics)


def test_bad_requests_say_what_is_wrong(served):
    r = served.request(
        "POST", "/api/ask", token=TOKEN, data=b'{"text": "hi"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status == 415 and "application/json" in r.json()["error"]
    r = served.request("POST", "/api/ask", token=TOKEN, json_body={"txt": "hi"})
    assert r.status == 400 and "text" in r.json()["error"]
    r = served.request(
        "POST", "/api/audio", token=TOKEN, data=b"not audio at all", headers={"Content-Type": "audio/wav"}
    )
    assert r.status == 400 and "cannot decode" in r.json()["error"]
    silent = served.request(
        "POST", "/api/audio", token=TOKEN, data=wav_bytes(silence(1.0)), headers={"Content-Type": "audio/wav"}
    )
    assert silent.status == 200 and silent.json()["results"] == []
    assert (
        served.request("GET", "/api/traces?limit=1", token=TOKEN)
        .json()[0]["error"]
        .startswith("no request heard")
    )


def test_metrics(served):
    served.request("POST", "/api/ask", token=TOKEN, json_body={"text": "what time is it"})
    text = served.request("GET", "/metrics", token=TOKEN).body.decode()
    assert "assistant_mqtt_connected 1.0" in text
    assert 'assistant_requests_total{outcome="recognised",source="text",tier="template"}' in text
    assert 'assistant_stage_seconds_bucket{le="0.005",stage="template"}' in text
    assert 'assistant_errors_total{where="understand"}' not in text  # nothing failed


def test_no_secret_anywhere(served, setup):
    # a request that itself carries a secret: what is shown of it is masked
    served.request("POST", "/api/ask", token=TOKEN, json_body={"text": "the code is ha-token-5ecret"})
    shown = [
        served.request("GET", p, token=TOKEN).body.decode()
        for p in ("/health", "/api/traces", "/api/alarms", "/api/timers", "/api/devices", "/metrics")
    ]
    assert "***" in shown[1]
    config = cli(setup, "config")
    assert config.returncode == 0 and "***" in config.stdout and "hauser:***@" in config.stdout
    shown.append(config.stdout)
    shown.append(json.dumps(served.ready))
    for text in shown:
        for secret in SECRETS:
            assert secret not in text
    # the logs (DEBUG) of everything so far, including the HA and LLM connection failures
    logs = "".join(served.stderr)
    assert "DEBUG" in logs and "status page and API at" in logs
    for secret in SECRETS:
        assert secret not in logs


def test_dns_rebinding_is_refused_without_token(env, tmp_path):
    s = start_serve(env)
    try:
        assert s.request("GET", "/api/alarms").status == 200
        port = s.url.rsplit(":", 1)[1].strip("/")
        r = s.request("GET", "/api/alarms", headers={"Host": f"attacker.example:{port}"})
        assert r.status == 403
    finally:
        assert s.stop() == 0


def test_binding_beyond_loopback_needs_a_token(env):
    p = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve"],
        env={**env, "ASSISTANT_HTTP_HOST": "0.0.0.0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2 and "without a token" in p.stderr and "http.token" in p.stderr
    assert "Traceback" not in p.stderr


def test_port_in_use_is_a_clear_error(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "serve"],
            env={**env, "ASSISTANT_HTTP_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (
        p.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in p.stderr and "Traceback" not in p.stderr
    )


def test_sigterm_shuts_down_cleanly(env, broker, tmp_path):
    env = {**env, "ASSISTANT_MQTT_URL": broker.url}
    s = start_serve(env)
    s.request("POST", "/api/ask", json_body={"text": "set an alarm for 5:45 am"})
    status: list[bytes] = []
    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: status.append(m.payload)
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("assistant/status")
    sub.loop_start()
    try:
        assert wait_for(lambda: status and status[-1] == b"online", 5)
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(20) == 0
        assert wait_for(lambda: status[-1] == b"offline", 5)  # said, not only the last will
    finally:
        sub.loop_stop()
        sub.disconnect()
    port = int(s.url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as c:
        assert c.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    alarms = json.loads(cli(env, "alarms", "--json").stdout)
    assert [a["time"] for a in alarms] == ["05:45"]
    assert "Traceback" not in "".join(s.stderr)


def test_sigint_stops_too_and_json_logs_are_json_lines(env, tmp_path):
    env = {
        **env,
        "ASSISTANT_LOG_FORMAT": "json",
        "ASSISTANT_CONFIG": write_config(tmp_path, {"log_level": "INFO"}),
    }
    s = start_serve(env)
    assert s.request("GET", "/health").status == 200
    s.proc.send_signal(signal.SIGINT)  # Ctrl-C: as SIGTERM
    assert s.proc.wait(20) == 0
    lines = [json.loads(line) for line in "".join(s.stderr).splitlines()]  # every line is JSON
    [summary] = [line for line in lines if "summary" in line]
    assert summary["summary"]["url"] == s.url and summary["level"] == "INFO"
    assert "status page and API at " + s.url in summary["message"]
    assert {"models", "devices", "llm"} <= set(summary["summary"])
    assert any("serving; data in" in line["message"] for line in lines)


def test_run_serves_the_page_and_stops_cleanly(env, broker, tmp_path):
    """`assistant run` with a microphone (ALSA's null device: one that hears silence): page and API
    up, voice ready; SIGTERM: exit 0, MQTT "offline", HTTP closed, the alarm kept."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")
    env = {**env, "HOME": str(home), "ASSISTANT_MQTT_URL": broker.url, "ASSISTANT_HTTP_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "run", "--no-wake"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    status: list[bytes] = []
    sub = paho.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: status.append(m.payload)
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("assistant/status")
    sub.loop_start()
    try:
        assert wait_for(lambda: any("status page and API at" in line for line in stderr), 60), stderr
        url = re.search(r"status page and API at (\S+)", "".join(stderr)).group(1)
        s = Served(proc, url, {}, stderr)
        health = lambda: s.request("GET", "/health").json()  # noqa: E731
        assert wait_for(lambda: health()["parts"]["voice"]["state"] == "ready", 120)
        assert health()["mode"] == "run" and health()["ready"]
        assert (
            s.request("POST", "/api/ask", token=TOKEN, json_body={"text": "set an alarm for 5:45 am"}).status
            == 200
        )
        assert wait_for(lambda: status and status[-1] == b"online", 5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert wait_for(lambda: status[-1] == b"offline", 5)
    finally:
        sub.loop_stop()
        sub.disconnect()
        if proc.poll() is None:
            proc.kill()
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as c:
        assert c.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    assert [a["time"] for a in json.loads(cli(env, "alarms", "--json").stdout)] == ["05:45"]
    assert "Traceback" not in "".join(stderr)
