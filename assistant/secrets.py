"""Keeping secrets (MQTT password, Home Assistant token, API tokens) out of everything shown.

Two small tools, used wherever configuration or text leaves the process (``assistant config``,
logs, traces, ``/api/*``):

* ``mask(data)``: a copy of a config dict with the value of every secret key (and the password in
  a ``scheme://user:password@host`` URL) replaced by ``MASK``.
* ``Redactor``: knows the secret values of one config and replaces them in any text; also a
  ``logging.Filter`` for log records.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable

MASK = "***"
SECRET_KEYS = ("password", "token", "api_key", "secret")  # a key whose name contains one of these
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s/]+)(?=@)", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in SECRET_KEYS)


def mask_url(text: str) -> str:
    """``mqtt://user:pw@host`` -> ``mqtt://user:***@host``."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)


def mask(data: Any) -> Any:
    """A copy of ``data`` (dicts, lists, strings) with secret values masked."""
    if isinstance(data, dict):
        return {k: (MASK if is_secret_key(str(k)) and v not in (None, "") else mask(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask(v) for v in data]
    if isinstance(data, str):
        return mask_url(data)
    return data


def secret_values(data: Any) -> set[str]:
    """Every secret value in a config dict: secret keys' values and passwords in URLs."""
    found: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            if is_secret_key(str(k)) and isinstance(v, str) and v:
                found.add(v)
            else:
                found |= secret_values(v)
    elif isinstance(data, list):
        for v in data:
            found |= secret_values(v)
    elif isinstance(data, str):
        found |= {m["pw"] for m in _URL_PASSWORD.finditer(data)}
    return found


class Redactor(logging.Filter):
    """Replaces known secret values in text; as a logging filter, in every record it passes."""

    MIN_LEN = 4  # shorter "secrets" would mask ordinary words

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if s and len(s) >= self.MIN_LEN} | set(self.secrets)
        self.secrets = sorted(new, key=len, reverse=True)  # longest first: one secret may contain another

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return mask_url(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = self(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = self(record.exc_text)
        return True
