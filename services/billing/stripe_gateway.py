"""Stripe, through stripe-python's own ``StripeClient`` (async calls over httpx).

Every create and update carries an idempotency key: the client sends the same key again on
its own retries, so a lost answer never makes a second customer, session or change. A
customer's key is derived from the organization, so two concurrent first checkouts make one
customer. Stripe's failures become domain errors here, with messages that never carry a key:
a declined card is a 402, a Stripe outage or rate limit a 503, a refused request (a price id
that does not exist in this Stripe account) a 503 for the operator to fix.

Webhooks are verified with stripe-python's ``WebhookSignature`` against the endpoint's
signing secret before their content is read.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import stripe

from persistence.errors import Conflict, InvalidInput, PaymentRequired, Unavailable
from services.billing.gateway import (
    BadSignature,
    CheckoutStart,
    Mode,
    Notice,
    Price,
    RemoteInvoice,
    RemoteSubscription,
)

log = logging.getLogger(__name__)

# How old a signed webhook may be (Stripe's own default): an old, replayed delivery fails.
SIGNATURE_TOLERANCE_SECONDS = 300
PRICE_CACHE_SECONDS = 600


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) else None


def _id(value: Any) -> str | None:
    """An id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def subscription_of(data: dict[str, Any]) -> RemoteSubscription:
    items = (data.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or {}
    metadata = data.get("metadata") or {}
    return RemoteSubscription(
        id=data["id"],
        customer=_id(data.get("customer")) or "",
        status=str(data.get("status") or ""),
        price_id=_id(price),
        item_id=item.get("id"),
        # Since API version 2025-03-31 the period lives on each item; before, on the
        # subscription.
        current_period_start=_time(
            item.get("current_period_start") or data.get("current_period_start")
        ),
        current_period_end=_time(item.get("current_period_end") or data.get("current_period_end")),
        anchor=_time(data.get("billing_cycle_anchor")),
        trial_end=_time(data.get("trial_end")),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        interval=(price.get("recurring") or {}).get("interval"),
        organization_id=metadata.get("organizationId"),
    )


def invoice_of(data: dict[str, Any]) -> RemoteInvoice:
    parent = (data.get("parent") or {}).get("subscription_details") or {}
    return RemoteInvoice(
        id=data.get("id"),
        customer=_id(data.get("customer")),
        # Since 2025-03-31 an invoice names its subscription under parent; before, at the top.
        subscription_id=_id(parent.get("subscription")) or _id(data.get("subscription")),
        status=data.get("status"),
        number=data.get("number"),
        amount_due=int(data.get("amount_due") or 0),
        amount_paid=int(data.get("amount_paid") or 0),
        currency=str(data.get("currency") or "usd"),
        created=_time(data.get("created")),
        period_start=_time(data.get("period_start")),
        period_end=_time(data.get("period_end")),
        next_payment_attempt=_time(data.get("next_payment_attempt")),
        attempt_count=int(data.get("attempt_count") or 0),
        hosted_invoice_url=data.get("hosted_invoice_url"),
        invoice_pdf=data.get("invoice_pdf"),
    )


@asynccontextmanager
async def _stripe_errors() -> AsyncIterator[None]:
    """Stripe's exceptions as domain errors (never with the key or the raw response)."""
    try:
        yield
    except stripe.CardError as exc:
        raise PaymentRequired(
            f"the payment was declined: {exc.user_message or 'try another payment method'}",
            code="payment_declined",
        ) from exc
    except stripe.IdempotencyError as exc:
        raise Conflict(
            "the same change was just requested with other values; reload and try again",
            code="idempotency_conflict",
        ) from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        log.error("Stripe refused our credentials (%s)", type(exc).__name__)
        raise Unavailable(
            "the payment provider refused this server's credentials; an operator must check "
            "STRIPE_API_KEY",
            code="billing_misconfigured",
        ) from exc
    except stripe.InvalidRequestError as exc:
        log.error("Stripe refused a request: %s (param %s)", exc.user_message, exc.param)
        raise Unavailable(
            f"the payment provider refused the request ({exc.user_message or exc.code}); "
            "an operator must check the billing settings",
            code="billing_misconfigured",
        ) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise Unavailable(
            "the payment provider did not answer; try again in a moment", code="billing_unavailable"
        ) from exc


class StripeGateway:
    mode: Mode = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        webhook_secret: str | None,
        prices: dict[str, str],
        api_base: str | None = None,
        timeout: float = 30.0,
        max_network_retries: int = 2,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else {},
            http_client=stripe.HTTPXClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self.prices = dict(prices)
        self._plans = {price: plan for plan, price in self.prices.items()}
        self._price_cache: dict[str, tuple[float, Price | None]] = {}

    def plan_for_price(self, price_id: str | None) -> str | None:
        return self._plans.get(price_id) if price_id else None

    @property
    def v1(self) -> Any:
        return self._client.v1

    async def create_customer(self, org_id: str, name: str, email: str | None) -> str:
        params: dict[str, Any] = {"name": name, "metadata": {"organizationId": org_id}}
        if email:
            params["email"] = email
        async with _stripe_errors():
            customer = await self.v1.customers.create_async(
                params, {"idempotency_key": f"chorus-customer-{org_id}"}
            )
        return customer.id

    async def start_checkout(
        self,
        *,
        org_id: str,
        customer: str,
        plan: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
        trial_days: int,
    ) -> CheckoutStart:
        subscription_data: dict[str, Any] = {"metadata": {"organizationId": org_id}}
        if trial_days > 0:
            subscription_data["trial_period_days"] = trial_days
        params = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": org_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": {"organizationId": org_id, "plan": plan},
            "subscription_data": subscription_data,
        }
        async with _stripe_errors():
            session = await self.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"chorus-checkout-{uuid.uuid4()}"}
            )
        return CheckoutStart(session_id=session.id, url=session.url)

    async def change_price(
        self, subscription: RemoteSubscription, price_id: str
    ) -> RemoteSubscription:
        if subscription.item_id is None:
            raise InvalidInput("the subscription has no item to change", code="no_item")
        params = {
            "items": [{"id": subscription.item_id, "price": price_id}],
            "proration_behavior": "create_prorations",
            "cancel_at_period_end": False,
        }
        async with _stripe_errors():
            updated = await self.v1.subscriptions.update_async(
                subscription.id, params, {"idempotency_key": f"chorus-change-{uuid.uuid4()}"}
            )
        return subscription_of(updated.to_dict())

    async def cancel_at_period_end(self, subscription_id: str, cancel: bool) -> RemoteSubscription:
        async with _stripe_errors():
            updated = await self.v1.subscriptions.update_async(
                subscription_id,
                {"cancel_at_period_end": cancel},
                {"idempotency_key": f"chorus-cancel-{uuid.uuid4()}"},
            )
        return subscription_of(updated.to_dict())

    async def portal(self, customer: str, return_url: str) -> str:
        async with _stripe_errors():
            session = await self.v1.billing_portal.sessions.create_async(
                {"customer": customer, "return_url": return_url},
                {"idempotency_key": f"chorus-portal-{uuid.uuid4()}"},
            )
        return session.url

    async def subscription(self, subscription_id: str) -> RemoteSubscription:
        async with _stripe_errors():
            found = await self.v1.subscriptions.retrieve_async(subscription_id)
        return subscription_of(found.to_dict())

    async def invoice(self, invoice_id: str) -> RemoteInvoice:
        async with _stripe_errors():
            found = await self.v1.invoices.retrieve_async(invoice_id)
        return invoice_of(found.to_dict())

    async def invoices(self, customer: str, limit: int) -> list[RemoteInvoice]:
        async with _stripe_errors():
            page = await self.v1.invoices.list_async({"customer": customer, "limit": limit})
        return [invoice_of(i.to_dict()) for i in page.data]

    async def upcoming(self, customer: str, subscription_id: str) -> RemoteInvoice | None:
        try:
            async with _stripe_errors():
                preview = await self.v1.invoices.create_preview_async(
                    {"customer": customer, "subscription": subscription_id}
                )
        except Unavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, stripe.InvalidRequestError) and cause.code == (
                "invoice_upcoming_none"
            ):
                return None  # nothing more will be billed (a subscription that ends)
            raise
        return invoice_of(preview.to_dict())

    async def price(self, price_id: str) -> Price | None:
        cached = self._price_cache.get(price_id)
        if cached is not None and time.monotonic() - cached[0] < PRICE_CACHE_SECONDS:
            return cached[1]
        async with _stripe_errors():
            found = (await self.v1.prices.retrieve_async(price_id)).to_dict()
        price = Price(
            id=found["id"],
            unit_amount=found.get("unit_amount"),
            currency=str(found.get("currency") or "usd"),
            interval=(found.get("recurring") or {}).get("interval"),
        )
        self._price_cache[price_id] = (time.monotonic(), price)
        return price

    def verify(self, payload: bytes, signature: str | None) -> Notice:
        if not self._webhook_secret:
            raise Conflict(
                "Stripe webhooks are not configured on this server (no STRIPE_WEBHOOK_SECRET)",
                code="billing_not_configured",
            )
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            raise BadSignature(
                "the Stripe-Signature header does not verify for this payload (wrong secret, "
                "altered body, or older than five minutes)"
            ) from exc
        try:
            event = json.loads(payload)
            obj = event["data"]["object"]
            return Notice(
                id=str(event["id"]),
                type=str(event["type"]),
                created=_time(event.get("created")),
                object=obj if isinstance(obj, dict) else {},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput("the body is not a Stripe event", code="not_an_event") from exc
