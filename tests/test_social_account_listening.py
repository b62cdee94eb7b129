"""Listening against the sandbox: mentions since the stored cursor into network_activity
(once each), each new batch assessed by the crisis manager, and a high or critical risk
starting the crisis_response workflow on a thread of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from bson import ObjectId
from sandbox_support import connect as consent
from sandbox_support import sandbox_fixture, sandbox_url  # noqa: F401 - fixture
from support import emitted, make_settings, opened_runtime

from chorus.jobs import CRONS, JOBS
from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict, NotFound
from persistence.ids import utcnow
from persistence.models import LgRun, NetworkActivity, SocialAccount
from persistence.repository import TenantRepository
from runs.listening import listen_account, listen_due
from sandbox.client import SandboxControl
from services.social_accounts import connect, listening

X_ACCOUNT = "2244994945"  # the sandbox's @chorusbrand


@dataclass
class World:
    rt: Runtime
    sandbox: SandboxControl
    org: ObjectId
    account: SocialAccount


@pytest.fixture
async def world(tmp_path: Path, sandbox: SandboxControl) -> AsyncIterator[World]:
    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with opened_runtime(settings) as rt:
        org = await OrganizationAdmin(rt.db).create(f"Lumen Coffee {ObjectId()}")
        connection = await consent(rt.platforms.provider("twitter"), sandbox)
        [account] = await connect.store(rt, org.id, ObjectId(), "twitter", connection)
        yield World(rt, sandbox, org.id, account)


def mention(world: World, text: str, who: int) -> None:
    world.sandbox.mention(
        "x", account=X_ACCOUNT, text=text, author={"id": f"9{who:05d}", "username": f"user{who}"}
    )


async def stored(world: World) -> list[NetworkActivity]:
    return await TenantRepository(world.rt.db, NetworkActivity).find(
        world.org, sort=[("occurredAt", 1), ("_id", 1)]
    )


async def test_mentions_since_the_cursor_are_stored_once(world: World) -> None:
    mention(world, "@chorusbrand loving the new roast", 1)
    mention(world, "@chorusbrand where is my order?", 2)

    first = await listening.pull_mentions(world.rt, world.org, world.account.id)

    assert [m.text for m in first] == [
        "@chorusbrand loving the new roast",
        "@chorusbrand where is my order?",
    ]
    assert {m.author for m in first} == {"user1", "user2"}
    assert all(m.social_account_id == world.account.id for m in first)
    assert await listening.pull_mentions(world.rt, world.org, world.account.id) == []
    mention(world, "@chorusbrand thanks for the quick reply", 3)
    assert [
        m.text for m in await listening.pull_mentions(world.rt, world.org, world.account.id)
    ] == ["@chorusbrand thanks for the quick reply"]
    # Without its cursor the network sends everything again: nothing is stored twice.
    await TenantRepository(world.rt.db, SocialAccount).update(
        world.org, world.account.id, {"listening.cursor": None}
    )
    assert await listening.pull_mentions(world.rt, world.org, world.account.id) == []
    assert len(await stored(world)) == 3
    with pytest.raises(NotFound):
        await listening.pull_mentions(world.rt, ObjectId(), world.account.id)


async def test_a_calm_batch_is_assessed_and_starts_nothing(world: World) -> None:
    mention(world, "@chorusbrand great coffee this morning, thank you!", 1)

    heard = await listen_account(world.rt.engine, world.org, world.account.id)

    assert heard.new_mentions == 1
    assert heard.risk_level in ("none", "low")
    assert heard.crisis_thread_id is None
    assert await TenantRepository(world.rt.db, LgRun).count(world.org) == 0
    account = await TenantRepository(world.rt.db, SocialAccount).get(world.org, world.account.id)
    assert account is not None
    assert account.listening.last_risk_level == heard.risk_level
    assert await emitted(world.rt.db, world.org, "crisis.detected") == []


async def test_a_wave_of_injury_and_lawsuit_mentions_starts_crisis_response(
    world: World,
) -> None:
    complaints = [
        "@chorusbrand your cold brew made me sick, I was hospitalized. Recall it now!",
        "@chorusbrand food poisoning from your iced latte, my lawyer is filing a lawsuit",
        "@chorusbrand glass in my coffee cup, I'm injured and suing you. Recall this batch",
        "@chorusbrand three of us got sick after your cold brew. This needs a recall",
    ]
    for who in range(40):
        mention(world, complaints[who % len(complaints)] + f" #{who}", who)

    heard = await listen_account(world.rt.engine, world.org, world.account.id)

    assert heard.new_mentions == 40
    assert heard.risk_level in ("high", "critical")
    assert heard.crisis_thread_id is not None
    [run] = await TenantRepository(world.rt.db, LgRun).find(world.org)
    assert run.assistant_id == "crisis_response"
    assert run.thread_id == heard.crisis_thread_id
    assert run.metadata["source"] == "listening"
    assert len(run.kwargs["input"]["input"]["mentions"]) == 40
    [told] = await emitted(world.rt.db, world.org, "crisis.detected")
    assert told.data["severity"] == heard.risk_level
    assert told.data["threadId"] == heard.crisis_thread_id
    # The next pass hears nothing new and starts nothing more.
    again = await listen_account(world.rt.engine, world.org, world.account.id)
    assert again.new_mentions == 0
    assert await TenantRepository(world.rt.db, LgRun).count(world.org) == 1
    assert len(await emitted(world.rt.db, world.org, "crisis.detected")) == 1


async def test_the_scheduled_pass_listens_to_each_account_once_across_workers(
    world: World,
) -> None:
    mention(world, "@chorusbrand hello", 1)

    first, second = await asyncio.gather(listen_due(world.rt.engine), listen_due(world.rt.engine))

    assert first["mentions"] + second["mentions"] == 1
    assert "listen_social_accounts" in CRONS
    later = await JOBS["listen_social_accounts"]({"engine": world.rt.engine})
    assert later == {"mentions": 0, "failed": 0, "crises": 0}, "not due again so soon"
    assert (await listen_due(world.rt.engine, now=utcnow() + timedelta(minutes=6)))["failed"] == 0


async def test_a_revoked_account_stops_listening_with_reconnect(world: World) -> None:
    world.sandbox.revoke("x")

    with pytest.raises(Conflict) as refused:
        await listening.pull_mentions(world.rt, world.org, world.account.id)

    assert refused.value.code == "needs_reconnect"
    account = await TenantRepository(world.rt.db, SocialAccount).get(world.org, world.account.id)
    assert account is not None
    assert account.status.connection == "needs_reconnect"
    soon = utcnow() + timedelta(minutes=10)
    assert await listening.due_accounts(world.rt, now=soon) == []
