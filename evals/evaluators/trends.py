"""Deterministic checks of a trend report (the trend analyzer's ``TrendReport``).

A report's ``trends`` are rows ``{"tag", "platform", "volume", "growth", "score"}``, best
first. A case's reference data keys rows as ``"<platform>:<tag>"`` with ``*`` for all
platforms together (``"*:#coldbrewseason"``), and tags are compared normalised (``#ColdBrew``
and ``coldbrew`` are one tag), the way the analytics count them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

ALL = "*"
# A tag with fewer recent uses than this is thin evidence (the analyzer's own volume floor).
# A score above CONFIDENT_SCORE presents a row as a trend to act on: 0.1 is well below what a
# solid rise scores (the planted tag scores 0.3-0.9 over 7-30 days) and above what two or
# three uses against a quiet baseline can earn honestly once halved as low-volume.
THIN_VOLUME = 3
CONFIDENT_SCORE = 0.1
# Days of data before the recent window below which no rise can be shown.
MIN_BASELINE_COVERAGE = 7.0
_TAG_IN_TEXT = re.compile(r"#\w+")

Row = Mapping[str, Any]


def norm_tag(tag: str) -> str:
    name = tag.strip().lstrip("#").strip().lower()
    return f"#{name}"


def row_key(row: Row) -> str:
    return f"{row.get('platform') or ALL}:{norm_tag(str(row.get('tag', '')))}"


def rank_of(trends: Sequence[Row], tag: str) -> int | None:
    """1-based rank of the first row of ``tag`` (on any platform), or None."""
    wanted = norm_tag(tag)
    for index, row in enumerate(trends, start=1):
        if norm_tag(str(row.get("tag", ""))) == wanted:
            return index
    return None


def in_top_k(trends: Sequence[Row], tag: str, k: int) -> float:
    """1 when ``tag`` is among the first ``k`` rows, else 0."""
    rank = rank_of(trends, tag)
    return 1.0 if rank is not None and rank <= k else 0.0


def stale_not_above(trends: Sequence[Row], rising: str, stale: Sequence[str]) -> float | None:
    """Share of the case's stale rows (keys ``platform:tag``) that are not ranked above the
    rising tag; when the rising tag is missing, a stale row listed at all counts as above it.
    None when the case names no stale rows."""
    if not stale:
        return None
    top = rank_of(trends, rising)
    ranks = {row_key(row): i for i, row in enumerate(trends, start=1)}
    above = 0
    for key in stale:
        platform, _, tag = key.partition(":")
        rank = ranks.get(f"{platform}:{norm_tag(tag)}")
        if rank is not None and (top is None or rank < top):
            above += 1
    return 1 - above / len(stale)


def grounded(trends: Sequence[Row], volumes: Mapping[str, int]) -> float:
    """Share of rows whose volume is a real, non-zero count: equal to the reference count of
    that tag on that platform in the recent window. An empty report invents nothing (1)."""
    if not trends:
        return 1.0
    ok = 0
    for row in trends:
        actual = int(volumes.get(row_key(row), 0))
        ok += int(actual > 0 and row.get("volume") == actual)
    return ok / len(trends)


def overclaim(
    row: Row,
    volumes: Mapping[str, int],
    flat: Collection[str],
    baseline_days_covered: float,
    *,
    thin_volume: int = THIN_VOLUME,
    max_score: float = CONFIDENT_SCORE,
    min_coverage: float = MIN_BASELINE_COVERAGE,
) -> str | None:
    """Why a row presents more confidence than the data supports, or None. Only rows scored
    above ``max_score`` can overclaim; they do when they rest on fewer than ``thin_volume``
    real recent uses ("thin"), when the data shows the tag flat or fading ("flat"), or when
    the data holds less than ``min_coverage`` days before the window, so no rise can be
    shown at all ("no_baseline")."""
    if float(row.get("score", 0)) <= max_score:
        return None
    key = row_key(row)
    if int(volumes.get(key, 0)) < thin_volume:
        return "thin"
    if baseline_days_covered < min_coverage:
        return "no_baseline"
    if key in flat:
        return "flat"
    return None


def no_overclaim(
    trends: Sequence[Row],
    volumes: Mapping[str, int],
    flat: Collection[str],
    baseline_days_covered: float,
) -> float:
    """Share of rows that do not overclaim (see ``overclaim``); an empty report is 1."""
    if not trends:
        return 1.0
    flat = set(flat)
    bad = sum(
        1 for row in trends if overclaim(row, volumes, flat, baseline_days_covered) is not None
    )
    return 1 - bad / len(trends)


def platform_scope(trends: Sequence[Row], platforms: Sequence[str] | None) -> float:
    """Share of rows on a requested platform (``platforms``), or, when none was requested,
    on all platforms together (platform null). An empty report is in scope (1)."""
    if not trends:
        return 1.0
    allowed = set(platforms) if platforms else {None}
    return sum(1 for row in trends if row.get("platform") in allowed) / len(trends)


def summary_names_lead(summary: str, trends: Sequence[Row]) -> float:
    """1 when the summary names the top row's tag (with or without '#'), or, for an empty
    report, names no hashtag at all (it must not talk up a tag the data did not rank)."""
    if not trends:
        return 0.0 if _TAG_IN_TEXT.search(summary or "") else 1.0
    tag = norm_tag(str(trends[0].get("tag", ""))).lstrip("#")
    return 1.0 if tag and tag in (summary or "").lower() else 0.0
