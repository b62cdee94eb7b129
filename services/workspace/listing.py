"""Finding posts: filters, keyset pagination and the calendar.

Pages are keyset pages, not offsets: the cursor is the sort key of the last post shown
(time and id), so a page costs the same however deep it is and a post created meanwhile
never shifts the next page. Text search is a case-insensitive match of the words as typed
(escaped, never a pattern from the caller) in the title, the text and every network's own
text.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bson import ObjectId
from bson.errors import InvalidId

from persistence.calendar import find_entries
from persistence.errors import InvalidInput
from persistence.models import Post
from persistence.models.calendar import CalendarEntry
from persistence.repository import tenant_filter
from services import organizations
from services.workspace.posts import repo

Sort = Literal["-createdAt", "scheduledAt", "-scheduledAt"]
MAX_CALENDAR_DAYS = 93  # a quarter: the widest view a calendar shows at once


@dataclass
class PostFilter:
    statuses: Sequence[str] = ()
    account_id: ObjectId | None = None
    platform: str | None = None
    tag: str | None = None
    search: str | None = None
    start: datetime | None = None  # scheduledAt >= start
    end: datetime | None = None  # scheduledAt < end
    ai_generated: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def query(self) -> dict[str, Any]:
        q: dict[str, Any] = dict(self.extra)
        if self.statuses:
            q["scheduling.status"] = {"$in": list(self.statuses)}
        if self.account_id is not None:
            q["platforms.socialAccountId"] = self.account_id
        if self.platform:
            q["platforms.platform"] = self.platform
        if self.tag:
            q["tags"] = self.tag
        if self.ai_generated is not None:
            q["aiGeneration.isAiGenerated"] = self.ai_generated
        when: dict[str, Any] = {}
        if self.start is not None:
            when["$gte"] = self.start
        if self.end is not None:
            when["$lt"] = self.end
        if when:
            q["scheduling.scheduledAt"] = when
        if self.search:
            pattern = {"$regex": re.escape(self.search.strip()), "$options": "i"}
            q["$or"] = [
                {"content.text": pattern},
                {"content.title": pattern},
                {"platforms.text": pattern},
            ]
        return q


_SORT_FIELD = {"-createdAt": "_id", "scheduledAt": "scheduling.scheduledAt"}


def _encode(value: datetime | None, post_id: ObjectId) -> str:
    stamp = "" if value is None else str(int(value.timestamp() * 1000))
    return base64.urlsafe_b64encode(f"{stamp}:{post_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime | None, ObjectId]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, oid = raw.split(":")
        value = datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp else None
        return value, ObjectId(oid)
    except (ValueError, InvalidId, UnicodeDecodeError) as exc:
        raise InvalidInput.field(
            "query.cursor", "not a cursor from this list; start again without it"
        ) from exc


@dataclass
class Page:
    items: list[Post]
    next_cursor: str | None


async def find(
    db: Any,
    org_id: ObjectId,
    flt: PostFilter,
    *,
    sort: Sort = "-createdAt",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """One page of the posts that match, and the cursor of the next page (None at the end).

    ``-createdAt`` is newest first; ``scheduledAt``/``-scheduledAt`` order by the time a
    post goes out and list only posts that have one."""
    query = flt.query()
    if sort == "-createdAt":
        order = [("_id", -1)]
        if cursor:
            _, after = _decode(cursor)
            query = {"$and": [query, {"_id": {"$lt": after}}]}
    else:
        direction = 1 if sort == "scheduledAt" else -1
        op = "$gt" if direction == 1 else "$lt"
        order = [("scheduling.scheduledAt", direction), ("_id", direction)]
        conditions: list[dict[str, Any]] = [query, {"scheduling.scheduledAt": {"$ne": None}}]
        if cursor:
            at, after = _decode(cursor)
            conditions.append(
                {
                    "$or": [
                        {"scheduling.scheduledAt": {op: at}},
                        {"scheduling.scheduledAt": at, "_id": {op: after}},
                    ]
                }
            )
        query = {"$and": conditions}
    raw = (
        await repo(db)
        .collection.find(tenant_filter(org_id, query))
        .sort(order)
        .limit(limit + 1)
        .to_list(None)
    )
    posts = [Post.from_mongo(r) for r in raw[:limit]]
    next_cursor = None
    if len(raw) > limit:
        last = posts[-1]
        at = None if sort == "-createdAt" else last.scheduling.scheduled_at
        next_cursor = _encode(at, last.id)
    return Page(posts, next_cursor)


# --- the calendar ------------------------------------------------------------------------


@dataclass
class CalendarAccount:
    social_account_id: ObjectId
    platform: str
    posts: list[CalendarEntry]


@dataclass
class CalendarDay:
    date: date
    accounts: list[CalendarAccount]


@dataclass
class Calendar:
    timezone: str
    start: datetime
    end: datetime
    days: list[CalendarDay]


def zone(name: str, where: str = "query.timezone") -> ZoneInfo:
    if not organizations.is_timezone(name):
        raise InvalidInput.field(where, "must be an IANA timezone such as America/New_York")
    return ZoneInfo(name)


def local_day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting ``first`` and ending ``last``. Each is
    resolved in the zone itself, so a day across a DST change is 23 or 25 hours long."""
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


async def calendar(
    db: Any,
    org_id: ObjectId,
    first: date,
    last: date,
    *,
    timezone: str | None = None,
    flt: PostFilter | None = None,
) -> Calendar:
    """The posts with a time from local day ``first`` to ``last`` (inclusive), in the
    requested timezone or the organization's, grouped by local day and then by account."""
    if last < first:
        raise InvalidInput.field("query.end", "must be on or after start")
    if (last - first).days + 1 > MAX_CALENDAR_DAYS:
        raise InvalidInput.field("query.end", f"a calendar spans at most {MAX_CALENDAR_DAYS} days")
    tz_name = timezone or (await organizations.settings(db, org_id)).timezone
    tz = zone(tz_name)
    start, end = local_day_bounds(first, last, tz)
    flt = flt or PostFilter()
    flt.start, flt.end = start, end
    entries = await find_entries(
        repo(db).collection,
        tenant_filter(org_id, flt.query()),
        [("scheduling.scheduledAt", 1), ("_id", 1)],
    )
    days = _by_day_and_account(entries, first, last, tz, flt)
    return Calendar(tz_name, start, end, days)


def _by_day_and_account(
    entries: list[CalendarEntry], first: date, last: date, tz: ZoneInfo, flt: PostFilter
) -> list[CalendarDay]:
    """The entries (by time) grouped by local day, then by account."""
    # The posts come by time: each local day's end (a UTC instant, computed once per day)
    # says when the next day begins, instead of a timezone conversion per post.
    local_days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    day_ends = [local_day_bounds(day, day, tz)[1] for day in local_days]
    only_account = None if flt.account_id is None else str(flt.account_id)
    at_day = 0
    by_day: dict[date, dict[str, CalendarAccount]] = defaultdict(dict)
    for entry in entries:
        scheduled_at = entry["scheduledAt"]
        assert scheduled_at is not None
        while scheduled_at >= day_ends[at_day]:
            at_day += 1
        groups = by_day[local_days[at_day]]
        for target in entry["targets"]:
            account = target["socialAccountId"]
            if only_account is not None and account != only_account:
                continue
            if flt.platform and target["platform"] != flt.platform:
                continue
            group = groups.get(account)
            if group is None:
                group = groups[account] = CalendarAccount(ObjectId(account), target["platform"], [])
            group.posts.append(entry)
    return [
        CalendarDay(day, [groups[account] for account in sorted(groups)])
        for day, groups in sorted(by_day.items())
    ]
