"""The demo brand, its accounts, and the facts planted in its data.

Everything an agent should be able to discover from the demo analytics is written down here,
so tests and evals can check that it was found. Hours and weekdays are in the brand's local
time (``TIMEZONE``); ``timeData`` buckets in the analytics documents are in UTC, so an agent
that reads ``hourBucket`` sees the Instagram window at 22:00-23:59 UTC (EDT) or 23:00-00:59
UTC (EST).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_SEED = 20261126
DEFAULT_DAYS = 90

ORG_NAME = "Lumen Coffee Roasters"
DEMO_SLUG = "lumen-coffee-demo"
TIMEZONE = "America/New_York"
TZ = ZoneInfo(TIMEZONE)
INDUSTRY = "coffee / food & beverage"
BANNED_TERMS = ("cheap", "guaranteed", "miracle")

# ``.local`` would be the natural demo domain, but pydantic's EmailStr (email-validator)
# rejects special-use domains; ``.example`` is reserved for examples and is accepted.
ADMIN_EMAIL = "demo@chorus.example"
PASSWORD_FILE = "demo-admin-password"

# email, role, first name, last name
USERS: tuple[tuple[str, str, str, str], ...] = (
    (ADMIN_EMAIL, "admin", "Dana", "Whitfield"),
    ("marco.alvarez@chorus.example", "manager", "Marco", "Alvarez"),
    ("june.park@chorus.example", "viewer", "June", "Park"),
)

# Engagement rate, everywhere in the demo: (likes + comments + shares + saves) / reach, as a
# fraction (0.042 is 4.2%). Post.performance.engagementScore uses the same definition over
# the post's platforms together.
ENGAGEMENT_RATE_DEFINITION = "(likes + comments + shares + saves) / reach, a fraction"


@dataclass(frozen=True)
class PlatformProfile:
    """How one network behaves for this brand: audience, reach, engagement, rhythm."""

    handle: str
    followers: int
    reach_rate: float  # typical reach as a share of followers
    engagement_rate: float  # typical engagement rate of an image post at a neutral time
    share: float  # share of the brand's daily posts
    content_mix: dict[str, float]
    hours: dict[int, float]  # local posting hour -> how often the team posts then
    weekday_lift: tuple[float, ...]  # Monday .. Sunday, local
    hour_lift: dict[int, float]  # local hour -> engagement lift; absent hours are 1.0
    split: tuple[float, float, float, float]  # likes, comments, shares, saves
    hashtags: tuple[int, int]  # how many per post, inclusive
    max_length: int
    weekend_posting: float = 1.0  # how much the team posts here on weekends, relatively


def _hours(first: int, last: int, heavy: dict[int, float] | None = None) -> dict[int, float]:
    return {h: (heavy or {}).get(h, 1.0) for h in range(first, last + 1)}


PROFILES: dict[str, PlatformProfile] = {
    "instagram": PlatformProfile(
        handle="lumencoffee",
        followers=48_200,
        reach_rate=0.24,
        engagement_rate=0.041,
        share=0.30,
        content_mix={"image": 0.35, "carousel": 0.30, "video": 0.35},
        hours=_hours(7, 21, {18: 2.5, 19: 2.5}),
        weekday_lift=(1.0, 1.0, 1.0, 1.0, 1.05, 1.6, 1.55),
        hour_lift={18: 1.9, 19: 1.9},
        split=(0.80, 0.06, 0.05, 0.09),
        hashtags=(4, 7),
        max_length=2200,
    ),
    "tiktok": PlatformProfile(
        handle="lumencoffee",
        followers=21_500,
        reach_rate=0.65,
        engagement_rate=0.058,
        share=0.15,
        content_mix={"video": 1.0},
        hours=_hours(10, 22),
        weekday_lift=(1.0, 1.0, 1.0, 1.0, 1.1, 1.15, 1.15),
        hour_lift={},
        split=(0.85, 0.05, 0.06, 0.04),
        hashtags=(3, 5),
        max_length=2200,
    ),
    "linkedin": PlatformProfile(
        handle="lumen-coffee-roasters",
        followers=7_900,
        reach_rate=0.19,
        engagement_rate=0.027,
        share=0.18,
        content_mix={"text": 0.35, "image": 0.30, "link": 0.15, "carousel": 0.12, "video": 0.08},
        hours=_hours(7, 17, {8: 2.5, 9: 2.5}),
        weekday_lift=(0.9, 1.4, 1.45, 1.4, 0.85, 0.4, 0.35),
        hour_lift={8: 2.0, 9: 2.0},
        split=(0.82, 0.10, 0.08, 0.0),
        hashtags=(2, 3),
        max_length=3000,
        weekend_posting=0.5,
    ),
    "facebook": PlatformProfile(
        handle="LumenCoffeeRoasters",
        followers=26_000,
        reach_rate=0.085,
        engagement_rate=0.016,
        share=0.15,
        content_mix={"image": 0.35, "link": 0.25, "video": 0.20, "text": 0.20},
        hours=_hours(8, 21),
        weekday_lift=(0.95, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1),
        hour_lift={},
        split=(0.75, 0.13, 0.12, 0.0),
        hashtags=(1, 2),
        max_length=5000,
    ),
    "twitter": PlatformProfile(
        handle="lumencoffee",
        followers=14_800,
        reach_rate=0.06,
        engagement_rate=0.011,
        share=0.22,
        content_mix={"text": 0.45, "image": 0.35, "video": 0.10, "link": 0.10},
        hours=_hours(7, 22),
        weekday_lift=(1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9),
        hour_lift={},
        split=(0.68, 0.12, 0.17, 0.03),
        hashtags=(1, 2),
        max_length=280,
    ),
}

# Video and carousels beat a single image; links and plain text trail.
MEDIA_LIFT = {"video": 1.6, "carousel": 1.5, "image": 1.0, "link": 0.75, "text": 0.65}
QUESTION_COMMENT_LIFT = 1.8
FOLLOWER_GROWTH = 0.08  # followers grew this much over the period; reach follows them

TRENDING_HASHTAG = "#coldbrewseason"
TREND_SURGE_DAYS = 14  # the tag surges over the last this many days


def trend_probability(days_ago: int) -> float:
    """How likely a post on that day is about cold brew (and carries the trending tag)."""
    if days_ago <= TREND_SURGE_DAYS:
        return 0.30 + 0.025 * (TREND_SURGE_DAYS - days_ago)
    return 0.08 if days_ago <= 30 else 0.03


def trend_lift(days_ago: int) -> float:
    """Engagement lift of a post carrying the trending tag: rising through the surge."""
    if days_ago <= TREND_SURGE_DAYS:
        return 1.15 + 0.035 * (TREND_SURGE_DAYS - days_ago)
    return 1.0


# days ago (local), platform, content type, local hour, engagement multiplier over what the
# same post would have drawn without going viral, theme
VIRAL_POSTS: tuple[tuple[int, str, str, int, float, str], ...] = (
    (74, "tiktok", "video", 12, 16.0, "viral_latte_art"),
    (58, "instagram", "carousel", 19, 12.0, "viral_roastery_cat"),
    (41, "twitter", "text", 9, 16.0, "viral_hot_take"),
    (33, "facebook", "video", 13, 18.0, "viral_roaster_restoration"),
)

# A carrier problem delayed subscription deliveries; these local days drew a wave of comments.
INCIDENT_DAYS_AGO = (20, 19)
INCIDENT_COMMENT_LIFT = (4.0, 7.0)
INCIDENT_LIKE_LIFT = 0.6
INCIDENT_SENTIMENT = (-0.75, -0.4)
NORMAL_SENTIMENT = (0.25, 0.7)

_IG, _LI = PROFILES["instagram"], PROFILES["linkedin"]

# What an agent should find. "days_ago" counts local days back from the seeding date (``now``
# in TIMEZONE); weekdays are 0 = Monday, local.
PLANTED: dict[str, Any] = {
    "timezone": TIMEZONE,
    "engagement_rate": ENGAGEMENT_RATE_DEFINITION,
    "best_hours": {
        "instagram": {"local_hours": [18, 19], "window": "18:00-19:59", "lift": _IG.hour_lift[18]},
        "linkedin": {"local_hours": [8, 9], "window": "08:00-09:59", "lift": _LI.hour_lift[8]},
    },
    "weekly": {
        "instagram": {"strong_days": [5, 6], "weekday_lift": list(_IG.weekday_lift)},
        "linkedin": {
            "strong_days": [1, 2, 3],
            "weak_days": [5, 6],
            "weekday_lift": list(_LI.weekday_lift),
        },
    },
    "platform_engagement_rate_order": ["tiktok", "instagram", "linkedin", "facebook", "twitter"],
    "platform_reach_order": ["tiktok", "instagram", "facebook", "linkedin", "twitter"],
    "media_effect_order": ["video", "carousel", "image", "link", "text"],
    "media_lift": dict(MEDIA_LIFT),
    "question_comment_lift": QUESTION_COMMENT_LIFT,
    "viral_posts": [
        {
            "days_ago": d,
            "platform": p,
            "content_type": c,
            "local_hour": h,
            "multiplier": m,
            "theme": t,
        }
        for d, p, c, h, m, t in VIRAL_POSTS
    ],
    "trending_hashtag": {
        "tag": TRENDING_HASHTAG,
        "surge_last_days": TREND_SURGE_DAYS,
        "share_of_posts_before_day_30": trend_probability(31),
        "share_of_posts_in_surge": [trend_probability(TREND_SURGE_DAYS), trend_probability(1)],
        "engagement_lift_in_surge": [trend_lift(TREND_SURGE_DAYS), trend_lift(1)],
    },
    "incident": {
        "days_ago": list(INCIDENT_DAYS_AGO),
        "topic": "delivery delay",
        "keywords": ["delivery", "delay", "carrier", "subscription"],
        "comment_lift": list(INCIDENT_COMMENT_LIFT),
        "sentiment_score": list(INCIDENT_SENTIMENT),
        "normal_sentiment_score": list(NORMAL_SENTIMENT),
    },
}
