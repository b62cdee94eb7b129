"""Pick posting slots that maximise expected engagement, from a weekday-hour profile.

The profile is a 7x24 grid of mean engagement rates and post counts in the account's local
time (weekday 0 = Monday). Thin cells are blended toward a prior week shape (empirical Bayes:
``(n * mean + k * prior) / (n + k)``), so one lucky post at 03:00 does not win the week.

Slots are local wall-clock hours turned into instants with ``zoneinfo``: a local hour that
does not exist (the spring-forward gap) is skipped, and an hour that happens twice (fall back)
is offered once, at its first occurrence. Gaps between posts are measured in real elapsed time.

The choice itself is exact, not greedy: candidates sorted by time, a post at ``t`` rules out
other posts within ``min_gap_hours``, and a small dynamic programme over (candidates, posts
chosen) finds the set of at most ``count`` slots with the highest total expected engagement.
(Greedy best-first can lose: taking the single best hour may block two neighbours that together
are worth more.)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, model_validator

from tools.ml_common import CamelModel, as_utc, zone
from tools.priors import CELL_PRIOR_STRENGTH_POSTS, engagement_prior, week_shape

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PLATFORM_NAMES = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "linkedin": "LinkedIn",
    "facebook": "Facebook",
    "twitter": "Twitter",
    "youtube": "YouTube",
    "bluesky": "Bluesky",
    "sandbox": "Sandbox",
}
MAX_DAYS = 92
MAX_COUNT = 200


class WeekdayHourGrid(CamelModel):
    """Mean engagement rate and post count per local weekday (0 = Monday) and hour."""

    means: list[list[float | None]] = Field(description="7x24; None where a cell has no posts")
    counts: list[list[int]] = Field(description="7x24 post counts")

    @model_validator(mode="after")
    def _shape(self) -> WeekdayHourGrid:
        for name, grid in (("means", self.means), ("counts", self.counts)):
            if len(grid) != 7 or any(len(row) != 24 for row in grid):
                raise ValueError(f"{name} must be 7 rows (Monday..Sunday) of 24 hours")
        for d in range(7):
            for h in range(24):
                n, m = self.counts[d][h], self.means[d][h]
                if n < 0:
                    raise ValueError("counts cannot be negative")
                if m is not None and not math.isfinite(m):
                    self.means[d][h] = m = None
                if n > 0 and m is None:
                    raise ValueError(f"cell weekday={d} hour={h} has posts but no mean")
        return self

    @classmethod
    def empty(cls) -> WeekdayHourGrid:
        return cls(means=[[None] * 24 for _ in range(7)], counts=[[0] * 24 for _ in range(7)])

    @classmethod
    def from_cells(
        cls,
        cells: Iterable[Mapping[str, Any] | Any],
        *,
        rate_key: str = "engagement_rate",
        count_key: str = "posts",
    ) -> WeekdayHourGrid:
        """From per-cell records with ``weekday``, ``hour``, a count and a rate (mappings or
        objects), such as the cells of the analytics weekday-hour profile."""
        grid = cls.empty()
        for cell in cells:
            get = cell.get if isinstance(cell, Mapping) else lambda k, c=cell: getattr(c, k, None)
            d, h = get("weekday"), get("hour")
            if d is None or h is None:
                continue
            n = int(get(count_key) or 0)
            rate = get(rate_key)
            grid.counts[d][h] = n
            grid.means[d][h] = float(rate) if n and rate is not None else None
        return cls.model_validate(grid.model_dump())

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        counts = np.array(self.counts, dtype=float)
        means = np.array([[np.nan if m is None else m for m in row] for row in self.means])
        return means, counts

    def overall_mean(self) -> float | None:
        """The post-weighted mean rate over the whole week, or None without posts."""
        means, counts = self.arrays()
        total = counts.sum()
        if total <= 0:
            return None
        return float(np.nansum(means * counts) / total)


class Slot(CamelModel):
    """One chosen posting time."""

    at: datetime = Field(description="aware, in the account's timezone")
    expected_engagement: float = Field(description="smoothed engagement rate of the slot")
    reason: str
    weekday: int = Field(description="local, 0 = Monday")
    hour: int = Field(description="local hour")
    posts: int = Field(description="the tenant's posts behind this weekday-hour cell")
    lift: float | None = Field(description="expected engagement over the tenant's average")


def smoothed_grid(
    profile: WeekdayHourGrid, platform: str, priors: Sequence[Sequence[float]] | None = None
) -> tuple[np.ndarray, float | None, np.ndarray]:
    """The 7x24 expected rates after shrinkage, the tenant's average, and the prior grid.

    Without explicit ``priors`` the prior is the platform's week shape scaled to the tenant's
    own average (or to the platform's typical rate when the tenant has no posts)."""
    means, counts = profile.arrays()
    average = profile.overall_mean()
    if priors is None:
        level = average if average is not None else engagement_prior(platform)
        prior = week_shape(platform) * level
    else:
        prior = np.array(priors, dtype=float)
        if prior.shape != (7, 24) or not np.isfinite(prior).all():
            raise ValueError("priors must be a 7x24 grid of finite numbers")
    k = CELL_PRIOR_STRENGTH_POSTS
    observed = np.where(counts > 0, np.nan_to_num(means), 0.0)
    return (counts * observed + k * prior) / (counts + k), average, prior


def local_hours(tz_name: str, start: datetime, end: datetime) -> list[tuple[datetime, int, int]]:
    """Every local top-of-hour instant in ``[start, end)`` as (UTC instant, weekday, hour).

    Wall-clock hours that do not exist (spring forward) are skipped; hours that happen twice
    (fall back) appear once, at the first occurrence (``fold=0``)."""
    tz = zone(tz_name)
    out: list[tuple[datetime, int, int]] = []
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        for hour in range(24):
            local = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
            instant = local.astimezone(UTC)
            if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
                continue  # in the spring-forward gap: this wall-clock time never happens
            if start <= instant < end:
                out.append((instant, day.weekday(), hour))
        day += timedelta(days=1)
    return out


def best_subset(
    times: Sequence[datetime], values: Sequence[float], count: int, gap: timedelta
) -> list[int]:
    """Indices of at most ``count`` of the time-sorted ``times``, pairwise at least ``gap``
    apart, with the highest total value (exact dynamic programme, O(len(times) * count))."""
    n = len(times)
    if n == 0 or count <= 0:
        return []
    # usable[i]: how many candidates before i may precede a post at i (sorted, so a prefix).
    usable = [min(i, bisect.bisect_right(times, times[i] - gap)) for i in range(n)]
    neg = -math.inf
    # best[j][i]: best total of j posts among the first i candidates.
    best = [[0.0] * (n + 1)] + [[neg] * (n + 1) for _ in range(count)]
    for j in range(1, count + 1):
        row, before = best[j], best[j - 1]
        for i in range(n):
            take = before[usable[i]] + values[i] if before[usable[i]] > neg else neg
            row[i + 1] = max(row[i], take)
    chosen_count = max(j for j in range(count + 1) if best[j][n] > neg)
    picks: list[int] = []
    j, i = chosen_count, n
    while j > 0:
        # Walk back: candidate i-1 was taken if skipping it cannot reach the same total.
        if best[j][i] == best[j][i - 1]:
            i -= 1
            continue
        picks.append(i - 1)
        i = usable[i - 1]
        j -= 1
    return sorted(picks)


def optimize_schedule(
    profile: WeekdayHourGrid,
    *,
    count: int,
    timezone: str,
    start: datetime,
    days: int = 7,
    min_gap_hours: float = 3,
    existing: Sequence[datetime] = (),
    platform: str,
    priors: Sequence[Sequence[float]] | None = None,
) -> list[Slot]:
    """Up to ``count`` top-of-hour slots from ``start`` to the same local time ``days`` days
    later (end excluded), sorted by time, at least ``min_gap_hours`` of real time from each
    other and from ``existing`` posts (UTC instants), with the highest total expected
    engagement. Fewer when the window cannot hold ``count``."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count must be between 0 and {MAX_COUNT}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    if min_gap_hours < 0:
        raise ValueError("min_gap_hours cannot be negative")
    tz = zone(timezone)
    grid, average, _ = smoothed_grid(profile, platform, priors)
    _, counts = profile.arrays()
    begin = as_utc(start)
    end = window_end(begin, days, tz)
    gap = timedelta(hours=min_gap_hours)
    taken = sorted(as_utc(e) for e in existing)

    candidates = [
        (instant, d, h)
        for instant, d, h in local_hours(timezone, begin, end)
        if not _near(instant, taken, gap)
    ]
    picks = best_subset(
        [c[0] for c in candidates], [float(grid[d, h]) for _, d, h in candidates], count, gap
    )
    slots = []
    for index in picks:
        instant, d, h = candidates[index]
        value = float(grid[d, h])
        n = int(counts[d, h])
        lift = value / average if average else None
        slots.append(
            Slot(
                at=instant.astimezone(tz),
                expected_engagement=round(value, 5),
                reason=_reason(platform, d, h, n, lift, value),
                weekday=d,
                hour=h,
                posts=n,
                lift=round(lift, 3) if lift is not None else None,
            )
        )
    return slots


def window_end(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """``days`` local calendar days after ``start``: the same wall-clock time, so a window
    over a DST change is 23 or 25 hours longer or shorter than ``days * 24``."""
    return (start.astimezone(tz) + timedelta(days=days)).astimezone(UTC)


def _near(instant: datetime, taken: Sequence[datetime], gap: timedelta) -> bool:
    """Whether an already-scheduled post lies less than ``gap`` from ``instant``."""
    i = bisect.bisect_right(taken, instant - gap)  # the first post strictly after t - gap
    return i < len(taken) and taken[i] < instant + gap


def _reason(platform: str, d: int, h: int, n: int, lift: float | None, value: float) -> str:
    """'Sat 18:00 — 1.9x your Instagram average (42 posts)'."""
    name = PLATFORM_NAMES.get(platform, platform)
    when = f"{WEEKDAY_NAMES[d]} {h:02d}:00"
    if lift is None:
        return f"{when} — {value:.2%} expected from typical {name} timing (no posts of yours yet)"
    if n == 0:
        basis = "no posts of yours at this hour; typical pattern"
    elif n < CELL_PRIOR_STRENGTH_POSTS:
        basis = f"{n} post{'s' if n != 1 else ''}, blended with the typical pattern"
    else:
        basis = f"{n} posts"
    return f"{when} — {lift:.1f}x your {name} average ({basis})"
