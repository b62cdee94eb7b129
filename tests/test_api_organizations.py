"""Organizations and members: settings the agents read, the role matrix of every write route,
the last-admin rule, removal, invitations through the outbox, and agencies switching between
client organizations with tenancy intact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from api_support import PASSWORD, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from team_support import ROOMY_LIMITS, headers_of, last_token, login, mails, member, outbox

from chorus.settings import Settings
from persistence.ids import utcnow
from persistence.models import Invitation, Membership, Organization, User
from persistence.repository import TenantRepository
from services import organizations as org_service
from services.billing import subscriptions

INVITE_PATH = "/account/accept-invitation"


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


async def _org(app: FastAPI, org_id: str) -> Organization:
    org = await org_service.get(app.state.runtime.db, ObjectId(org_id))
    return org


# --- settings -------------------------------------------------------------------------------


async def test_admin_changes_the_settings_the_agents_read(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "ada@example.com", "Acme")
    admin = bearer(reg["accessToken"])

    got = await client.get("/api/organizations", headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["settings"]["timezone"] == "UTC"

    changed = await client.put(
        "/api/organizations",
        headers=admin,
        json={
            "name": "  Acme Coffee ",
            "settings": {
                "timezone": "Europe/Paris",
                "industry": "Coffee",
                "bannedTerms": ["cheap", " Cheap ", "free"],
                "brandVoice": ["Warm, never smug"],
                "allowedDomains": ["Example.COM", "@acme.example"],
                "dataRetentionDays": 730,
            },
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Acme Coffee"
    assert body["settings"] == {
        "timezone": "Europe/Paris",
        "industry": "Coffee",
        "bannedTerms": ["cheap", "free"],  # one "cheap", whatever its case and spaces
        "brandVoice": ["Warm, never smug"],
        "allowedDomains": ["example.com", "acme.example"],
        "dataRetentionDays": 730,
        "brandColors": [],
        "brandLogoMediaId": None,
    }
    # What the agents read is what was stored.
    stored = await org_service.settings(app.state.runtime.db, ObjectId(reg["organization"]["id"]))
    assert stored.timezone == "Europe/Paris"
    assert stored.banned_terms == ["cheap", "free"]
    assert stored.brand_voice == ["Warm, never smug"]

    # A partial change leaves the rest alone; null clears the industry.
    partial = await client.put(
        "/api/organizations", headers=admin, json={"settings": {"industry": None}}
    )
    assert partial.json()["settings"]["industry"] is None
    assert partial.json()["settings"]["timezone"] == "Europe/Paris"


async def test_bad_settings_are_422_naming_every_field_and_change_nothing(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "bad@example.com", "Bad Input")
    admin = bearer(reg["accessToken"])
    before = await _org(app, reg["organization"]["id"])

    response = await client.put(
        "/api/organizations",
        headers=admin,
        json={
            "name": "Renamed",
            "settings": {
                "timezone": "Mars/Olympus",
                "bannedTerms": ["ok", "  ", "x" * 101],
                "allowedDomains": ["not a domain", "10.0.0.1"],
                "dataRetentionDays": 5,
            },
        },
    )
    error = assert_error_shape(response, 422)
    fields = {f["field"] for f in error["fields"]}
    assert fields == {
        "body.settings.timezone",
        "body.settings.bannedTerms.1",
        "body.settings.bannedTerms.2",
        "body.settings.allowedDomains.0",
        "body.settings.allowedDomains.1",
        "body.settings.dataRetentionDays",
    }
    tz = next(f for f in error["fields"] if f["field"] == "body.settings.timezone")
    assert "IANA" in tz["message"]
    # All or nothing: the valid name was not stored either.
    after = await _org(app, reg["organization"]["id"])
    assert after.name == before.name
    assert after.settings == before.settings

    too_many = await client.put(
        "/api/organizations",
        headers=admin,
        json={"settings": {"bannedTerms": [f"t{i}" for i in range(501)]}},
    )
    assert assert_error_shape(too_many, 422)["fields"][0]["field"] == "body.settings.bannedTerms"
    unknown = await client.put("/api/organizations", headers=admin, json={"plan": "enterprise"})
    assert assert_error_shape(unknown, 422)["fields"][0]["field"] == "body.plan"


# --- the role matrix ------------------------------------------------------------------------


async def test_every_write_route_refuses_the_roles_that_may_not_use_it(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "owner@example.com", "Matrix")
    org_id = reg["organization"]["id"]
    admin = bearer(reg["accessToken"])
    # One member of each role and more: more than the free plan's three members.
    await subscriptions.assign(app.state.runtime.db, ObjectId(org_id), "pro")
    target = await member(app, client, org_id, "target@example.com", "user")
    target_id = target["user"]["id"]
    invited = await client.post(
        "/api/organizations/members/invite",
        headers=admin,
        json={"email": "pending@example.com", "role": "viewer"},
    )
    invitation_id = invited.json()["id"]
    before = await _org(app, org_id)

    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", "/api/organizations", {"name": "Taken over"}),
        ("POST", "/api/organizations/members/invite", {"email": "x@example.com"}),
        ("PUT", f"/api/organizations/members/{target_id}", {"role": "admin"}),
        ("DELETE", f"/api/organizations/members/{target_id}", None),
        ("GET", "/api/organizations/invitations", None),
        ("DELETE", f"/api/organizations/invitations/{invitation_id}", None),
        ("GET", "/api/organizations/audit-logs", None),
    ]
    for role in ("manager", "user", "viewer"):
        signed_in = await member(app, client, org_id, f"{role}@example.com", role)
        for method, path, body in routes:
            response = await client.request(method, path, json=body, headers=headers_of(signed_in))
            error = assert_error_shape(response, 403)
            assert role in error["message"], (role, method, path)
        # Every member may read the organization and its members.
        for path in ("/api/organizations", "/api/organizations/members"):
            assert (await client.get(path, headers=headers_of(signed_in))).status_code == 200

    # Nothing was written by the refused calls.
    after = await _org(app, org_id)
    assert after.name == before.name
    members = (await client.get("/api/organizations/members", headers=admin)).json()
    assert {m["email"]: m["role"] for m in members}["target@example.com"] == "user"
    pending = (await client.get("/api/organizations/invitations", headers=admin)).json()
    assert [i["email"] for i in pending] == ["pending@example.com"]
    assert len(mails(app, "x@example.com")) == 0

    # The admin may do each of them.
    for method, path, body in routes:
        response = await client.request(method, path, json=body, headers=admin)
        assert response.status_code < 300, (method, path, response.text)


async def test_member_ids_of_another_organization_are_404(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    a = await register(client, "a@example.com", "Tenant A")
    b = await register(client, "b@example.com", "Tenant B")
    b_member = await member(app, client, b["organization"]["id"], "bee@example.com", "user")
    admin_a = bearer(a["accessToken"])
    invite_b = await client.post(
        "/api/organizations/members/invite",
        headers=bearer(b["accessToken"]),
        json={"email": "new@example.com"},
    )

    for method, path, body in [
        ("PUT", f"/api/organizations/members/{b_member['user']['id']}", {"role": "viewer"}),
        ("DELETE", f"/api/organizations/members/{b_member['user']['id']}", None),
        ("DELETE", f"/api/organizations/invitations/{invite_b.json()['id']}", None),
        ("PUT", f"/api/organizations/members/{ObjectId()}", {"role": "viewer"}),
    ]:
        assert_error_shape(await client.request(method, path, json=body, headers=admin_a), 404)
    # B's member and invitation are untouched.
    listed = (
        await client.get("/api/organizations/members", headers=bearer(b["accessToken"]))
    ).json()
    assert {m["email"]: m["role"] for m in listed}["bee@example.com"] == "user"
    assert [
        m["email"] for m in (await client.get("/api/organizations/members", headers=admin_a)).json()
    ] == ["a@example.com"]
    malformed = await client.put(
        "/api/organizations/members/nope", headers=admin_a, json={"role": "viewer"}
    )
    assert assert_error_shape(malformed, 422)["fields"][0]["field"] == "path.member_id"
    bad_role = await client.put(
        f"/api/organizations/members/{b_member['user']['id']}",
        headers=bearer(b["accessToken"]),
        json={"role": "owner"},
    )
    assert assert_error_shape(bad_role, 422)["fields"][0]["field"] == "body.role"


# --- members --------------------------------------------------------------------------------


async def test_the_last_admin_can_be_neither_demoted_nor_removed(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "solo@example.com", "Solo")
    org_id = reg["organization"]["id"]
    admin = bearer(reg["accessToken"])
    admin_id = reg["user"]["id"]

    demote = await client.put(
        f"/api/organizations/members/{admin_id}", headers=admin, json={"role": "manager"}
    )
    assert assert_error_shape(demote, 409)["code"] == "last_admin"
    leave = await client.delete(f"/api/organizations/members/{admin_id}", headers=admin)
    assert assert_error_shape(leave, 409)["code"] == "last_admin"

    # With a second admin, one may step down; then the other is the last again.
    second = await member(app, client, org_id, "second@example.com", "user")
    promoted = await client.put(
        f"/api/organizations/members/{second['user']['id']}", headers=admin, json={"role": "admin"}
    )
    assert promoted.json()["role"] == "admin"
    down = await client.put(
        f"/api/organizations/members/{admin_id}", headers=admin, json={"role": "viewer"}
    )
    assert down.status_code == 200, down.text
    # The demotion applies to the very next request.
    assert_error_shape(
        await client.put("/api/organizations", headers=admin, json={"name": "X"}), 403
    )
    again = await client.delete(
        f"/api/organizations/members/{second['user']['id']}", headers=headers_of(second)
    )
    assert assert_error_shape(again, 409)["code"] == "last_admin"
    roles = await TenantRepository(app.state.runtime.db, Membership).find(
        ObjectId(org_id), {"role": "admin", "status": "active"}
    )
    assert len(roles) == 1


async def test_a_removed_member_loses_access_at_once_and_can_be_invited_back(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "boss@example.com", "Team")
    admin = bearer(reg["accessToken"])
    bob = await member(app, client, reg["organization"]["id"], "bob@example.com", "manager")
    key = await client.post("/api/api-keys", headers=headers_of(bob), json={"name": "bob's"})
    bob_key = {"x-api-key": key.json()["key"]}
    assert (await client.get("/api/users/me", headers=bob_key)).status_code == 200

    removed = await client.delete(f"/api/organizations/members/{bob['user']['id']}", headers=admin)
    assert removed.status_code == 204
    for headers in (headers_of(bob), bob_key):
        assert_error_shape(await client.get("/api/users/me", headers=headers), 401)
    refresh = await client.post("/api/auth/refresh", json={"refreshToken": bob["refreshToken"]})
    assert_error_shape(refresh, 401)
    # Signing in again finds no organization to open.
    error = assert_error_shape(await login(client, "bob@example.com"), 403)
    assert error["code"] == "no_organization"
    listed = (await client.get("/api/organizations/members", headers=admin)).json()
    assert [m["email"] for m in listed] == ["boss@example.com"]

    await client.post(
        "/api/organizations/members/invite",
        headers=admin,
        json={"email": "bob@example.com", "role": "viewer"},
    )
    token = last_token(app, "bob@example.com", INVITE_PATH)
    # Bob belongs to no organization, so he cannot sign in: he accepts with his password.
    wrong = await client.post(
        "/api/auth/accept-invitation", json={"token": token, "password": "not his password"}
    )
    assert_error_shape(wrong, 401)
    back = await client.post(
        "/api/auth/accept-invitation", json={"token": token, "password": PASSWORD}
    )
    assert back.status_code == 200, back.text
    assert back.json()["user"]["role"] == "viewer"
    assert back.json()["user"]["id"] == bob["user"]["id"]  # the same account, back
    assert (await login(client, "bob@example.com")).status_code == 200


async def test_anyone_may_leave_and_only_admins_remove_others(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "lead@example.com", "Leavers")
    org_id = reg["organization"]["id"]
    viewer = await member(app, client, org_id, "viewer@example.com", "viewer")
    user = await member(app, client, org_id, "user@example.com", "user")
    refused = await client.delete(
        f"/api/organizations/members/{user['user']['id']}", headers=headers_of(viewer)
    )
    assert_error_shape(refused, 403)
    left = await client.delete(
        f"/api/organizations/members/{viewer['user']['id']}", headers=headers_of(viewer)
    )
    assert left.status_code == 204
    emails = {
        m["email"]
        for m in (
            await client.get("/api/organizations/members", headers=bearer(reg["accessToken"]))
        ).json()
    }
    assert emails == {"lead@example.com", "user@example.com"}


async def test_users_stored_before_memberships_are_adopted_with_their_role(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "old@example.com", "Legacy")
    org_id = ObjectId(reg["organization"]["id"])
    db = app.state.runtime.db
    # A user document as the code before memberships wrote it: organization and role only.
    legacy = User(
        organization_id=org_id,
        email="legacy@example.com",
        password_hash=(await TenantRepository(db, User).find_one(org_id)).password_hash,
        role="manager",
    )
    await TenantRepository(db, User).insert(legacy)
    memberships = TenantRepository(db, Membership)
    assert await memberships.find_one(org_id, {"userId": legacy.id}) is None

    listed = (
        await client.get("/api/organizations/members", headers=bearer(reg["accessToken"]))
    ).json()
    assert {m["email"]: m["role"] for m in listed}["legacy@example.com"] == "manager"
    signed_in = await login(client, "legacy@example.com")
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["role"] == "manager"
    adopted = await memberships.find(org_id, {"userId": legacy.id})
    assert [(m.role, m.status) for m in adopted] == [("manager", "active")]

    # Removed, they stay removed: adoption never brings them back.
    await client.delete(
        f"/api/organizations/members/{legacy.id}", headers=bearer(reg["accessToken"])
    )
    assert_error_shape(await login(client, "legacy@example.com"), 403)
    assert (await memberships.find_one(org_id, {"userId": legacy.id})).status == "removed"


# --- invitations ----------------------------------------------------------------------------


async def test_an_invitation_is_mailed_accepted_once_by_a_new_person(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "host@example.com", "Inviters", firstName="Hana")
    admin = bearer(reg["accessToken"])
    invited = await client.post(
        "/api/organizations/members/invite",
        headers=admin,
        json={"email": "New.Person@Example.com", "role": "manager"},
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"] == "new.person@example.com"
    assert invited.json()["status"] == "pending"

    [message] = mails(app, "new.person@example.com")
    assert "Inviters" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Hana invited you" in text
    assert "manager" in text
    assert "http://127.0.0.1:8000/account/accept-invitation?token=" in text
    token = last_token(app, "new.person@example.com", INVITE_PATH)
    # Only the token's hash is stored.
    stored = await TenantRepository(app.state.runtime.db, Invitation).find(
        ObjectId(reg["organization"]["id"])
    )
    assert token not in str([i.to_mongo() for i in stored])

    no_password = await client.post("/api/auth/accept-invitation", json={"token": token})
    assert assert_error_shape(no_password, 422)["fields"][0]["field"] == "body.password"
    joined = await client.post(
        "/api/auth/accept-invitation",
        json={"token": token, "password": "a new long password", "firstName": "Nia"},
    )
    assert joined.status_code == 200, joined.text
    body = joined.json()
    assert body["organization"]["id"] == reg["organization"]["id"]
    assert body["user"]["role"] == "manager"
    assert body["user"]["emailVerified"] is True  # the link proved the mailbox
    me = await client.get("/api/users/me", headers=bearer(body["accessToken"]))
    assert me.json()["organizationId"] == reg["organization"]["id"]

    again = await client.post(
        "/api/auth/accept-invitation", json={"token": token, "password": "another password"}
    )
    assert assert_error_shape(again, 422)["code"] == "invalid_token"
    assert (await client.get("/api/organizations/invitations", headers=admin)).json() == []
    assert (await login(client, "new.person@example.com", "a new long password")).status_code == 200


async def test_expired_revoked_replaced_and_forged_invitations_are_refused(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "gate@example.com", "Gatekeepers")
    admin = bearer(reg["accessToken"])
    org_id = ObjectId(reg["organization"]["id"])
    invitations = TenantRepository(app.state.runtime.db, Invitation)

    async def invite(email: str) -> tuple[str, str]:
        made = await client.post(
            "/api/organizations/members/invite", headers=admin, json={"email": email}
        )
        assert made.status_code == 201, made.text
        return made.json()["id"], last_token(app, email, INVITE_PATH)

    def accept(token: str) -> Any:
        return client.post(
            "/api/auth/accept-invitation", json={"token": token, "password": "long enough pw"}
        )

    expired_id, expired = await invite("late@example.com")
    await invitations.update(org_id, ObjectId(expired_id), {"expiresAt": utcnow() - timedelta(1)})
    revoked_id, revoked = await invite("gone@example.com")
    assert (
        await client.delete(f"/api/organizations/invitations/{revoked_id}", headers=admin)
    ).status_code == 204
    _, first = await invite("twice@example.com")
    _, second = await invite("twice@example.com")
    for token in (expired, revoked, first, "inv_" + str(org_id) + "_forged", "garbage"):
        assert assert_error_shape(await accept(token), 422)["code"] == "invalid_token"
    assert (await accept(second)).status_code == 200
    users = await TenantRepository(app.state.runtime.db, User).find(org_id)
    assert sorted(u.email for u in users) == ["gate@example.com", "twice@example.com"]


async def test_invitations_respect_allowed_domains_and_existing_members(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "dom@acme.example", "Domains")
    admin = bearer(reg["accessToken"])
    await client.put(
        "/api/organizations", headers=admin, json={"settings": {"allowedDomains": ["acme.example"]}}
    )
    outside = await client.post(
        "/api/organizations/members/invite", headers=admin, json={"email": "x@other.example"}
    )
    error = assert_error_shape(outside, 422)
    assert error["fields"][0]["field"] == "body.email"
    assert "acme.example" in error["fields"][0]["message"]
    assert mails(app, "x@other.example") == []
    already = await client.post(
        "/api/organizations/members/invite", headers=admin, json={"email": "dom@acme.example"}
    )
    assert assert_error_shape(already, 409)["code"] == "already_member"
    bad = await client.post(
        "/api/organizations/members/invite",
        headers=admin,
        json={"email": "not-an-email", "role": "king"},
    )
    fields = {f["field"] for f in assert_error_shape(bad, 422)["fields"]}
    assert fields == {"body.email", "body.role"}
    ok = await client.post(
        "/api/organizations/members/invite", headers=admin, json={"email": "in@acme.example"}
    )
    assert ok.status_code == 201


# --- agencies -------------------------------------------------------------------------------


async def test_an_agency_member_switches_between_clients_with_tenancy_intact(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    agency = await register(client, "alex@agency.example", "Agency")
    client_org = await register(client, "carla@client.example", "Client")
    other = await register(client, "olga@other.example", "Other")
    client_admin = bearer(client_org["accessToken"])

    # The client invites the agency's person as a plain user.
    await client.post(
        "/api/organizations/members/invite",
        headers=client_admin,
        json={"email": "alex@agency.example", "role": "user"},
    )
    token = last_token(app, "alex@agency.example", INVITE_PATH)
    # The link alone does not add an organization to an existing account.
    guessed = await client.post(
        "/api/auth/accept-invitation", json={"token": token, "password": "a guessed password"}
    )
    assert_error_shape(guessed, 401)
    wrong_person = await client.post(
        "/api/auth/accept-invitation",
        json={"token": token},
        headers=bearer(other["accessToken"]),
    )
    assert assert_error_shape(wrong_person, 403)["code"] == "wrong_account"
    joined = await client.post(
        "/api/auth/accept-invitation",
        json={"token": token},
        headers=bearer(agency["accessToken"]),
    )
    assert joined.status_code == 200, joined.text
    in_client = bearer(joined.json()["accessToken"])
    assert joined.json()["user"]["role"] == "user"
    # Accepting moved this device into the client's organization.
    assert_error_shape(
        await client.get("/api/users/me", headers=bearer(agency["accessToken"])), 401
    )

    mine = (await client.get("/api/users/organizations", headers=in_client)).json()
    assert {(o["name"], o["role"], o["current"]) for o in mine} == {
        ("Agency", "admin", False),
        ("Client", "user", True),
    }
    # Acting in the client: the client's data, with the client role.
    assert (await client.get("/api/organizations", headers=in_client)).json()["name"] == "Client"
    assert_error_shape(
        await client.put("/api/organizations", headers=in_client, json={"name": "Mine"}), 403
    )
    key = await client.post("/api/api-keys", headers=in_client, json={"name": "k"})
    assert_error_shape(key, 403)  # users may not manage keys in the client

    # Switch back to the agency: admin there.
    switched = await client.post(
        "/api/auth/switch-organization",
        headers=in_client,
        json={"organizationId": agency["organization"]["id"]},
    )
    assert switched.status_code == 200, switched.text
    in_agency = bearer(switched.json()["accessToken"])
    assert switched.json()["user"]["role"] == "admin"
    assert_error_shape(await client.get("/api/users/me", headers=in_client), 401)
    org = (await client.get("/api/organizations", headers=in_agency)).json()
    assert org["name"] == "Agency"
    emails = {
        m["email"]
        for m in (await client.get("/api/organizations/members", headers=in_agency)).json()
    }
    assert emails == {"alex@agency.example"}  # never the client's people

    # An organization the person does not belong to is not found, whatever it is.
    for target in (other["organization"]["id"], str(ObjectId())):
        refused = await client.post(
            "/api/auth/switch-organization", headers=in_agency, json={"organizationId": target}
        )
        assert_error_shape(refused, 404)
    bad = await client.post(
        "/api/auth/switch-organization", headers=in_agency, json={"organizationId": "x"}
    )
    assert assert_error_shape(bad, 422)["fields"][0]["field"] == "body.organizationId"

    # Sign-in opens the organization used last, or the one asked for.
    last = await login(client, "alex@agency.example")
    assert last.json()["user"]["organizationId"] == agency["organization"]["id"]
    asked = await login(
        client, "alex@agency.example", organizationId=client_org["organization"]["id"]
    )
    assert asked.json()["user"]["organizationId"] == client_org["organization"]["id"]
    # An API key cannot switch organization.
    agency_key = await client.post("/api/api-keys", headers=in_agency, json={"name": "ci"})
    by_key = await client.post(
        "/api/auth/switch-organization",
        headers={"x-api-key": agency_key.json()["key"]},
        json={"organizationId": client_org["organization"]["id"]},
    )
    assert assert_error_shape(by_key, 403)["code"] == "token_required"


async def test_an_invitation_whose_email_cannot_be_sent_leaves_nothing(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    reg = await register(client, "mailer@example.com", "No Mail")
    org_id = ObjectId(reg["organization"]["id"])
    # The outbox cannot be written: a file stands where its directory should be.
    for path in outbox(app).glob("*"):
        path.unlink()
    outbox(app).rmdir()
    outbox(app).write_text("not a directory")

    response = await client.post(
        "/api/organizations/members/invite",
        headers=bearer(reg["accessToken"]),
        json={"email": "lost@example.com"},
    )
    error = assert_error_shape(response, 503)
    assert "no invitation was made" in error["message"]
    db = app.state.runtime.db
    assert await TenantRepository(db, Invitation).count(org_id) == 0
    entries = await db["audit_logs"].find({"organizationId": org_id}).to_list(None)
    assert "member.invited" not in {e.get("operation") for e in entries}
