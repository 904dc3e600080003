"""Weather configuration (pydantic v2; every key has a default)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class WeatherSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["open_meteo", "home_assistant", "sensor"] = "open_meteo"
    latitude: float = Field(52.52, ge=-90, le=90)
    longitude: float = Field(13.41, ge=-180, le=180)
    location_name: str = "home"
    units: Literal["metric", "imperial"] = "metric"
    cache_ttl_s: float = Field(600.0, ge=0)
    timeout_s: float = Field(2.0, gt=0, le=30)
    forecast_url: str = "https://api.open-meteo.com/v1/forecast"
    geocoding_url: str = "https://geocoding-api.open-meteo.com/v1/search"
    forecast_days: int = Field(14, ge=1, le=16)
    # Home Assistant weather entity (provider "home_assistant")
    ha_url: str = "http://homeassistant.local:8123/api"
    ha_token: str = ""
    ha_entity_id: str = "weather.home"

    @field_validator("forecast_url", "geocoding_url", "ha_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http(s) URL, e.g. 'https://api.open-meteo.com/v1/forecast'")
        return v.rstrip("/") if not v.endswith("/api/") else v

    @field_validator("ha_entity_id")
    @classmethod
    def _entity(cls, v: str) -> str:
        if not v.startswith("weather."):
            raise ValueError(f"ha_entity_id must be a weather entity like 'weather.home', got {v!r}")
        return v
