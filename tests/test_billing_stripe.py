"""Billing with Stripe: stripe-python's own client against a server that speaks Stripe's wire
format (``fake_stripe``), and webhooks signed exactly as Stripe signs them.

One app and one fake Stripe for the module (the runtime opens once); each test signs up its
own organization.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fake_model_apis import serve_app
from fake_stripe import API_KEY, PRICES, WEBHOOK_SECRET, FakeStripe
from fastapi import FastAPI
from support import isolated_environment, make_settings

from persistence.ids import utcnow
from persistence.models import DomainEvent, Organization, WebhookEvent
from persistence.repository import TenantRepository
from services.events import PAYMENT_FAILED

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    stripe: FakeStripe

    @property
    def db(self) -> Any:
        return self.app.state.runtime.db


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    with serve_app(fake.app()) as base:
        yield fake, base


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, stripe_server: tuple[FakeStripe, str]
) -> AsyncIterator[World]:
    fake, base = stripe_server
    with isolated_environment():
        settings = make_settings(
            tmp_path_factory.mktemp("billing_stripe") / "data",
            stripe_api_key=API_KEY,
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=base,
            stripe_prices={plan: price for plan, (price, _) in PRICES.items()},
            stripe_trial_days=14,
            cors_origins=["https://app.example.com"],
        )
    async with api_client(settings) as (app, client):
        app.state.rate_limits["organizations"] = (10_000, 60)
        yield World(app, client, fake)


async def signed_up(world: World, name: str) -> tuple[str, dict[str, str]]:
    """A new organization and its admin's headers."""
    email = f"{name.lower().replace(' ', '.')}.{ObjectId()}@example.com"
    body = await register(world.client, email, name)
    return body["organization"]["id"], bearer(body["accessToken"])


