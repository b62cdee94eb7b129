"""The audience: followers now and over time, demographics where a network gives them.

Followers now are the accounts' ``accountInfo.followerCount``. Their history is the
``audience_insights`` snapshots an account sync records (``record_audience``): one document
per account and reading, ``insights.followers`` and, where the network reports them,
``insights.demographics`` (``{"age": {"18-24": 0.31, ...}, "gender": {...}, "countries":
{...}}``, shares of the audience).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bson import ObjectId
from pydantic import Field

from persistence.analytics_versions import bump_analytics_version
from persistence.models import AudienceInsights, SocialAccount
from persistence.repository import TenantRepository
from tools.analytics._common import (
    InvalidQuery,
    Result,
    as_utc,
    aware,
    check_accounts,
    check_days,
    check_platforms,
    check_timezone,
)

# What each network's API says about an account's audience. Chorus stores what a sync
# reads; for the networks marked None there is nothing to read.
DEMOGRAPHICS_SOURCES: dict[str, str | None] = {
    "facebook": "Page Insights page_fans_gender_age and page_fans_country (age, gender, "
    "country), for Pages with at least 100 fans",
    "instagram": "the follower_demographics insight (age, gender, country), for business "
    "and creator accounts with at least 100 followers",
    "linkedin": "organization follower statistics (country, industry, seniority, function, "
    "as LinkedIn URNs), for LinkedIn Pages",
    "youtube": "the YouTube Analytics API (viewers' age group, gender, country over 90 days), "
    "for the channel owner",
    "tiktok": None,  # the Display API an account connects through reports no audience
    "twitter": None,  # X's API v2 has no audience demographics
    "bluesky": None,  # the AT Protocol has no audience demographics
    "sandbox": None,
}


class AccountAudience(Result):
    social_account_id: str
    platform: str
    username: str
    followers: int = Field(description="the latest follower count on record")
    followers_at_start: int | None = Field(
        description="the last reading before the period (null without one)"
    )
    change: int | None = Field(description="followers - followers_at_start")
    last_reading: datetime | None = Field(description="when followers were last read")


class PlatformAudience(Result):
    platform: str
    accounts: int
    followers: int
    change: int | None


class AudienceSummary(Result):
    start: datetime
    end: datetime
    followers: int
    change: int | None = Field(description="over the accounts with a reading before the period")
    platforms: list[PlatformAudience]
    accounts: list[AccountAudience]


class GrowthPoint(Result):
    date: dt.date = Field(description="local calendar day")
    followers: int = Field(description="the accounts' latest readings at the day's end, summed")
    change: int = Field(description="against the day before")


class AudienceGrowth(Result):
    timezone: str
    start: datetime
    end: datetime
    points: list[GrowthPoint]
    net_change: int
    growth_rate: float | None = Field(
        description="net change / followers on the first day (a fraction); null from 0"
    )


class Demographics(Result):
    social_account_id: str
    platform: str
    username: str
    available: bool = Field(description="the network reports demographics for this account")
    source: str | None = Field(description="where the network reports them")
    as_of: datetime | None
    breakdowns: dict[str, dict[str, float]] = Field(
        description="dimension (age, gender, countries...) -> bucket -> share of the audience"
    )
    note: str


async def _accounts(
    db: Any, org_id: ObjectId, platforms: list[str] | None, accounts: list[ObjectId] | None
) -> list[SocialAccount]:
    query: dict[str, Any] = {}
    if platforms:
        query["platform"] = {"$in": platforms}
    if accounts:
        query["_id"] = {"$in": accounts}
    found = await TenantRepository(db, SocialAccount).find(org_id, query, sort=[("_id", 1)])
    # Placeholders made by the importer have no audience of their own.
    return [a for a in found if not a.settings.content_filters.get("placeholder")]


async def _readings(
    db: Any, org_id: ObjectId, account_ids: list[ObjectId], before: datetime
) -> list[dict[str, Any]]:
    """(account, date, followers) of every reading before ``before``, oldest first."""
    if not account_ids:
        return []
    return await TenantRepository(db, AudienceInsights).aggregate(
        org_id,
        [
            {
                "$match": {
                    "socialAccountId": {"$in": account_ids},
                    "analysisDate": {"$lt": before},
                    "insights.followers": {"$type": "number"},
                }
            },
            {"$sort": {"analysisDate": 1, "_id": 1}},
            {
                "$project": {
                    "_id": 0,
                    "account": "$socialAccountId",
                    "at": "$analysisDate",
                    "followers": "$insights.followers",
                }
            },
        ],
    )


async def audience_summary(
    db: Any,
    org_id: ObjectId,
    *,
    start: datetime,
    end: datetime,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> AudienceSummary:
    """Followers per account, platform and in all, with the change over [start, end)."""
    start, end = as_utc(start), as_utc(end)
    found = await _accounts(db, org_id, check_platforms(platforms), check_accounts(accounts))
    readings = await _readings(db, org_id, [a.id for a in found], end)
    before: dict[ObjectId, int] = {}
    latest: dict[ObjectId, tuple[datetime, int]] = {}
    for row in readings:
        at = aware(row["at"])
        if at is None:
            continue
        if at < start:
            before[row["account"]] = int(row["followers"])
        latest[row["account"]] = (at, int(row["followers"]))

    rows = []
    for account in found:
        last = latest.get(account.id)
        followers = account.account_info.follower_count
        start_value = before.get(account.id)
        rows.append(
            AccountAudience(
                social_account_id=str(account.id),
                platform=account.platform,
                username=account.account_info.username,
                followers=followers,
                followers_at_start=start_value,
                change=None if start_value is None else followers - start_value,
                last_reading=last[0] if last else aware(account.status.last_sync),
            )
        )
    by_platform: dict[str, list[AccountAudience]] = {}
    for row in rows:
        by_platform.setdefault(row.platform, []).append(row)
    return AudienceSummary(
        start=start,
        end=end,
        followers=sum(r.followers for r in rows),
        change=_change(rows),
        platforms=[
            PlatformAudience(
                platform=p,
                accounts=len(rs),
                followers=sum(r.followers for r in rs),
                change=_change(rs),
            )
            for p, rs in sorted(by_platform.items())
        ],
        accounts=rows,
    )


def _change(rows: list[AccountAudience]) -> int | None:
    known = [r.change for r in rows if r.change is not None]
    return sum(known) if known else None


async def audience_growth(
    db: Any,
    org_id: ObjectId,
    *,
    dates: tuple[dt.date, dt.date],
    timezone: str,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> AudienceGrowth:
    """Followers at the end of each local day of ``dates`` (inclusive): each account's
    latest reading by then (none yet: not counted), summed over the accounts."""
    zone = check_timezone(timezone)
    first, last = dates
    if last < first:
        raise InvalidQuery("the last day must not be before the first")
    check_days((last - first).days + 1)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    found = await _accounts(db, org_id, check_platforms(platforms), check_accounts(accounts))
    readings = await _readings(db, org_id, [a.id for a in found], end)

    current: dict[ObjectId, int] = {}
    points: list[GrowthPoint] = []
    i = 0
    previous_total: int | None = None
    day = first
    # The readings are oldest first: walk them once, day by day.
    while day <= last:
        day_end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        while i < len(readings) and (aware(readings[i]["at"]) or end) < day_end:
            current[readings[i]["account"]] = int(readings[i]["followers"])
            i += 1
        total = sum(current.values())
        points.append(
            GrowthPoint(
                date=day,
                followers=total,
                change=0 if previous_total is None else total - previous_total,
            )
        )
        previous_total = total
        day += timedelta(days=1)
    opening = points[0].followers if points else 0
    net = (points[-1].followers - opening) if points else 0
    return AudienceGrowth(
        timezone=zone.key,
        start=start,
        end=end,
        points=points,
        net_change=net,
        growth_rate=round(net / opening, 5) if opening else None,
    )


async def audience_demographics(
    db: Any,
    org_id: ObjectId,
    *,
    platforms: Iterable[str] | None = None,
    accounts: Iterable[ObjectId] | None = None,
) -> list[Demographics]:
    """The latest demographics on record for each account, and for each account whose
    network gives none, a plain statement that it does not."""
    found = await _accounts(db, org_id, check_platforms(platforms), check_accounts(accounts))
    latest: dict[ObjectId, AudienceInsights] = {}
    if found:
        rows = await TenantRepository(db, AudienceInsights).find(
            org_id,
            {
                "socialAccountId": {"$in": [a.id for a in found]},
                "insights.demographics": {"$exists": True},
            },
            sort=[("analysisDate", -1), ("_id", -1)],
        )
        for row in rows:
            latest.setdefault(row.social_account_id, row)
    out = []
    for account in found:
        source = DEMOGRAPHICS_SOURCES.get(account.platform)
        doc = latest.get(account.id)
        breakdowns = _breakdowns(doc.insights.get("demographics") if doc else None)
        if source is None:
            note = f"{account.platform} does not report audience demographics through its API"
        elif breakdowns:
            note = f"from {source}"
        else:
            note = f"{account.platform} reports them ({source}); none has been synced yet"
        out.append(
            Demographics(
                social_account_id=str(account.id),
                platform=account.platform,
                username=account.account_info.username,
                available=source is not None,
                source=source,
                as_of=aware(doc.analysis_date) if doc and breakdowns else None,
                breakdowns=breakdowns,
                note=note,
            )
        )
    return out


def _breakdowns(raw: Any) -> dict[str, dict[str, float]]:
    """Only the well-formed parts: dimension -> bucket -> a number."""
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, dict[str, float]] = {}
    for dimension, buckets in raw.items():
        if not isinstance(buckets, Mapping):
            continue
        values = {
            str(k): round(float(v), 5)
            for k, v in buckets.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if values:
            out[str(dimension)] = values
    return out


async def record_audience(
    db: Any,
    org_id: ObjectId,
    account: SocialAccount,
    *,
    followers: int,
    at: datetime | None = None,
    following: int | None = None,
    demographics: Mapping[str, Mapping[str, float]] | None = None,
    source: str = "platform_api",
) -> AudienceInsights:
    """Store one reading of an account's audience, keep its follower count current, and
    make cached analytics of the organization stale."""
    if account.organization_id != org_id:
        raise InvalidQuery("the account belongs to another organization")
    at = as_utc(at)
    insights: dict[str, Any] = {"followers": int(followers)}
    if following is not None:
        insights["following"] = int(following)
    if demographics:
        insights["demographics"] = {k: dict(v) for k, v in demographics.items()}
    doc = AudienceInsights(
        organization_id=org_id,
        social_account_id=account.id,
        platform=account.platform,
        insights=insights,
        analysis_date=at,
        data_source=source,  # type: ignore[arg-type]
    )
    await TenantRepository(db, AudienceInsights).insert(doc)
    newest = await TenantRepository(db, AudienceInsights).find(
        org_id, {"socialAccountId": account.id}, sort=[("analysisDate", -1), ("_id", -1)], limit=1
    )
    if newest and newest[0].id == doc.id:  # an older reading arriving late changes nothing
        await TenantRepository(db, SocialAccount).update(
            org_id, account.id, {"accountInfo.followerCount": int(followers)}
        )
    await bump_analytics_version(db, org_id)
    return doc
