"""Benchmark: the content workspace's calendar and filtered lists on the embedded engine.

An organization with 50,000 posts over two years on 30 accounts (and a second, small
organization beside it), with the indexes of ``persistence.indexes``. Measures, through the
same service calls the API makes (``services.workspace.listing``):

* the calendar of one month, in the organization's timezone (Europe/Berlin);
* the same, serialized to the JSON body GET /api/posts/calendar answers;
* the list filtered by status and platform, newest first, one page of 50;
* the list filtered by account and a date range, by time, one page of 50;
* the list filtered by tag, one page of 50;
* the second page of the status list (a cursor).

and prints p50 / p95 / max in milliseconds for each, over ``--runs`` calls each on
different months and accounts. Target: p95 < 100 ms for every query.

    .venv/bin/python bench/workspace.py [--posts 50000] [--accounts 30] [--runs 40]
                                        [--default-gc]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever is installed

from bson import ObjectId  # noqa: E402

from api.routes.post_schemas import calendar_json  # noqa: E402
from chorus.runtime import tune_gc  # noqa: E402
from persistence.admin import OrganizationAdmin  # noqa: E402
from persistence.embedded_mongo import EmbeddedMongo  # noqa: E402
from persistence.indexes import ensure_indexes  # noqa: E402
from persistence.models import Post  # noqa: E402
from persistence.models.content import (  # noqa: E402
    PlatformTarget,
    PostContent,
    Scheduling,
)
from persistence.models.organizations import OrganizationSettings  # noqa: E402
from services.workspace import listing  # noqa: E402

PLATFORMS = ("twitter", "linkedin", "instagram", "facebook", "bluesky", "tiktok")
STATUSES = ("published", "published", "published", "scheduled", "draft", "failed")
TAGS = ("launch", "tips", "hiring", "events", "recipes", "behind-the-scenes")
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DAYS = 730


def make_posts(org: ObjectId, accounts: list[tuple[ObjectId, str]], count: int) -> list[Post]:
    rng = random.Random(7)
    posts = []
    for i in range(count):
        account, platform = accounts[i % len(accounts)]
        when = START + dt.timedelta(seconds=rng.randrange(DAYS * 86400))
        status = STATUSES[rng.randrange(len(STATUSES))]
        posts.append(
            Post(
                organization_id=org,
                content=PostContent(
                    text=f"Post {i}: our cold brew, the {TAGS[i % len(TAGS)]} edition.",
                    hashtags=["coffee", "coldbrew"],
                ),
                platforms=[PlatformTarget(social_account_id=account, platform=platform)],  # type: ignore[arg-type]
                scheduling=Scheduling(status=status, scheduled_at=when),  # type: ignore[arg-type]
                tags=[TAGS[i % len(TAGS)]],
            )
        )
    return posts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(runs: int, call: Callable[[int], Awaitable[Any]]) -> tuple[list[float], int]:
    await call(0)  # warm up
    times, size = [], 0
    for i in range(runs):
        started = time.perf_counter()
        result = await call(i)
        times.append((time.perf_counter() - started) * 1000)
        size = result
    return times, size


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep Python's default collector thresholds instead of the server's",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        engine = EmbeddedMongo(Path(tmp) / "documents", snapshot_interval=0, journal=False)
        db = engine.async_client["chorus"]
        await ensure_indexes(db)
        org = await OrganizationAdmin(db).create(
            "Bench Coffee", settings=OrganizationSettings(timezone="Europe/Berlin")
        )
        accounts = [(ObjectId(), PLATFORMS[i % len(PLATFORMS)]) for i in range(args.accounts)]
        other = ObjectId()
        started = time.perf_counter()
        posts = make_posts(org.id, accounts, args.posts)
        posts += make_posts(other, [(ObjectId(), "twitter")], 500)
        for i in range(0, len(posts), 5000):
            await db["posts"].insert_many([p.to_mongo() for p in posts[i : i + 5000]])
        print(
            f"{args.posts:,} posts on {args.accounts} accounts over {DAYS} days "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )
        # Served as a server serves them: from the store it opens at start, with the
        # collector policy the runtime sets once started (chorus.runtime.tune_gc).
        engine.close()
        del posts
        engine = EmbeddedMongo(Path(tmp) / "documents", snapshot_interval=0, journal=False)
        db = engine.async_client["chorus"]
        if not args.default_gc:
            tune_gc()

        months = [(2025 + m // 12, m % 12 + 1) for m in range(24)]

        async def calendar(i: int) -> int:
            year, month = months[i % len(months)]
            first = dt.date(year, month, 1)
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            found = await listing.calendar(db, org.id, first, last)
            return sum(len(g.posts) for d in found.days for g in d.accounts)

        async def calendar_body(i: int) -> int:
            year, month = months[i % len(months)]
            first = dt.date(year, month, 1)
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            found = await listing.calendar(db, org.id, first, last)
            return len(calendar_json(found)) // 1024

        async def by_status(i: int) -> int:
            flt = listing.PostFilter(statuses=("scheduled",), platform=PLATFORMS[i % 6])
            return len((await listing.find(db, org.id, flt, limit=50)).items)

        async def by_account(i: int) -> int:
            year, month = months[i % len(months)]
            start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
            flt = listing.PostFilter(
                account_id=accounts[i % len(accounts)][0],
                start=start,
                end=start + dt.timedelta(days=31),
            )
            page = await listing.find(db, org.id, flt, sort="scheduledAt", limit=50)
            return len(page.items)

        async def by_tag(i: int) -> int:
            flt = listing.PostFilter(tag=TAGS[i % 6])
            return len((await listing.find(db, org.id, flt, limit=50)).items)

        async def second_page(i: int) -> int:
            flt = listing.PostFilter(statuses=("published",))
            first = await listing.find(db, org.id, flt, limit=50)
            page = await listing.find(db, org.id, flt, cursor=first.next_cursor, limit=50)
            return len(page.items)

        rows = [
            ("month calendar (Europe/Berlin)", calendar),
            ("month calendar, API body (rows: KiB)", calendar_body),
            ("list: status + platform, newest", by_status),
            ("list: account + month, by time", by_account),
            ("list: tag, newest", by_tag),
            ("list: status, pages 1 and 2", second_page),
        ]
        print(f"\n{'query':<38}{'rows':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        worst = 0.0
        for name, call in rows:
            times, size = await measure(args.runs, call)
            p95 = percentile(times, 0.95)
            worst = max(worst, p95)
            print(
                f"{name:<38}{size:>7}{statistics.median(times):>9.1f}{p95:>9.1f}{max(times):>9.1f}"
            )
        print(f"\nworst p95: {worst:.1f} ms (target < 100 ms): {'OK' if worst < 100 else 'MISSED'}")
        engine.close()


if __name__ == "__main__":
    asyncio.run(main())
