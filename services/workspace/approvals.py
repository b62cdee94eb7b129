"""Approvals and internal notes: a user submits, a manager or admin approves or rejects.

The inbox is the posts whose status is ``pending_approval``. Submitting checks the post as
it will go out (media included), so what a manager approves can be scheduled as it is.
Approving schedules the post at its proposed time (or one the approver gives), or leaves
it an approved draft without one; rejecting sends it back to its author as a draft with
the reason, which is also kept as a comment on the post. Every step is a versioned write,
so an approval never lands on a post edited after it was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict, InvalidInput
from persistence.ids import utcnow
from persistence.models import Post, PostComment
from persistence.models.workspace import CommentKind
from persistence.repository import TenantRepository, tenant_filter
from services import organizations
from services.events import POST_APPROVAL_REQUESTED, EventBus
from services.workspace import posts, rules

MAX_COMMENTS_PAGE = 200


@dataclass(frozen=True)
class Person:
    user_id: ObjectId
    email: str | None = None


class NotPending(Conflict):
    default_code = "not_pending_approval"


async def add_comment(
    db: Any,
    org_id: ObjectId,
    post_id: ObjectId,
    author: Person,
    text: str,
    kind: CommentKind = "note",
) -> PostComment:
    """An internal note on the post, with its author and time."""
    await posts.get(db, org_id, post_id)  # the post must be this organization's
    text = text.strip()
    if not text:
        raise InvalidInput.field("body.text", "write the comment")
    comment = PostComment(
        organization_id=org_id,
        post_id=post_id,
        user_id=author.user_id,
        kind=kind,
        text=text,
    )
    return await TenantRepository(db, PostComment).insert(comment)


async def comments(
    db: Any, org_id: ObjectId, post_id: ObjectId, *, limit: int = MAX_COMMENTS_PAGE
) -> list[tuple[PostComment, str | None]]:
    """The post's comments, oldest first, each with its author's email (None once the
    author's account is gone)."""
    await posts.get(db, org_id, post_id)
    raw = (
        await TenantRepository(db, PostComment)
        .collection.find(tenant_filter(org_id, {"postId": post_id}))
        .sort([("_id", 1)])
        .limit(limit)
        .to_list(None)
    )
    found = [PostComment.from_mongo(r) for r in raw]
    admin = OrganizationAdmin(db)
    emails: dict[ObjectId, str | None] = {}
    for comment in found:
        if comment.user_id is not None and comment.user_id not in emails:
            user = await admin.get_user(comment.user_id)
            emails[comment.user_id] = user.email if user else None
    return [(c, emails.get(c.user_id) if c.user_id else None) for c in found]


async def submit(
    db: Any,
    org_id: ObjectId,
    post_id: ObjectId,
    author: Person,
    note: str | None = None,
    *,
    events: EventBus | None = None,
) -> Post:
    """Send a draft (or a failed, cancelled or rejected post) for approval; with ``events``,
    the managers and admins are told a post is waiting."""
    post = await posts.get(db, org_id, post_id)
    posts.ensure_editable(post)
    if post.scheduling.status not in ("draft", "failed", "cancelled"):
        raise Conflict(
            f"the post is {post.scheduling.status}; only a draft can be submitted for approval",
            code="not_a_draft",
        )
    banned = (await organizations.settings(db, org_id)).banned_terms
    rules.ensure_valid(post, banned, going_out=True)
    saved = await posts.save(
        db,
        org_id,
        post_id,
        post.version,
        {
            "scheduling.status": "pending_approval",
            "moderation": {"status": "pending"},
        },
    )
    if note and note.strip():
        await add_comment(db, org_id, post_id, author, note, "submission")
    if events is not None:
        await events.emit(
            org_id,
            POST_APPROVAL_REQUESTED,
            {
                "postId": str(post_id),
                "text": saved.content.text,
                "platforms": sorted({t.platform for t in saved.platforms}),
            },
            resource=("post", str(post_id)),
            actor=("user", str(author.user_id)),
        )
    return saved


def _pending(post: Post) -> None:
    posts.ensure_editable(post)
    if post.scheduling.status != "pending_approval":
        raise NotPending(
            f"the post is {post.scheduling.status}, not waiting for approval",
        )


async def approve(
    db: Any,
    org_id: ObjectId,
    post_id: ObjectId,
    approver: Person,
    *,
    scheduled_at: datetime | None = None,
    comment: str | None = None,
) -> Post:
    """Approve a pending post: scheduled at ``scheduled_at`` or its proposed time (checked
    as it goes out and against the plan's allowance), or an approved draft without one."""
    post = await posts.get(db, org_id, post_id)
    _pending(post)
    now = utcnow()
    moderation = {
        "status": "approved",
        "moderatedBy": approver.user_id,
        "moderatedAt": now,
    }
    when = scheduled_at or post.scheduling.scheduled_at
    if when is not None and when < now - posts.PAST_GRACE:
        raise InvalidInput.field(
            "body.scheduledAt",
            "the proposed time has passed; approve with a new scheduledAt",
        )
    if when is None:
        saved = await posts.save(
            db,
            org_id,
            post_id,
            post.version,
            {"scheduling.status": "draft", "moderation": moderation},
        )
    else:
        # Approval and scheduling in one versioned write, with the checks and the plan's
        # allowance of posts.schedule.
        saved = await posts.schedule(
            db,
            org_id,
            post_id,
            when,
            version=post.version,
            where="body.scheduledAt",
            extra={"moderation": moderation},
        )
    if comment and comment.strip():
        await add_comment(db, org_id, post_id, approver, comment, "approval")
    return saved


async def reject(
    db: Any, org_id: ObjectId, post_id: ObjectId, approver: Person, comment: str
) -> Post:
    """Send a pending post back to its author as a draft, with the reason."""
    if not comment.strip():
        raise InvalidInput.field("body.comment", "say why the post is rejected")
    post = await posts.get(db, org_id, post_id)
    _pending(post)
    saved = await posts.save(
        db,
        org_id,
        post_id,
        post.version,
        {
            "scheduling.status": "draft",
            "moderation": {
                "status": "rejected",
                "moderatedBy": approver.user_id,
                "moderatedAt": utcnow(),
                "rejectionReason": comment.strip(),
            },
        },
    )
    await add_comment(db, org_id, post_id, approver, comment, "rejection")
    return saved
