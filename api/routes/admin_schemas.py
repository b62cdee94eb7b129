"""Response and request bodies of the platform operator routes (``/api/admin``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, StrictBool

from api.routes.schemas import ApiModel, StrictIn
from api.routes.team_schemas import AuditEntryOut
from persistence.models import AuditLog, Organization, User
from services.maintenance import MAX_MESSAGE, Maintenance
from services.operators import Stats


class StatsOut(ApiModel):
    documents: dict[str, int] = Field(description="Documents held, by collection.")
    organizations_by_plan: dict[str, int]
    organizations_by_status: dict[str, int]
    signups_last_7_days: int
    runs_last_24_hours: int

    @classmethod
    def of(cls, stats: Stats) -> StatsOut:
        return cls(**stats.__dict__)


class AdminOrganizationOut(ApiModel):
    id: str
    name: str
    slug: str
    plan: str
    subscription_status: str
    members: int
    created_at: datetime
    deleted_at: datetime | None = None

    @classmethod
    def of(cls, org: Organization, members: int) -> AdminOrganizationOut:
        return cls(
            id=str(org.id),
            name=org.name,
            slug=org.slug,
            plan=org.subscription.plan,
            subscription_status=org.subscription.status,
            members=members,
            created_at=org.created_at,
            deleted_at=org.deleted_at,
        )


class AdminUserOut(ApiModel):
    """An account as an operator sees it: who and in what state, never a credential."""

    id: str
    email: str
    organization_id: str = Field(description="The organization the account was created in.")
    created_at: datetime
    is_active: bool
    email_verified: bool
    two_factor_enabled: bool
    last_login: datetime | None = None
    operator: bool

    @classmethod
    def of(cls, user: User) -> AdminUserOut:
        auth = user.authentication
        return cls(
            id=str(user.id),
            email=user.email,
            organization_id=str(user.organization_id),
            created_at=user.created_at,
            is_active=auth.is_active,
            email_verified=auth.email_verified,
            two_factor_enabled=auth.two_factor_enabled,
            last_login=auth.last_login,
            operator=user.platform_role == "operator",
        )


class AdminAuditEntryOut(AuditEntryOut):
    organization_id: str

    @classmethod
    def of(cls, entry: AuditLog) -> AdminAuditEntryOut:  # type: ignore[override]
        base = AuditEntryOut.of(entry)
        return cls(**base.model_dump(), organization_id=str(entry.organization_id))


class AdminAuditPageOut(ApiModel):
    items: list[AdminAuditEntryOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next (older) page; null at the end."
    )


class ComponentOut(ApiModel):
    name: str
    form: str
    backend: str
    ok: bool
    detail: str


class SystemHealthOut(ApiModel):
    healthy: bool
    components: list[ComponentOut]
    maintenance: MaintenanceOut


class MaintenanceIn(StrictIn):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool
    message: str | None = Field(
        default=None,
        max_length=MAX_MESSAGE,
        description="What writers are told while it is on (a default otherwise).",
    )


class MaintenanceOut(ApiModel):
    enabled: bool
    message: str
    changed_at: datetime | None = None
    changed_by: str | None = None

    @classmethod
    def of(cls, state: Maintenance) -> MaintenanceOut:
        return cls(
            enabled=state.enabled,
            message=state.message,
            changed_at=state.changed_at,
            changed_by=str(state.changed_by) if state.changed_by else None,
        )


class LatencyOut(ApiModel):
    count: int
    mean_seconds: float
    p50_seconds: float
    p95_seconds: float
    p99_seconds: float


class RouteLatencyOut(LatencyOut):
    method: str
    route: str
    status: str


class RunLatencyOut(LatencyOut):
    graph: str
    outcome: str


class PerformanceOut(ApiModel):
    """Since this process started (each process counts its own; Prometheus adds them up)."""

    requests: list[RouteLatencyOut] = Field(description="Slowest p95 first.")
    runs: list[RunLatencyOut] = Field(description="Slowest p95 first.")
    queue_depth: int


SystemHealthOut.model_rebuild()
