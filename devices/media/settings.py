"""Configuration models for music playback (pydantic v2, every key has a default)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Backend = Literal["local", "mpd", "home_assistant", "mqtt"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, validate_default=True)


class MpdSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(6600, ge=1, le=65535)
    password: str | None = None
    timeout_s: float = Field(5.0, gt=0)


class HomeAssistantMediaSettings(_Model):
    url: str = "http://homeassistant.local:8123/api"
    token: str = ""
    timeout_s: float = Field(5.0, gt=0)
    # Local tracks are handed to HA as <media_url_prefix><path relative to music_dir>.
    media_url_prefix: str = "media-source://media_source/local/"


class MqttMediaSettings(_Model):
    topic_prefix: str = "assistant/media"

    @field_validator("topic_prefix")
    @classmethod
    def _no_wildcards(cls, v: str) -> str:
        v = v.strip().strip("/")
        if not v or "+" in v or "#" in v:
            raise ValueError(
                "mqtt topic_prefix must be a non-empty topic without '+' or '#' wildcards, e.g. 'assistant/media'"
            )
        return v


class PlayerConfig(_Model):
    """One named player. ``target`` is backend-specific: HA entity id, MQTT player name."""

    name: str
    area: str | None = None
    backend: Backend = "local"
    target: str | None = None

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("player name must not be empty")
        return v.strip()

    @model_validator(mode="after")
    def _target_for_ha(self) -> PlayerConfig:
        if self.backend == "home_assistant" and self.target and not self.target.startswith("media_player."):
            raise ValueError(
                f"player {self.name!r}: home_assistant target must be a media_player entity id like 'media_player.kitchen', got {self.target!r}"
            )
        return self


class MediaSettings(_Model):
    backend: Backend = "local"
    music_dir: Path = Path("~/Music")
    cache_dir: Path = Path("~/.cache/assistant/media")
    default_volume: int = Field(50, ge=0, le=100)
    volume_step: int = Field(10, ge=1, le=100)
    mpd: MpdSettings = Field(default_factory=MpdSettings)
    home_assistant: HomeAssistantMediaSettings = Field(default_factory=HomeAssistantMediaSettings)
    mqtt: MqttMediaSettings = Field(default_factory=MqttMediaSettings)
    radio_stations: dict[str, str] = Field(default_factory=dict)
    # mood word -> genres; merged over intents.media_query.MOODS
    moods: dict[str, list[str]] = Field(default_factory=dict)
    players: list[PlayerConfig] = Field(default_factory=list)

    @field_validator("music_dir", "cache_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return Path(v).expanduser()

    @field_validator("radio_stations")
    @classmethod
    def _station_urls(cls, v: dict[str, str]) -> dict[str, str]:
        for name, url in v.items():
            if "://" not in url:
                raise ValueError(
                    f"radio station {name!r}: {url!r} is not a URL; use e.g. 'http://stream.example.org/live.mp3'"
                )
        return v

    @field_validator("moods")
    @classmethod
    def _lower_moods(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k.lower().strip(): [g.lower().strip() for g in gs] for k, gs in v.items()}

    @model_validator(mode="after")
    def _unique_players(self) -> MediaSettings:
        names = [p.name.lower() for p in self.players]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"player names must be unique; duplicated: {', '.join(dupes)}")
        return self

    def player_for(self, name_or_area: str | None) -> PlayerConfig | None:
        """Find a configured player by name or area ('kitchen'); None means the default."""
        if not name_or_area:
            return self.players[0] if self.players else None
        key = name_or_area.lower().strip()
        for p in self.players:
            if p.name.lower() == key or (p.area or "").lower() == key:
                return p
        from rapidfuzz import fuzz, process

        choices = {i: f"{p.name} {p.area or ''}".lower() for i, p in enumerate(self.players)}
        best = process.extractOne(key, choices, scorer=fuzz.WRatio, score_cutoff=80)
        return self.players[best[2]] if best else None
