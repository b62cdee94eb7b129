"""An organization's subscription: reading it, changing the plan, and keeping it in step
with Stripe.

With Stripe, the stored subscription is a copy of Stripe's, and only ``sync`` writes it:
from the subscription a change returned, or from the one a webhook made us read again
(never from the event's own copy, which may be older than what we hold). Each write is a
compare-and-set on ``subscription.revision``; one that loses to a concurrent write reads
Stripe again and retries, so the last write always reflects a read made after the one
before it, whatever order events arrive in.

Changing plans: a first paid plan (or one after a canceled subscription) goes through a
Stripe Checkout Session, and the plan changes when Stripe reports the subscription; a plan
change on a live subscription updates its price with proration at once; choosing free ends
the paid subscription at the end of its period, after which the organization is on the free
plan (a subscription that ends for any other reason leaves it read-only). Without Stripe, an
operator assigns plans (``assign``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId

from persistence.errors import Conflict, InvalidInput, NotFound, Unavailable
from persistence.ids import utcnow
from persistence.models import Organization
from persistence.models.organizations import PLANS as PLAN_NAMES
from persistence.models.organizations import SUBSCRIPTION_STATUSES, Subscription
from persistence.organizations import load_organization
from persistence.repository import TenantRepository
from services import audit
from services.billing.access import Access, access_of
from services.billing.gateway import (
    BillingGateway,
    Price,
    RemoteInvoice,
    RemoteSubscription,
    not_configured,
)
from services.billing.plans import PLANS, Plan
from services.billing.plans import plan as plan_of

log = logging.getLogger(__name__)

MAX_SYNC_ATTEMPTS = 5
RECENT_INVOICES = 10
# A Stripe subscription in these states has ended: it no longer pays for anything.
ENDED = frozenset({"canceled", "incomplete_expired"})
# States in which a subscription never replaces the plan in force: its first payment has
# not gone through yet.
NOT_YET = frozenset({"incomplete", "incomplete_expired"})


def _repo(db: Any) -> TenantRepository[Organization]:
    return TenantRepository(db, Organization)


async def organization(db: Any, org_id: ObjectId) -> Organization:
    org = await load_organization(db, org_id)
    if org is None or org.deleted_at is not None:
        raise NotFound("no such organization")
    return org


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanOffer:
    plan: Plan
    price: Price | None
    purchasable: bool


@dataclass(frozen=True)
class SubscriptionView:
    organization: Organization
    access: Access
    mode: str
    offers: list[PlanOffer]

    @property
    def subscription(self) -> Subscription:
        return self.organization.subscription


async def offers(gateway: BillingGateway) -> list[PlanOffer]:
    """Every plan, with its Stripe price where it is sold online. A price Stripe cannot give
    now is left out rather than failing the read."""
    found = []
    for plan in PLANS.values():
        price_id = gateway.prices.get(plan.name)
        price = None
        if price_id:
            try:
                price = await gateway.price(price_id)
            except Unavailable:
                log.warning("the price of plan %s could not be read from Stripe", plan.name)
        found.append(PlanOffer(plan, price, plan.name == "free" or bool(price_id)))
    return found


async def view(
    db: Any, gateway: BillingGateway, org_id: ObjectId, *, now: datetime | None = None
) -> SubscriptionView:
    org = await organization(db, org_id)
    return SubscriptionView(
        org, access_of(org.subscription, now or utcnow()), gateway.mode, await offers(gateway)
    )


@dataclass(frozen=True)
class BillingOverview:
    organization: Organization
    access: Access
    mode: str
    next_invoice: RemoteInvoice | None
    invoices: list[RemoteInvoice]


async def overview(
    db: Any, gateway: BillingGateway, org_id: ObjectId, *, now: datetime | None = None
) -> BillingOverview:
    """The customer, plan and status, the next invoice and the recent ones (from Stripe)."""
    org = await organization(db, org_id)
    sub = org.subscription
    upcoming, invoices = None, []
    if sub.stripe_customer_id:
        invoices = await gateway.invoices(sub.stripe_customer_id, RECENT_INVOICES)
        if sub.stripe_subscription_id and sub.status not in ENDED:
            upcoming = await gateway.upcoming(sub.stripe_customer_id, sub.stripe_subscription_id)
    return BillingOverview(org, access_of(sub, now or utcnow()), gateway.mode, upcoming, invoices)


# --- keeping in step with Stripe -------------------------------------------------------------

_UNSET: Any = object()


def _changes(
    org: Organization,
    remote: RemoteSubscription,
    gateway: BillingGateway,
    now: datetime,
    pending_plan: str | None,
) -> dict[str, Any] | None:
    """The ``$set`` that makes the stored subscription Stripe's ``remote``; None when
    ``remote`` must not be applied or nothing would change."""
    sub = org.subscription
    if remote.status in NOT_YET:
        return None
    if sub.stripe_subscription_id not in (None, remote.id) and remote.status in ENDED:
        return None  # an older subscription ending: the current one is another
    if remote.status not in SUBSCRIPTION_STATUSES:
        log.warning("Stripe subscription %s has unknown status %r", remote.id, remote.status)
        return None
    plan = gateway.plan_for_price(remote.price_id)
    if plan is None:
        log.warning("Stripe price %r is no plan in CHORUS_STRIPE_PRICES", remote.price_id)
        plan = sub.plan
    status = remote.status
    fields: dict[str, Any] = {
        "plan": plan,
        "status": status,
        "stripeCustomerId": remote.customer or sub.stripe_customer_id,
        "stripeSubscriptionId": remote.id,
        "stripePriceId": remote.price_id,
        "currentPeriodStart": remote.current_period_start,
        "currentPeriodEnd": remote.current_period_end,
        "periodAnchor": remote.anchor,
        "trialEnd": remote.trial_end,
        "trialUsed": True,
        "cancelAtPeriodEnd": remote.cancel_at_period_end,
        "billingCycle": "yearly" if remote.interval == "year" else "monthly",
        "nextBillingDate": None if status in ENDED else remote.current_period_end,
        "pastDueSince": (sub.past_due_since or now) if status == "past_due" else None,
        # A free plan chosen for the period's end stands while the cancellation does.
        "pendingPlan": pending_plan if remote.cancel_at_period_end else None,
    }
    if status in ENDED and pending_plan == "free":
        # The paid subscription ended as asked: the organization goes on, free.
        fields.update(
            plan="free",
            status="active",
            stripeSubscriptionId=None,
            stripePriceId=None,
            currentPeriodStart=None,
            currentPeriodEnd=None,
            periodAnchor=None,
            cancelAtPeriodEnd=False,
            pendingPlan=None,
        )
    stored = sub.model_dump(by_alias=True)
    changed = {k: v for k, v in fields.items() if stored.get(k) != v}
    if not changed:
        return None
    return {f"subscription.{k}": v for k, v in changed.items()}


async def _write(
    db: Any, org: Organization, changes: dict[str, Any], *, operation: str, summary: str
) -> Organization | None:
    """Apply ``changes`` if the subscription is still at the revision read; the result, or
    None if another write came first."""
    revision = org.subscription.revision
    won = await _repo(db).update_many(
        org.id,
        {"_id": org.id, "subscription.revision": revision},
        {**changes, "subscription.revision": revision + 1},
    )
    if won != 1:
        return None
    updated = await organization(db, org.id)
    before, after = org.subscription, updated.subscription
    if (before.plan, before.status) != (after.plan, after.status) or operation != "sync":
        await audit.record(
            db,
            org.id,
            action="update",
            operation=f"billing.{operation}",
            resource_type="subscription",
            resource_id=str(org.id),
            resource_name=org.name,
            summary=summary.format(before=before, after=after),
            before={"plan": before.plan, "status": before.status},
            after={"plan": after.plan, "status": after.status},
            fields=sorted(k.removeprefix("subscription.") for k in changes),
        )
    return updated


async def sync(
    db: Any,
    gateway: BillingGateway,
    org_id: ObjectId,
    remote: RemoteSubscription,
    *,
    pending_plan: Any = _UNSET,
    now: datetime | None = None,
) -> Organization:
    """Make the organization's subscription what Stripe's ``remote`` says; ``pending_plan``
    records a plan chosen for when the subscription ends (default: keep the stored one)."""
    now = now or utcnow()
    for _ in range(MAX_SYNC_ATTEMPTS):
        org = await organization(db, org_id)
        pending = org.subscription.pending_plan if pending_plan is _UNSET else pending_plan
        changes = _changes(org, remote, gateway, now, pending)
        if changes is None:
            return org
        updated = await _write(
            db,
            org,
            changes,
            operation="sync",
            summary="Stripe: plan {before.plan} → {after.plan}, status {before.status} → "
            "{after.status}",
        )
        if updated is not None:
            return updated
        # Someone wrote since we read: what we hold of Stripe may be older than that write.
        remote = await gateway.subscription(remote.id)
    raise Conflict("the subscription kept changing; try again", code="subscription_busy")


async def remember_customer(db: Any, org: Organization, customer: str) -> Organization:
    """Store the Stripe customer that pays for ``org`` unless one is stored (the first
    writer wins; everyone reads the winner's)."""
    if org.subscription.stripe_customer_id:
        return org
    await _repo(db).update_many(
        org.id,
        {"_id": org.id, "subscription.stripeCustomerId": None},
        {"subscription.stripeCustomerId": customer},
    )
    return await organization(db, org.id)


async def ensure_customer(
    db: Any, gateway: BillingGateway, org: Organization, email: str | None
) -> str:
    if org.subscription.stripe_customer_id:
        return org.subscription.stripe_customer_id
    created = await gateway.create_customer(str(org.id), org.name, email)
    stored = await remember_customer(db, org, created)
    return stored.subscription.stripe_customer_id or created


# --- changing plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    action: Literal["checkout", "updated", "cancel_scheduled", "unchanged"]
    organization: Organization
    checkout_url: str | None = None
    session_id: str | None = None


def _check_plan(name: str) -> str:
    if name not in PLAN_NAMES:
        raise InvalidInput.field("body.plan", f"one of {', '.join(PLAN_NAMES)}")
    return name


async def change_plan(
    db: Any,
    gateway: BillingGateway,
    org_id: ObjectId,
    plan_name: str,
    *,
    success_url: str,
    cancel_url: str,
    trial_days: int = 0,
    email: str | None = None,
) -> PlanChange:
    """Move the organization to ``plan_name`` (see the module docstring for how)."""
    _check_plan(plan_name)
    if gateway.mode == "local":
        raise not_configured()
    org = await organization(db, org_id)
    sub = org.subscription
    live = sub.stripe_subscription_id is not None and sub.status not in ENDED
    remote = await gateway.subscription(sub.stripe_subscription_id) if live else None
    if remote is not None and remote.status in ENDED:
        remote = None  # our copy had not heard yet: start afresh
    if plan_name == "free":
        return await _to_free(db, gateway, org, remote)
    price_id = gateway.prices.get(plan_name)
    if not price_id:
        title = plan_of(plan_name).title
        raise InvalidInput.field(
            "body.plan",
            f"the {title} plan is not sold online: contact sales, and an operator assigns it",
        )
    if remote is None:
        customer = await ensure_customer(db, gateway, org, email)
        start = await gateway.start_checkout(
            org_id=str(org.id),
            customer=customer,
            plan=plan_name,
            price_id=price_id,
            success_url=success_url,
            cancel_url=cancel_url,
            trial_days=0 if sub.trial_used else trial_days,
        )
        await audit.record(
            db,
            org.id,
            action="create",
            operation="billing.checkout_started",
            resource_type="subscription",
            resource_id=str(org.id),
            resource_name=org.name,
            summary=f"checkout started for the {plan_name} plan (now {sub.plan}, {sub.status})",
            after={"plan": plan_name},
        )
        return PlanChange("checkout", org, start.url, start.session_id)
    if remote.status in ("unpaid", "paused"):
        raise Conflict(
            f"the subscription is {remote.status}: pay the open invoice or update the payment "
            "method first (POST /api/organizations/subscription/portal)",
            code="subscription_unpaid",
        )
    if remote.price_id == price_id and not remote.cancel_at_period_end:
        return PlanChange("unchanged", await sync(db, gateway, org.id, remote))
    changed = await gateway.change_price(remote, price_id)
    return PlanChange("updated", await sync(db, gateway, org.id, changed, pending_plan=None))


async def _to_free(
    db: Any, gateway: BillingGateway, org: Organization, remote: RemoteSubscription | None
) -> PlanChange:
    if remote is not None:
        if remote.cancel_at_period_end and org.subscription.pending_plan == "free":
            return PlanChange("unchanged", org)
        ending = await gateway.cancel_at_period_end(remote.id, True)
        return PlanChange(
            "cancel_scheduled", await sync(db, gateway, org.id, ending, pending_plan="free")
        )
    sub = org.subscription
    if sub.plan == "free" and sub.status == "active":
        return PlanChange("unchanged", org)
    updated = await _write(
        db,
        org,
        _plain_state("free", "active"),
        operation="plan_changed",
        summary="plan {before.plan} ({before.status}) → {after.plan} ({after.status})",
    )
    if updated is None:
        raise Conflict("the subscription changed meanwhile; try again", code="subscription_busy")
    return PlanChange("updated", updated)


def _plain_state(plan: str, status: str, now: datetime | None = None) -> dict[str, Any]:
    """A plan and status with nothing paying for them online (the operator's, or free)."""
    return {
        "subscription.plan": plan,
        "subscription.status": status,
        "subscription.stripeSubscriptionId": None,
        "subscription.stripePriceId": None,
        "subscription.currentPeriodStart": None,
        "subscription.currentPeriodEnd": None,
        "subscription.periodAnchor": None,
        "subscription.cancelAtPeriodEnd": False,
        "subscription.pendingPlan": None,
        "subscription.trialEnd": None,
        "subscription.nextBillingDate": None,
        "subscription.pastDueSince": (now or utcnow()) if status == "past_due" else None,
    }


async def portal(db: Any, gateway: BillingGateway, org_id: ObjectId, return_url: str) -> str:
    """A Customer Portal session's URL (payment methods, invoices, cancellation)."""
    if gateway.mode == "local":
        raise not_configured()
    org = await organization(db, org_id)
    customer = org.subscription.stripe_customer_id
    if not customer:
        raise Conflict(
            "this organization has no billing account yet: choose a paid plan first "
            "(POST /api/organizations/subscription)",
            code="no_customer",
        )
    return await gateway.portal(customer, return_url)


# --- the operator's form ---------------------------------------------------------------------


async def assign(db: Any, org_id: ObjectId, plan_name: str, status: str = "active") -> Organization:
    """Put the organization on ``plan_name`` in ``status`` (``chorus orgs set-plan``): the
    local form's way to sell a plan, and the way to sell one offline (an enterprise
    contract). Refused while a Stripe subscription pays for the organization: Stripe's
    events would overwrite it."""
    if plan_name not in PLAN_NAMES:
        raise InvalidInput.field("plan", f"one of {', '.join(PLAN_NAMES)}")
    if status not in SUBSCRIPTION_STATUSES or status == "incomplete":
        allowed = ", ".join(s for s in SUBSCRIPTION_STATUSES if s != "incomplete")
        raise InvalidInput.field("status", f"one of {allowed}")
    for _ in range(MAX_SYNC_ATTEMPTS):
        org = await organization(db, org_id)
        sub = org.subscription
        if sub.stripe_subscription_id and sub.status not in ENDED:
            raise Conflict(
                f"a Stripe subscription ({sub.stripe_subscription_id}) pays for this "
                "organization: change its plan in Stripe or through the API",
                code="stripe_subscription",
            )
        changes = _plain_state(plan_name, status)
        if status == "past_due" and sub.status == "past_due" and sub.past_due_since:
            changes["subscription.pastDueSince"] = sub.past_due_since
        updated = await _write(
            db,
            org,
            changes,
            operation="plan_assigned",
            summary="operator: plan {before.plan} ({before.status}) → {after.plan} "
            "({after.status})",
        )
        if updated is not None:
            return updated
    raise Conflict("the subscription kept changing; try again", code="subscription_busy")
