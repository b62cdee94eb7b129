"""Members: who belongs to an organization, with which role, and the rules for changing that.

One person (a ``users`` document) belongs to any number of organizations, one ``memberships``
document each: an agency's people work in every client's organization with a role in each.
The rules that keep an organization governable live here: it always keeps an active admin
(the last one can be neither demoted nor removed), and a removed member loses access at once
(their sign-in sessions and API keys in that organization end with the membership).

Users stored before memberships existed carry their organization and role on the user
document; they are adopted when first read (``adopt``), so nothing needs a migration step and
code that still writes such users (the demo seed) keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict, Forbidden, NotFound
from persistence.ids import utcnow
from persistence.models import ApiKey, Membership, Organization, User, UserSession
from persistence.models.organizations import Role
from persistence.organizations import load_organization
from persistence.repository import TenantRepository
from services import audit

ROLES: tuple[Role, ...] = ("admin", "manager", "user", "viewer")


class SeatPolicy(Protocol):
    """Whether an organization may take ``adding`` more members (``adding=0``: whether it is
    within its allowance now, as an invitation counted when sent is accepted). Billing's
    ``services.billing.limits.PlanSeats`` applies the plan's members limit, raising
    PaymentRequired with code ``plan_limit``; invitations use it unless given another."""

    async def ensure_seat(self, db: Any, org: Organization, adding: int = 1) -> None: ...


@dataclass(frozen=True)
class Member:
    membership: Membership
    user: User


def _memberships(db: Any) -> TenantRepository[Membership]:
    return TenantRepository(db, Membership)


# --- adoption of users stored before memberships ------------------------------------------


async def adopt(db: Any, user: User) -> Membership:
    """The user's membership in the organization their document is stored under; made from
    the user's ``role`` if they have none there yet (a user stored before memberships).
    Atomic and idempotent; a removed membership stays removed."""
    return await _memberships(db).insert_once(
        user.organization_id,
        {"userId": user.id},
        Membership(
            organization_id=user.organization_id,
            user_id=user.id,
            role=user.role,
            joined_at=user.created_at,
        ),
    )


async def adopt_organization(db: Any, org_id: ObjectId) -> None:
    """Adopt every user stored under ``org_id`` that has no membership there yet."""
    users = await TenantRepository(db, User).find(org_id)
    if not users:
        return
    known = {
        m.user_id
        for m in await _memberships(db).find(org_id, {"userId": {"$in": [u.id for u in users]}})
    }
    for user in users:
        if user.id not in known:
            await adopt(db, user)


# --- reading -------------------------------------------------------------------------------


async def active_membership(db: Any, org_id: ObjectId, user: User) -> Membership | None:
    """The user's active membership in ``org_id``, or None: every authenticated request asks
    this, so a removal or a demotion applies to the very next request."""
    membership = await _memberships(db).find_one(org_id, {"userId": user.id})
    if membership is None and user.organization_id == org_id:
        membership = await adopt(db, user)
    return membership if membership is not None and membership.status == "active" else None


@dataclass(frozen=True)
class OrganizationMembership:
    membership: Membership
    organization: Organization


async def organizations_of(db: Any, user: User) -> list[OrganizationMembership]:
    """Every organization the user is an active member of, oldest membership first."""
    await adopt(db, user)
    found = []
    for membership in await OrganizationAdmin(db).memberships_of(user.id):
        org = await load_organization(db, membership.organization_id)
        if org is not None and org.deleted_at is None:
            found.append(OrganizationMembership(membership, org))
    return found


async def organization_ids_of(db: Any, user: User) -> list[ObjectId]:
    return [m.organization.id for m in await organizations_of(db, user)]


async def choose_organization(
    db: Any, user: User, requested: ObjectId | None = None
) -> OrganizationMembership:
    """The organization a sign-in opens: ``requested`` if the user is a member, else the
    one they used last."""
    options = await organizations_of(db, user)
    if requested is not None:
        for option in options:
            if option.organization.id == requested:
                return option
        # Not found rather than forbidden: whether another organization exists is not the
        # caller's business.
        raise NotFound("you are not a member of an organization with this id")
    if not options:
        raise Forbidden(
            "this account belongs to no organization any more; ask an admin to invite you",
            code="no_organization",
        )
    return max(options, key=lambda o: o.membership.last_used_at or o.membership.joined_at)


async def mark_used(db: Any, membership: Membership) -> None:
    await _memberships(db).update(
        membership.organization_id, membership.id, {"lastUsedAt": utcnow()}
    )


async def list_members(db: Any, org_id: ObjectId) -> list[Member]:
    """The organization's active members, oldest first."""
    await adopt_organization(db, org_id)
    memberships = await _memberships(db).find(
        org_id, {"status": "active"}, sort=[("joinedAt", 1), ("_id", 1)]
    )
    users = await OrganizationAdmin(db).users_by_ids([m.user_id for m in memberships])
    return [Member(m, users[m.user_id]) for m in memberships if m.user_id in users]


