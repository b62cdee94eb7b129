"""Structured logs: one JSON object a line, each carrying the request id of the request,
run or job it was written in.

The id lives in a context variable: set by the API for each request (``api.request_context``),
it follows the request into the runs it streams and the in-process jobs it queues (asyncio
copies the context into tasks), and arq jobs get it as an argument (``persistence.queue``
sends it, ``chorus.worker`` sets it again).
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("chorus_request_id", default=None)
# What a caller may send as X-Request-ID (anything else is replaced by a fresh id).
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def valid_request_id(value: str | None) -> bool:
    return bool(value) and bool(_VALID.fullmatch(value or ""))


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def bind_request_id(value: str | None) -> Token[str | None]:
    return REQUEST_ID.set(value)


def unbind_request_id(token: Token[str | None]) -> None:
    REQUEST_ID.reset(token)


_factory_installed = False


def stamp_records() -> None:
    """Give every log record the request id current where it is created (a handler may
    format it later, elsewhere, when the id is no longer current). Idempotent."""
    global _factory_installed
    if _factory_installed:
        return
    make = logging.getLogRecordFactory()

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make(*args, **kwargs)
        made.request_id = current_request_id()
        return made

    logging.setLogRecordFactory(record)
    _factory_installed = True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "requestId", ...}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["requestId"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Every log line of this process as JSON on stderr (uvicorn's loggers included)."""
    stamp_records()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
