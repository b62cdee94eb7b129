"""Self-service and account security: password reset and email verification through the
outbox, two-factor sign-in with pyotp codes (wrong, replayed, recovery), devices, profile,
preferences, and the per-account rate limits of the credential routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from api_support import PASSWORD, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from team_support import ROOMY_LIMITS, last_token, login, mails, member, totp_code

from chorus.settings import Settings
from persistence.ids import utcnow
from persistence.models import AccountToken, User
from persistence.repository import TenantRepository

RESET_PATH = "/account/reset-password"
VERIFY_PATH = "/account/verify-email"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


async def _user(app: FastAPI, reg: dict) -> User:
    user = await TenantRepository(app.state.runtime.db, User).get(
        ObjectId(reg["organization"]["id"]), ObjectId(reg["user"]["id"])
    )
    assert user is not None
    return user


# --- password reset -------------------------------------------------------------------------


async def test_forgot_password_answers_alike_and_the_mailed_link_resets_once(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "pat@example.com", "Resetters")
    other_device = (await login(client, "pat@example.com")).json()

    known = await client.post("/api/auth/forgot-password", json={"email": "PAT@example.com"})
    unknown = await client.post("/api/auth/forgot-password", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()  # nothing tells whether the address has an account
    assert mails(app, "nobody@example.com") == []
    [reset_mail] = [m for m in mails(app, "pat@example.com") if "password" in m["Subject"]]
    assert reset_mail.get_body(("html",)) is not None
    token = last_token(app, "pat@example.com", RESET_PATH)

    short = await client.post("/api/auth/reset-password", json={"token": token, "password": "x"})
    assert assert_error_shape(short, 422)["fields"][0]["field"] == "body.password"
    done = await client.post(
        "/api/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    # Every session of the account ended; the old password no longer works, the new one does.
    for signed_in in (reg, other_device):
        assert_error_shape(
            await client.get("/api/users/me", headers=bearer(signed_in["accessToken"])), 401
        )
    assert_error_shape(await login(client, "pat@example.com"), 401)
    assert (await login(client, "pat@example.com", NEW_PASSWORD)).status_code == 200

    replay = await client.post(
        "/api/auth/reset-password", json={"token": token, "password": "yet another password"}
    )
    assert assert_error_shape(replay, 422)["code"] == "invalid_token"
    assert (await login(client, "pat@example.com", NEW_PASSWORD)).status_code == 200


async def test_expired_superseded_and_foreign_reset_links_are_refused(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "quinn@example.com", "Links")
    org_id = ObjectId(reg["organization"]["id"])
    tokens = TenantRepository(app.state.runtime.db, AccountToken)

    await client.post("/api/auth/forgot-password", json={"email": "quinn@example.com"})
    first = last_token(app, "quinn@example.com", RESET_PATH)
    await client.post("/api/auth/forgot-password", json={"email": "quinn@example.com"})
    second = last_token(app, "quinn@example.com", RESET_PATH)
    assert first != second
    verification = last_token(app, "quinn@example.com", VERIFY_PATH)

    newest = await tokens.find_one(org_id, {"purpose": "password_reset", "usedAt": None})
    assert newest is not None
    assert first not in str(newest.to_mongo())
    assert second not in str(newest.to_mongo())
    await tokens.update(org_id, newest.id, {"expiresAt": utcnow() - timedelta(seconds=1)})

    for token in (first, second, verification, f"prt_{org_id}_guess", "prt_nothing"):
        response = await client.post(
            "/api/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
        )
        assert assert_error_shape(response, 422)["code"] == "invalid_token", token
    assert (await login(client, "quinn@example.com")).status_code == 200  # unchanged


async def test_a_reset_lifts_a_lockout(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    await register(client, "locked@example.com", "Lockout")
    for _ in range(5):
        await login(client, "locked@example.com", "wrong password!")
    assert assert_error_shape(await login(client, "locked@example.com"), 423)["code"] == (
        "account_locked"
    )
    await client.post("/api/auth/forgot-password", json={"email": "locked@example.com"})
    token = last_token(app, "locked@example.com", RESET_PATH)
    await client.post("/api/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert (await login(client, "locked@example.com", NEW_PASSWORD)).status_code == 200


# --- email verification ---------------------------------------------------------------------


async def test_sign_up_mails_a_verification_link_that_works_once(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "vera@example.com", "Verifiers")
    headers = bearer(reg["accessToken"])
    assert reg["user"]["emailVerified"] is False
    first = last_token(app, "vera@example.com", VERIFY_PATH)

    resent = await client.post("/api/auth/resend-verification", headers=headers)
    assert resent.status_code == 202
    second = last_token(app, "vera@example.com", VERIFY_PATH)
    assert second != first
    stale = await client.post("/api/auth/verify-email", json={"token": first})
    assert assert_error_shape(stale, 422)["code"] == "invalid_token"  # superseded

    ok = await client.post("/api/auth/verify-email", json={"token": second})
    assert ok.status_code == 200, ok.text
    assert (await client.get("/api/users/me", headers=headers)).json()["emailVerified"] is True
    again = await client.post("/api/auth/verify-email", json={"token": second})
    assert_error_shape(again, 422)
    nothing_to_do = await client.post("/api/auth/resend-verification", headers=headers)
    assert "already" in nothing_to_do.json()["message"]
    assert len([m for m in mails(app, "vera@example.com") if "Confirm" in m["Subject"]]) == 2
    assert_error_shape(await client.post("/api/auth/resend-verification"), 401)
    assert_error_shape(await client.post("/api/auth/verify-email", json={}), 422)


# --- two-factor sign-in ---------------------------------------------------------------------


async def test_two_factor_sign_in_with_totp_refuses_wrong_and_replayed_codes(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "tess@example.com", "Two Factor")
    headers = bearer(reg["accessToken"])

    wrong_password = await client.post(
        "/api/auth/2fa/enable", headers=headers, json={"password": "not mine"}
    )
    assert_error_shape(wrong_password, 401)
    started = await client.post(
        "/api/auth/2fa/enable", headers=headers, json={"password": PASSWORD}
    )
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauthUri"].startswith("otpauth://totp/Chorus:tess%40example.com?")
    stored = await _user(app, reg)
    # Encrypted at rest, and not on until a code proves the app has it.
    assert stored.authentication.two_factor_pending_secret not in (None, secret)
    assert secret not in str(stored.to_mongo())
    assert not stored.authentication.two_factor_enabled
    assert (await login(client, "tess@example.com")).status_code == 200

    bad = await client.post("/api/auth/2fa/verify", headers=headers, json={"code": "000000"})
    assert assert_error_shape(bad, 422)["code"] == "invalid_two_factor_code"
    confirmed = await client.post(
        "/api/auth/2fa/verify", headers=headers, json={"code": totp_code(secret)}
    )
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recoveryCodes"]
    assert len(recovery) == 10
    assert len(set(recovery)) == 10
    stored = await _user(app, reg)
    assert stored.authentication.two_factor_enabled
    assert not any(code in str(stored.to_mongo()) for code in recovery)  # hashed

    # Password alone is no longer enough; only someone who knows it learns that.
    assert_error_shape(await login(client, "tess@example.com", "wrong!"), 401)
    needs = assert_error_shape(await login(client, "tess@example.com"), 401)
    assert needs["code"] == "two_factor_required"
    wrong = await login(client, "tess@example.com", twoFactorCode="123456")
    assert assert_error_shape(wrong, 401)["code"] == "invalid_two_factor_code"

    # The code of the next step works once; sent again it is a replay.
    code = totp_code(secret, steps_ahead=1)
    ok = await login(client, "tess@example.com", twoFactorCode=code)
    assert ok.status_code == 200, ok.text
    replayed = await login(client, "tess@example.com", twoFactorCode=code)
    assert assert_error_shape(replayed, 401)["code"] == "invalid_two_factor_code"
    # The enrolment code, an earlier step, is refused too.
    older = await login(client, "tess@example.com", twoFactorCode=totp_code(secret))
    assert_error_shape(older, 401)

    # A recovery code signs in once.
    rescued = await login(client, "tess@example.com", twoFactorCode=recovery[0].upper())
    assert rescued.status_code == 200, rescued.text
    reused = await login(client, "tess@example.com", twoFactorCode=recovery[0])
    assert_error_shape(reused, 401)
    # The failed second factors counted toward the lockout and a success reset it.
    assert (await _user(app, reg)).authentication.login_attempts == 1

    # Turning it off needs the password and a code.
    headers = bearer(rescued.json()["accessToken"])
    no_code = await client.post(
        "/api/auth/2fa/disable", headers=headers, json={"password": PASSWORD, "code": "999999"}
    )
    assert_error_shape(no_code, 401)
    off = await client.post(
        "/api/auth/2fa/disable", headers=headers, json={"password": PASSWORD, "code": recovery[1]}
    )
    assert off.status_code == 200, off.text
    assert (await login(client, "tess@example.com")).status_code == 200
    cleared = (await _user(app, reg)).authentication
    assert cleared.two_factor_secret is None
    assert cleared.recovery_code_hashes == []


async def test_two_factor_routes_need_a_signed_in_person_not_an_api_key(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = api
    reg = await register(client, "keyed@example.com", "Keyed")
    key = (
        await client.post("/api/api-keys", json={"name": "s"}, headers=bearer(reg["accessToken"]))
    ).json()["key"]
    for path, body in [
        ("/api/auth/2fa/enable", {"password": PASSWORD}),
        ("/api/auth/2fa/verify", {"code": "123456"}),
        ("/api/auth/2fa/disable", {"password": PASSWORD, "code": "123456"}),
    ]:
        response = await client.post(path, headers={"x-api-key": key}, json=body)
        assert assert_error_shape(response, 403)["code"] == "token_required", path
        assert_error_shape(await client.post(path, json=body), 401)
    not_started = await client.post(
        "/api/auth/2fa/verify", headers=bearer(reg["accessToken"]), json={"code": "123456"}
    )
    assert assert_error_shape(not_started, 409)["code"] == "2fa_not_started"
    extra = await client.post(
        "/api/auth/2fa/enable",
        headers=bearer(reg["accessToken"]),
        json={"password": PASSWORD, "secret": "mine"},
    )
    assert assert_error_shape(extra, 422)["fields"][0]["field"] == "body.secret"


# --- devices, profile, preferences, activity ------------------------------------------------


async def test_a_person_lists_their_devices_and_signs_one_out(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _app, client = api
    reg = await register(client, "dev@example.com", "Devices")
    phone = await client.post(
        "/api/auth/login",
        json={"email": "dev@example.com", "password": PASSWORD},
        headers={"User-Agent": "PhoneBrowser/2"},
    )
    laptop = bearer(reg["accessToken"])
    listed = await client.get("/api/users/sessions", headers=laptop)
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    phone_session = next(s for s in sessions if s["userAgent"] == "PhoneBrowser/2")
    assert not phone_session["current"]

    # Refreshing keeps the device one entry, signed in when it was.
    refreshed = await client.post(
        "/api/auth/refresh", json={"refreshToken": phone.json()["refreshToken"]}
    )
    again = (await client.get("/api/users/sessions", headers=laptop)).json()
    assert len(again) == 2
    phone_again = next(s for s in again if s["id"] == phone_session["id"])
    assert phone_again["signedInAt"] == phone_session["signedInAt"]

    gone = await client.delete(f"/api/users/sessions/{phone_session['id']}", headers=laptop)
    assert gone.status_code == 204
    phone_headers = bearer(refreshed.json()["accessToken"])
    assert_error_shape(await client.get("/api/users/me", headers=phone_headers), 401)
    assert (await client.get("/api/users/me", headers=laptop)).status_code == 200

    # Another person's session id, or an unknown one, is not found.
    other = await register(client, "else@example.com", "Elsewhere")
    theirs = (await client.get("/api/users/sessions", headers=bearer(other["accessToken"]))).json()
    assert_error_shape(
        await client.delete(f"/api/users/sessions/{theirs[0]['id']}", headers=laptop), 404
    )
    assert (
        await client.get("/api/users/me", headers=bearer(other["accessToken"]))
    ).status_code == 200


async def test_profile_and_preferences_are_checked_and_partial(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "prof@example.com", "Profiles")
    viewer = await member(app, client, reg["organization"]["id"], "vi@example.com", "viewer")
    headers = bearer(viewer["accessToken"])  # every role manages its own account

    changed = await client.put(
        "/api/users/profile",
        headers=headers,
        json={
            "firstName": " Vi ",
            "timezone": "America/New_York",
            "language": "pt-BR",
            "phoneNumber": "+1 (415) 555-0100",
        },
    )
    assert changed.status_code == 200, changed.text
    profile = changed.json()
    assert (profile["firstName"], profile["timezone"], profile["language"]) == (
        "Vi",
        "America/New_York",
        "pt-BR",
    )
    assert profile["phoneNumber"] == "+14155550100"
    bad = await client.put(
        "/api/users/profile",
        headers=headers,
        json={
            "lastName": "Changed",
            "timezone": "EST5EDT!",
            "language": "english please",
            "avatarUrl": "javascript:alert(1)",
            "phoneNumber": "12",
        },
    )
    fields = {f["field"] for f in assert_error_shape(bad, 422)["fields"]}
    assert fields == {"body.timezone", "body.language", "body.avatarUrl", "body.phoneNumber"}
    unchanged = (await client.get("/api/users/profile", headers=headers)).json()
    assert unchanged["lastName"] is None  # all or nothing
    assert unchanged["firstName"] == "Vi"

    prefs = await client.put(
        "/api/users/preferences",
        headers=headers,
        json={"notifications": {"email": False, "frequency": "weekly"}},
    )
    assert prefs.status_code == 200, prefs.text
    assert prefs.json()["notifications"] == {
        "email": False,
        "push": False,
        "sms": False,
        "frequency": "weekly",
    }
    wrong = await client.put(
        "/api/users/preferences",
        headers=headers,
        json={"notifications": {"frequency": "hourly"}, "dashboard": {"widgets": [{"$x": 1}]}},
    )
    fields = {f["field"] for f in assert_error_shape(wrong, 422)["fields"]}
    assert "body.notifications.frequency" in fields
    assert (await client.get("/api/users/preferences", headers=headers)).json()["notifications"][
        "frequency"
    ] == "weekly"
    assert (
        await client.put("/api/users/preferences", headers=headers, json={"theme": "dark"})
    ).status_code == 422


# --- rate limits ----------------------------------------------------------------------------


async def test_credential_routes_are_limited_per_account_as_well_as_per_ip(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    await register(client, "rate@example.com", "Rates")
    await register(client, "calm@example.com", "Calm")
    app.state.rate_limits["login_account"] = (2, 60)
    app.state.rate_limits["recovery_account"] = (1, 60)

    for _ in range(2):
        assert (await login(client, "rate@example.com")).status_code == 200
    limited = await login(client, "RATE@example.com")
    assert assert_error_shape(limited, 429)["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    # Same address, another account: its own budget.
    assert (await login(client, "calm@example.com")).status_code == 200

    assert (
        await client.post("/api/auth/forgot-password", json={"email": "rate@example.com"})
    ).status_code == 202
    assert_error_shape(
        await client.post("/api/auth/forgot-password", json={"email": "rate@example.com"}), 429
    )
    assert len([m for m in mails(app, "rate@example.com") if "password" in m["Subject"]]) == 1

    # The per-IP limit covers every credential route together.
    app.state.rate_limits["auth"] = (1, 60)
    for path, body in [
        ("/api/auth/verify-email", {"token": "x"}),
        ("/api/auth/reset-password", {"token": "x", "password": NEW_PASSWORD}),
        ("/api/auth/accept-invitation", {"token": "x", "password": NEW_PASSWORD}),
    ]:
        assert_error_shape(await client.post(path, json=body), 429)


async def test_the_emailed_links_open_a_page_that_keeps_the_token_private(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = api
    for page in ("verify-email", "reset-password", "accept-invitation"):
        response = await client.get(f"/account/{page}", params={"token": "prt_x_y"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        # Its own script and the console's stylesheet may load; nothing from elsewhere.
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "prt_x_y" not in response.text
    script = await client.get("/account/static/account.js")
    assert script.status_code == 200
    assert "history.replaceState" in script.text
    assert "/api/auth/accept-invitation" in script.text
