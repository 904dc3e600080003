"""The assistant's configuration: one YAML file, validated with pydantic, every key defaulted.

Where it is read from, first found wins: ``--config PATH``, ``$ASSISTANT_CONFIG``,
``$XDG_CONFIG_HOME/assistant/config.yaml`` (``~/.config/assistant/config.yaml``). No file is
fine. Environment variables then override single keys (see ``ENV_OVERRIDES``).
"""

from __future__ import annotations

import os
import zoneinfo
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from devices.media.settings import MediaSettings
from devices.redact import SECRET_KEYS, mask_config, mask_text, secret_values  # noqa: F401 - the one masking helper
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings
from devices.todo import ListsSettings
from devices.weather.settings import WeatherSettings
from intents.settings import IntentSettings

from .voice_settings import AsrSettings, AudioSettings, TtsSettings, VadSettings, VoiceSettings, WakeSettings
from .wyoming_settings import WyomingSettings


def _xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / default)


DEFAULT_CONFIG_PATH = _xdg("XDG_CONFIG_HOME", ".config") / "assistant" / "config.yaml"
DEFAULT_DATA_DIR = _xdg("XDG_DATA_HOME", ".local/share") / "assistant"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LlmSettings(Section):
    url: str | None = Field(
        None, description="OpenAI-compatible base URL, e.g. http://vllm:8000/v1; unset = no LLM tier"
    )
    model: str | None = Field(None, description="Model name served there")
    api_key: str = Field("not-needed", description="API key, if the server wants one")
    timeout_s: float = Field(
        1.0,
        gt=0,
        description="Longest wait for the LLM (a voice answer should not wait longer); "
        "a CPU server needs more, see docs/llm.md",
    )
    mode: str = Field(
        "tools",
        pattern=r"^(tools|json)$",
        description="tools: native tool calling; json: response_format JSON schema (servers without tools)",
    )
    scope_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="The LLM's tool calls run only for requests scoring at least this in scope",
    )
    tools_top_k: int = Field(
        0,
        ge=0,
        description="Offer the LLM only the tools of the k intents the learned tier ranks highest "
        "(0: all tools); see docs/llm.md",
    )
    entity_budget_tokens: int = Field(
        400, ge=0, description="Prompt tokens for the home's devices, most relevant first"
    )
    final_answer: bool = Field(
        False,
        description="Send tool results back for the model's own final sentence "
        "(one more request; within timeout_s, else the handler's answer)",
    )


class LearnedSettings(Section):
    enabled: bool = Field(
        True, description="Tier 'learned' (after the templates, before the LLM); off = templates only"
    )
    model: Path | None = Field(
        None, description="Model file (.npz) from `python -m intents.train`; unset = the shipped one"
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="Least intent probability to act on; unset = the model's"
    )


class HttpSettings(Section):
    host: str = Field(
        "127.0.0.1", description="Address the API and status page listen on; beyond loopback needs a token"
    )
    port: int = Field(
        8300, ge=0, le=65535, description="TCP port (0 = any free port, said in the startup summary)"
    )
    token: str | None = Field(None, description="Bearer token for /api/* and /metrics; required off loopback")
    enabled: bool = Field(True, description="Serve the API and page from `assistant run` and `serve`")
    traces: int = Field(
        200, ge=1, le=100000, description="How many recent runs /api/traces and the page keep"
    )


