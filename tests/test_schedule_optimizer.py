"""The schedule optimizer: constraints (count, gap, existing posts, window), DST in New York,
exactness of the choice, shrinkage of thin cells, and the planted best hours."""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tools.priors import week_shape, weekday_hour_prior
from tools.schedule_optimizer import (
    Slot,
    WeekdayHourGrid,
    best_subset,
    local_hours,
    optimize_schedule,
)

NY = "America/New_York"
TZ = ZoneInfo(NY)
BASE = 0.04


def grid(
    cells: dict[tuple[int, int], tuple[float, int]], *, fill: tuple[float, int] | None = None
) -> WeekdayHourGrid:
    """A grid with ``cells`` (weekday, hour) -> (mean, count); ``fill`` for hours 7-21 of
    every day not listed."""
    g = WeekdayHourGrid.empty()
    for d in range(7):
        for h in range(24):
            value = cells.get((d, h)) or (fill if fill and 7 <= h <= 21 else None)
            if value:
                g.means[d][h], g.counts[d][h] = value
    return WeekdayHourGrid.model_validate(g.model_dump())


def planted() -> WeekdayHourGrid:
    """The demo's Instagram pattern from known numbers: 18:00-19:59 is 1.9x, weekends 1.55x."""
    cells = {}
    for d in range(7):
        for h in range(7, 22):
            lift = (1.55 if d >= 5 else 1.0) * (1.9 if h in (18, 19) else 1.0)
            cells[(d, h)] = (BASE * lift, 12)
    return grid(cells)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def check_constraints(
    slots: list[Slot], start: datetime, days: int, gap_hours: float, existing=()
) -> None:
    instants = [s.at.astimezone(UTC) for s in slots]
    assert instants == sorted(instants)
    end = (start.astimezone(TZ) + timedelta(days=days)).astimezone(UTC)  # local calendar days
    assert all(start <= t < end for t in instants)
    gap = timedelta(hours=gap_hours)
    for a, b in itertools.combinations(instants, 2):
        assert abs(a - b) >= gap
    for t in instants:
        assert all(abs(t - e) >= gap for e in existing)
    for s in slots:
        assert s.at.tzinfo is not None
        assert s.at.utcoffset() == s.at.astimezone(TZ).utcoffset()
        assert (s.at.minute, s.at.second) == (0, 0)
        assert (s.at.weekday(), s.at.hour) == (s.weekday, s.hour)


# --- the planted pattern ---------------------------------------------------------------------


def test_picks_the_planted_best_hours() -> None:
    start = local(2026, 11, 23)  # a Monday
    slots = optimize_schedule(
        planted(), count=2, timezone=NY, start=start, platform="instagram", min_gap_hours=3
    )
    assert len(slots) == 2
    assert {s.weekday for s in slots} == {5, 6}  # Saturday and Sunday
    assert all(s.hour in (18, 19) for s in slots)
    check_constraints(slots, start, 7, 3)
    # 1.55 * 1.9 over a post-weighted average of the same grid
    assert slots[0].lift is not None
    assert slots[0].lift > 1.7  # 2.9x the base, 2.3x the average, less after shrinkage
    assert re.fullmatch(
        r"Sat 1[89]:00 — \d\.\dx your Instagram average \(12 posts\)", slots[0].reason
    )


def test_more_slots_spread_over_the_best_cells_with_the_gap() -> None:
    start = local(2026, 11, 23)
    slots = optimize_schedule(
        planted(), count=7, timezone=NY, start=start, platform="instagram", min_gap_hours=3
    )
    assert len(slots) == 7
    check_constraints(slots, start, 7, 3)
    # every day's 18:00 or 19:00 is better than any other hour of the week
    assert sorted(s.weekday for s in slots) == list(range(7))
    assert all(s.hour in (18, 19) for s in slots)


