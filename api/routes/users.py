"""The signed-in person: their account, profile, preferences, organizations, devices and
activity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CurrentPrincipal, RuntimeDep, SignedIn, rate_limited
from api.responses import errors
from api.routes.account_schemas import (
    PreferencesIn,
    PreferencesOut,
    ProfileIn,
    ProfileOut,
    SessionOut,
)
from api.routes.schemas import UserOut
from api.routes.team_schemas import AuditEntryOut, AuditPageOut, MembershipOut
from services import members, users

router = APIRouter(
    prefix="/api/users",
    tags=["users"],
    dependencies=[Depends(rate_limited("read", 600, 60))],
    responses=errors(401, 429),
)


@router.get("/me", response_model=UserOut)
async def me(principal: CurrentPrincipal, runtime: RuntimeDep) -> UserOut:
    """The caller's own account, with their role in the organization they act in."""
    user = await users.load(runtime.db, principal.user_id)
    return UserOut.of(user, principal.org_id, principal.role)


@router.get("/profile", response_model=ProfileOut)
async def get_profile(principal: CurrentPrincipal, runtime: RuntimeDep) -> ProfileOut:
    return ProfileOut.of(await users.load(runtime.db, principal.user_id))


@router.put("/profile", response_model=ProfileOut, responses=errors(422))
async def put_profile(
    body: ProfileIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> ProfileOut:
    """Change the fields sent (names, avatar URL, IANA timezone, language tag, E.164 phone
    number); ``null`` clears an optional one."""
    user = await users.load(runtime.db, principal.user_id)
    update = users.ProfileUpdate(**{k: getattr(body, k) for k in body.model_fields_set})
    return ProfileOut.of(await users.update_profile(runtime.db, user, update))


@router.get("/preferences", response_model=PreferencesOut)
async def get_preferences(principal: CurrentPrincipal, runtime: RuntimeDep) -> PreferencesOut:
    return PreferencesOut.of(await users.load(runtime.db, principal.user_id))


@router.put("/preferences", response_model=PreferencesOut, responses=errors(422))
async def put_preferences(
    body: PreferencesIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> PreferencesOut:
    """Change the notification and dashboard preferences sent."""
    user = await users.load(runtime.db, principal.user_id)
    values = {}
    for part in (body.notifications, body.dashboard):
        if part is not None:
            values.update({k: getattr(part, k) for k in part.model_fields_set})
    update = users.PreferencesUpdate(**values)
    return PreferencesOut.of(await users.update_preferences(runtime.db, user, update))


@router.get("/organizations", response_model=list[MembershipOut])
async def my_organizations(principal: CurrentPrincipal, runtime: RuntimeDep) -> list[MembershipOut]:
    """Every organization the caller belongs to, with their role in each
    (``POST /api/auth/switch-organization`` moves between them)."""
    user = await users.load(runtime.db, principal.user_id)
    found = await members.organizations_of(runtime.db, user)
    return [MembershipOut.of(item, principal.org_id) for item in found]


@router.get("/sessions", response_model=list[SessionOut], responses=errors(403))
async def list_sessions(principal: SignedIn, runtime: RuntimeDep) -> list[SessionOut]:
    """The caller's signed-in devices, in every organization, most recently active first."""
    user = await users.load(runtime.db, principal.user_id)
    return [SessionOut.of(d, principal.session_id) for d in await users.devices(runtime.db, user)]


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    responses=errors(403, 404),
)
async def revoke_session(session_id: str, principal: SignedIn, runtime: RuntimeDep) -> Response:
    """Sign one device out: its tokens stop working at once."""
    user = await users.load(runtime.db, principal.user_id)
    await users.revoke_device(runtime.db, user, session_id)
    return Response(status_code=204)


@router.get("/activity", response_model=AuditPageOut, responses=errors(422))
async def activity(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    """What the caller did in this organization, newest first (their audit entries)."""
    user = await users.load(runtime.db, principal.user_id)
    page, next_cursor = await users.activity(
        runtime.db, principal.org_id, user, cursor=cursor, limit=limit
    )
    return AuditPageOut(items=[AuditEntryOut.of(e) for e in page], next_cursor=next_cursor)
