"""Posts as people write them: create, read, edit under a version, delete, duplicate,
schedule and hand over to the publishing engine.

Concurrency: every edit names the version it was made on; the write is one conditional
update (``version`` equal, post not claimed) that bumps the version, so of two editors the
second gets a StaleVersion instead of silently overwriting the first. The same condition
keeps a post the publishing engine has claimed (status ``publishing``, or any target
``publishing``/``published``) out of reach: PostLocked (409).

Roles: scheduling and publishing need the right to publish (managers and admins); anyone
who may write drafts, keeps a proposed time on a draft and submits it for approval
(``services.workspace.approvals``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from persistence.errors import Conflict, Forbidden, InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.models import MediaAsset, Post, PostComment, SocialAccount
from persistence.models.content import (
    LOCKED_TARGET_STATES,
    MediaFile,
    PlatformTarget,
    PostContent,
    Scheduling,
    ThreadPart,
)
from persistence.organizations import load_organization
from persistence.repository import TenantRepository, tenant_filter
from services import organizations
from services.billing import limits, usage
from services.workspace import rules

# A schedule time this far in the past is still taken as "now" (clock skew, slow clients).
PAST_GRACE = timedelta(minutes=1)
# Statuses an edit sends back to draft: the post is not in anyone's queue any more.
_BACK_TO_DRAFT = ("failed", "cancelled")


class PostLocked(Conflict):
    default_code = "post_locked"


class StaleVersion(Conflict):
    """The post changed since the version the caller edited."""

    default_code = "version_conflict"

    def __init__(self, current: int) -> None:
        super().__init__(
            f"the post was changed by someone else (now version {current}); "
            "reload it and apply your edit again",
        )
        self.current = current


@dataclass
class PartInput:
    """One follow-up part of a thread: its text and media library ids."""

    text: str
    media_ids: list[ObjectId] = field(default_factory=list)


@dataclass
class TargetInput:
    """One account to publish to; ``text``, ``thread`` and ``first_comment`` override the
    post's for this network when given ([] and "" for none)."""

    social_account_id: ObjectId
    text: str | None = None
    thread: list[PartInput] | None = None
    first_comment: str | None = None


@dataclass
class PostInput:
    """The editable part of a post, as a person sends it."""

    text: str
    targets: list[TargetInput]
    title: str | None = None
    hashtags: list[str] = field(default_factory=list)
    media_ids: list[ObjectId] = field(default_factory=list)
    scheduled_at: datetime | None = None
    timezone: str | None = None
    tags: list[str] = field(default_factory=list)
    thread: list[PartInput] = field(default_factory=list)
    first_comment: str | None = None


def is_locked(post: Post) -> bool:
    return post.scheduling.status == "publishing" or any(
        t.status in LOCKED_TARGET_STATES for t in post.platforms
    )


# The same rule as a query: what a write may still touch.
UNLOCKED: Mapping[str, Any] = {
    "scheduling.status": {"$ne": "publishing"},
    "platforms.status": {"$nin": list(LOCKED_TARGET_STATES)},
}


def _locked_error(post: Post) -> PostLocked:
    return PostLocked(
        f"the post is {post.scheduling.status} and can no longer be changed: the publishing "
        "engine has claimed it (duplicate it to make a new one)"
    )


def repo(db: Any) -> TenantRepository[Post]:
    return TenantRepository(db, Post)


async def get(db: Any, org_id: ObjectId, post_id: ObjectId) -> Post:
    post = await repo(db).get(org_id, post_id)
    if post is None:
        raise NotFound("no such post")
    return post


async def _targets(db: Any, org_id: ObjectId, targets: list[TargetInput]) -> list[PlatformTarget]:
    """Each target's account, which must be this organization's and active."""
    if not targets:
        raise InvalidInput.field("body.platforms", "choose at least one social account")
    accounts = TenantRepository(db, SocialAccount)
    out, seen = [], set()
    for i, target in enumerate(targets):
        where = f"body.platforms.{i}.socialAccountId"
        if target.social_account_id in seen:
            raise InvalidInput.field(where, "this account is already a target of the post")
        seen.add(target.social_account_id)
        account = await accounts.get(org_id, target.social_account_id)
        if account is None:
            raise InvalidInput.field(where, "no such social account in this organization")
        if not account.status.is_active or account.status.connection == "disconnected":
            raise InvalidInput.field(where, "this social account is disconnected; reconnect it")
        thread = None
        if target.thread is not None:
            thread = await _thread(db, org_id, target.thread, f"body.platforms.{i}.thread")
        out.append(
            PlatformTarget(
                social_account_id=account.id,
                platform=account.platform,
                text=target.text,
                thread=thread,
                first_comment=target.first_comment,
            )
        )
    return out


def fresh_target(target: PlatformTarget) -> PlatformTarget:
    """The target as a person wrote it, without any publishing outcome (a copy, a
    reschedule): the account and this network's own text, thread and first comment."""
    return PlatformTarget(
        social_account_id=target.social_account_id,
        platform=target.platform,
        text=target.text,
        thread=target.thread,
        first_comment=target.first_comment,
    )


