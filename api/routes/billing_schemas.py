"""Request and response bodies of the billing routes: plans, the subscription, usage and
invoices."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.routes.schemas import ApiModel, StrictIn
from persistence.models.organizations import Plan, SubscriptionStatus
from services.billing.access import Access
from services.billing.gateway import RemoteInvoice
from services.billing.limits import Usage
from services.billing.plans import LIMIT_KINDS, LIMITS, LimitKind, lifting
from services.billing.subscriptions import BillingOverview, PlanChange, PlanOffer, SubscriptionView

ReturnUrl = str


class PriceOut(ApiModel):
    unit_amount: int | None = Field(description="In the currency's smallest unit (cents).")
    currency: str
    interval: str | None = Field(description="month or year; null for a one-off price.")


class PlanLimitsOut(ApiModel):
    """Each limit of a plan; null is unlimited. Media storage is in bytes; scheduled posts
    and AI credits are per monthly period."""

    members: int | None
    social_accounts: int | None
    scheduled_posts: int | None
    ai_credits: int | None
    media_storage: int | None

    @classmethod
    def of(cls, limits: dict[LimitKind, int | None]) -> PlanLimitsOut:
        return cls(**{k: limits[k] for k in LIMIT_KINDS})


class PlanOut(ApiModel):
    name: Plan
    title: str
    limits: PlanLimitsOut
    price: PriceOut | None = None
    purchasable: bool = Field(description="Whether POST /subscription can move to it.")

    @classmethod
    def of(cls, offer: PlanOffer) -> PlanOut:
        price = offer.price
        return cls(
            name=offer.plan.name,
            title=offer.plan.title,
            limits=PlanLimitsOut.of(offer.plan.limits),
            price=PriceOut(
                unit_amount=price.unit_amount, currency=price.currency, interval=price.interval
            )
            if price
            else None,
            purchasable=offer.purchasable,
        )


class AccessOut(ApiModel):
    level: Literal["full", "grace", "read_only"] = Field(
        description="full; grace (a payment failed, full access until graceEndsAt); "
        "read_only (nothing new can be created; everything stays readable)."
    )
    reason: str | None = None
    grace_ends_at: datetime | None = None

    @classmethod
    def of(cls, access: Access) -> AccessOut:
        return cls(level=access.level, reason=access.reason, grace_ends_at=access.grace_ends_at)


class SubscriptionOut(ApiModel):
    mode: Literal["local", "stripe"] = Field(
        description="stripe: plans are bought online; local: an operator assigns them."
    )
    plan: Plan
    status: SubscriptionStatus
    access: AccessOut
    limits: PlanLimitsOut
    billing_cycle: Literal["monthly", "yearly"]
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    pending_plan: Plan | None = Field(
        default=None, description="The plan in force once the current period ends."
    )
    plans: list[PlanOut]

    @classmethod
    def of(cls, found: SubscriptionView) -> SubscriptionOut:
        sub = found.subscription
        current = next(o for o in found.offers if o.plan.name == sub.plan)
        return cls(
            mode=found.mode,  # type: ignore[arg-type]
            plan=sub.plan,
            status=sub.status,
            access=AccessOut.of(found.access),
            limits=PlanLimitsOut.of(current.plan.limits),
            billing_cycle=sub.billing_cycle,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            trial_end=sub.trial_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            pending_plan=sub.pending_plan,
            plans=[PlanOut.of(o) for o in found.offers],
        )


class PlanChangeIn(StrictIn):
    plan: Plan = Field(description="The plan to move to.")
    success_url: ReturnUrl | None = Field(
        default=None,
        max_length=2000,
        description="Where Checkout sends the payer back after paying (this service's address "
        "or an allowed browser origin); default: the console.",
    )
    cancel_url: ReturnUrl | None = Field(
        default=None, max_length=2000, description="Where Checkout sends them if they go back."
    )


class PlanChangeOut(ApiModel):
    action: Literal["checkout", "updated", "cancel_scheduled", "unchanged"] = Field(
        description="checkout: open checkoutUrl to pay, the plan changes once Stripe confirms; "
        "updated: the plan changed now (prorated); cancel_scheduled: the paid plan ends with "
        "its period, then free; unchanged: already so."
    )
    checkout_url: str | None = None
    session_id: str | None = None
    subscription: SubscriptionOut

    @classmethod
    def of(cls, change: PlanChange, found: SubscriptionView) -> PlanChangeOut:
        return cls(
            action=change.action,
            checkout_url=change.checkout_url,
            session_id=change.session_id,
            subscription=SubscriptionOut.of(found),
        )


class PortalIn(StrictIn):
    return_url: ReturnUrl | None = Field(
        default=None, max_length=2000, description="Where the portal's back link leads."
    )


class PortalOut(ApiModel):
    url: str = Field(description="The Customer Portal session: payment methods, invoices.")


class UsageItemOut(ApiModel):
    kind: LimitKind
    label: str
    unit: Literal["count", "credits", "bytes"]
    used: int
    allowed: int | None = Field(description="null: unlimited on this plan.")
    resets_at: datetime | None = Field(description="For monthly allowances; null otherwise.")
    reached: bool = Field(description="Nothing more of this can be added on this plan.")
    upgrade_to: Plan | None = Field(
        description="The cheapest plan that allows one more, when this one is reached."
    )

    @classmethod
    def of(cls, item: Usage, plan: str) -> UsageItemOut:
        info = LIMITS[item.kind]
        lift = lifting(item.kind, item.used + 1) if item.reached else None
        return cls(
            kind=item.kind,
            label=info.label,
            unit=info.unit,
            used=item.used,
            allowed=item.allowed,
            resets_at=item.resets_at,
            reached=item.reached,
            upgrade_to=lift.name if lift and lift.name != plan else None,
        )


class UsageOut(ApiModel):
    plan: Plan
    status: SubscriptionStatus
    access: AccessOut
    limits: list[UsageItemOut]


class InvoiceOut(ApiModel):
    id: str | None
    number: str | None
    status: str | None
    amount_due: int
    amount_paid: int
    currency: str
    created: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    next_payment_attempt: datetime | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None

    @classmethod
    def of(cls, invoice: RemoteInvoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            number=invoice.number,
            status=invoice.status,
            amount_due=invoice.amount_due,
            amount_paid=invoice.amount_paid,
            currency=invoice.currency,
            created=invoice.created,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            next_payment_attempt=invoice.next_payment_attempt,
            hosted_invoice_url=invoice.hosted_invoice_url,
            invoice_pdf=invoice.invoice_pdf,
        )


class BillingOut(ApiModel):
    mode: Literal["local", "stripe"]
    customer_id: str | None = Field(description="The Stripe customer; null until a first plan.")
    plan: Plan
    status: SubscriptionStatus
    access: AccessOut
    current_period_end: datetime | None = None
    next_invoice: InvoiceOut | None = Field(description="What the next invoice would be now.")
    invoices: list[InvoiceOut] = Field(description="The most recent invoices, newest first.")

    @classmethod
    def of(cls, found: BillingOverview) -> BillingOut:
        sub = found.organization.subscription
        return cls(
            mode=found.mode,  # type: ignore[arg-type]
            customer_id=sub.stripe_customer_id,
            plan=sub.plan,
            status=sub.status,
            access=AccessOut.of(found.access),
            current_period_end=sub.current_period_end,
            next_invoice=InvoiceOut.of(found.next_invoice) if found.next_invoice else None,
            invoices=[InvoiceOut.of(i) for i in found.invoices],
        )


class WebhookOut(ApiModel):
    received: bool = True
    outcome: Literal["processed", "duplicate", "ignored"]
    event_id: str
    event_type: str
