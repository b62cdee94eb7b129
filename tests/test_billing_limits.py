"""Plan limits at their boundaries, the subscription states in local billing, and the places
that create work asking before they do (a model call, a scheduled post)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from bson import ObjectId
from pydantic import BaseModel
from support import run_context

from agents.base import Agent, AgentContext, Persona
from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.errors import InvalidInput, PaymentRequired
from persistence.ids import utcnow
from persistence.models import (
    AiTask,
    Invitation,
    Membership,
    Organization,
    Post,
    SocialAccount,
)
from persistence.models.content import AccountInfo, AccountStatus, Scheduling
from persistence.repository import TenantRepository
from services import posts
from services.billing import limits, subscriptions, usage
from services.billing.periods import month_of
from services.billing.plans import GB


async def org_on(runtime: Runtime, plan: str = "free", status: str = "active") -> ObjectId:
    org = await OrganizationAdmin(runtime.db).create(f"Limits {plan} {ObjectId()}")
    await subscriptions.assign(runtime.db, org.id, plan, status)
    return org.id


async def refused(coro) -> PaymentRequired:  # type: ignore[no-untyped-def]
    with pytest.raises(PaymentRequired) as caught:
        await coro
    return caught.value


# --- each kind at its boundary -------------------------------------------------------------


async def test_members_count_active_members_and_live_invitations_only(runtime: Runtime) -> None:
    org = await org_on(runtime, "free")  # 3 members
    now = utcnow()
    await TenantRepository(runtime.db, Membership).insert_many(
        org, [Membership(organization_id=org, user_id=ObjectId(), role="admin") for _ in range(2)]
    )
    await TenantRepository(runtime.db, Membership).insert(
        Membership(organization_id=org, user_id=ObjectId(), role="user", status="removed")
    )

    def invitation(status: str, expires: datetime) -> Invitation:
        return Invitation(
            organization_id=org,
            email=f"{ObjectId()}@example.com",
            role="user",
            token_hash=str(ObjectId()),
            invited_by=ObjectId(),
            expires_at=expires,
            status=status,  # type: ignore[arg-type]
        )

    invitations = TenantRepository(runtime.db, Invitation)
    await invitations.insert_many(
        org,
        [
            invitation("revoked", now + timedelta(days=3)),
            invitation("pending", now - timedelta(minutes=1)),  # expired
        ],
    )
    await limits.check(runtime.db, org, "members")  # 2 used: a third fits

    live = invitation("pending", now + timedelta(days=7))
    await invitations.insert(live)
    error = await refused(limits.check(runtime.db, org, "members"))
    assert error.code == "plan_limit"
    assert "the Free plan allows 3 members (pending invitations included)" in error.message
    assert "3 are used" in error.message
    assert "the Starter plan allows 5" in error.message
    assert "revoke a pending invitation" in error.message
    # At the limit, not over it: accepting an invitation counted when it was sent is fine.
    await limits.check(runtime.db, org, "members", adding=0)

    await invitations.update(org, live.id, {"status": "revoked"})
    await limits.check(runtime.db, org, "members")


async def test_social_accounts_count_connected_ones(runtime: Runtime) -> None:
    org = await org_on(runtime, "free")  # 5 accounts

    def account(**status: object) -> SocialAccount:
        return SocialAccount(
            organization_id=org,
            platform="instagram",
            account_info=AccountInfo(platform_id=str(ObjectId()), username="x"),
            status=AccountStatus(**status),  # type: ignore[arg-type]
        )

    repo = TenantRepository(runtime.db, SocialAccount)
    await repo.insert_many(org, [account() for _ in range(4)] + [account(is_active=False)])
    await repo.collection.insert_one(
        {**account().to_mongo(), "status": {"isActive": True, "connection": "disconnected"}}
    )
    await limits.check(runtime.db, org, "social_accounts")  # 4 connected: one more fits
    # An account that must be reconnected still holds its place.
    await repo.collection.insert_one(
        {**account().to_mongo(), "status": {"isActive": True, "connection": "needs_reconnect"}}
    )
    error = await refused(limits.check(runtime.db, org, "social_accounts"))
    assert "the Free plan allows 5 connected social accounts and 5 are used" in error.message
    assert "disconnect an account" in error.message
    assert "the Starter plan allows 10" in error.message

    await subscriptions.assign(runtime.db, org, "starter")
    await limits.check(runtime.db, org, "social_accounts", adding=5)
    with pytest.raises(PaymentRequired):
        await limits.check(runtime.db, org, "social_accounts", adding=6)


async def test_scheduled_posts_count_within_the_month_they_go_out(runtime: Runtime) -> None:
    org = await org_on(runtime, "free")  # 30 a month
    start, end = month_of(utcnow())
    month = start + timedelta(days=1)

    def post(status: str, at: datetime) -> Post:
        return Post(
            organization_id=org,
            scheduling=Scheduling(status=status, scheduled_at=at),  # type: ignore[arg-type]
        )

    repo = TenantRepository(runtime.db, Post)
    await repo.insert_many(
        org,
        [post("scheduled", month + timedelta(hours=i)) for i in range(20)]
        + [post("published", month + timedelta(hours=40 + i)) for i in range(9)]
        + [post("draft", month), post("cancelled", month)]
        + [post("scheduled", end + timedelta(hours=1)) for _ in range(30)],
    )
    await limits.check(runtime.db, org, "scheduled_posts", at=month)  # 29: the 30th fits
    await repo.insert(post("paused", month))
    error = await refused(limits.check(runtime.db, org, "scheduled_posts", at=month))
    assert "allows 30 scheduled posts a month and 30 are used" in error.message
    assert f"it resets on {end.date().isoformat()}" in error.message
    # The next month has its own allowance, already used by the 30 planned there; the one
    # after is free.
    with pytest.raises(PaymentRequired):
        await limits.check(runtime.db, org, "scheduled_posts", at=end + timedelta(days=1))
    later = month_of(end + timedelta(days=1))[1] + timedelta(days=1)
    await limits.check(runtime.db, org, "scheduled_posts", at=later)


async def test_ai_credits_count_tokens_or_cost_this_month(runtime: Runtime) -> None:
    org = await org_on(runtime, "free")  # 100 credits: 100,000 tokens or $0.20
    last_month = month_of(utcnow())[0] - timedelta(days=3)

    async def spent(org_id: ObjectId, tokens: int, cost: float | None, at: datetime | None = None):
        await usage.record_ai_usage(runtime.db, org_id, at or utcnow(), tokens, cost)

    await spent(org, 98_500, 0.0)
    await spent(org, 500_000, 9.0, last_month)  # another month: not counted
    await limits.check(runtime.db, org, "ai_credits")  # 98 credits: a 99th fits
    await spent(org, 1_500, None)  # an unpriced model counts by its tokens
    error = await refused(limits.check(runtime.db, org, "ai_credits"))
    assert "allows 100 AI credits a month and 100 are used" in error.message
    assert "wait for the monthly reset" in error.message

    # An expensive model counts by its cost: $0.20 is 100 credits, whatever its tokens.
    costly = await org_on(runtime, "free")
    await spent(costly, 2_000, 0.1998)
    await limits.check(runtime.db, costly, "ai_credits")
    await spent(costly, 10, 0.0002)
    with pytest.raises(PaymentRequired):
        await limits.check(runtime.db, costly, "ai_credits")

    await subscriptions.assign(runtime.db, costly, "enterprise")
    await limits.check(runtime.db, costly, "ai_credits", adding=10**9)  # unlimited


async def test_each_recorded_agent_call_adds_to_the_ledger_the_limit_reads(
    runtime: Runtime,
) -> None:
    org = await org_on(runtime, "free")
    await EchoAgent().call({"text": "count these words please"}, run_context(org, runtime))
    [row] = await runtime.db[usage.AI_USAGE].find({"organizationId": org}).to_list(None)
    [task] = await TenantRepository(runtime.db, AiTask).find(org)
    assert row["tokens"] == task.resources.tokens_used > 0


async def test_media_storage_counts_the_bytes_in_the_media_store(runtime: Runtime) -> None:
    org = await org_on(runtime, "free")  # 1 GB
    await runtime.media.put(str(org), "logo.png", b"\x89PNG" + b"0" * 996, "image/png")
    await limits.check(runtime.db, org, "media_storage", adding=GB - 1000, media=runtime.media)
    error = await refused(
        limits.check(runtime.db, org, "media_storage", adding=GB - 999, media=runtime.media)
    )
    assert "the Free plan allows 1 GB of media storage and 1 KB is used" in error.message
    assert "the Starter plan allows 10 GB" in error.message
    with pytest.raises(TypeError):
        await limits.check(runtime.db, org, "media_storage", adding=1)


# --- states --------------------------------------------------------------------------------


async def test_subscription_states_from_trial_to_canceled_and_back(runtime: Runtime) -> None:
    org = await org_on(runtime, "starter", "trialing")
    await limits.check(runtime.db, org, "social_accounts")
    for status in ("active", "past_due"):
        await subscriptions.assign(runtime.db, org, "starter", status)
        await limits.check(runtime.db, org, "social_accounts")

    # Past due beyond the grace period: read-only.
    await runtime.db[Organization.collection].update_one(
        {"_id": org}, {"$set": {"subscription.pastDueSince": utcnow() - timedelta(days=14)}}
    )
    error = await refused(limits.check(runtime.db, org, "social_accounts"))
    assert error.code == "subscription_inactive"
    assert "grace period ended" in error.message

    for status in ("canceled", "unpaid", "paused"):
        await subscriptions.assign(runtime.db, org, "starter", status)
        error = await refused(limits.check(runtime.db, org, "ai_credits"))
        assert error.code == "subscription_inactive"
        assert f"the subscription is {status}" in error.message

    await subscriptions.assign(runtime.db, org, "free", "active")
    await limits.check(runtime.db, org, "ai_credits")


async def test_assigning_a_plan_checks_its_input(runtime: Runtime) -> None:
    org = await org_on(runtime)
    with pytest.raises(InvalidInput):
        await subscriptions.assign(runtime.db, org, "platinum")
    with pytest.raises(InvalidInput):
        await subscriptions.assign(runtime.db, org, "pro", "incomplete")
    stored = await OrganizationAdmin(runtime.db).get(org)
    assert stored is not None
    assert (stored.subscription.plan, stored.subscription.status) == ("free", "active")


async def test_a_downgrade_keeps_everything_and_only_blocks_new_items(runtime: Runtime) -> None:
    org = await org_on(runtime, "pro")
    repo = TenantRepository(runtime.db, SocialAccount)
    await repo.insert_many(
        org,
        [
            SocialAccount(
                organization_id=org,
                platform="linkedin",
                account_info=AccountInfo(platform_id=str(i), username=f"a{i}"),
            )
            for i in range(8)
        ],
    )
    await subscriptions.assign(runtime.db, org, "free")
    assert await repo.count(org) == 8
    error = await refused(limits.check(runtime.db, org, "social_accounts"))
    assert "5 connected social accounts and 8 are used" in error.message
    _, usage = await limits.report(runtime.db, org, runtime.media)
    accounts = next(u for u in usage if u.kind == "social_accounts")
    assert (accounts.used, accounts.allowed, accounts.exceeded) == (8, 5, True)


# --- where work is created -----------------------------------------------------------------


class Echo(BaseModel):
    text: str


class EchoAgent(Agent[Echo, Echo]):
    name: ClassVar = "content_creator"
    task_type: ClassVar = "echo"
    persona: ClassVar = Persona("Echo", "Repeat things.", "Test agent.")
    input_model: ClassVar = Echo
    output_model: ClassVar = Echo

    async def run(self, request: Echo, ctx: AgentContext) -> Echo:
        return Echo(text=await ctx.chat(self.persona.system_prompt(), request.text))


async def test_an_agent_call_without_credits_is_refused_before_the_model_runs(
    runtime: Runtime,
) -> None:
    org = await org_on(runtime, "free")
    tasks = TenantRepository(runtime.db, AiTask)
    await EchoAgent().call({"text": "hello"}, run_context(org, runtime))
    await usage.record_ai_usage(runtime.db, org, utcnow(), 100_000, None)  # the month's spend
    count = await tasks.count(org)
    error = await refused(EchoAgent().call({"text": "again"}, run_context(org, runtime)))
    assert error.code == "plan_limit"
    assert "AI credits" in error.message
    assert await tasks.count(org) == count  # no task: nothing ran

    await subscriptions.assign(runtime.db, org, "starter", "canceled")
    error = await refused(EchoAgent().call({"text": "again"}, run_context(org, runtime)))
    assert error.code == "subscription_inactive"


async def test_storing_a_scheduled_post_takes_a_place_in_its_month(runtime: Runtime) -> None:
    org = await org_on(runtime, "free")
    at = datetime(2031, 3, 10, 9, tzinfo=UTC)
    await TenantRepository(runtime.db, Post).insert_many(
        org,
        [
            Post(organization_id=org, scheduling=Scheduling(status="scheduled", scheduled_at=at))
            for _ in range(29)
        ],
    )

    def draft(thread: str, when: datetime | None) -> posts.GeneratedPost:
        return posts.GeneratedPost(
            platform="instagram",
            text="Fresh roast",
            hashtags=[],
            title=None,
            brief="b",
            scheduled_at=when,
            timezone="UTC",
            model="scripted",
            iterations=1,
            feedback=None,
            thread_key=f"{org}:{thread}",
        )

    stored = await posts.store_generated(runtime.db, org, draft("t30", at))
    # A repeat of the step (a resumed graph) finds its post and checks nothing.
    assert (await posts.store_generated(runtime.db, org, draft("t30", at))).id == stored.id
    error = await refused(posts.store_generated(runtime.db, org, draft("t31", at)))
    assert "30 scheduled posts a month" in error.message
    # A draft without a slot takes no place.
    assert (await posts.store_generated(runtime.db, org, draft("t32", None))).scheduling.status == (
        "draft"
    )


async def test_past_the_largest_plan_sold_online_the_message_points_to_sales(
    runtime: Runtime,
) -> None:
    org = await org_on(runtime, "business")  # 75 accounts
    error = await refused(limits.check(runtime.db, org, "social_accounts", adding=76))
    assert "the Business plan allows 75 connected social accounts and 0 are used" in error.message
    assert "the Enterprise plan has no such limit: contact sales" in error.message