async def get_member(db: Any, org_id: ObjectId, user_id: ObjectId) -> Member:
    """An active member; NotFound for anyone else (another organization's user included)."""
    await adopt_organization(db, org_id)
    membership = await _memberships(db).find_one(org_id, {"userId": user_id, "status": "active"})
    user = await OrganizationAdmin(db).get_user(user_id) if membership else None
    if membership is None or user is None:
        raise NotFound("no such member")
    return Member(membership, user)


async def admin_count(db: Any, org_id: ObjectId) -> int:
    return await _memberships(db).count(org_id, {"role": "admin", "status": "active"})


# --- changes -------------------------------------------------------------------------------


async def add(
    db: Any, org_id: ObjectId, user: User, role: Role, *, invited_by: ObjectId | None = None
) -> Membership:
    """Make ``user`` an active member with ``role`` (again, if they had been removed)."""
    await adopt(db, user)
    repo = _memberships(db)
    now = utcnow()
    existing = await repo.find_one(org_id, {"userId": user.id})
    if existing is not None:
        if existing.status == "active":
            raise Conflict("already a member of this organization", code="already_member")
        back = await repo.update_many(
            org_id,
            {"_id": existing.id, "status": "removed"},
            {
                "status": "active",
                "role": role,
                "joinedAt": now,
                "removedAt": None,
                "invitedBy": invited_by,
            },
        )
        if back != 1:
            raise Conflict("already a member of this organization", code="already_member")
        return await repo.get(org_id, existing.id) or existing
    membership = Membership(
        organization_id=org_id, user_id=user.id, role=role, joined_at=now, invited_by=invited_by
    )
    try:
        return await repo.insert(membership)
    except DuplicateKeyError as exc:  # added concurrently
        raise Conflict("already a member of this organization", code="already_member") from exc


def _last_admin() -> Conflict:
    return Conflict(
        "an organization needs an admin: make another member admin first",
        code="last_admin",
    )


async def _still_governed(db: Any, org_id: ObjectId, undo: dict[str, Any], mid: ObjectId) -> None:
    """After demoting or removing an admin: if no admin is left (two admins demoting each
    other at once both passed the check), undo this change and refuse it."""
    if await admin_count(db, org_id) == 0:
        await _memberships(db).update(org_id, mid, undo)
        raise _last_admin()


async def change_role(db: Any, org_id: ObjectId, user_id: ObjectId, role: Role) -> Member:
    """Give a member another role. The last admin cannot be demoted."""
    member = await get_member(db, org_id, user_id)
    old = member.membership.role
    if old == role:
        return member
    if old == "admin" and await admin_count(db, org_id) <= 1:
        raise _last_admin()
    repo = _memberships(db)
    # Conditional on the role we read, so a concurrent change is not silently overwritten.
    changed = await repo.update_many(
        org_id, {"_id": member.membership.id, "role": old, "status": "active"}, {"role": role}
    )
    if changed != 1:
        raise Conflict("the member changed meanwhile; reload and try again")
    if old == "admin":
        await _still_governed(db, org_id, {"role": "admin"}, member.membership.id)
    if member.user.organization_id == org_id:
        # Keep the user document's own role in step with its home organization's membership.
        await TenantRepository(db, User).update(org_id, user_id, {"role": role})
    await audit.record(
        db,
        org_id,
        action="update",
        operation="member.role_changed",
        resource_type="members",
        resource_id=user_id,
        resource_name=member.user.email,
        summary=f"{member.user.email}: role {old} → {role}",
        before={"role": old},
        after={"role": role},
        fields=["role"],
    )
    updated = await repo.get(org_id, member.membership.id)
    return Member(updated or member.membership, member.user)


async def remove(db: Any, org_id: ObjectId, user_id: ObjectId) -> None:
    """Take a member out of the organization: their access there ends at once (sessions and
    API keys in this organization are revoked). The last admin cannot be removed."""
    member = await get_member(db, org_id, user_id)
    if member.membership.role == "admin" and await admin_count(db, org_id) <= 1:
        raise _last_admin()
    now = utcnow()
    removed = await _memberships(db).update_many(
        org_id,
        {"_id": member.membership.id, "status": "active"},
        {"status": "removed", "removedAt": now},
    )
    if removed != 1:
        raise NotFound("no such member")
    if member.membership.role == "admin":
        await _still_governed(
            db, org_id, {"status": "active", "removedAt": None}, member.membership.id
        )
    sessions = await TenantRepository(db, UserSession).update_many(
        org_id, {"userId": user_id, "isActive": True}, {"isActive": False}
    )
    keys = await TenantRepository(db, ApiKey).update_many(
        org_id, {"userId": user_id, "revokedAt": None}, {"revokedAt": now}
    )
    await audit.record(
        db,
        org_id,
        action="delete",
        operation="member.removed",
        resource_type="members",
        resource_id=user_id,
        resource_name=member.user.email,
        summary=(
            f"{member.user.email} ({member.membership.role}) removed; "
            f"{sessions} session(s) ended, {keys} API key(s) revoked"
        ),
        before={"role": member.membership.role, "status": "active"},
        after={"status": "removed"},
    )
