"""The billing routes in local billing (no Stripe keys), and 402s where work is created.

One app for the module; each test signs up its own organization. Stripe's side is in
test_billing_stripe.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from support import isolated_environment, make_settings

from persistence.ids import utcnow
from persistence.models import AiTask, AuditLog, Organization
from persistence.repository import TenantRepository
from services.billing import subscriptions
from services.billing.usage import record_ai_usage

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def db(self) -> Any:
        return self.app.state.runtime.db


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    with isolated_environment():
        settings = make_settings(tmp_path_factory.mktemp("api_billing") / "data")
    async with api_client(settings) as (app, client):
        for route_class in ("organizations", "ai", "invitations", "runs", "write"):
            app.state.rate_limits[route_class] = (10_000, 60)
        yield World(app, client)


async def signed_up(world: World, name: str) -> tuple[str, dict[str, str]]:
    email = f"admin.{ObjectId()}@example.com"
    body = await register(world.client, email, name)
    return body["organization"]["id"], bearer(body["accessToken"])


async def role_in(world: World, org_id: str, role: str) -> dict[str, str]:
    token = await add_member(world.app, world.client, org_id, f"{role}.{ObjectId()}@ex.com", role)  # type: ignore[arg-type]
    return bearer(token)


async def subscription_of(world: World, org_id: str) -> Any:
    org = await TenantRepository(world.db, Organization).get(ObjectId(org_id), ObjectId(org_id))
    assert org is not None
    return org.subscription


async def test_every_member_reads_the_plan_and_the_usage(world: World) -> None:
    org_id, _admin = await signed_up(world, "Readers")
    viewer = await role_in(world, org_id, "viewer")

    got = await world.client.get("/api/organizations/subscription", headers=viewer)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["mode"], body["plan"], body["status"]) == ("local", "free", "active")
    assert body["access"] == {"level": "full", "reason": None, "graceEndsAt": None}
    assert body["limits"] == {
        "members": 3,
        "socialAccounts": 5,
        "scheduledPosts": 30,
        "aiCredits": 100,
        "mediaStorage": 1_000_000_000,
    }
    names = [p["name"] for p in body["plans"]]
    assert names == ["free", "starter", "pro", "business", "enterprise"]
    # Nothing is sold online without Stripe.
    assert [p["name"] for p in body["plans"] if p["purchasable"]] == ["free"]

    usage = await world.client.get("/api/organizations/usage", headers=viewer)
    assert usage.status_code == 200, usage.text
    limits = {item["kind"]: item for item in usage.json()["limits"]}
    assert set(limits) == {
        "members",
        "social_accounts",
        "scheduled_posts",
        "ai_credits",
        "media_storage",
    }
    assert (limits["members"]["used"], limits["members"]["allowed"]) == (2, 3)
    assert limits["members"]["resetsAt"] is None
    assert limits["ai_credits"]["resetsAt"] is not None
    assert limits["ai_credits"]["unit"] == "credits"
    assert limits["media_storage"]["unit"] == "bytes"


async def test_billing_writes_and_invoices_need_manage_billing(world: World) -> None:
    org_id, admin = await signed_up(world, "Roles")
    for role in ("manager", "user", "viewer"):
        headers = await role_in(world, org_id, role)
        for method, path, body in (
            ("POST", "/api/organizations/subscription", {"plan": "pro"}),
            ("POST", "/api/organizations/subscription/portal", {}),
            ("GET", "/api/organizations/billing", None),
        ):
            response = await world.client.request(method, path, json=body, headers=headers)
            error = assert_error_shape(response, 403)
            assert "manage_billing" in error["message"]
    billing = await world.client.get("/api/organizations/billing", headers=admin)
    assert billing.status_code == 200, billing.text
    assert billing.json()["mode"] == "local"
    assert billing.json()["invoices"] == []
    assert billing.json()["nextInvoice"] is None
    assert (await subscription_of(world, org_id)).plan == "free"


async def test_without_stripe_online_payment_is_a_409_that_names_the_operator_command(
    world: World,
) -> None:
    org_id, admin = await signed_up(world, "Local Co")
    for path, body in (
        ("/api/organizations/subscription", {"plan": "pro"}),
        ("/api/organizations/subscription/portal", {}),
    ):
        error = assert_error_shape(await world.client.post(path, json=body, headers=admin), 409)
        assert error["code"] == "billing_not_configured"
        assert "chorus orgs set-plan" in error["message"]
    hook = await world.client.post(
        "/api/webhooks/stripe",
        content=b'{"id": "evt_1", "type": "invoice.paid"}',
        headers={"content-type": "application/json", "Stripe-Signature": "t=1,v1=00"},
    )
    assert assert_error_shape(hook, 409)["code"] == "billing_not_configured"
    assert (await subscription_of(world, org_id)).plan == "free"


async def test_bad_billing_input_is_a_422_that_says_what_to_fix_and_changes_nothing(
    world: World,
) -> None:
    org_id, admin = await signed_up(world, "Careful Co")
    entries = TenantRepository(world.db, AuditLog)
    before = await entries.count(ObjectId(org_id))
    for body, field in (
        ({"plan": "platinum"}, "body.plan"),
        ({}, "body.plan"),
        ({"plan": "pro", "coupon": "FREE"}, "body.coupon"),
        ({"plan": "pro", "successUrl": "https://evil.example/phish"}, "body.successUrl"),
        ({"plan": "pro", "cancelUrl": "javascript:alert(1)"}, "body.cancelUrl"),
    ):
        response = await world.client.post(
            "/api/organizations/subscription", json=body, headers=admin
        )
        error = assert_error_shape(response, 422)
        assert field in {f["field"] for f in error["fields"]}, (body, error)
    portal = await world.client.post(
        "/api/organizations/subscription/portal",
        json={"returnUrl": "//evil.example"},
        headers=admin,
    )
    assert "body.returnUrl" in {f["field"] for f in assert_error_shape(portal, 422)["fields"]}
    sub = await subscription_of(world, org_id)
    assert (sub.plan, sub.status, sub.revision) == ("free", "active", 0)
    assert await entries.count(ObjectId(org_id), {"operation": {"$regex": "^billing"}}) == 0
    assert await entries.count(ObjectId(org_id)) >= before


async def test_usage_is_per_organization(world: World) -> None:
    a, admin_a = await signed_up(world, "Tenant A")
    _b, admin_b = await signed_up(world, "Tenant B")
    await subscriptions.assign(world.db, ObjectId(a), "business")
    for i in range(3):
        invited = await world.client.post(
            "/api/organizations/members/invite",
            json={"email": f"p{i}@example.com", "role": "user"},
            headers=admin_a,
        )
        assert invited.status_code == 201, invited.text

    async def members(headers: dict[str, str]) -> dict[str, Any]:
        usage = (await world.client.get("/api/organizations/usage", headers=headers)).json()
        return next(item for item in usage["limits"] if item["kind"] == "members") | {
            "plan": usage["plan"]
        }

    assert (await members(admin_a))["used"] == 4
    assert (await members(admin_a))["plan"] == "business"
    mine = await members(admin_b)
    assert (mine["used"], mine["allowed"], mine["plan"]) == (1, 3, "free")


async def test_an_invitation_past_the_members_limit_is_a_402_naming_limit_and_plan(
    world: World,
) -> None:
    _org_id, admin = await signed_up(world, "Full House")

    async def invite(email: str) -> httpx.Response:
        return await world.client.post(
            "/api/organizations/members/invite",
            json={"email": email, "role": "user"},
            headers=admin,
        )

    assert (await invite("one@example.com")).status_code == 201
    assert (await invite("two@example.com")).status_code == 201
    refused = await invite("three@example.com")
    error = assert_error_shape(refused, 402)
    assert error["code"] == "plan_limit"
    assert "the Free plan allows 3 members" in error["message"]
    assert "3 are used" in error["message"]
    assert "the Starter plan allows 5" in error["message"]
    # Inviting an address again replaces its invitation: no new seat needed.
    assert (await invite("two@example.com")).status_code == 201

    usage = (await world.client.get("/api/organizations/usage", headers=admin)).json()
    members = next(item for item in usage["limits"] if item["kind"] == "members")
    assert (members["used"], members["reached"], members["upgradeTo"]) == (3, True, "starter")


async def test_model_work_without_credits_is_a_402_on_every_way_in(world: World) -> None:
    org_id, admin = await signed_up(world, "Spent Co")
    # The month's allowance spent, as the task recorder books each call.
    await record_ai_usage(world.db, ObjectId(org_id), utcnow(), 100_000, None)
    brief = {"brief": "Announce a roast", "platform": "twitter"}
    ai = await world.client.post("/api/ai/content/generate", json=brief, headers=admin)
    assert "AI credits" in assert_error_shape(ai, 402)["message"]

    lg = await world.client.post(
        "/lg/runs/wait",
        json={"assistant_id": "trend_analyzer", "input": {"input": {"days": 7}}},
        headers=admin,
    )
    assert assert_error_shape(lg, 402)["code"] == "plan_limit"

    served = await world.client.post(
        "/graphs/trend_analyzer/invoke", json={"input": {"input": {"days": 7}}}, headers=admin
    )
    assert assert_error_shape(served, 402)["code"] == "plan_limit"
    # Nothing ran: no task was recorded.
    assert await TenantRepository(world.db, AiTask).count(ObjectId(org_id)) == 0
