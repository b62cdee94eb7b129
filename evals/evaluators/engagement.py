"""Evaluators of engagement predictions against what held-out posts really drew.

Rates are fractions (0.042 is 4.2%), as everywhere in Chorus. Each function is pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from scipy.stats import spearmanr

from tools.platform_rules import validate_post


def absolute_error(predicted: float, actual: float) -> float:
    """|predicted - actual|, in rate points (0.004 = 0.4 percentage points)."""
    return abs(float(predicted) - float(actual))


def mean_absolute_error(pairs: Iterable[tuple[float, float]]) -> float | None:
    """The mean of :func:`absolute_error` over (predicted, actual) pairs; None if none."""
    errors = [absolute_error(p, a) for p, a in pairs]
    return sum(errors) / len(errors) if errors else None


def rank_correlation(predicted: Sequence[float], actual: Sequence[float]) -> float | None:
    """Spearman's rho of predicted against actual rates: does the model order posts the way
    they really performed? None with fewer than three pairs or when either side is constant
    (rho is undefined there, and a constant prediction must not pass for a perfect one)."""
    if len(predicted) != len(actual):
        raise ValueError("predicted and actual differ in length")
    if len(predicted) < 3 or len(set(predicted)) < 2 or len(set(actual)) < 2:
        return None
    rho = spearmanr(predicted, actual).statistic
    return None if math.isnan(rho) else float(rho)


def in_interval(actual: float, low: float, high: float) -> float:
    """1.0 if the actual rate fell inside the predicted band (inclusive), else 0.0. Over a
    split, the mean is the band's coverage; an 80% band should cover about 0.8."""
    if low > high:
        raise ValueError(f"band is inverted: low {low} > high {high}")
    return 1.0 if low <= actual <= high else 0.0


def meets_platform_rules(
    text: str, hashtags: Sequence[str], platform: str, banned_terms: Iterable[str] = ()
) -> float:
    """1.0 if the post could be published as is on ``platform`` (length, hashtag count, no
    banned term or placeholder), else 0.0."""
    return 0.0 if validate_post(text, hashtags, platform, banned_terms=banned_terms) else 1.0