def test_existing_posts_block_their_neighbourhood() -> None:
    start = local(2026, 11, 23)
    existing = [local(2026, 11, 28, 18, 30).astimezone(UTC)]  # Saturday evening is taken
    slots = optimize_schedule(
        planted(),
        count=2,
        timezone=NY,
        start=start,
        platform="instagram",
        existing=existing,
        min_gap_hours=3,
    )
    check_constraints(slots, start, 7, 3, existing)
    assert [(s.weekday, s.hour) for s in slots][-1] in ((6, 18), (6, 19))
    saturday = [s for s in slots if s.weekday == 5]
    # Saturday can still be used, but only 3h or more from 18:30: 15:00 or earlier, 22:00 or later
    assert all(s.hour <= 15 or s.hour >= 22 for s in saturday)


def test_existing_posts_exactly_a_gap_away_do_not_hide_closer_ones() -> None:
    start = local(2026, 11, 28, 12)  # Saturday noon, one day
    existing = [local(2026, 11, 28, 15), local(2026, 11, 28, 19)]
    slots = optimize_schedule(
        planted(),
        count=24,
        timezone=NY,
        start=start,
        days=1,
        platform="instagram",
        existing=existing,
        min_gap_hours=3,
    )
    check_constraints(slots, start.astimezone(UTC), 1, 3, [e.astimezone(UTC) for e in existing])
    # 18:00 is exactly 3h after 15:00 but 1h before 19:00: not allowed
    assert 18 not in [s.hour for s in slots if s.at.day == 28]
    assert 12 in [s.hour for s in slots]  # exactly 3h before 15:00: allowed


def test_window_bounds_count_and_capacity() -> None:
    start = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # mid-hour: first slot on the hour after
    slots = optimize_schedule(
        planted(), count=50, timezone=NY, start=start, days=1, platform="instagram", min_gap_hours=4
    )
    check_constraints(slots, start, 1, 4)
    assert len(slots) == 6  # 24 hours hold six posts 4 hours apart
    assert slots[0].at >= start
    assert (
        optimize_schedule(planted(), count=0, timezone=NY, start=start, platform="instagram") == []
    )


def test_naive_start_is_utc_and_output_is_local_iso() -> None:
    slots = optimize_schedule(
        planted(), count=1, timezone=NY, start=datetime(2026, 11, 23, 5), platform="instagram"
    )
    dumped = slots[0].model_dump(mode="json")
    assert set(dumped) >= {"at", "expectedEngagement", "reason"}
    assert dumped["at"].endswith("-05:00")  # EST in late November
    assert datetime.fromisoformat(dumped["at"]) == slots[0].at


# --- shrinkage -------------------------------------------------------------------------------


def test_one_lucky_post_does_not_win_but_many_do() -> None:
    start = local(2026, 11, 23)
    lucky = grid({(2, 3): (0.12, 1)}, fill=(BASE, 10))  # Wednesday 03:00, one post at 3x
    slot = optimize_schedule(lucky, count=1, timezone=NY, start=start, platform="instagram")[0]
    assert (slot.weekday, slot.hour) != (2, 3)
    solid = grid({(2, 3): (0.12, 40)}, fill=(BASE, 10))
    slot = optimize_schedule(solid, count=1, timezone=NY, start=start, platform="instagram")[0]
    assert (slot.weekday, slot.hour) == (2, 3)
    assert slot.reason.startswith("Wed 03:00 — ")
    assert "(40 posts)" in slot.reason


def test_empty_grid_falls_back_to_the_prior_shape() -> None:
    start = local(2026, 11, 23)
    slots = optimize_schedule(
        WeekdayHourGrid.empty(), count=1, timezone=NY, start=start, platform="linkedin"
    )
    shape = week_shape("linkedin")
    best = divmod(int(shape.argmax()), 24)
    assert (slots[0].weekday, slots[0].hour) == best
    assert slots[0].lift is None
    assert "no posts of yours yet" in slots[0].reason


