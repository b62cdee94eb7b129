"""The calendar's entries: each equals the entry of the validated Post, and the body is
CalendarOut's.

The calendar builds a compact entry from each stored post without validating it again: on
the embedded engine from the stored document itself (one pass under the engine's lock), on
MongoDB from a find projected to nested paths (persistence.models.calendar.CALENDAR_FIELDS).
Here the entries of posts with every optional field set, none set, locked and with a claimed
target are held equal to the same fields taken from the validated Post, read through the
engine's projection, plain mongomock's, and the one pass; the whole body validates as
CalendarOut and equals its dump; and changing an answer leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import mongomock_ng
import pytest
from bson import ObjectId
from workspace_support import indexed_db_fixture  # noqa: F401 - the db fixture

from api.routes.post_schemas import (
    CalendarAccountOut,
    CalendarDayOut,
    CalendarEntryOut,
    CalendarOut,
    calendar_json,
)
from persistence.admin import OrganizationAdmin
from persistence.calendar import find_entries
from persistence.embedded_mongo import EmbeddedMongo
from persistence.models import Post
from persistence.models.calendar import CALENDAR_FIELDS, entry_of
from persistence.models.content import (
    AiGeneration,
    Dimensions,
    MediaFile,
    Moderation,
    Performance,
    PlatformTarget,
    PostContent,
    PublishingClaim,
    Scheduling,
    Targeting,
    ThreadPart,
)
from services.workspace import listing
from services.workspace.listing import Calendar, CalendarAccount, CalendarDay
from services.workspace.posts import is_locked

AT = dt.datetime(2026, 3, 29, 0, 30, 15, 123000, tzinfo=dt.UTC)


def full_post() -> Post:
    return Post(
        organization_id=ObjectId(),
        user_id=ObjectId(),
        content=PostContent(
            title="Spring menu",
            text="Cold brew is back. ☕ Ünïcode too.",
            content_type="image",
            media_files=[
                MediaFile(
                    media_id=ObjectId(),
                    url="https://cdn.example/a.png",
                    type="image",
                    size=2048,
                    dimensions=Dimensions(width=1080, height=1350),
                    alt_text="A glass",
                ),
                MediaFile(url="https://cdn.example/b.mp4", type="video"),
            ],
            hashtags=["coffee", "spring"],
            mentions=["@roaster"],
            links=["https://example.com"],
            thread=[ThreadPart(text="Part two."), ThreadPart(text="Part three.")],
            first_comment="Menu at the link.",
        ),
        targeting=Targeting(audience="custom", interests=["coffee"]),
        scheduling=Scheduling(
            status="partially_published",
            scheduled_at=AT,
            published_at=AT + dt.timedelta(minutes=1),
            timezone="Europe/Berlin",
            recurring_schedule={"every": "week"},
        ),
        ai_generation=AiGeneration(
            is_ai_generated=True,
            agent_id="content_creator",
            prompt="write about spring",
            model="local",
            confidence=0.75,
            iterations=2,
            feedback="shorter",
            thread_id="t-1",
        ),
        platforms=[
            PlatformTarget(
                social_account_id=ObjectId(),
                platform="twitter",
                platform_post_id="1790",
                status="published",
                text="Cold brew is back.",
                thread=[ThreadPart(text="On X, part two.")],
                first_comment="",
                url="https://x.com/i/1790",
                published_at=AT,
                attempts=1,
                # A published thread and its first comment, as the engine records them.
                platform_data={
                    "raw": {"id": 1790},
                    "partIds": ["1791", "1792"],
                    "firstCommentId": "1793",
                },
            ),
            PlatformTarget(
                social_account_id=ObjectId(),
                platform="linkedin",
                status="failed",
                error_message="token expired",
                retryable=False,
                attempts=3,
                next_attempt_at=AT,
                first_attempt_at=AT,
            ),
        ],
        performance=Performance(engagement_score=1.5, like_count=3),
        moderation=Moderation(
            status="approved",
            moderated_by=ObjectId(),
            moderated_at=AT,
            rejection_reason=None,
        ),
        tags=["launch", "spring"],
        version=7,
        publishing=PublishingClaim(token="x", worker="w", lease_until=AT, claimed_at=AT),
        created_at=AT - dt.timedelta(days=2),
        updated_at=AT - dt.timedelta(days=1),
    )


def posts() -> list[Post]:
    bare = Post(organization_id=ObjectId(), scheduling=Scheduling(scheduled_at=AT))
    locked = full_post().model_copy(deep=True)
    locked.scheduling.status = "publishing"
    claimed_target = full_post().model_copy(deep=True)
    claimed_target.scheduling.status = "scheduled"
    claimed_target.platforms[1].status = "publishing"
    video_first = full_post().model_copy(deep=True)
    video_first.content.media_files.reverse()
    video_first.content.title = None
    video_first.moderation.status = "rejected"
    return [full_post(), bare, locked, claimed_target, video_first]


def entry_of_post(post: Post) -> dict[str, Any]:
    """The entry as the validated Post states it: the reference the stored form must equal."""
    media = post.content.media_files
    return {
        "id": str(post.id),
        "title": post.content.title,
        "text": post.content.text,
        "status": post.scheduling.status,
        "scheduledAt": post.scheduling.scheduled_at,
        "timezone": post.scheduling.timezone,
        "targets": [
            {
                "socialAccountId": str(t.social_account_id),
                "platform": t.platform,
                "status": t.status,
                "url": t.url,
                "errorMessage": t.error_message,
            }
            for t in post.platforms
        ],
        "mediaCount": len(media),
        "firstMedia": {"url": media[0].url, "type": media[0].type} if media else None,
        "tags": post.tags,
        "aiGenerated": post.ai_generation.is_ai_generated,
        "approval": post.moderation.status,
        "locked": is_locked(post),
        "version": post.version,
    }


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    with EmbeddedMongo(tmp_path / "documents", snapshot_interval=0, journal=False) as opened:
        yield opened


def test_an_entry_of_the_projected_document_equals_the_validated_posts(engine: Any) -> None:
    ours = engine.sync_client["chorus"]["posts"]
    plain = mongomock_ng.MongoClient(tz_aware=True)["chorus"]["posts"]
    stored = [p.to_mongo() for p in posts()]
    ours.insert_many([dict(d) for d in stored])
    plain.insert_many([dict(d) for d in stored])
    sort = [("_id", 1)]
    projected = list(ours.find({}, CALENDAR_FIELDS, sort=sort))
    # The engine projects nested paths itself; mongomock answers the same.
    assert projected == list(plain.find({}, CALENDAR_FIELDS, sort=sort))
    whole = {d["_id"]: d for d in ours.find({})}
    assert len(projected) == len(stored)
    for doc in projected:
        expected = entry_of_post(Post.from_mongo(whole[doc["_id"]]))
        assert entry_of(doc) == expected
        assert entry_of(whole[doc["_id"]]) == expected  # a whole document reads the same
    # A published or claimed target locks a post, as the publishing engine's claim does.
    assert [entry_of(d)["locked"] for d in sorted(projected, key=lambda d: d["_id"])] == [
        is_locked(p) for p in sorted(posts(), key=lambda p: p.id)
    ]
    assert sum(entry_of(d)["locked"] for d in projected) == 4


class OnlyFind:
    """A collection offering only PyMongo's find: how find_entries sees MongoDB's."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def find(self, *args: Any, **kwargs: Any) -> Any:
        return self._collection.find(*args, **kwargs)


