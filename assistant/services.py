"""Builds the services intent handlers use (``ctx.services``) from the config.

Each outside-world backend lives in ``devices/``; here it is chosen and constructed. A service
that cannot start (no broker, no network) must not stop the assistant: it is left out or
replaced by one that answers with a clear sentence, and the reason is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from .config import Config

log = logging.getLogger(__name__)


def build_services(config: Config) -> dict[str, Any]:
    services: dict[str, Any] = {}
    return services


def close_services(services: dict[str, Any]) -> None:
    for name, service in services.items():
        close = getattr(service, "close", None) or getattr(service, "stop", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing must not hide the real outcome
                log.exception("closing %s failed", name)
