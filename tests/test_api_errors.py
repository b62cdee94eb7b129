"""Every failure answers the one JSON error shape, with the right status and no internals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_support import PASSWORD, add_member, api_client, assert_error_shape, bearer, register
from fastapi import FastAPI
from pymongo.errors import DuplicateKeyError

from chorus.app import create_app
from chorus.settings import Settings
from persistence.repository import TenantViolation


def _app_with_failing_routes(settings: Settings) -> FastAPI:
    app = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("secret internals: mongodb://user:pw@db")

    async def cross_tenant() -> None:
        raise TenantViolation("a filter may not choose the organization")

    async def duplicate() -> None:
        raise DuplicateKeyError(
            "E11000 dup key", 11000, {"keyPattern": {"organizationId": 1, "slug": 1}}
        )

    app.add_api_route("/test/boom", boom)
    app.add_api_route("/test/tenant", cross_tenant)
    app.add_api_route("/test/duplicate", duplicate)
    return app


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, _app_with_failing_routes(settings)) as (_, client):
        yield client


async def test_422_names_each_bad_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "not-an-email", "password": "short", "organizationName": "   "},
    )
    error = assert_error_shape(response, 422)
    assert error["code"] == "validation_error"
    fields = {f["field"]: f["message"] for f in error["fields"]}
    assert set(fields) == {"body.email", "body.password", "body.organizationName"}
    assert all(fields.values())
    assert "body.email" in error["message"]


async def test_422_for_a_missing_field_and_for_broken_json(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/auth/login", json={"email": "a@example.com"})
    error = assert_error_shape(missing, 422)
    assert [f["field"] for f in error["fields"]] == ["body.password"]

    broken = await client.post(
        "/api/auth/login", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    error = assert_error_shape(broken, 422)
    assert error["fields"][0]["field"].startswith("body")


async def test_409_for_a_taken_email(client: httpx.AsyncClient) -> None:
    await register(client, "taken@example.com")
    response = await client.post(
        "/api/auth/register",
        json={"email": "taken@example.com", "password": PASSWORD, "organizationName": "B"},
    )
    error = assert_error_shape(response, 409)
    assert error["code"] == "conflict"
    assert "email" in error["message"]


async def test_401_404_405_and_unknown_ids(client: httpx.AsyncClient) -> None:
    error = assert_error_shape(await client.get("/api/users/me"), 401)
    assert error["code"] == "unauthorized"

    error = assert_error_shape(await client.get("/api/nothing-here"), 404)
    assert error["code"] == "not_found"

    error = assert_error_shape(await client.delete("/api/users/me"), 405)
    assert error["code"] == "method_not_allowed"

    reg = await register(client, "codes@example.com")
    garbage = bearer("a.b.c")
    assert_error_shape(await client.post("/api/api-keys", json={"name": "x"}, headers=garbage), 401)
    error = assert_error_shape(
        await client.delete(
            "/api/api-keys/0123456789abcdef01234567", headers=bearer(reg["accessToken"])
        ),
        404,
    )
    assert error["code"] == "not_found"


async def test_403_shape(settings: Settings) -> None:
    async with api_client(settings) as (app, client):
        reg = await register(client, "own@example.com")
        token = await add_member(app, client, reg["organization"]["id"], "v@example.com", "viewer")
        response = await client.post("/api/api-keys", json={"name": "x"}, headers=bearer(token))
        assert assert_error_shape(response, 403)["code"] == "forbidden"


async def test_429_shape_with_retry_after(settings: Settings) -> None:
    async with api_client(settings) as (app, client):
        app.state.rate_limits["auth"] = (1, 60)
        body = {"email": "x@example.com", "password": PASSWORD}
        await client.post("/api/auth/login", json=body)
        response = await client.post("/api/auth/login", json=body)
        error = assert_error_shape(response, 429)
        assert error["code"] == "rate_limited"
        assert int(response.headers["Retry-After"]) >= 1


async def test_unexpected_errors_are_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/boom")
    error = assert_error_shape(response, 500)
    assert error["code"] == "internal_error"
    assert "secret" not in response.text
    assert "mongodb" not in response.text
    assert "Traceback" not in response.text


async def test_tenant_violation_and_duplicate_key_map_to_403_and_409(
    client: httpx.AsyncClient,
) -> None:
    error = assert_error_shape(await client.get("/test/tenant"), 403)
    assert error["code"] == "tenant_violation"
    error = assert_error_shape(await client.get("/test/duplicate"), 409)
    assert error["fields"] == [{"field": "body.slug", "message": "already exists"}]
    assert "E11000" not in error["message"]
