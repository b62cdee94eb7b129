"""The payment gateway billing talks to, in two forms, as plain data.

``StripeGateway`` (``stripe_gateway``) is the production form: Stripe Checkout, the Customer
Portal, subscriptions and invoices, webhooks signed by Stripe. ``LocalBilling`` is the form
with no Stripe keys: no one pays online, an operator assigns plans (``chorus orgs
set-plan``), and the limits apply all the same. The composition root picks one.

What Stripe answers is turned into the small dataclasses below at the edge, so the rest of
billing reads plain, typed values and never Stripe's objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from persistence.errors import ChorusError, Conflict, InvalidInput

Mode = Literal["local", "stripe"]


class BadSignature(ChorusError):
    """A webhook whose signature does not verify (HTTP 400, the status for a ChorusError with
    no more specific class): it is refused before anything in it is read."""

    default_code = "bad_signature"


@dataclass(frozen=True)
class RemoteSubscription:
    """A Stripe subscription as it is now."""

    id: str
    customer: str
    status: str
    price_id: str | None
    item_id: str | None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    anchor: datetime | None = None
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    interval: str | None = None
    organization_id: str | None = None


@dataclass(frozen=True)
class RemoteInvoice:
    id: str | None
    customer: str | None
    subscription_id: str | None
    status: str | None
    number: str | None = None
    amount_due: int = 0
    amount_paid: int = 0
    currency: str = "usd"
    created: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    next_payment_attempt: datetime | None = None
    attempt_count: int = 0
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None


@dataclass(frozen=True)
class Price:
    id: str
    unit_amount: int | None
    currency: str
    interval: str | None


@dataclass(frozen=True)
class CheckoutStart:
    session_id: str
    url: str


@dataclass(frozen=True)
class Notice:
    """A verified webhook event: its id, type and the object it carries (as sent)."""

    id: str
    type: str
    created: datetime | None
    object: dict[str, Any] = field(default_factory=dict)


class BillingGateway(Protocol):
    @property
    def mode(self) -> Mode: ...

    @property
    def prices(self) -> dict[str, str]:
        """Plan name -> Stripe Price id, for the plans sold online."""
        ...

    def plan_for_price(self, price_id: str | None) -> str | None: ...

    async def create_customer(self, org_id: str, name: str, email: str | None) -> str: ...

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
    ) -> CheckoutStart: ...

    async def change_price(
        self, subscription: RemoteSubscription, price_id: str
    ) -> RemoteSubscription: ...

    async def cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> RemoteSubscription: ...

    async def portal(self, customer: str, return_url: str) -> str: ...

    async def subscription(self, subscription_id: str) -> RemoteSubscription: ...

    async def invoice(self, invoice_id: str) -> RemoteInvoice: ...

    async def invoices(self, customer: str, limit: int) -> list[RemoteInvoice]: ...

    async def upcoming(self, customer: str, subscription_id: str) -> RemoteInvoice | None: ...

    async def price(self, price_id: str) -> Price | None: ...

    def verify(self, payload: bytes, signature: str | None) -> Notice: ...


def not_configured() -> Conflict:
    """Online payment asked of a server without Stripe: a 409 that says how plans are
    assigned here (the server works as configured; nothing is down)."""
    return Conflict(
        "online payments are not configured on this server (no STRIPE_API_KEY): an operator "
        "assigns plans with `chorus orgs set-plan ORG PLAN`",
        code="billing_not_configured",
    )


class LocalBilling:
    """No payment provider: plans are the operator's to assign; every online payment
    operation says so."""

    mode: Mode = "local"

    @property
    def prices(self) -> dict[str, str]:
        return {}  # nothing is sold online

    def plan_for_price(self, price_id: str | None) -> str | None:
        return None

    async def create_customer(self, org_id: str, name: str, email: str | None) -> str:
        raise not_configured()

    async def start_checkout(self, **kwargs: Any) -> CheckoutStart:
        raise not_configured()

    async def change_price(
        self, subscription: RemoteSubscription, price_id: str
    ) -> RemoteSubscription:
        raise not_configured()

    async def cancel_at_period_end(self, subscription_id: str, cancel: bool) -> RemoteSubscription:
        raise not_configured()

    async def portal(self, customer: str, return_url: str) -> str:
        raise not_configured()

    async def subscription(self, subscription_id: str) -> RemoteSubscription:
        raise not_configured()

    async def invoice(self, invoice_id: str) -> RemoteInvoice:
        raise not_configured()

    async def invoices(self, customer: str, limit: int) -> list[RemoteInvoice]:
        return []

    async def upcoming(self, customer: str, subscription_id: str) -> RemoteInvoice | None:
        return None

    async def price(self, price_id: str) -> Price | None:
        return None

    def verify(self, payload: bytes, signature: str | None) -> Notice:
        raise not_configured()


@dataclass(frozen=True)
class Billing:
    """Billing as the composition root built it: the gateway, the trial offered with a first
    paid plan, and where Stripe may send people back to (this service's public address and
    the browser origins allowed to call the API)."""

    gateway: BillingGateway
    trial_days: int = 0
    return_origins: tuple[str, ...] = ()
    home: str = "http://127.0.0.1:8000"

    def return_url(self, value: str | None, default: str, field: str) -> str:
        """``value`` if it leads back to one of ``return_origins``, else InvalidInput naming
        ``field``; ``default`` (under ``home``) when no value is given. Stripe redirects
        people to it after paying, so it must be ours: never an open redirect."""
        if value is None:
            return f"{self.home.rstrip('/')}{default}"
        parts = urlsplit(value)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        allowed = {_origin(o) for o in (self.home, *self.return_origins)}
        if parts.scheme not in ("http", "https") or not parts.netloc or origin not in allowed:
            raise InvalidInput.field(
                field, "must be a URL of this service or of an allowed browser origin"
            )
        return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
