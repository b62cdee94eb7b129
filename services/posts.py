"""Posts as the agents make and hold them: storing an approved AI draft, pausing the queue.

Every operation is idempotent, because graph steps re-run on resume and retry: an AI post is
stored once per graph thread, and pausing what is already paused changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.models import Post, SocialAccount
from persistence.models.content import AiGeneration, PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.billing import limits


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


async def store_generated(db: Any, org_id: ObjectId, draft: GeneratedPost) -> Post:
    """Store an approved AI post in the queue: scheduled at its slot (or a draft without one),
    aimed at the organization's active account on its platform. Once per ``thread_key``.

    A scheduled post takes a place in its month's allowance of the plan (PaymentRequired
    when none is left); a repeat of the step finds the post it stored and checks nothing."""
    posts = TenantRepository(db, Post)
    key = {"aiGeneration.threadId": draft.thread_key}
    stored = await posts.find_one(org_id, key)
    if stored is not None:
        return stored
    if draft.scheduled_at is not None:
        await limits.check(db, org_id, "scheduled_posts", adding=1, at=draft.scheduled_at)
    account = await TenantRepository(db, SocialAccount).find_one(
        org_id, {"platform": draft.platform, "status.isActive": True}
    )
    post = Post(
        organization_id=org_id,
        content=PostContent(title=draft.title, text=draft.text, hashtags=draft.hashtags),
        scheduling=Scheduling(
            status="scheduled" if draft.scheduled_at else "draft",
            scheduled_at=draft.scheduled_at,
            timezone=draft.timezone,
        ),
        ai_generation=AiGeneration(
            is_ai_generated=True,
            agent_id="content_creator",
            prompt=draft.brief,
            model=draft.model,
            iterations=draft.iterations,
            feedback=draft.feedback,
            thread_id=draft.thread_key,
        ),
        platforms=[PlatformTarget(social_account_id=account.id, platform=account.platform)]
        if account
        else [],
    )
    return await posts.insert_once(org_id, key, post)


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
