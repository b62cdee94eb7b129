"""Request and response bodies of the organization routes: settings, members, invitations,
memberships and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import EmailStr, Field

from api.routes.schemas import ApiModel, StrictIn
from persistence.models import AuditLog, Invitation, Organization
from persistence.models.organizations import Role
from services.members import Member, OrganizationMembership
from services.organizations import OrganizationUpdate


class OrganizationSettingsOut(ApiModel):
    timezone: str
    industry: str | None = None
    banned_terms: list[str]
    brand_voice: list[str]
    allowed_domains: list[str]
    data_retention_days: int
    brand_colors: list[str] = Field(default_factory=list)
    brand_logo_media_id: str | None = None


class OrganizationDetailOut(ApiModel):
    id: str
    name: str
    slug: str
    plan: str
    settings: OrganizationSettingsOut
    created_at: datetime
    updated_at: datetime | None = None

    @classmethod
    def of(cls, org: Organization) -> OrganizationDetailOut:
        s = org.settings
        return cls(
            id=str(org.id),
            name=org.name,
            slug=org.slug,
            plan=org.subscription.plan,
            settings=OrganizationSettingsOut(
                timezone=s.timezone,
                industry=s.industry,
                banned_terms=s.banned_terms,
                brand_voice=s.brand_voice,
                allowed_domains=s.allowed_domains,
                data_retention_days=s.data_retention_days,
                brand_colors=s.brand_colors,
                brand_logo_media_id=str(s.brand_logo_media_id) if s.brand_logo_media_id else None,
            ),
            created_at=org.created_at,
            updated_at=org.updated_at,
        )


class OrganizationSettingsIn(StrictIn):
    timezone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Paris.")
    industry: str | None = Field(default=None, description="null clears it.")
    banned_terms: list[str] | None = Field(
        default=None, description="Words no generated post may use (at most 500)."
    )
    brand_voice: list[str] | None = Field(
        default=None, description="Guidelines the content agents write by (at most 20)."
    )
    allowed_domains: list[str] | None = Field(
        default=None, description="Invitations go only to these email domains; [] for any."
    )
    data_retention_days: int | None = Field(default=None, description="30 to 3650.")
    brand_colors: list[str] | None = Field(
        default=None,
        max_length=5,
        description="#RRGGBB, main first: generated graphics use it as background, the "
        "second as accent.",
    )
    brand_logo_media_id: str | None = Field(
        default=None,
        max_length=24,
        description="An image of the media library drawn on generated graphics; null clears.",
    )


class OrganizationIn(StrictIn):
    """The fields to change; those left out stay as they are."""

    name: str | None = None
    settings: OrganizationSettingsIn | None = None

    def update(self) -> OrganizationUpdate:
        values: dict[str, Any] = {}
        if "name" in self.model_fields_set:
            values["name"] = self.name
        if self.settings is not None:
            values.update({k: getattr(self.settings, k) for k in self.settings.model_fields_set})
        return OrganizationUpdate(**values)


class MemberOut(ApiModel):
    id: str = Field(description="The member's user id (the id in /members/{id}).")
    email: str
    first_name: str | None = None
    last_name: str | None = None
    role: Role
    joined_at: datetime
    last_active_at: datetime | None = None
    email_verified: bool
    two_factor_enabled: bool

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        user, m = member.user, member.membership
        return cls(
            id=str(user.id),
            email=user.email,
            first_name=user.profile.first_name,
            last_name=user.profile.last_name,
            role=m.role,
            joined_at=m.joined_at,
            last_active_at=m.last_used_at,
            email_verified=user.authentication.email_verified,
            two_factor_enabled=user.authentication.two_factor_enabled,
        )


class MemberRoleIn(StrictIn):
    role: Role


class InviteIn(StrictIn):
    email: EmailStr
    role: Role = "user"


class InvitationOut(ApiModel):
    id: str
    email: str
    role: Role
    status: Literal["pending", "accepted", "revoked"]
    invited_by: str
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            id=str(invitation.id),
            email=invitation.email,
            role=invitation.role,
            status=invitation.status,
            invited_by=str(invitation.invited_by),
            expires_at=invitation.expires_at,
            created_at=invitation.created_at,
        )


class MembershipOut(ApiModel):
    organization_id: str
    name: str
    slug: str
    role: Role
    joined_at: datetime
    current: bool = Field(description="Whether the caller is acting in this organization.")

    @classmethod
    def of(cls, item: OrganizationMembership, current: Any) -> MembershipOut:
        return cls(
            organization_id=str(item.organization.id),
            name=item.organization.name,
            slug=item.organization.slug,
            role=item.membership.role,
            joined_at=item.membership.joined_at,
            current=item.organization.id == current,
        )


class AuditActorOut(ApiModel):
    kind: str
    user_id: str | None = None
    api_key_id: str | None = None
    email: str | None = None


class AuditEntryOut(ApiModel):
    id: str
    timestamp: datetime
    actor: AuditActorOut
    action: str
    operation: str | None = None
    outcome: str
    resource_type: str
    resource_id: str | None = None
    resource_name: str | None = None
    summary: str
    fields: list[str]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    route: str | None = None
    status: int | None = None

    @classmethod
    def of(cls, entry: AuditLog) -> AuditEntryOut:
        a, c = entry.actor, entry.context
        return cls(
            id=str(entry.id),
            timestamp=entry.timestamp,
            actor=AuditActorOut(
                kind=a.kind,
                user_id=str(a.user_id) if a.user_id else None,
                api_key_id=str(a.api_key_id) if a.api_key_id else None,
                email=a.email,
            ),
            action=entry.action,
            operation=entry.operation,
            outcome=entry.outcome,
            resource_type=entry.resource.type,
            resource_id=entry.resource.id,
            resource_name=entry.resource.name,
            summary=entry.summary,
            fields=entry.changes.fields,
            before=entry.changes.before,
            after=entry.changes.after,
            ip_address=c.ip_address,
            user_agent=c.user_agent,
            route=c.route,
            status=c.status,
        )


class AuditPageOut(ApiModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next (older) page; null at the end."
    )
