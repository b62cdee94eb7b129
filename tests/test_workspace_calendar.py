"""The calendar service: each post on the local day its time falls on, in any timezone.

The calendar walks the posts by time and moves to the next day at each local midnight
(computed once per day); here that is checked against converting every post's time on
its own, over months with DST changes in zones that shift by an hour, by half an hour, or
at midnight itself.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId
from workspace_support import indexed_db_fixture  # noqa: F401 - the db fixture

from persistence.admin import OrganizationAdmin
from persistence.models import Post
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from services.workspace import listing

ZONES = ["America/New_York", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "UTC"]


async def test_every_post_is_on_the_local_day_of_its_time_across_dst_changes(db: Any) -> None:
    org = (await OrganizationAdmin(db).create("Cal")).id
    account = ObjectId()
    rng = random.Random(3)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    # Every change of these zones in 2026 spring and autumn is within these two windows;
    # times cluster on the hours around midnight so the boundaries themselves are hit.
    times = []
    for window in (start, start.replace(month=9, day=20)):
        for _ in range(400):
            hour = window + dt.timedelta(hours=rng.randrange(0, 24 * 50))
            times.append(hour + dt.timedelta(minutes=rng.choice([0, 0, 1, 29, 30, 59])))
    posts = [
        Post(
            organization_id=org,
            content=PostContent(text=f"post {i}"),
            platforms=[PlatformTarget(social_account_id=account, platform="twitter")],
            scheduling=Scheduling(status="scheduled", scheduled_at=at),
            created_at=at,
        ).to_mongo()
        for i, at in enumerate(times)
    ]
    await db["posts"].insert_many(posts)
    for zone in ZONES:
        tz = ZoneInfo(zone)
        for first in (dt.date(2026, 3, 1), dt.date(2026, 9, 20)):
            last = first + dt.timedelta(days=49)
            found = await listing.calendar(db, org, first, last, timezone=zone)
            shown = {
                ObjectId(post["id"]): day.date
                for day in found.days
                for group in day.accounts
                for post in group.posts
            }
            expected = {}
            for doc in posts:
                local = doc["scheduling"]["scheduledAt"].astimezone(tz).date()
                if first <= local <= last:
                    expected[doc["_id"]] = local
            assert shown == expected, zone
            assert len(expected) > 300


async def test_a_post_is_shown_under_each_of_its_accounts_once(db: Any) -> None:
    org = (await OrganizationAdmin(db).create("Cal")).id
    one, two = ObjectId(), ObjectId()
    at = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    post = Post(
        organization_id=org,
        content=PostContent(text="both"),
        platforms=[
            PlatformTarget(social_account_id=one, platform="twitter"),
            PlatformTarget(social_account_id=two, platform="linkedin"),
        ],
        scheduling=Scheduling(status="scheduled", scheduled_at=at),
    )
    await db["posts"].insert_one(post.to_mongo())
    found = await listing.calendar(db, org, at.date(), at.date(), timezone="UTC")
    assert [d.date for d in found.days] == [at.date()]
    groups = {g.social_account_id: g for g in found.days[0].accounts}
    assert set(groups) == {one, two}
    assert [p["id"] for p in groups[one].posts] == [str(post.id)]
    assert groups[two].platform == "linkedin"
