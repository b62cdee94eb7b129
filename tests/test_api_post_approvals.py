"""Approvals: a user submits, a manager approves or rejects with a comment; the inbox is the
pending_approval filter; comments carry their author and time."""

from __future__ import annotations

from pathlib import Path

from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from support import emitted, make_settings, notified
from workspace_support import connect, iso, post_body, soon, stored_post


async def test_a_users_post_goes_through_the_inbox_to_the_schedule(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        user = bearer(await add_member(app, client, org, "uma@example.com", "user"))
        manager = bearer(await add_member(app, client, org, "max@example.com", "manager"))
        proposed = soon(6)
        made = await client.post(
            "/api/posts",
            json=post_body([x], scheduling={"scheduledAt": iso(proposed)}),
            headers=user,
        )
        pid = made.json()["id"]
        submitted = await client.post(
            f"/api/posts/{pid}/submit", json={"note": "For the launch"}, headers=user
        )
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["scheduling"]["status"] == "pending_approval"
        assert submitted.json()["moderation"]["status"] == "pending"
        again = await client.post(f"/api/posts/{pid}/submit", headers=user)
        assert assert_error_shape(again, 409)["code"] == "not_a_draft"

        inbox = await client.get("/api/posts?status=pending_approval", headers=manager)
        assert [p["id"] for p in inbox.json()["items"]] == [pid]
        # The manager and the admin are told a post waits; its author is not.
        db = app.state.runtime.db
        [told] = await emitted(db, org, "post.approval_requested")
        assert told.data["postId"] == pid
        waiting = await notified(db, org, "approval_waiting")
        people = {str(n.user_id) for n in waiting}
        assert len(people) == 2
        assert ana["user"]["id"] in people

        # A user may not approve, even their own post.
        assert_error_shape(await client.post(f"/api/posts/{pid}/approve", headers=user), 403)
        approved = await client.post(
            f"/api/posts/{pid}/approve", json={"comment": "Looks good"}, headers=manager
        )
        assert approved.status_code == 200, approved.text
        body = approved.json()
        assert body["scheduling"]["status"] == "scheduled"
        assert body["moderation"]["status"] == "approved"
        assert body["moderation"]["moderatedBy"]
        stored = await stored_post(app, org, pid)
        assert stored is not None
        assert abs((stored.scheduling.scheduled_at - proposed).total_seconds()) < 0.01  # type: ignore[operator]
        assert (await client.get("/api/posts?status=pending_approval", headers=manager)).json()[
            "items"
        ] == []
        twice = await client.post(f"/api/posts/{pid}/approve", headers=manager)
        assert assert_error_shape(twice, 409)["code"] == "not_pending_approval"

        notes = await client.get(f"/api/posts/{pid}/comments", headers=user)
        assert [(c["kind"], c["text"]) for c in notes.json()] == [
            ("submission", "For the launch"),
            ("approval", "Looks good"),
        ]
        assert notes.json()[0]["authorEmail"] == "uma@example.com"
        assert notes.json()[1]["authorEmail"] == "max@example.com"
        assert notes.json()[0]["createdAt"]


async def test_a_rejected_post_returns_to_its_author_as_a_draft_with_the_reason(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        admin = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        user = bearer(await add_member(app, client, org, "uma@example.com", "user"))
        pid = (await client.post("/api/posts", json=post_body([x]), headers=user)).json()["id"]
        await client.post(f"/api/posts/{pid}/submit", headers=user)

        no_reason = await client.post(f"/api/posts/{pid}/reject", json={}, headers=admin)
        assert assert_error_shape(no_reason, 422)["fields"][0]["field"] == "body.comment"
        blank = await client.post(f"/api/posts/{pid}/reject", json={"comment": "  "}, headers=admin)
        assert assert_error_shape(blank, 422)["fields"][0]["field"] == "body.comment"
        refused = await client.post(
            f"/api/posts/{pid}/reject", json={"comment": "no"}, headers=user
        )
        assert_error_shape(refused, 403)

        rejected = await client.post(
            f"/api/posts/{pid}/reject", json={"comment": "Tone it down"}, headers=admin
        )
        assert rejected.status_code == 200
        assert rejected.json()["scheduling"]["status"] == "draft"
        assert rejected.json()["moderation"]["status"] == "rejected"
        assert rejected.json()["moderation"]["rejectionReason"] == "Tone it down"
        notes = (await client.get(f"/api/posts/{pid}/comments", headers=user)).json()
        assert [(n["kind"], n["text"]) for n in notes] == [("rejection", "Tone it down")]

        # Without a proposed time, approval leaves an approved draft to schedule later.
        await client.post(f"/api/posts/{pid}/submit", headers=user)
        approved = await client.post(f"/api/posts/{pid}/approve", headers=admin)
        assert approved.json()["scheduling"]["status"] == "draft"
        assert approved.json()["moderation"]["status"] == "approved"


async def test_submission_checks_the_post_as_it_will_go_out_and_approval_needs_a_future_time(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        admin = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        ig = await connect(app, org, "instagram")
        x = await connect(app, org, "twitter")
        pid = (await client.post("/api/posts", json=post_body([ig]), headers=admin)).json()["id"]
        refused = await client.post(f"/api/posts/{pid}/submit", headers=admin)
        assert (
            "instagram: media_required" in assert_error_shape(refused, 422)["fields"][0]["message"]
        )
        assert (await stored_post(app, org, pid)).scheduling.status == "draft"  # type: ignore[union-attr]

        other = (await client.post("/api/posts", json=post_body([x]), headers=admin)).json()["id"]
        await client.post(f"/api/posts/{other}/submit", headers=admin)
        past = await client.post(
            f"/api/posts/{other}/approve",
            json={"scheduledAt": "2020-01-01T00:00:00Z"},
            headers=admin,
        )
        assert assert_error_shape(past, 422)["fields"][0]["field"] == "body.scheduledAt"
        later = soon(10)
        ok = await client.post(
            f"/api/posts/{other}/approve", json={"scheduledAt": iso(later)}, headers=admin
        )
        assert ok.json()["scheduling"]["status"] == "scheduled"


async def test_comments_and_approvals_belong_to_their_organization(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        auth = bearer(ana["accessToken"])
        x = await connect(app, ana["organization"]["id"], "twitter")
        pid = (await client.post("/api/posts", json=post_body([x]), headers=auth)).json()["id"]
        note = await client.post(f"/api/posts/{pid}/comments", json={"text": "Hi"}, headers=auth)
        assert note.status_code == 201
        assert note.json()["kind"] == "note"
        theirs = bearer(ben["accessToken"])
        for method, path, body in (
            ("GET", f"/api/posts/{pid}/comments", None),
            ("POST", f"/api/posts/{pid}/comments", {"text": "Hello"}),
            ("POST", f"/api/posts/{pid}/submit", None),
            ("POST", f"/api/posts/{pid}/approve", None),
            ("POST", f"/api/posts/{pid}/reject", {"comment": "no"}),
        ):
            assert_error_shape(await client.request(method, path, json=body, headers=theirs), 404)
        empty = await client.post(f"/api/posts/{pid}/comments", json={"text": ""}, headers=auth)
        assert assert_error_shape(empty, 422)["fields"][0]["field"] == "body.text"
        viewer = bearer(
            await add_member(app, client, ana["organization"]["id"], "v@example.com", "viewer")
        )
        assert_error_shape(
            await client.post(f"/api/posts/{pid}/comments", json={"text": "x"}, headers=viewer), 403
        )
        assert len((await client.get(f"/api/posts/{pid}/comments", headers=viewer)).json()) == 1


async def _workflow_waiting(app, client, auth, org: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """A content_creation run paused at its approval; its thread and the inbox post."""
    workflow = await client.post(
        "/api/ai/workflows",
        json={
            "name": "Cold brew post",
            "graph": "content_creation",
            "input": {"brief": "Announce the cold brew", "platform": "twitter"},
        },
        headers=auth,
    )
    run = await client.post(f"/api/ai/workflows/{workflow.json()['id']}/execute", headers=auth)
    assert run.json()["status"] == "interrupted", run.text
    inbox = (await client.get("/api/posts?status=pending_approval", headers=auth)).json()
    [post] = inbox["items"]
    return run.json()["threadId"], post


async def _thread_values(app, org: str, thread: str) -> tuple[tuple, dict]:  # type: ignore[no-untyped-def]
    engine = app.state.runtime.engine
    state = await engine.state(
        engine.context(ObjectId(org), graph="content_creation", thread_id=thread)
    )
    return state.next, state.values


async def test_the_workflows_approval_and_the_inbox_are_one_queue(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        thread, post = await _workflow_waiting(app, client, auth, org)
        assert post["aiGeneration"]["isAiGenerated"] is True
        assert post["aiGeneration"]["threadId"] == f"{org}:{thread}"
        assert post["platforms"][0]["socialAccountId"] == x
        assert post["scheduling"]["scheduledAt"]  # the workflow's first proposed slot

        # Approved in the inbox: the post is scheduled and the workflow's thread completes.
        approved = await client.post(f"/api/posts/{post['id']}/approve", headers=auth)
        assert approved.status_code == 200, approved.text
        assert approved.json()["scheduling"]["status"] == "scheduled"
        waiting, values = await _thread_values(app, org, thread)
        assert waiting == ()
        assert values["postId"] == post["id"]
        assert values["status"] == "scheduled"
        listed = (await client.get("/api/posts?aiGenerated=true", headers=auth)).json()["items"]
        assert [p["id"] for p in listed] == [post["id"]]  # one post, not two

        # Rejected in the inbox: back to draft with the reason, and the thread ends rejected.
        thread2, second = await _workflow_waiting(app, client, auth, org)
        rejected = await client.post(
            f"/api/posts/{second['id']}/reject", json={"comment": "Off brand"}, headers=auth
        )
        assert rejected.json()["moderation"]["rejectionReason"] == "Off brand"
        waiting, values = await _thread_values(app, org, thread2)
        assert (waiting, values["status"]) == ((), "rejected")

        # Answered in the workflow itself: the inbox post is decided the same way.
        thread3, third = await _workflow_waiting(app, client, auth, org)
        engine = app.state.runtime.engine
        ctx = engine.context(ObjectId(org), graph="content_creation", thread_id=thread3)
        await engine.run(ctx, resume={"action": "approve"})
        decided = (await client.get(f"/api/posts/{third['id']}", headers=auth)).json()
        assert decided["scheduling"]["status"] == "scheduled"
        assert decided["moderation"]["status"] == "approved"
        assert (await client.get("/api/posts?status=pending_approval", headers=auth)).json()[
            "items"
        ] == []

        # Rejected in the workflow: the waiting post is removed (a rejected run stores nothing).
        thread4, fourth = await _workflow_waiting(app, client, auth, org)
        ctx = engine.context(ObjectId(org), graph="content_creation", thread_id=thread4)
        await engine.run(ctx, resume={"action": "reject"})
        assert_error_shape(await client.get(f"/api/posts/{fourth['id']}", headers=auth), 404)


async def test_a_draft_the_workflow_submits_tells_the_managers_like_one_submitted_by_hand(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        org = ana["organization"]["id"]
        await connect(app, org, "twitter")
        user = bearer(await add_member(app, client, org, "uma@example.com", "user"))
        await add_member(app, client, org, "max@example.com", "manager")
        thread, post = await _workflow_waiting(app, client, user, org)

        # As with POST /api/posts/{id}/submit: the event, and the admin and the manager told
        # (the user whose run made the draft is not a reviewer).
        db = app.state.runtime.db
        [told] = await emitted(db, org, "post.approval_requested")
        assert told.data["postId"] == post["id"]
        assert told.data["platforms"] == ["twitter"]
        assert told.data["text"] == post["content"]["text"]
        assert told.actor.kind == "user"
        waiting = await notified(db, org, "approval_waiting")
        manager = await _user_id(db, org, "max@example.com")
        assert {str(n.user_id) for n in waiting} == {ana["user"]["id"], manager}

        # A revision is a new draft waiting: told again, for the same post.
        engine = app.state.runtime.engine
        ctx = engine.context(ObjectId(org), graph="content_creation", thread_id=thread)
        await engine.run(ctx, resume={"action": "revise", "feedback": "Shorter."})
        assert [e.data["postId"] for e in await emitted(db, org, "post.approval_requested")] == [
            post["id"],
            post["id"],
        ]
        # Approved: nothing more waits, nothing more is told.
        await engine.run(ctx, resume={"action": "approve"})
        assert len(await emitted(db, org, "post.approval_requested")) == 2


async def test_the_submit_step_run_again_tells_no_one_twice(tmp_path: Path) -> None:
    from persistence.models import Post
    from persistence.repository import TenantRepository
    from services import posts

    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        org = ObjectId(ana["organization"]["id"])
        await connect(app, str(org), "twitter")
        runtime = app.state.runtime
        draft = posts.GeneratedPost(
            platform="twitter",
            text="Cold brew is back",
            hashtags=[],
            title=None,
            brief="Announce the cold brew",
            scheduled_at=None,
            timezone="UTC",
            model=None,
            iterations=1,
            feedback=None,
            thread_key=f"{org}:t1",
        )
        first = await posts.store_pending(runtime.db, org, draft, events=runtime.events)
        # The step re-run on resume or retry: the same post, no second event.
        again = await posts.store_pending(runtime.db, org, draft, events=runtime.events)
        assert again.id == first.id
        assert len(await emitted(runtime.db, org, "post.approval_requested")) == 1
        # A system run (a cron, no person): told to the admin, as from the system.
        [told] = await emitted(runtime.db, org, "post.approval_requested")
        assert (told.actor.kind, told.actor.id) == ("system", None)
        assert len(await notified(runtime.db, org, "approval_waiting")) == 1

        # Decided in the inbox meanwhile: a later revision changes and tells nothing.
        await TenantRepository(runtime.db, Post).collection.update_one(
            {"_id": first.id}, {"$set": {"scheduling.status": "scheduled"}}
        )
        revised = posts.GeneratedPost(**{**draft.__dict__, "iterations": 2, "text": "New"})
        kept = await posts.store_pending(runtime.db, org, revised, events=runtime.events)
        assert kept.content.text == "Cold brew is back"
        assert len(await emitted(runtime.db, org, "post.approval_requested")) == 1


async def _user_id(db, org: str, email: str) -> str:  # type: ignore[no-untyped-def]
    from persistence.models import User
    from persistence.repository import TenantRepository

    user = await TenantRepository(db, User).find_one(ObjectId(org), {"email": email})
    assert user is not None
    return str(user.id)