async def test_the_engines_one_pass_and_the_projected_find_give_the_same_entries(
    engine: Any,
) -> None:
    collection = engine.async_client["chorus"]["posts"]
    made = posts()
    await collection.insert_many([p.to_mongo() for p in made])
    spec = {"scheduling.scheduledAt": {"$gte": AT}}
    sort = [("scheduling.scheduledAt", 1), ("_id", 1)]
    one_pass = await find_entries(collection, spec, sort)
    projected = await find_entries(OnlyFind(collection), spec, sort)
    assert one_pass == projected
    by_id = {str(p.id): p for p in made}
    assert [e["id"] for e in one_pass] == sorted(by_id, key=lambda i: (AT, ObjectId(i)))
    for entry in one_pass:
        assert entry == entry_of_post(by_id[entry["id"]])
        assert entry["scheduledAt"].tzinfo is not None  # stored naive, answered in UTC
    assert json.dumps(one_pass, default=str) == json.dumps(projected, default=str)


def test_the_calendar_body_is_calendarout() -> None:
    first, second = (entry_of(p.to_mongo()) for p in posts()[:2])
    account, other = ObjectId(), ObjectId()
    found = Calendar(
        timezone="Europe/Berlin",
        start=AT,
        end=AT + dt.timedelta(days=2),
        days=[
            CalendarDay(
                AT.date(),
                [
                    CalendarAccount(account, "twitter", [first, second]),
                    CalendarAccount(other, "linkedin", [first]),
                ],
            ),
            CalendarDay(AT.date() + dt.timedelta(days=1), []),
        ],
    )
    expected = CalendarOut(
        timezone=found.timezone,
        start=found.start,
        end=found.end,
        days=[
            CalendarDayOut(
                date=day.date.isoformat(),
                accounts=[
                    CalendarAccountOut(
                        social_account_id=str(group.social_account_id),
                        platform=group.platform,  # type: ignore[arg-type]
                        posts=[CalendarEntryOut.model_validate(p) for p in group.posts],
                    )
                    for group in day.accounts
                ],
            )
            for day in found.days
        ],
    )
    body = calendar_json(found)
    assert json.loads(body) == expected.model_dump(mode="json", by_alias=True)
    assert CalendarOut.model_validate_json(body) == expected
    # Every field of an entry is in the documented model, and the other way round.
    documented = {f.alias for f in CalendarEntryOut.model_fields.values()}
    assert set(first) == documented


async def test_changing_an_answer_leaves_the_store_as_it_was(db: Any) -> None:
    org = (await OrganizationAdmin(db).create("Cal")).id
    for post in posts():
        post.organization_id = org
        await db["posts"].insert_one(post.to_mongo())
    before = await db["posts"].find({}).sort("_id").to_list(None)

    async def shown() -> list[dict[str, Any]]:
        found = await listing.calendar(db, org, AT.date(), AT.date(), timezone="UTC")
        return [p for d in found.days for g in d.accounts for p in g.posts]

    entries = await shown()
    assert len(entries) == 8  # four posts on two accounts each; the bare one has none
    expected = json.loads(json.dumps(entries, default=str))
    for entry in {id(e): e for e in entries}.values():  # a post under two accounts is one
        entry["tags"].append("changed")
        entry["targets"][0]["status"] = "changed"
        entry["targets"].clear()
        if entry["firstMedia"] is not None:
            entry["firstMedia"]["url"] = "changed"
    assert await db["posts"].find({}).sort("_id").to_list(None) == before
    assert json.loads(json.dumps(await shown(), default=str)) == expected
