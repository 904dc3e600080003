"""End to end: `Assistant.ask` -> HassGetWeather -> Open-Meteo provider -> a real local HTTP server (127.0.0.1)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.fixtures_media import stub_http_server
from tests.fixtures_services import openmeteo_routes

NOW = dt.datetime(2025, 3, 12, 15, 0)  # a Wednesday; matches tests/data/openmeteo/forecast_berlin.json


@pytest.fixture
def weather(make_assistant, tmp_path, monkeypatch):
    with stub_http_server() as server:
        openmeteo_routes(server)
        from assistant.config import load_config
        from assistant.core import Assistant

        cfg = load_config(
            env={
                "ASSISTANT_DATA_DIR": str(tmp_path),
                "ASSISTANT_TZ": "Europe/Berlin",
                "ASSISTANT_WEATHER_URL": f"{server.url}/v1/forecast",
            }
        )
        cfg = cfg.model_copy(
            update={"weather": cfg.weather.model_copy(update={"geocoding_url": f"{server.url}/v1/search"})}
        )
        assistant = Assistant(cfg)
        yield assistant, server
        assistant.close()


def test_forecast_questions_through_the_config_url(weather) -> None:
    assistant, server = weather
    r = assistant.ask("what's the forecast for Berlin this weekend", now=NOW)
    assert r.slots == {"location": "berlin", "date": "this weekend", "aspect": "conditions"}
    assert r.response.startswith("This weekend in Berlin: Saturday rain")
    assert assistant.ask("do I need an umbrella tomorrow", now=NOW).response.endswith(
        "Yes, take an umbrella."
    )
    assert assistant.ask("how cold will it be tonight", now=NOW).response == "Tonight: a low of 2 degrees."
    paths = [r.path for r in server.requests]
    assert paths.count("/v1/search") == 1 and "/v1/forecast" in paths


def test_dry_run_does_not_call_the_service(weather) -> None:
    assistant, server = weather
    r = assistant.ask("will it rain tomorrow in berlin", now=NOW, dry_run=True)
    assert r.intent == "HassGetWeather" and r.actions == [] and server.requests == []


def test_server_error_is_one_sentence(weather) -> None:
    from tests.fixtures_media import Reply

    assistant, server = weather
    server.routes[("GET", "/v1/forecast")] = Reply(500, {"error": True, "reason": "boom"})
    r = assistant.ask("what's the weather like", now=NOW)
    assert r.response == "The weather service returned an error, so I can't get the forecast right now."
