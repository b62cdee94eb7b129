"""audit_logs, data_exports.

An audit entry says who (a user, an API key, the system), what (an action on a resource),
when, from where, and a summary of the change. It never holds a sensitive value: the API
records the names of the fields a request sent, not their values, and ``services.audit``
redacts anything that looks like a secret before it stores an entry.
"""

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
    # The HTTP request, when the change came through the API: "POST /api/x/{id}" (the
    # route's template, never its query string) and the status it answered.
    route: str | None = None
    status: int | None = None


class AuditActor(Model):
    """Who did it. ``userId`` is also the entry's top-level ``userId`` (the person an API
    key acts for)."""

    kind: Literal["user", "api_key", "system"] = "system"
    user_id: PyObjectId | None = None
    api_key_id: PyObjectId | None = None
    email: str | None = None


class AuditCompliance(Model):
    gdpr_relevant: bool = False
    data_category: str | None = None
    legal_basis: str | None = None


AuditAction = Literal["create", "read", "update", "delete", "export", "login", "logout"]


class AuditLog(Document):
    collection = "audit_logs"

    user_id: PyObjectId | None = None
    actor: AuditActor = Field(default_factory=AuditActor)
    action: AuditAction
    # What exactly: the route's operation ("invite_member") or the event a service names
    # ("member.role_changed", "auth.login_failed").
    operation: str | None = None
    outcome: Literal["success", "failure"] = "success"
    resource: AuditResource
    summary: str = ""
    changes: AuditChanges = Field(default_factory=AuditChanges)
    context: AuditContext = Field(default_factory=AuditContext)
    compliance: AuditCompliance = Field(default_factory=AuditCompliance)
    timestamp: UTCDateTime = Field(default_factory=utcnow)


class DateRange(Model):
    from_: UTCDateTime | None = Field(default=None, alias="from")
    to: UTCDateTime | None = None


class ExportScope(Model):
    # A person's data, or (an admin's request) the whole organization's.
    subject: Literal["person", "organization"] = "person"
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
    # Downloadable once: set when the archive is handed out (and then deleted).
    downloaded_at: UTCDateTime | None = None
    # The media store key of the archive while it waits to be downloaded.
    archive_key: str | None = None


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