def test_explicit_priors_are_used() -> None:
    priors = [[0.01] * 24 for _ in range(7)]
    priors[3][10] = 0.09  # Thursday 10:00
    slots = optimize_schedule(
        WeekdayHourGrid.empty(),
        count=1,
        timezone=NY,
        start=local(2026, 11, 23),
        platform="twitter",
        priors=priors,
    )
    assert (slots[0].weekday, slots[0].hour) == (3, 10)
    with pytest.raises(ValueError, match="7x24"):
        optimize_schedule(
            WeekdayHourGrid.empty(),
            count=1,
            timezone=NY,
            start=local(2026, 11, 23),
            platform="twitter",
            priors=[[0.01] * 24],
        )


def test_prior_grid_level() -> None:
    prior = weekday_hour_prior("instagram", level=0.05)
    assert len(prior) == 7
    assert all(len(row) == 24 for row in prior)
    posting = [prior[d][h] for d in range(7) for h in range(7, 22)]
    assert sum(posting) / len(posting) == pytest.approx(0.05)


# --- daylight saving time in New York ---------------------------------------------------------


def test_spring_forward_skips_the_missing_hour() -> None:
    start = local(2026, 3, 7)  # Saturday; 2026-03-08 02:00 does not exist
    hours = local_hours(NY, start.astimezone(UTC), (start + timedelta(days=3)).astimezone(UTC))
    assert len(hours) == 3 * 24 - 1
    assert (6, 2) not in [(d, h) for t, d, h in hours if t.astimezone(TZ).day == 8]
    # Sunday 02:00 is by far the best cell, and still never offered on Mar 8
    best = grid({(6, 2): (0.5, 50)}, fill=(BASE, 10))
    slots = optimize_schedule(
        best, count=72, timezone=NY, start=start, days=3, platform="instagram", min_gap_hours=0
    )
    assert len(slots) == 71
    check_constraints(slots, start.astimezone(UTC), 3, 0)
    assert not any(s.at.day == 8 and s.at.hour == 2 for s in slots)
    assert len({s.at for s in slots}) == 71
    offsets = {s.at.day: s.at.utcoffset() for s in slots if s.at.hour == 12}
    assert offsets[7] == timedelta(hours=-5)
    assert offsets[8] == offsets[9] == timedelta(hours=-4)


def test_spring_forward_gap_is_real_time() -> None:
    # Mar 8: local 00:00 (EST) and 03:00 (EDT) are only two real hours apart.
    cells = {(6, 0): (0.3, 40), (6, 3): (0.3, 40)}
    g = grid(cells, fill=(BASE, 10))
    slots = optimize_schedule(
        g,
        count=2,
        timezone=NY,
        start=local(2026, 3, 8),
        days=1,
        platform="instagram",
        min_gap_hours=3,
    )
    hours = sorted(s.hour for s in slots)
    assert hours.count(0) + hours.count(3) == 1
    check_constraints(slots, local(2026, 3, 8).astimezone(UTC), 1, 3)
    # a week later the same two hours are three real hours apart and both fit
    slots = optimize_schedule(
        g,
        count=2,
        timezone=NY,
        start=local(2026, 3, 15),
        days=1,
        platform="instagram",
        min_gap_hours=3,
    )
    assert sorted(s.hour for s in slots) == [0, 3]


def test_fall_back_offers_the_repeated_hour_once() -> None:
    start = local(2026, 10, 31)
    slots = optimize_schedule(
        grid({(6, 1): (0.5, 50)}, fill=(BASE, 10)),
        count=100,
        timezone=NY,
        start=start,
        days=3,
        platform="instagram",
        min_gap_hours=0,
    )
    assert len(slots) == 72
    check_constraints(slots, start.astimezone(UTC), 3, 0)
    nov1 = [s for s in slots if s.at.day == 1]
    assert len(nov1) == 24
    one_am = [s for s in nov1 if s.at.hour == 1]
    assert len(one_am) == 1
    assert one_am[0].at.utcoffset() == timedelta(hours=-4)  # the first 01:00, still EDT
    assert one_am[0].at.fold == 0
    assert one_am[0].model_dump(mode="json")["at"] == "2026-11-01T01:00:00-04:00"


