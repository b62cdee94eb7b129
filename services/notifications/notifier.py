"""The consumer of domain events that tells people: who is told, how, and when.

For each event that is a notification (``catalog``): the person it names, or else the
members whose role the category is for (not the person who caused it). Each recipient's
settings choose the channel: ``off`` (nothing), ``in_app`` (stored in their inbox and pushed
to their open sockets) or ``email`` (that, and queued for an email that groups the burst and
waits out their quiet hours). Idempotent per event and person: an event handled twice (a
redelivery, a retry) notifies once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from persistence.ids import utcnow
from persistence.models import DomainEvent, Notification
from persistence.models.integrations import InAppChannel, NotificationChannels
from persistence.models.notifications import NotificationEmail
from persistence.pubsub import PubSub
from persistence.repository import TenantRepository
from services import members, realtime
from services.events import org_channel
from services.notifications import preferences
from services.notifications.catalog import Category, category_of
from services.notifications.emails import GROUP_WINDOW

log = logging.getLogger(__name__)


def notification_wire(n: Notification) -> dict[str, Any]:
    out = n.model_dump(mode="json", by_alias=True, exclude_none=True)
    out["id"] = out.pop("_id")
    return out


class Notifier:
    """Subscribed to every event of the process's bus (``EventBus.subscribe("*", ...)``)."""

    def __init__(self, db: Any, pubsub: PubSub, *, group_window: timedelta = GROUP_WINDOW) -> None:
        self._db = db
        self._pubsub = pubsub
        self._window = group_window
        self._notifications = TenantRepository(db, Notification)
        self._emails = TenantRepository(db, NotificationEmail)

    async def handle(self, event: DomainEvent, now: datetime | None = None) -> list[Notification]:
        """Notify for ``event``; the notifications stored for it (new or from before)."""
        category = category_of(event.type, event.data)
        if category is None:
            return []
        org_id = event.organization_id
        recipients = await self._recipients(event, category)
        if not recipients:
            return []
        settings = await preferences.get_many(self._db, org_id, [m.user.id for m in recipients])
        now = now or utcnow()
        stored = []
        for member in recipients:
            user = member.user
            chosen = settings[user.id]
            channel = chosen.channels[category.name]
            if channel == "off":
                continue
            notification, fresh = await self._store(event, category, user.id)
            stored.append(notification)
            if channel == "email" and fresh:
                quiet_end = preferences.quiet_until(chosen.quiet_hours, user.profile.timezone, now)
                due = now + self._window
                if quiet_end is not None and not category.urgent:
                    due = max(due, quiet_end)
                await self._queue_email(notification, user.email, due)
            if fresh:
                await self._push(notification)
        return stored

    async def _recipients(self, event: DomainEvent, category: Category) -> list[members.Member]:
        everyone = await members.list_members(self._db, event.organization_id)
        if event.user_id is not None:  # personal: that person only, if still a member
            return [m for m in everyone if m.user.id == event.user_id]
        actor = event.actor.id if event.actor.kind == "user" else None
        return [
            m
            for m in everyone
            if m.membership.role in category.roles
            and str(m.user.id) != actor
            and m.user.authentication.is_active
        ]

    async def _store(
        self, event: DomainEvent, category: Category, user_id: ObjectId
    ) -> tuple[Notification, bool]:
        data = {k: v for k, v in event.data.items() if k != "eventId"}
        data["eventId"] = str(event.id)
        data["eventType"] = event.type
        if event.resource is not None:
            data["resource"] = event.resource.model_dump(exclude_none=True)
        draft = Notification(
            organization_id=event.organization_id,
            user_id=user_id,
            type=category.severity,
            category=category.name,
            title=category.title(event.data)[:200],
            message=category.message(event.data)[:2000],
            data=data,
            channels=NotificationChannels(in_app=InAppChannel(sent=True)),
            priority=category.priority,
        )
        try:
            return await self._notifications.insert(draft), True
        except DuplicateKeyError:  # handled before (unique per organization, person, event)
            found = await self._notifications.find_one(
                event.organization_id, {"userId": user_id, "data.eventId": str(event.id)}
            )
            if found is None:
                raise
            return found, False

    async def _queue_email(self, n: Notification, to: str, due: datetime) -> None:
        link = n.data.get("url") or n.data.get("hostedInvoiceUrl")
        item = NotificationEmail(
            organization_id=n.organization_id,
            user_id=n.user_id,  # type: ignore[arg-type]  # always set by _store
            notification_id=n.id,
            category=n.category,
            to=to,
            title=n.title,
            message=n.message,
            link=link if isinstance(link, str) and link.startswith("https://") else None,
            due_at=due,
        )
        await self._emails.insert(item)

    async def _push(self, n: Notification) -> None:
        # On the organization's channel, marked for its person: sockets already listen there
        # (one subscription per organization, not per person), and show it to that person.
        try:
            message = realtime.notification_message(notification_wire(n))
            await self._pubsub.publish(org_channel(n.organization_id), json.dumps(message))
        except Exception:  # live delivery is best effort; the inbox has it
            log.exception("could not push notification %s", n.id)
