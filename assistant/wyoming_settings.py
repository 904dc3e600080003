"""Settings of the Wyoming side: the port Home Assistant and satellites use, and the satellites we know."""

from __future__ import annotations

import ipaddress

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
    host: str = Field(
        "127.0.0.1",
        description="Address to listen on; beyond loopback (e.g. 0.0.0.0 for satellites) needs wyoming.allow",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Who may connect besides this machine: addresses or networks (192.168.1.0/24); "
        "Wyoming has no authentication, so this list is its only gate",
    )
    port: int = Field(10600, ge=0, le=65535, description="Wyoming port (0 = any free port)")
    satellites: list[SatelliteEntry] = Field(default_factory=list, description="Satellites: name, area, uri")
    reconnect_s: float = Field(3.0, gt=0, description="Seconds between attempts to reach a lost satellite")
    ring_repeat_s: float = Field(
        20.0, gt=0, description="A ringing alarm or timer is said again this often until stopped"
    )

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an address or network; use e.g. 192.168.1.31 or 192.168.1.0/24"
                ) from None
        return value

    def allows(self, address: str) -> bool:
        """May a connection from ``address`` use the port? This machine always; others if listed."""
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback or any(ip in ipaddress.ip_network(n, strict=False) for n in self.allow)

    def check_bind(self) -> None:
        """Listening beyond this machine with nobody listed would let anyone who reaches the port
        speak commands (Wyoming has no authentication): refuse, saying what to set."""
        if self.allow or is_loopback(self.host):
            return
        raise ValueError(
            f"refusing to serve the Wyoming port on {self.host}:{self.port} to anyone who reaches it: "
            "Wyoming has no authentication, so they could speak commands. List who may connect in "
            "wyoming.allow (your satellites' and Home Assistant's addresses, or your network, e.g. "
            "192.168.1.0/24), or listen on this machine only (wyoming.host: 127.0.0.1)."
        )

    @field_validator("satellites")
    @classmethod
    def _unique(cls, value: list[SatelliteEntry]) -> list[SatelliteEntry]:
        names = [s.name for s in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"satellite names must be unique; repeated: {', '.join(dup)}")
        return value


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a port on this machine (the HTTP API and Wyoming rule)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
