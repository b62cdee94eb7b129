"""Maintenance mode: while an operator has it on, every write is refused with 503 and the
operator's message; reads go on.

The switch is stored in the database, so every process of the service (API servers,
workers) sees the same one. Each process re-reads it at most once a second: a write request
must not pay a query for it, and a second's delay in switching is harmless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.errors import InvalidInput
from persistence.platform import Platform

DEFAULT_MESSAGE = "The service is in maintenance; writes are paused. Reading still works."
MAX_MESSAGE = 500
_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class Maintenance:
    enabled: bool
    message: str
    changed_at: datetime | None = None
    changed_by: ObjectId | None = None


OFF = Maintenance(False, DEFAULT_MESSAGE)
# Per database object: the state and when it was read (monotonic seconds).
_cache: dict[int, tuple[float, Maintenance]] = {}


def _of(raw: dict[str, Any] | None) -> Maintenance:
    if not raw:
        return OFF
    return Maintenance(
        bool(raw.get("enabled")),
        str(raw.get("message") or DEFAULT_MESSAGE),
        raw.get("changedAt"),
        raw.get("changedBy"),
    )


async def current(db: Any, *, fresh: bool = False) -> Maintenance:
    """The switch as this process last read it (within a second), or read now."""
    cached = _cache.get(id(db))
    now = time.monotonic()
    if not fresh and cached is not None and now - cached[0] < _TTL_SECONDS:
        return cached[1]
    state = _of(await Platform(db).maintenance())
    _cache[id(db)] = (now, state)
    return state


async def switch(db: Any, enabled: bool, message: str | None, by: ObjectId) -> Maintenance:
    """Turn maintenance on or off; it applies in this process at once, elsewhere within a
    second."""
    text = (message or "").strip() or DEFAULT_MESSAGE
    if len(text) > MAX_MESSAGE or any(ord(c) < 32 for c in text):
        raise InvalidInput.field(
            "body.message", f"one line of at most {MAX_MESSAGE} printable characters"
        )
    state = _of(await Platform(db).set_maintenance(enabled, text, by))
    _cache[id(db)] = (time.monotonic(), state)
    return state
