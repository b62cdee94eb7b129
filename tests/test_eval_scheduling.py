"""The scheduling evaluators: each can give 0, 1 and values in between, and the DST cases
read the offset a zone has at each instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evals.evaluators.scheduling import (
    BestWindow,
    count_honoured,
    feasible_count,
    gap_kept,
    hour_starts,
    inside_window,
    instant,
    offset_matches,
    spaced,
    summary_names_slot,
    window_hit_rate,
)

NY, BERLIN = "America/New_York", "Europe/Berlin"
IG = BestWindow(NY, frozenset({18, 19}))
LI = BestWindow(NY, frozenset({8, 9}), frozenset({1, 2, 3}))


def test_instant_rejects_naive_and_garbage() -> None:
    assert instant("2026-11-20T18:00:00-05:00") == datetime(2026, 11, 20, 23, tzinfo=UTC)
    assert instant("2026-11-20T18:00:00") is None
    assert instant("next friday") is None
    assert instant(None) is None


def test_best_window_reads_local_hour_and_weekday() -> None:
    assert IG.contains(instant("2026-11-20T23:30:00Z"))  # 18:30 EST
    assert not IG.contains(instant("2026-11-20T18:00:00Z"))  # 13:00 EST
    assert LI.contains(instant("2026-11-24T08:00:00-05:00"))  # Tuesday
    assert not LI.contains(instant("2026-11-23T08:00:00-05:00"))  # Monday
    # The same UTC hour is in the window in EST but not in EDT.
    assert IG.contains(instant("2026-11-02T23:00:00Z"))  # 18:00 EST
    assert IG.contains(instant("2026-10-30T23:00:00Z"))  # 19:00 EDT
    assert not IG.contains(instant("2026-10-31T00:00:00Z"))  # 20:00 EDT
    assert BestWindow.from_expect(None) is None
    raw = {"timezone": NY, "hours": [8, 9], "weekdays": [1, 2, 3]}
    assert BestWindow.from_expect(raw) == LI


def test_offset_must_be_the_zones_at_that_instant_across_dst() -> None:
    good = ["2026-10-31T18:00:00-04:00", "2026-11-01T18:00:00-05:00"]
    assert offset_matches(good, NY) == 1.0
    # The same instants written with one fixed offset: the second is the wrong offset.
    stale = ["2026-10-31T18:00:00-04:00", "2026-11-01T19:00:00-04:00"]
    assert offset_matches(stale, NY) == 0.5
    assert offset_matches(["2026-11-01T18:00:00Z", "2026-11-01T18:00:00"], NY) == 0.0
    assert offset_matches([], NY) is None
    berlin = ["2027-03-27T18:00:00+01:00", "2027-03-28T18:00:00+02:00"]
    assert offset_matches(berlin, BERLIN) == 1.0
    assert offset_matches(["2027-03-28T18:00:00+01:00"], BERLIN) == 0.0
    assert offset_matches(["2026-11-20T18:00:00+05:30"], "Asia/Kolkata") == 1.0


def test_inside_window() -> None:
    start, end = "2026-11-20T10:00:00-05:00", "2026-11-27T10:00:00-05:00"
    assert inside_window(["2026-11-20T10:00:00-05:00"], start, end) == 1.0
    slots = ["2026-11-21T18:00:00-05:00", "2026-11-27T10:00:00-05:00", "2026-11-19T18:00:00Z"]
    assert inside_window(slots, start, end) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="aware"):
        inside_window(slots, "2026-11-20T10:00:00", end)


def test_gap_between_slots_and_to_existing_posts() -> None:
    slots = ["2026-11-21T18:00:00-05:00", "2026-11-22T18:00:00-05:00"]
    assert gap_kept(slots, 3) == 1.0
    assert gap_kept(slots, 25) == 0.0
    # Exactly the gap is fine; one hour less is not.
    assert gap_kept(["2026-11-21T15:00:00-05:00", "2026-11-21T18:00:00-05:00"], 3) == 1.0
    three = ["2026-11-21T13:00:00-05:00", "2026-11-21T18:00:00-05:00", "2026-11-21T19:00:00-05:00"]
    assert gap_kept(three, 3) == pytest.approx(1 / 3)
    assert gap_kept(slots, 3, existing=["2026-11-22T00:30:00Z"]) == 0.5  # 19:30 EST
    # Real elapsed time across the fall-back: 00:30 EDT to 01:30 EST is two hours.
    assert gap_kept(["2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-05:00"], 2) == 1.0
    assert gap_kept(["2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-05:00"], 2.5) == 0.0
    assert gap_kept(["2026-11-21T18:00:00"], 3) == 0.0
    assert gap_kept([], 3) is None


def test_hour_starts_follow_dst_and_half_hour_offsets() -> None:
    fall = hour_starts(
        NY, instant("2026-11-01T00:00:00-04:00"), instant("2026-11-02T00:00:00-05:00")
    )
    assert len(fall) == 25  # 01:00 happens twice
    spring = hour_starts(
        BERLIN, instant("2027-03-28T00:00:00+01:00"), instant("2027-03-29T00:00:00+02:00")
    )
    assert len(spring) == 23  # 02:00 never happens
    assert all(at.astimezone().minute == 0 for at in spring)
    kolkata = hour_starts(
        "Asia/Kolkata", instant("2026-11-20T15:10:00+05:30"), instant("2026-11-20T18:00:00+05:30")
    )
    assert [at.isoformat() for at in kolkata] == [
        "2026-11-20T10:30:00+00:00",
        "2026-11-20T11:30:00+00:00",
    ]


def test_spaced_takes_the_most_that_fit() -> None:
    hours = hour_starts(
        NY, instant("2026-11-21T00:00:00-05:00"), instant("2026-11-22T00:00:00-05:00")
    )
    assert len(spaced(hours, 0)) == 24
    assert len(spaced(hours, 2)) == 12
    assert len(spaced(hours, 5)) == 5
    assert len(spaced(hours, 5, existing=["2026-11-21T12:00:00-05:00"])) == 4


def test_feasible_count_with_window_gap_and_existing() -> None:
    start, end = "2026-11-20T10:00:00-05:00", "2026-11-27T10:00:00-05:00"
    # Fri..Thu evenings, one a day at a 3-hour gap (18 and 19 are one hour apart).
    assert feasible_count(NY, start, end, 3, window=IG) == 7
    assert feasible_count(NY, start, end, 0.5, window=IG) == 14
    assert feasible_count(NY, start, end, 3, ["2026-11-22T00:30:00Z"], window=IG) == 6
    assert feasible_count(NY, start, end, 3, window=LI) == 3
    assert feasible_count(NY, start, end, 24 * 7) == 1
    # The spring-forward day holds 23 hourly slots, the fall-back day 25.
    assert feasible_count(BERLIN, "2027-03-28T00:00:00+01:00", "2027-03-29T00:00:00+02:00", 1) == 23
    assert feasible_count(NY, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 1) == 25


def test_window_hit_rate() -> None:
    slots = ["2026-11-21T18:00:00-05:00", "2026-11-22T19:00:00-05:00", "2026-11-23T12:00:00-05:00"]
    assert window_hit_rate(slots, IG, 3) == pytest.approx(2 / 3)
    assert window_hit_rate(slots, IG, 2) == 1.0  # only two fit the window: both hit
    assert window_hit_rate(slots[2:], IG, 3) == 0.0
    assert window_hit_rate(slots, IG, 0) is None
    assert window_hit_rate(["2026-11-21T18:00:00"], IG, 1) == 0.0


def test_count_honoured() -> None:
    assert count_honoured(3, 3, 10) == 1.0
    assert count_honoured(2, 3, 10) == pytest.approx(2 / 3)
    assert count_honoured(5, 30, 5) == 1.0  # all the window holds
    assert count_honoured(4, 3, 10) == 0.0
    assert count_honoured(0, 3, 10) == 0.0
    assert count_honoured(0, 3, 0) == 1.0


def test_summary_names_slot() -> None:
    slots = ["2026-11-21T18:00:00-05:00"]
    assert summary_names_slot("Post on Saturday evening.", slots, NY) == 1.0
    assert summary_names_slot("Post at 6 pm.", slots, NY) == 1.0
    assert summary_names_slot("Sat 21 Nov 18:00 works.", slots, NY) == 1.0
    assert summary_names_slot("Post whenever you like.", slots, NY) == 0.0
    assert summary_names_slot("Saturday.", slots, "Asia/Tokyo") == 0.0  # Sunday 08:00 there
    assert summary_names_slot("anything", [], NY) is None
