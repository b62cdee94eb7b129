"""Approving in the inbox resumes the workflow that made the post.

A post the content_creation workflow submitted waits both in the approval inbox and at its
thread's approval interrupt. Deciding it in the inbox (``services.workspace.approvals``)
then answers that interrupt with the same decision, so the thread finishes as it would
have if the reviewer had answered it there (the draft enters the content history memory,
the run is complete). The post is decided first: the workflow's own steps find it decided
and leave it as the approver did.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.models import Post
from runs.engine import RunEngine
from runs.errors import NothingToResume
from services.workspace import approvals

WORKFLOW = "content_creation"


def _thread_of(post: Post) -> str | None:
    """The workflow thread a generated post waits on (its thread key is ``org:thread``)."""
    key = post.ai_generation.thread_id
    if not post.ai_generation.is_ai_generated or not key or ":" not in key:
        return None
    org, thread = key.split(":", 1)
    return thread if org == str(post.organization_id) else None


async def _answer(engine: RunEngine, post: Post, user_id: ObjectId, answer: dict[str, Any]) -> None:
    thread = _thread_of(post)
    if thread is None:
        return
    ctx = engine.context(post.organization_id, graph=WORKFLOW, thread_id=thread, user_id=user_id)
    # NothingToResume: answered in the workflow already, or its thread is gone; either way
    # the post is decided.
    with contextlib.suppress(NothingToResume):
        await engine.run(ctx, resume=answer)


async def approve(
    engine: RunEngine,
    org_id: ObjectId,
    post_id: ObjectId,
    approver: approvals.Person,
    *,
    scheduled_at: datetime | None = None,
    comment: str | None = None,
) -> Post:
    db = engine.services.db
    post = await approvals.approve(
        db, org_id, post_id, approver, scheduled_at=scheduled_at, comment=comment
    )
    await _answer(engine, post, approver.user_id, {"action": "approve"})
    return await approvals.posts.get(db, org_id, post_id)


async def reject(
    engine: RunEngine, org_id: ObjectId, post_id: ObjectId, approver: approvals.Person, comment: str
) -> Post:
    db = engine.services.db
    post = await approvals.reject(db, org_id, post_id, approver, comment)
    await _answer(engine, post, approver.user_id, {"action": "reject", "feedback": comment})
    return await approvals.posts.get(db, org_id, post_id)
