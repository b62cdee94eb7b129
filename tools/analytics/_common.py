"""Shared pieces of the analytics queries: windows, validation, pipeline expressions.

Every pipeline here runs on MongoDB and on the embedded engine alike, so it keeps to the
operators both answer; statistics neither expresses portably are finished in Python on rows
a ``$group`` has already reduced.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from bson import ObjectId
from pydantic import BaseModel, ConfigDict

from persistence.errors import InvalidInput
from persistence.ids import utcnow
from persistence.models import Analytics
from persistence.models.content import PLATFORMS
from persistence.repository import TenantRepository

MAX_DAYS = 3650
RATE_DIGITS = 5  # engagement rates are fractions: 0.04123
VALUE_DIGITS = 3  # means, ratios, percentages


class InvalidQuery(InvalidInput, ValueError):
    """An argument of a query is out of range or unknown; the message says what to fix."""


class Result(BaseModel):
    """Base of every query result: plain snake_case JSON."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def match(self, field: str = "timeData.recordedAt") -> dict[str, Any]:
        return {field: {"$gte": self.start, "$lt": self.end}}


def as_utc(value: datetime | None) -> datetime:
    """``value`` (or now) as aware UTC at MongoDB's millisecond precision."""
    if value is None:
        return utcnow()
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def window(days: int, now: datetime | None, *, name: str = "days") -> Window:
    """The last ``days`` days before ``now``."""
    check_days(days, name=name)
    end = as_utc(now)
    return Window(end - timedelta(days=days), end)


def window_or(period: Window | None, days: int, now: datetime | None) -> Window:
    """``period`` when one is given (the API asks for explicit dates), else the last ``days``
    days before ``now`` (the agents ask for "the last N days")."""
    if period is None:
        return window(days, now)
    start, end = as_utc(period.start), as_utc(period.end)
    if not start < end:
        raise InvalidQuery("the period must end after it starts")
    if (end - start).days > MAX_DAYS:
        raise InvalidQuery(f"the period must be at most {MAX_DAYS} days long")
    return Window(start, end)


def period_days(win: Window) -> int:
    """Whole days of a window, at least 1 (the ``days`` the results report)."""
    return max(1, round(win.days))


def check_days(days: int, *, name: str = "days") -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidQuery(
            f"{name} must be a whole number of days from 1 to {MAX_DAYS}, got {days!r}"
        )
    return days


def check_platform(platform: str | None) -> str | None:
    """A known platform name (lower-cased), or None; ValueError names the bad one."""
    if platform is None:
        return None
    name = platform.strip().lower()
    if name not in PLATFORMS:
        raise InvalidQuery(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    return name


def check_platforms(platforms: Iterable[str] | None) -> list[str] | None:
    if platforms is None:
        return None
    if isinstance(platforms, str):  # a lone name is a common slip; accept it
        platforms = [platforms]
    names = [check_platform(p) for p in platforms]
    return sorted({n for n in names if n}) or None


@functools.cache
def _zone_names() -> frozenset[str]:
    # System files that are not zones of the database (MongoDB rejects them).
    return frozenset(available_timezones()) - {"localtime", "Factory"}


def check_timezone(name: str) -> ZoneInfo:
    """The IANA zone ``name``. MongoDB takes Olson names for ``$hour`` and friends, the same
    database zoneinfo reads, so a name accepted here works in the pipeline too."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if cleaned not in _zone_names():
        raise InvalidQuery(
            f"unknown timezone {name!r}; use an IANA name such as 'America/New_York'"
        )
    return ZoneInfo(cleaned)


def field(path: str) -> dict[str, Any]:
    """A numeric field, 0 when absent (``$add`` of a missing field would be null)."""
    return {"$ifNull": [f"${path}", 0]}


ENGAGEMENTS: dict[str, Any] = {
    "$add": [
        field("metrics.likes"),
        field("metrics.comments"),
        field("metrics.shares"),
        field("metrics.saves"),
    ]
}
REACH = field("metrics.reach")
HAS_REACH: dict[str, Any] = {"$gt": [REACH, 0]}
# Per-document engagement rate; null (ignored by $avg) when there is no reach.
RATE: dict[str, Any] = {"$cond": [HAS_REACH, {"$divide": [ENGAGEMENTS, REACH]}, None]}


def check_accounts(accounts: Iterable[ObjectId] | None) -> list[ObjectId] | None:
    """Social account ids to keep (None: every account); ids must be ObjectIds."""
    if accounts is None:
        return None
    ids = list(accounts)
    if not all(isinstance(a, ObjectId) for a in ids):
        raise InvalidQuery("accounts must be social account ids")
    return sorted(set(ids)) or None


def base_match(
    win: Window,
    platforms: list[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    accounts: list[ObjectId] | None = None,
) -> dict[str, Any]:
    """``$match`` on analytics: the window, then the platforms and the social accounts (the
    tenant is prepended by ``TenantRepository.aggregate``)."""
    query: dict[str, Any] = win.match()
    if platforms:
        query["platform"] = platforms[0] if len(platforms) == 1 else {"$in": platforms}
    if accounts:
        query["socialAccountId"] = accounts[0] if len(accounts) == 1 else {"$in": accounts}
    if extra:
        query.update(extra)
    return {"$match": query}


def post_join(org_id: ObjectId, local: str = "postId", as_: str = "post") -> list[dict[str, Any]]:
    """Join each row to its post, keeping only posts of the same tenant (the analytics rows
    already are; this keeps a dangling or forged ``postId`` from reaching another tenant)."""
    return [
        {"$lookup": {"from": "posts", "localField": local, "foreignField": "_id", "as": as_}},
        {"$unwind": f"${as_}"},
        {"$match": {f"{as_}.organizationId": org_id}},
    ]


async def aggregate_analytics(db: Any, org_id: ObjectId, pipeline: list[dict[str, Any]]) -> list:
    return await TenantRepository(db, Analytics).aggregate(org_id, pipeline)


async def first_recorded_at(
    db: Any, org_id: ObjectId, *, platform: str | None = None, before: datetime | None = None
) -> datetime | None:
    """When the tenant's analytics history begins (on ``platform``), or None without any.
    Windows that reach further back would count the days before it as days of silence."""
    query: dict[str, Any] = {"timeData.recordedAt": {"$lt": as_utc(before)}}
    if platform:
        query["platform"] = platform
    rows = await TenantRepository(db, Analytics).find(
        org_id, query, sort=[("timeData.recordedAt", 1)], limit=1
    )
    return aware(rows[0].time_data.recorded_at) if rows else None


def rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, RATE_DIGITS) if denominator else None


def rounded(value: float | None, digits: int = VALUE_DIGITS) -> float | None:
    return None if value is None else round(float(value), digits)


def normalize_tag(tag: Any) -> str | None:
    """``#ColdBrew`` / ``coldbrew`` / `` #coldbrew `` -> ``#coldbrew``; None for empties."""
    if not isinstance(tag, str):
        return None
    name = tag.strip().lstrip("#").strip().lower()
    return f"#{name}" if name else None


def aware(value: Any) -> datetime | None:
    """A datetime from the engine as aware UTC (computed dates can come back naive)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
