"""A person's own account: their profile, preferences, signed-in devices and activity.

The user document is stored under the organization the account was created in; a person
acting in another organization still reads and changes the same document, found by id.
Profile values feed what others see and what agents address (names, timezone, language),
so they are checked: an IANA timezone, a language tag, an E.164 phone number, an http(s)
avatar URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pydantic import BaseModel

from persistence.admin import OrganizationAdmin
from persistence.errors import InvalidInput, NotFound, Unauthenticated
from persistence.ids import utcnow
from persistence.models import AuditLog, User, UserSession
from persistence.repository import TenantRepository
from services import audit, members
from services.organizations import is_timezone

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_NAME = 100
MAX_URL = 2000
MAX_WIDGETS = 50


async def load(db: Any, user_id: ObjectId) -> User:
    user = await OrganizationAdmin(db).get_user(user_id)
    if user is None or not user.authentication.is_active:
        raise Unauthenticated("the account no longer exists or is disabled")
    return user


class ProfileUpdate(BaseModel):
    """Fields left out stay as they are; ``None`` clears an optional one."""

    first_name: str | None = None
    last_name: str | None = None
    avatar_url: str | None = None
    timezone: str | None = None
    language: str | None = None
    phone_number: str | None = None


class PreferencesUpdate(BaseModel):
    email: bool | None = None
    push: bool | None = None
    sms: bool | None = None
    frequency: Literal["immediate", "daily", "weekly"] | None = None
    default_view: str | None = None
    widgets: list[dict[str, Any]] | None = None


def _profile_values(update: ProfileUpdate) -> dict[str, Any]:
    given = update.model_fields_set
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in given:
            value = (getattr(update, name) or "").strip() or None
            if value is not None and len(value) > MAX_NAME:
                errors.append(
                    {"field": f"body.{_camel(name)}", "message": "at most 100 characters"}
                )
            values[name] = value
    if "avatar_url" in given:
        url = (update.avatar_url or "").strip() or None
        if url is not None and (not re.match(r"^https?://[^\s/]+\S*$", url) or len(url) > MAX_URL):
            errors.append({"field": "body.avatarUrl", "message": "an http(s) URL"})
        values["avatar_url"] = url
    if "timezone" in given:
        zone = (update.timezone or "").strip()
        if not is_timezone(zone):
            errors.append(
                {"field": "body.timezone", "message": "an IANA time zone such as Europe/Paris"}
            )
        values["timezone"] = zone
    if "language" in given:
        language = (update.language or "").strip()
        if not _LANGUAGE.match(language):
            errors.append(
                {"field": "body.language", "message": "a language tag such as en or pt-BR"}
            )
        values["language"] = language
    if "phone_number" in given:
        phone = re.sub(r"[\s().-]", "", update.phone_number or "") or None
        if phone is not None and not _PHONE.match(phone):
            errors.append(
                {
                    "field": "body.phoneNumber",
                    "message": "an international number such as +14155550100",
                }
            )
        values["phone_number"] = phone
    _raise(errors)
    return values


def _storable(value: Any, depth: int = 0) -> bool:
    """Plain JSON a document store keeps as sent: no key starting with $ or holding a dot."""
    if depth > 5:
        return False
    if isinstance(value, dict):
        return all(
            isinstance(k, str)
            and k
            and not k.startswith("$")
            and "." not in k
            and _storable(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_storable(v, depth + 1) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _raise(errors: list[dict[str, str]]) -> None:
    if errors:
        names = ", ".join(dict.fromkeys(e["field"] for e in errors))
        raise InvalidInput(f"invalid input: {names}", fields=errors)


async def _store(db: Any, user: User, changes: dict[str, Any], operation: str, what: str) -> User:
    if not changes:
        return user
    stored = await TenantRepository(db, User).update(user.organization_id, user.id, changes)
    if stored is None:
        raise Unauthenticated("the account no longer exists")
    # Recorded in the organization the person is acting in (their own account is theirs
    # in every organization; the one they are signed in to is where they did it).
    request = audit.current_request()
    await audit.record(
        db,
        request.org_id if request and request.org_id else user.organization_id,
        action="update",
        operation=operation,
        resource_type="users",
        resource_id=user.id,
        resource_name=user.email,
        summary=f"{user.email}: {what} changed ({', '.join(changes)})",
        fields=list(changes),
    )
    return stored


async def update_profile(db: Any, user: User, update: ProfileUpdate) -> User:
    values = _profile_values(update)
    changes = {f"profile.{_camel(k)}": v for k, v in values.items()}
    return await _store(db, user, changes, "user.profile_updated", "profile")


_PREFERENCE_PATHS = {
    "email": ("settings.notifications.email", "body.notifications.email"),
    "push": ("settings.notifications.push", "body.notifications.push"),
    "sms": ("settings.notifications.sms", "body.notifications.sms"),
    "frequency": ("settings.notifications.frequency", "body.notifications.frequency"),
    "default_view": ("settings.dashboard.defaultView", "body.dashboard.defaultView"),
    "widgets": ("settings.dashboard.widgets", "body.dashboard.widgets"),
}


async def update_preferences(db: Any, user: User, update: PreferencesUpdate) -> User:
    errors: list[dict[str, str]] = []
    changes: dict[str, Any] = {}
    for name in update.model_fields_set:
        path, field_name = _PREFERENCE_PATHS[name]
        value = getattr(update, name)
        if name == "default_view":
            value = (value or "").strip()
            if not value or len(value) > 50:
                errors.append({"field": field_name, "message": "1 to 50 characters"})
        elif name == "widgets":
            value = value or []
            if len(value) > MAX_WIDGETS or len(repr(value)) > 20_000 or not _storable(value):
                errors.append(
                    {"field": field_name, "message": f"at most {MAX_WIDGETS} small objects"}
                )
        elif value is None:
            errors.append({"field": field_name, "message": "must be set"})
        changes[path] = value
    _raise(errors)
    return await _store(db, user, changes, "user.preferences_updated", "preferences")


# --- signed-in devices ---------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """One sign-in on one device (a session family), as its owner sees it."""

    id: str
    organization_id: ObjectId
    user_agent: str | None
    ip_address: str | None
    signed_in_at: datetime
    last_active_at: datetime
    expires_at: datetime


async def _org_ids(db: Any, user: User) -> list[ObjectId]:
    return list(dict.fromkeys([user.organization_id, *await members.organization_ids_of(db, user)]))


async def devices(db: Any, user: User) -> list[Device]:
    """The user's live sign-ins in every organization they belong to, newest first."""
    sessions = TenantRepository(db, UserSession)
    now = utcnow()
    found: list[Device] = []
    for org_id in await _org_ids(db, user):
        for s in await sessions.find(
            org_id, {"userId": user.id, "isActive": True, "expiresAt": {"$gt": now}}
        ):
            found.append(
                Device(
                    id=s.family_id,
                    organization_id=org_id,
                    user_agent=s.device_info.user_agent,
                    ip_address=s.location.ip_address,
                    signed_in_at=s.signed_in_at or s.created_at,
                    last_active_at=s.created_at,
                    expires_at=s.expires_at,
                )
            )
    return sorted(found, key=lambda d: d.last_active_at, reverse=True)


async def revoke_device(db: Any, user: User, family_id: str) -> Device:
    """End one sign-in of the user's (NotFound for anyone else's)."""
    for device in await devices(db, user):
        if device.id == family_id:
            await TenantRepository(db, UserSession).update_many(
                device.organization_id,
                {"userId": user.id, "familyId": family_id, "isActive": True},
                {"isActive": False},
            )
            request = audit.current_request()
            await audit.record(
                db,
                request.org_id if request and request.org_id else device.organization_id,
                action="logout",
                operation="user.session_revoked",
                resource_type="sessions",
                resource_id=family_id,
                summary=f"{user.email}: signed out the device {device.user_agent or 'unknown'}",
            )
            return device
    raise NotFound("no such session")


async def activity(
    db: Any, org_id: ObjectId, user: User, *, cursor: str | None, limit: int
) -> tuple[list[AuditLog], str | None]:
    """What the user did in this organization (their audit entries), newest first."""
    return await audit.entries(
        db, org_id, audit.AuditFilter(user_id=user.id), cursor=cursor, limit=limit
    )
