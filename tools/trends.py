"""Rising and stale hashtags from per-tag counts in a recent and a baseline window.

Each tag's recent use count is tested against its own baseline rate with a one-sided Poisson
test: under "nothing changed", the recent count is Poisson with mean
``baseline_rate * recent_days``. The baseline rate carries one pseudo-use,
``(baseline_uses + 1) / baseline_days``, a deliberately conservative prior: a tag never seen
before gets a finite growth and a p-value that needs real volume to become small, and for a
tag with a long history the extra use changes nothing.

The score (0..1) is that evidence, ``min(1, -log10(p) / 8)``, times a blend of growth, volume
and engagement lift. Evidence comes first so that a tag going from 0 to 3 uses (growth is
huge, evidence is thin) ranks below a tag that solidly doubled from 20 to 40.

Caveat: the test counts uses, not shares of posts; if the tenant simply posts twice as much
lately, every tag looks like it rises. Callers that can should compare against the total
post volume of the same windows (a tag's ``growth`` divided by the account's growth).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from scipy.stats import poisson  # scikit-learn depends on scipy, so it is always present

from tools.ml_common import CamelModel, as_utc

BASELINE_PSEUDO_USES = 1.0
EVIDENCE_CAP = 8.0  # -log10(p) at which the evidence part is full: p = 1e-8
VOLUME_HALF = 8.0  # recent uses at which the volume part is one half
Status = Literal["rising", "steady", "declining", "stale", "low_volume"]


class TagWindowCounts(CamelModel):
    """One tag's uses (and engagement) in a recent window and the baseline before it."""

    tag: str
    platform: str | None = None
    recent_uses: int = Field(ge=0)
    baseline_uses: int = Field(ge=0)
    recent_days: float = Field(gt=0)
    baseline_days: float = Field(gt=0)
    recent_engagement_rate: float | None = Field(default=None, ge=0)
    baseline_engagement_rate: float | None = Field(default=None, ge=0)
    last_used_at: datetime | None = None


class Trend(CamelModel):
    """One tag, scored. Dumps camelCase: ``pValue``, ``engagementLift``."""

    tag: str
    platform: str | None
    volume: int = Field(description="uses in the recent window")
    baseline_uses: int
    growth: float = Field(description="recent rate / baseline rate (baseline + 1 pseudo-use)")
    score: float = Field(ge=0, le=1)
    p_value: float = Field(description="one-sided Poisson test: recent count this high by chance")
    engagement_lift: float | None = Field(description="recent / baseline engagement rate")
    status: Status
    rising: bool
    stale: bool
    last_used_at: datetime | None = None


def window_counts(stats: Iterable[Any]) -> list[TagWindowCounts]:
    """Rows of ``tools.analytics.hashtag_stats`` (or anything with the same attributes)."""
    return [TagWindowCounts.model_validate(s, from_attributes=True) for s in stats]


def baseline_rate(row: TagWindowCounts) -> float:
    """Uses per day in the baseline, with the pseudo-use."""
    return (row.baseline_uses + BASELINE_PSEUDO_USES) / row.baseline_days


def rise_p_value(row: TagWindowCounts) -> float:
    """P(X >= recent_uses) for X ~ Poisson(baseline_rate * recent_days)."""
    if row.recent_uses == 0:
        return 1.0
    return float(poisson.sf(row.recent_uses - 1, baseline_rate(row) * row.recent_days))


def fall_p_value(row: TagWindowCounts) -> float:
    """P(X <= recent_uses) under the baseline rate: evidence that the tag is fading."""
    return float(poisson.cdf(row.recent_uses, baseline_rate(row) * row.recent_days))


def score_tag(
    row: TagWindowCounts,
    *,
    min_recent: int = 3,
    alpha: float = 0.05,
    now: datetime | None = None,
) -> Trend:
    """Score one tag; see the module docstring for the formula."""
    growth = (row.recent_uses / row.recent_days) / baseline_rate(row)
    p = rise_p_value(row)
    lift = None
    if row.recent_engagement_rate is not None and row.baseline_engagement_rate:
        lift = row.recent_engagement_rate / row.baseline_engagement_rate

    stale = row.recent_uses == 0
    if now is not None and row.last_used_at is not None:
        # Belt and braces: a tag whose last use is older than the recent window is stale even
        # if the counts came from a different cut.
        stale = stale or as_utc(now) - as_utc(row.last_used_at) > timedelta(days=row.recent_days)

    if stale:
        status: Status = "stale"
    elif fall_p_value(row) < alpha:
        status = "declining"  # also when few uses remain: from 60 to 2 is news
    elif row.recent_uses < min_recent:
        status = "low_volume"
    elif p < alpha and growth > 1:
        status = "rising"
    else:
        status = "steady"

    score = 0.0
    if not stale:
        evidence = min(1.0, -math.log10(max(p, 1e-300)) / EVIDENCE_CAP)
        growth_part = max(0.0, 1.0 - 1.0 / growth) if growth > 0 else 0.0
        volume_part = row.recent_uses / (row.recent_uses + VOLUME_HALF)
        # Lift 1 is neutral (0.5); a doubling of the engagement rate fills it, halving empties.
        lift_part = 0.5 if lift is None else min(1.0, max(0.0, 0.5 + math.log2(lift) / 2))
        score = evidence * (0.45 * growth_part + 0.35 * volume_part + 0.2 * lift_part)
        if status == "low_volume":
            score *= 0.5  # below the volume floor: shown, never ahead of a real trend
    return Trend(
        tag=row.tag,
        platform=row.platform,
        volume=row.recent_uses,
        baseline_uses=row.baseline_uses,
        growth=round(growth, 3),
        score=round(min(1.0, score), 4),
        p_value=p,
        engagement_lift=round(lift, 3) if lift is not None else None,
        status=status,
        rising=status == "rising",
        stale=stale,
        last_used_at=row.last_used_at,
    )


def detect_trends(
    rows: Iterable[TagWindowCounts | dict],
    *,
    min_recent: int = 3,
    alpha: float = 0.05,
    top_k: int | None = None,
    now: datetime | None = None,
) -> list[Trend]:
    """Every tag scored and ranked, best first (rising tags lead, stale ones trail with score
    0). ``top_k`` keeps the first k. ``now`` lets ``last_used_at`` mark stale tags too."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if min_recent < 1:
        raise ValueError("min_recent must be at least 1")
    trends = [
        score_tag(
            r if isinstance(r, TagWindowCounts) else TagWindowCounts.model_validate(r),
            min_recent=min_recent,
            alpha=alpha,
            now=now,
        )
        for r in rows
    ]
    trends.sort(key=lambda t: (not t.rising, -t.score, -t.volume, t.tag, t.platform or ""))
    return trends[:top_k] if top_k is not None else trends
