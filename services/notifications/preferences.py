"""Each person's notification settings in an organization: a channel per category and quiet
hours, with defaults for whatever they have not chosen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId

from persistence.errors import InvalidInput
from persistence.models.notifications import Channel, NotificationPreferences, QuietHours
from persistence.repository import TenantRepository
from services.notifications.catalog import CATEGORIES

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _repo(db: Any) -> TenantRepository[NotificationPreferences]:
    return TenantRepository(db, NotificationPreferences)


@dataclass(frozen=True)
class Settings:
    """Every category's channel (defaults filled in) and the quiet hours."""

    channels: dict[str, Channel]
    quiet_hours: QuietHours


def _complete(stored: NotificationPreferences | None) -> Settings:
    chosen = stored.channels if stored else {}
    channels = {name: chosen.get(name, c.default) for name, c in CATEGORIES.items()}
    return Settings(channels, stored.quiet_hours if stored else QuietHours())


async def get(db: Any, org_id: ObjectId, user_id: ObjectId) -> Settings:
    return _complete(await _repo(db).find_one(org_id, {"userId": user_id}))


async def get_many(db: Any, org_id: ObjectId, user_ids: list[ObjectId]) -> dict[ObjectId, Settings]:
    stored = await _repo(db).find(org_id, {"userId": {"$in": user_ids}})
    by_user = {p.user_id: p for p in stored}
    return {uid: _complete(by_user.get(uid)) for uid in user_ids}


def _check(channels: dict[str, str], quiet: QuietHours | None) -> None:
    errors = [
        {"field": f"body.channels.{name}", "message": "not a notification category"}
        for name in channels
        if name not in CATEGORIES
    ]
    if quiet is not None:
        for key in ("start", "end"):
            if not _HHMM.match(getattr(quiet, key)):
                errors.append(
                    {"field": f"body.quietHours.{key}", "message": "must be HH:MM (24-hour)"}
                )
        if quiet.enabled and quiet.start == quiet.end:
            errors.append({"field": "body.quietHours.end", "message": "must differ from start"})
    if errors:
        raise InvalidInput("invalid notification settings", fields=errors)


async def update(
    db: Any,
    org_id: ObjectId,
    user_id: ObjectId,
    *,
    channels: dict[str, Channel] | None = None,
    quiet_hours: QuietHours | None = None,
) -> Settings:
    """Change the categories sent (others keep their choice) and, if sent, the quiet hours.
    All or nothing: one invalid value and nothing is written."""
    _check(channels or {}, quiet_hours)
    changes: dict[str, Any] = {f"channels.{k}": v for k, v in (channels or {}).items()}
    if quiet_hours is not None:
        changes["quietHours"] = quiet_hours.model_dump(by_alias=True)
    repo = _repo(db)
    stored = await repo.insert_once(
        org_id,
        {"userId": user_id},
        NotificationPreferences(organization_id=org_id, user_id=user_id),
    )
    if changes:
        updated = await repo.update(org_id, stored.id, changes)
        stored = updated or stored
    return _complete(stored)


def _at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day.date(), time(hours, minutes), tzinfo=day.tzinfo)


def quiet_until(quiet: QuietHours, timezone: str, now: datetime) -> datetime | None:
    """When the quiet hours that ``now`` falls in end (UTC), or None if it is not in them.
    Computed in the person's timezone, so the window follows their clock through DST."""
    if not quiet.enabled or quiet.start == quiet.end:
        return None
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):  # a profile's timezone is checked when set; be safe
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    # The window that began today or yesterday, whichever contains now.
    for begin_day in (local, local - timedelta(days=1)):
        start = _at(begin_day, quiet.start)
        end = _at(begin_day, quiet.end)
        if end <= start:
            end = _at(begin_day + timedelta(days=1), quiet.end)
        if start <= local < end:
            return end.astimezone(ZoneInfo("UTC"))
    return None
