"""Delivering events to outgoing integrations: signed, retried with exponential backoff for
a day, every attempt logged.

Each event an integration subscribes to becomes a ``webhook_deliveries`` document (once per
integration and event). Whoever holds its lease (``nextAttemptAt`` moved ahead by a
compare-and-set, ``persistence.schedule_claims``) attempts it: the process that emitted the
event at once, else the ``deliver_webhooks`` job when the lease or the backoff runs out, so
a process that dies mid-attempt loses nothing. Backoff doubles from 30 seconds; the first
attempt a day after the event that would be later is not made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from persistence import schedule_claims
from persistence.crypto import CredentialCipher
from persistence.ids import utcnow
from persistence.models import DomainEvent, Integration, IntegrationLog, WebhookDelivery
from persistence.repository import TenantRepository
from services.integrations import connections, destinations, signing
from services.notifications.catalog import category_of

log = logging.getLogger(__name__)

FIRST_BACKOFF = timedelta(seconds=30)
RETRY_FOR = timedelta(days=1)
LEASE = timedelta(minutes=2)  # longer than an attempt can take (TIMEOUT)
TIMEOUT = httpx.Timeout(10.0)
TEST_EVENT = "integration.test"
USER_AGENT = "Chorus-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, 4 min..."""
    return FIRST_BACKOFF * (2 ** max(0, attempts - 1))


def _event_body(event_id: str, event_type: str, org_id: ObjectId, payload: dict) -> dict:
    return {"id": event_id, "type": event_type, "organizationId": str(org_id), **payload}


def _slack_text(event_type: str, data: dict[str, Any]) -> str:
    category = category_of(event_type, data)
    if category is None:
        return f"*{event_type}*"
    return f"*{category.title(data)}*\n{category.message(data)}"


