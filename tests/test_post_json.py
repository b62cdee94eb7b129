"""The calendar's one-pass JSON of a post is exactly PostOut's, field for field.

``post_json`` serializes a stored post straight to the response form instead of dumping
it and validating the dump as PostOut again; these tests hold the two equal for posts
with every optional field set, none set, and locked, and the whole calendar body equal to
CalendarOut's.
"""

from __future__ import annotations

import datetime as dt
import json

from bson import ObjectId

from api.routes.post_schemas import (
    CalendarAccountOut,
    CalendarDayOut,
    CalendarOut,
    PostOut,
    calendar_json,
    post_json,
)
from persistence.models import Post
from persistence.models.content import (
    POST_VIEW_FIELDS,
    AiGeneration,
    Dimensions,
    MediaFile,
    Moderation,
    Performance,
    PlatformTarget,
    PostContent,
    PostView,
    PublishingClaim,
    Scheduling,
    Targeting,
    ThreadPart,
)
from services.workspace.listing import Calendar, CalendarAccount, CalendarDay

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
    bare = Post(organization_id=ObjectId())
    locked = full_post().model_copy(deep=True)
    locked.scheduling.status = "publishing"
    claimed_target = full_post().model_copy(deep=True)
    claimed_target.scheduling.status = "scheduled"
    claimed_target.platforms[1].status = "publishing"
    return [full_post(), bare, locked, claimed_target]


def view(post: Post) -> PostView:
    """The post as the calendar reads it: projected, then validated as a PostView."""
    stored = post.to_mongo()
    return PostView.model_validate({k: v for k, v in stored.items() if k in POST_VIEW_FIELDS})


def test_post_json_is_postout_field_for_field() -> None:
    for post in posts():
        stored = Post.from_mongo(post.to_mongo())
        expected = PostOut.of(stored).model_dump(mode="json", by_alias=True)
        assert post_json(stored) == expected
        # The calendar's lighter view lacks nothing PostOut shows.
        assert post_json(view(post)) == expected
    # A published target locks a post, as the publishing engine's claim does.
    assert [post_json(p)["locked"] for p in posts()] == [True, False, True, True]


def test_the_calendar_body_is_calendarout() -> None:
    first, second = view(posts()[0]), view(posts()[2])
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
                        posts=[
                            PostOut.of(Post.model_validate(p.model_dump())) for p in group.posts
                        ],
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
