"""Writes ``performance_tracker.v1.jsonl``: run ``.venv/bin/python -m
evals.datasets.build_performance_tracker`` and the file is reproduced byte for byte.

The expectations come from the planted facts (``services.demo.planted``: viral posts, the
delivery incident) placed on the calendar of the fixture's clock in the brand's timezone, and
from the demo generator's own analytics (same seed, same clock as the ``lumen`` fixture), so
an event is expected only where the data holds it: inside the requested window of local days,
and, for a platform-filtered report, on a platform that had analytics that day. A window with
no analytics for the requested platforms is expected to be reported as thin.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId

from evals.cases import render_rows
from evals.fixtures import empty, lumen
from services.demo.generate import Team, generate
from services.demo.planted import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    INCIDENT_DAYS_AGO,
    PROFILES,
    TZ,
    VIRAL_POSTS,
)

OUT = Path(__file__).parent / "performance_tracker.v1.jsonl"


@dataclass
class Spec:
    id: str
    days: int
    platforms: list[str] | None = None
    fixture: str = "lumen"
    tags: list[str] = field(default_factory=list)
    note: str = ""


# Split by hand so that every kind of hard case is in both dev and test.
DEV: list[Spec] = [
    Spec(
        "perf-all-7d",
        7,
        tags=["window-7", "no-planted-events"],
        note="a quiet week: no planted event",
    ),
    Spec(
        "perf-all-30d",
        30,
        tags=["window-30", "incident", "dst"],
        note="the incident straddles the DST change (Nov 1)",
    ),
    Spec(
        "perf-all-90d",
        90,
        tags=["window-90", "viral", "incident"],
        note="all four viral posts and the incident",
    ),
    Spec("perf-instagram-30d", 30, ["instagram"], tags=["platform-filter", "incident"]),
    Spec(
        "perf-tiktok-90d",
        90,
        ["tiktok"],
        tags=["platform-filter", "viral", "window-90"],
        note="the latte-art video 74 days ago",
    ),
    Spec(
        "perf-twitter-60d",
        60,
        ["twitter"],
        tags=["platform-filter", "viral", "window-60"],
        note="the hot take 41 days ago on X",
    ),
    Spec(
        "perf-linkedin-30d",
        30,
        ["linkedin"],
        tags=["platform-filter", "incident"],
        note="LinkedIn only sees the sentiment dip",
    ),
    Spec(
        "perf-ig-tiktok-60d",
        60,
        ["instagram", "tiktok"],
        tags=["platform-filter", "multi-platform", "viral"],
    ),
    Spec(
        "perf-all-20d",
        20,
        tags=["boundary", "incident"],
        note="window ends on day 19: the incident's second day only",
    ),
    Spec("perf-all-1d", 1, tags=["thin-window"], note="today only: too few days for anomalies"),
    Spec(
        "perf-all-120d",
        120,
        tags=["partial-history", "long-window"],
        note="longer than the 90 days of history",
    ),
    Spec(
        "perf-youtube-30d",
        30,
        ["youtube"],
        tags=["thin-history", "platform-filter"],
        note="a platform with no posts",
    ),
    Spec("perf-empty-30d", 30, fixture="empty", tags=["thin-history", "empty-fixture"]),
    Spec(
        "perf-empty-ig-7d",
        7,
        ["instagram"],
        fixture="empty",
        tags=["thin-history", "empty-fixture", "window-7"],
    ),
    Spec(
        "perf-facebook-45d",
        45,
        ["facebook"],
        tags=["platform-filter", "viral", "incident"],
        note="the restoration video 33 days ago",
    ),
    Spec(
        "perf-all-34d",
        34,
        tags=["boundary", "viral"],
        note="the facebook viral post is on the window's first day",
    ),
    Spec("perf-all-3d", 3, tags=["thin-window", "window-3"]),
]
TEST: list[Spec] = [
    Spec("perf-all-14d", 14, tags=["window-14", "no-planted-events"]),
    Spec("perf-all-60d", 60, tags=["window-60", "viral", "incident", "dst"]),
    Spec("perf-all-21d", 21, tags=["boundary", "incident", "dst"], note="both incident days, just"),
    Spec(
        "perf-instagram-90d",
        90,
        ["instagram"],
        tags=["platform-filter", "viral", "window-90"],
        note="the roastery cat 58 days ago",
    ),
    Spec("perf-tiktok-30d", 30, ["tiktok"], tags=["platform-filter", "incident"]),
    Spec("perf-twitter-90d", 90, ["twitter"], tags=["platform-filter", "viral", "incident"]),
    Spec("perf-facebook-90d", 90, ["facebook"], tags=["platform-filter", "viral", "incident"]),
    Spec("perf-linkedin-90d", 90, ["linkedin"], tags=["platform-filter", "window-90", "incident"]),
    Spec(
        "perf-tw-fb-90d",
        90,
        ["twitter", "facebook"],
        tags=["platform-filter", "multi-platform", "viral"],
    ),
    Spec(
        "perf-li-ig-14d",
        14,
        ["linkedin", "instagram"],
        tags=["platform-filter", "multi-platform", "window-14"],
    ),
    Spec(
        "perf-all-42d",
        42,
        tags=["boundary", "viral", "incident"],
        note="the hot take sits on day 41, the window's first",
    ),
    Spec("perf-all-2d", 2, tags=["thin-window"]),
    Spec(
        "perf-all-365d",
        365,
        tags=["partial-history", "long-window"],
        note="a year asked, 90 days held",
    ),
    Spec("perf-youtube-90d", 90, ["youtube"], tags=["thin-history", "platform-filter"]),
    Spec(
        "perf-empty-90d", 90, fixture="empty", tags=["thin-history", "empty-fixture", "window-90"]
    ),
    Spec(
        "perf-empty-tw-14d",
        14,
        ["twitter"],
        fixture="empty",
        tags=["thin-history", "empty-fixture"],
    ),
    Spec(
        "perf-ig-youtube-30d",
        30,
        ["instagram", "youtube"],
        tags=["platform-filter", "multi-platform", "incident"],
        note="one platform with data, one without",
    ),
]


@functools.cache
def _calendar(now: datetime) -> tuple[date, dict[date, set[str]], list[tuple[datetime, str]]]:
    """Today (local), the platforms with analytics on each local day, and every analytics
    record's time and platform, as the demo generator makes them for the fixture's clock."""
    team = Team(ObjectId(), ObjectId(), ObjectId(), {p: ObjectId() for p in PROFILES})
    _, analytics = generate(random.Random(DEFAULT_SEED), team, days=DEFAULT_DAYS, now=now)
    by_day: dict[date, set[str]] = {}
    records: list[tuple[datetime, str]] = []
    for doc in analytics:
        at = doc.time_data.recorded_at
        by_day.setdefault(at.astimezone(TZ).date(), set()).add(doc.platform)
        records.append((at, doc.platform))
    return now.astimezone(TZ).date(), by_day, records


def _expect(spec: Spec) -> dict[str, Any]:
    now = lumen.NOW if spec.fixture == "lumen" else empty.NOW
    if spec.fixture == "empty":
        return {"anomalies": [], "thin": True}
    today, by_day, records = _calendar(now)
    wanted = set(spec.platforms) if spec.platforms else None
    in_window = [
        p
        for at, p in records
        if now - timedelta(days=spec.days) <= at < now and (wanted is None or p in wanted)
    ]
    events: list[dict[str, Any]] = []
    for days_ago, platform, *_ in VIRAL_POSTS:
        if days_ago < spec.days and (wanted is None or platform in wanted):
            events.append(
                {
                    "day": (today - timedelta(days=days_ago)).isoformat(),
                    "kind": "viral",
                    "platform": platform,
                }
            )
    for days_ago in INCIDENT_DAYS_AGO:
        day = today - timedelta(days=days_ago)
        if days_ago >= spec.days:
            continue
        if wanted is None:
            events.append({"day": day.isoformat(), "kind": "incident", "platform": None})
            continue
        for platform in sorted(wanted & by_day.get(day, set())):
            events.append({"day": day.isoformat(), "kind": "incident", "platform": platform})
    events.sort(key=lambda e: (e["day"], e["kind"], e["platform"] or ""))
    return {"anomalies": events, "thin": not in_window}


def _case(spec: Spec, split: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {"days": spec.days}
    if spec.platforms:
        inputs["platforms"] = spec.platforms
    return {
        "id": spec.id,
        "split": split,
        "fixture": spec.fixture,
        "inputs": inputs,
        "data": {},
        "expect": _expect(spec),
        "tags": spec.tags,
        "note": spec.note or None,
    }


def build() -> str:
    rows = [_case(s, "dev") for s in DEV] + [_case(s, "test") for s in TEST]
    return render_rows(rows, sort_keys=True)


if __name__ == "__main__":
    OUT.write_text(build(), encoding="utf-8")
    print(f"wrote {OUT}")
