"""The long-running service: what `assistant run` and `assistant serve` hold beside their main loop
(HTTP API and status page, request traces, metrics, health, the LLM probe).

Thread model (one process; the CLI builds the Assistant, then a Service around it):

* main thread: `serve` ticks the scheduler every ``--interval`` (``Service.tick``); `run` reads the
  microphone (``voice.run_live``) while a "ticker" thread ticks. SIGTERM/SIGINT land here and
  end the loop; then ``Service.stop`` and ``Assistant.close`` shut down in that order.
* "http": one asyncio event loop running the aiohttp server (``http_api.py``). Its handlers never
  block that loop: text requests and listings run on the loop's default thread pool, audio on
* "audio": one worker thread, so one pipeline run at a time shares the loaded models.
* "llm-probe": asks the LLM server every 30 s whether it is up (``/health``, startup summary).
* paho-mqtt's network thread, "ha-publish", "speaker": see devices/mqtt.py, ha_publish.py, pipeline.py.

The Assistant's own lock serialises everything that touches the store and the handlers.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import tempfile
import threading
import time
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from devices.redact import Redactor

from .config import HttpSettings
from .metrics import Metrics
from .wyoming_settings import is_loopback

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """The service cannot start; str() says what to do."""


class InputError(ValueError):
    """A request the service cannot use (bad audio, bad JSON); str() is meant for the caller."""


def check_bind(http: HttpSettings) -> None:
    """Listening beyond this machine without a token would hand the house to the network: refuse."""
    if not http.token and not is_loopback(http.host):
        raise ServiceError(
            f"refusing to serve the HTTP API on {http.host}:{http.port} without a token: anyone who can reach "
            "it could control the house. Set http.token in the config (or ASSISTANT_HTTP_TOKEN), or listen on "
            "this machine only (http.host: 127.0.0.1)."
        )


class TraceLog:
    """The last N runs, newest first; thread-safe."""

    def __init__(self, size: int):
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._next = 1

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"id": self._next, **entry}
            self._next += 1
            self._items.append(entry)
        return entry

    def recent(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._items))[:limit]


class LlmProbe:
    """Is the OpenAI-compatible server up? ``GET {url}/models`` now and every ``every`` seconds."""

    def __init__(self, url: str, api_key: str, every: float = 30.0):
        self.url, self.api_key, self.every = url, api_key, every
        self.state = "unknown"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def reachable(self) -> bool:
        return self.state == "reachable"

    def check(self, timeout: float = 2.0) -> str:
        request = urllib.request.Request(
            self.url.rstrip("/") + "/models",
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                self.state = "reachable" if response.status == 200 else f"unreachable: HTTP {response.status}"
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable now"
            self.state = f"unreachable: {getattr(exc, 'reason', exc)}"
        return self.state

    def start(self) -> None:
        self.check()
        self._thread = threading.Thread(target=self._run, name="llm-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)


def _stages(result: dict[str, Any]) -> dict[str, float]:
    """The stage timings a trace shows as bars: the voice pipeline's, else the text core's."""
    voice = result.get("timings_ms") if "transcript" in result else None
    if voice:
        pairs = (
            ("endpoint", "endpoint_delay"),
            ("asr", "asr"),
            ("understand", "nlu"),
            ("tts", "tts_first_audio"),
        )
        return {name: voice[key] for name, key in pairs if key in voice}
    core = result.get("timings_ms") or {}
    return {k: v for k, v in core.items() if k != "total"}


class Service:
    def __init__(self, assistant: Any, mode: str = "serve"):
        self.assistant = assistant
        self.config = assistant.config
        self.mode = mode
        self.redactor = Redactor(self.config.secrets())
        self.traces = TraceLog(self.config.http.traces)
        hub = assistant.services.devices
        self.mqtt = getattr(hub, "mqtt", None)
        self.metrics = Metrics(lambda: bool(self.mqtt is not None and self.mqtt.connected))
        llm = self.config.llm
        self.llm = LlmProbe(llm.url, llm.api_key) if llm.url else None
        self.audio_pool = ThreadPoolExecutor(1, thread_name_prefix="audio")
        self.voice_state = "not loaded (loads on the first spoken request)"
        self.http: Any = None
        self.url: str | None = None
        self.last_tick: float | None = None
        self.started = time.time()

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Service:
        http = self.config.http
        if http.enabled:
            check_bind(http)
            from .http_api import HttpServer

            self.http = HttpServer(self, http.host, http.port, http.token)
            self.url = self.http.start()
        if self.llm is not None:
            self.llm.start()
        return self

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None
        if self.llm is not None:
            self.llm.stop()
        self.audio_pool.shutdown(wait=True, cancel_futures=True)

    def tick(self) -> list[Any]:
        try:
            events = self.assistant.tick()
        except Exception:  # keep ticking: the next alarm matters more than this failure
            log.exception("scheduler tick failed")
            self.metrics.errors.labels("scheduler").inc()
            return []
        self.last_tick = time.monotonic()
        return events

    # ---- requests -----------------------------------------------------------------------------
    def ask(
        self, text: str, *, dry_run: bool = False, area: str | None = None, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        try:
            result = self.assistant.ask(text, now=now, dry_run=dry_run, area=area).to_dict()
            if warnings := self.assistant.device_problems():  # the same JSON as ``ask --json``
                result["warnings"] = warnings
        except Exception as exc:
            self.metrics.errors.labels("understand").inc()
            self.record("text", {"text": text}, error=f"{type(exc).__name__}: {exc}")
            raise
        self.metrics.observe("text", result)
        self.record("text", result)
        return self.redact(result)

    def cancel(self, kind: str, item_id: int) -> bool:
        """Delete alarm or timer ``item_id`` (a ringing one stops); False if there is none."""
        store = self.assistant.store
        with self.assistant._lock:  # not between a scheduler tick's read and write
            rows = store.alarms() if kind == "alarm" else store.timers()
            if not any(r.id == item_id for r in rows):
                return False
            (store.delete_alarm if kind == "alarm" else store.delete_timer)(item_id)
        log.info("%s #%d cancelled over HTTP", kind, item_id)
        return True

    def engines(self) -> Any:
        from .engines import Engines

        if not self.voice_state.startswith("ready"):
            self.voice_state = "loading"
        try:
            engines = Engines.load(self.config.voice, self.assistant.reply_heads())
        except Exception as exc:
            self.voice_state = f"error: {exc}"
            raise
        self.voice_state = "ready"
        return engines

    def audio(
        self, data: bytes, *, no_wake: bool = True, dry_run: bool = False, area: str | None = None
    ) -> dict[str, Any]:
        """One recording through the whole voice pipeline (as ``assistant process``); blocking."""
        from .audio import read_audio_file
        from .voice import process_audio

        if not data:
            raise InputError("empty body: send a recording (WAV, FLAC, OGG or MP3) as the request body")
        with tempfile.TemporaryDirectory(prefix="assistant-audio-") as tmp:
            source, reply = Path(tmp) / "in.audio", Path(tmp) / "reply.wav"
            source.write_bytes(data)
            try:
                samples = read_audio_file(source)
            except (OSError, ValueError) as exc:
                raise InputError(f"cannot decode the audio: {exc}") from None
            engines = self.engines()

            def understand(text: str, *, say: Any) -> Any:  # the LLM's answer is spoken as it comes
                return self.assistant.ask(text, dry_run=dry_run, area=area, on_sentence=say)

            try:
                results = process_audio(
                    samples,
                    understand,
                    self.config.voice,
                    no_wake=no_wake,
                    output_wav=str(reply),
                    engines=engines,
                    stream_replies=True,
                )
            except Exception as exc:
                self.metrics.errors.labels("pipeline").inc()
                self.record("audio", {}, error=f"{type(exc).__name__}: {exc}")
                raise
            wav = reply.read_bytes() if reply.is_file() else b""
        for result in results:
            self.on_voice_result(result, source="audio")
        if not results:
            self.record("audio", {}, error="no request heard (silence, noise, or no wake word)")
        has_audio = len(wav) > 44  # more than a WAV header
        out = [{k: v for k, v in r.items() if k != "trace"} for r in results]
        return self.redact(
            {"results": out, "reply_wav": base64.b64encode(wav).decode() if has_audio else None}
        )

    def on_voice_result(self, result: dict[str, Any], source: str = "voice") -> None:
        """A spoken request done (live microphone or /api/audio): metrics and a trace."""
        self.metrics.observe(source, result)
        for event in result.get("trace") or []:
            if event.get("event") == "WakeDetected" and source != "voice":  # live: counted by on_voice_event
                self.metrics.wake.labels(event.get("word", "?")).inc()
        if result.get("error"):
            self.metrics.errors.labels("understand").inc()
        self.record(source, result)

    def on_voice_event(self, event: Any) -> None:
        if type(event).__name__ == "WakeDetected":
            self.metrics.wake.labels(event.word).inc()

    def record(self, source: str, result: dict[str, Any], error: str | None = None) -> dict[str, Any]:
        entry = {
            "time": dt.datetime.now(self.assistant.tz).isoformat(timespec="seconds"),
            "source": source,
            "transcript": result.get("transcript", result.get("text")),
            "intent": result.get("intent"),
            "slots": result.get("slots") or {},
            "recognizer": result.get("recognizer"),
            "response": result.get("response"),
            "actions": result.get("actions") or [],
            "stages_ms": _stages(result),
            "timings_ms": result.get("timings_ms") or {},
            "error": error or result.get("error"),
        }
        return self.traces.add(self.redact(entry))

    def redact(self, data: Any) -> Any:
        """``data`` with every secret of the config masked in its strings."""
        if isinstance(data, str):
            return self.redactor(data)
        if isinstance(data, dict):
            return {k: self.redact(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.redact(v) for v in data]
        return data

    # ---- state --------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Liveness and, per part, readiness. ``ready`` needs the store and a ticking scheduler."""
        parts: dict[str, dict[str, Any]] = {}
        try:
            self.assistant.store.timers()
            parts["store"] = {"ok": True}
        except Exception as exc:  # noqa: BLE001
            parts["store"] = {"ok": False, "error": str(exc)}
        age = None if self.last_tick is None else round(time.monotonic() - self.last_tick, 1)
        parts["scheduler"] = {"ok": age is not None and age < 10, "last_tick_s_ago": age}
        parts["http"] = {"ok": True, "url": self.url}
        parts["voice"] = {"ok": not self.voice_state.startswith("error"), "state": self.voice_state}
        hub = self.assistant.services.devices
        if self.mqtt is not None:
            parts["mqtt"] = {"ok": bool(self.mqtt.connected), "connected": bool(self.mqtt.connected)}
        else:
            parts["mqtt"] = {"ok": True, "configured": False}
        if hub is not None:
            problems = list(getattr(hub, "errors", []) or [])
            parts["devices"] = {"ok": not problems, "entities": len(hub.registry.all()), "problems": problems}
        else:
            parts["devices"] = {"ok": True, "configured": False, "entities": 0}
        if self.llm is not None:
            parts["llm"] = {"ok": self.llm.reachable, "state": self.llm.state}
        else:
            parts["llm"] = {"ok": True, "configured": False}
        ready = parts["store"]["ok"] and parts["scheduler"]["ok"]
        status = ("ok" if all(p["ok"] for p in parts.values()) else "degraded") if ready else "not ready"
        return self.redact(
            {
                "status": status,
                "live": True,
                "ready": ready,
                "mode": self.mode,
                "uptime_s": round(time.time() - self.started, 1),
                "parts": parts,
            }
        )

    def summary(self) -> dict[str, Any]:
        """What was started, for the log and `serve`'s "ready" line."""
        voice = self.config.voice
        hub = self.assistant.services.devices
        return self.redact(
            {
                "url": self.url,
                "models": {
                    "asr": voice.asr.model,
                    "tts": voice.tts.voice,
                    "wake": f"{voice.wake.engine}: {', '.join(voice.wake.words)}",
                },
                "devices": len(hub.registry.all()) if hub is not None else 0,
                "mqtt": None
                if self.mqtt is None
                else ("connected" if self.mqtt.connected else "not connected"),
                "llm": "off" if self.llm is None else self.llm.state,
            }
        )

    def summary_text(self) -> str:
        s = self.summary()
        mqtt = f", MQTT {s['mqtt']}" if s["mqtt"] else ""
        return "\n".join(
            [
                f"assistant {self.mode}: status page and API at {s['url'] or 'off (http.enabled: false)'}",
                f"  models: ASR {s['models']['asr']}; TTS {s['models']['tts']}; wake {s['models']['wake']}",
                f"  devices: {s['devices']} found{mqtt}; LLM: {s['llm']}",
            ]
        )
