"""Masking secrets (passwords in URLs, tokens, API keys) before anything is printed or logged.

The one place for it: ``assistant config``, configuration errors, log records (``SecretFilter``)
and the HTTP API all go through these functions. It lives at the bottom layer (``devices``) so
that device settings and the MQTT client can mask their own error messages too.

    mask_url("mqtt://alice:pw@host:1883")        -> "mqtt://alice:***@host:1883"
    mask_text("token=abc123 for http://u:p@h/")  -> "token=*** for http://u:***@h/"
    mask_config({"mqtt": {"password": "pw"}})    -> {"mqtt": {"password": "***"}}
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

# Keys whose values are secrets wherever they appear in a config mapping.
SECRET_KEYS = re.compile(r"(?:^|_)(?:password|passwd|pass|token|secret|api_key|apikey|key)$", re.I)
# Values that are placeholders, not secrets (left readable so `assistant config` stays useful).
NOT_SECRET = {None, "", "not-needed", "none", "null"}

# user:password@ in any scheme://... ; the password is everything up to the last '@' of the authority
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^\s:/@]*):(?P<pw>[^\s/@]*)@", re.I)
# token=..., api_key: ..., "password": "...", Authorization: Bearer ...
_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:access_token|token|api_key|apikey|password|passwd|secret)\b[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^\s\"'&,;}]+)",
    re.I,
)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.I)


def mask_url(url: str) -> str:
    """The URL with its password (and secret query parameters) replaced by ``***``."""
    return mask_text(url)


def mask_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with URL passwords, ``token=``/``api_key:``/``password=`` values, bearer tokens and
    every string in ``secrets`` (known values, e.g. from the config) masked."""
    if not isinstance(text, str):
        text = str(text)
    for secret in secrets:
        if secret and isinstance(secret, str) and secret.lower() not in NOT_SECRET and len(secret) >= 3:
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: m["key"] + MASK, text)
    return _BEARER.sub(lambda m: m["key"] + MASK, text)


def mask_config(data: Any) -> Any:
    """A copy of a (JSON-like) config with secret keys' values and URL passwords masked."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if (
                isinstance(key, str)
                and SECRET_KEYS.search(key)
                and isinstance(value, str)
                and value.lower() not in NOT_SECRET
            ):
                out[key] = MASK
            else:
                out[key] = mask_config(value)
        return out
    if isinstance(data, list):
        return [mask_config(v) for v in data]
    if isinstance(data, str):
        return mask_text(data)
    return data


def secret_values(data: Any) -> list[str]:
    """Every secret value in a config mapping (for ``mask_text(..., secrets=...)``)."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if (
                isinstance(key, str)
                and SECRET_KEYS.search(key)
                and isinstance(value, str)
                and value.lower() not in NOT_SECRET
            ):
                found.append(value)
            else:
                found += secret_values(value)
    elif isinstance(data, list):
        for value in data:
            found += secret_values(value)
    elif isinstance(data, str):
        m = _URL_USERINFO.search(data)
        if m and m["pw"]:
            found.append(m["pw"])
    return found


class SecretFilter(logging.Filter):
    """A logging filter that masks secrets in every record it sees (message and arguments rendered
    first). Install it on the handlers: ``handler.addFilter(SecretFilter(secret_values(cfg)))``."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return True
        masked = mask_text(message, self.secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, self.secrets)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class Redactor(SecretFilter):
    """``SecretFilter`` that also masks any text it is called with (traces, HTTP answers)."""

    def __call__(self, text: str) -> str:
        return mask_text(text, self.secrets)
