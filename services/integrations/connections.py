"""Saving, listing and removing an organization's outgoing integrations.

A ``webhook`` gets a signing secret, returned once at connect and stored encrypted. A
``slack`` incoming-webhook URL is itself a credential: stored encrypted, shown masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bson import ObjectId

from persistence.crypto import CredentialCipher
from persistence.errors import InvalidInput, NotFound
from persistence.models import Integration, IntegrationLog
from persistence.models.integrations import IntegrationConfiguration, IntegrationStatus
from persistence.repository import TenantRepository
from services import events as ev
from services.integrations import destinations, signing

Kind = Literal["webhook", "slack"]
KINDS: tuple[Kind, ...] = ("webhook", "slack")
# What may be subscribed to: every event type the services emit, or "*".
EVENT_TYPES = tuple(
    sorted(
        v
        for k, v in vars(ev).items()
        if k.isupper() and isinstance(v, str) and "." in v and not k.startswith("_")
    )
)


def _repo(db: Any) -> TenantRepository[Integration]:
    return TenantRepository(db, Integration)


@dataclass(frozen=True)
class Connected:
    integration: Integration
    secret: str | None  # the webhook's signing secret: this once, never again


def _masked(url: str) -> str:
    return url[:32] + "\u2026" if len(url) > 32 else url


def event_types_of(integration: Integration) -> list[str]:
    return list(integration.configuration.settings.get("eventTypes", []))


def display_url(integration: Integration) -> str:
    return integration.configuration.webhook_url or ""


def target_url(integration: Integration, cipher: CredentialCipher) -> str:
    if integration.integration_type == "slack":
        return cipher.decrypt(integration.configuration.api_key or "")
    return integration.configuration.webhook_url or ""


async def connect(
    db: Any,
    cipher: CredentialCipher,
    org_id: ObjectId,
    kind: Kind,
    *,
    url: str,
    event_types: list[str],
    name: str | None,
    allow_private: bool,
) -> Connected:
    """Check and save; nothing is stored if anything is refused."""
    errors = []
    unknown = [t for t in event_types if t != "*" and t not in EVENT_TYPES]
    if unknown:
        errors.append(
            {"field": "body.eventTypes", "message": f"unknown event types: {', '.join(unknown)}"}
        )
    if not event_types:
        errors.append({"field": "body.eventTypes", "message": "name at least one event type"})
    try:
        await destinations.check(url, allow_private=allow_private)
    except destinations.DestinationRefused as exc:
        errors.append({"field": "body.url", "message": str(exc)})
    if errors:
        raise InvalidInput("the integration cannot be connected", fields=errors)
    secret = signing.new_secret() if kind == "webhook" else None
    config = IntegrationConfiguration(
        webhook_url=url if kind == "webhook" else _masked(url),
        api_key=cipher.encrypt(url) if kind == "slack" else None,
        api_secret=cipher.encrypt(secret) if secret else None,
        settings={"eventTypes": sorted(set(event_types))},
    )
    integration = Integration(
        organization_id=org_id,
        integration_type=kind,
        name=name or f"{kind} {_masked(url)}",
        configuration=config,
        status=IntegrationStatus(is_active=True, is_connected=True),
    )
    await _repo(db).insert(integration)
    return Connected(integration, secret)


async def list_all(db: Any, org_id: ObjectId) -> list[Integration]:
    return await _repo(db).find(
        org_id, {"integrationType": {"$in": list(KINDS)}}, sort=[("_id", 1)]
    )


async def get(db: Any, org_id: ObjectId, integration_id: ObjectId) -> Integration:
    found = await _repo(db).find_one(
        org_id, {"_id": integration_id, "integrationType": {"$in": list(KINDS)}}
    )
    if found is None:
        raise NotFound("no such integration")
    return found


async def remove(db: Any, org_id: ObjectId, integration_id: ObjectId) -> None:
    """Delete it; its pending deliveries are dropped with it, its logs kept."""
    await get(db, org_id, integration_id)
    await _repo(db).delete(org_id, integration_id)
    await db["webhook_deliveries"].delete_many(
        {"organizationId": org_id, "integrationId": integration_id}
    )


async def subscribed(db: Any, org_id: ObjectId, event_type: str) -> list[Integration]:
    return await _repo(db).find(
        org_id,
        {
            "integrationType": {"$in": list(KINDS)},
            "status.isActive": True,
            "configuration.settings.eventTypes": {"$in": [event_type, "*"]},
        },
    )


async def logs(
    db: Any, org_id: ObjectId, integration_id: ObjectId, *, limit: int, before: ObjectId | None
) -> tuple[list[IntegrationLog], str | None]:
    await get(db, org_id, integration_id)
    query: dict[str, Any] = {"integrationId": integration_id}
    if before is not None:
        query["_id"] = {"$lt": before}
    found = await TenantRepository(db, IntegrationLog).find(
        org_id, query, sort=[("_id", -1)], limit=limit + 1
    )
    more = len(found) > limit
    found = found[:limit]
    return found, (str(found[-1].id) if more and found else None)
