"""What an analytics question is about: local days in the organization's timezone, the
networks and the social accounts; resolved and checked once, before any query runs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId
from pydantic import BaseModel, Field

from persistence.errors import InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models import SocialAccount
from persistence.organizations import load_settings
from persistence.repository import TenantRepository
from tools.analytics._common import MAX_DAYS, Window, check_platforms

DEFAULT_DAYS = 30
# Dates outside these cannot be turned into instants in every timezone (year 1 minus an
# offset is no datetime); no social network's history reaches beyond them either.
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(2199, 12, 31)


@dataclass(frozen=True)
class Scope:
    """One organization's local days ``first``..``last`` (inclusive) on some networks and
    accounts (None: all of them), as of ``now``."""

    org_id: ObjectId
    timezone: str
    first: dt.date
    last: dt.date
    platforms: list[str] | None
    accounts: list[ObjectId] | None
    now: datetime

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def dates(self) -> tuple[dt.date, dt.date]:
        return self.first, self.last

    @property
    def window(self) -> Window:
        """From local midnight of ``first`` to local midnight after ``last``, in UTC."""
        start = datetime.combine(self.first, time(), tzinfo=self.zone)
        end = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=self.zone)
        return Window(start.astimezone(UTC), end.astimezone(UTC))

    def key(self, **extra: Any) -> dict[str, Any]:
        """What a cached answer depends on (besides the organization's analytics version)."""
        return {
            "tz": self.timezone,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "platforms": self.platforms,
            "accounts": [str(a) for a in self.accounts] if self.accounts else None,
            **extra,
        }

    def key_text(self, **extra: Any) -> str:
        return json.dumps(self.key(**extra), sort_keys=True, default=str)


class RangeOut(BaseModel):
    """The period an answer covers, in the organization's timezone."""

    from_: dt.date = Field(alias="from", description="first local day")
    to: dt.date = Field(description="last local day (inclusive)")
    timezone: str = Field(description="the organization's IANA timezone")
    start: datetime = Field(description="local midnight of 'from'")
    end: datetime = Field(description="local midnight after 'to' (exclusive)")
    platforms: list[str] | None = Field(description="null: every network")
    accounts: list[str] | None = Field(description="null: every social account")

    model_config = {"populate_by_name": True, "serialize_by_alias": True}


def range_out(scope: Scope) -> RangeOut:
    win = scope.window
    return RangeOut(
        from_=scope.first,
        to=scope.last,
        timezone=scope.timezone,
        start=win.start.astimezone(scope.zone),
        end=win.end.astimezone(scope.zone),
        platforms=scope.platforms,
        accounts=[str(a) for a in scope.accounts] if scope.accounts else None,
    )


async def resolve_scope(
    db: Any,
    org_id: ObjectId,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
    now: datetime | None = None,
    default_days: int = DEFAULT_DAYS,
) -> Scope:
    """The scope of a question: ``last`` defaults to today and ``first`` to ``default_days``
    days before it, in the organization's timezone. InvalidInput names the query parameter
    at fault; an account that is not the organization's is NotFound."""
    for name, day in (("query.from", first), ("query.to", last)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidInput.field(name, f"must be from {EARLIEST} to {LATEST}")
    settings = await load_settings(db, org_id)
    zone = ZoneInfo(settings.timezone)
    now = now or utcnow()
    today = now.astimezone(zone).date()
    last = last or (today if first is None else max(first, today))
    first = first or last - timedelta(days=default_days - 1)
    if first > last:
        raise InvalidInput.field("query.from", f"must not be after 'to' ({last.isoformat()})")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput.field("query.from", f"the range must be at most {MAX_DAYS} days")
    names = check_platforms(list(platforms) if platforms is not None else None)
    ids = sorted(set(accounts)) if accounts else None
    if ids:
        found = await TenantRepository(db, SocialAccount).find(org_id, {"_id": {"$in": ids}})
        missing = set(ids) - {a.id for a in found}
        if missing:
            raise NotFound(f"social account {sorted(missing)[0]} not found")
    return Scope(org_id, zone.key, first, last, names, ids, now)
