"""Request and response bodies of the GDPR routes: erasure and data export."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator

from api.routes.schemas import ApiModel, StrictIn
from persistence.models import DataExport
from services.gdpr import export as gdpr_export
from services.gdpr.erase import ErasureReport, PersonErasure


class ConfirmIn(StrictIn):
    """An erasure cannot be undone: the body must say so."""

    model_config = ConfigDict(extra="forbid")

    confirm: StrictBool = Field(description="Must be true: the erasure cannot be undone.")

    @field_validator("confirm")
    @classmethod
    def _confirmed(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("must be true: the erasure cannot be undone")
        return value


class OrganizationErasureOut(ApiModel):
    organization_id: str
    erased_at: datetime
    removed: dict[str, int] = Field(
        description="How much went from each store: documents.<collection>, memory, "
        "checkpoint_threads, media, queued_jobs, keys."
    )
    users_kept: int = Field(
        description="Users created in the organization who belong to another one: kept there."
    )
    remaining: dict[str, int] = Field(
        description="What every store still holds of the organization afterwards (empty)."
    )
    complete: bool

    @classmethod
    def of(cls, report: ErasureReport) -> OrganizationErasureOut:
        return cls(
            organization_id=str(report.organization_id),
            erased_at=report.erased_at,
            removed=report.removed,
            users_kept=report.users_kept,
            remaining=report.remaining,
            complete=not report.remaining,
        )


class PersonErasureOut(ApiModel):
    user_id: str
    erased_at: datetime
    organizations_erased: list[OrganizationErasureOut] = Field(
        description="Organizations the person was the only member of, erased with them."
    )
    organizations_left: list[str] = Field(
        description="Organizations that remain, with the person's name taken off what they did."
    )
    removed: dict[str, int]
    pseudonymized: dict[str, int]

    @classmethod
    def of(cls, result: PersonErasure) -> PersonErasureOut:
        return cls(
            user_id=str(result.user_id),
            erased_at=result.erased_at,
            organizations_erased=[
                OrganizationErasureOut.of(r) for r in result.organizations_erased
            ],
            organizations_left=[str(o) for o in result.organizations_left],
            removed=result.removed,
            pseudonymized=result.pseudonymized,
        )


ExportStatus = Literal["pending", "processing", "completed", "failed", "downloaded", "expired"]


class ExportIn(StrictIn):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["person", "organization"] | None = Field(
        default=None,
        description="What to export: the caller's own data, or (admins only) the whole "
        "organization's. Default: the organization for an admin, else the person.",
    )


class ExportOut(ApiModel):
    id: str
    status: ExportStatus
    scope: Literal["person", "organization"]
    created_at: datetime
    completed_at: datetime | None = None
    expires_at: datetime | None = Field(
        default=None, description="The archive can be downloaded once, until then."
    )
    file_size: int | None = None
    download_url: str = Field(description="GET it: 202 while building, then the archive.")

    @classmethod
    def of(cls, export: DataExport) -> ExportOut:
        return cls(
            id=str(export.id),
            status=gdpr_export.state(export),  # type: ignore[arg-type]
            scope=export.scope.subject,
            created_at=export.created_at,
            completed_at=export.processing.completed_at,
            expires_at=export.output.expires_at,
            file_size=export.output.file_size,
            download_url=f"/api/users/export-data/{export.id}",
        )
