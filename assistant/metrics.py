"""Prometheus metrics of one running service (``GET /metrics``), in a registry of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# pipeline stages (voice timings and the text core's own) -> metric label
VOICE_STAGES = (
    "endpoint_delay",
    "asr",
    "nlu",
    "tts_first_audio",
    "end_of_speech_to_action",
    "end_of_speech_to_first_audio",
)
CORE_STAGES = {"template": "template", "llm": "llm", "handle": "handle", "total": "understand"}
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, mqtt_connected: Callable[[], bool] | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.stage = Histogram(
            "assistant_stage_seconds",
            "Latency of each pipeline stage",
            ["stage"],
            buckets=BUCKETS,
            registry=r,
        )
        self.wake = Counter("assistant_wake_detections", "Wake words heard", ["word"], registry=r)
        self.requests = Counter(
            "assistant_requests",
            "Requests by source, recognising tier (or 'none') and outcome",
            ["source", "tier", "outcome"],
            registry=r,
        )
        self.errors = Counter("assistant_errors", "Failures, by where they happened", ["where"], registry=r)
        self.mqtt = Gauge(
            "assistant_mqtt_connected",
            "1 while connected to the MQTT broker (0 also when none is set)",
            registry=r,
        )
        self.mqtt.set_function(lambda: float(bool(mqtt_connected and mqtt_connected())))

    def observe(self, source: str, result: dict[str, Any]) -> None:
        """One request's result (``ask --json`` or ``process --json`` shape)."""
        tier = result.get("recognizer") or "none"
        self.requests.labels(source, tier, "recognised" if result.get("intent") else "unrecognised").inc()
        voice = "transcript" in result
        core = result.get("core_timings_ms" if voice else "timings_ms") or {}
        if voice:
            for stage in VOICE_STAGES:
                if stage in (result.get("timings_ms") or {}):
                    self.stage.labels(stage).observe(result["timings_ms"][stage] / 1000)
        for key, stage in CORE_STAGES.items():
            if key in core:
                self.stage.labels(stage).observe(core[key] / 1000)

    def text(self) -> bytes:
        return generate_latest(self.registry)
