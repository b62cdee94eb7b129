"""Erasing an organization, or a person, from every store (GDPR article 17).

An organization's erasure first cuts access (memberships, sign-in sessions and API keys go
before anything else, so the members' next request is refused), then stops what could write
again (its queued jobs), then removes its data store by store, and ends by taking an
inventory of every store: what is left is reported, never hidden.

A person's erasure removes their account and what exists only for them (memberships,
sessions, keys, tokens, exports, notifications, crons), takes their name off what they did
for an organization (audit entries, posts, runs keep the act, not the person), and erases
outright any organization they were the only member of. It is refused, before anything is
changed, while they are the last admin of an organization that has other members.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId

from persistence import tenant_data
from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict, NotFound
from persistence.ids import utcnow
from persistence.models import ApiKey, AuditLog, LgRun, Membership, Organization, UserSession
from persistence.organizations import load_organization
from persistence.repository import TenantRepository, tenant_filter
from services import audit
from services.gdpr.inventory import inventory
from services.gdpr.ports import GdprServices

log = logging.getLogger(__name__)

# What grants access; deleted first so that members are refused from the next request on.
ACCESS = (Membership, UserSession, ApiKey)
# Collections whose documents exist only for one person: erased with them.
PERSONAL = frozenset(
    {
        "memberships",
        "user_sessions",
        "api_keys",
        "account_tokens",
        "data_exports",
        "notifications",
        "lg_crons",
    }
)
# Where a person is named on what they did for an organization; unset on erasure.
NAMED_BY = ("userId", "actor.userId", "invitedBy")
# Audit context that would identify the person once their id is gone.
AUDIT_PERSONAL = ("actor.email", "context.ipAddress", "context.userAgent", "context.sessionId")

ERASED_SUMMARY = "concerned a person whose data has since been erased (GDPR)"


@dataclass
class ErasureReport:
    organization_id: ObjectId
    erased_at: datetime = field(default_factory=utcnow)
    # Per store, how much was removed ("documents.posts", "memory", "media", ...).
    removed: dict[str, int] = field(default_factory=dict)
    # Users created in the organization who stay, stored under another of theirs.
    users_kept: int = 0
    # The inventory after erasure: empty when nothing of the organization is left.
    remaining: dict[str, int] = field(default_factory=dict)

    def count(self, store: str, n: int) -> None:
        if n:
            self.removed[store] = self.removed.get(store, 0) + n


async def erase_organization(services: GdprServices, org_id: ObjectId) -> ErasureReport:
    """Remove everything of the organization from every store; the report of what went and
    of what (if anything) is left."""
    db, org = services.db, str(org_id)
    if await load_organization(db, org_id) is None:
        raise NotFound("no such organization")
    report = ErasureReport(org_id)
    for model in ACCESS:
        report.count(f"documents.{model.collection}", await _delete(db, model, org_id))
    # Nothing queued may run for it again (and bring data back) once erasure has begun.
    report.count("queued_jobs", await services.jobs.cancel_tenant(org))
    # Run event streams are keyed by run id, not by tenant: found while the runs exist.
    run_ids = [r.run_id for r in await TenantRepository(db, LgRun).find(org_id)]
    report.count("memory", await services.memory.delete_tenant(org))
    report.count("checkpoint_threads", await services.checkpointer.adelete_tenant(org))
    report.count("media", await services.media.erase_tenant(org))
    report.users_kept, deleted_users = await _settle_users(db, org_id)
    report.count("documents.users", deleted_users)
    # The organization's own document last: until then a half-done erasure can be retried.
    removed = await tenant_data.delete_everywhere(
        db, org_id, skip=frozenset({Organization.collection})
    )
    for name, n in removed.items():
        report.count(f"documents.{name}", n)
    report.count("documents.organizations", await _delete(db, Organization, org_id))
    keys = await services.keyspace.erase_with(org)
    for run_id in run_ids:
        keys += await services.keyspace.erase_with(run_id)
    report.count("keys", keys)
    request = audit.current_request()
    if request is not None and request.org_id == org_id:
        audit.discard_request()  # its entries would be written under the erased tenant
    report.remaining = await inventory(services, org_id)
    if report.remaining:
        log.error("erasure of organization %s left %s", org, report.remaining)
    else:
        log.info("organization %s erased: %s", org, report.removed)
    return report


async def _delete(db: Any, model: type, org_id: ObjectId) -> int:
    return await TenantRepository(db, model).delete_all(org_id)


async def _settle_users(db: Any, org_id: ObjectId) -> tuple[int, int]:
    """Users created in the organization: those who belong to another organization are
    stored under it from now on; the others are deleted. (kept, deleted)"""
    admin = OrganizationAdmin(db)
    kept = deleted = 0
    for user in await admin.users_stored_under(org_id):
        elsewhere = [
            m
            for m in await admin.memberships_of(user.id)
            if m.organization_id != org_id and await load_organization(db, m.organization_id)
        ]
        if elsewhere:
            await admin.move_user(user.id, elsewhere[0].organization_id, elsewhere[0].role)
            kept += 1
        elif await admin.delete_user(user.id):
            deleted += 1
    return kept, deleted


# --- a person ---------------------------------------------------------------------------


@dataclass
class PersonErasure:
    user_id: ObjectId
    erased_at: datetime = field(default_factory=utcnow)
    # Organizations erased with them (they were their only member).
    organizations_erased: list[ErasureReport] = field(default_factory=list)
    # Organizations they belonged to that remain, with their name taken off what they did.
    organizations_left: list[ObjectId] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)
    pseudonymized: dict[str, int] = field(default_factory=dict)


async def erase_person(services: GdprServices, user_id: ObjectId) -> PersonErasure:
    """Erase one person (see the module's docstring); Conflict if they are the last admin of
    an organization with other members, before anything is changed."""
    db = services.db
    admin = OrganizationAdmin(db)
    user = await admin.get_user(user_id)
    if user is None:
        raise NotFound("no such user")
    memberships = await admin.memberships_of(user_id, active_only=False)
    org_ids = list(dict.fromkeys([user.organization_id, *(m.organization_id for m in memberships)]))
    alone: list[ObjectId] = []
    staying: list[ObjectId] = []
    for org_id in org_ids:
        org = await load_organization(db, org_id)
        if org is None:
            continue
        active = await TenantRepository(db, Membership).find(org_id, {"status": "active"})
        others = [m for m in active if m.user_id != user_id]
        mine = next((m for m in active if m.user_id == user_id), None)
        if not others and (mine is not None or user.organization_id == org_id):
            alone.append(org_id)
            continue
        if mine is not None and mine.role == "admin" and not any(m.role == "admin" for m in others):
            raise Conflict(
                f"you are the last admin of {org.name!r}: make another member an admin, or "
                "delete the organization (DELETE /api/organizations), first",
                code="last_admin",
            )
        staying.append(org_id)
    result = PersonErasure(user_id, organizations_left=staying)
    for org_id in alone:
        result.organizations_erased.append(await erase_organization(services, org_id))
    for org_id in staying:
        await _erase_from(db, org_id, user_id, user.email, result)
    if await admin.delete_user(user_id):
        result.removed["documents.users"] = 1
    keys = await services.keyspace.erase_with(str(user_id))
    if keys:
        result.removed["keys"] = keys
    # The request's own audit entry would name the person just erased: the organizations
    # they leave are told that a member erased their account, by nobody in particular.
    audit.discard_request()
    if staying:
        await audit.record(
            db,
            staying,
            action="delete",
            operation="gdpr.person_erased",
            resource_type="users",
            summary="a member erased their account and personal data (GDPR)",
            actor=audit.SYSTEM,
        )
    log.info("person %s erased; organizations erased with them: %d", user_id, len(alone))
    return result


async def _erase_from(
    db: Any, org_id: ObjectId, user_id: ObjectId, email: str, result: PersonErasure
) -> None:
    """Within one organization: delete what exists only for the person, and take their id
    off everything else (in every collection, so ones added later are covered)."""
    for name in await tenant_data.collections(db):
        collection = db[name]
        if name in PERSONAL:
            gone = await collection.delete_many(tenant_filter(org_id, {"userId": user_id}))
            _add(result.removed, f"documents.{name}", gone.deleted_count)
            continue
        if name == "invitations":
            # Offers they sent stop with them; offers sent to them are about them.
            gone = await collection.delete_many(
                tenant_filter(org_id, {"$or": [{"invitedBy": user_id}, {"email": email}]})
            )
            _add(result.removed, f"documents.{name}", gone.deleted_count)
            continue
        if name == AuditLog.collection:
            # Entries about them (signed in, invited, role changed) say so in their summary.
            about = tenant_filter(
                org_id,
                {
                    "$or": [
                        {"resource.id": str(user_id)},
                        {"resource.name": email},
                        {"summary": {"$regex": re.escape(email), "$options": "i"}},
                    ]
                },
            )
            changed = await collection.update_many(
                about,
                {
                    "$set": {"summary": ERASED_SUMMARY},
                    "$unset": {
                        "resource.id": "",
                        "resource.name": "",
                        "changes.before": "",
                        "changes.after": "",
                    },
                },
            )
            _add(result.pseudonymized, name, changed.modified_count)
        for path in NAMED_BY:
            # Runs store the user id as text.
            for value in (user_id, str(user_id)):
                unset = dict.fromkeys(
                    (path, *(AUDIT_PERSONAL if path == "actor.userId" else ())), ""
                )
                changed = await collection.update_many(
                    tenant_filter(org_id, {path: value}), {"$unset": unset}
                )
                _add(result.pseudonymized, name, changed.modified_count)


def _add(counts: dict[str, int], key: str, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + n