def test_fall_back_gap_is_real_time() -> None:
    # Nov 1: local 00:00 (EDT) and 02:00 (EST) are three real hours apart: both fit a 3h gap.
    g = grid({(6, 0): (0.3, 40), (6, 2): (0.3, 40)}, fill=(BASE, 10))
    slots = optimize_schedule(
        g,
        count=2,
        timezone=NY,
        start=local(2026, 11, 1),
        days=1,
        platform="instagram",
        min_gap_hours=3,
    )
    assert sorted(s.hour for s in slots) == [0, 2]
    # on an ordinary Sunday they are two hours apart: only one of them
    slots = optimize_schedule(
        g,
        count=2,
        timezone=NY,
        start=local(2026, 10, 25),
        days=1,
        platform="instagram",
        min_gap_hours=3,
    )
    assert sorted(s.hour for s in slots).count(0) + sorted(s.hour for s in slots).count(2) == 1


# --- the choice is exact ------------------------------------------------------------------------


def test_beats_greedy_where_greedy_loses() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    times = [t0, t0 + timedelta(hours=2), t0 + timedelta(hours=4)]
    # greedy takes the 1.5 in the middle and is then blocked on both sides
    assert best_subset(times, [1.0, 1.5, 1.0], 2, timedelta(hours=3)) == [0, 2]


def test_matches_brute_force_on_random_instances() -> None:
    rng = random.Random(7)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(200):
        n = rng.randint(1, 11)
        times = sorted({t0 + timedelta(hours=rng.randint(0, 30)) for _ in range(n)})
        values = [rng.uniform(0.1, 1.0) for _ in times]
        count = rng.randint(1, 4)
        gap = timedelta(hours=rng.choice((0, 1, 2, 3, 5)))
        picks = best_subset(times, values, count, gap)
        assert picks == sorted(picks)
        assert len(picks) <= count
        for a, b in itertools.combinations(picks, 2):
            assert abs(times[a] - times[b]) >= gap
        best_total, best_size = 0.0, 0
        for k in range(count, 0, -1):
            for combo in itertools.combinations(range(len(times)), k):
                if all(times[b] - times[a] >= gap for a, b in itertools.pairwise(combo)):
                    best_total = max(best_total, sum(values[i] for i in combo))
                    best_size = max(best_size, k)
        assert len(picks) == best_size
        assert sum(values[i] for i in picks) == pytest.approx(best_total)


# --- inputs -------------------------------------------------------------------------------------


def test_grid_validation_and_conversion() -> None:
    with pytest.raises(ValidationError, match="7 rows"):
        WeekdayHourGrid(means=[[None] * 24] * 6, counts=[[0] * 24] * 6)
    with pytest.raises(ValidationError, match="has posts but no mean"):
        WeekdayHourGrid(means=[[None] * 24] * 7, counts=[[1] + [0] * 23] + [[0] * 24] * 6)
    cells = [
        {"weekday": 5, "hour": 18, "posts": 4, "engagement_rate": 0.08},
        {"weekday": 1, "hour": 9, "posts": 0, "engagement_rate": None},
    ]
    g = WeekdayHourGrid.from_cells(cells)
    assert (g.counts[5][18], g.means[5][18]) == (4, 0.08)
    assert g.overall_mean() == pytest.approx(0.08)
    assert WeekdayHourGrid.empty().overall_mean() is None


def test_bad_arguments_say_what_to_fix() -> None:
    start = local(2026, 11, 23)
    with pytest.raises(ValueError, match="IANA timezone"):
        optimize_schedule(
            planted(), count=1, timezone="Mars/Olympus", start=start, platform="instagram"
        )
    with pytest.raises(ValueError, match="unknown platform"):
        optimize_schedule(planted(), count=1, timezone=NY, start=start, platform="myspace")
    with pytest.raises(ValueError, match="days"):
        optimize_schedule(
            planted(), count=1, timezone=NY, start=start, days=0, platform="instagram"
        )
    with pytest.raises(ValueError, match="min_gap_hours"):
        optimize_schedule(
            planted(), count=1, timezone=NY, start=start, min_gap_hours=-1, platform="instagram"
        )
