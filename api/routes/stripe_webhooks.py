"""``POST /api/webhooks/stripe``: Stripe tells us what happened to subscriptions and invoices.

No principal: the caller is Stripe, and the ``Stripe-Signature`` header over the raw body is
its credential, verified before anything else (a bad one is a 400). The rest, processing
each event once and in any order, is ``services.billing.webhooks``. Answers: 200 when
processed, a duplicate, or ignored (an event type or customer that is not ours); 409 while
another delivery of the same event is being processed (or when this server has no webhook
secret), and 503 when Stripe or a component did not answer (Stripe delivers those again
later).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from api.deps import RuntimeDep, rate_limited_by_ip
from api.responses import errors
from api.routes.billing_schemas import WebhookOut
from services.billing import webhooks

router = APIRouter(prefix="/api/webhooks", tags=["billing"])


@router.post(
    "/stripe",
    response_model=WebhookOut,
    responses=errors(400, 409, 503),
    dependencies=[Depends(rate_limited_by_ip("webhooks", 600, 60))],
)
async def stripe_webhook(
    request: Request,
    runtime: RuntimeDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookOut:
    """A Stripe event, signed with this endpoint's secret (``STRIPE_WEBHOOK_SECRET``)."""
    payload = await request.body()
    receipt = await webhooks.receive(
        runtime.db, runtime.billing.gateway, runtime.events, payload, stripe_signature
    )
    return WebhookOut(
        outcome=receipt.outcome, event_id=receipt.event_id, event_type=receipt.event_type
    )
