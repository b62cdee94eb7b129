"""Notification emails: a burst of one person's notifications of one kind, as one message
with a plain-text and an HTML part, sent through the mailer (SES or the outbox directory).

The notifier queues each email-worthy notification with the moment it may go (after the
grouping window, and after the person's quiet hours); ``send_due`` (a job every few seconds)
sends what is due. A mail service that refuses is retried with backoff, a few times.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from persistence import notification_outbox
from persistence.ids import utcnow
from persistence.mailer import Mailer
from persistence.models import Notification
from persistence.models.notifications import NotificationEmail
from persistence.repository import TenantRepository
from services.notifications.catalog import CATEGORIES

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# How long a burst gathers before its email goes: events within it share one message.
GROUP_WINDOW = timedelta(seconds=60)


class MailServices(Protocol):
    """What sending needs of the process (the runtime is one)."""

    @property
    def db(self) -> Any: ...

    @property
    def mailer(self) -> Mailer: ...

    @property
    def public_base_url(self) -> str: ...


def compose(items: list[NotificationEmail], base_url: str) -> tuple[str, str, str]:
    """(subject, text, html) of one email for ``items`` (one person, one category)."""
    category = CATEGORIES.get(items[0].category)
    label = category.label if category else "Notifications"
    subject = items[0].title if len(items) == 1 else f"{label}: {len(items)} new"
    inbox = f"{base_url}/api/notifications"
    text_lines = []
    html_items = []
    for item in items:
        text_lines.append(f"* {item.title}\n  {item.message}")
        if item.link:
            text_lines.append(f"  {item.link}")
        link = f' <a href="{html.escape(item.link, quote=True)}">Open</a>' if item.link else ""
        html_items.append(
            f"<li><strong>{html.escape(item.title)}</strong><br>"
            f"{html.escape(item.message)}{link}</li>"
        )
    text = (
        "\n".join(text_lines)
        + f"\n\nAll your notifications: {inbox}\n"
        + "Change what you are emailed in your notification settings.\n"
    )
    body = (
        f"<!doctype html><html><body><h2>{html.escape(subject)}</h2>"
        f"<ul>{''.join(html_items)}</ul>"
        f'<p><a href="{html.escape(inbox, quote=True)}">All your notifications</a></p>'
        "<p><small>Change what you are emailed in your notification settings."
        "</small></p></body></html>"
    )
    return subject, text, body


async def send_due(db: Any, mailer: Mailer, base_url: str, now: datetime | None = None) -> int:
    """Send every due burst; how many emails went out."""
    sent = 0
    for items in await notification_outbox.claim_due(db, now):
        subject, text, body = compose(items, base_url)
        try:
            await mailer.send([items[0].to], subject, text, body)
        except Exception as exc:  # the mail service's failure; retried, never lost silently
            attempts = max(i.attempts for i in items) + 1
            retry = utcnow() + timedelta(minutes=2**attempts) if attempts < MAX_ATTEMPTS else None
            log.warning("notification email failed (attempt %d): %s", attempts, exc)
            await notification_outbox.finish(db, items, error=str(exc), retry_at=retry)
            continue
        await notification_outbox.finish(db, items)
        await TenantRepository(db, Notification).update_many(
            items[0].organization_id,
            {"_id": {"$in": [i.notification_id for i in items]}},
            {"channels.email.sent": True, "channels.email.delivered": True},
        )
        sent += 1
    return sent
