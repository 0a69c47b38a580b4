"""Structured logging: one JSON object per line, carrying the request id of the request being served."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

# A ContextVar is per-task state, not shared module state: each request's task sees its own id.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

CHATTY_LIBRARIES = ("alembic", "mail.log")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """What the caller passed with `extra=` (method, path, status, ...)."""
    return {key: value for key, value in record.__dict__.items() if key not in _RESERVED and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        # Before any traceback, which format() appends after this line.
        base = super().formatMessage(record)
        # The same fields as the JSON lines, or "request" alone says nothing about which request.
        fields = " ".join(f"{key}={value}" for key, value in _extra_fields(record).items())
        if fields:
            base = f"{base} {fields}"
        request_id = request_id_var.get()
        return f"{base} [request_id={request_id}]" if request_id else base


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_output else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log duplicates our own request log line.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Libraries that narrate routine work at INFO: alembic its plugins and migration context on every start,
    # aiosmtpd (the development mail catcher) every SMTP connection. Our own lines say what matters ("database is
    # at the latest migration", "mail catcher listening"); LOG_LEVEL=DEBUG brings theirs back.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