class WebhookDispatcher:
    def __init__(self, db: Any, cipher: CredentialCipher, *, allow_private: bool) -> None:
        self._db = db
        self._cipher = cipher
        self._allow_private = allow_private
        self._deliveries = TenantRepository(db, WebhookDelivery)
        self._logs = TenantRepository(db, IntegrationLog)
        self._integrations = TenantRepository(db, Integration)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def allow_private(self) -> bool:
        """Whether private addresses may be called (the operator's setting)."""
        return self._allow_private

    # --- from events ---------------------------------------------------------------------

    async def handle(self, event: DomainEvent) -> list[WebhookDelivery]:
        """Owe ``event`` to each integration subscribed to it, and attempt each now (in the
        background: the emitter does not wait on other people's servers)."""
        org_id = event.organization_id
        owed = []
        now = utcnow()
        wire = event.model_dump(mode="json", by_alias=True, exclude_none=True)
        payload = {
            k: wire[k] for k in ("createdAt", "userId", "resource", "actor", "data") if k in wire
        }
        for integration in await connections.subscribed(self._db, org_id, event.type):
            delivery = WebhookDelivery(
                organization_id=org_id,
                integration_id=integration.id,
                event_id=str(event.id),
                event_type=event.type,
                payload=payload,
                next_attempt_at=now + LEASE,  # leased by this process for its first attempt
                give_up_at=now + RETRY_FOR,
            )
            try:
                await self._deliveries.insert(delivery)
            except DuplicateKeyError:  # owed already (the event was handled before)
                continue
            owed.append(delivery)
            task = asyncio.create_task(self._attempt_logged(delivery, integration))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return owed

    async def drain(self) -> None:
        """Wait for the attempts started in this process (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def deliver_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Attempt every delivery whose backoff (or abandoned lease) has run out; how many
        were attempted."""
        now = now or utcnow()
        col = self._deliveries.collection
        done = 0
        for raw in await schedule_claims.due(
            col, {"status": "pending"}, "nextAttemptAt", now, limit
        ):
            if not await schedule_claims.claim(col, raw, "nextAttemptAt", now + LEASE):
                continue  # another worker took it
            delivery = WebhookDelivery.from_mongo(raw)
            integration = await self._integrations.get(
                delivery.organization_id, delivery.integration_id
            )
            if integration is None:  # removed since
                await self._deliveries.delete(delivery.organization_id, delivery.id)
                continue
            await self._attempt_logged(delivery, integration, now)
            done += 1
        return done

    async def _attempt_logged(
        self, delivery: WebhookDelivery, integration: Integration, now: datetime | None = None
    ) -> None:
        try:
            await self._attempt(delivery, integration, now or utcnow())
        except Exception:  # the lease runs out and the job tries again
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)

    async def _attempt(
        self, delivery: WebhookDelivery, integration: Integration, now: datetime
    ) -> IntegrationLog:
        attempt = delivery.attempts + 1
        entry = await self._send(
            integration,
            delivery.event_id,
            delivery.event_type,
            delivery.payload,
            attempt=attempt,
            delivery_id=delivery.id,
        )
        org_id = delivery.organization_id
        if entry.ok:
            changes: dict[str, Any] = {
                "status": "delivered",
                "deliveredAt": utcnow(),
                "attempts": attempt,
                "lastError": None,
            }
        else:
            retry_at = now + backoff(attempt)
            gave_up = retry_at > delivery.give_up_at
            changes = {
                "status": "failed" if gave_up else "pending",
                "attempts": attempt,
                "nextAttemptAt": retry_at,
                "lastError": entry.error,
            }
            entry.next_attempt_at = None if gave_up else retry_at
            await self._logs.update(org_id, entry.id, {"nextAttemptAt": entry.next_attempt_at})
        await self._deliveries.update(org_id, delivery.id, changes)
        return entry

    # --- one request ---------------------------------------------------------------------

    async def send_test(self, integration: Integration) -> IntegrationLog:
        """One test event, sent now, logged, not retried."""
        payload = {"createdAt": utcnow().isoformat(), "data": {"message": "a test event"}}
        return await self._send(
            integration, str(ObjectId()), TEST_EVENT, payload, attempt=1, delivery_id=None
        )

    async def _send(
        self,
        integration: Integration,
        event_id: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        attempt: int,
        delivery_id: ObjectId | None,
    ) -> IntegrationLog:
        org_id = integration.organization_id
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            url = connections.target_url(integration, self._cipher)
            await destinations.check(url, allow_private=self._allow_private)
            body, headers = self._request(integration, event_id, event_type, payload)
            async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
                response = await client.post(url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"the receiver answered {status_code}"
        except destinations.DestinationRefused as exc:
            error = f"refused: the URL {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        entry = IntegrationLog(
            organization_id=org_id,
            integration_id=integration.id,
            delivery_id=delivery_id,
            event_type=event_type,
            attempt=attempt,
            ok=error is None,
            status_code=status_code,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        await self._logs.insert(entry)
        await self._integrations.collection.update_one(
            {"organizationId": org_id, "_id": integration.id},
            {
                "$set": {
                    "status.lastSync": utcnow(),
                    "status.syncStatus": "ok" if error is None else "failing",
                    "status.errorMessage": error,
                    "usage.lastRequest": utcnow(),
                },
                "$inc": {"usage.requestCount": 1},
            },
        )
        return entry

    def _request(
        self, integration: Integration, event_id: str, event_type: str, payload: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if integration.integration_type == "slack":
            text = _slack_text(event_type, payload.get("data") or {})
            return json.dumps({"text": text}).encode(), headers
        body = json.dumps(
            _event_body(event_id, event_type, integration.organization_id, payload)
        ).encode()
        secret = self._cipher.decrypt(integration.configuration.api_secret or "")
        timestamp = int(time.time())
        headers |= {
            "X-Chorus-Event": event_type,
            "X-Chorus-Delivery": event_id,
            "X-Chorus-Timestamp": str(timestamp),
            "X-Chorus-Signature": signing.signature(secret, timestamp, body),
        }
        return body, headers


async def send_test_event(
    dispatcher: WebhookDispatcher, db: Any, org_id: ObjectId, iid: ObjectId
) -> IntegrationLog:
    """Send a test event to one of the organization's integrations."""
    integration = await connections.get(db, org_id, iid)
    return await dispatcher.send_test(integration)
