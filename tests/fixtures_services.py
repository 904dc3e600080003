"""Real services for intent tests: the tone library played by the local player into a WAV file, and a local
HTTP server answering like Open-Meteo (``tests/data/openmeteo``).

A data-driven test file (tests/intents/en/*.yaml) asks for them with a top-level ``services:`` key::

    services: {music: true, players: [{name: kitchen speaker, area: kitchen}], weather: open_meteo}

``weather`` is ``open_meteo`` (stub server) or ``unreachable`` (a closed port).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from tests.fixtures_media import Reply, free_port, make_library, stub_http_server

OPENMETEO = Path(__file__).parent / "data" / "openmeteo"


def openmeteo_routes(server: Any) -> None:
    """Berlin's forecast for any coordinates; geocoding knows only Berlin."""

    def load(name: str) -> dict:
        return json.loads((OPENMETEO / name).read_text())

    server.routes[("GET", "/v1/forecast")] = Reply(200, load("forecast_berlin.json"))
    server.routes[("GET", "/v1/search")] = lambda req: Reply(
        200,
        load("geocoding_berlin.json")
        if req.query["name"][0].lower() == "berlin"
        else load("geocoding_none.json"),
    )


class IntentServices:
    """Installs the requested services into an Assistant; ``reset()`` gives every test fresh players."""

    def __init__(self, spec: dict[str, Any], tmp: Path, stack: contextlib.ExitStack):
        self.spec, self.tmp, self.stack = spec, tmp, stack
        self.music_dir = make_library(tmp / "music") if spec.get("music") else tmp / "no-music"
        self.weather_url: str | None = None
        if spec.get("weather") == "open_meteo":
            server = stack.enter_context(stub_http_server())
            openmeteo_routes(server)
            self.weather_url = server.url
            self.server = server
        elif spec.get("weather") == "unreachable":
            self.weather_url = f"http://127.0.0.1:{free_port()}"
        self.sinks: list[Any] = []

    def install(self, assistant: Any) -> None:
        from devices.media import MediaSettings, WavSink
        from devices.media.service import MediaService
        from devices.weather import OpenMeteoProvider, WeatherSettings

        old = assistant.services.media
        if old is not None:
            old.close()
        settings = MediaSettings(
            music_dir=self.music_dir, cache_dir=self.tmp / "cache", players=self.spec.get("players", [])
        )

        def sink() -> Any:
            out = WavSink(self.tmp / f"out{len(self.sinks)}.wav", sample_rate=22050, speed=1.0)
            self.sinks.append(out)
            return out

        assistant.services.media = MediaService(settings, sink_factory=sink)
        if self.weather_url:
            assistant.services.weather = OpenMeteoProvider(
                WeatherSettings(
                    forecast_url=f"{self.weather_url}/v1/forecast",
                    geocoding_url=f"{self.weather_url}/v1/search",
                    timeout_s=1.0,
                )
            )

    reset = install  # a fresh media service (players stopped and closed) per test
