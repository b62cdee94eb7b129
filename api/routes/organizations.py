"""The caller's organization: its settings, members, invitations and audit log.

Everything acts on the organization the caller is acting in (the token's or API key's);
there is no organization id in these paths, so no request can reach another tenant.
Reading is open to every member; settings need ``manage_organization``, members and
invitations ``manage_users``, the audit log ``read_audit`` (admins). Anyone may leave
(``DELETE /members/{their own id}``), except the last admin.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import (
    CurrentPrincipal,
    IdPath,
    Reader,
    RuntimeDep,
    parse_id,
    rate_limited,
    require,
)
from api.errors import ApiError
from api.principal import Principal
from api.responses import errors
from api.routes.team_schemas import (
    AuditEntryOut,
    AuditPageOut,
    InvitationOut,
    InviteIn,
    MemberOut,
    MemberRoleIn,
    OrganizationDetailOut,
    OrganizationIn,
)
from persistence.ids import IsoDateTime
from services import audit, invitations, members, organizations, users

OrgAdmin = Annotated[Principal, Depends(require("manage_organization"))]
UserManager = Annotated[Principal, Depends(require("manage_users"))]
AuditReader = Annotated[Principal, Depends(require("read_audit"))]

router = APIRouter(
    prefix="/api/organizations",
    tags=["organizations"],
    dependencies=[Depends(rate_limited("organizations", 120, 60))],
    responses=errors(401, 429),
)


@router.get("", response_model=OrganizationDetailOut)
async def get_organization(principal: Reader, runtime: RuntimeDep) -> OrganizationDetailOut:
    """The organization the caller acts in, with the settings the agents read."""
    return OrganizationDetailOut.of(await organizations.get(runtime.db, principal.org_id))


@router.put("", response_model=OrganizationDetailOut, responses=errors(403, 422))
async def put_organization(
    body: OrganizationIn, principal: OrgAdmin, runtime: RuntimeDep
) -> OrganizationDetailOut:
    """Change the name and settings sent: ``timezone`` (IANA), ``industry``,
    ``bannedTerms``, ``brandVoice``, ``allowedDomains``, ``dataRetentionDays``,
    ``brandColors`` (#RRGGBB) and ``brandLogoMediaId`` (an image of the media library). All
    or nothing: one invalid field and none is changed."""
    org = await organizations.update(runtime.db, principal.org_id, body.update())
    return OrganizationDetailOut.of(org)


@router.get("/members", response_model=list[MemberOut])
async def list_members(principal: Reader, runtime: RuntimeDep) -> list[MemberOut]:
    """The active members and their roles, oldest first."""
    return [MemberOut.of(m) for m in await members.list_members(runtime.db, principal.org_id)]


@router.post(
    "/members/invite",
    status_code=201,
    response_model=InvitationOut,
    dependencies=[Depends(rate_limited("invitations", 50, 3600))],
    responses=errors(403, 409, 422, 503),
)
async def invite_member(
    body: InviteIn, principal: UserManager, runtime: RuntimeDep
) -> InvitationOut:
    """Email an invitation to join with ``role``: a single-use link valid for 7 days.
    Inviting the same address again replaces the pending invitation."""
    inviter = await users.load(runtime.db, principal.user_id)
    invitation = await invitations.invite(
        runtime.db,
        runtime.mailer,
        runtime.public_base_url,
        principal.org_id,
        inviter,
        email=body.email,
        role=body.role,
    )
    return InvitationOut.of(invitation)


@router.put("/members/{member_id}", response_model=MemberOut, responses=errors(403, 404, 409, 422))
async def change_member_role(
    member_id: IdPath, body: MemberRoleIn, principal: UserManager, runtime: RuntimeDep
) -> MemberOut:
    """Give a member another role; it applies to their next request. The last admin cannot
    be demoted (409 ``last_admin``)."""
    member = await members.change_role(runtime.db, principal.org_id, member_id, body.role)
    return MemberOut.of(member)


@router.delete(
    "/members/{member_id}",
    status_code=204,
    response_class=Response,
    responses=errors(403, 404, 409, 422),
)
async def remove_member(
    member_id: IdPath, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    """Remove a member (or leave, with your own id): their sessions and API keys in this
    organization end at once. The last admin cannot be removed (409 ``last_admin``)."""
    user_id = member_id
    if user_id != principal.user_id and not principal.can("manage_users"):
        raise ApiError(403, f"the {principal.role} role may not do this (needs 'manage_users')")
    await members.remove(runtime.db, principal.org_id, user_id)
    return Response(status_code=204)


@router.get("/invitations", response_model=list[InvitationOut], responses=errors(403))
async def list_invitations(principal: UserManager, runtime: RuntimeDep) -> list[InvitationOut]:
    """Invitations not yet accepted, revoked or expired, newest first."""
    found = await invitations.pending(runtime.db, principal.org_id)
    return [InvitationOut.of(i) for i in found]


@router.delete(
    "/invitations/{invitation_id}",
    status_code=204,
    response_class=Response,
    responses=errors(403, 404, 422),
)
async def revoke_invitation(
    invitation_id: IdPath, principal: UserManager, runtime: RuntimeDep
) -> Response:
    """Revoke a pending invitation: its link stops working."""
    await invitations.revoke(runtime.db, principal.org_id, invitation_id)
    return Response(status_code=204)


@router.get("/audit-logs", response_model=AuditPageOut, responses=errors(403, 422))
async def audit_logs(
    principal: AuditReader,
    runtime: RuntimeDep,
    action: Annotated[
        Literal["create", "read", "update", "delete", "export", "login", "logout"] | None,
        Query(),
    ] = None,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    resource_type: Annotated[str | None, Query(alias="resourceType", max_length=200)] = None,
    resource_id: Annotated[str | None, Query(alias="resourceId", max_length=200)] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=24)] = None,
    actor_kind: Annotated[
        Literal["user", "api_key", "system"] | None, Query(alias="actorKind")
    ] = None,
    outcome: Annotated[Literal["success", "failure"] | None, Query()] = None,
    since: Annotated[IsoDateTime | None, Query()] = None,
    until: Annotated[IsoDateTime | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    """The organization's audit log, newest first, filtered; ``nextCursor`` pages on.
    Entries are read-only: no route changes or deletes one."""
    where = audit.AuditFilter(
        action=action,
        operation=operation,
        resource_type=resource_type,
        resource_id=resource_id,
        user_id=parse_id(user_id, "query.userId") if user_id else None,
        actor_kind=actor_kind,
        outcome=outcome,
        since=since,
        until=until,
    )
    page, next_cursor = await audit.entries(
        runtime.db, principal.org_id, where, cursor=cursor, limit=limit
    )
    return AuditPageOut(items=[AuditEntryOut.of(e) for e in page], next_cursor=next_cursor)
