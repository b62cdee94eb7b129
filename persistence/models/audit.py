"""audit_logs, data_exports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from persistence.ids import PyObjectId, UTCDateTime, utcnow
from persistence.models.base import Document, Model


class AuditResource(Model):
    type: str
    id: str | None = None
    name: str | None = None


class AuditChanges(Model):
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: list[str] = Field(default_factory=list)


class AuditContext(Model):
    ip_address: str | None = None
    user_agent: str | None = None
    location: dict[str, Any] | None = None
    session_id: str | None = None


class AuditCompliance(Model):
    gdpr_relevant: bool = False
    data_category: str | None = None
    legal_basis: str | None = None


class AuditLog(Document):
    collection = "audit_logs"

    user_id: PyObjectId | None = None
    action: Literal["create", "read", "update", "delete", "export", "login", "logout"]
    resource: AuditResource
    changes: AuditChanges = Field(default_factory=AuditChanges)
    context: AuditContext = Field(default_factory=AuditContext)
    compliance: AuditCompliance = Field(default_factory=AuditCompliance)
    timestamp: UTCDateTime = Field(default_factory=utcnow)


class DateRange(Model):
    from_: UTCDateTime | None = Field(default=None, alias="from")
    to: UTCDateTime | None = None


class ExportScope(Model):
    data_types: list[str] = Field(default_factory=list)
    date_range: DateRange = Field(default_factory=DateRange)
    include_deleted: bool = False


class ExportProcessing(Model):
    status: Literal["pending", "processing", "completed", "failed"] = "pending"
    progress: int = Field(default=0, ge=0, le=100)
    started_at: UTCDateTime | None = None
    completed_at: UTCDateTime | None = None
    error_message: str | None = None


class ExportOutput(Model):
    file_url: str | None = None
    file_size: int | None = None
    format: Literal["json", "csv", "pdf"] = "json"
    expires_at: UTCDateTime | None = None


class ExportCompliance(Model):
    gdpr_compliant: bool = True
    encryption_used: bool = False
    access_log: list[dict[str, Any]] = Field(default_factory=list)


class DataExport(Document):
    collection = "data_exports"

    user_id: PyObjectId
    request_type: Literal["gdpr_export", "backup", "migration"] = "gdpr_export"
    scope: ExportScope = Field(default_factory=ExportScope)
    processing: ExportProcessing = Field(default_factory=ExportProcessing)
    output: ExportOutput = Field(default_factory=ExportOutput)
    compliance: ExportCompliance = Field(default_factory=ExportCompliance)
