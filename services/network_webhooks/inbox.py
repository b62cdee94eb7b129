"""A verified network webhook, stored once per organization it concerns.

Each activity goes to every organization that has the account connected; each delivery
is claimed in ``persistence.webhook_inbox`` under ``(network, "<item>@<organization>")``, so
a network's redelivery (they all deliver at least once) is acknowledged without storing
twice. What is stored goes to ``network_activity`` (listening and metrics read it) and is
announced as an ``analytics.activity`` event (live sockets, integrations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from persistence import network_accounts, webhook_inbox
from persistence.models import NetworkActivity, WebhookEvent
from persistence.repository import TenantRepository
from services.events import EventBus
from services.network_webhooks.parse import Activity

log = logging.getLogger(__name__)

ACTIVITY = "analytics.activity"


@dataclass(frozen=True)
class Receipt:
    received: int  # activities in the body
    stored: int  # newly stored (per organization)
    duplicates: int  # already stored before
    unmatched: int  # for accounts nobody here has connected


async def receive(db: Any, events: EventBus, network: str, activities: list[Activity]) -> Receipt:
    owners = await network_accounts.owners(db, network, [a.account_id for a in activities])
    repo = TenantRepository(db, NetworkActivity)
    stored = duplicates = unmatched = 0
    for activity in activities:
        matches = owners.get(activity.account_id, [])
        if not matches:
            unmatched += 1
            continue
        for org_id, account_id in matches:
            claimed = await webhook_inbox.claim(
                db,
                WebhookEvent(
                    organization_id=org_id,
                    source=network,
                    event_type=activity.kind,
                    event_id=f"{activity.external_id}@{org_id}",
                    payload={"accountId": activity.account_id},
                ),
            )
            if claimed.outcome != "claimed":
                duplicates += 1
                continue
            try:
                doc = NetworkActivity(
                    organization_id=org_id,
                    platform=network,
                    social_account_id=account_id,
                    kind=activity.kind,
                    external_id=activity.external_id,
                    text=activity.text,
                    author=activity.author,
                    occurred_at=activity.occurred_at,
                    raw=activity.raw,
                )
                await repo.insert_once(
                    org_id, {"platform": network, "externalId": activity.external_id}, doc
                )
                await events.emit(
                    org_id,
                    ACTIVITY,
                    {
                        "platform": network,
                        "kind": activity.kind,
                        "externalId": activity.external_id,
                    },
                    resource=("social_account", str(account_id)),
                    actor=("system", network),
                )
            except Exception as exc:
                await webhook_inbox.finish(db, claimed.event, error=str(exc))
                raise
            await webhook_inbox.finish(db, claimed.event)
            stored += 1
    return Receipt(len(activities), stored, duplicates, unmatched)
