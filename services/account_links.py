"""Single-use, expiring secrets mailed to a person: password resets and email verifications.

The secret names the user's organization (``persistence.tokens``), so finding it is a
tenant-first lookup of its SHA-256. Using it sets ``usedAt`` with a compare-and-set, so of
two concurrent uses only one succeeds; issuing a new one retires the unused ones of the same
purpose, so only the newest link works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from persistence.errors import InvalidInput
from persistence.ids import utcnow
from persistence.models import AccountToken, User
from persistence.models.members import AccountTokenPurpose
from persistence.repository import TenantRepository
from persistence.tokens import MalformedToken, hash_token, new_token, token_org

KINDS: dict[AccountTokenPurpose, str] = {"password_reset": "prt", "email_verification": "evt"}
TTLS: dict[AccountTokenPurpose, timedelta] = {
    "password_reset": timedelta(hours=1),
    "email_verification": timedelta(hours=48),
}


def invalid_link(purpose: AccountTokenPurpose) -> InvalidInput:
    again = "ask for a new reset email" if purpose == "password_reset" else "ask for a new link"
    return InvalidInput(
        f"this link is invalid, has expired or was already used: {again}",
        code="invalid_token",
        fields=[{"field": "body.token", "message": "invalid, expired or already used"}],
    )


async def issue(db: Any, user: User, purpose: AccountTokenPurpose) -> str:
    """A new secret for ``user``; earlier unused ones of this purpose stop working."""
    repo = TenantRepository(db, AccountToken)
    now = utcnow()
    await repo.update_many(
        user.organization_id,
        {"userId": user.id, "purpose": purpose, "usedAt": None},
        {"usedAt": now},
    )
    token = new_token(KINDS[purpose], user.organization_id)
    await repo.insert(
        AccountToken(
            organization_id=user.organization_id,
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            expires_at=now + TTLS[purpose],
        )
    )
    return token


async def consume(db: Any, token: str, purpose: AccountTokenPurpose) -> AccountToken:
    """Use a secret once: the stored token, now marked used; InvalidInput if it is unknown,
    expired, already used or of another purpose."""
    try:
        org_id = token_org(KINDS[purpose], token)
    except MalformedToken as exc:
        raise invalid_link(purpose) from exc
    repo = TenantRepository(db, AccountToken)
    now = utcnow()
    stored = await repo.find_one(org_id, {"tokenHash": hash_token(token), "purpose": purpose})
    if stored is None or stored.used_at is not None or stored.expires_at <= now:
        raise invalid_link(purpose)
    used = await repo.update_many(org_id, {"_id": stored.id, "usedAt": None}, {"usedAt": now})
    if used != 1:
        raise invalid_link(purpose)
    return stored
