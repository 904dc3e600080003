"""Weather: Open-Meteo against a local stub serving recorded-shape JSON, errors, timeouts, date specs."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from devices.weather import (
    HomeAssistantWeather,
    OpenMeteoProvider,
    SensorWeather,
    WeatherSettings,
    make_provider,
)
from intents.weather_answer import resolve_date_spec, weather_answer
from tests.fixtures_media import Reply, free_port, stub_http_server

DATA = Path(__file__).parent / "data" / "openmeteo"
NOW = datetime(2025, 3, 12, 15, 0)  # a Wednesday; matches forecast_berlin.json


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def server():
    with stub_http_server() as srv:
        srv.routes[("GET", "/v1/forecast")] = Reply(200, load("forecast_berlin.json"))
        srv.routes[("GET", "/v1/search")] = lambda req: Reply(
            200,
            load("geocoding_berlin.json")
            if req.query["name"][0].lower() == "berlin"
            else load("geocoding_none.json"),
        )
        yield srv


def provider(srv, **kw) -> OpenMeteoProvider:
    s = WeatherSettings(forecast_url=f"{srv.url}/v1/forecast", geocoding_url=f"{srv.url}/v1/search", **kw)
    return OpenMeteoProvider(s)


@pytest.mark.parametrize(
    "spec, label, part, days",
    [
        (None, "Right now", "now", ["2025-03-12"]),
        ("today", "Today", "day", ["2025-03-12"]),
        ("tonight", "Tonight", "night", ["2025-03-12"]),
        ("tomorrow", "Tomorrow", "day", ["2025-03-13"]),
        ("tomorrow night", "Tomorrow night", "night", ["2025-03-13"]),
        ("Friday", "On Friday", "day", ["2025-03-14"]),
        ("on monday", "On Monday", "day", ["2025-03-17"]),
        ("wednesday", "Today", "day", ["2025-03-12"]),
        ("next wednesday", "On Wednesday", "day", ["2025-03-19"]),
        ("this weekend", "This weekend", "days", ["2025-03-15", "2025-03-16"]),
        ("next week", "Next week", "days", [f"2025-03-{d}" for d in range(17, 24)]),
        ("day after tomorrow", "The day after tomorrow", "day", ["2025-03-14"]),
        ("2025-03-18", "On Tuesday, March 18", "day", ["2025-03-18"]),
    ],
)
def test_resolve_date_spec(spec, label, part, days) -> None:
    r = resolve_date_spec(spec, NOW)
    assert (r.label, r.part, [d.isoformat() for d in r.days]) == (label, part, days)


def test_weekend_on_sunday_is_today_only() -> None:
    r = resolve_date_spec("this weekend", datetime(2025, 3, 16, 9))
    assert r.days == (date(2025, 3, 16),)


def test_tonight_spans_evening_to_morning() -> None:
    r = resolve_date_spec("tonight", NOW)
    assert (r.start, r.end) == (datetime(2025, 3, 12, 18), datetime(2025, 3, 13, 6))


def test_bad_date_spec_is_a_sentence(server) -> None:
    s, d = weather_answer(provider(server), None, "the twelfth of never", "conditions", NOW)
    assert (
        s == "I don't understand which day you mean by 'the twelfth of never'." and d["error"] == "date_spec"
    )


@pytest.mark.parametrize(
    "location, spec, aspect, expected",
    [
        (
            "Berlin",
            "tomorrow",
            "umbrella",
            "Tomorrow in Berlin: light rain, with a 80 percent chance of rain. Yes, take an umbrella.",
        ),
        (
            None,
            "today",
            "umbrella",
            "Today: overcast, only a 10 percent chance of rain. No, you won't need an umbrella.",
        ),
        (
            "Berlin",
            "tomorrow",
            "conditions",
            "Tomorrow in Berlin: light rain, with a high of 12 and a low of 5 degrees.",
        ),
        (
            "berlin",
            "this weekend",
            "conditions",
            "This weekend in Berlin: Saturday rain, with a high of 11 and a low of 6 degrees; "
            "Sunday clear sky, with a high of 15 and a low of 3 degrees.",
        ),
        (
            "Berlin",
            "this weekend",
            "rain",
            "This weekend in Berlin: Saturday rain, with a 90 percent chance of rain; Sunday clear sky, only a 0 percent "
            "chance of rain. Yes, rain is likely on Saturday.",
        ),
        (None, "tonight", "temperature", "Tonight: down to 2 degrees."),
        (None, None, "conditions", "Right now it's 8 degrees and overcast."),
        ("Berlin", None, "temperature", "Right now in Berlin it's 8 degrees."),
        (None, "monday", "snow", "On Monday: snow expected, about 6 centimeters."),
        (None, "friday", "snow", "On Friday: no snow expected."),
        (None, "tomorrow", "wind", "Tomorrow: winds up to 25 kilometers per hour."),
        (None, "tomorrow", "high", "Tomorrow: a high of 12 degrees."),
        (None, "tomorrow", "low", "Tomorrow: a low of 5 degrees."),
    ],
)
def test_answers(server, location, spec, aspect, expected) -> None:
    sentence, data = weather_answer(provider(server), location, spec, aspect, NOW)
    assert sentence == expected
    assert data["aspect"] == aspect


def test_answer_data_and_request_params(server) -> None:
    p = provider(server, units="imperial")
    _, data = weather_answer(p, "Berlin", "tomorrow", "umbrella", NOW)
    assert data["umbrella"] is True and data["location"] == "Berlin" and data["days"] == ["2025-03-13"]
    fc_req = next(r for r in server.requests if r.path == "/v1/forecast")
    q = {k: v[0] for k, v in fc_req.query.items()}
    assert q["latitude"] == "52.52437" and q["longitude"] == "13.41053" and q["timezone"] == "auto"
    assert (
        q["temperature_unit"] == "fahrenheit"
        and q["wind_speed_unit"] == "mph"
        and q["precipitation_unit"] == "inch"
    )
    assert "precipitation_probability_max" in q["daily"] and "temperature_2m" in q["hourly"]


def test_geocode_and_forecast_are_cached(server) -> None:
    p = provider(server, cache_ttl_s=60)
    for spec in ("today", "tomorrow", "this weekend"):
        weather_answer(p, "Berlin", spec, "conditions", NOW)
    assert [r.path for r in server.requests] == ["/v1/search", "/v1/forecast"]
    p0 = provider(server, cache_ttl_s=0)
    weather_answer(p0, None, "today", "conditions", NOW)
    weather_answer(p0, None, "today", "conditions", NOW)
    assert [r.path for r in server.requests].count("/v1/forecast") == 3


def test_unknown_place(server) -> None:
    s, d = weather_answer(provider(server), "Atlantis", "today", "conditions", NOW)
    assert s == "I couldn't find a place called Atlantis." and d["error"] == "UnknownLocation"


def test_beyond_forecast_range(server) -> None:
    s, d = weather_answer(provider(server), None, "2025-04-30", "conditions", NOW)
    assert s == "I don't have a forecast that far ahead; I only have it up to Tuesday, March 18."
    assert d["error"] == "out_of_range"


@pytest.mark.parametrize(
    "reply, expected",
    [
        (
            Reply(500, {"error": True, "reason": "internal"}),
            "The weather service returned an error, so I can't get the forecast right now.",
        ),
        (
            Reply(400, load("error_400.json")),
            "The weather service returned an error, so I can't get the forecast right now.",
        ),
        (Reply(200, "{not json at all"), "The weather service sent a reply I can't read."),
        (Reply(200, {"latitude": 1, "hourly": {}}), "The weather service sent a reply I can't read."),
        (Reply(200, {"daily": {"time": ["yesterday"]}}), "The weather service sent a reply I can't read."),
    ],
)
def test_service_errors_are_one_sentence(server, reply, expected) -> None:
    server.routes[("GET", "/v1/forecast")] = reply
    s, d = weather_answer(provider(server), None, "today", "umbrella", NOW)
    assert s == expected and "error" in d


def test_timeout_within_two_seconds(server) -> None:
    server.routes[("GET", "/v1/forecast")] = Reply(200, load("forecast_berlin.json"), delay_s=4)
    p = provider(server)  # default timeout_s = 2
    assert p.settings.timeout_s == 2.0
    t0 = time.monotonic()
    s, _ = weather_answer(p, "Berlin", "tomorrow", "rain", NOW)  # geocode + forecast share the 2 s budget
    assert time.monotonic() - t0 < 2.3
    assert s == "I can't reach the weather service right now."


def test_connection_refused() -> None:
    port = free_port()
    p = OpenMeteoProvider(WeatherSettings(forecast_url=f"http://127.0.0.1:{port}/v1/forecast"))
    s, _ = weather_answer(p, None, "today", "conditions", NOW)
    assert s == "I can't reach the weather service right now."


def test_settings_defaults_and_validation() -> None:
    from pydantic import ValidationError

    s = WeatherSettings()
    assert (
        s.forecast_url == "https://api.open-meteo.com/v1/forecast"
        and s.timeout_s == 2.0
        and s.units == "metric"
    )
    with pytest.raises(ValidationError, match="not an http"):
        WeatherSettings(forecast_url="api.open-meteo.com")
    with pytest.raises(ValidationError, match="weather entity"):
        WeatherSettings(ha_entity_id="sensor.outside")
    with pytest.raises(ValidationError):
        WeatherSettings(units="kelvin")


# ------------------------------------------------------------ Home Assistant + sensor
def ha_routes(srv) -> None:
    srv.routes[("GET", "/api/states/weather.home")] = Reply(
        200,
        {
            "entity_id": "weather.home",
            "state": "rainy",
            "attributes": {
                "temperature": 7.4,
                "temperature_unit": "°C",
                "wind_speed": 21.0,
                "friendly_name": "Home",
            },
            "last_changed": "2025-03-12T14:00:00+00:00",
            "last_updated": "2025-03-12T14:00:00+00:00",
        },
    )

    def forecasts(req):
        if req.json.get("type") == "hourly":
            return Reply(400, {"message": "Weather entity does not support 'hourly' forecast"})
        return Reply(
            200,
            {
                "changed_states": [],
                "service_response": {
                    "weather.home": {
                        "forecast": [
                            {
                                "datetime": "2025-03-12T11:00:00+00:00",
                                "condition": "rainy",
                                "temperature": 9.0,
                                "templow": 3.0,
                                "precipitation": 3.1,
                                "precipitation_probability": 70,
                                "wind_speed": 20.0,
                            },
                            {
                                "datetime": "2025-03-13T11:00:00+00:00",
                                "condition": "sunny",
                                "temperature": 13.0,
                                "templow": 4.0,
                                "precipitation": 0.0,
                                "precipitation_probability": 5,
                                "wind_speed": 10.0,
                            },
                        ]
                    }
                },
            },
        )

    srv.routes[("POST", "/api/services/weather/get_forecasts")] = forecasts


def test_home_assistant_weather() -> None:
    with stub_http_server() as srv:
        ha_routes(srv)
        p = make_provider(WeatherSettings(provider="home_assistant", ha_url=f"{srv.url}/api", ha_token="x"))
        assert isinstance(p, HomeAssistantWeather)
        s, _ = weather_answer(p, None, "today", "umbrella", NOW)
        assert s == "Today: rain, with a 70 percent chance of rain. Yes, take an umbrella."
        s, _ = weather_answer(p, None, "tomorrow", "conditions", NOW)
        assert s == "Tomorrow: sunny, with a high of 13 and a low of 4 degrees."
        s, _ = weather_answer(p, None, None, "conditions", NOW)
        assert s == "Right now it's 7 degrees and rain."
        s, _ = weather_answer(p, "Paris", "today", "conditions", NOW)
        assert s == "I only know the weather at home, not in Paris."
        post = next(r for r in srv.requests if r.method == "POST")
        assert "return_response" in post.query and post.json == {"entity_id": "weather.home", "type": "daily"}


def test_home_assistant_weather_unreachable() -> None:
    p = HomeAssistantWeather(
        WeatherSettings(provider="home_assistant", ha_url=f"http://127.0.0.1:{free_port()}/api")
    )
    t0 = time.monotonic()
    s, _ = weather_answer(p, None, "today", "conditions", NOW)
    assert s == "I can't reach Home Assistant for the weather right now." and time.monotonic() - t0 < 2.5


def test_sensor_overrides_current_temperature(server) -> None:
    p = SensorWeather(lambda: -1.6, base=provider(server))
    s, _ = weather_answer(p, None, None, "temperature", NOW)
    assert s == "Right now it's -2 degrees."
    s, _ = weather_answer(p, None, "tomorrow", "high", NOW)
    assert s == "Tomorrow: a high of 12 degrees."
    only = SensorWeather(lambda: 4.2)
    assert weather_answer(only, None, None, "temperature", NOW)[0] == "Right now it's 4 degrees."
    assert weather_answer(only, "Rome", None, "temperature", NOW)[0].startswith(
        "I only have the outdoor sensor at home"
    )
