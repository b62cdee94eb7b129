"""ObjectId as a pydantic type, and UTC time.

Documents keep native ``ObjectId`` and ``datetime`` values for MongoDB; JSON renders them as a
24-hex string and ISO-8601.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema


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


def _iso_text(value: Any) -> Any:
    # JSON has no date type: a client sends ISO-8601 text. A bare number would be read by
    # pydantic as a Unix time (0 = 1970), which no client means; refuse it instead.
    if isinstance(value, bool | int | float):
        raise ValueError("must be an ISO-8601 date and time, e.g. 2026-12-01T09:30:00Z")
    return value


# A date-time a client sends: ISO-8601 text (or a datetime from Python callers), never a number.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def utcnow() -> datetime:
    """Now, UTC-aware, truncated to milliseconds (MongoDB's precision) so round trips are exact."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_object_id(value: str) -> ObjectId:
    """An ObjectId from a string, or ValueError naming the bad value."""
    return _to_object_id(value)
