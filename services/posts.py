"""Posts as the agents make and hold them: a draft waiting for approval, storing an approved
AI draft, pausing the queue.

Every operation is idempotent, because graph steps re-run on resume and retry: an AI post is
stored once per graph thread, and pausing what is already paused changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from persistence.ids import utcnow
from persistence.models import Post, PostComment, SocialAccount
from persistence.models.content import (
    AiGeneration,
    Moderation,
    PlatformTarget,
    PostContent,
    Scheduling,
)
from persistence.repository import TenantRepository, tenant_filter
from services.billing import limits
from services.events import POST_APPROVAL_REQUESTED, EventBus


@dataclass(frozen=True)
class GeneratedPost:
    """What the content_creation workflow hands over once a person approved its draft."""

    platform: str
    text: str
    hashtags: list[str]
    title: str | None
    brief: str
    scheduled_at: datetime | None
    timezone: str
    model: str | None
    iterations: int
    feedback: str | None
    thread_key: str


def _ai_generation(draft: GeneratedPost) -> AiGeneration:
    return AiGeneration(
        is_ai_generated=True,
        agent_id="content_creator",
        prompt=draft.brief,
        model=draft.model,
        iterations=draft.iterations,
        feedback=draft.feedback,
        thread_id=draft.thread_key,
    )


async def _targets(db: Any, org_id: ObjectId, platform: str) -> list[PlatformTarget]:
    """The organization's active account on ``platform``, as the post's one target."""
    account = await TenantRepository(db, SocialAccount).find_one(
        org_id, {"platform": platform, "status.isActive": True}
    )
    if account is None:
        return []
    return [PlatformTarget(social_account_id=account.id, platform=account.platform)]


async def store_pending(
    db: Any,
    org_id: ObjectId,
    draft: GeneratedPost,
    *,
    events: EventBus | None = None,
    requested_by: str | None = None,
) -> Post:
    """The draft waiting at the workflow's approval, as a ``pending_approval`` post in the
    approval inbox (``GET /api/posts?status=pending_approval``), at its proposed slot. Once
    per ``thread_key``: a revision updates the same post while it still waits; a post that
    was already decided (in the inbox) is left as it is.

    With ``events``, the managers and admins are told a post is waiting, as when a person
    submits one (``services.workspace.approvals.submit``): when the draft enters the inbox
    and when a revision of it does, never twice for one revision (the step re-runs on resume
    and retry). ``requested_by``: the user the run acts for, who is not told of their own
    request."""
    posts = TenantRepository(db, Post)
    key = {"aiGeneration.threadId": draft.thread_key}
    post = Post(
        organization_id=org_id,
        content=PostContent(title=draft.title, text=draft.text, hashtags=draft.hashtags),
        scheduling=Scheduling(
            status="pending_approval", scheduled_at=draft.scheduled_at, timezone=draft.timezone
        ),
        ai_generation=_ai_generation(draft),
        platforms=await _targets(db, org_id, draft.platform),
        moderation=Moderation(status="pending"),
    )
    stored = await posts.insert_once(org_id, key, post)
    if stored.id == post.id:
        await _tell_waiting(events, stored, requested_by)
        return stored
    if stored.scheduling.status != "pending_approval":
        return stored
    # A revision is a new waiting draft; the same iteration again is a re-run of the step.
    revised = stored.ai_generation.iterations < draft.iterations
    doc = post.to_mongo()
    raw = await posts.collection.find_one_and_update(
        tenant_filter(org_id, {**key, "scheduling.status": "pending_approval"}),
        {
            "$set": {
                "content": doc["content"],
                "aiGeneration": doc["aiGeneration"],
                "scheduling.scheduledAt": draft.scheduled_at,
                "updatedAt": utcnow(),
            },
            "$inc": {"version": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        return stored
    updated = Post.from_mongo(raw)
    if revised:
        await _tell_waiting(events, updated, requested_by)
    return updated


async def _tell_waiting(events: EventBus | None, post: Post, requested_by: str | None) -> None:
    if events is None:
        return
    await events.emit(
        post.organization_id,
        POST_APPROVAL_REQUESTED,
        {
            "postId": str(post.id),
            "text": post.content.text,
            "platforms": sorted({t.platform for t in post.platforms}),
        },
        resource=("post", str(post.id)),
        actor=("user", requested_by) if requested_by else ("system", None),
    )


async def store_generated(db: Any, org_id: ObjectId, draft: GeneratedPost) -> Post:
    """Store an approved AI post in the queue: scheduled at its slot (or a draft without one),
    aimed at the organization's active account on its platform. Once per ``thread_key``: the
    post that waited for approval (``store_pending``) is the one approved; a post already
    approved in the inbox stays as the approver left it.

    A scheduled post takes a place in its month's allowance of the plan (PaymentRequired
    when none is left); a repeat of the step finds the post it stored and checks nothing."""
    posts = TenantRepository(db, Post)
    key = {"aiGeneration.threadId": draft.thread_key}
    stored = await posts.find_one(org_id, key)
    if stored is not None and stored.scheduling.status != "pending_approval":
        return stored
    if draft.scheduled_at is not None:
        await limits.check(db, org_id, "scheduled_posts", adding=1, at=draft.scheduled_at)
    status = "scheduled" if draft.scheduled_at else "draft"
    if stored is not None:
        raw = await posts.collection.find_one_and_update(
            tenant_filter(org_id, {**key, "scheduling.status": "pending_approval"}),
            {
                "$set": {
                    # As approved: the reviewer may have edited the text at the approval.
                    "content.text": draft.text,
                    "scheduling.status": status,
                    "scheduling.scheduledAt": draft.scheduled_at,
                    "moderation.status": "approved",
                    "moderation.moderatedAt": utcnow(),
                    "updatedAt": utcnow(),
                },
                "$inc": {"version": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Post.from_mongo(raw) if raw else await posts.find_one(org_id, key) or stored
    post = Post(
        organization_id=org_id,
        content=PostContent(title=draft.title, text=draft.text, hashtags=draft.hashtags),
        scheduling=Scheduling(
            status=status, scheduled_at=draft.scheduled_at, timezone=draft.timezone
        ),
        ai_generation=_ai_generation(draft),
        platforms=await _targets(db, org_id, draft.platform),
    )
    return await posts.insert_once(org_id, key, post)


async def discard_pending(db: Any, org_id: ObjectId, thread_key: str) -> bool:
    """The workflow's reviewer said no (or the revisions ran out): the post waiting for
    approval is removed, with its comments, so a rejected run stores nothing, as before it
    waited in the inbox. A post already decided in the inbox stays as the approver left it
    (a rejection there keeps the draft and its reason for people to rework)."""
    posts = TenantRepository(db, Post)
    waiting = await posts.find_one(
        org_id, {"aiGeneration.threadId": thread_key, "scheduling.status": "pending_approval"}
    )
    if waiting is None:
        return False
    result = await posts.collection.delete_one(
        tenant_filter(org_id, {"_id": waiting.id, "scheduling.status": "pending_approval"})
    )
    await TenantRepository(db, PostComment).collection.delete_many(
        tenant_filter(org_id, {"postId": waiting.id})
    )
    return result.deleted_count == 1


async def count_scheduled(db: Any, org_id: ObjectId) -> int:
    """How many posts wait in the queue to be published."""
    return await TenantRepository(db, Post).count(org_id, {"scheduling.status": "scheduled"})


async def pause_scheduled(db: Any, org_id: ObjectId) -> int:
    """Hold every scheduled post (a crisis); how many were paused now.

    A post the publishing engine began and left waiting between attempts (a 429, a backoff:
    it holds no token then) is held too: its published targets stay published, the others
    wait for the post to be scheduled again. A post a worker holds right now finishes."""
    repo = TenantRepository(db, Post)
    waiting = {"scheduling.status": "publishing", "publishing.token": None}
    held = await repo.update_many(org_id, waiting, {"scheduling.status": "paused"})
    return held + await repo.update_many(
        org_id, {"scheduling.status": "scheduled"}, {"scheduling.status": "paused"}
    )
