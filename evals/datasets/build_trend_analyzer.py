"""Builds ``trend_analyzer.v1.jsonl`` from the case specs below and the fixtures' stored data.

The specs (inputs, split, tags, why) are written by hand; the expectations are counted here,
in plain Python over the stored posts and analytics, independently of the analytics
aggregations the agent uses:

- ``volumes``: each tag's recent uses per ``platform:tag`` (``*`` for all platforms): posts
  first published (per network, or on any network for ``*``) in ``[NOW - days, NOW)``, a
  cross-posted post counted once, tags merged case- and '#'-insensitively;
- ``rising``: the planted tag (``services.demo.planted.TRENDING_HASHTAG``) where the data really
  shows it rising in the scope asked: at least 3 recent uses at twice or more its rate over
  the covered baseline (the up to 90 days before the window in which the fixture has any
  data; at least 7 such days). ``topK`` is 3 per platform scope;
- ``stale``: rows that are flat or fading in the data: at least 10 baseline uses and a recent
  rate no higher than the baseline's. None may rank above the rising tag.

Run ``.venv/bin/python -m evals.datasets.build_trend_analyzer``; it rewrites the file byte
for byte (the fixtures are seeded).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evals.cases import DATASETS_DIR, Case
from evals.cases import render_cases as render
from evals.env import eval_env
from evals.evaluators.trends import ALL, norm_tag
from persistence.models import Analytics, Post
from persistence.repository import TenantRepository
from services.demo.planted import TRENDING_HASHTAG

OUT = DATASETS_DIR / "trend_analyzer.v1.jsonl"
BASELINE_DAYS = 90
MIN_BASELINE_COVERAGE = 7
RISING_MIN_USES = 3
RISING_MIN_RATIO = 2.0
STALE_MIN_BASELINE_USES = 10
TOP_K_PER_SCOPE = 3
MAX_ROWS = 10  # the analyzer reports at most ten rows
PLANTED_FIXTURES = {"lumen", "trends_stale", "sched_dst_ny", "sched_dst_berlin", "sched_busy"}

# id, split, fixture, inputs, tags, note
SPECS: list[tuple[str, str, str, dict[str, Any], list[str], str]] = [
    # --- lumen: the demo brand; #coldbrewseason surges over the last 14 days
    (
        "lumen-1d",
        "dev",
        "lumen",
        {"days": 1},
        ["short_window"],
        "One day: a handful of uses; the planted tag is not judged, nothing may be overclaimed.",
    ),
    ("lumen-3d", "test", "lumen", {"days": 3}, ["short_window"], "Three days."),
    ("lumen-5d", "dev", "lumen", {"days": 5}, [], "Five days."),
    ("lumen-7d", "test", "lumen", {"days": 7}, [], "The default window."),
    (
        "lumen-7d-industry",
        "dev",
        "lumen",
        {"days": 7, "industry": "coffee"},
        [],
        "Industry given: the ranking does not change.",
    ),
    ("lumen-10d", "test", "lumen", {"days": 10}, [], "Ten days."),
    ("lumen-14d", "dev", "lumen", {"days": 14}, [], "The surge's own length."),
    (
        "lumen-21d",
        "test",
        "lumen",
        {"days": 21},
        ["long_window"],
        "Longer than the surge: still rising.",
    ),
    (
        "lumen-30d",
        "dev",
        "lumen",
        {"days": 30},
        ["long_window", "baseline_beyond_history"],
        "The agent's baseline (90 days before the window) reaches past the 90 days of data.",
    ),
    (
        "lumen-45d",
        "test",
        "lumen",
        {"days": 45},
        ["long_window", "baseline_beyond_history"],
        "Half the history is the window; the baseline is half empty.",
    ),
    (
        "lumen-60d",
        "test",
        "lumen",
        {"days": 60},
        ["long_window", "baseline_beyond_history"],
        "Two thirds of the history is the window.",
    ),
    (
        "lumen-90d",
        "dev",
        "lumen",
        {"days": 90},
        ["long_window", "baseline_beyond_history"],
        "The window is the whole history: no baseline, so no rise can be shown; no overclaiming.",
    ),
    (
        "lumen-ig-14d",
        "test",
        "lumen",
        {"days": 14, "platforms": ["instagram"]},
        ["platform_filter"],
        "Instagram only.",
    ),
    (
        "lumen-tt-14d",
        "dev",
        "lumen",
        {"days": 14, "platforms": ["tiktok"]},
        ["platform_filter"],
        "TikTok only.",
    ),
    (
        "lumen-li-14d",
        "test",
        "lumen",
        {"days": 14, "platforms": ["linkedin"]},
        ["platform_filter"],
        "LinkedIn only.",
    ),
    (
        "lumen-fb-14d",
        "dev",
        "lumen",
        {"days": 14, "platforms": ["facebook"]},
        ["platform_filter"],
        "Facebook only.",
    ),
    (
        "lumen-tw-14d",
        "test",
        "lumen",
        {"days": 14, "platforms": ["twitter"]},
        ["platform_filter"],
        "Twitter only.",
    ),
    (
        "lumen-ig-tt-14d",
        "dev",
        "lumen",
        {"days": 14, "platforms": ["instagram", "tiktok"]},
        ["platform_filter"],
        "Two platforms, rows per platform.",
    ),
    (
        "lumen-tw-li-30d",
        "test",
        "lumen",
        {"days": 30, "platforms": ["twitter", "linkedin"]},
        ["platform_filter", "long_window"],
        "Two platforms over a month.",
    ),
    (
        "lumen-ig-7d",
        "dev",
        "lumen",
        {"days": 7, "platforms": ["instagram"]},
        ["platform_filter", "short_window"],
        "Instagram alone over a week: thin per platform.",
    ),
    # --- trends_stale: two tags that were big months ago
    (
        "stale-7d",
        "test",
        "trends_stale",
        {"days": 7},
        ["stale_tag"],
        "#pumpkinspice and #holidayblend were everywhere 2-3 months ago; neither may lead.",
    ),
    ("stale-14d", "dev", "trends_stale", {"days": 14}, ["stale_tag"], "Two weeks."),
    (
        "stale-30d",
        "test",
        "trends_stale",
        {"days": 30},
        ["stale_tag", "long_window"],
        "A month: the stale tags' past sits in a baseline the agent stretches past the data.",
    ),
    (
        "stale-ig-14d",
        "dev",
        "trends_stale",
        {"days": 14, "platforms": ["instagram"]},
        ["stale_tag", "platform_filter"],
        "Instagram only.",
    ),
    (
        "stale-fb-tw-14d",
        "test",
        "trends_stale",
        {"days": 14, "platforms": ["facebook", "twitter"]},
        ["stale_tag", "platform_filter"],
        "Facebook and Twitter.",
    ),
    # --- other timezones and DST-adjacent clocks
    (
        "dstny-7d",
        "dev",
        "sched_dst_ny",
        {"days": 7},
        ["dst"],
        "Seeded three days before the US fall-back.",
    ),
    ("dstny-14d", "test", "sched_dst_ny", {"days": 14}, ["dst"], "Two weeks."),
    (
        "berlin-7d",
        "test",
        "sched_dst_berlin",
        {"days": 7},
        ["dst", "other_timezone"],
        "A Berlin organization before the EU spring-forward.",
    ),
    (
        "berlin-li-14d",
        "dev",
        "sched_dst_berlin",
        {"days": 14, "platforms": ["linkedin"]},
        ["other_timezone", "platform_filter"],
        "LinkedIn only, Berlin.",
    ),
    ("busy-10d", "dev", "sched_busy", {"days": 10}, [], "Another seed of the demo brand."),
    # --- thin history: no trends to invent
    (
        "thin-7d",
        "test",
        "trends_thin",
        {"days": 7},
        ["thin_history", "other_timezone"],
        "About fifteen posts in 90 days (Kolkata): nothing may be presented as a confident trend.",
    ),
    ("thin-14d", "dev", "trends_thin", {"days": 14}, ["thin_history"], "Thin, two weeks."),
    (
        "thin-30d",
        "test",
        "trends_thin",
        {"days": 30},
        ["thin_history", "long_window"],
        "Thin, a month.",
    ),
    (
        "thin-ig-30d",
        "dev",
        "trends_thin",
        {"days": 30, "platforms": ["instagram"]},
        ["thin_history", "platform_filter"],
        "Thin and filtered.",
    ),
    (
        "thin-90d",
        "test",
        "trends_thin",
        {"days": 90},
        ["thin_history", "long_window"],
        "Thin, whole history as the window.",
    ),
    (
        "empty-7d",
        "dev",
        "empty",
        {"days": 7},
        ["thin_history", "no_data"],
        "No posts: no trends, and a summary that names no tag.",
    ),
    ("empty-30d", "test", "empty", {"days": 30}, ["thin_history", "no_data"], "No posts."),
    (
        "empty-tt-14d",
        "test",
        "empty",
        {"days": 14, "platforms": ["tiktok"]},
        ["thin_history", "no_data", "platform_filter"],
        "No posts, filtered.",
    ),
]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def first_published(analytics: list[Analytics], platform: str | None) -> dict[Any, datetime]:
    """Each post's first recorded publication, on ``platform`` or on any network."""
    out: dict[Any, datetime] = {}
    for doc in analytics:
        if platform is not None and doc.platform != platform:
            continue
        at = _aware(doc.time_data.recorded_at)
        if doc.post_id not in out or at < out[doc.post_id]:
            out[doc.post_id] = at
    return out


