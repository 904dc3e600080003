"""Secrets stay out of what is shown: config output, log records (text and JSON)."""

from __future__ import annotations

import io
import json
import logging

from assistant.logs import JsonFormatter
from devices.redact import MASK, Redactor, mask_url, secret_values
from devices.redact import mask_config as mask

CONFIG = {
    "mqtt": {"url": "mqtt://user:hunter22@broker:1883", "password": "p4ssword!"},
    "home_assistant": {"url": "http://ha:8123", "token": "eyJhbGciOi.abc"},
    "llm": {"api_key": "sk-123456"},
    "http": {"token": None, "port": 8300},
    "devices": [{"name": "Token ring lamp"}],
}


def test_mask_hides_secret_keys_and_url_passwords():
    shown = mask(CONFIG)
    assert shown["mqtt"] == {"url": f"mqtt://user:{MASK}@broker:1883", "password": MASK}
    assert shown["home_assistant"]["token"] == MASK and shown["llm"]["api_key"] == MASK
    assert shown["http"] == {"token": None, "port": 8300}  # unset stays visibly unset
    assert shown["devices"] == [{"name": "Token ring lamp"}]
    assert CONFIG["mqtt"]["password"] == "p4ssword!"  # a copy; the config is untouched
    assert (
        mask_url("mqtts://a:b@c") == f"mqtts://a:{MASK}@c"
        and mask_url("http://host:8123/x@y") == "http://host:8123/x@y"
    )


def test_secret_values_found():
    assert set(secret_values(CONFIG)) == {"hunter22", "p4ssword!", "eyJhbGciOi.abc", "sk-123456"}


def test_log_records_are_masked_in_text_and_json():
    redactor = Redactor(secret_values(CONFIG))
    out = io.StringIO()
    log = logging.getLogger("test.secrets")
    log.propagate = False
    for formatter in (logging.Formatter("%(message)s"), JsonFormatter()):
        handler = logging.StreamHandler(out)
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        log.addHandler(handler)
        log.warning("connecting with %s and %s", "sk-123456", {"Authorization": "Bearer eyJhbGciOi.abc"})
        try:
            raise RuntimeError("login p4ssword! refused")
        except RuntimeError:
            log.exception("failed for mqtt://user:hunter22@broker")
        log.removeHandler(handler)
    text = out.getvalue()
    for secret in secret_values(CONFIG):
        assert secret not in text
    assert text.count(MASK) >= 8
    json_lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert json_lines[0]["level"] == "WARNING" and MASK in json_lines[1]["exc"]
