"""Settings for the smart-home device backends (MQTT, Home Assistant, YAML devices)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from devices.redact import mask_text, mask_url

Component = Literal[
    "light",
    "switch",
    "fan",
    "cover",
    "lock",
    "climate",
    "vacuum",
    "sensor",
    "binary_sensor",
    "alarm_control_panel",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSettings(_Strict):
    """MQTT broker connection. ``url=None`` means no broker is used."""

    url: str | None = None  # mqtt://host:1883 or mqtts://host:8883, optionally user:pass@
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    ca_file: str | None = None
    tls_insecure: bool = False
    discovery_prefix: str = "homeassistant"
    base_topic: str = "assistant"
    node_id: str = "voice_assistant"  # our own device in HA (MQTT discovery); one per box on a broker
    keepalive: int = Field(default=60, ge=5, le=3600)
    reconnect_min_delay: float = Field(default=1.0, gt=0)
    reconnect_max_delay: float = Field(default=30.0, gt=0)
    max_queued: int = Field(default=1000, ge=1)  # offline queue length; the oldest are dropped (logged)
    max_queue_age_s: float = Field(
        default=3600.0, gt=0
    )  # queued commands older than this are dropped (logged)
    send_timeout: float = Field(default=2.0, gt=0)  # one-shot commands: longest wait for the broker's PUBACK
    # "5": MQTT 5, which lets us take every retained discovery config at once (Receive Maximum);
    # "3.1.1" for brokers that do not speak 5 (a broker then drops retained configs beyond its queue)
    protocol: Literal["5", "3.1.1"] = "5"

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) else v  # YAML reads `protocol: 5` as a number

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        p = urlparse(v)
        shown = mask_url(v)  # never print the password
        if p.scheme not in ("mqtt", "mqtts"):
            raise ValueError(
                f"unsupported scheme {p.scheme!r} in {shown!r}; allowed: 'mqtt://host:1883' or 'mqtts://host:8883'"
            )
        if not p.hostname:
            raise ValueError(f"no host in {shown!r}; expected e.g. 'mqtt://192.168.1.10:1883'")
        try:
            _ = p.port  # raises ValueError when out of range
        except ValueError:
            raise ValueError(f"invalid port in {shown!r}; expected a number 1-65535") from None
        return v

    @field_validator("node_id")
    @classmethod
    def _check_node_id(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9_-]+", v):
            raise ValueError("must be letters, digits, '_' or '-' (it is an MQTT discovery node id)")
        return v

    @field_validator("discovery_prefix", "base_topic")
    @classmethod
    def _check_topic(cls, v: str) -> str:
        v = v.strip("/")
        if not v or any(c in v for c in "+#"):
            raise ValueError("must be a non-empty MQTT topic without wildcards ('+', '#')")
        return v


class HomeAssistantSettings(_Strict):
    """Home Assistant REST API. ``url=None`` means not used."""

    url: str | None = None  # e.g. http://homeassistant.local:8123
    token: str | None = None  # long-lived access token
    verify_ssl: bool = True
    timeout: float = Field(default=10.0, gt=0)
    areas: dict[str, str] = Field(default_factory=dict)  # entity_id -> area, used when HA cannot tell

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        p = urlparse(v)
        if p.scheme not in ("http", "https") or not p.hostname:
            raise ValueError(f"expected 'http://host:8123' or 'https://host', got {mask_url(v)!r}")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _token_needed(self) -> HomeAssistantSettings:
        if self.url and not self.token:
            raise ValueError(
                "token is required when url is set: create a long-lived access token in "
                "Home Assistant (Profile -> Security) and put it in home_assistant.token"
            )
        return self


class DeviceConfig(_Strict):
    """A device declared in YAML, controlled over MQTT."""

    name: str = Field(min_length=1)
    component: Component
    entity_id: str | None = None  # default: <component>.<slug(name)>
    aliases: list[str] = Field(default_factory=list)
    area: str | None = None
    device_class: str | None = None
    schema_: Literal["default", "json"] = Field(default="default", alias="schema")
    command_topic: str | None = None
    state_topic: str | None = None
    value_template: str | None = None
    payload_on: str = "ON"
    payload_off: str = "OFF"
    state_on: str | None = None
    state_off: str | None = None
    brightness_command_topic: str | None = None
    brightness_state_topic: str | None = None
    brightness_scale: int = Field(default=255, ge=1)
    brightness: bool = False  # json schema: supports brightness
    rgb: bool = False  # json schema: supports rgb colour
    color_temp: bool = False  # json schema: supports colour temperature
    rgb_command_topic: str | None = None
    color_temp_command_topic: str | None = None
    color_temp_kelvin: bool = False
    percentage_command_topic: str | None = None
    payload_open: str = "OPEN"
    payload_close: str = "CLOSE"
    payload_stop: str = "STOP"
    position_topic: str | None = None
    set_position_topic: str | None = None
    payload_lock: str = "LOCK"
    payload_unlock: str = "UNLOCK"
    temperature_command_topic: str | None = None
    temperature_state_topic: str | None = None
    current_temperature_topic: str | None = None
    mode_command_topic: str | None = None
    payload_start: str = "start"
    payload_return_to_base: str = "return_to_base"
    requires_confirmation: bool | None = None  # None: use devices.confirm_components

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _needs_topic(self) -> DeviceConfig:
        if self.component not in ("sensor", "binary_sensor") and not (
            self.command_topic or self.temperature_command_topic or self.set_position_topic
        ):
            raise ValueError(
                f"device {self.name!r} ({self.component}) needs a command_topic so it can be controlled"
            )
        if self.component in ("sensor", "binary_sensor") and not self.state_topic:
            raise ValueError(f"device {self.name!r} ({self.component}) needs a state_topic")
        return self


class ExposureSettings(_Strict):
    """Which entities the assistant may see and control (globs on entity_id, e.g. 'light.*')."""

    expose_all: bool = True
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    def is_exposed(self, entity_id: str) -> bool:
        from fnmatch import fnmatchcase

        if any(fnmatchcase(entity_id, p) for p in self.exclude):
            return False
        if any(fnmatchcase(entity_id, p) for p in self.include):
            return True
        return self.expose_all


class DevicesSettings(_Strict):
    """YAML-declared devices, exposure rules and which components need a spoken confirmation."""

    devices: list[DeviceConfig] = Field(default_factory=list)
    exposure: ExposureSettings = Field(default_factory=ExposureSettings)
    # "component" or "component:device_class"
    confirm_components: list[str] = Field(
        default_factory=lambda: ["lock", "alarm_control_panel", "cover:garage", "cover:gate", "cover:door"]
    )
    # most seconds to wait for the retained discovery configs (it ends as soon as the broker has sent
    # them all: milliseconds in a normal home, seconds for thousands)
    discovery_wait: float = Field(default=15.0, ge=0)

    def needs_confirmation(self, component: str, device_class: str | None) -> bool:
        return component in self.confirm_components or (
            device_class is not None and f"{component}:{device_class}" in self.confirm_components
        )


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem: 'path.to.field: message (got VALUE)'."""
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else mask_text(f" (got {got!r})")
        lines.append(f"{path or '<root>'}: {mask_text(e['msg'])}{got_s}")
    return "\n".join(lines)
