"""API keys: shown once, listed without secrets, authenticate, revoke; roles and tenancy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI

from api.security import hash_secret
from chorus.settings import Settings
from persistence.models.organizations import ApiKey, Role
from persistence.repository import TenantRepository


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as pair:
        yield pair


async def test_key_is_shown_once_listed_without_secret_and_authenticates(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "keys@example.com")
    admin = bearer(reg["accessToken"])

    created = await client.post("/api/api-keys", json={"name": "ci"}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("chk_")
    assert len(key) > 40
    assert body["name"] == "ci"
    # The prefix is literally how the key starts (so a user can match the two), through
    # the first 8 characters of the random part and no further.
    kind, org, random_part = key.split("_", 2)
    assert key.startswith(body["prefix"])
    assert body["prefix"] == f"{kind}_{org}_{random_part[:8]}"

    stored = await TenantRepository(app.state.runtime.db, ApiKey).find(
        ObjectId(reg["organization"]["id"])
    )
    assert [k.key_hash for k in stored] == [hash_secret(key)]
    assert key not in str(stored[0].to_mongo())

    listed = await client.get("/api/api-keys", headers=admin)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()] == [body["id"]]
    assert key not in listed.text
    assert stored[0].key_hash not in listed.text
    assert "keyHash" not in listed.text
    assert '"key"' not in listed.text

    me = await client.get("/api/users/me", headers={"x-api-key": key})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "keys@example.com"
    assert key not in me.text

    # The key acts for its user everywhere a token does, writes included.
    via_key = await client.post("/api/api-keys", json={"name": "child"}, headers={"x-api-key": key})
    assert via_key.status_code == 201
    # Also as a bearer credential, the way Stripe's and OpenAI's clients send theirs.
    as_bearer = await client.get("/api/users/me", headers=bearer(key))
    assert as_bearer.status_code == 200, as_bearer.text
    assert as_bearer.json()["email"] == "keys@example.com"

    deleted = await client.delete(f"/api/api-keys/{body['id']}", headers=admin)
    assert deleted.status_code == 204
    assert_error_shape(await client.get("/api/users/me", headers={"x-api-key": key}), 401)
    assert body["id"] not in (await client.get("/api/api-keys", headers=admin)).text
    # Deleting twice: it is gone.
    assert_error_shape(await client.delete(f"/api/api-keys/{body['id']}", headers=admin), 404)


async def test_bad_api_keys_are_401(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = api
    reg = await register(client, "bad@example.com")
    forged = f"chk_{reg['organization']['id']}_{'A' * 43}"
    for key in ["nope", forged, f"chk_{ObjectId()}_abc", "crt_x_y"]:
        response = await client.get("/api/users/me", headers={"x-api-key": key})
        assert_error_shape(response, 401)
        assert_error_shape(await client.get("/api/users/me", headers=bearer(key)), 401)


@pytest.mark.parametrize("role", ["viewer", "user"])
async def test_roles_without_manage_keys_get_403(
    api: tuple[FastAPI, httpx.AsyncClient], role: Role
) -> None:
    app, client = api
    reg = await register(client, "owner@example.com")
    token = await add_member(app, client, reg["organization"]["id"], f"{role}@example.com", role)
    response = await client.post("/api/api-keys", json={"name": "x"}, headers=bearer(token))
    error = assert_error_shape(response, 403)
    assert role in error["message"]
    # Reading its own account is still allowed.
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 200


async def test_manager_may_manage_keys(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    reg = await register(client, "boss@example.com")
    token = await add_member(app, client, reg["organization"]["id"], "mgr@example.com", "manager")
    response = await client.post("/api/api-keys", json={"name": "m"}, headers=bearer(token))
    assert response.status_code == 201


async def test_another_tenants_key_is_404(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = api
    first = await register(client, "a@example.com", "Tenant A")
    second = await register(client, "b@example.com", "Tenant B")
    created = await client.post(
        "/api/api-keys", json={"name": "a-key"}, headers=bearer(first["accessToken"])
    )
    key_id, key = created.json()["id"], created.json()["key"]

    response = await client.delete(f"/api/api-keys/{key_id}", headers=bearer(second["accessToken"]))
    assert_error_shape(response, 404)
    listed = await client.get("/api/api-keys", headers=bearer(second["accessToken"]))
    assert listed.json() == []
    # Untouched for its owner.
    me = await client.get("/api/users/me", headers={"x-api-key": key})
    assert me.json()["email"] == "a@example.com"


async def test_malformed_key_id_is_422_naming_the_field(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = api
    reg = await register(client, "id@example.com")
    response = await client.delete("/api/api-keys/not-an-id", headers=bearer(reg["accessToken"]))
    error = assert_error_shape(response, 422)
    assert error["fields"][0]["field"] == "path.key_id"


async def test_key_routes_are_rate_limited_per_principal(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    app.state.rate_limits["api_keys"] = (2, 60)
    first = await register(client, "rl1@example.com", "RL1")
    second = await register(client, "rl2@example.com", "RL2")
    headers = bearer(first["accessToken"])
    for _ in range(2):
        assert (await client.get("/api/api-keys", headers=headers)).status_code == 200
    limited = await client.post("/api/api-keys", json={"name": "x"}, headers=headers)
    assert_error_shape(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    # Another principal has its own budget.
    other = await client.get("/api/api-keys", headers=bearer(second["accessToken"]))
    assert other.status_code == 200
