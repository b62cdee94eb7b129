"""Sign-up, sign-in, lockout, refresh rotation with reuse detection, logout, token checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import jwt
import pytest
from api_support import PASSWORD, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI

from api.security import create_access_token, hash_secret
from chorus.settings import Settings
from persistence.ids import utcnow
from persistence.models.organizations import User, UserSession
from persistence.repository import TenantRepository


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as pair:
        yield pair


@pytest.fixture
def client(api: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return api[1]


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    reg = await register(client, "Ada@Example.com", "Acme Rockets", firstName="Ada")
    assert reg["user"]["email"] == "ada@example.com"
    assert reg["user"]["role"] == "admin"  # the first user of an organization
    assert reg["user"]["firstName"] == "Ada"
    assert reg["organization"]["name"] == "Acme Rockets"
    assert reg["organization"]["slug"] == "acme-rockets"
    assert reg["user"]["organizationId"] == reg["organization"]["id"]
    assert reg["accessToken"]
    assert reg["refreshToken"]

    response = await login(client, "ada@example.com", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"accessToken", "refreshToken", "user"}
    assert body["user"]["lastLogin"]

    me = await client.get("/api/users/me", headers=bearer(body["accessToken"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == reg["user"]["id"]
    assert me.json()["email"] == "ada@example.com"


async def test_register_stores_session_with_hash_device_and_ip(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    response = await client.post(
        "/api/auth/register",
        json={"email": "ua@example.com", "password": PASSWORD, "organizationName": "UA"},
        headers={"User-Agent": "pytest-browser/1.0"},
    )
    body = response.json()
    org_id = ObjectId(body["organization"]["id"])
    sessions = await TenantRepository(app.state.runtime.db, UserSession).find(org_id)
    assert len(sessions) == 1
    session = sessions[0]
    assert session.token_hash == hash_secret(body["refreshToken"])
    assert body["refreshToken"] not in str(session.to_mongo())
    assert session.device_info.user_agent == "pytest-browser/1.0"
    assert session.location.ip_address
    assert session.is_active
    assert session.expires_at > utcnow()
    # The password is stored as an Argon2id hash.
    user = await TenantRepository(app.state.runtime.db, User).find_one(org_id)
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")


async def test_taken_email_is_409_and_leaves_no_organization(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    await register(client, "dup@example.com", "First")
    response = await client.post(
        "/api/auth/register",
        json={"email": "DUP@example.com", "password": PASSWORD, "organizationName": "Second"},
    )
    error = assert_error_shape(response, 409)
    assert error["fields"][0]["field"] == "body.email"
    orgs = await app.state.runtime.db["organizations"].find({"name": "Second"}).to_list(None)
    assert orgs == []


async def test_wrong_password_locks_after_five_failures(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "lock@example.com")
    org_id, user_id = ObjectId(reg["organization"]["id"]), ObjectId(reg["user"]["id"])
    users = TenantRepository(app.state.runtime.db, User)

    for attempt in range(1, 5):
        response = await login(client, "lock@example.com", "wrong password")
        assert_error_shape(response, 401)
        stored = await users.get(org_id, user_id)
        assert stored is not None
        assert stored.authentication.login_attempts == attempt

    fifth = await login(client, "lock@example.com", "wrong password")
    error = assert_error_shape(fifth, 423)
    assert "locked" in error["message"]
    stored = await users.get(org_id, user_id)
    assert stored is not None
    assert stored.authentication.locked_until is not None
    assert stored.authentication.locked_until > utcnow() + timedelta(minutes=14)

    sixth = await login(client, "lock@example.com", PASSWORD)  # right password, still locked
    error = assert_error_shape(sixth, 423)
    assert "try again" in error["message"]
    assert int(sixth.headers["Retry-After"]) > 0

    # Once the lock has passed, the right password works and the count is reset.
    await users.update(org_id, user_id, {"authentication.lockedUntil": utcnow()})
    ok = await login(client, "lock@example.com", PASSWORD)
    assert ok.status_code == 200, ok.text
    stored = await users.get(org_id, user_id)
    assert stored is not None
    assert stored.authentication.login_attempts == 0
    assert stored.authentication.locked_until is None


async def test_success_resets_failure_count(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    reg = await register(client, "reset@example.com")
    for _ in range(3):
        assert (await login(client, "reset@example.com", "nope nope")).status_code == 401
    assert (await login(client, "reset@example.com", PASSWORD)).status_code == 200
    user = await TenantRepository(app.state.runtime.db, User).get(
        ObjectId(reg["organization"]["id"]), ObjectId(reg["user"]["id"])
    )
    assert user is not None
    assert user.authentication.login_attempts == 0


async def test_unknown_email_is_401_like_a_wrong_password(client: httpx.AsyncClient) -> None:
    error = assert_error_shape(await login(client, "nobody@example.com", PASSWORD), 401)
    assert error["message"] == "invalid email or password"


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    reg = await register(client, "rot@example.com")
    first = reg["refreshToken"]

    rotated = await client.post("/api/auth/refresh", json={"refreshToken": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refreshToken"]
    assert second != first
    me = await client.get("/api/users/me", headers=bearer(rotated.json()["accessToken"]))
    assert me.status_code == 200

    third_response = await client.post("/api/auth/refresh", json={"refreshToken": second})
    assert third_response.status_code == 200
    third = third_response.json()["refreshToken"]
    newest_access = third_response.json()["accessToken"]

    # Reusing a rotated token: refused, and it ends the whole family ...
    reuse = await client.post("/api/auth/refresh", json={"refreshToken": first})
    assert_error_shape(reuse, 401)
    # ... so even the newest refresh token and its access token stop working.
    assert_error_shape(await client.post("/api/auth/refresh", json={"refreshToken": third}), 401)
    assert_error_shape(await client.get("/api/users/me", headers=bearer(newest_access)), 401)


async def test_reuse_leaves_other_sessions_alone(client: httpx.AsyncClient) -> None:
    reg = await register(client, "two@example.com")
    other = (await login(client, "two@example.com", PASSWORD)).json()
    await client.post("/api/auth/refresh", json={"refreshToken": reg["refreshToken"]})
    await client.post("/api/auth/refresh", json={"refreshToken": reg["refreshToken"]})  # reuse
    again = await client.post("/api/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert again.status_code == 200, again.text


async def test_garbage_refresh_tokens_are_401(client: httpx.AsyncClient) -> None:
    for token in ["nope", "crt_zzz_abc", f"crt_{ObjectId()}_abc", "chk_x_y"]:
        response = await client.post("/api/auth/refresh", json={"refreshToken": token})
        assert_error_shape(response, 401)


async def test_logout_revokes_session(client: httpx.AsyncClient) -> None:
    reg = await register(client, "out@example.com")
    headers = bearer(reg["accessToken"])
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200
    response = await client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204, response.text
    assert_error_shape(await client.get("/api/users/me", headers=headers), 401)
    refresh = await client.post("/api/auth/refresh", json={"refreshToken": reg["refreshToken"]})
    assert_error_shape(refresh, 401)
    # Logging out needs a principal.
    assert_error_shape(await client.post("/api/auth/logout"), 401)


async def test_logout_with_refresh_token_ends_that_session_too(client: httpx.AsyncClient) -> None:
    reg = await register(client, "both@example.com")
    phone = (await login(client, "both@example.com", PASSWORD)).json()
    response = await client.post(
        "/api/auth/logout",
        json={"refreshToken": phone["refreshToken"]},
        headers=bearer(reg["accessToken"]),
    )
    assert response.status_code == 204
    for token in (reg["refreshToken"], phone["refreshToken"]):
        refused = await client.post("/api/auth/refresh", json={"refreshToken": token})
        assert_error_shape(refused, 401)


async def test_expired_access_token_is_refused(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    reg = await register(client, "exp@example.com")
    claims = jwt.decode(reg["accessToken"], options={"verify_signature": False})
    expired = create_access_token(
        app.state.runtime.signing_secret,
        user_id=ObjectId(claims["sub"]),
        org_id=ObjectId(claims["org"]),
        session_id=claims["sid"],
        now=utcnow() - timedelta(hours=1),
    )
    response = await client.get("/api/users/me", headers=bearer(expired))
    error = assert_error_shape(response, 401)
    assert "expired" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_tampered_and_forged_tokens_are_refused(client: httpx.AsyncClient) -> None:
    reg = await register(client, "tamper@example.com")
    token = reg["accessToken"]
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})

    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    promoted = jwt.encode({**claims, "sub": str(ObjectId())}, "x" * 32, algorithm="HS256")
    swapped = f"{header}.{promoted.split('.')[1]}.{signature}"
    unsigned = jwt.encode(claims, None, algorithm="none")
    wrong_key = jwt.encode(claims, "not the secret" * 4, algorithm="HS256")
    for bad in [flipped, swapped, unsigned, wrong_key, "not-a-jwt"]:
        response = await client.get("/api/users/me", headers=bearer(bad))
        assert_error_shape(response, 401)


async def test_missing_credentials_are_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/users/me")
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_login_is_rate_limited_per_ip(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    app.state.rate_limits["auth"] = (3, 60)
    for _ in range(3):
        assert_error_shape(await login(client, "who@example.com", PASSWORD), 401)
    response = await login(client, "who@example.com", PASSWORD)
    error = assert_error_shape(response, 429)
    assert error["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


async def test_no_secret_ever_appears_in_a_response(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "sec@example.com")
    org_id = ObjectId(reg["organization"]["id"])
    user = await TenantRepository(app.state.runtime.db, User).find_one(org_id)
    assert user is not None
    logged = await login(client, "sec@example.com", PASSWORD)
    me = await client.get("/api/users/me", headers=bearer(logged.json()["accessToken"]))
    refreshed = await client.post(
        "/api/auth/refresh", json={"refreshToken": logged.json()["refreshToken"]}
    )
    sessions = await TenantRepository(app.state.runtime.db, UserSession).find(org_id)
    for text in [logged.text, me.text, refreshed.text]:
        assert user.password_hash not in text
        assert "passwordHash" not in text
        assert "tokenHash" not in text
        assert PASSWORD not in text
        for session in sessions:
            assert session.token_hash not in text
    # The answer that issues a refresh token is the only one that carries it.
    assert logged.json()["refreshToken"] not in me.text + refreshed.text
