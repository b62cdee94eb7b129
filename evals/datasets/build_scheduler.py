"""Builds ``scheduler.v1.jsonl`` from the case specs below and the fixtures' stored data.

The specs (inputs, split, tags, why) are written by hand; the expectations are derived: the
request's window resolved the way the schema defines it (``start`` or the fixture's NOW; a
naive start is wall-clock time in the request's timezone, itself the organization's when not
given; ``days`` local calendar days later), the posts already scheduled on the platform near
that window (read from the built fixture), and the planted best windows of
``services.demo.planted`` in the timezone the fixture's data was planted in.

Run ``.venv/bin/python -m evals.datasets.build_scheduler``; it rewrites the file byte for byte
(fixture data is seeded, so the scheduled posts come out the same every time).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from evals.cases import DATASETS_DIR, Case
from evals.cases import render_cases as render
from evals.env import eval_env
from persistence.models import Post
from persistence.repository import TenantRepository
from services.demo.planted import PLANTED

OUT = DATASETS_DIR / "scheduler.v1.jsonl"
NY, BERLIN = "America/New_York", "Europe/Berlin"
# The organization's timezone per fixture, and where its planted peaks live (None: no peaks,
# the data is too thin or absent to hold any).
ORG_TZ = {
    "lumen": NY,
    "sched_busy": NY,
    "sched_dst_ny": NY,
    "sched_dst_berlin": BERLIN,
    "trends_thin": "Asia/Kolkata",
    "empty": BERLIN,
}
PEAKS_TZ: dict[str, str | None] = {
    "lumen": NY,
    "sched_busy": NY,
    "sched_dst_ny": NY,
    "sched_dst_berlin": BERLIN,
    "trends_thin": None,
    "empty": None,
}
_LI_DAYS = PLANTED["weekly"]["linkedin"]["strong_days"]
PEAKS: dict[str, tuple[list[int], list[int] | None]] = {
    "instagram": (PLANTED["best_hours"]["instagram"]["local_hours"], None),
    "linkedin": (PLANTED["best_hours"]["linkedin"]["local_hours"], _LI_DAYS),
}

# id, split, fixture, inputs, tags, note
SPECS: list[tuple[str, str, str, dict[str, Any], list[str], str]] = [
    # --- lumen: the demo brand, New York, NOW Friday 2026-11-20 10:00 EST
    (
        "ig-default",
        "dev",
        "lumen",
        {"platform": "instagram", "count": 3},
        ["org_timezone"],
        "No timezone given: the organization's (New York), not the schema's UTC.",
    ),
    (
        "ig-ny",
        "test",
        "lumen",
        {"platform": "instagram", "count": 3, "timezone": NY},
        [],
        "The basic request: three Instagram slots in the 18-19 peak.",
    ),
    (
        "ig-5",
        "test",
        "lumen",
        {"platform": "instagram", "count": 5, "timezone": NY},
        [],
        "Five slots; the weekend peaks are taken by scheduled posts.",
    ),
    (
        "ig-7-gap12",
        "dev",
        "lumen",
        {"platform": "instagram", "count": 7, "timezone": NY, "minGapHours": 12},
        ["over_capacity"],
        "More slots than free peak evenings: the rest may fall outside.",
    ),
    (
        "ig-14d-gap24",
        "test",
        "lumen",
        {"platform": "instagram", "count": 4, "timezone": NY, "days": 14, "minGapHours": 24},
        ["long_window"],
        "Two weeks, one post a day at most.",
    ),
    (
        "li-3",
        "dev",
        "lumen",
        {"platform": "linkedin", "count": 3, "timezone": NY},
        [],
        "LinkedIn's 08-09 peak on Tuesday-Thursday.",
    ),
    (
        "li-3-gap24",
        "test",
        "lumen",
        {"platform": "linkedin", "count": 3, "timezone": NY, "minGapHours": 24},
        [],
        "One a day: Tuesday, Wednesday, Thursday mornings.",
    ),
    (
        "li-5-14d",
        "dev",
        "lumen",
        {"platform": "linkedin", "count": 5, "timezone": NY, "days": 14},
        ["long_window"],
        "Two weeks hold six peak mornings.",
    ),
    (
        "tt-3",
        "test",
        "lumen",
        {"platform": "tiktok", "count": 3, "timezone": NY},
        [],
        "No planted peak hour on TikTok: constraints only.",
    ),
    (
        "tt-10-gap6",
        "dev",
        "lumen",
        {"platform": "tiktok", "count": 10, "timezone": NY, "minGapHours": 6},
        [],
        "Many slots, wide gap.",
    ),
    (
        "fb-3",
        "dev",
        "lumen",
        {"platform": "facebook", "count": 3},
        ["org_timezone"],
        "Facebook in the organization's timezone.",
    ),
    (
        "fb-5-gap8",
        "test",
        "lumen",
        {"platform": "facebook", "count": 5, "timezone": NY, "minGapHours": 8},
        [],
        "Facebook.",
    ),
    (
        "tw-5-gap2",
        "dev",
        "lumen",
        {"platform": "twitter", "count": 5, "timezone": NY, "minGapHours": 2},
        [],
        "Twitter.",
    ),
    (
        "tw-12-2d-gap1",
        "test",
        "lumen",
        {"platform": "twitter", "count": 12, "timezone": NY, "days": 2, "minGapHours": 1},
        [],
        "Dense posting over two days.",
    ),
    (
        "ig-tokyo",
        "test",
        "lumen",
        {"platform": "instagram", "count": 3, "timezone": "Asia/Tokyo"},
        ["other_timezone"],
        "Asked in Tokyo time for a New York audience: the peak is still 18-19 New York time "
        "(08-09 next morning in Tokyo) and every slot carries +09:00.",
    ),
    (
        "li-london",
        "dev",
        "lumen",
        {"platform": "linkedin", "count": 3, "timezone": "Europe/London"},
        ["other_timezone"],
        "Asked in London time: the New York morning peak is 13-14 in London.",
    ),
    (
        "ig-start-naive",
        "test",
        "lumen",
        {
            "platform": "instagram",
            "count": 2,
            "timezone": NY,
            "start": "2026-11-23T00:00:00",
            "days": 2,
        },
        ["explicit_start"],
        "A naive start is New York wall-clock time.",
    ),
    (
        "li-start-aware",
        "dev",
        "lumen",
        {"platform": "linkedin", "count": 2, "start": "2026-11-24T06:00:00-05:00", "days": 3},
        ["explicit_start"],
        "An aware start, three days.",
    ),
    (
        "tw-30-3d-gap4",
        "dev",
        "lumen",
        {"platform": "twitter", "count": 30, "timezone": NY, "days": 3, "minGapHours": 4},
        ["over_capacity"],
        "Asks for more than three days hold at a four-hour gap.",
    ),
    (
        "tt-20-1d-gap2",
        "test",
        "lumen",
        {"platform": "tiktok", "count": 20, "timezone": NY, "days": 1, "minGapHours": 2},
        ["over_capacity"],
        "Twelve two-hour slots fit a day, not twenty.",
    ),
    # --- sched_dst_ny: NOW Thursday 2026-10-29 10:00 EDT; fall back on Sunday 2026-11-01
    (
        "dstny-ig-3",
        "test",
        "sched_dst_ny",
        {"platform": "instagram", "count": 3},
        ["dst", "org_timezone"],
        "The week crosses the fall-back: -04:00 then -05:00.",
    ),
    (
        "dstny-ig-weekend",
        "dev",
        "sched_dst_ny",
        {
            "platform": "instagram",
            "count": 2,
            "start": "2026-10-31T00:00:00",
            "days": 2,
            "minGapHours": 12,
        },
        ["dst", "existing_posts"],
        "The change weekend: Sunday evening is taken by a scheduled post (19:15 EST), so one "
        "peak slot fits, on Saturday (EDT).",
    ),
    (
        "dstny-tw-weekend",
        "test",
        "sched_dst_ny",
        {
            "platform": "twitter",
            "count": 4,
            "start": "2026-10-31T00:00:00",
            "days": 2,
            "minGapHours": 8,
        },
        ["dst"],
        "Saturday's slots are EDT (-04:00), Sunday's EST (-05:00).",
    ),
    (
        "dstny-li-3",
        "test",
        "sched_dst_ny",
        {"platform": "linkedin", "count": 3, "timezone": NY},
        ["dst"],
        "LinkedIn mornings on the EST side of the change.",
    ),
    (
        "dstny-tw-24",
        "dev",
        "sched_dst_ny",
        {
            "platform": "twitter",
            "count": 24,
            "timezone": NY,
            "start": "2026-11-01T00:00:00",
            "days": 1,
            "minGapHours": 1,
        },
        ["dst", "ambiguous_hour"],
        "The 25-hour day: 01:00 happens twice; 24 slots an hour apart in real time.",
    ),
    (
        "dstny-fb-4",
        "test",
        "sched_dst_ny",
        {"platform": "facebook", "count": 4, "timezone": NY},
        ["dst"],
        "Facebook over the change.",
    ),
    (
        "dstny-tt-day",
        "test",
        "sched_dst_ny",
        {
            "platform": "tiktok",
            "count": 3,
            "timezone": NY,
            "start": "2026-11-01T00:00:00",
            "days": 1,
            "minGapHours": 6,
        },
        ["dst"],
        "Only the change day.",
    ),
    # --- sched_dst_berlin: NOW Thursday 2027-03-25 10:00 CET; spring forward 2027-03-28
    (
        "dstber-ig-3",
        "dev",
        "sched_dst_berlin",
        {"platform": "instagram", "count": 3},
        ["dst", "org_timezone", "other_timezone"],
        "A Berlin organization: no timezone asked, Berlin's offsets expected (+01:00, +02:00).",
    ),
    (
        "dstber-fb-weekend",
        "test",
        "sched_dst_berlin",
        {
            "platform": "facebook",
            "count": 4,
            "timezone": BERLIN,
            "start": "2027-03-27T00:00:00",
            "days": 2,
            "minGapHours": 8,
        },
        ["dst"],
        "Saturday's slots are CET (+01:00), Sunday's CEST (+02:00). (The Instagram peaks of this "
        "weekend are already taken by scheduled posts.)",
    ),
    (
        "dstber-tt-gapstart",
        "dev",
        "sched_dst_berlin",
        {
            "platform": "tiktok",
            "count": 3,
            "timezone": BERLIN,
            "start": "2027-03-28T02:30:00",
            "days": 1,
        },
        ["dst", "missing_hour"],
        "The start is a wall-clock time that never happens (02:30 on the spring-forward day); "
        "read with the earlier offset, it is 03:30 CEST.",
    ),
    (
        "dstber-li-3",
        "dev",
        "sched_dst_berlin",
        {"platform": "linkedin", "count": 3, "timezone": BERLIN},
        ["dst", "other_timezone"],
        "LinkedIn mornings after the change, Berlin time.",
    ),
    (
        "dstber-tw-24",
        "test",
        "sched_dst_berlin",
        {
            "platform": "twitter",
            "count": 24,
            "timezone": BERLIN,
            "start": "2027-03-28T00:00:00",
            "days": 1,
            "minGapHours": 1,
        },
        ["dst", "missing_hour", "over_capacity"],
        "The 23-hour day: 02:00 does not exist, so 23 slots at most.",
    ),
    (
        "dstber-tt-5",
        "test",
        "sched_dst_berlin",
        {"platform": "tiktok", "count": 5, "timezone": BERLIN},
        ["dst", "other_timezone"],
        "TikTok over the change.",
    ),
    (
        "dstber-fb-10d",
        "dev",
        "sched_dst_berlin",
        {"platform": "facebook", "count": 3, "days": 10},
        ["dst", "org_timezone"],
        "Ten days, organization timezone.",
    ),
    # --- sched_busy: the peaks of the coming week already hold scheduled posts
    (
        "busy-ig-3",
        "test",
        "sched_busy",
        {"platform": "instagram", "count": 3, "timezone": NY},
        ["existing_posts"],
        "Mon-Thu 18:30 are taken: the free peak evenings are fewer.",
    ),
    (
        "busy-li-3",
        "dev",
        "sched_busy",
        {"platform": "linkedin", "count": 3, "timezone": NY},
        ["existing_posts"],
        "Tue and Wed 08:30 are taken: only Thursday's peak is free.",
    ),
    (
        "busy-ig-5-gap6",
        "dev",
        "sched_busy",
        {"platform": "instagram", "count": 5, "timezone": NY, "minGapHours": 6},
        ["existing_posts"],
        "A wider gap around the planted posts.",
    ),
    (
        "busy-li-2-gap12",
        "test",
        "sched_busy",
        {"platform": "linkedin", "count": 2, "timezone": NY, "minGapHours": 12},
        ["existing_posts"],
        "Twelve hours clear of the 08:30 posts.",
    ),
    # --- thin history: no planted peaks to hit, constraints must still hold
    (
        "thin-ig-3",
        "test",
        "trends_thin",
        {"platform": "instagram", "count": 3},
        ["thin_history", "half_hour_offset", "org_timezone"],
        "Kolkata (+05:30) organization with ~15 posts: the typical week, the right offset.",
    ),
    (
        "thin-li-3",
        "dev",
        "trends_thin",
        {"platform": "linkedin", "count": 3},
        ["thin_history", "half_hour_offset"],
        "Thin LinkedIn history.",
    ),
    (
        "empty-tw-3",
        "dev",
        "empty",
        {"platform": "twitter", "count": 3},
        ["thin_history", "no_data", "org_timezone"],
        "No data at all, Berlin organization.",
    ),
    (
        "empty-ig-la",
        "test",
        "empty",
        {"platform": "instagram", "count": 3, "timezone": "America/Los_Angeles"},
        ["thin_history", "no_data", "other_timezone"],
        "No data, asked in Los Angeles time.",
    ),
]


def resolve_window(
    fixture_now: datetime, inputs: dict[str, Any], timezone: str
) -> tuple[datetime, datetime]:
    tz = ZoneInfo(timezone)
    start = inputs.get("start")
    if start is None:
        begin = fixture_now.astimezone(tz)
    else:
        begin = datetime.fromisoformat(start)
        begin = begin.replace(tzinfo=tz) if begin.tzinfo is None else begin.astimezone(tz)
    end = (begin + timedelta(days=int(inputs.get("days", 7)))).astimezone(UTC).astimezone(tz)
    return begin, end


async def build() -> list[Case]:
    cases = []
    async with eval_env("scripted") as env:
        for case_id, split, fixture, inputs, tags, note in SPECS:
            org = await env.fixture(fixture)
            timezone = inputs.get("timezone", ORG_TZ[fixture])
            start, end = resolve_window(org.now, inputs, timezone)
            gap = float(inputs.get("minGapHours", 3))
            margin = timedelta(hours=gap)
            posts = await TenantRepository(env.runtime.db, Post).find(
                org.org_id,
                {
                    "scheduling.status": "scheduled",
                    "platforms.platform": inputs["platform"],
                    "scheduling.scheduledAt": {"$gte": start - margin, "$lt": end + margin},
                },
            )
            existing = sorted(
                p.scheduling.scheduled_at.astimezone(UTC)
                for p in posts
                if p.scheduling.scheduled_at
            )
            peaks_tz = PEAKS_TZ[fixture]
            window = None
            if peaks_tz and inputs["platform"] in PEAKS:
                hours, weekdays = PEAKS[inputs["platform"]]
                window = {"timezone": peaks_tz, "hours": hours, "weekdays": weekdays}
            expect = {
                "timezone": timezone,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "count": int(inputs.get("count", 3)),
                "minGapHours": gap,
                "existing": [e.isoformat().replace("+00:00", "Z") for e in existing],
                "window": window,
            }
            cases.append(
                Case(
                    id=f"sched-{case_id}",
                    split=split,  # type: ignore[arg-type]
                    fixture=fixture,
                    inputs=inputs,
                    expect=expect,
                    tags=tags,
                    note=note,
                )
            )
    return cases


def write(cases: list[Case], path: Path = OUT) -> None:
    path.write_text(render(cases), encoding="utf-8")


if __name__ == "__main__":
    write(asyncio.run(build()))
    print(f"wrote {len(SPECS)} cases to {OUT}")
