"""Answers in the organization's timezone: every instant in a result shown at its offset."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def localize(value: M, zone: ZoneInfo) -> M:
    """``value`` with each aware datetime in it (at any depth) converted to ``zone``. The
    instants are unchanged; only the offset they are written with is the organization's."""
    return _walk(value, zone)


def _walk(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo is not None else value
    if isinstance(value, BaseModel):
        changes = {}
        for name in type(value).model_fields:
            current = getattr(value, name)
            new = _walk(current, zone)
            if new is not current:
                changes[name] = new
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, list):
        items = [_walk(v, zone) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        items_d = {k: _walk(v, zone) for k, v in value.items()}
        return items_d if any(items_d[k] is not value[k] for k in value) else value
    return value
