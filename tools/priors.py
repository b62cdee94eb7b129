"""Platform priors: what to expect before a tenant's own data can say.

Where the numbers come from, and how rough they are
---------------------------------------------------
They are round figures in the range that public industry benchmark reports give (the yearly
reports of Rival IQ, Socialinsider, Hootsuite and Sprout Social, and the "best time to post"
studies of Sprout Social, Hootsuite and Later). Those reports measure differently (engagement
per follower or per reach, median or mean brand, which industries) and disagree with each other
by a factor of two or three, so treat every number here as an order of magnitude, not a fact
about any brand. Chorus defines the engagement rate per reach,
``(likes + comments + shares + saves) / reach``, which runs several times higher than the
per-follower rates many reports headline; the levels below are per reach.

They are used in two ways, and both shrink toward the tenant's own numbers as soon as there
are any:

- ``engagement_prior``: the engagement-rate fallback of the engagement model when a platform
  has too little history (``tools.engagement_model``).
- ``weekday_hour_prior``: the shape of a week (which local hours and weekdays tend to work)
  that the schedule optimizer blends thin weekday-hour cells toward
  (``tools.schedule_optimizer``).
"""

from __future__ import annotations

from functools import cache

import numpy as np

# Typical engagement rate per reach, as a fraction (0.035 = 3.5%).
PLATFORM_ENGAGEMENT: dict[str, float] = {
    "instagram": 0.035,
    "tiktok": 0.05,
    "linkedin": 0.025,
    "facebook": 0.015,
    "twitter": 0.01,
    "youtube": 0.03,
    "bluesky": 0.03,  # a young, conversational network: reported rates sit near Instagram's
    "sandbox": 0.02,  # the test network: a neutral middle value
}

# Relative to a single-image post. Video and carousels draw more; link and plain-text posts
# less on the visual networks. Twitter and LinkedIn are text-first, so text there is not
# penalised as hard (``CONTENT_TYPE_LIFT_BY_PLATFORM``).
CONTENT_TYPE_LIFT: dict[str, float] = {
    "video": 1.25,
    "carousel": 1.3,
    "image": 1.0,
    "story": 0.8,
    "link": 0.75,
    "text": 0.75,
}
CONTENT_TYPE_LIFT_BY_PLATFORM: dict[str, dict[str, float]] = {
    "twitter": {"text": 1.0},
    "bluesky": {"text": 1.0},  # text-first, like X
    "linkedin": {"text": 0.9},
}

# How many posts of the tenant's own the prior is worth when the two are blended:
# (n * tenant_mean + k * prior) / (n + k).
PRIOR_STRENGTH_POSTS = 10.0
# The same, per weekday-hour cell in the schedule optimizer: a cell's own mean needs eight
# posts before it weighs as much as the prior shape. Per-post rates scatter widely (a single
# viral post runs at 10x), and a weekday-hour cell rarely holds more than a handful of posts,
# so a lower weight would have the optimizer chase one lucky post.
CELL_PRIOR_STRENGTH_POSTS = 8.0

# The hours most brands post in; the week shapes are normalised so that their mean over these
# hours is 1, so "level x shape" keeps the level where the posts actually are.
POSTING_HOURS = range(7, 22)

