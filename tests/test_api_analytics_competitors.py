"""Tracked competitors against the sandbox networks: public numbers read through the providers
with the organization's own connected account, seen by the competitor monitor's tool; the
networks without a lookup said plainly; tenancy, roles and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from sandbox_support import make_provider, sandbox_fixture, sandbox_url  # noqa: F401 - fixture
from support import make_settings, run_context, with_runtime

from persistence.ids import utcnow
from persistence.models import CompetitorAnalysis
from persistence.repository import TenantRepository
from sandbox.client import SandboxControl
from services.analytics import competitors
from services.social_accounts.access import StoredAccountAccess
from tools.analytics import ANALYTICS_TOOLS
from tools.platforms import PermanentError

Api = tuple[FastAPI, httpx.AsyncClient]
BENCHMARKS = next(t for t in ANALYTICS_TOOLS if t.name == "competitor_benchmarks")


@pytest.fixture
async def api(tmp_path: Path, sandbox: SandboxControl) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with api_client(settings) as pair:
        yield pair


async def connect_x(client: httpx.AsyncClient, sandbox: SandboxControl, auth: dict) -> None:
    started = await client.post(
        "/api/social-accounts/connect", json={"platform": "twitter"}, headers=auth
    )
    assert started.status_code == 200, started.text
    consent = sandbox.consent(started.json()["authorizationUrl"])
    back = urlsplit(consent.location)
    done = await client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200, done.text


async def test_a_tracked_rival_is_read_from_its_network_and_benchmarked(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])
    await connect_x(client, sandbox, auth)
    sandbox.add_user("x", username="beanthere", name="Bean There", followers=4200)

    added = await client.post(
        "/api/analytics/competitors/add",
        json={"name": "Bean There", "handles": {"twitter": "@beanthere", "linkedin": "bean"}},
        headers=auth,
    )
    assert added.status_code == 201, added.text
    by_platform = {c["platform"]: c for c in added.json()["competitors"]}
    x = by_platform["twitter"]
    assert (x["handle"], x["followers"], x["sync_status"]) == ("beanthere", 4200, "ok")
    assert x["last_synced"] is not None
    # No LinkedIn account is connected: said, not guessed.
    assert by_platform["linkedin"]["sync_status"] == "error"
    assert "connect a linkedin account" in by_platform["linkedin"]["sync_message"]

    listed = await client.get("/api/analytics/competitors", headers=auth)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["competitors"]) == 2
    [comparison] = [
        c
        for c in listed.json()["benchmarks"]["comparisons"]
        if c["competitor"]["platform"] == "twitter"
    ]
    assert comparison["competitor"]["followers"] == 4200

    # The competitor monitor's own tool now finds the rival instead of reporting it missing.
    org = ObjectId(ada["organization"]["id"])
    ctx = run_context(org, app.state.runtime)
    tool = await BENCHMARKS.ainvoke(with_runtime({"competitors": ["Bean There"]}, ctx))
    assert tool["missing"] == []
    followers = {
        c["competitor"]["platform"]: c["competitor"]["followers"] for c in tool["comparisons"]
    }
    assert followers["twitter"] == 4200

    again = await client.post(
        "/api/analytics/competitors/add",
        json={"name": "Beans", "handles": {"twitter": "BeanThere"}},
        headers=auth,
    )
    assert assert_error_shape(again, 409)["code"] == "competitor_exists"

    gone = await client.delete(f"/api/analytics/competitors/{x['id']}", headers=auth)
    assert gone.status_code == 204
    after = await client.get("/api/analytics/competitors", headers=auth)
    assert [c["platform"] for c in after.json()["competitors"]] == ["linkedin"]


async def test_an_unknown_handle_keeps_the_networks_message(
    api: Api, sandbox: SandboxControl
) -> None:
    _, client = api
    auth = bearer((await register(client))["accessToken"])
    await connect_x(client, sandbox, auth)
    added = await client.post(
        "/api/analytics/competitors/add",
        json={"name": "Ghost", "handles": {"twitter": "nobodyhere"}},
        headers=auth,
    )
    [ghost] = added.json()["competitors"]
    assert ghost["sync_status"] == "error"
    assert "Could not find user" in ghost["sync_message"]


async def test_the_sync_reads_again_and_derives_posts_per_week(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])
    await connect_x(client, sandbox, auth)
    sandbox.add_user("x", username="rival", name="Rival", followers=10)
    await client.post(
        "/api/analytics/competitors/add",
        json={"name": "Rival", "handles": {"twitter": "rival"}},
        headers=auth,
    )
    org = ObjectId(ada["organization"]["id"])
    db = app.state.runtime.db
    access = StoredAccountAccess(app.state.runtime)
    # Nothing is due right after the first reading.
    assert await competitors.sync_due(db, access, org) == 0
    # A week later, with 14 more posts on record than at the first reading: 14 a week.
    [doc] = await competitors.tracked(db, org)
    assert doc.sync is not None
    assert doc.sync.previous_posts is not None
    later = utcnow() + timedelta(weeks=1)
    await TenantRepository(db, CompetitorAnalysis).update(
        org,
        doc.id,
        {
            "sync.previousPosts": doc.sync.previous_posts - 14,
            "sync.previousAt": later - timedelta(weeks=1),
        },
    )
    assert await competitors.sync_due(db, access, org, now=later) == 1
    [doc] = await competitors.tracked(db, org)
    assert doc.metrics.post_frequency == 14.0
    assert doc.sync is not None
    assert doc.sync.synced_at is not None


async def test_the_x_and_bluesky_providers_look_up_public_accounts(
    sandbox: SandboxControl,
) -> None:
    from sandbox_support import connect

    sandbox.add_user("x", username="rival", name="Rival", followers=77)
    x = make_provider("twitter")
    conn = await connect(x, sandbox)
    found = await x.public_account(conn.tokens, "@Rival")
    assert (found.profile.username, found.metrics.followers) == ("rival", 77)
    with pytest.raises(PermanentError):
        await x.public_account(conn.tokens, "nobody")
    await x.aclose()


async def test_competitors_belong_to_their_tenant_and_viewers_cannot_write(
    api: Api, sandbox: SandboxControl
) -> None:
    app, client = api
    ada = await register(client)
    auth = bearer(ada["accessToken"])
    ben = bearer((await register(client, email="ben@example.com", org="Ben Tea"))["accessToken"])
    added = await client.post(
        "/api/analytics/competitors/add",
        json={"name": "Rival", "handles": {"tiktok": "rival"}},
        headers=auth,
    )
    [rival] = added.json()["competitors"]
    assert_error_shape(
        await client.delete(f"/api/analytics/competitors/{rival['id']}", headers=ben), 404
    )
    assert (await client.get("/api/analytics/competitors", headers=ben)).json()["competitors"] == []
    viewer = bearer(await add_member(app, client, ada["organization"]["id"], "v@x.com", "viewer"))
    assert_error_shape(
        await client.post(
            "/api/analytics/competitors/add",
            json={"name": "R", "handles": {"twitter": "r"}},
            headers=viewer,
        ),
        403,
    )
    assert_error_shape(
        await client.delete(f"/api/analytics/competitors/{rival['id']}", headers=viewer), 403
    )
    assert (await client.get("/api/analytics/competitors", headers=viewer)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "R", "handles": {}}, "body.handles"),
        ({"name": "R", "handles": {"myspace": "r"}}, "body.handles.myspace.[key]"),
        ({"name": "", "handles": {"twitter": "r"}}, "body.name"),
        ({"name": "R", "handles": {"twitter": "  "}}, "body.handles.twitter"),
    ],
)
async def test_bad_competitors_are_refused_and_nothing_is_stored(
    api: Api, body: dict, field: str
) -> None:
    app, client = api
    ada = await register(client)
    r = await client.post(
        "/api/analytics/competitors/add", json=body, headers=bearer(ada["accessToken"])
    )
    error = assert_error_shape(r, 422)
    assert any(f["field"].startswith(field.split(".[")[0]) for f in error["fields"]), error
    org = ObjectId(ada["organization"]["id"])
    assert await TenantRepository(app.state.runtime.db, CompetitorAnalysis).count(org) == 0
