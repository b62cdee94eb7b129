"""The connected accounts of an organization: listing, settings, disconnecting.

Disconnecting revokes the tokens at the network first (so they stop working even if a copy
survived somewhere), then removes the account; a network that no longer accepts the tokens
(already revoked, expired) is not a reason to keep the account.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bson import ObjectId

from persistence.errors import InvalidInput, NotFound
from persistence.models import SocialAccount
from persistence.repository import TenantRepository
from services.social_accounts.errors import translated
from services.social_accounts.ports import AccountsRuntime
from services.social_accounts.tokens import unsealed
from tools.platforms.base import NeedsReconnect, PlatformError, Unsupported

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HASHTAG = re.compile(r"#[^\s#]{1,100}")
MAX_DEFAULT_HASHTAGS = 30


def repo(rt: AccountsRuntime) -> TenantRepository[SocialAccount]:
    return TenantRepository(rt.db, SocialAccount)


async def get(rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId) -> SocialAccount:
    account = await repo(rt).get(org_id, account_id)
    if account is None or account.status.connection == "disconnected":
        raise NotFound("no such social account", code="social_account_not_found")
    return account


async def list_accounts(
    rt: AccountsRuntime, org_id: ObjectId, platform: str | None = None
) -> list[SocialAccount]:
    query: dict[str, Any] = {"status.connection": {"$ne": "disconnected"}}
    if platform:
        query["platform"] = platform
    return await repo(rt).find(org_id, query, sort=[("platform", 1), ("createdAt", 1)])


@dataclass(frozen=True, slots=True)
class PostingWindow:
    """Posting allowed on ``days`` between ``start`` and ``end`` (account's timezone)."""

    days: tuple[str, ...]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What ``PUT /api/social-accounts/{id}`` may change; None leaves a field as it is."""

    default_hashtags: list[str] | None = None
    posting_windows: list[PostingWindow] | None = None
    timezone: str | None = None
    auto_post: bool | None = None


def _checked(change: SettingsChange) -> dict[str, Any]:
    """The ``$set`` changes for ``change``, or InvalidInput naming every bad field."""
    problems: list[dict[str, str]] = []
    changes: dict[str, Any] = {}
    if change.default_hashtags is not None:
        tags = change.default_hashtags
        if len(tags) > MAX_DEFAULT_HASHTAGS:
            problems.append(
                {
                    "field": "body.defaultHashtags",
                    "message": f"at most {MAX_DEFAULT_HASHTAGS} hashtags",
                }
            )
        for i, tag in enumerate(tags):
            if not _HASHTAG.fullmatch(tag):
                problems.append(
                    {
                        "field": f"body.defaultHashtags.{i}",
                        "message": "a hashtag is # followed by 1 to 100 characters, no spaces",
                    }
                )
        changes["settings.defaultHashtags"] = list(dict.fromkeys(tags))
    if change.timezone is not None:
        try:
            ZoneInfo(change.timezone)
            changes["settings.timezone"] = change.timezone
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory name
            problems.append(
                {"field": "body.timezone", "message": "an IANA time zone, e.g. Europe/Paris"}
            )
    if change.posting_windows is not None:
        for i, window in enumerate(change.posting_windows):
            if window.end <= window.start:
                problems.append(
                    {
                        "field": f"body.postingWindows.{i}.end",
                        "message": "must be after start (a window ends the same day)",
                    }
                )
        changes["settings.postingSchedule"] = {
            "windows": [
                {
                    "days": list(w.days),
                    "start": w.start.strftime("%H:%M"),
                    "end": w.end.strftime("%H:%M"),
                }
                for w in change.posting_windows
            ]
        }
    if change.auto_post is not None:
        changes["settings.autoPost"] = change.auto_post
    if problems:
        names = ", ".join(dict.fromkeys(p["field"] for p in problems))
        raise InvalidInput(f"invalid input: {names}", fields=problems)
    return changes


async def update_settings(
    rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId, change: SettingsChange
) -> SocialAccount:
    changes = _checked(change)
    await get(rt, org_id, account_id)
    if not changes:
        return await get(rt, org_id, account_id)
    updated = await repo(rt).update(org_id, account_id, changes)
    if updated is None:
        raise NotFound("no such social account", code="social_account_not_found")
    return updated


async def disconnect(rt: AccountsRuntime, org_id: ObjectId, account_id: ObjectId) -> None:
    """Revoke the account's tokens at the network, then remove the account."""
    account = await get(rt, org_id, account_id)
    if account.authentication.access_token and account.status.connection == "connected":
        provider = rt.platforms.provider(account.platform)
        try:
            await provider.revoke(unsealed(rt.cipher, account))
        except (NeedsReconnect, Unsupported):
            # Tokens the network already refuses need no revoking, and a network without
            # revocation cannot be asked; the account goes either way.
            log.info("tokens of %s not revoked at %s", account_id, account.platform)
        except PlatformError as exc:  # the network down: keep the account, try again later
            raise translated(exc) from exc
    await repo(rt).delete(org_id, account_id)