# Local hour (0-23) -> lift, before normalisation. Overnight is weak everywhere; the rest is
# the commonly reported pattern per network.
_GENERIC_HOURS = (
    [0.6] * 6  # 00-05
    + [0.75, 0.9, 1.05, 1.05, 1.05]  # 06-10
    + [1.1, 1.1, 1.1]  # 11-13
    + [1.0, 1.0, 1.0]  # 14-16
    + [1.05, 1.05, 1.05, 1.05]  # 17-20
    + [0.95, 0.85, 0.7]  # 21-23
)
_HOUR_OVERRIDES: dict[str, dict[int, float]] = {
    "instagram": {11: 1.12, 12: 1.12, 18: 1.15, 19: 1.15, 20: 1.1},
    "tiktok": {18: 1.15, 19: 1.2, 20: 1.2, 21: 1.15, 22: 1.0, 23: 0.85},
    "linkedin": {7: 1.1, 8: 1.2, 9: 1.2, 10: 1.15, 12: 1.1, 18: 0.8, 19: 0.75, 20: 0.7, 21: 0.6},
    "facebook": {9: 1.1, 10: 1.1, 11: 1.12, 12: 1.12, 13: 1.1},
    "twitter": {8: 1.15, 9: 1.15, 10: 1.1, 12: 1.1, 17: 1.05},
    "youtube": {14: 1.1, 15: 1.1, 16: 1.1, 17: 1.12, 18: 1.12, 19: 1.12, 20: 1.1},
}
# Monday .. Sunday.
_WEEKDAYS: dict[str, tuple[float, ...]] = {
    "instagram": (1.0, 1.0, 1.02, 1.02, 1.0, 0.95, 0.95),
    "tiktok": (1.0, 1.0, 1.0, 1.02, 1.02, 1.05, 1.02),
    "linkedin": (1.0, 1.1, 1.1, 1.1, 0.95, 0.5, 0.45),
    "facebook": (1.0, 1.02, 1.02, 1.02, 1.0, 0.9, 0.9),
    "twitter": (1.02, 1.05, 1.05, 1.05, 1.0, 0.85, 0.85),
    "youtube": (0.95, 0.95, 0.95, 1.0, 1.02, 1.08, 1.08),
    "bluesky": (1.02, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9),  # shaped like X's week
    "sandbox": (1.0,) * 7,
}


def _check(platform: str) -> str:
    if platform not in PLATFORM_ENGAGEMENT:
        known = ", ".join(sorted(PLATFORM_ENGAGEMENT))
        raise ValueError(f"unknown platform {platform!r}; expected one of {known}")
    return platform


def content_lift(platform: str, content_type: str | None) -> float:
    """How a content type moves the rate relative to an image post (1.0 if unknown)."""
    if content_type is None:
        return 1.0
    specific = CONTENT_TYPE_LIFT_BY_PLATFORM.get(platform, {})
    return specific.get(content_type, CONTENT_TYPE_LIFT.get(content_type, 1.0))


def engagement_prior(platform: str, content_type: str | None = None) -> float:
    """The typical engagement rate (per reach) of a post of this type on this platform."""
    return PLATFORM_ENGAGEMENT[_check(platform)] * content_lift(platform, content_type)


@cache
def _shape(platform: str) -> np.ndarray:
    hours = np.array(_GENERIC_HOURS, dtype=float)
    for hour, lift in _HOUR_OVERRIDES.get(platform, {}).items():
        hours[hour] = lift
    weekdays = np.array(_WEEKDAYS.get(platform, _WEEKDAYS["sandbox"]), dtype=float)
    grid = np.outer(weekdays, hours)
    grid /= grid[:, list(POSTING_HOURS)].mean()
    grid.setflags(write=False)
    return grid


def week_shape(platform: str) -> np.ndarray:
    """7x24 lifts (weekday 0 = Monday, local hour), mean 1 over ``POSTING_HOURS``."""
    return _shape(_check(platform))


def time_lift(platform: str, weekday: int, hour: int) -> float:
    """The prior's lift of one local weekday and hour."""
    return float(week_shape(platform)[weekday % 7, hour % 24])


def weekday_hour_prior(platform: str, level: float | None = None) -> list[list[float]]:
    """7x24 expected engagement rates: ``level`` (the tenant's own platform mean when known,
    else the platform's typical rate) times the platform's week shape."""
    base = PLATFORM_ENGAGEMENT[_check(platform)] if level is None else level
    return (week_shape(platform) * base).tolist()


def shrink(mean: float | None, n: float, prior: float, k: float = PRIOR_STRENGTH_POSTS) -> float:
    """Empirical-Bayes blend of an observed mean over ``n`` posts with a prior worth ``k``."""
    if mean is None or n <= 0:
        return prior
    return (n * mean + k * prior) / (n + k)
