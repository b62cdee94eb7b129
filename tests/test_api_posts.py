"""Posts through the API: the lifecycle, platform rules on every save, versions and locks,
roles, tenancy, filters and pages, and the plan's allowance of scheduled posts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from redis_support import until
from support import make_settings
from workspace_support import connect, iso, post_body, set_raw, soon, stored_post

from persistence.models import Post
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.posts import GeneratedPost, store_generated


async def test_a_post_is_drafted_edited_duplicated_scheduled_published_and_deleted(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")

        created = await client.post(
            "/api/posts",
            json=post_body(
                [x, li],
                tags=["launch"],
                platforms=[
                    {"socialAccountId": x},
                    {"socialAccountId": li, "text": "A longer LinkedIn take on our cold brew."},
                ],
            ),
            headers=auth,
        )
        assert created.status_code == 201, created.text
        post = created.json()
        assert post["scheduling"]["status"] == "draft"
        assert [t["platform"] for t in post["platforms"]] == ["twitter", "linkedin"]
        assert post["platforms"][1]["text"].startswith("A longer LinkedIn")
        assert post["version"] == 0
        assert created.headers["ETag"] == f'"{post["id"]}-0"'

        got = await client.get(f"/api/posts/{post['id']}", headers=auth)
        assert got.json()["content"]["text"] == "Fresh cold brew is here."
        tag = got.headers["ETag"]

        edited = await client.put(
            f"/api/posts/{post['id']}",
            json=post_body([x], text="Cold brew, now on tap.", tags=["launch"]),
            headers={**auth, "If-Match": tag},
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["version"] == 1
        assert edited.json()["content"]["text"] == "Cold brew, now on tap."
        assert len(edited.json()["platforms"]) == 1

        copy = await client.post(f"/api/posts/{post['id']}/duplicate", headers=auth)
        assert copy.status_code == 201
        assert copy.json()["id"] != post["id"]
        assert copy.json()["content"]["text"] == "Cold brew, now on tap."
        assert copy.json()["scheduling"]["status"] == "draft"

        when = soon(3)
        scheduled = await client.post(
            f"/api/posts/{post['id']}/schedule", json={"scheduledAt": iso(when)}, headers=auth
        )
        assert scheduled.status_code == 200, scheduled.text
        assert scheduled.json()["scheduling"]["status"] == "scheduled"
        queue = await client.get("/api/posts/scheduled", headers=auth)
        assert [p["id"] for p in queue.json()["items"]] == [post["id"]]
        drafts = await client.get("/api/posts/drafts", headers=auth)
        assert [p["id"] for p in drafts.json()["items"]] == [copy.json()["id"]]

        published = await client.post(f"/api/posts/{post['id']}/publish", headers=auth)
        assert published.status_code == 200, published.text
        due = datetime.fromisoformat(published.json()["scheduling"]["scheduledAt"])
        assert due < when - timedelta(hours=2)  # due now
        # The in-process publishing tick (every second) claims it; a claimed post is locked.
        # (Reading its status right after the call raced that tick.)
        await until(lambda: is_claimed(app, org, post["id"]), seconds=30)
        locked = await client.delete(f"/api/posts/{post['id']}", headers=auth)
        assert_error_shape(locked, 409)

        gone = await client.delete(f"/api/posts/{copy.json()['id']}", headers=auth)
        assert gone.status_code == 204
        assert_error_shape(await client.get(f"/api/posts/{copy.json()['id']}", headers=auth), 404)


async def is_claimed(app: FastAPI, org: str, post_id: str) -> bool:
    stored = await stored_post(app, org, post_id)
    return stored is not None and stored.scheduling.status in {"publishing", "published"}


async def test_every_save_is_checked_by_each_networks_rules_and_nothing_invalid_is_stored(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        ig = await connect(app, org, "instagram")

        long = "word " * 70  # 350 characters: fine on Instagram, too long for X
        refused = await client.post("/api/posts", json=post_body([ig, x], text=long), headers=auth)
        error = assert_error_shape(refused, 422)
        assert error["code"] == "platform_rules"
        assert "twitter" in error["message"]
        assert "too_long" in error["message"]
        assert error["fields"][0]["field"] == "body.content.text"
        assert error["fields"][0]["message"].startswith("twitter: too_long: ")

        override = post_body([ig, x])
        override["platforms"][1]["text"] = long
        error = assert_error_shape(
            await client.post("/api/posts", json=override, headers=auth), 422
        )
        assert error["fields"][0]["field"] == "body.platforms.1.text"

        tags = await client.post(
            "/api/posts", json=post_body([x], hashtags=["not a tag"]), headers=auth
        )
        error = assert_error_shape(tags, 422)
        assert error["fields"][0]["field"] == "body.content.hashtags"
        assert "malformed_hashtag" in error["fields"][0]["message"]

        await client.put(
            "/api/organizations", json={"settings": {"bannedTerms": ["cheap"]}}, headers=auth
        )
        banned = await client.post(
            "/api/posts", json=post_body([x], text="Cheap coffee today."), headers=auth
        )
        assert "banned_term" in assert_error_shape(banned, 422)["fields"][0]["message"]

        # Instagram cannot publish without media: a draft may wait, a schedule may not.
        draft = await client.post("/api/posts", json=post_body([ig]), headers=auth)
        assert draft.status_code == 201
        schedule = await client.post(
            f"/api/posts/{draft.json()['id']}/schedule",
            json={"scheduledAt": iso(soon())},
            headers=auth,
        )
        error = assert_error_shape(schedule, 422)
        assert error["fields"][0]["field"] == "body.content.mediaFiles"
        assert "instagram: media_required" in error["fields"][0]["message"]

        listed = await client.get("/api/posts", headers=auth)
        assert [p["id"] for p in listed.json()["items"]] == [draft.json()["id"]]
        stored = await stored_post(app, org, draft.json()["id"])
        assert stored is not None
        assert stored.scheduling.status == "draft"


async def test_bad_input_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        cases = [
            ({"content": {"text": "hi"}, "platforms": []}, "body.platforms"),
            (post_body([str(ObjectId())]), "body.platforms.0.socialAccountId"),
            (post_body([x, x]), "body.platforms.1.socialAccountId"),
            (
                post_body([x], scheduling={"scheduledAt": "2020-01-01T00:00:00Z"}),
                "body.scheduling.scheduledAt",
            ),
            (post_body([x], scheduling={"timezone": "Mars/Olympus"}), "body.scheduling.timezone"),
            (
                {
                    **post_body([x]),
                    "content": {"text": "x", "mediaFiles": [{"mediaId": str(ObjectId())}]},
                },
                "body.content.mediaFiles.0.mediaId",
            ),
            ({**post_body([x]), "surprise": 1}, "body.surprise"),
        ]
        for body, field in cases:
            error = assert_error_shape(
                await client.post("/api/posts", json=body, headers=auth), 422
            )
            assert field in [f["field"] for f in error["fields"]], (field, error)
        assert (await client.get("/api/posts", headers=auth)).json()["items"] == []
        bad_cursor = await client.get("/api/posts?cursor=nope", headers=auth)
        assert assert_error_shape(bad_cursor, 422)["fields"][0]["field"] == "query.cursor"


async def test_stale_versions_are_refused_and_concurrent_editors_never_overwrite(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        x = await connect(app, ana["organization"]["id"], "twitter")
        post = (await client.post("/api/posts", json=post_body([x]), headers=auth)).json()
        url = f"/api/posts/{post['id']}"

        missing = await client.put(url, json=post_body([x], text="New"), headers=auth)
        assert assert_error_shape(missing, 428)["code"] == "precondition_required"

        async def edit(text: str) -> int:
            response = await client.put(
                url,
                json=post_body([x], text=text),
                headers={**auth, "If-Match": f'"{post["id"]}-0"'},
            )
            return response.status_code

        statuses = await asyncio.gather(edit("First editor."), edit("Second editor."))
        assert sorted(statuses) == [200, 412]
        stale_body = await client.put(
            url, json={**post_body([x], text="Late"), "version": 0}, headers=auth
        )
        assert assert_error_shape(stale_body, 409)["code"] == "version_conflict"
        fresh = await client.put(
            url, json={**post_body([x], text="On time"), "version": 1}, headers=auth
        )
        assert fresh.status_code == 200
        assert fresh.json()["version"] == 2
        other = await client.put(url, json=post_body([x]), headers={**auth, "If-Match": '"abc"'})
        assert_error_shape(other, 412)
        stale_delete = await client.delete(url, headers={**auth, "If-Match": f'"{post["id"]}-0"'})
        assert_error_shape(stale_delete, 412)


async def test_a_post_claimed_for_publishing_is_locked(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        x = await connect(app, ana["organization"]["id"], "twitter")
        post = (
            await client.post(
                "/api/posts",
                json=post_body([x], scheduling={"scheduledAt": iso(soon())}),
                headers=auth,
            )
        ).json()
        assert post["scheduling"]["status"] == "scheduled"
        url = f"/api/posts/{post['id']}"
        await set_raw(app, post["id"], {"scheduling.status": "publishing"})
        assert (await client.get(url, headers=auth)).json()["locked"] is True
        for method, path, body in (
            ("PUT", url, {**post_body([x]), "version": 0}),
            ("DELETE", url, None),
            ("POST", f"{url}/schedule", {"scheduledAt": iso(soon(5))}),
            ("POST", f"{url}/publish", None),
        ):
            response = await client.request(method, path, json=body, headers=auth)
            assert assert_error_shape(response, 409)["code"] == "post_locked", (method, path)

        # One target already out locks the post as well, whatever its own status says.
        await set_raw(
            app, post["id"], {"scheduling.status": "failed", "platforms.0.status": "published"}
        )
        again = await client.put(url, json={**post_body([x]), "version": 0}, headers=auth)
        assert assert_error_shape(again, 409)["code"] == "post_locked"


async def test_editing_a_scheduled_post_reschedules_it(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        first = soon(2)
        post = (
            await client.post(
                "/api/posts",
                json=post_body([x], scheduling={"scheduledAt": iso(first)}),
                headers=auth,
            )
        ).json()
        await set_raw(app, post["id"], {"platforms.0.status": "failed", "platforms.0.attempts": 3})
        later = soon(30)
        moved = await client.put(
            f"/api/posts/{post['id']}",
            json={**post_body([x], scheduling={"scheduledAt": iso(later)}), "version": 0},
            headers=auth,
        )
        assert moved.status_code == 200, moved.text
        stored = await stored_post(app, org, post["id"])
        assert stored is not None
        assert stored.scheduling.status == "scheduled"
        assert abs((stored.scheduling.scheduled_at - later).total_seconds()) < 0.01  # type: ignore[operator]
        assert (stored.platforms[0].status, stored.platforms[0].attempts) == ("pending", 0)

        unscheduled = await client.put(
            f"/api/posts/{post['id']}", json={**post_body([x]), "version": 1}, headers=auth
        )
        assert unscheduled.json()["scheduling"]["status"] == "draft"
        assert unscheduled.json()["scheduling"]["scheduledAt"] is None


async def test_scheduling_warns_of_a_duplicate_and_a_neighbour_within_the_hour(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        at = soon(60)
        first = await client.post(
            "/api/posts", json=post_body([x], scheduling={"scheduledAt": iso(at)}), headers=auth
        )
        assert first.status_code == 201, first.text
        assert first.json()["warnings"] == []
        # The same text 20 minutes later on the same account: both warnings, saved anyway.
        again = await client.post(
            "/api/posts",
            json=post_body([x], scheduling={"scheduledAt": iso(at + timedelta(minutes=20))}),
            headers=auth,
        )
        assert again.status_code == 201, again.text
        codes = {w["code"] for w in again.json()["warnings"]}
        assert codes == {"duplicate_text", "same_account_within_hour"}
        assert {w["otherPostId"] for w in again.json()["warnings"]} == {first.json()["id"]}
        # Moved three hours away with other words: nothing to warn about.
        other = post_body([x], scheduling={"scheduledAt": iso(at + timedelta(hours=3))})
        other["content"]["text"] = "An entirely different announcement for the afternoon."
        moved = await client.put(
            f"/api/posts/{again.json()['id']}", json={**other, "version": 0}, headers=auth
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["warnings"] == []
        # A draft is not queued: no warnings however alike.
        draft = await client.post("/api/posts", json=post_body([x]), headers=auth)
        assert draft.json()["warnings"] == []


async def test_roles_decide_who_schedules_and_publishes(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        viewer = bearer(await add_member(app, client, org, "vic@example.com", "viewer"))
        user = bearer(await add_member(app, client, org, "uma@example.com", "user"))
        manager = bearer(await add_member(app, client, org, "max@example.com", "manager"))

        assert_error_shape(
            await client.post("/api/posts", json=post_body([x]), headers=viewer), 403
        )
        assert (await client.get("/api/posts", headers=viewer)).status_code == 200

        proposed = soon(4)
        mine = await client.post(
            "/api/posts",
            json=post_body([x], scheduling={"scheduledAt": iso(proposed)}),
            headers=user,
        )
        assert mine.status_code == 201
        assert mine.json()["scheduling"]["status"] == "draft"  # a proposal, not a schedule
        pid = mine.json()["id"]
        for path, body in (
            (f"/api/posts/{pid}/schedule", {"scheduledAt": iso(proposed)}),
            (f"/api/posts/{pid}/publish", None),
        ):
            assert_error_shape(await client.post(path, json=body, headers=user), 403)

        done = await client.post(
            f"/api/posts/{pid}/schedule", json={"scheduledAt": iso(proposed)}, headers=manager
        )
        assert done.status_code == 200
        refused = await client.put(
            f"/api/posts/{pid}", json={**post_body([x], text="Sneaky"), "version": 1}, headers=user
        )
        assert assert_error_shape(refused, 403)["code"] == "forbidden"


async def test_posts_belong_to_their_organization(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        x = await connect(app, ana["organization"]["id"], "twitter")
        bx = await connect(app, ben["organization"]["id"], "twitter")
        post = (
            await client.post("/api/posts", json=post_body([x]), headers=bearer(ana["accessToken"]))
        ).json()
        theirs = bearer(ben["accessToken"])
        pid = post["id"]
        for method, path, body in (
            ("GET", f"/api/posts/{pid}", None),
            ("PUT", f"/api/posts/{pid}", {**post_body([bx]), "version": 0}),
            ("DELETE", f"/api/posts/{pid}", None),
            ("POST", f"/api/posts/{pid}/duplicate", None),
            ("POST", f"/api/posts/{pid}/schedule", {"scheduledAt": iso(soon())}),
            ("POST", f"/api/posts/{pid}/publish", None),
        ):
            response = await client.request(method, path, json=body, headers=theirs)
            assert_error_shape(response, 404)
        assert (await client.get("/api/posts", headers=theirs)).json()["items"] == []
        # Nor can one organization aim a post at another's account.
        aimed = await client.post("/api/posts", json=post_body([x]), headers=theirs)
        assert (
            assert_error_shape(aimed, 422)["fields"][0]["field"]
            == "body.platforms.0.socialAccountId"
        )


async def test_filters_and_cursor_pages(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")
        ids = {}
        for name, accounts, text, tags, hours in (
            ("a", [x], "Espresso tips for mornings", ["tips"], 2),
            ("b", [li], "Hiring baristas in Berlin", ["jobs"], 26),
            ("c", [x, li], "Cold brew launch day", ["launch", "tips"], 50),
            ("d", [li], "Latte art contest", ["launch"], None),
        ):
            extra = {"scheduling": {"scheduledAt": iso(soon(hours))}} if hours else {}
            made = await client.post(
                "/api/posts", json=post_body(accounts, text=text, tags=tags, **extra), headers=auth
            )
            assert made.status_code == 201, made.text
            ids[made.json()["id"]] = name

        async def names(query: str) -> list[str]:
            response = await client.get(f"/api/posts?{query}", headers=auth)
            assert response.status_code == 200, response.text
            return [ids[p["id"]] for p in response.json()["items"]]

        assert await names("") == ["d", "c", "b", "a"]
        assert await names("status=draft") == ["d"]
        assert await names("status=draft&status=scheduled") == ["d", "c", "b", "a"]
        assert await names(f"accountId={x}") == ["c", "a"]
        assert await names("platform=linkedin") == ["d", "c", "b"]
        assert await names("tag=tips") == ["c", "a"]
        assert await names("q=BREW") == ["c"]
        assert await names("q=.*") == []  # words, not patterns
        window = f"from={iso(soon(12))}&to={iso(soon(40))}"
        assert await names(window.replace("+", "%2B")) == ["b"]
        assert await names("sort=scheduledAt") == ["a", "b", "c"]

        seen: list[str] = []
        cursor = None
        while True:
            query = "limit=1&sort=-scheduledAt" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(f"/api/posts?{query}", headers=auth)).json()
            seen += [ids[p["id"]] for p in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == ["c", "b", "a"]
        first = (await client.get("/api/posts?limit=3", headers=auth)).json()
        rest = (
            await client.get(f"/api/posts?limit=3&cursor={first['nextCursor']}", headers=auth)
        ).json()
        assert [ids[p["id"]] for p in first["items"] + rest["items"]] == ["d", "c", "b", "a"]
        assert rest["nextCursor"] is None


async def test_scheduling_past_the_plans_monthly_allowance_is_402(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ObjectId(ana["organization"]["id"])
        x = await connect(app, str(org), "twitter")
        when = soon(1)
        account = ObjectId(x)
        await TenantRepository(app.state.runtime.db, Post).insert_many(
            org,
            [
                Post(
                    organization_id=org,
                    content=PostContent(text=f"Queued {i}"),
                    platforms=[PlatformTarget(social_account_id=account, platform="twitter")],
                    scheduling=Scheduling(status="scheduled", scheduled_at=when),
                )
                for i in range(30)  # the free plan's month
            ],
        )
        draft = (await client.post("/api/posts", json=post_body([x]), headers=auth)).json()
        refused = await client.post(
            f"/api/posts/{draft['id']}/schedule", json={"scheduledAt": iso(when)}, headers=auth
        )
        assert assert_error_shape(refused, 402)["code"] == "plan_limit"
        direct = await client.post(
            "/api/posts", json=post_body([x], scheduling={"scheduledAt": iso(when)}), headers=auth
        )
        assert_error_shape(direct, 402)
        stored = await stored_post(app, str(org), draft["id"])
        assert stored is not None
        assert stored.scheduling.status == "draft"


async def test_posts_the_agents_made_are_in_the_same_queue_with_their_ai_metadata(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        await client.post("/api/posts", json=post_body([x], text="By hand."), headers=auth)
        stored = await store_generated(
            app.state.runtime.db,
            ObjectId(org),
            GeneratedPost(
                platform="twitter",
                text="Cold brew season is here.",
                hashtags=["coffee"],
                title=None,
                brief="Announce the cold brew",
                scheduled_at=soon(5),
                timezone="UTC",
                model="scripted",
                iterations=1,
                feedback=None,
                thread_key="thread-1",
            ),
        )
        queue = (await client.get("/api/posts/scheduled", headers=auth)).json()["items"]
        assert [p["id"] for p in queue] == [str(stored.id)]
        made = (await client.get("/api/posts?aiGenerated=true", headers=auth)).json()["items"]
        assert [p["id"] for p in made] == [str(stored.id)]
        assert made[0]["aiGeneration"]["isAiGenerated"] is True
        assert made[0]["aiGeneration"]["agentId"] == "content_creator"
        assert made[0]["aiGeneration"]["threadId"] == "thread-1"
        assert made[0]["platforms"][0]["socialAccountId"] == x
        by_people = (await client.get("/api/posts?aiGenerated=false", headers=auth)).json()
        assert [p["content"]["text"] for p in by_people["items"]] == ["By hand."]
        # It is edited like any other post.
        edited = await client.put(
            f"/api/posts/{stored.id}",
            json={
                **post_body([x], text="Cold brew season starts today."),
                "scheduling": {"scheduledAt": iso(soon(6))},
                "version": 0,
            },
            headers=auth,
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["aiGeneration"]["isAiGenerated"] is True
