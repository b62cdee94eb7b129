"""The caller's notifications in the organization they act in: list, read, delete, count,
and their settings (a channel per category, quiet hours).

Personal: every member, whatever their role, manages their own inbox and settings, and no
route reaches anyone else's (another person's or organization's id is a 404). Notifications
are made by ``services.notifications`` from domain events, never by these routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CurrentPrincipal, IdPath, RuntimeDep, parse_id, rate_limited
from api.responses import errors
from api.routes.notification_schemas import (
    CategoryName,
    CountOut,
    MarkedOut,
    NotificationOut,
    NotificationPageOut,
    SettingsIn,
    SettingsOut,
    Severity,
)
from services import users
from services.notifications import inbox, preferences

router = APIRouter(
    prefix="/api/notifications",
    tags=["notifications"],
    dependencies=[Depends(rate_limited("read", 600, 60))],
    responses=errors(401, 429),
)


@router.get("", response_model=NotificationPageOut, responses=errors(422))
async def list_notifications(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    unread: Annotated[bool | None, Query(description="Only unread (true) or read (false)")] = None,
    category: Annotated[CategoryName | None, Query()] = None,
    type: Annotated[Severity | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> NotificationPageOut:
    """Your notifications, newest first, filtered; ``nextCursor`` pages on."""
    page = await inbox.list_page(
        runtime.db,
        principal.org_id,
        principal.user_id,
        limit=limit,
        before=parse_id(cursor, "query.cursor") if cursor else None,
        unread=unread,
        category=category,
        severity=type,
    )
    return NotificationPageOut(
        items=[NotificationOut.of(n) for n in page.items], next_cursor=page.next_cursor
    )


@router.get("/unread-count", response_model=CountOut)
async def unread_count(principal: CurrentPrincipal, runtime: RuntimeDep) -> CountOut:
    return CountOut(count=await inbox.unread_count(runtime.db, principal.org_id, principal.user_id))


@router.post("/mark-all-read", response_model=MarkedOut)
async def mark_all_read(principal: CurrentPrincipal, runtime: RuntimeDep) -> MarkedOut:
    """Mark every unread notification read."""
    count = await inbox.mark_all_read(runtime.db, principal.org_id, principal.user_id)
    return MarkedOut(updated=count)


@router.get("/settings", response_model=SettingsOut)
async def get_settings(principal: CurrentPrincipal, runtime: RuntimeDep) -> SettingsOut:
    """Your channel for each category (defaults included) and your quiet hours."""
    user = await users.load(runtime.db, principal.user_id)
    chosen = await preferences.get(runtime.db, principal.org_id, principal.user_id)
    return SettingsOut.of(chosen, user.profile.timezone)


@router.put("/settings", response_model=SettingsOut, responses=errors(422))
async def put_settings(
    body: SettingsIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> SettingsOut:
    """Change the categories sent and, if sent, the quiet hours (in your profile's timezone,
    set with PUT /api/users/profile). All or nothing."""
    user = await users.load(runtime.db, principal.user_id)
    chosen = await preferences.update(
        runtime.db,
        principal.org_id,
        principal.user_id,
        channels=body.channel_changes(),
        quiet_hours=body.quiet(),
    )
    return SettingsOut.of(chosen, user.profile.timezone)


@router.put("/{notification_id}/read", response_model=NotificationOut, responses=errors(404, 422))
async def mark_read(
    notification_id: IdPath, principal: CurrentPrincipal, runtime: RuntimeDep
) -> NotificationOut:
    n = await inbox.mark_read(runtime.db, principal.org_id, principal.user_id, notification_id)
    return NotificationOut.of(n)


@router.delete(
    "/{notification_id}",
    status_code=204,
    response_class=Response,
    responses=errors(404, 422),
)
async def delete_notification(
    notification_id: IdPath, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Response:
    await inbox.delete(runtime.db, principal.org_id, principal.user_id, notification_id)
    return Response(status_code=204)
