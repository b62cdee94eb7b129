"""Who follows an account, as the networks that say so report it.

Each network counts its audience differently (Facebook per ``F.25-34`` gender-and-age key,
Instagram per breakdown of a ``follower_demographics`` insight, YouTube as percentages of
viewers, LinkedIn per country or seniority URN); a provider turns its network's answer into
one shape, ``{dimension: {bucket: share}}`` with shares of the audience summing to 1 per
dimension, which ``tools.analytics.audience.record_audience`` stores as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

Demographics = dict[str, dict[str, float]]

SHARE_DIGITS = 5


def shares(counts: Mapping[str, float]) -> dict[str, float]:
    """Counts per bucket as shares of their total (empty when nothing was counted)."""
    kept = {
        str(k): float(v)
        for k, v in counts.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v > 0
    }
    total = sum(kept.values())
    if not total:
        return {}
    return {k: round(v / total, SHARE_DIGITS) for k, v in sorted(kept.items())}


def non_empty(dimensions: Mapping[str, Mapping[str, float]]) -> Demographics:
    """Only the dimensions with at least one bucket."""
    return {name: dict(buckets) for name, buckets in dimensions.items() if buckets}