class Config(Section):
    timezone: str | None = Field(None, description="IANA zone, e.g. Europe/Berlin; unset = the system's")
    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where state (SQLite) is kept")
    language: str = Field("en", description="Language of templates and answers (only 'en' ships)")
    area: str | None = Field(None, description="Area this box stands in (default for area-less commands)")
    log_level: str = Field("WARNING", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(
        "text", pattern=r"^(text|json)$", description="Logs on stderr: text or JSON lines"
    )
    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP API and status page")
    intents: IntentSettings = Field(default_factory=IntentSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    learned: LearnedSettings = Field(
        default_factory=LearnedSettings, description="The learned understanding tier"
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    home_assistant: HomeAssistantSettings = Field(default_factory=HomeAssistantSettings)
    devices: DevicesSettings = Field(
        default_factory=DevicesSettings, description="YAML devices, exposure, confirmation"
    )
    weather: WeatherSettings = Field(default_factory=WeatherSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    lists: ListsSettings = Field(default_factory=ListsSettings, description="Shopping and to-do lists")
    audio: AudioSettings = Field(default_factory=AudioSettings, description="Microphone and speaker")
    wake: WakeSettings = Field(default_factory=WakeSettings, description="Wake word engine and words")
    vad: VadSettings = Field(default_factory=VadSettings, description="End-of-speech detection")
    asr: AsrSettings = Field(default_factory=AsrSettings, description="faster-whisper")
    tts: TtsSettings = Field(default_factory=TtsSettings, description="Piper voice")
    wyoming: WyomingSettings = Field(default_factory=WyomingSettings, description="Wyoming port, satellites")

    @property
    def voice(self) -> VoiceSettings:
        return VoiceSettings(
            audio=self.audio,
            wake=self.wake,
            vad=self.vad,
            asr=self.asr,
            tts=self.tts,
            models_dir=Path(self.data_dir).expanduser() / "models",
        )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
                ) from None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value != "en":
            raise ValueError(f"language {value!r} is not available; only 'en' ships")
        return value

    def masked(self) -> dict[str, Any]:
        """The configuration as plain data with passwords, tokens and API keys masked (for printing)."""
        return mask_config(self.model_dump(mode="json"))

    def secrets(self) -> list[str]:
        """Every secret value in the configuration (for ``devices.redact.SecretFilter``)."""
        return secret_values(self.model_dump(mode="json"))

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        if self.timezone:
            return zoneinfo.ZoneInfo(self.timezone)
        return _system_zone()


def _system_zone() -> zoneinfo.ZoneInfo:
    key = os.environ.get("TZ", "").lstrip(":")
    if not key:
        try:
            link = os.path.realpath("/etc/localtime")
            key = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
        except OSError:
            key = ""
    try:
        return zoneinfo.ZoneInfo(key or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


# environment variable -> key path in the config
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "ASSISTANT_DATA_DIR": ("data_dir",),
    "ASSISTANT_TZ": ("timezone",),
    "ASSISTANT_MQTT_URL": ("mqtt", "url"),
    "ASSISTANT_LLM_URL": ("llm", "url"),
    "ASSISTANT_LLM_MODEL": ("llm", "model"),
    "ASSISTANT_LEARNED": ("learned", "enabled"),
    "ASSISTANT_LEARNED_MODEL": ("learned", "model"),
    "ASSISTANT_HA_URL": ("home_assistant", "url"),
    "ASSISTANT_HA_TOKEN": ("home_assistant", "token"),
    "ASSISTANT_WEATHER_URL": ("weather", "forecast_url"),
    "ASSISTANT_HTTP_HOST": ("http", "host"),
    "ASSISTANT_HTTP_PORT": ("http", "port"),
    "ASSISTANT_HTTP_TOKEN": ("http", "token"),
    "ASSISTANT_LOG_FORMAT": ("log_format",),
    "ASSISTANT_WYOMING_PORT": ("wyoming", "port"),
}


class ConfigError(Exception):
    """The configuration is unusable; str() says where and what to do."""


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the config reference in README.md)"
        elif "input" in err and not isinstance(err["input"], dict):
            secret = any(isinstance(p, str) and SECRET_KEYS.search(p) for p in err["loc"])
            msg += " (got ***)" if secret else f" (got {err['input']!r})"
        lines.append(f"  {path}: {mask_text(msg)}")
    return "\n".join(lines)


def load_config(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Config:
    """Read, merge and validate. Raises ConfigError with a message meant for a person."""
    env = dict(os.environ if env is None else env)
    explicit = path or env.get("ASSISTANT_CONFIG")
    file = Path(explicit).expanduser() if explicit else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    source = "defaults"
    if explicit and not file.is_file():
        raise ConfigError(f"config file {file} does not exist; create it or drop --config/ASSISTANT_CONFIG")
    if file.is_file():
        source = str(file)
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(
                f"config file {file} is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {file} must hold a mapping of keys (got {type(loaded).__name__})")
        data = loaded
    for var, keys in ENV_OVERRIDES.items():
        if env.get(var):
            node = data
            for key in keys[:-1]:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"{'.'.join(keys[:-1])} in {source} must be a mapping to apply {var}")
            node[keys[-1]] = env[var]
            source += f" + ${var}"
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None
