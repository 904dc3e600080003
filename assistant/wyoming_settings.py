"""Settings of the Wyoming side: the port Home Assistant and satellites use, and the satellites we know."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SatelliteEntry(_Base):
    name: str = Field(
        ..., min_length=1, description="Name of the box (e.g. kitchen-pi); says which box asked"
    )
    area: str | None = Field(None, description="Area the box stands in; area-aware commands act there")
    uri: str | None = Field(
        None,
        description="tcp://HOST:PORT of a wyoming-satellite to connect to (as Home Assistant does); "
        "unset = the box connects to our Wyoming port itself (`assistant satellite`)",
    )

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("tcp://"):
            raise ValueError(f"satellite uri must look like tcp://HOST:PORT (got {value!r})")
        return value


class WyomingSettings(_Base):
    enabled: bool = Field(True, description="Serve the Wyoming port in `assistant serve`")
    host: str = Field("0.0.0.0", description="Address to listen on")
    port: int = Field(10600, ge=0, le=65535, description="Wyoming port (0 = any free port)")
    satellites: list[SatelliteEntry] = Field(default_factory=list, description="Satellites: name, area, uri")
    reconnect_s: float = Field(3.0, gt=0, description="Seconds between attempts to reach a lost satellite")
    ring_repeat_s: float = Field(
        20.0, gt=0, description="A ringing alarm or timer is said again this often until stopped"
    )

    @field_validator("satellites")
    @classmethod
    def _unique(cls, value: list[SatelliteEntry]) -> list[SatelliteEntry]:
        names = [s.name for s in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"satellite names must be unique; repeated: {', '.join(dup)}")
        return value
