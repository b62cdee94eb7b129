"""Invitations: an admin asks someone, by email, to join with a role.

The email carries a single-use link that expires in seven days; only its SHA-256 is stored.
Inviting the same address again replaces the pending invitation (the old link stops
working). An organization that lists allowed email domains invites only addresses there.

Accepting proves the person reads that mailbox. Someone without an account chooses a password
and gets one (their address counts as verified). Someone with an account proves it is theirs:
their bearer token, or their password (and second factor) with the link. The link alone never
adds an organization to an existing account, and an invitation sent to one address cannot be
accepted by another.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from persistence.admin import OrganizationAdmin
from persistence.crypto import CredentialCipher
from persistence.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from persistence.ids import utcnow
from persistence.mailer import Mailer
from persistence.models import Invitation, Membership, Organization, User
from persistence.models.organizations import Authentication, Profile, Role
from persistence.passwords import hash_password
from persistence.repository import TenantRepository
from persistence.tokens import MalformedToken, hash_token, new_token, token_org
from services import accounts, audit, emails, members, organizations
from services.billing.limits import PLAN_SEATS
from services.gdpr import consent
from services.members import SeatPolicy

KIND = "inv"
TTL = timedelta(days=7)


def _repo(db: Any) -> TenantRepository[Invitation]:
    return TenantRepository(db, Invitation)


def _invalid() -> InvalidInput:
    return InvalidInput(
        "this invitation link is invalid, has expired, was revoked or was already used: "
        "ask an admin of the organization for a new one",
        code="invalid_token",
        fields=[{"field": "body.token", "message": "invalid, expired or already used"}],
    )


def _domain_of(email: str) -> str | None:
    return organizations.normalize_domain(email.rpartition("@")[2])


async def invite(
    db: Any,
    mailer: Mailer,
    base_url: str,
    org_id: ObjectId,
    inviter: User,
    *,
    email: str,
    role: Role,
    seats: SeatPolicy = PLAN_SEATS,
) -> Invitation:
    """Store an invitation and mail its link. If the mail cannot be sent, nothing stays."""
    org = await organizations.get(db, org_id)
    email = email.strip().lower()
    allowed = org.settings.allowed_domains
    if allowed and _domain_of(email) not in allowed:
        raise InvalidInput.field(
            "body.email", f"this organization invites addresses at {', '.join(allowed)} only"
        )
    existing = await OrganizationAdmin(db).find_user_by_email(email)
    if existing is not None and await members.active_membership(db, org_id, existing):
        raise Conflict("this person is already a member", code="already_member")
    repo = _repo(db)
    now = utcnow()
    # Inviting an address again replaces its pending invitation: it takes no new seat.
    again = await repo.count(
        org_id, {"email": email, "status": "pending", "expiresAt": {"$gt": now}}
    )
    await seats.ensure_seat(db, org, 0 if again else 1)
    replaced = await repo.update_many(
        org_id, {"email": email, "status": "pending"}, {"status": "revoked", "revokedAt": now}
    )
    token = new_token(KIND, org_id)
    invitation = await repo.insert(
        Invitation(
            organization_id=org_id,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=inviter.id,
            expires_at=now + TTL,
        )
    )
    inviter_name = (
        " ".join(filter(None, [inviter.profile.first_name, inviter.profile.last_name]))
        or inviter.email
    )
    message = emails.invitation(
        org_name=org.name,
        inviter=inviter_name,
        role=role,
        url=emails.link(base_url, emails.INVITATION_PATH, token),
        ttl=TTL,
    )
    try:
        await emails.send(mailer, email, message)
    except Exception as exc:
        await repo.delete(org_id, invitation.id)
        raise Unavailable(
            "the invitation email could not be sent, so no invitation was made; try again"
        ) from exc
    await audit.record(
        db,
        org_id,
        action="create",
        operation="member.invited",
        resource_type="invitations",
        resource_id=invitation.id,
        resource_name=email,
        summary=f"{email} invited as {role}"
        + (f" (replacing {replaced} pending invitation)" if replaced else ""),
        after={"email": email, "role": role},
    )
    return invitation


async def pending(db: Any, org_id: ObjectId) -> list[Invitation]:
    """Invitations that can still be accepted, newest first."""
    return await _repo(db).find(
        org_id,
        {"status": "pending", "expiresAt": {"$gt": utcnow()}},
        sort=[("createdAt", -1)],
    )


async def revoke(db: Any, org_id: ObjectId, invitation_id: ObjectId) -> None:
    repo = _repo(db)
    invitation = await repo.find_one(org_id, {"_id": invitation_id, "status": "pending"})
    if invitation is None:
        raise NotFound("no such pending invitation")
    done = await repo.update_many(
        org_id,
        {"_id": invitation_id, "status": "pending"},
        {"status": "revoked", "revokedAt": utcnow()},
    )
    if done != 1:
        raise NotFound("no such pending invitation")
    await audit.record(
        db,
        org_id,
        action="delete",
        operation="member.invitation_revoked",
        resource_type="invitations",
        resource_id=invitation_id,
        resource_name=invitation.email,
        summary=f"the invitation of {invitation.email} was revoked",
    )


async def _valid(db: Any, token: str) -> Invitation:
    try:
        org_id = token_org(KIND, token)
    except MalformedToken as exc:
        raise _invalid() from exc
    invitation = await _repo(db).find_one(org_id, {"tokenHash": hash_token(token)})
    if invitation is None or invitation.status != "pending" or invitation.expires_at <= utcnow():
        raise _invalid()
    return invitation


async def _seat_for(db: Any, invitation: Invitation) -> None:
    """The invitation's seat was counted when it was sent; accepting it is refused only if
    the organization is over its members limit now (it moved to a smaller plan) or its
    subscription allows nothing new."""
    await PLAN_SEATS.ensure_seat(db, await organizations.get(db, invitation.organization_id), 0)


async def _claim(db: Any, invitation: Invitation, user_id: ObjectId) -> None:
    """Mark the invitation used, once: of two concurrent acceptances one wins."""
    claimed = await _repo(db).update_many(
        invitation.organization_id,
        {"_id": invitation.id, "status": "pending"},
        {"status": "accepted", "acceptedAt": utcnow(), "acceptedBy": user_id},
    )
    if claimed != 1:
        raise _invalid()


async def _release(db: Any, invitation: Invitation) -> None:
    await _repo(db).update_many(
        invitation.organization_id,
        {"_id": invitation.id, "status": "accepted"},
        {"status": "pending", "acceptedAt": None, "acceptedBy": None},
    )


@dataclass(frozen=True)
class Acceptance:
    user: User
    membership: Membership
    organization: Organization


async def _joined(
    db: Any, invitation: Invitation, user: User, membership: Membership
) -> Acceptance:
    org = await organizations.get(db, invitation.organization_id)
    await audit.record(
        db,
        org.id,
        action="create",
        operation="member.joined",
        resource_type="members",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email} accepted the invitation and joined as {membership.role}",
        after={"role": membership.role},
        actor=audit.Actor.user(user.id, user.email),
    )
    return Acceptance(user, membership, org)


async def accept_with_password(
    db: Any,
    cipher: CredentialCipher,
    token: str,
    *,
    password: str,
    two_factor_code: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> Acceptance:
    """Without a bearer token: the invited address's account joins if ``password`` (and the
    second factor, when on) is its own; if the address has no account, one is made with
    ``password``."""
    invitation = await _valid(db, token)
    await _seat_for(db, invitation)
    existing = await OrganizationAdmin(db).find_user_by_email(invitation.email)
    if existing is not None:
        user = await accounts.authenticate(db, cipher, invitation.email, password, two_factor_code)
        return await accept_as(db, token, user)
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(
        organization_id=invitation.organization_id,
        email=invitation.email,
        password_hash=password_hash,
        profile=Profile(first_name=first_name, last_name=last_name),
        role=invitation.role,
        # The link came to this mailbox: that is what verification proves.
        authentication=Authentication(email_verified=True, email_verified_at=utcnow()),
        # Making the account accepts the terms, as registering does.
        gdpr=consent.user_consent(utcnow()),
    )
    await _claim(db, invitation, user.id)
    try:
        await TenantRepository(db, User).insert(user)
    except DuplicateKeyError as exc:  # the address signed up meanwhile
        await _release(db, invitation)
        raise Conflict(
            "an account with this email was just made: accept again with its password",
            code="account_exists",
        ) from exc
    membership = await members.adopt(db, user)
    return await _joined(db, invitation, user, membership)


async def accept_as(db: Any, token: str, user: User) -> Acceptance:
    """The signed-in ``user`` joins the invitation's organization."""
    invitation = await _valid(db, token)
    if user.email != invitation.email:
        raise Forbidden(
            "this invitation was sent to another address: sign in with that address",
            code="wrong_account",
        )
    await _seat_for(db, invitation)
    await _claim(db, invitation, user.id)
    try:
        membership = await members.add(
            db, invitation.organization_id, user, invitation.role, invited_by=invitation.invited_by
        )
    except Conflict:
        await _release(db, invitation)
        raise
    return await _joined(db, invitation, user, membership)