async def _thread(
    db: Any, org_id: ObjectId, parts: list[PartInput], where: str
) -> list[ThreadPart]:
    return [
        ThreadPart(
            text=part.text,
            media_files=await _media(db, org_id, part.media_ids, f"{where}.{k}.mediaFiles"),
        )
        for k, part in enumerate(parts)
    ]


async def _media(
    db: Any, org_id: ObjectId, media_ids: list[ObjectId], where: str = "body.content.mediaFiles"
) -> list[MediaFile]:
    library = TenantRepository(db, MediaAsset)
    out = []
    for i, media_id in enumerate(media_ids):
        asset = await library.get(org_id, media_id)
        if asset is None:
            raise InvalidInput.field(f"{where}.{i}.mediaId", "no such media in this organization")
        out.append(
            MediaFile(
                media_id=asset.id,
                url=asset.url,
                type=asset.kind,
                size=asset.size,
                dimensions=asset.dimensions,
                alt_text=asset.alt_text,
            )
        )
    return out


def _check_time(when: datetime, now: datetime, where: str) -> None:
    if when < now - PAST_GRACE:
        raise InvalidInput.field(where, "must be in the future (ISO-8601 with a timezone)")


def _timezone(value: str | None, default: str) -> str:
    if value is None:
        return default
    if not organizations.is_timezone(value):
        raise InvalidInput.field(
            "body.scheduling.timezone", "must be an IANA timezone such as Europe/Berlin"
        )
    return value


async def _check_allowance(
    db: Any, org_id: ObjectId, when: datetime, before: Post | None = None
) -> None:
    """A place in the month's allowance of scheduled posts, unless the post holds one in
    that month already (moving a scheduled post within its month costs nothing)."""
    if before is not None and before.scheduling.status == "scheduled":
        old = before.scheduling.scheduled_at
        org = await load_organization(db, org_id)
        if (
            old is not None
            and org is not None
            and usage.period(org, old) == usage.period(org, when)
        ):
            return
    await limits.check(db, org_id, "scheduled_posts", adding=1, at=when)


async def _build(
    db: Any, org_id: ObjectId, data: PostInput, default_tz: str
) -> tuple[PostContent, list[PlatformTarget], str]:
    targets = await _targets(db, org_id, data.targets)
    content = PostContent(
        title=data.title,
        text=data.text,
        hashtags=data.hashtags,
        media_files=await _media(db, org_id, data.media_ids),
        thread=await _thread(db, org_id, data.thread, "body.content.thread"),
        first_comment=data.first_comment or None,
    )
    return content, targets, _timezone(data.timezone, default_tz)


async def prepare(
    db: Any, org_id: ObjectId, user_id: ObjectId, data: PostInput, *, may_publish: bool
) -> Post:
    """The post ``data`` describes, checked by every target's rules, not stored: scheduled
    when a time is given and the caller may publish; otherwise a draft (keeping the
    proposed time for whoever approves it)."""
    settings = await organizations.settings(db, org_id)
    content, targets, tz = await _build(db, org_id, data, settings.timezone)
    scheduling = Scheduling(status="draft", scheduled_at=data.scheduled_at, timezone=tz)
    if data.scheduled_at is not None and may_publish:
        _check_time(data.scheduled_at, utcnow(), "body.scheduling.scheduledAt")
        scheduling.status = "scheduled"
    post = Post(
        organization_id=org_id,
        user_id=user_id,
        content=content,
        platforms=targets,
        scheduling=scheduling,
        tags=data.tags,
    )
    rules.ensure_valid(post, settings.banned_terms, going_out=scheduling.status == "scheduled")
    return post


async def create(
    db: Any, org_id: ObjectId, user_id: ObjectId, data: PostInput, *, may_publish: bool
) -> Post:
    """Store a new post (see ``prepare``); a scheduled one takes a place in its month's
    allowance of the plan. Nothing is stored unless every target passes its rules."""
    post = await prepare(db, org_id, user_id, data, may_publish=may_publish)
    if post.scheduling.status == "scheduled":
        assert post.scheduling.scheduled_at is not None
        await _check_allowance(db, org_id, post.scheduling.scheduled_at)
    return await repo(db).insert(post)


