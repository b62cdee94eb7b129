"""Request and response bodies of the post routes, camelCase as the rest of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import ConfigDict, Field, StringConstraints

from api.routes.schemas import ApiModel
from api.routes.schemas import StrictIn as SharedStrictIn
from persistence.ids import IsoDateTime, PyObjectId
from persistence.models import Post, PostComment
from persistence.models.content import (
    ContentType,
    Platform,
    PlatformTarget,
    PostStatus,
    TargetStatus,
)
from services.publishing import ScheduleWarning
from services.workspace.listing import Calendar
from services.workspace.posts import PartInput, PostInput, TargetInput, is_locked

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Hashtag = Annotated[str, StringConstraints(min_length=1, max_length=140)]


class StrictIn(SharedStrictIn):
    model_config = ConfigDict(arbitrary_types_allowed=True)  # ObjectId fields


class MediaRefIn(StrictIn):
    media_id: PyObjectId = Field(description="An item of the media library (/api/media).")


MAX_THREAD_PARTS = 50
PART_MAX_CHARS = 10000


class ThreadPartIn(StrictIn):
    """A follow-up part of a thread, published as a reply to the part before it."""

    text: str = Field(max_length=PART_MAX_CHARS, description="Held to the network's length.")
    media_files: list[MediaRefIn] = Field(default_factory=list, max_length=20)

    def to_input(self) -> PartInput:
        return PartInput(self.text, [m.media_id for m in self.media_files])


ThreadIn = list[ThreadPartIn]


class ContentIn(StrictIn):
    text: str = Field(max_length=70000, description="The post; a target may override it.")
    title: str | None = Field(default=None, max_length=500)
    hashtags: list[Hashtag] = Field(default_factory=list, max_length=60)
    media_files: list[MediaRefIn] = Field(default_factory=list, max_length=20)
    thread: ThreadIn = Field(
        default_factory=list,
        max_length=MAX_THREAD_PARTS,
        description="Parts after the main text, each published as a reply to the one before "
        "(networks with threads: X, Bluesky). A target may override it.",
    )
    first_comment: str | None = Field(
        default=None,
        max_length=PART_MAX_CHARS,
        description="A comment the account adds under the post once it is out (Facebook, "
        "Instagram, LinkedIn, YouTube; a self-reply on X and Bluesky). A target may override it.",
    )


class TargetIn(StrictIn):
    social_account_id: PyObjectId
    text: str | None = Field(
        default=None, max_length=70000, description="This network's own text, if different."
    )
    thread: ThreadIn | None = Field(
        default=None,
        max_length=MAX_THREAD_PARTS,
        description="This network's own thread instead of content.thread; [] for none here.",
    )
    first_comment: str | None = Field(
        default=None,
        max_length=PART_MAX_CHARS,
        description='This network\'s own first comment instead of content.firstComment; "" for '
        "none here.",
    )

    def to_input(self) -> TargetInput:
        thread = None if self.thread is None else [p.to_input() for p in self.thread]
        return TargetInput(self.social_account_id, self.text, thread, self.first_comment)


class SchedulingIn(StrictIn):
    scheduled_at: IsoDateTime | None = Field(
        default=None,
        description="When to publish (ISO-8601 with a timezone). Scheduled at once by a "
        "manager or admin; kept as the proposed time of a draft for a user.",
    )
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA timezone the time was chosen in."
    )


class PostIn(StrictIn):
    content: ContentIn
    platforms: list[TargetIn] = Field(min_length=1, max_length=30)
    scheduling: SchedulingIn = Field(default_factory=SchedulingIn)
    tags: list[Tag] = Field(default_factory=list, max_length=30)

    def to_input(self) -> PostInput:
        return PostInput(
            text=self.content.text,
            title=self.content.title,
            hashtags=list(self.content.hashtags),
            media_ids=[m.media_id for m in self.content.media_files],
            targets=[t.to_input() for t in self.platforms],
            scheduled_at=self.scheduling.scheduled_at,
            timezone=self.scheduling.timezone,
            tags=list(dict.fromkeys(self.tags)),
            thread=[p.to_input() for p in self.content.thread],
            first_comment=self.content.first_comment,
        )


class PostUpdateIn(PostIn):
    version: int | None = Field(
        default=None,
        ge=0,
        description="The version the edit was made on (or send If-Match with the ETag).",
    )


class ScheduleIn(StrictIn):
    scheduled_at: IsoDateTime = Field(description="When to publish (ISO-8601 with a timezone).")
    version: int | None = Field(default=None, ge=0)


class DimensionsOut(ApiModel):
    width: int
    height: int


class MediaFileOut(ApiModel):
    media_id: str | None = None
    url: str
    type: Literal["image", "video", "gif"]
    size: int | None = None
    dimensions: DimensionsOut | None = None
    alt_text: str | None = None


class ThreadPartOut(ApiModel):
    text: str
    media_files: list[MediaFileOut]


class ContentOut(ApiModel):
    title: str | None = None
    text: str
    content_type: ContentType
    media_files: list[MediaFileOut]
    hashtags: list[str]
    thread: list[ThreadPartOut] = Field(default_factory=list)
    first_comment: str | None = None


class TargetOut(ApiModel):
    social_account_id: str
    platform: Platform
    status: TargetStatus
    text: str | None = None
    thread: list[ThreadPartOut] | None = Field(
        default=None, description="This network's own thread, when it overrides the post's."
    )
    first_comment: str | None = Field(
        default=None, description='This network\'s own first comment ("" for none).'
    )
    platform_post_id: str | None = None
    url: str | None = None
    thread_post_ids: list[str] = Field(
        default_factory=list,
        description="The network's ids of the thread parts published so far, in order.",
    )
    first_comment_id: str | None = Field(
        default=None, description="The network's id of the first comment, once made."
    )
    published_at: datetime | None = None
    error_message: str | None = None


class SchedulingOut(ApiModel):
    status: PostStatus
    scheduled_at: datetime | None = None
    published_at: datetime | None = None
    timezone: str


class AiGenerationOut(ApiModel):
    is_ai_generated: bool
    agent_id: str | None = None
    prompt: str | None = None
    model: str | None = None
    iterations: int = 0
    feedback: str | None = None
    thread_id: str | None = None


class ModerationOut(ApiModel):
    status: Literal["approved", "pending", "rejected"]
    moderated_by: str | None = None
    moderated_at: datetime | None = None
    rejection_reason: str | None = None


class ScheduleWarningOut(ApiModel):
    """Something a person probably did not mean; the post is saved all the same."""

    code: Literal["duplicate_text", "same_account_within_hour"]
    message: str
    social_account_id: str
    platform: Platform
    other_post_id: str
    other_scheduled_at: datetime | None = None


class PostOut(ApiModel):
    id: str
    user_id: str | None = None
    content: ContentOut
    platforms: list[TargetOut]
    scheduling: SchedulingOut
    ai_generation: AiGenerationOut
    moderation: ModerationOut
    tags: list[str]
    version: int
    locked: bool = Field(description="Claimed by the publishing engine: no more edits.")
    warnings: list[ScheduleWarningOut] = Field(
        default_factory=list,
        description="When the post is queued: the same text already queued for an account, "
        "or another post on the same account within the hour.",
    )
    created_at: datetime
    updated_at: datetime | None = None

    @classmethod
    def of(cls, post: Post, warnings: list[ScheduleWarning] | None = None) -> PostOut:
        data: dict[str, Any] = post.model_dump(mode="json", by_alias=False)
        for target, stored in zip(data["platforms"], post.platforms, strict=True):
            target["thread_post_ids"], target["first_comment_id"] = _parts_made(stored)
        data["locked"] = is_locked(post)
        data["warnings"] = [
            {
                "code": w.code,
                "message": w.message,
                "social_account_id": str(w.social_account_id),
                "platform": w.platform,
                "other_post_id": str(w.other_post_id),
                "other_scheduled_at": w.other_scheduled_at,
            }
            for w in warnings or []
        ]
        return cls.model_validate(data)


class PostPageOut(ApiModel):
    items: list[PostOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class CalendarMediaOut(ApiModel):
    url: str
    type: Literal["image", "video", "gif"]


class CalendarTargetOut(ApiModel):
    social_account_id: str
    platform: Platform
    status: TargetStatus
    url: str | None = Field(description="The published post on the network, once out.")
    error_message: str | None = Field(description="Why publishing to it failed, if it did.")


class CalendarEntryOut(ApiModel):
    """A post as the calendar shows it; GET /api/posts/{id} has the whole post."""

    id: str
    title: str | None
    text: str = Field(description="The post's text (a target may have its own).")
    status: PostStatus
    scheduled_at: datetime | None
    timezone: str = Field(description="IANA timezone the time was chosen in.")
    targets: list[CalendarTargetOut]
    media_count: int
    first_media: CalendarMediaOut | None = Field(description="The first attachment, if any.")
    tags: list[str]
    ai_generated: bool
    approval: Literal["approved", "pending", "rejected"] = Field(
        description="The moderation status (pending until a manager decides)."
    )
    locked: bool = Field(description="Claimed by the publishing engine: no more edits.")
    version: int = Field(description="The version an edit must name (If-Match or version).")


class CalendarAccountOut(ApiModel):
    social_account_id: str
    platform: Platform
    posts: list[CalendarEntryOut]


class CalendarDayOut(ApiModel):
    date: str = Field(description="The local day (YYYY-MM-DD) in the calendar's timezone.")
    accounts: list[CalendarAccountOut]


class CalendarOut(ApiModel):
    timezone: str
    start: datetime = Field(description="The first local midnight, in UTC.")
    end: datetime = Field(description="The local midnight after the last day, in UTC.")
    days: list[CalendarDayOut]


def _parts_made(target: PlatformTarget) -> tuple[list[str], str | None]:
    """The network ids of a target's thread parts and first comment made so far, as the
    publishing engine records them in its platform data."""
    made = target.platform_data or {}
    return list(made.get("partIds") or []), made.get("firstCommentId")


def calendar_json(found: Calendar) -> bytes:
    """The CalendarOut body of a calendar, serialized once. Its entries are JSON-ready
    (persistence.models.calendar), so they are not validated as CalendarEntryOut again;
    tests/test_calendar_json.py holds the body to CalendarOut."""
    body = {
        "timezone": found.timezone,
        "start": found.start,
        "end": found.end,
        "days": [
            {
                "date": day.date.isoformat(),
                "accounts": [
                    {
                        "socialAccountId": str(group.social_account_id),
                        "platform": group.platform,
                        "posts": group.posts,
                    }
                    for group in day.accounts
                ],
            }
            for day in found.days
        ],
    }
    return pydantic_core.to_json(body)


class IssueOut(ApiModel):
    code: str
    field: str
    message: str
    fix: str = Field(description="What to do about it.")


class MediaCheckOut(ApiModel):
    media_id: str | None = None
    type: str
    url: str


class SuggestionOut(ApiModel):
    text: str
    hashtags: list[str]


class PartPreviewOut(ApiModel):
    """A thread part or the first comment as it will follow the post."""

    kind: Literal["thread_part", "first_comment"]
    position: int = Field(description="1 for the first reply to the post; the comment is last.")
    text: str = Field(description="Published as written (no hashtags appended).")
    length: int
    max_length: int
    over_by: int
    truncated_text: str | None
    media: list[MediaCheckOut]
    valid: bool
    violations: list[IssueOut]


class TargetPreviewOut(ApiModel):
    social_account_id: str
    platform: Platform
    text: str = Field(description="The text as it will be published (hashtags appended).")
    length: int = Field(description="Its length as this network counts it.")
    max_length: int
    counting: str = Field(description="x_weighted, utf16 or graphemes.")
    over_by: int
    truncated_text: str | None = Field(description="What fits, when the text is too long.")
    fold_at: int | None = Field(description="Where the feed folds behind 'see more'.")
    visible_before_fold: str
    hashtags: list[str]
    max_hashtags: int | None
    media: list[MediaCheckOut]
    valid: bool
    violations: list[IssueOut]
    advice: list[str]
    suggestion: SuggestionOut | None = Field(
        description="A repaired text and hashtags that pass every rule, when some fail."
    )
    thread: list[PartPreviewOut] = Field(
        default_factory=list, description="Each part after the post, as a reply to the last."
    )
    first_comment: PartPreviewOut | None = None
    unsupported: list[IssueOut] = Field(
        default_factory=list, description="A thread or first comment this network cannot take."
    )


class PreviewOut(ApiModel):
    post_id: str
    version: int
    targets: list[TargetPreviewOut]


class BulkErrorOut(ApiModel):
    line: int
    field: str
    message: str
    code: str


class BulkCreatedOut(ApiModel):
    line: int
    post_id: str
    scheduled_at: datetime


class BulkReportOut(ApiModel):
    lines: int
    created: list[BulkCreatedOut]
    errors: list[BulkErrorOut]


class SubmitIn(StrictIn):
    note: str | None = Field(default=None, max_length=5000, description="For the approver.")


class ApproveIn(StrictIn):
    scheduled_at: IsoDateTime | None = Field(
        default=None, description="Schedule at this time instead of the proposed one."
    )
    comment: str | None = Field(default=None, max_length=5000)


class RejectIn(StrictIn):
    comment: str = Field(min_length=1, max_length=5000, description="Why, for the author.")


class CommentIn(StrictIn):
    text: str = Field(min_length=1, max_length=5000)


class CommentOut(ApiModel):
    id: str
    post_id: str
    user_id: str | None = None
    author_email: str | None = None
    kind: Literal["note", "approval", "rejection", "submission"]
    text: str
    created_at: datetime

    @classmethod
    def of(cls, comment: PostComment, author_email: str | None) -> CommentOut:
        return cls.model_validate({**comment.model_dump(mode="json"), "author_email": author_email})
