"""Shared fixtures. The fixture modules tests/fixtures_*.py are registered here, once, so a test asks
for their fixtures by parameter name (mosquitto, probe, prefix, engines, device_home,
device_assistant, canned, make_llm, fake_ha, serving, ...) and never imports them; their plain
helpers (wait_for, publish_all, piper_speech, ...) are imported by name. No test module imports
another test module."""

from __future__ import annotations

import os

import pytest

from assistant.config import load_config
from assistant.core import Assistant

pytest_plugins = [
    "tests.fixtures_mqtt",
    "tests.fixtures_voice",
    "tests.fixtures_devices",
    "tests.fixtures_ha",
    "tests.fixtures_llm",
    "tests.fixtures_service",
]


@pytest.fixture
def make_assistant(tmp_path):
    """Build an Assistant on a fresh data dir: make_assistant(timezone='UTC', **config)."""
    made = []

    def make(timezone: str = "UTC", **config) -> Assistant:
        cfg = load_config(
            env={"ASSISTANT_DATA_DIR": str(tmp_path / f"data{len(made)}"), "ASSISTANT_TZ": timezone}
        )
        if config:
            cfg = cfg.model_copy(update=config)
        assistant = Assistant(cfg)
        made.append(assistant)
        return assistant

    yield make
    for a in made:
        a.close()


@pytest.fixture
def env(tmp_path):
    """Environment for `assistant` subprocesses: no ASSISTANT_* from outside, a fresh data dir,
    UTC, and a config home of its own (so no user config file is read)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    e.update(
        ASSISTANT_DATA_DIR=str(tmp_path / "data"),
        ASSISTANT_TZ="UTC",
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        ASSISTANT_WYOMING_PORT="0",  # any free port: tests may run side by side
        ASSISTANT_HTTP_PORT="0",
    )  # `run`/`serve` serve HTTP: any free port, never a fixed one
    return e
