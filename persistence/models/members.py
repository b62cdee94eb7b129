"""memberships, invitations, account_tokens: who belongs to which organization, how they
were asked to join, and the single-use links that prove someone reads a mailbox.

A membership and an invitation belong to the organization they grant access to (their
``organizationId``), so an organization's admins list and change them tenant-first. An
account token belongs to the user's own organization (``User.organizationId``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime, utcnow
from persistence.models.base import Document
from persistence.models.organizations import Role

MembershipStatus = Literal["active", "removed"]
InvitationStatus = Literal["pending", "accepted", "revoked"]
AccountTokenPurpose = Literal["password_reset", "email_verification"]


class Membership(Document):
    """One person's role in one organization. A removed member's document is kept (status
    ``removed``): it says they left, and a user stored before memberships existed is not
    adopted back into an organization that removed them."""

    collection = "memberships"

    user_id: PyObjectId
    role: Role
    status: MembershipStatus = "active"
    joined_at: UTCDateTime = Field(default_factory=utcnow)
    invited_by: PyObjectId | None = None
    removed_at: UTCDateTime | None = None
    # When the person last signed in to, or switched to, this organization: sign-in picks
    # the most recent one when no organization is asked for.
    last_used_at: UTCDateTime | None = None


class Invitation(Document):
    """An offer to join with a role, sent by email as a single-use, expiring link. Only the
    link's SHA-256 is stored."""

    collection = "invitations"

    email: str = Field(min_length=3, max_length=320)
    role: Role
    token_hash: str
    invited_by: PyObjectId
    status: InvitationStatus = "pending"
    expires_at: UTCDateTime
    accepted_at: UTCDateTime | None = None
    accepted_by: PyObjectId | None = None
    revoked_at: UTCDateTime | None = None


class AccountToken(Document):
    """A single-use, expiring secret mailed to a user: a password reset or an email
    verification. Only its SHA-256 is stored; ``usedAt`` is set once, atomically."""

    collection = "account_tokens"

    user_id: PyObjectId
    purpose: AccountTokenPurpose
    token_hash: str
    expires_at: UTCDateTime
    used_at: UTCDateTime | None = None
