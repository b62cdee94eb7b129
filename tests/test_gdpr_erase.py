"""Erasing an organization (DELETE /api/organizations) and a person (DELETE
/api/users/profile): every store searched afterwards, generically, holds nothing of them,
the other tenant keeps everything, and access ends at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from gdpr_support import FUTURE_COLLECTION, everything_of, fake_memory, plant
from team_support import ROOMY_LIMITS, headers_of, member

from chorus.settings import Settings
from persistence.models import AuditLog, Membership, User
from persistence.queue import InProcessJobQueue
from persistence.repository import TenantRepository


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


def _erase(token: str, body: object = None) -> dict[str, object]:
    return {"headers": bearer(token), "json": {"confirm": True} if body is None else body}


async def test_an_erased_organization_leaves_nothing_in_any_store_and_the_other_keeps_all(
    api: tuple[FastAPI, httpx.AsyncClient], tmp_path: Path
) -> None:
    app, client = api
    chroma = fake_memory(app, tmp_path / "chroma")
    ada = await register(client, "ada@example.com", "Acme")
    bob = await register(client, "bob@example.com", "Other")
    acme, other = ada["organization"]["id"], bob["organization"]["id"]
    viewer = await member(app, client, acme, "vic@example.com", "viewer")
    key = await client.post(
        "/api/api-keys", json={"name": "ci"}, headers=bearer(ada["accessToken"])
    )
    assert key.status_code == 201, key.text
    planted = await plant(app, acme, ada["user"]["id"])
    kept = await plant(app, other, bob["user"]["id"])
    assert await everything_of(app, chroma, acme, run_id=planted["run_id"])  # the probe sees

    erased = await client.request("DELETE", "/api/organizations", **_erase(ada["accessToken"]))

    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["complete"] is True
    assert report["remaining"] == {}
    for store in ("memory", "checkpoint_threads", "media", "keys", "documents.posts"):
        assert report["removed"][store] >= 1, store
    assert report["removed"][f"documents.{FUTURE_COLLECTION}"] == 1
    await app.state.usage.flush()  # counts of its requests, written after it went
    assert await everything_of(app, chroma, acme, run_id=planted["run_id"]) == {}
    # The other organization keeps every store's worth.
    left = await everything_of(app, chroma, other, run_id=kept["run_id"])
    assert {"documents", "memory", "media", "keys"} <= set(left)
    assert any(d.startswith(f"{FUTURE_COLLECTION}/") for d in left["documents"])
    runtime = app.state.runtime
    assert await runtime.media.get(other, kept["media_key"]) == b"\x89PNG tenant"
    assert await runtime.memory.get(other, "brand_voice", kept["memory_id"]) is not None
    assert await runtime.checkpointer.atenant_threads(other) == ["t1"]
    # Access ends at once, whatever the credential.
    for headers in (
        bearer(ada["accessToken"]),
        headers_of(viewer),
        {"x-api-key": key.json()["key"]},
    ):
        assert_error_shape(await client.get("/api/organizations", headers=headers), 401)
    assert (
        await client.get("/api/organizations", headers=bearer(bob["accessToken"]))
    ).status_code == 200
    # Signing in again finds no account (ada belonged nowhere else).
    login = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    assert login.status_code == 401


async def test_a_member_of_another_organization_stays_there_when_the_one_they_joined_first_goes(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    bob = await register(client, "bob@example.com", "Other")
    db = app.state.runtime.db
    # Ada (created in Acme) also belongs to Other.
    await TenantRepository(db, Membership).insert(
        Membership(
            organization_id=ObjectId(bob["organization"]["id"]),
            user_id=ObjectId(ada["user"]["id"]),
            role="user",
        )
    )
    erased = await client.request("DELETE", "/api/organizations", **_erase(ada["accessToken"]))
    assert erased.status_code == 200, erased.text
    assert erased.json()["usersKept"] == 1
    user = await TenantRepository(db, User).get(
        ObjectId(bob["organization"]["id"]), ObjectId(ada["user"]["id"])
    )
    assert user is not None
    assert user.role == "user"
    signed_in = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["organizationId"] == bob["organization"]["id"]


async def test_only_a_signed_in_admin_may_erase_the_organization_and_must_confirm(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    acme = ada["organization"]["id"]
    manager = await member(app, client, acme, "max@example.com", "manager")
    refused = await client.request("DELETE", "/api/organizations", **_erase(manager["accessToken"]))
    assert_error_shape(refused, 403)
    key = await client.post(
        "/api/api-keys", json={"name": "ci"}, headers=bearer(ada["accessToken"])
    )
    by_key = await client.request(
        "DELETE",
        "/api/organizations",
        headers={"x-api-key": key.json()["key"]},
        json={"confirm": True},
    )
    assert_error_shape(by_key, 403)
    for body in ({}, {"confirm": False}, {"confirm": "yes"}, {"confirm": True, "extra": 1}):
        bad = await client.request(
            "DELETE", "/api/organizations", **_erase(ada["accessToken"], body)
        )
        error = assert_error_shape(bad, 422)
        assert any(f["field"].startswith("body") for f in error["fields"]), error
    # Nothing was erased by any of them.
    assert (
        await client.get("/api/organizations", headers=bearer(ada["accessToken"]))
    ).status_code == 200
    assert (await client.get("/api/organizations", headers=headers_of(manager))).status_code == 200


async def test_erasing_one_organization_cannot_reach_another(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    """The organization erased is always the caller's: nothing in the request can name
    another one (an id in the body is refused)."""
    _, client = api
    ada = await register(client, "ada@example.com", "Acme")
    bob = await register(client, "bob@example.com", "Other")
    body = {"confirm": True, "organizationId": bob["organization"]["id"]}
    assert_error_shape(
        await client.request("DELETE", "/api/organizations", **_erase(ada["accessToken"], body)),
        422,
    )
    assert (
        await client.get("/api/organizations", headers=bearer(bob["accessToken"]))
    ).status_code == 200
    assert (
        await client.get("/api/organizations", headers=bearer(ada["accessToken"]))
    ).status_code == 200


async def test_a_person_erased_leaves_no_trace_and_their_organization_keeps_its_work(
    api: tuple[FastAPI, httpx.AsyncClient], tmp_path: Path
) -> None:
    app, client = api
    fake_memory(app, tmp_path / "chroma")
    ada = await register(client, "ada@example.com", "Acme")
    acme = ada["organization"]["id"]
    vic = await member(app, client, acme, "vic@example.com", "user")
    vic_id = vic["user"]["id"]
    # Vic writes (audited with their id and email) and owns a post.
    await client.put("/api/users/profile", json={"firstName": "Vic"}, headers=headers_of(vic))
    await plant(app, acme, vic_id)

    erased = await client.request("DELETE", "/api/users/profile", **_erase(vic["accessToken"]))

    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["organizationsLeft"] == [acme]
    assert body["organizationsErased"] == []
    db = app.state.runtime.db
    vic_oid = ObjectId(vic_id)
    for name in await db.list_collection_names():
        async for raw in db[name].find({}):
            text = repr(raw)
            assert vic_id not in text, (name, raw)
            assert "vic@example.com" not in text, (name, raw)
            assert vic_oid not in _values(raw), (name, raw)
    # The organization keeps the post (without its author) and learns what happened.
    assert await db["posts"].count_documents({"organizationId": ObjectId(acme)}) == 1
    entries = await TenantRepository(db, AuditLog).find(
        ObjectId(acme), {"operation": "gdpr.person_erased"}
    )
    assert len(entries) == 1
    assert entries[0].actor.kind == "system"
    assert_error_shape(await client.get("/api/users/me", headers=headers_of(vic)), 401)
    assert (
        await client.get("/api/users/me", headers=bearer(ada["accessToken"]))
    ).status_code == 200


def _values(value: object) -> list[object]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _values(v)]
    if isinstance(value, list):
        return [x for v in value for x in _values(v)]
    return [value]


async def test_the_last_admin_of_a_shared_organization_is_refused_and_nothing_changes(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    vic = await member(app, client, ada["organization"]["id"], "vic@example.com", "user")
    refused = await client.request("DELETE", "/api/users/profile", **_erase(ada["accessToken"]))
    error = assert_error_shape(refused, 409)
    assert error["code"] == "last_admin"
    assert (
        await client.get("/api/users/me", headers=bearer(ada["accessToken"]))
    ).status_code == 200
    assert (await client.get("/api/users/me", headers=headers_of(vic))).status_code == 200
    # An API key may not erase a person; a bad body is a 422 naming it.
    key = await client.post(
        "/api/api-keys", json={"name": "ci"}, headers=bearer(ada["accessToken"])
    )
    assert_error_shape(
        await client.request(
            "DELETE",
            "/api/users/profile",
            headers={"x-api-key": key.json()["key"]},
            json={"confirm": True},
        ),
        403,
    )
    assert_error_shape(
        await client.request(
            "DELETE", "/api/users/profile", **_erase(vic["accessToken"], {"confirm": 1})
        ),
        422,
    )


async def test_the_sole_member_takes_their_organization_with_them(
    api: tuple[FastAPI, httpx.AsyncClient], tmp_path: Path
) -> None:
    app, client = api
    chroma = fake_memory(app, tmp_path / "chroma")
    ada = await register(client, "ada@example.com", "Acme")
    acme = ada["organization"]["id"]
    planted = await plant(app, acme, ada["user"]["id"])
    erased = await client.request("DELETE", "/api/users/profile", **_erase(ada["accessToken"]))
    assert erased.status_code == 200, erased.text
    assert [o["organizationId"] for o in erased.json()["organizationsErased"]] == [acme]
    assert await everything_of(app, chroma, acme, run_id=planted["run_id"]) == {}


async def test_queued_jobs_of_the_erased_tenant_are_dropped_and_others_run() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def job(ctx: dict[str, object], org_id: str) -> str:
        started.append(org_id)
        await release.wait()
        return org_id

    queue = InProcessJobQueue({"job": job}, {}, max_jobs=1)
    try:
        await queue.enqueue("job", job_id="a", org_id="a" * 24)
        await queue.enqueue("job", job_id="b", org_id="b" * 24)
        assert await queue.cancel_tenant("a" * 24) == 1
        release.set()
        assert await queue.result("b") == "b" * 24
        assert started == ["b" * 24]
    finally:
        await queue.close()
