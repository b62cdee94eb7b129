"""Stripe's webhook events: verified, processed once, safe in any order.

1. The signature is verified against the endpoint's secret before anything in the body is
   read (``gateway.verify``); a bad one is refused (400).
2. Events we do not handle, and events about no organization of ours, are acknowledged and
   ignored: Stripe stops sending them again, nothing is stored.
3. The event is claimed by its id in ``webhook_events`` (``persistence.webhook_inbox``): a
   duplicate delivery of a processed event is acknowledged without doing anything; one that
   races an attempt under way gets a 409, so Stripe delivers it again later.
4. Processing never trusts the event's copy of the object, which may be older than one
   already applied (Stripe does not deliver in order, and replays old events): it reads the
   subscription or invoice from Stripe as it is now and applies that
   (``subscriptions.sync``). An older event handled after a newer one therefore changes
   nothing.
5. A failure marks the event failed and answers an error, so Stripe retries it; the retry
   claims it again.

A failed payment emits ``billing.payment_failed`` (``services.events``) once per event, while
the invoice is still open, with the grace period's end: the notifications engineer turns it
into the warning members see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidId

from persistence import webhook_inbox
from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict
from persistence.ids import utcnow
from persistence.models import Organization, WebhookEvent
from services.billing import subscriptions
from services.billing.access import access_of
from services.billing.gateway import BillingGateway, Notice
from services.events import PAYMENT_FAILED, EventBus

log = logging.getLogger(__name__)

SOURCE = "stripe"
CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_PAID = "invoice.paid"
INVOICE_FAILED = "invoice.payment_failed"
HANDLED = frozenset({CHECKOUT_COMPLETED, INVOICE_PAID, INVOICE_FAILED, *SUBSCRIPTION_EVENTS})


@dataclass(frozen=True)
class Receipt:
    outcome: Literal["processed", "duplicate", "ignored"]
    event_id: str
    event_type: str


def _object_id(value: Any) -> ObjectId | None:
    try:
        return ObjectId(value) if isinstance(value, str) else None
    except InvalidId:
        return None


def _customer(obj: dict[str, Any]) -> str | None:
    value = obj.get("customer")
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


async def organization_for(db: Any, notice: Notice) -> Organization | None:
    """The organization an event concerns: the Stripe customer we made for it, or the
    organization id we put into the checkout session and the subscription's metadata."""
    admin = OrganizationAdmin(db)
    obj = notice.object
    customer = _customer(obj)
    if customer:
        found = await admin.find_by_stripe_customer(customer)
        if found is not None:
            return found
    candidates = [(obj.get("metadata") or {}).get("organizationId")]
    if notice.type == CHECKOUT_COMPLETED:
        candidates.insert(0, obj.get("client_reference_id"))
    for candidate in candidates:
        org_id = _object_id(candidate)
        if org_id is not None:
            org = await admin.get(org_id)
            if org is not None and org.deleted_at is None:
                return org
    return None


async def receive(
    db: Any, gateway: BillingGateway, events: EventBus, payload: bytes, signature: str | None
) -> Receipt:
    notice = gateway.verify(payload, signature)  # before anything else
    if notice.type not in HANDLED:
        return Receipt("ignored", notice.id, notice.type)
    org = await organization_for(db, notice)
    if org is None:
        log.info("Stripe event %s (%s) concerns no organization here", notice.id, notice.type)
        return Receipt("ignored", notice.id, notice.type)
    record = WebhookEvent(
        organization_id=org.id,
        source=SOURCE,
        event_type=notice.type,
        event_id=notice.id,
        payload={"object": notice.object.get("object"), "id": notice.object.get("id")},
    )
    claimed = await webhook_inbox.claim(db, record)
    if claimed.outcome == "done":
        return Receipt("duplicate", notice.id, notice.type)
    if claimed.outcome == "busy":
        raise Conflict(
            "this event is being processed by another delivery; Stripe will send it again",
            code="event_in_progress",
        )
    try:
        await _process(db, gateway, events, org, notice)
    except Exception as exc:
        await webhook_inbox.finish(db, record, error=f"{type(exc).__name__}: {exc}")
        raise
    await webhook_inbox.finish(db, record)
    return Receipt("processed", notice.id, notice.type)


async def _process(
    db: Any, gateway: BillingGateway, events: EventBus, org: Organization, notice: Notice
) -> None:
    obj = notice.object
    if notice.type == CHECKOUT_COMPLETED:
        subscription_id = obj.get("subscription")
        if isinstance(subscription_id, dict):
            subscription_id = subscription_id.get("id")
        customer = _customer(obj)
        if customer:
            org = await subscriptions.remember_customer(db, org, customer)
        if obj.get("mode") == "subscription" and isinstance(subscription_id, str):
            remote = await gateway.subscription(subscription_id)
            await subscriptions.sync(db, gateway, org.id, remote)
        return
    if notice.type in SUBSCRIPTION_EVENTS:
        remote = await gateway.subscription(str(obj.get("id")))
        await subscriptions.sync(db, gateway, org.id, remote)
        return
    invoice = await gateway.invoice(str(obj.get("id")))
    if invoice.subscription_id:
        remote = await gateway.subscription(invoice.subscription_id)
        org = await subscriptions.sync(db, gateway, org.id, remote)
    if notice.type == INVOICE_FAILED and invoice.status == "open":
        access = access_of(org.subscription, utcnow())
        await events.emit(
            org.id,
            PAYMENT_FAILED,
            {
                "invoiceId": invoice.id,
                "amountDue": invoice.amount_due,
                "currency": invoice.currency,
                "attemptCount": invoice.attempt_count,
                "nextPaymentAttempt": invoice.next_payment_attempt.isoformat()
                if invoice.next_payment_attempt
                else None,
                "hostedInvoiceUrl": invoice.hosted_invoice_url,
                "plan": org.subscription.plan,
                "status": org.subscription.status,
                "graceEndsAt": access.grace_ends_at.isoformat() if access.grace_ends_at else None,
                "message": access.reason
                or "a payment failed: update the payment method to keep the subscription",
            },
            resource=("subscription", str(org.id)),
            actor=("system", "stripe"),
        )