async def save(
    db: Any, org_id: ObjectId, post_id: ObjectId, version: int, changes: Mapping[str, Any]
) -> Post:
    """Apply ``changes`` if the post is still at ``version`` and not claimed; the new post.
    NotFound, PostLocked or StaleVersion otherwise."""
    raw = await repo(db).collection.find_one_and_update(
        tenant_filter(org_id, {"_id": post_id, "version": version, **UNLOCKED}),
        {"$set": {**changes, "updatedAt": utcnow()}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is not None:
        return Post.from_mongo(raw)
    current = await get(db, org_id, post_id)
    if is_locked(current):
        raise _locked_error(current)
    raise StaleVersion(current.version)


def ensure_editable(post: Post, version: int | None = None) -> None:
    if is_locked(post):
        raise _locked_error(post)
    if version is not None and post.version != version:
        raise StaleVersion(post.version)


async def update(
    db: Any,
    org_id: ObjectId,
    post_id: ObjectId,
    data: PostInput,
    *,
    version: int,
    may_publish: bool,
) -> Post:
    """Replace the post's content, targets, time and tags, made on ``version``.

    A scheduled post stays scheduled at the time sent (rescheduled: its targets start
    afresh) or becomes a draft when the time is cleared; only those who may publish change
    a scheduled post. A failed or cancelled post comes back as a draft."""
    before = await get(db, org_id, post_id)
    ensure_editable(before, version)
    settings = await organizations.settings(db, org_id)
    content, targets, tz = await _build(db, org_id, data, before.scheduling.timezone)
    status = before.scheduling.status
    if status in ("scheduled", "paused") and not may_publish:
        raise Forbidden(
            f"the post is {status}; only a manager or admin may change it (it was approved)"
        )
    if (status == "scheduled" and data.scheduled_at is None) or status in _BACK_TO_DRAFT:
        status = "draft"
    after = before.model_copy(
        update={
            "content": content,
            "platforms": targets,
            "tags": data.tags,
            "scheduling": before.scheduling.model_copy(
                update={"status": status, "scheduled_at": data.scheduled_at, "timezone": tz}
            ),
        }
    )
    going_out = status in ("scheduled", "paused")
    if status == "scheduled":
        assert data.scheduled_at is not None
        if data.scheduled_at != before.scheduling.scheduled_at:
            _check_time(data.scheduled_at, utcnow(), "body.scheduling.scheduledAt")
    rules.ensure_valid(after, settings.banned_terms, going_out=going_out)
    if status == "scheduled":
        assert data.scheduled_at is not None
        await _check_allowance(db, org_id, data.scheduled_at, before)
    return await save(db, org_id, post_id, version, _editable_fields(after))


def _editable_fields(post: Post) -> dict[str, Any]:
    doc = post.to_mongo()
    changes = {k: doc[k] for k in ("content", "platforms", "tags") if k in doc}
    changes["scheduling"] = doc["scheduling"]
    if post.scheduling.scheduled_at is None:
        changes["scheduling"]["scheduledAt"] = None
    return changes


async def delete(db: Any, org_id: ObjectId, post_id: ObjectId, version: int | None) -> None:
    """Delete a post not yet claimed (at ``version`` when given)."""
    post = await get(db, org_id, post_id)
    ensure_editable(post, version)
    query = {"_id": post_id, "version": post.version, **UNLOCKED}
    result = await repo(db).collection.delete_one(tenant_filter(org_id, query))
    if result.deleted_count != 1:
        current = await get(db, org_id, post_id)
        ensure_editable(current, post.version)
    await _delete_comments(db, org_id, post_id)


async def _delete_comments(db: Any, org_id: ObjectId, post_id: ObjectId) -> None:
    comments = TenantRepository(db, PostComment)
    await comments.collection.delete_many(tenant_filter(org_id, {"postId": post_id}))


async def duplicate(db: Any, org_id: ObjectId, user_id: ObjectId, post_id: ObjectId) -> Post:
    """A new draft with the same content, targets and tags (no time, no history)."""
    source = await get(db, org_id, post_id)
    copy = Post(
        organization_id=org_id,
        user_id=user_id,
        content=source.content,
        targeting=source.targeting,
        platforms=[fresh_target(t) for t in source.platforms],
        scheduling=Scheduling(timezone=source.scheduling.timezone),
        tags=source.tags,
    )
    return await repo(db).insert(copy)


async def schedule(
    db: Any,
    org_id: ObjectId,
    post_id: ObjectId,
    when: datetime,
    *,
    version: int | None = None,
    where: str = "body.scheduledAt",
    extra: Mapping[str, Any] | None = None,
) -> Post:
    """Schedule the post at ``when`` (a draft, a pending, failed or paused post, or a
    scheduled one moved); its targets start afresh. Checked against every network's rules
    as it will go out, and against the plan's monthly allowance."""
    post = await get(db, org_id, post_id)
    ensure_editable(post, version)
    now = utcnow()
    _check_time(when, now, where)
    settings = await organizations.settings(db, org_id)
    after = post.model_copy(
        update={
            "scheduling": post.scheduling.model_copy(
                update={"status": "scheduled", "scheduled_at": max(when, now)}
            ),
            "platforms": [fresh_target(t) for t in post.platforms],
        }
    )
    rules.ensure_valid(after, settings.banned_terms, going_out=True)
    await _check_allowance(db, org_id, max(when, now), post)
    doc = after.to_mongo()
    changes = {"scheduling": doc["scheduling"], "platforms": doc["platforms"], **(extra or {})}
    return await save(db, org_id, post_id, post.version, changes)


async def publish_now(
    db: Any, org_id: ObjectId, post_id: ObjectId, *, version: int | None = None
) -> Post:
    """Make the post due now, so the publishing engine takes it on its next tick."""
    return await schedule(db, org_id, post_id, utcnow(), version=version)
