"""The caller's organization's plan, subscription, usage and invoices.

Reading the subscription and the usage is open to every member (a member stopped by a limit
needs to see which and why); changing the plan, opening the Customer Portal and reading
invoices need ``manage_billing`` (admins). Like the other organization routes, there is no
organization id in these paths: each acts on the caller's own organization.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import Reader, RuntimeDep, rate_limited, require
from api.principal import Principal
from api.responses import errors
from api.routes.billing_schemas import (
    AccessOut,
    BillingOut,
    PlanChangeIn,
    PlanChangeOut,
    PortalIn,
    PortalOut,
    SubscriptionOut,
    UsageItemOut,
    UsageOut,
)
from persistence.ids import utcnow
from services.billing import limits, subscriptions
from services.billing.access import access_of

BillingAdmin = Annotated[Principal, Depends(require("manage_billing"))]

router = APIRouter(
    prefix="/api/organizations",
    tags=["billing"],
    dependencies=[Depends(rate_limited("organizations", 120, 60))],
    responses=errors(401, 429),
)

SUCCESS_PATH = "/console?billing=success&session_id={CHECKOUT_SESSION_ID}"
CANCEL_PATH = "/console?billing=canceled"
PORTAL_RETURN_PATH = "/console"


@router.get("/subscription", response_model=SubscriptionOut)
async def get_subscription(principal: Reader, runtime: RuntimeDep) -> SubscriptionOut:
    """The plan, the subscription's state and what it allows, and every plan on offer."""
    gateway = runtime.billing.gateway
    return SubscriptionOut.of(await subscriptions.view(runtime.db, gateway, principal.org_id))


@router.post(
    "/subscription",
    response_model=PlanChangeOut,
    responses=errors(403, 409, 422, 503),
)
async def change_subscription(
    body: PlanChangeIn, principal: BillingAdmin, runtime: RuntimeDep
) -> PlanChangeOut:
    """Move to ``plan``. Without a live paid subscription: a Stripe Checkout Session
    (``checkoutUrl``), the plan changes when Stripe confirms payment. With one: its price is
    changed now, prorated. ``free``: the paid subscription ends with its period. 409
    ``billing_not_configured`` without Stripe (an operator assigns plans); 422 for a plan not
    sold online; 503 when Stripe does not answer."""
    billing = runtime.billing
    success = billing.return_url(body.success_url, SUCCESS_PATH, "body.successUrl")
    cancel = billing.return_url(body.cancel_url, CANCEL_PATH, "body.cancelUrl")
    change = await subscriptions.change_plan(
        runtime.db,
        billing.gateway,
        principal.org_id,
        body.plan,
        success_url=success,
        cancel_url=cancel,
        trial_days=billing.trial_days,
        email=principal.email,
    )
    found = await subscriptions.view(runtime.db, billing.gateway, principal.org_id)
    return PlanChangeOut.of(change, found)


@router.post(
    "/subscription/portal",
    response_model=PortalOut,
    responses=errors(403, 409, 422, 503),
)
async def open_portal(body: PortalIn, principal: BillingAdmin, runtime: RuntimeDep) -> PortalOut:
    """A Stripe Customer Portal session: payment methods, invoices, cancellation. 409 before
    the organization's first paid plan, and without Stripe."""
    billing = runtime.billing
    back = billing.return_url(body.return_url, PORTAL_RETURN_PATH, "body.returnUrl")
    return PortalOut(
        url=await subscriptions.portal(runtime.db, billing.gateway, principal.org_id, back)
    )


@router.get("/usage", response_model=UsageOut)
async def get_usage(principal: Reader, runtime: RuntimeDep) -> UsageOut:
    """Each limit of the plan: used, allowed (null: unlimited), when it resets, and the plan
    that lifts it once reached."""
    org, found = await limits.report(runtime.db, principal.org_id, runtime.media)
    sub = org.subscription
    return UsageOut(
        plan=sub.plan,
        status=sub.status,
        access=AccessOut.of(access_of(sub, utcnow())),
        limits=[UsageItemOut.of(item, sub.plan) for item in found],
    )


@router.get("/billing", response_model=BillingOut, responses=errors(403, 503))
async def get_billing(principal: BillingAdmin, runtime: RuntimeDep) -> BillingOut:
    """The Stripe customer, plan and status, the next invoice and the ten most recent (read
    from Stripe; empty without it)."""
    found = await subscriptions.overview(runtime.db, runtime.billing.gateway, principal.org_id)
    return BillingOut.of(found)
