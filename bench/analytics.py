"""Benchmark: the analytics API's overview and engagement trends on the embedded engine.

An organization with 30 social accounts and two years of posts (one per account and day:
21,900 posts and analytics documents) is stored in a fresh embedded data dir, which is then
reopened as a server opens it. Then, for the last 30 days (the API's default) and for the
last 365, the overview and the engagement trends are answered ``--cold`` times with the
cache made stale before each (the organization's analytics version bumped, as a metrics
write does) and ``--cached`` times from the cache. Each figure is the answer as the routes
compute it (scope resolution, the version read, the queries or the cache, the timezone),
without HTTP.
Targets: p95 < 200 ms cold, < 20 ms cached; each line says whether it meets them.

    .venv/bin/python bench/analytics.py [--cold 5] [--cached 200] [--dir PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever is installed

from bson import ObjectId  # noqa: E402

from chorus.runtime import Runtime  # noqa: E402
from chorus.settings import Settings  # noqa: E402
from persistence.admin import OrganizationAdmin  # noqa: E402
from persistence.analytics_versions import bump_analytics_version  # noqa: E402
from persistence.models import Analytics, Post, SocialAccount  # noqa: E402
from persistence.models.analytics import Metrics, TimeData  # noqa: E402
from persistence.models.content import (  # noqa: E402
    AccountInfo,
    PlatformTarget,
    PostContent,
    Scheduling,
)
from persistence.models.organizations import OrganizationSettings  # noqa: E402
from persistence.repository import TenantRepository  # noqa: E402
from services.analytics.queries import Analytics as Answers  # noqa: E402
from services.analytics.scope import resolve_scope  # noqa: E402

ACCOUNTS = 30
DAYS = 730
PLATFORMS = ("instagram", "twitter", "linkedin", "facebook", "tiktok", "youtube")


def time_data(at: datetime) -> TimeData:
    return TimeData(
        recorded_at=at,
        date_bucket=datetime(at.year, at.month, at.day, tzinfo=UTC),
        hour_bucket=at.hour,
        day_of_week=at.weekday(),
        month=at.month,
        quarter=(at.month - 1) // 3 + 1,
    )


async def seed(runtime: Runtime, now: datetime) -> ObjectId:
    org = await OrganizationAdmin(runtime.db).create(
        "Bench Coffee", settings=OrganizationSettings(timezone="America/New_York")
    )
    rng = random.Random(7)
    accounts = [
        SocialAccount(
            organization_id=org.id,
            platform=PLATFORMS[i % len(PLATFORMS)],  # type: ignore[arg-type]
            account_info=AccountInfo(
                platform_id=f"acct-{i}", username=f"bench{i}", follower_count=1000 + 37 * i
            ),
        )
        for i in range(ACCOUNTS)
    ]
    await TenantRepository(runtime.db, SocialAccount).insert_many(org.id, accounts)
    posts, docs = [], []
    for day in range(DAYS):
        for account in accounts:
            at = now - timedelta(days=day, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            post = Post(
                organization_id=org.id,
                content=PostContent(text=f"post {day} {account.id}", hashtags=["#coffee"]),
                scheduling=Scheduling(status="published", published_at=at),
                platforms=[
                    PlatformTarget(
                        social_account_id=account.id, platform=account.platform, status="published"
                    )
                ],
            )
            reach = rng.randint(200, 5000)
            posts.append(post)
            docs.append(
                Analytics(
                    organization_id=org.id,
                    post_id=post.id,
                    social_account_id=account.id,
                    platform=account.platform,
                    metrics=Metrics(
                        likes=rng.randint(0, reach // 10),
                        comments=rng.randint(0, reach // 50),
                        shares=rng.randint(0, reach // 80),
                        saves=rng.randint(0, reach // 80),
                        impressions=reach * 2,
                        reach=reach,
                    ),
                    time_data=time_data(at),
                )
            )
    for start in range(0, len(posts), 2000):
        await TenantRepository(runtime.db, Post).insert_many(org.id, posts[start : start + 2000])
        await TenantRepository(runtime.db, Analytics).insert_many(
            org.id, docs[start : start + 2000]
        )
    await bump_analytics_version(runtime.db, org.id)
    return org.id


async def timed(
    call: Callable[[], Awaitable[Any]], times: int, before: Callable[[], Awaitable[Any]] | None
) -> list[float]:
    out = []
    for _ in range(times):
        if before is not None:
            await before()
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="chorus-bench-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        model="scripted",
        mongodb_uri=None,
        redis_url=None,
        chroma_url=None,
    )
    runtime = await Runtime.open(settings)
    try:
        started = time.perf_counter()
        org = await seed(runtime, datetime.now(UTC))
        print(
            f"seeded {ACCOUNTS} accounts x {DAYS} days = {ACCOUNTS * DAYS:,} posts and analytics "
            f"documents in {time.perf_counter() - started:.1f} s (embedded engine)"
        )
        # Served as a server serves them: from the store it opens at start (so the snapshot
        # of what the seeding wrote is not taken while answers are being timed).
        await runtime.close()
        runtime = await Runtime.open(settings)
        answers = Answers(runtime.db, runtime.cache)

        async def stale() -> None:
            await bump_analytics_version(runtime.db, org)

        print(
            f"{'answer':<34}{'cold p50':>10}{'cold p95':>10}{'cached p50':>12}{'cached p95':>12}"
            "  targets (p95 < 200 ms cold, < 20 ms cached)"
        )
        for days in (30, 365):
            for name in ("overview", "trends"):

                async def call(name: str = name, days: int = days) -> Any:
                    scope = await resolve_scope(runtime.db, org, default_days=days)
                    return await getattr(answers, name)(scope)

                cold = await timed(call, args.cold, stale)
                cached = await timed(call, args.cached, None)
                label = (
                    f"{name} ({'engagement trends' if name == 'trends' else 'overview'}), {days} d"
                )
                print(
                    f"{label:<34}{statistics.median(cold):>8.1f}ms{p95(cold):>8.1f}ms"
                    f"{statistics.median(cached):>10.2f}ms{p95(cached):>10.2f}ms"
                    f"  cold {'met' if p95(cold) < 200 else 'MISSED'},"
                    f" cached {'met' if p95(cached) < 20 else 'MISSED'}"
                )
    finally:
        await runtime.close()
        if not args.dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--cached", type=int, default=200)
    parser.add_argument("--dir", default=None, help="data dir to keep (default: a temp dir)")
    asyncio.run(main(parser.parse_args()))
