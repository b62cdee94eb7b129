"""Trend detection: the planted rising tag leads, tiny and steady tags do not, stale tags are
flagged; the Poisson tail is the textbook one."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from services.demo.generate import Team, generate
from services.demo.planted import DEFAULT_SEED, PROFILES, TRENDING_HASHTAG
from tools.trends import TagWindowCounts, Trend, detect_trends, rise_p_value, score_tag

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def row(tag: str, recent: int, baseline: int, **extra: object) -> TagWindowCounts:
    values: dict[str, object] = {
        "tag": tag,
        "recent_uses": recent,
        "baseline_uses": baseline,
        "recent_days": 14,
        "baseline_days": 76,
    }
    values.update(extra)
    return TagWindowCounts.model_validate(values)


def rows() -> list[TagWindowCounts]:
    return [
        row("#steady", 56, 300, recent_engagement_rate=0.05, baseline_engagement_rate=0.05),
        row("#tiny", 3, 0),  # brand new, three uses: huge growth, little evidence
        row("#rising", 24, 12, recent_engagement_rate=0.075, baseline_engagement_rate=0.05),
        row("#pair", 2, 1),
        row("#fading", 2, 60),
        row("#gone", 0, 20, last_used_at=NOW - timedelta(days=30)),
    ]


def by_tag(trends: list[Trend]) -> dict[str, Trend]:
    return {t.tag: t for t in trends}


def test_rising_tag_leads_and_tiny_does_not() -> None:
    trends = detect_trends(rows())
    assert trends[0].tag == "#rising"
    found = by_tag(trends)
    rising, tiny, steady = found["#rising"], found["#tiny"], found["#steady"]
    assert rising.rising
    assert rising.status == "rising"
    assert rising.p_value < 1e-6
    assert rising.score > 0.6
    assert rising.engagement_lift == pytest.approx(1.5)
    assert tiny.score < rising.score / 2
    assert tiny.growth > rising.growth  # the raw ratio would have put it first
    assert math.isfinite(tiny.growth)
    assert not steady.rising
    assert steady.status == "steady"
    assert steady.score < 0.1
    assert found["#pair"].status == "low_volume"
    assert found["#fading"].status == "declining"


def test_stale_tags_are_flagged_and_last() -> None:
    trends = detect_trends(rows())
    gone = by_tag(trends)["#gone"]
    assert gone.stale
    assert gone.status == "stale"
    assert gone.score == 0
    assert trends[-1].tag == "#gone"
    assert [t.tag for t in trends if t.stale] == ["#gone"]
    # with ``now``, a last use older than the recent window marks a tag stale even if its
    # counts say otherwise (counts cut at another time)
    late = row("#late", 4, 4, last_used_at=NOW - timedelta(days=20))
    assert score_tag(late, now=NOW).stale
    assert not score_tag(late).stale


def test_scores_are_bounded_and_monotonic_in_volume() -> None:
    previous = -1.0
    for recent in (3, 6, 12, 24, 48):
        trend = score_tag(row("#t", recent, 10))
        assert 0 <= trend.score <= 1
        assert trend.score > previous
        previous = trend.score


def test_poisson_tail_matches_the_formula() -> None:
    r = row("#t", 7, 19)
    mu = (19 + 1) / 76 * 14
    expected = 1 - sum(math.exp(-mu) * mu**k / math.factorial(k) for k in range(7))
    assert rise_p_value(r) == pytest.approx(expected, rel=1e-9)
    assert rise_p_value(row("#t", 0, 19)) == 1.0


def test_top_k_alpha_and_min_recent() -> None:
    assert [t.tag for t in detect_trends(rows(), top_k=1)] == ["#rising"]
    strict = by_tag(detect_trends(rows(), min_recent=30))
    assert strict["#rising"].status == "low_volume"
    with pytest.raises(ValueError, match="alpha"):
        detect_trends(rows(), alpha=1.5)


def test_camel_case_in_and_out() -> None:
    # The analytics helper's rows arrive as camelCase or snake_case dicts, extras ignored.
    trends = detect_trends(
        [
            {
                "tag": "#x",
                "platform": "instagram",
                "recentUses": 9,
                "baselineUses": 2,
                "recentDays": 14,
                "baselineDays": 76,
                "recentEngagementRate": 0.06,
                "baselineEngagementRate": 0.04,
                "lastUsedAt": "2026-11-25T10:00:00Z",
                "somethingElse": 1,
            }
        ]
    )
    dumped = trends[0].model_dump(mode="json")
    assert {"tag", "platform", "volume", "growth", "score", "pValue", "engagementLift"} <= set(
        dumped
    )
    assert dumped["platform"] == "instagram"
    assert dumped["engagementLift"] == pytest.approx(1.5)
    assert trends[0].engagement_lift is not None
    assert row("#y", 3, 3).model_dump()["recentUses"] == 3
    assert score_tag(row("#y", 3, 3, recent_engagement_rate=0.05)).engagement_lift is None


def test_finds_the_planted_tag_in_the_demo_posts() -> None:
    """Counts from the demo generator (no database): the planted cold-brew tag is first."""
    org = ObjectId()
    team = Team(org, ObjectId(), ObjectId(), {p: ObjectId() for p in PROFILES})
    posts, analytics = generate(random.Random(DEFAULT_SEED), team, days=90, now=NOW)
    rates: dict[ObjectId, list[float]] = defaultdict(list)
    for a in analytics:
        rates[a.post_id].append(a.metrics.engagement_rate)
    cut = NOW - timedelta(days=14)
    counts: dict[str, dict[str, list]] = defaultdict(lambda: {"recent": [], "baseline": []})
    last: dict[str, datetime] = {}
    for post in posts:
        at = post.scheduling.published_at
        if post.scheduling.status != "published" or at is None:
            continue
        window = "recent" if at >= cut else "baseline"
        for tag in post.content.hashtags:
            counts[tag][window].extend(rates[post.id])
            last[tag] = max(last.get(tag, at), at)
    table = [
        TagWindowCounts(
            tag=tag,
            recent_uses=len(c["recent"]),
            baseline_uses=len(c["baseline"]),
            recent_days=14,
            baseline_days=76,
            recent_engagement_rate=sum(c["recent"]) / len(c["recent"]) if c["recent"] else None,
            baseline_engagement_rate=(
                sum(c["baseline"]) / len(c["baseline"]) if c["baseline"] else None
            ),
            last_used_at=last[tag],
        )
        for tag, c in counts.items()
    ]
    trends = detect_trends(table, now=NOW)
    assert trends[0].tag == TRENDING_HASHTAG
    assert trends[0].rising
    assert trends[0].engagement_lift is not None
    assert trends[0].engagement_lift > 1.1
    assert not by_tag(trends)["#lumencoffee"].rising  # on nearly every post, all along
    assert any(t.stale for t in trends)  # the one-off viral tags
