"""ObjectId as a pydantic type, and UTC time.

Documents keep native ``ObjectId`` and ``datetime`` values for MongoDB; JSON renders them as a
24-hex string and ISO-8601.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, Strict, WithJsonSchema


def _to_object_id(value: Any) -> ObjectId:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str):
        try:
            return ObjectId(value)
        except InvalidId as exc:
            raise ValueError(f"{value!r} is not a 24-character hex id") from exc
    raise ValueError(f"expected an id string, got {type(value).__name__}")


def _as_utc(value: datetime) -> datetime:
    # Naive datetimes are taken as UTC; aware ones are converted, so everything inside is UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


PyObjectId = Annotated[
    ObjectId,
    BeforeValidator(_to_object_id),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9a-f]{24}$"}),
]

UTCDateTime = Annotated[datetime, AfterValidator(_as_utc)]


# What ISO-8601 text looks like at its start. Pydantic's lax parsing would also read a number,
# or a string of digits, as a Unix time (0 = 1970, "0.5" half a second later); no client
# means that, and the published schema says an ISO string, so anything else is refused.
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _iso(pattern: re.Pattern[str], native: type, example: str) -> Any:
    def check(value: Any) -> Any:
        # The native type passes: Python callers (services, tests) hand over datetimes.
        if isinstance(value, native) or (isinstance(value, str) and pattern.match(value)):
            return value
        raise ValueError(f"must be ISO-8601 text, e.g. {example}")

    return check


_iso_text = _iso(_ISO_DATE_TIME, datetime, "2026-12-01T09:30:00Z")


def _plausible(value: datetime) -> datetime:
    # Year 1 or 9999 parses, then overflows the first date arithmetic done with it.
    if not 1970 <= value.year <= 2200:
        raise ValueError("must be a date between 1970 and 2200")
    return value


def _plausible_day(value: date) -> date:
    if not 1970 <= value.year <= 2200:
        raise ValueError("must be a date between 1970 and 2200")
    return value


# A date-time a client sends: ISO-8601 text (or a datetime from Python callers), never a
# number, and within the years a social media post can have. ``Strict(False)``: inside a
# strict request model the text is still parsed (strict mode alone takes only a datetime).
IsoDateTime = Annotated[
    datetime, Strict(False), BeforeValidator(_iso_text), AfterValidator(_plausible)
]
# A calendar day (YYYY-MM-DD) and a time of day (HH:MM[:SS]), the same way.
IsoDate = Annotated[
    date,
    Strict(False),
    BeforeValidator(_iso(_ISO_DATE, date, "2026-12-01")),
    AfterValidator(_plausible_day),
]
IsoTime = Annotated[time, Strict(False), BeforeValidator(_iso(_ISO_TIME, time, "09:30"))]


def utcnow() -> datetime:
    """Now, UTC-aware, truncated to milliseconds (MongoDB's precision) so round trips are exact."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_object_id(value: str) -> ObjectId:
    """An ObjectId from a string, or ValueError naming the bad value."""
    return _to_object_id(value)
