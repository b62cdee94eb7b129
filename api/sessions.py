"""Sign-in sessions: refresh-token rotation with reuse detection, per session family.

A family is one sign-in on one device, in one organization (the token's active one). Each
refresh stores a new session document in the family and retires the old one; presenting a
retired token means it leaked (or raced), so the whole family is revoked and that device must
sign in again. Switching organization ends the family and starts one in the other
organization.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from api.security import (
    REFRESH_TOKEN_TTL,
    InvalidToken,
    create_access_token,
    hash_secret,
    new_refresh_token,
    refresh_token_org,
)
from persistence.ids import utcnow
from persistence.models.organizations import DeviceInfo, SessionLocation, User, UserSession
from persistence.repository import TenantRepository


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    session_id: str  # the family id


class SessionRevoked(InvalidToken):
    """A rotated refresh token was presented again; its family is now revoked."""


class Sessions:
    def __init__(self, db: Any, signing_secret: str) -> None:
        self.repo = TenantRepository(db, UserSession)
        self.secret = signing_secret

    async def start(
        self,
        user: User,
        org_id: ObjectId,
        *,
        user_agent: str | None,
        ip: str | None,
        family_id: str | None = None,
        signed_in_at: datetime | None = None,
    ) -> TokenPair:
        """A new session of ``user`` acting in ``org_id`` (in ``family_id``, or a new
        family) and its token pair."""
        family = family_id or uuid.uuid4().hex
        now = utcnow()
        refresh = new_refresh_token(org_id)
        await self.repo.insert(
            UserSession(
                organization_id=org_id,
                user_id=user.id,
                token_hash=hash_secret(refresh),
                family_id=family,
                signed_in_at=signed_in_at or now,
                device_info=DeviceInfo(user_agent=(user_agent or "")[:500] or None),
                location=SessionLocation(ip_address=ip),
                expires_at=now + REFRESH_TOKEN_TTL,
            )
        )
        access = create_access_token(self.secret, user_id=user.id, org_id=org_id, session_id=family)
        return TokenPair(access, refresh, family)

    async def find(self, refresh_token: str) -> UserSession:
        """The stored session of a refresh token, active or not; InvalidToken if unknown."""
        org_id = refresh_token_org(refresh_token)
        session = await self.repo.find_one(org_id, {"tokenHash": hash_secret(refresh_token)})
        if session is None:
            raise InvalidToken("unknown refresh token")
        return session

    async def consume(self, refresh_token: str) -> UserSession:
        """Use a refresh token once: its session is retired and returned, so the caller can
        start the next one in the same family. A second use revokes the whole family."""
        session = await self.find(refresh_token)
        if session.expires_at <= utcnow():
            raise InvalidToken("the refresh token has expired")
        # The isActive condition makes this a compare-and-set: of two concurrent refreshes
        # with one token only one wins, and the other counts as a reuse.
        retired = await self.repo.update_many(
            session.organization_id, {"_id": session.id, "isActive": True}, {"isActive": False}
        )
        if retired != 1:
            await self.revoke_family(session.organization_id, session.family_id)
            raise SessionRevoked("this refresh token was already used or revoked; sign in again")
        return session

    async def revoke_family(self, org_id: ObjectId, family_id: str) -> int:
        return await self.repo.update_many(
            org_id, {"familyId": family_id, "isActive": True}, {"isActive": False}
        )

    async def is_active(self, org_id: ObjectId, user_id: ObjectId, family_id: str) -> bool:
        """Whether the family still has a live session (logout and reuse end it at once)."""
        count = await self.repo.count(
            org_id,
            {
                "userId": user_id,
                "familyId": family_id,
                "isActive": True,
                "expiresAt": {"$gt": utcnow()},
            },
        )
        return count > 0