def scope_counts(
    published: dict[Any, datetime], tags: dict[Any, set[str]], start: datetime, end: datetime
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for post_id, at in published.items():
        if start <= at < end:
            counts.update(tags.get(post_id, set()))
    return counts


def expectations(
    fixture: str,
    now: datetime,
    inputs: dict[str, Any],
    analytics: list[Analytics],
    tags: dict[Any, set[str]],
) -> dict[str, Any]:
    days = int(inputs.get("days", 7))
    scopes: list[str | None] = list(inputs.get("platforms") or []) or [None]
    recent_start = now - timedelta(days=days)
    first_data = min((_aware(a.time_data.recorded_at) for a in analytics), default=now)
    base_start = max(recent_start - timedelta(days=BASELINE_DAYS), first_data)
    covered = max(0.0, (recent_start - base_start).total_seconds() / 86400)
    volumes: dict[str, int] = {}
    stale: list[str] = []
    rising = False
    for scope in scopes:
        published = first_published(analytics, scope)
        recent = scope_counts(published, tags, recent_start, now)
        base = scope_counts(published, tags, base_start, recent_start)
        prefix = scope or ALL
        for tag, uses in sorted(recent.items()):
            volumes[f"{prefix}:{tag}"] = uses
        if covered < MIN_BASELINE_COVERAGE:
            continue
        for tag in sorted(set(recent) | set(base)):
            recent_rate, base_rate = recent[tag] / days, base[tag] / covered
            if base[tag] >= STALE_MIN_BASELINE_USES and recent_rate <= base_rate:
                stale.append(f"{prefix}:{tag}")
        planted = recent[TRENDING_HASHTAG]
        if (
            fixture in PLANTED_FIXTURES
            and planted >= RISING_MIN_USES
            and planted / days >= RISING_MIN_RATIO * base[TRENDING_HASHTAG] / covered
        ):
            rising = True
    return {
        "rising": TRENDING_HASHTAG if rising else None,
        "topK": min(MAX_ROWS, TOP_K_PER_SCOPE * len(scopes)),
        "stale": stale,
        "volumes": volumes,
        "baselineDaysCovered": round(covered, 2),
    }


async def build() -> list[Case]:
    cases = []
    data: dict[str, tuple[list[Analytics], dict[Any, set[str]]]] = {}  # read once per fixture
    async with eval_env("scripted") as env:
        for case_id, split, fixture, inputs, case_tags, note in SPECS:
            org = await env.fixture(fixture)
            if fixture not in data:
                db = env.runtime.db
                posts = await TenantRepository(db, Post).find(org.org_id, {})
                data[fixture] = (
                    await TenantRepository(db, Analytics).find(org.org_id, {}),
                    {
                        p.id: {norm_tag(t) for t in p.content.hashtags if t.strip("# ")}
                        for p in posts
                    },
                )
            analytics, tags = data[fixture]
            cases.append(
                Case(
                    id=f"trend-{case_id}",
                    split=split,  # type: ignore[arg-type]
                    fixture=fixture,
                    inputs=inputs,
                    expect=expectations(fixture, org.now, inputs, analytics, tags),
                    tags=case_tags,
                    note=note,
                )
            )
    return cases


def write(cases: list[Case], path: Path = OUT) -> None:
    path.write_text(render(cases), encoding="utf-8")


if __name__ == "__main__":
    write(asyncio.run(build()))
    print(f"wrote {len(SPECS)} cases to {OUT}")
