"""The final metrics of a post on one network, with every planted effect applied."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, time, timedelta

from bson import ObjectId

from persistence.models import Analytics
from persistence.models.analytics import Metrics, SentimentBreakdown, TimeData
from services.demo.content import Copy
from services.demo.planted import (
    FOLLOWER_GROWTH,
    INCIDENT_COMMENT_LIFT,
    INCIDENT_DAYS_AGO,
    INCIDENT_LIKE_LIFT,
    INCIDENT_SENTIMENT,
    MEDIA_LIFT,
    NORMAL_SENTIMENT,
    PROFILES,
    QUESTION_COMMENT_LIFT,
    TRENDING_HASHTAG,
    TZ,
    trend_lift,
)

# What an industry report would call typical for food & beverage brands, per network.
BENCHMARK_ENGAGEMENT = {
    "instagram": 0.035,
    "tiktok": 0.05,
    "linkedin": 0.025,
    "facebook": 0.012,
    "twitter": 0.009,
}
AGE_GROUPS = {
    "instagram": (0.22, 0.41, 0.22, 0.10, 0.05),
    "tiktok": (0.46, 0.33, 0.13, 0.06, 0.02),
    "linkedin": (0.08, 0.38, 0.30, 0.16, 0.08),
    "facebook": (0.06, 0.22, 0.30, 0.24, 0.18),
    "twitter": (0.18, 0.38, 0.26, 0.12, 0.06),
}
AGE_LABELS = ("18-24", "25-34", "35-44", "45-54", "55+")
LOCATIONS = {
    "New York": 0.38,
    "Brooklyn": 0.20,
    "Jersey City": 0.08,
    "Boston": 0.07,
    "Philadelphia": 0.07,
    "other": 0.20,
}


def post_analytics(
    rng: random.Random,
    *,
    org_id: ObjectId,
    account_id: ObjectId,
    post_id: ObjectId,
    platform: str,
    copy: Copy,
    content_type: str,
    published: datetime,
    days_ago: int,
    days: int,
    now: datetime,
    viral: float | None = None,
) -> Analytics:
    """The analytics document of one published post on one network. ``days_ago`` counts
    local days before today; ``viral`` multiplies the engagements the post would have had."""
    profile = PROFILES[platform]
    local = published.astimezone(TZ)
    followers = profile.followers * (1 - FOLLOWER_GROWTH * days_ago / max(days, 1))
    rate_lift = (
        profile.weekday_lift[local.weekday()]
        * profile.hour_lift.get(local.hour, 1.0)
        * MEDIA_LIFT[content_type]
        * (trend_lift(days_ago) if TRENDING_HASHTAG in copy.hashtags else 1.0)
    )
    # Networks show engaging posts to more people, but reach moves less than the rate.
    reach_lift = rate_lift**0.2
    if viral:
        # Going viral multiplies engagements by ``viral``: half from the reach the network
        # handed out, half from a higher rate.
        rate_lift *= math.sqrt(viral)
        reach_lift *= math.sqrt(viral)
    reach = followers * profile.reach_rate * reach_lift * rng.lognormvariate(0, 0.15)
    reach = max(50, round(reach))
    rate = min(0.6, profile.engagement_rate * rate_lift * rng.lognormvariate(0, 0.2))
    engaged = reach * rate

    incident = days_ago in INCIDENT_DAYS_AGO
    comment_lift = QUESTION_COMMENT_LIFT if copy.is_question else 1.0
    like_lift = 1.0
    if incident:
        comment_lift *= rng.uniform(*INCIDENT_COMMENT_LIFT)
        like_lift = INCIDENT_LIKE_LIFT
    w_likes, w_comments, w_shares, w_saves = profile.split
    likes = round(engaged * w_likes * like_lift * rng.uniform(0.9, 1.1))
    comments = round(engaged * w_comments * comment_lift * rng.uniform(0.8, 1.2))
    shares = round(engaged * w_shares * rng.uniform(0.8, 1.2))
    saves = round(engaged * w_saves * rng.uniform(0.8, 1.2))
    impressions = round(reach * rng.uniform(1.15, 1.6))
    if content_type == "link":
        clicks = round(reach * rng.uniform(0.012, 0.03))
    elif copy.links:
        clicks = round(reach * rng.uniform(0.004, 0.01))
    else:
        clicks = round(reach * rng.uniform(0.001, 0.004))

    sentiment = rng.uniform(*(INCIDENT_SENTIMENT if incident else NORMAL_SENTIMENT))
    metrics = Metrics(
        likes=likes,
        comments=comments,
        shares=shares,
        saves=saves,
        clicks=clicks,
        impressions=impressions,
        reach=reach,
        unique_views=round(reach * rng.uniform(0.85, 0.97)) if content_type == "video" else 0,
        engagement_rate=round((likes + comments + shares + saves) / reach, 5),
        click_through_rate=round(clicks / impressions, 5),
        conversion_rate=round(rng.uniform(0.01, 0.045), 4) if copy.links else None,
        sentiment_score=round(sentiment, 3),
        sentiment_breakdown=_breakdown(rng, sentiment),
    )
    return Analytics(
        organization_id=org_id,
        post_id=post_id,
        social_account_id=account_id,
        platform=platform,  # type: ignore[arg-type]
        metrics=metrics,
        demographics=_demographics(rng, platform),
        # Buckets of the publishing time, in UTC: "when was it posted" is what they answer.
        time_data=TimeData(
            recorded_at=published,
            date_bucket=datetime.combine(published.date(), time(), tzinfo=UTC),
            hour_bucket=published.hour,
            day_of_week=published.weekday(),
            month=published.month,
            quarter=(published.month - 1) // 3 + 1,
        ),
        comparison={"industryBenchmark": {"engagementRate": BENCHMARK_ENGAGEMENT[platform]}},
        created_at=min(published + timedelta(days=2), now),
    )


def _breakdown(rng: random.Random, score: float) -> SentimentBreakdown:
    """Shares of positive/neutral/negative comments consistent with the score's sign."""
    strong, weak = 0.45 + 0.5 * abs(score), rng.uniform(0.04, 0.1)
    positive, negative = (strong, weak) if score >= 0 else (weak, strong)
    positive, negative = round(positive, 3), round(negative, 3)
    return SentimentBreakdown(
        positive=positive, negative=negative, neutral=round(1 - positive - negative, 3)
    )


def _demographics(rng: random.Random, platform: str) -> dict[str, dict[str, float]]:
    ages = _jitter(rng, dict(zip(AGE_LABELS, AGE_GROUPS[platform], strict=True)))
    desktop = 0.35 if platform == "linkedin" else 0.12
    return {
        "ageGroups": ages,
        "genders": _jitter(rng, {"female": 0.56, "male": 0.41, "other": 0.03}),
        "locations": _jitter(rng, LOCATIONS),
        "devices": _jitter(rng, {"mobile": 0.97 - desktop, "desktop": desktop, "tablet": 0.03}),
    }


def _jitter(rng: random.Random, shares: dict[str, float]) -> dict[str, float]:
    noisy = {k: v * rng.uniform(0.9, 1.1) for k, v in shares.items()}
    total = sum(noisy.values())
    return {k: round(v / total, 3) for k, v in noisy.items()}
