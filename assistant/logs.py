"""Logging for every command: to stderr, as text or JSON lines, with secrets masked."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC ISO 8601), level, logger, message[, exc], and the
    record's ``fields`` (a dict, e.g. the startup summary's) if it has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        entry.update(getattr(record, "fields", None) or {})
        return json.dumps(entry, ensure_ascii=False)


def announce(message: str, fmt: str = "text", logger: str = "assistant", **fields: Any) -> None:
    """Write ``message`` to stderr whatever the log level (the startup summary): as it is, or, with
    ``fmt`` "json", as one JSON log line (level INFO) that also carries ``fields``, so that a log
    collector reading JSON lines gets every line of stderr as JSON."""
    if fmt == "json":
        record = logging.LogRecord(logger, logging.INFO, __file__, 0, message, None, None)
        record.fields = fields
        message = JsonFormatter().format(record)
    print(message, file=sys.stderr, flush=True)


def setup_logging(level: int, fmt: str = "text", redactor: logging.Filter | None = None) -> logging.Handler:
    """Replace the root handlers with one stderr handler; ``redactor`` masks secrets in each record."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    if redactor is not None:
        handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