async def deliver(world: World, payload: bytes, signature: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    headers["Stripe-Signature"] = signature or world.stripe.sign(payload)
    return await world.client.post("/api/webhooks/stripe", content=payload, headers=headers)


async def subscription(world: World, headers: dict[str, str]) -> dict[str, Any]:
    got = await world.client.get("/api/organizations/subscription", headers=headers)
    assert got.status_code == 200, got.text
    return got.json()


async def subscribe(world: World, headers: dict[str, str], plan: str = "starter") -> str:
    """Through Checkout to a live subscription on ``plan``; its Stripe id."""
    started = await world.client.post(
        "/api/organizations/subscription", json={"plan": plan}, headers=headers
    )
    assert started.status_code == 200, started.text
    assert started.json()["action"] == "checkout"
    session = world.stripe.complete_checkout(started.json()["sessionId"])
    done = await deliver(world, world.stripe.event("checkout.session.completed", session))
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "processed"
    return session["subscription"]


async def stored_org(world: World, org_id: str) -> Organization:
    org = await TenantRepository(world.db, Organization).get(ObjectId(org_id), ObjectId(org_id))
    assert org is not None
    return org


# --- checkout and plan changes -----------------------------------------------------------------


async def test_a_first_paid_plan_goes_through_checkout_and_counts_once_stripe_confirms_it(
    world: World,
) -> None:
    org_id, admin = await signed_up(world, "Checkout Co")
    started = await world.client.post(
        "/api/organizations/subscription",
        json={"plan": "starter", "successUrl": "https://app.example.com/billing/done"},
        headers=admin,
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["action"] == "checkout"
    assert body["checkoutUrl"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    # Nothing changes until Stripe says the customer paid.
    assert body["subscription"]["plan"] == "free"

    session = world.stripe.sessions[body["sessionId"]]
    assert session["client_reference_id"] == org_id
    assert session["success_url"] == "https://app.example.com/billing/done"
    assert session["cancel_url"] == "http://127.0.0.1:8000/console?billing=canceled"
    customer = world.stripe.customers[session["customer"]]
    assert customer["metadata"] == {"organizationId": org_id}
    assert (await stored_org(world, org_id)).subscription.stripe_customer_id == customer["id"]

    completed = world.stripe.complete_checkout(body["sessionId"])
    delivered = await deliver(world, world.stripe.event("checkout.session.completed", completed))
    assert delivered.json() == {
        "received": True,
        "outcome": "processed",
        "eventId": delivered.json()["eventId"],
        "eventType": "checkout.session.completed",
    }
    now = await subscription(world, admin)
    # A first paid plan comes with the trial configured (14 days).
    assert (now["plan"], now["status"], now["mode"]) == ("starter", "trialing", "stripe")
    assert now["access"]["level"] == "full"
    assert now["limits"]["socialAccounts"] == 10
    assert now["trialEnd"] is not None
    starter = next(p for p in now["plans"] if p["name"] == "starter")
    assert starter["price"] == {"unitAmount": 1900, "currency": "usd", "interval": "month"}

    # Every create and update carried an idempotency key, and the customer's is the
    # organization's own (a retry, or a second checkout, never makes a second customer).
    posts = [r for r in world.stripe.requests if r.method == "POST"]
    assert posts
    assert all(r.idempotency_key for r in posts)
    assert f"chorus-customer-{org_id}" in {r.idempotency_key for r in posts}


async def test_a_plan_change_on_a_live_subscription_is_prorated_at_once(world: World) -> None:
    _, admin = await signed_up(world, "Upgrade Co")
    sub_id = await subscribe(world, admin, "starter")
    world.stripe.renew(sub_id, pay=True)  # out of the trial, a paid period under way

    changed = await world.client.post(
        "/api/organizations/subscription", json={"plan": "pro"}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["action"] == "updated"
    assert changed.json()["subscription"]["plan"] == "pro"
    assert changed.json()["subscription"]["limits"]["members"] == 15
    update = world.stripe.sent("POST", f"/v1/subscriptions/{sub_id}")[-1]
    assert update.params["proration_behavior"] == "create_prorations"
    assert update.params["items"][0]["price"] == "price_pro_m"
    assert world.stripe.subscriptions[sub_id]["items"]["data"][0]["price"]["id"] == "price_pro_m"

    billing = await world.client.get("/api/organizations/billing", headers=admin)
    assert billing.status_code == 200, billing.text
    overview = billing.json()
    assert overview["plan"] == "pro"
    assert overview["customerId"] == world.stripe.subscriptions[sub_id]["customer"]
    # The next invoice is the new price plus the prorations of the change.
    prorations = sum(i["amount"] for i in world.stripe.pending_items[sub_id])
    assert overview["nextInvoice"]["amountDue"] == 4900 + prorations
    assert 0 < prorations < 4900 - 1900 + 1
    assert [i["status"] for i in overview["invoices"]] == ["paid", "paid"]

    # The same plan again changes nothing at Stripe.
    before = len(world.stripe.sent("POST", f"/v1/subscriptions/{sub_id}"))
    again = await world.client.post(
        "/api/organizations/subscription", json={"plan": "pro"}, headers=admin
    )
    assert again.json()["action"] == "unchanged"
    assert len(world.stripe.sent("POST", f"/v1/subscriptions/{sub_id}")) == before

    portal = await world.client.post(
        "/api/organizations/subscription/portal", json={}, headers=admin
    )
    assert portal.status_code == 200, portal.text
    assert portal.json()["url"].startswith("https://billing.stripe.test/p/session/")
    sent = world.stripe.sent("POST", "/v1/billing_portal/sessions")[-1]
    assert sent.params["return_url"] == "http://127.0.0.1:8000/console"
    assert sent.params["customer"] == overview["customerId"]


async def test_choosing_free_ends_the_paid_plan_with_its_period_then_the_org_is_free(
    world: World,
) -> None:
    _, admin = await signed_up(world, "Downgrade Co")
    sub_id = await subscribe(world, admin, "pro")
    chosen = await world.client.post(
        "/api/organizations/subscription", json={"plan": "free"}, headers=admin
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["action"] == "cancel_scheduled"
    current = chosen.json()["subscription"]
    assert (current["plan"], current["cancelAtPeriodEnd"], current["pendingPlan"]) == (
        "pro",
        True,
        "free",
    )
    assert world.stripe.subscriptions[sub_id]["cancel_at_period_end"] is True

    ended = world.stripe.set_status(sub_id, "canceled")
    delivered = await deliver(world, world.stripe.event("customer.subscription.deleted", ended))
    assert delivered.json()["outcome"] == "processed"
    now = await subscription(world, admin)
    assert (now["plan"], now["status"], now["pendingPlan"]) == ("free", "active", None)
    assert now["access"]["level"] == "full"


async def test_stripe_failures_are_retried_with_the_same_key_or_answered_503(
    world: World,
) -> None:
    org_id, admin = await signed_up(world, "Flaky Co")
    customers = len(world.stripe.customers)
    # Two 500s, then an answer: stripe-python retries with the same idempotency key.
    world.stripe.fail_next(500)
    started = await world.client.post(
        "/api/organizations/subscription", json={"plan": "starter"}, headers=admin
    )
    assert started.status_code == 200, started.text
    assert len(world.stripe.customers) == customers + 1
    tries = [
        r.idempotency_key
        for r in world.stripe.requests
        if r.path == "/v1/customers" and r.idempotency_key == f"chorus-customer-{org_id}"
    ]
    assert len(tries) == 2  # the failed attempt and its retry, one key

    # Stripe down for good: a clear 503, and nothing is half-made.
    world.stripe.fail_next(503, 503, 503)
    down = await world.client.post(
        "/api/organizations/subscription", json={"plan": "starter"}, headers=admin
    )
    error = assert_error_shape(down, 503)
    assert error["code"] == "billing_unavailable"
    assert API_KEY not in down.text


async def test_an_idempotency_key_replays_its_answer_and_refuses_other_parameters(
    world: World,
) -> None:
    gateway = world.app.state.runtime.billing.gateway
    org = str(ObjectId())
    first = await gateway.create_customer(org, "Same Name", None)
    again = await gateway.create_customer(org, "Same Name", None)
    assert first == again  # replayed by Stripe, not made twice
    replayed = world.stripe.requests[-1]
    assert replayed.idempotency_key == f"chorus-customer-{org}"
    from persistence.errors import Conflict

    with pytest.raises(Conflict) as refused:
        await gateway.create_customer(org, "Another Name", None)
    assert refused.value.code == "idempotency_conflict"


# --- webhooks ------------------------------------------------------------------------------------


async def test_a_webhook_with_a_bad_signature_is_refused_before_anything_is_read(
    world: World,
) -> None:
    org_id, admin = await signed_up(world, "Forged Co")
    sub_id = await subscribe(world, admin, "starter")
    canceled = world.stripe.set_status(sub_id, "canceled")
    payload = world.stripe.event("customer.subscription.deleted", canceled)
    events = TenantRepository(world.db, WebhookEvent)
    stored_before = await events.count(ObjectId(org_id))

    wrong_secret = world.stripe.sign(payload, secret="whsec_not_ours_0000000000")
    tampered = payload.replace(b'"canceled"', b'"active"', 1)
    stale = world.stripe.sign(payload, at=int(time.time()) - 3600)  # an old delivery replayed
    for body, signature in (
        (payload, wrong_secret),
        (tampered, world.stripe.sign(payload)),
        (payload, stale),
        (payload, "t=1,v1=00"),
    ):
        refused = await deliver(world, body, signature)
        assert assert_error_shape(refused, 400)["code"] == "bad_signature"
    missing = await world.client.post(
        "/api/webhooks/stripe", content=payload, headers={"content-type": "application/json"}
    )
    assert_error_shape(missing, 400)

    assert await events.count(ObjectId(org_id)) == stored_before
    assert (await subscription(world, admin))["status"] == "trialing"


async def test_a_duplicate_delivery_is_acknowledged_and_processed_once(world: World) -> None:
    org_id, admin = await signed_up(world, "Twice Co")
    sub_id = await subscribe(world, admin, "starter")
    invoice = world.stripe.renew(sub_id, pay=False)
    payload = world.stripe.event("invoice.payment_failed", invoice)

    first = await deliver(world, payload)
    second = await deliver(world, payload)
    assert first.json()["outcome"] == "processed"
    assert second.json()["outcome"] == "duplicate"
    assert second.json()["eventId"] == first.json()["eventId"]

    warnings = await TenantRepository(world.db, DomainEvent).find(
        ObjectId(org_id), {"type": PAYMENT_FAILED}
    )
    assert len(warnings) == 1
    data = warnings[0].data
    assert data["invoiceId"] == invoice["id"]
    assert data["amountDue"] == 1900
    assert data["graceEndsAt"]
    now = await subscription(world, admin)
    assert now["status"] == "past_due"
    assert now["access"]["level"] == "grace"
    stored = await TenantRepository(world.db, WebhookEvent).find(
        ObjectId(org_id), {"eventId": first.json()["eventId"]}
    )
    assert [e.processing.status for e in stored] == ["completed"]


async def test_events_out_of_order_and_replayed_leave_stripes_current_state(
    world: World,
) -> None:
    _, admin = await signed_up(world, "Order Co")
    sub_id = await subscribe(world, admin, "starter")
    created = world.stripe.event(
        "customer.subscription.created", world.stripe.subscriptions[sub_id]
    )
    # Later on Stripe's side: the plan changed and then the subscription was canceled.
    world.stripe.subscriptions[sub_id]["items"]["data"][0]["price"] = world.stripe.prices[
        "price_pro_m"
    ]
    canceled = world.stripe.set_status(sub_id, "canceled")
    deleted = world.stripe.event("customer.subscription.deleted", canceled)

    # The newer event arrives first, the older one after it (its copy says active, starter).
    assert (await deliver(world, deleted)).json()["outcome"] == "processed"
    assert (await deliver(world, created)).json()["outcome"] == "processed"
    now = await subscription(world, admin)
    assert (now["plan"], now["status"]) == ("pro", "canceled")
    assert now["access"]["level"] == "read_only"

    # An old invoice.paid replayed much later changes nothing either.
    first_invoice = next(
        i
        for i in world.stripe.invoices.values()
        if i["parent"]["subscription_details"]["subscription"] == sub_id
    )
    replay = world.stripe.event("invoice.paid", first_invoice, created=int(time.time()) - 86400)
    assert (await deliver(world, replay)).json()["outcome"] == "processed"
    assert (await subscription(world, admin))["status"] == "canceled"


async def test_unknown_events_and_other_customers_are_acknowledged_and_ignored(
    world: World,
) -> None:
    unknown = world.stripe.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    answered = await deliver(world, unknown)
    assert answered.status_code == 200
    assert answered.json()["outcome"] == "ignored"
    stranger = world.stripe.event(
        "invoice.paid", {"id": "in_x", "object": "invoice", "customer": "cus_not_ours"}
    )
    assert (await deliver(world, stranger)).json()["outcome"] == "ignored"
    ids = [json.loads(p)["id"] for p in (unknown, stranger)]
    assert await world.db[WebhookEvent.collection].count_documents({"eventId": {"$in": ids}}) == 0


# --- the state machine ------------------------------------------------------------------------


async def test_from_trial_to_canceled_and_back_states_drive_access(world: World) -> None:
    org_id, admin = await signed_up(world, "Lifecycle Co")
    invite = {"email": "new.hire@example.com", "role": "user"}

    async def can_invite(email: str) -> httpx.Response:
        return await world.client.post(
            "/api/organizations/members/invite", json={**invite, "email": email}, headers=admin
        )

    sub_id = await subscribe(world, admin, "starter")
    assert (await subscription(world, admin))["status"] == "trialing"
    assert (await can_invite("a@lifecycle.example")).status_code == 201

    # The trial ends and the first charge goes through: active.
    paid = world.stripe.renew(sub_id, pay=True)
    await deliver(world, world.stripe.event("invoice.paid", paid))
    assert (await subscription(world, admin))["status"] == "active"

    # A renewal fails: past_due, a grace period with full access.
    failed = world.stripe.renew(sub_id, pay=False)
    await deliver(world, world.stripe.event("invoice.payment_failed", failed))
    now = await subscription(world, admin)
    assert (now["status"], now["access"]["level"]) == ("past_due", "grace")
    assert (await can_invite("b@lifecycle.example")).status_code == 201

    # The grace period runs out: read-only, with a 402 that says why and how to fix it.
    await world.db[Organization.collection].update_one(
        {"_id": ObjectId(org_id)},
        {"$set": {"subscription.pastDueSince": utcnow() - timedelta(days=15)}},
    )
    blocked = await can_invite("c@lifecycle.example")
    error = assert_error_shape(blocked, 402)
    assert error["code"] == "subscription_inactive"
    assert "read-only" in error["message"]
    assert "/api/organizations/subscription/portal" in error["message"]
    # Reading still works.
    members = await world.client.get("/api/organizations/members", headers=admin)
    assert members.status_code == 200

    # The invoice is paid after all: active again, and work goes on.
    await deliver(world, world.stripe.event("invoice.paid", world.stripe.pay(failed["id"])))
    now = await subscription(world, admin)
    assert (now["status"], now["access"]["level"]) == ("active", "full")
    assert (await can_invite("c@lifecycle.example")).status_code == 201

    # Stripe gives up on a later invoice and cancels: read-only.
    ended = world.stripe.set_status(sub_id, "canceled")
    await deliver(world, world.stripe.event("customer.subscription.deleted", ended))
    now = await subscription(world, admin)
    assert (now["status"], now["access"]["level"]) == ("canceled", "read_only")
    assert (await can_invite("d@lifecycle.example")).status_code == 402

    # And back: a new checkout, a new subscription, full access.
    new_sub = await subscribe(world, admin, "starter")
    assert new_sub != sub_id
    now = await subscription(world, admin)
    # No second trial: the organization had one.
    assert (now["plan"], now["status"], now["access"]["level"]) == ("starter", "active", "full")
    assert (await can_invite("d@lifecycle.example")).status_code == 201
    # A late event of the old, canceled subscription does not undo that.
    late = world.stripe.event("customer.subscription.updated", ended)
    await deliver(world, late)
    assert (await subscription(world, admin))["status"] == "active"


async def test_health_names_the_billing_form_and_doctor_reads_the_prices_back(
    world: World,
) -> None:
    runtime = world.app.state.runtime
    statuses = {s.name: s for s in await runtime.check(deep=False, public=True)}
    billing = statuses["billing"]
    assert (billing.form, billing.ok) == ("production", True)
    assert API_KEY not in billing.backend + billing.detail
    # What `chorus doctor` runs for billing: every configured price, read from Stripe.
    assert await runtime._probe_billing() == "3 plan price(s) read from Stripe"
    assert {r.path for r in world.stripe.sent("GET", "/v1/prices/")} >= {
        f"/v1/prices/{price}" for price, _ in PRICES.values()
    }


async def test_a_failed_processing_is_retried_by_stripes_next_delivery(world: World) -> None:
    org_id, admin = await signed_up(world, "Retry Co")
    sub_id = await subscribe(world, admin, "starter")
    ended = world.stripe.set_status(sub_id, "canceled")
    payload = world.stripe.event("customer.subscription.deleted", ended)
    event_id = json.loads(payload)["id"]
    stored = TenantRepository(world.db, WebhookEvent)

    # Stripe cannot be read back (the client's own retries fail too): 503, so Stripe retries.
    world.stripe.fail_next(500, 500, 500)
    failed = await deliver(world, payload)
    assert assert_error_shape(failed, 503)["code"] == "billing_unavailable"
    [event] = await stored.find(ObjectId(org_id), {"eventId": event_id})
    assert event.processing.status == "failed"
    assert (await subscription(world, admin))["status"] == "trialing"

    # While another delivery holds the event, a second one is told to come back later.
    await world.db[WebhookEvent.collection].update_one(
        {"eventId": event_id},
        {"$set": {"processing.status": "processing", "processing.claimedAt": utcnow()}},
    )
    busy = await deliver(world, payload)
    assert assert_error_shape(busy, 409)["code"] == "event_in_progress"

    # That attempt died (its claim went stale): Stripe's next delivery does the work.
    await world.db[WebhookEvent.collection].update_one(
        {"eventId": event_id},
        {"$set": {"processing.claimedAt": utcnow() - timedelta(minutes=10)}},
    )
    retried = await deliver(world, payload)
    assert retried.json()["outcome"] == "processed"
    [event] = await stored.find(ObjectId(org_id), {"eventId": event_id})
    assert (event.processing.status, event.processing.retry_count) == ("completed", 1)
    assert (await subscription(world, admin))["status"] == "canceled"


async def test_a_plan_not_sold_online_is_a_422_and_asks_nothing_of_stripe(world: World) -> None:
    org_id, admin = await signed_up(world, "Enterprise Hopeful")
    before = len(world.stripe.requests)
    refused = await world.client.post(
        "/api/organizations/subscription", json={"plan": "enterprise"}, headers=admin
    )
    error = assert_error_shape(refused, 422)
    assert error["fields"] == [
        {
            "field": "body.plan",
            "message": "the Enterprise plan is not sold online: contact sales, and an operator "
            "assigns it",
        }
    ]
    assert len(world.stripe.requests) == before
    assert (await stored_org(world, org_id)).subscription.stripe_customer_id is None
    offered = await subscription(world, admin)
    assert [p["name"] for p in offered["plans"] if p["purchasable"]] == [
        "free",
        "starter",
        "pro",
        "business",
    ]
