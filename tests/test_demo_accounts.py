"""The demo organization's accounts connected through the sandbox's consent pages at start,
synced once, and connected again after the sandbox forgot them (a restart)."""

from __future__ import annotations

from pathlib import Path

from sandbox_support import sandbox_fixture, sandbox_url  # noqa: F401 - fixture
from support import seeded_runtime

from chorus.demo_accounts import connect_demo_accounts
from persistence.models import Analytics, AudienceInsights, SocialAccount
from persistence.repository import TenantRepository
from sandbox.client import SandboxControl
from services.social_accounts.access import StoredAccountAccess


async def test_the_demo_accounts_are_connected_in_place_and_synced(
    tmp_path: Path, sandbox: SandboxControl
) -> None:
    async with seeded_runtime(tmp_path / "data", platforms_sandbox_url=sandbox_url()) as (
        runtime,
        demo,
    ):
        from bson import ObjectId

        org = ObjectId(demo.organization_id)
        repo = TenantRepository(runtime.db, SocialAccount)
        before = {a.id: a for a in await repo.find(org)}
        analytics_before = await TenantRepository(runtime.db, Analytics).count(org)

        done = await connect_demo_accounts(runtime)

        assert set(done.values()) == {"connected"}, done
        assert set(done) == {str(i) for i in before}
        after = {a.id: a for a in await repo.find(org)}
        assert set(after) == set(before), "connected in place, no new accounts"
        for account in after.values():
            assert account.status.connection == "connected"
            assert account.authentication.access_token
            assert account.status.last_sync is not None
            assert account.platform == before[account.id].platform
            opened = await StoredAccountAccess(runtime).open(org, account.id)
            assert opened.tokens.account_id == account.account_info.platform_id
        # A brand's page, not the person who consented, where the network offers both.
        [linkedin] = [a for a in after.values() if a.platform == "linkedin"]
        assert linkedin.account_info.platform_id.startswith("urn:li:organization:")
        insights = await TenantRepository(runtime.db, AudienceInsights).count(org)
        assert insights == len(after)
        # The seeded history still belongs to the same accounts.
        assert await TenantRepository(runtime.db, Analytics).count(org) == analytics_before

        assert set((await connect_demo_accounts(runtime)).values()) == {"already connected"}

        sandbox.reset()  # what a restart does to the in-process sandbox
        again = await connect_demo_accounts(runtime)

        assert set(again.values()) == {"connected"}, again
        for account in await repo.find(org):
            opened = await StoredAccountAccess(runtime).open(org, account.id)
            assert (await opened.provider.account_metrics(opened.tokens)) is not None


async def test_a_server_started_for_the_demo_shows_connected_accounts_with_numbers(
    tmp_path: Path, sandbox: SandboxControl
) -> None:
    from api_support import api_client, bearer
    from support import make_settings

    from chorus.app import create_app

    data = tmp_path / "data"
    async with seeded_runtime(data, platforms_sandbox_url=sandbox_url()) as (_runtime, demo):
        pass
    settings = make_settings(data, platforms_sandbox_url=sandbox_url())
    async with api_client(settings, create_app(settings, connect_demo=True)) as (_app, client):
        login = await client.post(
            "/api/auth/login", json={"email": demo.admin_email, "password": demo.admin_password}
        )
        auth = bearer(login.json()["accessToken"])

        accounts = (await client.get("/api/social-accounts", headers=auth)).json()["items"]

        assert len(accounts) == demo.social_accounts
        assert {a["status"]["connection"] for a in accounts} == {"connected"}
        assert all(a["status"]["lastSync"] for a in accounts)
        first = accounts[0]["id"]
        insights = await client.get(f"/api/social-accounts/{first}/insights", headers=auth)
        assert insights.json()["latest"]["followers"] is not None
        metrics = await client.get(f"/api/social-accounts/{first}/metrics?days=90", headers=auth)
        assert metrics.json()["posts"], "the seeded history is read back too"


async def test_the_served_app_publishes_a_due_post_through_a_connected_account_and_reads_it_back(
    tmp_path: Path, sandbox: SandboxControl
) -> None:
    from datetime import timedelta
    from urllib.parse import urlsplit

    from api_support import api_client, bearer, register
    from bson import ObjectId
    from support import make_settings

    from chorus.app import create_app
    from persistence.ids import utcnow
    from persistence.models import Post
    from persistence.models.content import PlatformTarget, PostContent, Scheduling

    settings = make_settings(tmp_path / "data", platforms_sandbox_url=sandbox_url())
    async with api_client(settings, create_app(settings)) as (app, client):
        ada = await register(client)
        auth = bearer(ada["accessToken"])
        started = await client.post(
            "/api/social-accounts/connect", json={"platform": "twitter"}, headers=auth
        )
        back = urlsplit(sandbox.consent(started.json()["authorizationUrl"]).location)
        account = (await client.get(f"{back.path}?{back.query}")).json()["accounts"][0]
        runtime = app.state.runtime
        post = Post(
            organization_id=ObjectId(ada["organization"]["id"]),
            content=PostContent(text="Fresh roast, out now"),
            scheduling=Scheduling(status="scheduled", scheduled_at=utcnow() - timedelta(seconds=1)),
            platforms=[
                PlatformTarget(social_account_id=ObjectId(account["id"]), platform="twitter")
            ],
        )
        await TenantRepository(runtime.db, Post).insert(post)

        assert runtime.publishing is not None, "serve publishes for the stored accounts"
        await runtime.publishing.tick()

        [made] = [p for p in sandbox.posts("x") if p["text"] == "Fresh roast, out now"]
        done = await TenantRepository(runtime.db, Post).get(post.organization_id, post.id)
        assert done is not None
        assert done.scheduling.status == "published"
        assert done.platforms[0].platform_post_id == made["id"]
        sandbox.bump("x", made["id"], like_count=2)
        url = f"/api/social-accounts/{account['id']}"
        assert (await client.post(f"{url}/sync", headers=auth)).json()["postsSynced"] == 1
        [row] = (await client.get(f"{url}/metrics", headers=auth)).json()["posts"]
        assert row["metrics"]["likes"] == 2
