"""Warnings when a post is scheduled: things a person probably did not mean (postiz #1779).

Two, per target account, neither blocking (the API shows them beside the saved post):

* ``duplicate_text``: the same text is already queued for the account (scheduled, waiting
  for approval, paused or being published). Networks refuse or bury duplicates (X answers
  403 "duplicate content"), so the second would likely fail anyway.
* ``same_account_within_hour``: another post goes out on the same account less than an
  hour before or after this one (queued, being published, or already published).

The texts compared are what each network would receive (the target's own text, or the
post's text with its hashtags composed in), with case and runs of whitespace ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bson import ObjectId

from persistence.models import Post
from persistence.models.content import PlatformTarget
from persistence.repository import TenantRepository
from tools.platform_rules import compose

__all__ = ["WINDOW", "ScheduleWarning", "schedule_warnings"]

WINDOW = timedelta(hours=1)
QUEUED = ("scheduled", "pending_approval", "paused", "publishing")
WarningCode = Literal["duplicate_text", "same_account_within_hour"]


@dataclass(frozen=True, slots=True)
class ScheduleWarning:
    code: WarningCode
    message: str
    social_account_id: ObjectId
    platform: str
    other_post_id: ObjectId
    other_scheduled_at: datetime | None


def _text(post: Post, target: PlatformTarget) -> str:
    if target.text is not None:
        return target.text
    return compose(post.content.text, post.content.hashtags, target.platform)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


async def schedule_warnings(db: Any, org_id: ObjectId, post: Post) -> list[ScheduleWarning]:
    """What to warn about if ``post`` (stored or not yet) goes out at its scheduled time."""
    accounts = {t.social_account_id for t in post.platforms}
    if not accounts:
        return []
    repo = TenantRepository(db, Post)
    same_accounts = {"platforms.socialAccountId": {"$in": list(accounts)}, "_id": {"$ne": post.id}}
    warnings: list[ScheduleWarning] = []

    queued = await repo.find(org_id, {**same_accounts, "scheduling.status": {"$in": list(QUEUED)}})
    for target in post.platforms:
        mine = _key(_text(post, target))
        for other in queued:
            for theirs in other.platforms:
                if theirs.social_account_id != target.social_account_id:
                    continue
                if _key(_text(other, theirs)) == mine:
                    warnings.append(
                        ScheduleWarning(
                            "duplicate_text",
                            f"the same text is already queued for this {target.platform} "
                            "account; the network may refuse it as a duplicate",
                            target.social_account_id,
                            target.platform,
                            other.id,
                            other.scheduling.scheduled_at,
                        )
                    )

    at = post.scheduling.scheduled_at
    if at is None:
        return warnings
    near = await repo.find(
        org_id,
        {
            **same_accounts,
            "scheduling.status": {"$in": [*QUEUED, "published", "partially_published"]},
            "scheduling.scheduledAt": {"$gt": at - WINDOW, "$lt": at + WINDOW},
        },
        sort=[("scheduling.scheduledAt", 1)],
    )
    for target in post.platforms:
        for other in near:
            if not any(t.social_account_id == target.social_account_id for t in other.platforms):
                continue
            theirs_at = other.scheduling.scheduled_at or at
            minutes = int(abs((theirs_at - at).total_seconds())) // 60
            side = "after" if theirs_at > at else "before"
            warnings.append(
                ScheduleWarning(
                    "same_account_within_hour",
                    f"another post goes out on this {target.platform} account {minutes} "
                    f"minutes {side} this one",
                    target.social_account_id,
                    target.platform,
                    other.id,
                    other.scheduling.scheduled_at,
                )
            )
    return warnings
