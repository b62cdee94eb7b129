"""The tenant's competitor analyses set against its own numbers on the same platforms.

Units of ``competitor_analysis.metrics`` are not fixed by the data model; these are read as
``avgEngagement`` = an engagement rate (a fraction; a value above 1 is taken as a
percentage) and ``postFrequency`` = posts per week.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pydantic import Field

from persistence.models import CompetitorAnalysis, SocialAccount
from persistence.repository import TenantRepository
from tools.analytics._common import (
    Result,
    aggregate_analytics,
    as_utc,
    base_match,
    normalize_tag,
    post_join,
    window,
)
from tools.analytics.summary import metric_summary

TOP_TAGS = 10
EVEN = 1.1  # ratios within 10% either way are "about the same"
UNITS = (
    "engagement rates are fractions ((likes+comments+shares+saves)/reach); competitor "
    "avgEngagement above 1 was read as a percentage; competitor postFrequency is read as "
    "posts per week"
)


class OwnStats(Result):
    platform: str
    followers: int
    posts: int
    posts_per_week: float
    engagement_rate: float | None
    top_hashtags: list[str]
    content_types: dict[str, float] = Field(description="share of posts per content type")


class CompetitorStats(Result):
    name: str
    handle: str
    platform: str
    followers: int
    posts_per_week: float
    engagement_rate: float | None
    top_hashtags: list[str]
    content_types: dict[str, float]
    last_analyzed: datetime | None


class Gap(Result):
    metric: Literal["posts_per_week", "engagement_rate", "followers", "content_type"]
    competitor_value: float | None
    own_value: float | None
    ratio: float | None = Field(description="competitor / own")
    leader: Literal["competitor", "you", "even"]
    statement: str


class CompetitorComparison(Result):
    competitor: CompetitorStats
    own: OwnStats
    gaps: list[Gap]
    shared_hashtags: list[str]
    competitor_only_hashtags: list[str]


class CompetitorBenchmarks(Result):
    days: int
    start: datetime
    end: datetime
    units: str = UNITS
    comparisons: list[CompetitorComparison]
    missing: list[str] = Field(description="requested competitors with no analysis on file")


async def competitor_benchmarks(
    db: Any,
    org_id: ObjectId,
    *,
    competitors: list[str] | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> CompetitorBenchmarks:
    """The latest analysis of each competitor (matched by name or handle, any case, '@'
    optional; all of them when ``competitors`` is None) against the tenant's own last
    ``days`` days on the same platform. Names without an analysis come back in ``missing``."""
    now = as_utc(now)  # one clock for the header and the tenant's own numbers
    win = window(days, now)
    docs = await _latest_analyses(db, org_id)
    if isinstance(competitors, str):  # one name given bare
        competitors = [competitors]
    wanted: dict[str, str] | None = None
    if competitors is not None:
        wanted = {}
        for name in competitors:
            if _key(name):
                wanted.setdefault(_key(name), name)  # two spellings of one rival: the first
    chosen = [
        d
        for d in docs
        if wanted is None
        or _key(d.competitor.name) in wanted
        or _key(d.competitor.handle) in wanted
    ]
    found = {k for d in chosen for k in (_key(d.competitor.name), _key(d.competitor.handle))}
    missing = [name for key, name in (wanted or {}).items() if key not in found]

    platforms = sorted({d.competitor.platform for d in chosen})
    own = await _own_stats(db, org_id, platforms, days, now) if platforms else {}
    comparisons = [_compare(_competitor_stats(d), own[d.competitor.platform]) for d in chosen]
    return CompetitorBenchmarks(
        days=days, start=win.start, end=win.end, comparisons=comparisons, missing=missing
    )


def _key(name: str | None) -> str:
    """How a competitor is matched: case, an @ and any run of spaces do not matter, since
    people type "Bean  There", "bean there" and "@BeanThere" for the same rival."""
    return "".join((name or "").strip().lstrip("@").split()).casefold()


async def _latest_analyses(db: Any, org_id: ObjectId) -> list[CompetitorAnalysis]:
    """One analysis per competitor and platform: the latest."""
    repo = TenantRepository(db, CompetitorAnalysis)
    rows = await repo.aggregate(
        org_id,
        [
            {"$sort": {"lastAnalyzed": -1, "createdAt": -1, "_id": -1}},
            {
                "$group": {
                    "_id": {"name": "$competitor.name", "platform": "$competitor.platform"},
                    "doc": {"$first": "$$ROOT"},
                }
            },
        ],
    )
    docs = [CompetitorAnalysis.from_mongo(row["doc"]) for row in rows]
    return sorted(docs, key=lambda d: (d.competitor.name.casefold(), d.competitor.platform))


async def _own_stats(
    db: Any, org_id: ObjectId, platforms: list[str], days: int, now: datetime | None
) -> dict[str, OwnStats]:
    win = window(days, now)
    summary = await metric_summary(db, org_id, days=days, platforms=platforms, now=now)
    accounts = await TenantRepository(db, SocialAccount).find(
        org_id, {"platform": {"$in": platforms}, "status.isActive": True}
    )
    rows = await aggregate_analytics(
        db,
        org_id,
        [
            base_match(win, platforms),
            *post_join(org_id),
            {
                "$facet": {
                    "types": [
                        {
                            "$group": {
                                "_id": {"p": "$platform", "t": "$post.content.contentType"},
                                "n": {"$sum": 1},
                            }
                        }
                    ],
                    "tags": [
                        {"$project": {"platform": 1, "tag": "$post.content.hashtags"}},
                        {"$unwind": "$tag"},
                        {"$group": {"_id": {"p": "$platform", "t": "$tag"}, "n": {"$sum": 1}}},
                    ],
                }
            },
        ],
    )
    facets = rows[0] if rows else {"types": [], "tags": []}
    types: dict[str, dict[str, float]] = {}
    for row in facets["types"]:
        kind = row["_id"].get("t") or "text"
        bucket = types.setdefault(row["_id"]["p"], {})
        bucket[kind] = bucket.get(kind, 0) + row["n"]
    tags: dict[str, dict[str, int]] = {}
    for row in facets["tags"]:
        tag = normalize_tag(row["_id"].get("t"))
        if tag:
            bucket_t = tags.setdefault(row["_id"]["p"], {})
            bucket_t[tag] = bucket_t.get(tag, 0) + row["n"]

    stats = {}
    for platform in platforms:
        totals = summary.platform(platform)
        posts = totals.current.posts if totals else 0
        counted = tags.get(platform, {})
        stats[platform] = OwnStats(
            platform=platform,
            followers=sum(
                a.account_info.follower_count for a in accounts if a.platform == platform
            ),
            posts=posts,
            posts_per_week=round(posts / days * 7, 2),
            engagement_rate=totals.current.engagement_rate if totals else None,
            top_hashtags=sorted(counted, key=lambda t: (-counted[t], t))[:TOP_TAGS],
            content_types=_shares(types.get(platform, {})),
        )
    return stats


def _shares(counts: Mapping[str, Any]) -> dict[str, float]:
    """Numeric values as shares of their total, largest first; others ignored."""
    numeric = {
        str(k): float(v)
        for k, v in counts.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v > 0
    }
    total = sum(numeric.values())
    if not total:
        return {}
    return {k: round(v / total, 3) for k, v in sorted(numeric.items(), key=lambda kv: -kv[1])}


def _competitor_stats(doc: CompetitorAnalysis) -> CompetitorStats:
    metrics = doc.metrics
    engagement = metrics.avg_engagement
    if engagement > 1:  # 4.2 meant 4.2%: no real engagement rate exceeds 100%
        engagement /= 100
    tags = [t for t in (normalize_tag(h) for h in doc.content.hashtag_usage) if t]
    return CompetitorStats(
        name=doc.competitor.name,
        handle=doc.competitor.handle,
        platform=doc.competitor.platform,
        followers=metrics.follower_count,
        posts_per_week=round(metrics.post_frequency, 2),
        engagement_rate=round(engagement, 5) if engagement > 0 else None,
        top_hashtags=list(dict.fromkeys(tags))[:TOP_TAGS],
        content_types=_shares(doc.content.content_types),
        last_analyzed=doc.last_analyzed,
    )


def _compare(comp: CompetitorStats, own: OwnStats) -> CompetitorComparison:
    gaps = [
        g
        for g in (
            _gap("posts_per_week", comp, comp.posts_per_week, own.posts_per_week),
            _gap("engagement_rate", comp, comp.engagement_rate, own.engagement_rate),
            _gap("followers", comp, comp.followers, own.followers),
            _content_gap(comp, own),
        )
        if g is not None
    ]
    own_tags = set(own.top_hashtags)
    return CompetitorComparison(
        competitor=comp,
        own=own,
        gaps=gaps,
        shared_hashtags=[t for t in comp.top_hashtags if t in own_tags],
        competitor_only_hashtags=[t for t in comp.top_hashtags if t not in own_tags],
    )


def _fmt(metric: str, value: float) -> str:
    if metric == "engagement_rate":
        return f"{value:.2%}"
    if metric == "followers":
        return f"{value:,.0f}"
    return f"{value:.1f}/week"


_PHRASES = {
    # metric: (competitor leads, you lead, even)
    "posts_per_week": (
        "{name} posts {r:.1f}x more often than you on {p}",
        "you post {r:.1f}x more often than {name} on {p}",
        "{name} and you post about as often on {p}",
    ),
    "engagement_rate": (
        "{name}'s engagement rate on {p} is {r:.1f}x yours",
        "your engagement rate on {p} is {r:.1f}x {name}'s",
        "{name} and you have about the same engagement rate on {p}",
    ),
    "followers": (
        "{name} has {r:.1f}x your followers on {p}",
        "you have {r:.1f}x {name}'s followers on {p}",
        "{name} and you have about as many followers on {p}",
    ),
}


def _gap(
    metric: str, comp: CompetitorStats, theirs: float | None, ours: float | None
) -> Gap | None:
    if not theirs:  # nothing known about the competitor here: no comparison to make
        return None
    lead, trail, even = _PHRASES[metric]
    name, p = comp.name, comp.platform
    values = f" ({_fmt(metric, theirs)} vs {_fmt(metric, ours or 0)})"
    if not ours:
        what = "no posts" if metric != "followers" else "no followers on record"
        statement = f"{name}: {_fmt(metric, theirs)} on {p}; you have {what} there"
        if metric == "engagement_rate":
            statement = f"{name}'s engagement rate on {p} is {theirs:.2%}; you have none to compare"
        return Gap(
            metric=metric,  # type: ignore[arg-type]
            competitor_value=theirs,
            own_value=ours,
            ratio=None,
            leader="competitor",
            statement=statement,
        )
    ratio = theirs / ours
    if ratio >= EVEN:
        leader, text = "competitor", lead.format(name=name, p=p, r=ratio)
    elif ratio <= 1 / EVEN:
        leader, text = "you", trail.format(name=name, p=p, r=1 / ratio)
    else:
        leader, text = "even", even.format(name=name, p=p)
    return Gap(
        metric=metric,  # type: ignore[arg-type]
        competitor_value=theirs,
        own_value=ours,
        ratio=round(ratio, 3),
        leader=leader,  # type: ignore[arg-type]
        statement=text + values,
    )


def _content_gap(comp: CompetitorStats, own: OwnStats) -> Gap | None:
    """The content type the competitor leans on most more than you do (15 points or more)."""
    diffs = {k: v - own.content_types.get(k, 0.0) for k, v in comp.content_types.items()}
    if not diffs:
        return None
    kind = max(diffs, key=lambda k: diffs[k])
    if diffs[kind] < 0.15:
        return None
    theirs, ours = comp.content_types[kind], own.content_types.get(kind, 0.0)
    return Gap(
        metric="content_type",
        competitor_value=theirs,
        own_value=ours,
        ratio=round(theirs / ours, 3) if ours else None,
        leader="competitor",
        statement=f"{kind} is {theirs:.0%} of {comp.name}'s posts on {comp.platform} "
        f"vs {ours:.0%} of yours",
    )
