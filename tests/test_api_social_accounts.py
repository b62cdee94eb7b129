"""/api/social-accounts against the sandbox networks: the whole consent flow, Bluesky's app
passwords, reconnecting, settings, disconnecting (revoked at the network), the platforms'
limits, plan limits, tenancy, roles and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from sandbox_support import sandbox_fixture, sandbox_url  # noqa: F401 - fixture
from support import make_settings

from persistence.ids import utcnow
from persistence.models import Post, SocialAccount
from persistence.models.content import AccountInfo, PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from sandbox.bluesky import APP_PASSWORD
from sandbox.client import SandboxControl
from services.social_accounts.access import StoredAccountAccess
from services.social_accounts.tokens import unsealed
from tools.platforms import NeedsReconnect, Publication

Api = tuple[FastAPI, httpx.AsyncClient]


@pytest.fixture
async def api(tmp_path: Path, sandbox: SandboxControl) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with api_client(settings) as pair:
        yield pair


async def connect(
    client: httpx.AsyncClient,
    sandbox: SandboxControl,
    auth: dict[str, str],
    platform: str = "twitter",
    *,
    allow: bool = True,
) -> httpx.Response:
    """Start connecting, press Authorize on the sandbox's consent page, follow the redirect
    back to our callback as the browser would."""
    started = await client.post(
        "/api/social-accounts/connect", json={"platform": platform}, headers=auth
    )
    assert started.status_code == 200, started.text
    consent = sandbox.consent(started.json()["authorizationUrl"], allow=allow)
    back = urlsplit(consent.location)
    assert back.path == "/api/social-accounts/callback"
    return await client.get(f"{back.path}?{back.query}")


async def stored_tokens(app: FastAPI, org: str, account_id: str) -> Any:
    runtime = app.state.runtime
    account = await TenantRepository(runtime.db, SocialAccount).get(
        ObjectId(org), ObjectId(account_id)
    )
    assert account is not None
    return unsealed(runtime.cipher, account)


async def test_connecting_through_the_consent_page_stores_the_account_without_showing_tokens(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])

    done = await connect(client, sandbox, auth)

    assert done.status_code == 200, done.text
    [account] = done.json()["accounts"]
    assert account["platform"] == "twitter"
    assert account["accountInfo"]["username"] == "chorusbrand"
    assert account["status"]["connection"] == "connected"
    listed = await client.get("/api/social-accounts", headers=auth)
    assert [a["id"] for a in listed.json()["items"]] == [account["id"]]
    tokens = await stored_tokens(app, ada["organization"]["id"], account["id"])
    for response in (
        done,
        listed,
        await client.get(f"/api/social-accounts/{account['id']}", headers=auth),
    ):
        assert tokens.access_token not in response.text
        assert tokens.refresh_token not in response.text
    raw = await app.state.runtime.db.social_accounts.find_one({"_id": ObjectId(account["id"])})
    assert tokens.access_token not in str(raw)
    # The stored tokens work at the network.
    provider = app.state.runtime.platforms.provider("twitter")
    assert (await provider.account_metrics(tokens)).followers is not None


async def test_a_state_is_used_once_and_a_declined_consent_connects_nothing(
    api: Api, sandbox: SandboxControl
) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    started = await client.post(
        "/api/social-accounts/connect", json={"platform": "linkedin"}, headers=auth
    )
    consent = sandbox.consent(started.json()["authorizationUrl"])
    back = urlsplit(consent.location)
    assert (await client.get(f"{back.path}?{back.query}")).status_code == 200

    again = await client.get(f"{back.path}?{back.query}")
    error = assert_error_shape(again, 422)
    assert error["fields"][0]["field"] == "query.state"
    forged = await client.get(f"{back.path}?state={ObjectId()}.forged&code=abc")
    assert_error_shape(forged, 422)

    declined = await connect(client, sandbox, auth, "tiktok", allow=False)
    assert assert_error_shape(declined, 409)["code"] == "consent_denied"
    listed = await client.get("/api/social-accounts", headers=auth)
    assert {a["platform"] for a in listed.json()["items"]} == {"linkedin"}


async def test_one_consent_stores_every_page_and_reconnecting_updates_them(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])
    first = await connect(client, sandbox, auth, "facebook")
    names = sorted(a["accountInfo"]["displayName"] for a in first.json()["accounts"])
    assert names == ["Chorus Coffee", "Chorus Events"]
    page = first.json()["accounts"][0]
    access = StoredAccountAccess(app.state.runtime)
    await access.mark_needs_reconnect(
        ObjectId(ada["organization"]["id"]), ObjectId(page["id"]), "Error validating access token"
    )
    shown = await client.get(f"/api/social-accounts/{page['id']}", headers=auth)
    assert shown.json()["status"]["connection"] == "needs_reconnect"
    assert shown.json()["status"]["reconnectReason"] == "Error validating access token"
    refused = await client.post(f"/api/social-accounts/{page['id']}/refresh", headers=auth)
    assert assert_error_shape(refused, 409)["code"] == "needs_reconnect"

    again = await connect(client, sandbox, auth, "facebook")

    assert sorted(a["id"] for a in again.json()["accounts"]) == sorted(
        a["id"] for a in first.json()["accounts"]
    )
    shown = await client.get(f"/api/social-accounts/{page['id']}", headers=auth)
    assert shown.json()["status"]["connection"] == "connected"
    assert shown.json()["status"]["reconnectReason"] is None
    assert len((await client.get("/api/social-accounts", headers=auth)).json()["items"]) == 2


async def test_bluesky_connects_with_an_app_password(api: Api, sandbox: SandboxControl) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    body = {"platform": "bluesky", "identifier": "chorusbrand.bsky.social"}

    wrong = await client.post(
        "/api/social-accounts/connect", json={**body, "appPassword": "nope-nope"}, headers=auth
    )
    assert assert_error_shape(wrong, 422)["fields"][0]["field"] == "body.appPassword"
    missing = await client.post("/api/social-accounts/connect", json=body, headers=auth)
    assert assert_error_shape(missing, 422)["fields"][0]["field"] == "body.appPassword"
    assert (await client.get("/api/social-accounts", headers=auth)).json()["items"] == []

    done = await client.post(
        "/api/social-accounts/connect", json={**body, "appPassword": APP_PASSWORD}, headers=auth
    )
    assert done.status_code == 200, done.text
    assert done.json()["authorizationUrl"] is None
    [account] = done.json()["accounts"]
    assert account["platform"] == "bluesky"
    assert account["accountInfo"]["platformId"].startswith("did:")
    assert APP_PASSWORD not in done.text


async def test_refresh_gives_new_tokens_and_a_refused_refresh_asks_to_reconnect(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])
    account = (await connect(client, sandbox, auth)).json()["accounts"][0]
    before = await stored_tokens(app, ada["organization"]["id"], account["id"])

    refreshed = await client.post(f"/api/social-accounts/{account['id']}/refresh", headers=auth)

    assert refreshed.status_code == 200, refreshed.text
    after = await stored_tokens(app, ada["organization"]["id"], account["id"])
    assert after.access_token != before.access_token
    assert after.access_token not in refreshed.text

    sandbox.revoke("x")
    refused = await client.post(f"/api/social-accounts/{account['id']}/refresh", headers=auth)
    error = assert_error_shape(refused, 409)
    assert error["code"] == "needs_reconnect"
    assert error["message"].startswith("reconnect your twitter account: ")
    shown = await client.get(f"/api/social-accounts/{account['id']}", headers=auth)
    assert shown.json()["status"]["connection"] == "needs_reconnect"


async def test_settings_are_validated_and_only_the_fields_sent_change(
    api: Api, sandbox: SandboxControl
) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    account = (await connect(client, sandbox, auth)).json()["accounts"][0]
    url = f"/api/social-accounts/{account['id']}"

    ok = await client.put(
        url,
        json={
            "defaultHashtags": ["#coffee", "#coldbrew"],
            "postingWindows": [{"days": ["mon", "fri"], "start": "08:30", "end": "11:00"}],
            "timezone": "Europe/Paris",
        },
        headers=auth,
    )
    assert ok.status_code == 200, ok.text
    settings = ok.json()["settings"]
    assert settings["defaultHashtags"] == ["#coffee", "#coldbrew"]
    assert settings["postingWindows"] == [
        {"days": ["mon", "fri"], "start": "08:30", "end": "11:00"}
    ]
    assert settings["timezone"] == "Europe/Paris"
    only = await client.put(url, json={"autoPost": True}, headers=auth)
    assert only.json()["settings"]["timezone"] == "Europe/Paris"
    assert only.json()["settings"]["autoPost"] is True

    for body, field in (
        ({"timezone": "Mars/Olympus"}, "body.timezone"),
        ({"timezone": "America"}, "body.timezone"),  # a directory of zones, not a zone
        ({"defaultHashtags": ["coffee"]}, "body.defaultHashtags.0"),
        ({"defaultHashtags": ["#two words"]}, "body.defaultHashtags.0"),
        (
            {"postingWindows": [{"days": ["mon"], "start": "12:00", "end": "09:00"}]},
            "body.postingWindows.0.end",
        ),
        ({"postingWindows": [{"days": ["someday"], "start": "1", "end": "2"}]}, None),
        ({"postingWindows": [{"days": ["mon"], "start": "08:00+01:00", "end": "09:00"}]}, None),
        ({"timezone": "UTC", "apiKey": "x"}, "body.apiKey"),
    ):
        bad = await client.put(url, json=body, headers=auth)
        error = assert_error_shape(bad, 422)
        if field:
            assert field in [f["field"] for f in error["fields"]], (body, error)
    unchanged = await client.get(url, headers=auth)
    assert unchanged.json()["settings"] == only.json()["settings"]


async def test_disconnecting_revokes_the_tokens_then_removes_the_account(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])
    account = (await connect(client, sandbox, auth)).json()["accounts"][0]
    tokens = await stored_tokens(app, ada["organization"]["id"], account["id"])

    gone = await client.delete(f"/api/social-accounts/{account['id']}", headers=auth)

    assert gone.status_code == 204, gone.text
    assert_error_shape(await client.get(f"/api/social-accounts/{account['id']}", headers=auth), 404)
    provider = app.state.runtime.platforms.provider("twitter")
    with pytest.raises(NeedsReconnect):
        await provider.account_metrics(tokens)


async def test_the_network_down_keeps_the_account_and_says_so(
    api: Api, sandbox: SandboxControl
) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    account = (await connect(client, sandbox, auth)).json()["accounts"][0]
    sandbox.fault("x", "error", path=".*revoke.*", status=503, count=5)

    down = await client.delete(f"/api/social-accounts/{account['id']}", headers=auth)

    assert assert_error_shape(down, 503)["code"] == "platform_unavailable"
    kept = await client.get(f"/api/social-accounts/{account['id']}", headers=auth)
    assert kept.status_code == 200


async def test_platforms_list_every_network_with_its_limits(api: Api) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])

    found = await client.get("/api/social-accounts/platforms", headers=auth)

    assert found.status_code == 200, found.text
    platforms = {p["platform"]: p for p in found.json()["platforms"]}
    assert set(platforms) == {
        "twitter",
        "instagram",
        "facebook",
        "linkedin",
        "tiktok",
        "youtube",
        "bluesky",
    }
    assert platforms["twitter"]["limits"]["text"]["maxLength"] == 280
    assert platforms["bluesky"]["authKind"] == "app_password"
    assert platforms["instagram"]["limits"]["requiresMedia"] is True
    assert all(p["form"] == "sandbox" for p in platforms.values())
    assert "thread" in platforms["twitter"]["capabilities"]
    # What the workspace checks a post's thread and first comment against.
    assert "first_comment" in platforms["facebook"]["capabilities"]
    assert "thread" not in platforms["linkedin"]["capabilities"]
    assert "first_comment" not in platforms["tiktok"]["capabilities"]
    assert platforms["linkedin"]["limits"]["text"]["commentMaxLength"] == 1250
    assert platforms["twitter"]["limits"]["text"]["commentMaxLength"] == 280


async def test_a_new_account_past_the_plans_limit_is_refused_before_anything_is_stored(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    org = ObjectId(ada["organization"]["id"])
    auth = bearer(ada["accessToken"])
    existing = (await connect(client, sandbox, auth)).json()["accounts"][0]
    repo = TenantRepository(app.state.runtime.db, SocialAccount)
    for i in range(4):  # the free plan allows 5
        await repo.insert(
            SocialAccount(
                organization_id=org,
                platform="youtube",
                account_info=AccountInfo(platform_id=f"UC{i}", username=f"channel{i}"),
            )
        )

    refused = await connect(client, sandbox, auth, "linkedin")

    assert assert_error_shape(refused, 402)["code"] == "plan_limit"
    assert await repo.count(org, {"platform": "linkedin"}) == 0
    # Reconnecting an account already counted is not a new one.
    again = await connect(client, sandbox, auth, "twitter")
    assert again.status_code == 200, again.text
    assert again.json()["accounts"][0]["id"] == existing["id"]


async def test_another_organizations_account_is_404_everywhere(
    api: Api, sandbox: SandboxControl
) -> None:
    _app, client = api
    ada = bearer((await register(client))["accessToken"])
    bob = bearer((await register(client, "bob@example.com", "Bobco"))["accessToken"])
    account = (await connect(client, sandbox, ada)).json()["accounts"][0]
    url = f"/api/social-accounts/{account['id']}"

    for method, path, body in (
        ("GET", url, None),
        ("PUT", url, {"timezone": "UTC"}),
        ("DELETE", url, None),
        ("POST", f"{url}/refresh", None),
    ):
        answer = await client.request(method, path, json=body, headers=bob)
        assert_error_shape(answer, 404)
    assert (await client.get("/api/social-accounts", headers=bob)).json()["items"] == []
    assert (await client.get(url, headers=ada)).status_code == 200


async def test_roles(api: Api, sandbox: SandboxControl) -> None:
    app, client = api
    ada = await register(client)
    org = ada["organization"]["id"]
    account = (await connect(client, sandbox, bearer(ada["accessToken"]))).json()["accounts"][0]
    url = f"/api/social-accounts/{account['id']}"
    user = bearer(await add_member(app, client, org, "u@example.com", "user"))
    viewer = bearer(await add_member(app, client, org, "v@example.com", "viewer"))
    manager = bearer(await add_member(app, client, org, "m@example.com", "manager"))

    for method, path, body in (
        ("POST", "/api/social-accounts/connect", {"platform": "twitter"}),
        ("PUT", url, {"timezone": "UTC"}),
        ("DELETE", url, None),
    ):
        assert_error_shape(await client.request(method, path, json=body, headers=user), 403)
    assert_error_shape(await client.post(f"{url}/refresh", headers=viewer), 403)
    assert (await client.get(url, headers=viewer)).status_code == 200
    assert (await client.post(f"{url}/refresh", headers=user)).status_code == 200
    started = await client.post(
        "/api/social-accounts/connect", json={"platform": "youtube"}, headers=manager
    )
    assert started.status_code == 200, started.text


async def test_bad_input_names_the_field(api: Api) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    for body, field in (
        ({"platform": "myspace"}, "body.platform"),
        ({}, "body.platform"),
        ({"platform": "twitter", "extra": 1}, "body.extra"),
    ):
        bad = await client.post("/api/social-accounts/connect", json=body, headers=auth)
        assert field in [f["field"] for f in assert_error_shape(bad, 422)["fields"]]
    assert_error_shape(await client.get("/api/social-accounts/not-an-id", headers=auth), 404)
    # A literal path asked with a method it does not have is a 405, not the id route's 422.
    for method, path in (("PUT", "callback"), ("DELETE", "platforms"), ("PUT", "connect")):
        wrong = await client.request(method, f"/api/social-accounts/{path}", headers=auth)
        assert_error_shape(wrong, 405)
    missing = await client.get("/api/social-accounts/callback")
    assert assert_error_shape(missing, 422)["fields"][0]["field"] == "query.state"


async def test_sync_then_read_the_insights_and_the_metrics_back(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    org = ObjectId(ada["organization"]["id"])
    auth = bearer(ada["accessToken"])
    account = (await connect(client, sandbox, auth)).json()["accounts"][0]
    tokens = await stored_tokens(app, ada["organization"]["id"], account["id"])
    provider = app.state.runtime.platforms.provider("twitter")
    made = await provider.publish(tokens, Publication(text="Iced oat latte", key="p1"))
    at = utcnow() - timedelta(hours=2)
    await TenantRepository(app.state.runtime.db, Post).insert(
        Post(
            organization_id=org,
            content=PostContent(text="Iced oat latte"),
            scheduling=Scheduling(status="published", published_at=at),
            platforms=[
                PlatformTarget(
                    social_account_id=ObjectId(account["id"]),
                    platform="twitter",
                    platform_post_id=made.platform_post_id,
                    url=made.url,
                    status="published",
                    published_at=at,
                )
            ],
        )
    )
    sandbox.bump("x", made.platform_post_id, like_count=4, impression_count=50)
    url = f"/api/social-accounts/{account['id']}"

    synced = await client.post(f"{url}/sync", headers=auth)

    assert synced.status_code == 200, synced.text
    assert synced.json()["postsSynced"] == 1
    assert synced.json()["account"]["status"]["lastSync"] is not None
    insights = await client.get(f"{url}/insights", headers=auth)
    assert insights.status_code == 200, insights.text
    assert len(insights.json()["days"]) == 1
    assert insights.json()["latest"]["followers"] == synced.json()["followers"]
    metrics = await client.get(f"{url}/metrics?days=7", headers=auth)
    assert metrics.status_code == 200, metrics.text
    [post] = metrics.json()["posts"]
    assert post["platformPostId"] == made.platform_post_id
    assert (post["metrics"]["likes"], post["metrics"]["impressions"]) == (4, 50)
    assert metrics.json()["totals"]["likes"] == 4
    assert tokens.access_token not in synced.text

    bob = bearer((await register(client, "bob@example.com", "Bobco"))["accessToken"])
    for method, path in (
        ("POST", f"{url}/sync"),
        ("GET", f"{url}/insights"),
        ("GET", f"{url}/metrics"),
    ):
        assert_error_shape(await client.request(method, path, headers=bob), 404)
    viewer = bearer(await add_member(app, client, str(org), "v@example.com", "viewer"))
    assert_error_shape(await client.post(f"{url}/sync", headers=viewer), 403)
    assert (await client.get(f"{url}/metrics", headers=viewer)).status_code == 200
    bad = await client.get(f"{url}/metrics?days=0", headers=auth)
    assert assert_error_shape(bad, 422)["fields"][0]["field"] == "query.days"

    # On the sync's own first read: the server's in-process crons (listening every minute)
    # call other X paths and must not take the fault instead.
    sandbox.fault("x", "rate_limit", path="^/2/users/me$", count=1, retry_after=90)
    limited = await client.post(f"{url}/sync", headers=auth)
    assert assert_error_shape(limited, 429)["code"] == "platform_rate_limited"
    assert int(limited.headers["retry-after"]) >= 85
    shown = await client.get(url, headers=auth)
    assert shown.json()["status"]["syncStatus"] == "rate_limited"


async def test_reconnecting_an_account_must_bring_back_the_same_identity(
    api: Api, sandbox: SandboxControl
) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    account = (await connect(client, sandbox, auth)).json()["accounts"][0]
    other = sandbox.add_user("x", username="someoneelse", name="Someone Else")

    async def reconnect(user: str | None) -> httpx.Response:
        started = await client.post(
            "/api/social-accounts/connect",
            json={"platform": "twitter", "accountId": account["id"]},
            headers=auth,
        )
        assert started.status_code == 200, started.text
        back = urlsplit(sandbox.consent(started.json()["authorizationUrl"], user=user).location)
        return await client.get(f"{back.path}?{back.query}")

    wrong = await reconnect(other["id"])
    assert assert_error_shape(wrong, 409)["code"] == "different_account"
    shown = await client.get(f"/api/social-accounts/{account['id']}", headers=auth)
    assert shown.json()["accountInfo"]["username"] == "chorusbrand"

    right = await reconnect(None)
    assert right.status_code == 200, right.text
    assert [a["id"] for a in right.json()["accounts"]] == [account["id"]]
    listed = await client.get("/api/social-accounts", headers=auth)
    assert len(listed.json()["items"]) == 1

    mismatch = await client.post(
        "/api/social-accounts/connect",
        json={"platform": "linkedin", "accountId": account["id"]},
        headers=auth,
    )
    assert assert_error_shape(mismatch, 422)["fields"][0]["field"] == "body.accountId"


async def test_a_consent_that_covers_no_page_connects_nothing_and_says_why(
    api: Api, sandbox: SandboxControl
) -> None:
    _app, client = api
    auth = bearer((await register(client))["accessToken"])
    person = sandbox.add_user("meta", username="nopages", name="No Pages")
    started = await client.post(
        "/api/social-accounts/connect", json={"platform": "facebook"}, headers=auth
    )
    back = urlsplit(sandbox.consent(started.json()["authorizationUrl"], user=person["id"]).location)

    answer = await client.get(f"{back.path}?{back.query}")

    error = assert_error_shape(answer, 409)
    assert error["code"] == "no_accounts"
    assert "Page" in error["message"]
    assert (await client.get("/api/social-accounts", headers=auth)).json()["items"] == []
