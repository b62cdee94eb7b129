"""The platform operator's console: figures, organizations, users, the audit log across
organizations, the health of every component, and maintenance mode.

For operators only (``User.platform_role``, granted with ``chorus operators grant``), signed
in with a password: an organization's admin, however senior, is refused (403), and so is
any API key.
"""

from __future__ import annotations

from typing import Annotated

from bson import ObjectId
from fastapi import APIRouter, Depends, Query

from api.deps import Operator, RuntimeDep, operator, parse_id, rate_limited
from api.responses import errors
from api.routes.admin_schemas import (
    AdminAuditEntryOut,
    AdminAuditPageOut,
    AdminOrganizationOut,
    AdminUserOut,
    ComponentOut,
    MaintenanceIn,
    MaintenanceOut,
    PerformanceOut,
    RouteLatencyOut,
    RunLatencyOut,
    StatsOut,
    SystemHealthOut,
)
from persistence import metrics
from services import maintenance, operators

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(operator), Depends(rate_limited("admin", 600, 60))],
    responses=errors(401, 403, 429),
)

Skip = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/stats", response_model=StatsOut)
async def stats(runtime: RuntimeDep) -> StatsOut:
    """Documents by collection, organizations by plan and subscription state, sign-ups in
    the last 7 days and runs in the last 24 hours."""
    return StatsOut.of(await operators.stats(runtime.db))


@router.get("/organizations", response_model=list[AdminOrganizationOut], responses=errors(422))
async def list_organizations(
    runtime: RuntimeDep, skip: Skip = 0, limit: Limit = 50
) -> list[AdminOrganizationOut]:
    """Every organization, oldest first, with its plan and active member count."""
    found = await operators.organizations(runtime.db, skip=skip, limit=limit)
    return [AdminOrganizationOut.of(org, n) for org, n in found]


@router.get("/users", response_model=list[AdminUserOut], responses=errors(422))
async def list_users(runtime: RuntimeDep, skip: Skip = 0, limit: Limit = 50) -> list[AdminUserOut]:
    """Every account, oldest first: state and sign-in facts, never a credential."""
    return [AdminUserOut.of(u) for u in await operators.users(runtime.db, skip=skip, limit=limit)]


@router.get("/audit-logs", response_model=AdminAuditPageOut, responses=errors(422))
async def audit_logs(
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=24)] = None,
    limit: Limit = 50,
    organization_id: Annotated[
        str | None, Query(alias="organizationId", max_length=24, description="Only this one.")
    ] = None,
) -> AdminAuditPageOut:
    """Audit entries of every organization (or one), newest first."""
    before = parse_id(cursor, "query.cursor") if cursor else None
    org: ObjectId | None = (
        parse_id(organization_id, "query.organizationId") if organization_id else None
    )
    found = await operators.audit_log(runtime.db, limit=limit + 1, before=before, org_id=org)
    page = found[:limit]
    more = len(found) > limit
    return AdminAuditPageOut(
        items=[AdminAuditEntryOut.of(e) for e in page],
        next_cursor=str(page[-1].id) if more and page else None,
    )


@router.get("/system-health", response_model=SystemHealthOut)
async def system_health(runtime: RuntimeDep) -> SystemHealthOut:
    """Each component with its form, backend and whether it answers (details included, for
    the operator), and the maintenance switch."""
    checked = await runtime.check(deep=False)
    components = [
        ComponentOut(name=c.name, form=c.form, backend=c.backend, ok=c.ok, detail=c.detail)
        for c in checked
    ]
    return SystemHealthOut(
        healthy=all(c.ok for c in components),
        components=components,
        maintenance=MaintenanceOut.of(await maintenance.current(runtime.db, fresh=True)),
    )


@router.get("/maintenance-mode", response_model=MaintenanceOut)
async def get_maintenance(runtime: RuntimeDep) -> MaintenanceOut:
    return MaintenanceOut.of(await maintenance.current(runtime.db, fresh=True))


@router.post("/maintenance-mode", response_model=MaintenanceOut, responses=errors(422))
async def set_maintenance(
    body: MaintenanceIn, principal: Operator, runtime: RuntimeDep
) -> MaintenanceOut:
    """Switch maintenance mode. While on, every write (but these routes and signing in or
    out) is answered 503 with ``message``; reads go on."""
    state = await maintenance.switch(runtime.db, body.enabled, body.message, principal.user_id)
    return MaintenanceOut.of(state)


@router.get("/performance", response_model=PerformanceOut)
async def performance(runtime: RuntimeDep) -> PerformanceOut:
    """Request latency by route and run durations by graph in this process (count, mean,
    p50/p95/p99 from the histograms /api/system/metrics exports), and the queue's depth."""
    requests = metrics.histogram_summaries(metrics.REQUEST_SECONDS, ("method", "route", "status"))
    runs = metrics.histogram_summaries(metrics.RUN_SECONDS, ("graph", "outcome"))
    return PerformanceOut(
        requests=[RouteLatencyOut.model_validate(r) for r in requests],
        runs=[RunLatencyOut.model_validate(r) for r in runs],
        queue_depth=await runtime.jobs.depth(),
    )
