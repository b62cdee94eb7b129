"""Helpers for the API tests: an app with its lifespan running, and a signed-up account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from bson import ObjectId
from fastapi import FastAPI

from chorus.app import create_app
from chorus.settings import Settings
from persistence.models.organizations import Role, User
from persistence.passwords import hash_password
from persistence.repository import TenantRepository

PASSWORD = "correct horse battery"


@asynccontextmanager
async def api_client(
    settings: Settings, app: FastAPI | None = None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app (``create_app(settings)`` unless given) with its runtime open, and a client
    that answers 500s instead of raising."""
    app = app or create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


async def register(
    client: httpx.AsyncClient, email: str = "ada@example.com", org: str = "Acme", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "organizationName": org, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def add_member(
    app: FastAPI, client: httpx.AsyncClient, org_id: str, email: str, role: Role
) -> str:
    """A user of ``org_id`` with ``role``, stored as code before memberships stored users
    (organization and role on the user document: adopted at sign-in); their access token."""
    await TenantRepository(app.state.runtime.db, User).insert(
        User(
            organization_id=ObjectId(org_id),
            email=email,
            password_hash=hash_password(PASSWORD),
            role=role,
        )
    )
    response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error_shape(response: httpx.Response, status: int) -> dict[str, Any]:
    """The one JSON error shape, with ``status``; the error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error
