"""Small pieces the ML helpers share: the camelCase result base, time and zone handling."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """Inputs accept snake_case or camelCase; outputs dump camelCase (``pValue``), the shape
    the agents and the API see."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
    )


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or ValueError that says what to fix."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA timezone such as 'America/New_York'") from exc


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken as UTC (the project's rule for stored times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def logit(p: float, eps: float = 1e-4) -> float:
    p = min(max(p, eps), 1 - eps)
    return math.log(p / (1 - p))


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def validation_message(exc: Exception) -> str:
    """A tool-argument validation error as one line per field: what was wrong, what fits."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"invalid arguments: {exc}"
    lines = [
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'arguments'}: {e.get('msg', '')}"
        for e in errors()
    ]
    return "invalid arguments; fix and call again:\n" + "\n".join(lines)
