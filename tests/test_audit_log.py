"""The audit log: every write through the API recorded (who, what, when, where, a summary),
services' richer entries in place of the generic ones, security events, no secret ever
written, and admins paging and filtering their organization's read-only log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from api_support import PASSWORD, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from team_support import ROOMY_LIMITS, last_token, login, member, totp_code

from api.audit import resource_of, route_template
from api.routes.team_schemas import AuditEntryOut
from chorus.settings import Settings
from persistence.models import AuditLog
from persistence.repository import TenantRepository
from services import audit

UA = {"User-Agent": "AuditTest/1.0"}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


async def _entries(app: FastAPI, org_id: str, **query: Any) -> list[AuditLog]:
    return await TenantRepository(app.state.runtime.db, AuditLog).find(
        ObjectId(org_id), query, sort=[("_id", 1)]
    )


async def test_writes_are_recorded_with_who_what_when_and_where(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "ann@example.com", "Audited")
    org_id = reg["organization"]["id"]
    admin = {**bearer(reg["accessToken"]), **UA}
    before = len(await _entries(app, org_id))

    created = await client.post("/api/api-keys", json={"name": "ci"}, headers=admin)
    key_id, key = created.json()["id"], created.json()["key"]
    [entry] = (await _entries(app, org_id))[before:]
    assert entry.action == "create"
    assert entry.operation == "create_key"
    assert (entry.resource.type, entry.resource.id) == ("api-keys", key_id)
    assert entry.actor.kind == "user"
    assert str(entry.user_id) == reg["user"]["id"]
    assert entry.actor.email == "ann@example.com"
    assert entry.context.ip_address
    assert entry.context.user_agent == "AuditTest/1.0"
    assert entry.context.route == "POST /api/api-keys"
    assert entry.context.status == 201
    assert entry.context.session_id
    assert entry.changes.fields == ["name"]
    assert "ci" not in entry.summary  # field names, never values

    # Through an API key, on the runs API another engineer's router serves.
    by_key = {"x-api-key": key, **UA}
    thread = await client.post("/lg/threads", json={"metadata": {"k": "v"}}, headers=by_key)
    assert thread.status_code == 200, thread.text
    thread_id = thread.json()["thread_id"]
    patched = await client.patch(
        f"/lg/threads/{thread_id}", json={"metadata": {"k": "w"}}, headers=by_key
    )
    assert patched.status_code == 200, patched.text
    await client.post("/lg/threads/search", json={}, headers=by_key)  # a read sent as POST
    await client.get("/api/api-keys", headers=admin)  # reads are not recorded
    await client.post("/api/api-keys", json={}, headers=admin)  # refused input: nothing changed
    removed = await client.delete(f"/api/api-keys/{key_id}", headers=admin)
    assert removed.status_code == 204

    made, changed, deleted = (await _entries(app, org_id))[before + 1 :]
    assert (made.action, made.resource.type) == ("create", "lg/threads")
    assert made.actor.kind == "api_key"
    assert str(made.actor.api_key_id) == key_id
    assert str(made.user_id) == reg["user"]["id"]  # the person the key acts for
    assert made.context.session_id is None
    assert (changed.action, changed.resource.type, changed.resource.id) == (
        "update",
        "lg/threads",
        thread_id,
    )
    assert changed.context.route == "PATCH /lg/threads/{thread_id}"
    assert (deleted.action, deleted.resource.id, deleted.context.status) == ("delete", key_id, 204)


async def test_services_record_richer_entries_in_place_of_the_generic_one(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "rich@example.com", "Rich")
    org_id = reg["organization"]["id"]
    admin = bearer(reg["accessToken"])
    bob = await member(app, client, org_id, "bob@example.com", "user")
    mark = len(await _entries(app, org_id))

    await client.put(
        f"/api/organizations/members/{bob['user']['id']}", json={"role": "manager"}, headers=admin
    )
    await client.put(
        "/api/organizations",
        json={"settings": {"timezone": "Asia/Tokyo", "bannedTerms": ["cheap"]}},
        headers=admin,
    )
    await client.post(
        "/api/organizations/members/invite", json={"email": "inv@example.com"}, headers=admin
    )
    role, settings, invite = (await _entries(app, org_id))[mark:]
    assert role.operation == "member.role_changed"
    assert role.summary == "bob@example.com: role user → manager"
    assert (role.changes.before, role.changes.after) == ({"role": "user"}, {"role": "manager"})
    assert role.context.route == "PUT /api/organizations/members/{member_id}"
    assert role.context.status == 200
    assert settings.operation == "organization.updated"
    assert "settings.timezone: UTC → Asia/Tokyo" in settings.summary
    assert settings.changes.after == {
        "settings.timezone": "Asia/Tokyo",
        "settings.bannedTerms": ["cheap"],
    }
    assert (invite.operation, invite.resource.type, invite.resource.name) == (
        "member.invited",
        "invitations",
        "inv@example.com",
    )


async def test_sign_ins_and_security_events_are_recorded_in_the_accounts_organizations(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "sec@example.com", "Security")
    org_id = reg["organization"]["id"]
    mark = len(await _entries(app, org_id))
    # (No extra keyword: login() sends them in the body, where an unknown field is a 422.)
    await login(client, "sec@example.com", "a wrong guess")
    await client.post(
        "/api/auth/login",
        json={"email": "sec@example.com", "password": PASSWORD},
        headers={"User-Agent": "Phone/1"},
    )
    failed, ok = (await _entries(app, org_id))[mark:]
    assert (failed.action, failed.outcome, failed.operation) == (
        "login",
        "failure",
        "auth.login_failed",
    )
    assert failed.context.status == 401
    assert (ok.action, ok.outcome, ok.context.user_agent) == ("login", "success", "Phone/1")
    # An unknown address belongs to no organization: nothing to record, nothing leaks.
    await login(client, "ghost@example.com")
    assert len(await _entries(app, org_id)) == mark + 2


async def test_no_secret_is_ever_written_to_the_audit_log(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "keeper@example.com", "Secrets")
    admin = bearer(reg["accessToken"])
    secrets_seen = [PASSWORD, reg["accessToken"], reg["refreshToken"]]

    signed_in = (await login(client, "keeper@example.com")).json()
    refreshed = (
        await client.post("/api/auth/refresh", json={"refreshToken": signed_in["refreshToken"]})
    ).json()
    key = (await client.post("/api/api-keys", json={"name": "k"}, headers=admin)).json()["key"]
    started = (
        await client.post("/api/auth/2fa/enable", json={"password": PASSWORD}, headers=admin)
    ).json()
    code = totp_code(started["secret"])
    codes = (await client.post("/api/auth/2fa/verify", json={"code": code}, headers=admin)).json()[
        "recoveryCodes"
    ]
    await client.post(
        "/api/auth/2fa/disable", json={"password": PASSWORD, "code": codes[0]}, headers=admin
    )
    await client.post(
        "/api/organizations/members/invite", json={"email": "joiner@example.com"}, headers=admin
    )
    invitation = last_token(app, "joiner@example.com", "/account/accept-invitation")
    await client.post(
        "/api/auth/accept-invitation", json={"token": invitation, "password": "joiner password"}
    )
    verification = last_token(app, "keeper@example.com", "/account/verify-email")
    await client.post("/api/auth/verify-email", json={"token": verification})
    await client.post("/api/auth/forgot-password", json={"email": "keeper@example.com"})
    reset = last_token(app, "keeper@example.com", "/account/reset-password")
    await client.post(
        "/api/auth/reset-password", json={"token": reset, "password": "new secret pw"}
    )
    secrets_seen += [
        signed_in["accessToken"],
        signed_in["refreshToken"],
        refreshed["accessToken"],
        refreshed["refreshToken"],
        key,
        started["secret"],
        code,
        *codes,
        invitation,
        verification,
        reset,
        "joiner password",
        "new secret pw",
    ]

    stored = await app.state.runtime.db["audit_logs"].find({}).to_list(None)
    assert len(stored) >= 12
    dump = repr(stored)
    for secret in secrets_seen:
        assert secret not in dump
    operations = {e["operation"] for e in stored}
    assert {
        "auth.two_factor_enabled",
        "auth.two_factor_disabled",
        "auth.password_reset",
        "auth.email_verified",
        "member.joined",
    } <= operations


async def test_admins_page_and_filter_their_read_only_log(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "pager@example.com", "Pager")
    other = await register(client, "other@example.com", "Other Tenant")
    admin = bearer(reg["accessToken"])
    for i in range(3):
        await client.post("/api/api-keys", json={"name": f"k{i}"}, headers=admin)

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            "/api/organizations/audit-logs",
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=admin,
        )
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    everything = await _entries(app, reg["organization"]["id"])
    assert [e["id"] for e in seen] == [str(e.id) for e in reversed(everything)]  # newest first

    keys = await client.get(
        "/api/organizations/audit-logs",
        params={"resourceType": "api-keys", "action": "create", "userId": reg["user"]["id"]},
        headers=admin,
    )
    assert [e["operation"] for e in keys.json()["items"]] == ["create_key"] * 3
    assert keys.json()["items"][0]["actor"]["email"] == "pager@example.com"
    nothing = await client.get(
        "/api/organizations/audit-logs",
        params={"userId": other["user"]["id"]},
        headers=admin,
    )
    assert nothing.json()["items"] == []
    theirs = await client.get("/api/organizations/audit-logs", headers=bearer(other["accessToken"]))
    assert {e["id"] for e in theirs.json()["items"]}.isdisjoint(e["id"] for e in seen)

    for params in (
        {"cursor": "not-a-cursor"},
        {"limit": 0},
        {"action": "explode"},
        {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
        {"userId": "x"},
    ):
        assert_error_shape(
            await client.get("/api/organizations/audit-logs", params=params, headers=admin), 422
        )

    # No route edits or deletes an entry.
    entry_id = seen[0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(
            method, f"/api/organizations/audit-logs/{entry_id}", json={}, headers=admin
        )
        assert response.status_code in (404, 405)
        response = await client.request(method, "/api/organizations/audit-logs", headers=admin)
        assert response.status_code == 405
    again = await TenantRepository(app.state.runtime.db, AuditLog).get(
        ObjectId(reg["organization"]["id"]), ObjectId(entry_id)
    )
    assert again is not None
    assert AuditEntryOut.of(again).model_dump(by_alias=True, mode="json") == seen[0]


async def test_a_person_reads_their_own_activity(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    reg = await register(client, "act@example.com", "Activity")
    colleague = await member(app, client, reg["organization"]["id"], "col@example.com", "user")
    await client.put(
        "/api/users/profile", json={"firstName": "Col"}, headers=bearer(colleague["accessToken"])
    )
    await client.post("/api/api-keys", json={"name": "a"}, headers=bearer(reg["accessToken"]))
    mine = (
        await client.get("/api/users/activity", headers=bearer(colleague["accessToken"]))
    ).json()["items"]
    assert {e["operation"] for e in mine} == {"auth.login", "user.profile_updated"}
    assert all(e["actor"]["email"] == "col@example.com" for e in mine)


def test_route_templates_name_the_resource_and_its_id() -> None:
    assert resource_of("/api/organizations/members/{member_id}", {"member_id": "m1"}) == (
        "organizations/members",
        "m1",
    )
    assert resource_of(
        "/lg/threads/{thread_id}/runs/{run_id}/cancel", {"thread_id": "t", "run_id": "r"}
    ) == ("lg/threads/runs", "r")
    assert resource_of("/api/api-keys", {}) == ("api-keys", None)
    assert resource_of("/graphs/scheduler/invoke", {}) == ("graphs/scheduler/invoke", None)
    assert resource_of("/api/x/{token}", {"token": "crt_secret"}) == ("x", "[redacted]")
    # Routes included under a prefix know only their own part of the template.
    assert (
        route_template("/lg/threads/t-1/runs", "/threads/{thread_id}/runs", {"thread_id": "t-1"})
        == "/lg/threads/{thread_id}/runs"
    )
    assert route_template("/api/api-keys", "/api/api-keys", {}) == "/api/api-keys"


def test_redaction_replaces_secret_names_and_secret_shaped_text() -> None:
    oid = ObjectId()
    cleaned = audit.redact(
        {
            "password": "hunter2",
            "nested": {"apiKey": "k", "twoFactorCode": "123456", "role": "admin"},
            "note": f"rotated crt_{oid}_abcDEF-123 and eyJhbGciOi.eyJzdWIi.c2ln",
            "list": [{"refresh_token": "x"}, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"],
        }
    )
    assert cleaned == {
        "password": "[redacted]",
        "nested": {"apiKey": "[redacted]", "twoFactorCode": "[redacted]", "role": "admin"},
        "note": "rotated [redacted] and [redacted]",
        "list": [{"refresh_token": "[redacted]"}, "[redacted]"],
    }
    assert audit.scrub("secret JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP here") == "secret [redacted] here"
