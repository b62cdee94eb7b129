"""Outgoing integrations: webhooks and Slack incoming webhooks that receive the
organization's events.

Listing and reading logs is open to members; connecting, removing and testing need
``manage_organization`` (admins): an integration sends the organization's data elsewhere.
A webhook's signing secret is in the connect answer only (stored encrypted).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import ConfigDict, Field

from api.deps import IdPath, Reader, RuntimeDep, parse_id, rate_limited, require
from api.principal import Principal
from api.responses import errors
from api.routes.schemas import ApiModel, StrictIn
from persistence.models import Integration, IntegrationLog
from services.integrations import connections, delivery

IntegrationAdmin = Annotated[Principal, Depends(require("manage_organization"))]

router = APIRouter(
    prefix="/api/integrations",
    tags=["integrations"],
    dependencies=[Depends(rate_limited("write", 300, 60))],
    responses=errors(401, 429),
)

EventType = Literal[(*connections.EVENT_TYPES, "*")]  # type: ignore[valid-type]


class ConnectIn(StrictIn):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        description="http(s) URL to POST to (Slack: the incoming-webhook URL). Private and "
        "loopback addresses are refused unless the operator allows them.",
    )
    event_types: list[EventType] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=50, description='Event types to send, or ["*"] for all.'
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)


class IntegrationOut(ApiModel):
    id: str
    type: str
    name: str
    url: str = Field(description="The webhook URL (a Slack URL is shown masked).")
    event_types: list[str]
    is_active: bool
    last_delivery_at: str | None = None
    last_error: str | None = None
    request_count: int
    created_at: str

    @classmethod
    def of(cls, i: Integration) -> IntegrationOut:
        return cls(
            id=str(i.id),
            type=i.integration_type,
            name=i.name,
            url=connections.display_url(i),
            event_types=connections.event_types_of(i),
            is_active=i.status.is_active,
            last_delivery_at=i.status.last_sync.isoformat() if i.status.last_sync else None,
            last_error=i.status.error_message,
            request_count=i.usage.request_count,
            created_at=i.created_at.isoformat(),
        )


class ConnectedOut(IntegrationOut):
    secret: str | None = Field(
        description="The webhook's signing secret, shown this once (null for Slack). "
        "X-Chorus-Signature is v1=hex(HMAC-SHA256(secret, '{X-Chorus-Timestamp}.{body}'))."
    )


class LogOut(ApiModel):
    id: str
    event_type: str
    attempt: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int
    next_attempt_at: str | None = None
    created_at: str

    @classmethod
    def of(cls, e: IntegrationLog) -> LogOut:
        return cls(
            id=str(e.id),
            event_type=e.event_type,
            attempt=e.attempt,
            ok=e.ok,
            status_code=e.status_code,
            error=e.error,
            duration_ms=e.duration_ms,
            next_attempt_at=e.next_attempt_at.isoformat() if e.next_attempt_at else None,
            created_at=e.created_at.isoformat(),
        )


class LogPageOut(ApiModel):
    items: list[LogOut]
    next_cursor: str | None = None


@router.get("", response_model=list[IntegrationOut])
async def list_integrations(principal: Reader, runtime: RuntimeDep) -> list[IntegrationOut]:
    return [IntegrationOut.of(i) for i in await connections.list_all(runtime.db, principal.org_id)]


@router.post(
    "/{type}/connect",
    status_code=201,
    response_model=ConnectedOut,
    responses=errors(403, 422),
)
async def connect(
    type: Annotated[Literal["webhook", "slack"], Path(description="webhook or slack")],
    body: ConnectIn,
    principal: IntegrationAdmin,
    runtime: RuntimeDep,
) -> ConnectedOut:
    """Send the chosen events to ``url``: signed JSON (``webhook``) or Slack messages."""
    connected = await connections.connect(
        runtime.db,
        runtime.cipher,
        principal.org_id,
        type,
        url=body.url,
        event_types=[str(t) for t in body.event_types],
        name=body.name,
        allow_private=runtime.webhooks.allow_private,
    )
    out = IntegrationOut.of(connected.integration)
    return ConnectedOut(**out.model_dump(), secret=connected.secret)


@router.delete(
    "/{integration_id}",
    status_code=204,
    response_class=Response,
    responses=errors(403, 404, 422),
)
async def remove(
    integration_id: IdPath, principal: IntegrationAdmin, runtime: RuntimeDep
) -> Response:
    await connections.remove(runtime.db, principal.org_id, integration_id)
    return Response(status_code=204)


@router.post("/{integration_id}/test", response_model=LogOut, responses=errors(403, 404, 422))
async def test_integration(
    integration_id: IdPath, principal: IntegrationAdmin, runtime: RuntimeDep
) -> LogOut:
    """Send one ``integration.test`` event now; the attempt, as logged."""
    entry = await delivery.send_test_event(
        runtime.webhooks, runtime.db, principal.org_id, integration_id
    )
    return LogOut.of(entry)


@router.get("/{integration_id}/logs", response_model=LogPageOut, responses=errors(404, 422))
async def integration_logs(
    integration_id: IdPath,
    principal: Reader,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LogPageOut:
    """Every delivery attempt, newest first."""
    items, next_cursor = await connections.logs(
        runtime.db,
        principal.org_id,
        integration_id,
        limit=limit,
        before=parse_id(cursor, "query.cursor") if cursor else None,
    )
    return LogPageOut(items=[LogOut.of(e) for e in items], next_cursor=next_cursor)
