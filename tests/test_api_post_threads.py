"""Threads and first comments on posts through the API: stored, overridden per target, checked
on every save against each network's capabilities and rules, previewed part by part; roles,
tenancy and bad input."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from PIL import Image
from support import make_settings
from workspace_support import connect, iso, post_body, soon, stored_post

THREAD = [{"text": "2/ We roast every Tuesday."}, {"text": "3/ Come taste it."}]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (90, 60, 30)).save(out, "PNG")
    return out.getvalue()


async def upload(client: Any, auth: dict[str, str]) -> str:
    made = await client.post(
        "/api/media/upload",
        files={"file": ("beans.png", png(), "application/octet-stream")},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def threaded(account_ids: list[str], **content: Any) -> dict[str, Any]:
    body = post_body(account_ids, text="1/ Our new roast is here.", hashtags=[])
    body["content"].update(content)
    return body


async def test_a_thread_and_a_first_comment_are_stored_overridden_per_target_and_previewed(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        bsky = await connect(app, org, "bluesky")
        fb = await connect(app, org, "facebook")
        photo = await upload(client, auth)

        with_photo = {**THREAD[1], "mediaFiles": [{"mediaId": photo}]}
        body = threaded(
            [x, bsky, fb],
            thread=[THREAD[0], with_photo],
            firstComment="Shop: example.com/roast",
        )
        body["platforms"][1].update(
            {"thread": [{"text": "2/ Bluesky gets one part."}], "firstComment": ""}
        )
        body["platforms"][2]["thread"] = []  # Facebook has no threads: the comment only
        created = await client.post("/api/posts", json=body, headers=auth)
        assert created.status_code == 201, created.text
        post = created.json()
        assert [p["text"] for p in post["content"]["thread"]] == [t["text"] for t in THREAD]
        assert post["content"]["thread"][1]["mediaFiles"][0]["mediaId"] == photo
        assert post["content"]["firstComment"] == "Shop: example.com/roast"
        on_x, on_bsky, on_fb = post["platforms"]
        assert on_x["thread"] is None  # inherits the post's
        assert on_x["firstComment"] is None
        assert [p["text"] for p in on_bsky["thread"]] == ["2/ Bluesky gets one part."]
        assert on_bsky["firstComment"] == ""
        assert on_fb["thread"] == []
        assert on_x["threadPostIds"] == []
        assert on_x["firstCommentId"] is None

        preview = await client.get(f"/api/posts/{post['id']}/preview", headers=auth)
        assert preview.status_code == 200, preview.text
        px, pbsky, pfb = preview.json()["targets"]
        assert [(p["kind"], p["position"], p["text"]) for p in px["thread"]] == [
            ("thread_part", 1, THREAD[0]["text"]),
            ("thread_part", 2, THREAD[1]["text"]),
        ]
        assert px["thread"][1]["media"][0]["mediaId"] == photo
        assert px["thread"][0]["maxLength"] == 280
        assert px["thread"][0]["length"] == len(THREAD[0]["text"])
        assert px["firstComment"]["kind"] == "first_comment"
        assert px["firstComment"]["position"] == 3
        assert px["firstComment"]["length"] == 23 + len("Shop: ")  # X counts a link as 23
        assert px["valid"] is True
        assert [p["text"] for p in pbsky["thread"]] == ["2/ Bluesky gets one part."]
        assert pbsky["firstComment"] is None
        assert pfb["thread"] == []
        assert pfb["firstComment"]["text"] == "Shop: example.com/roast"
        assert pfb["unsupported"] == []

        # Edits replace the thread; a copy and a reschedule keep every target's own.
        edited = await client.put(
            f"/api/posts/{post['id']}",
            json={**body, "content": {**body["content"], "thread": [with_photo]}, "version": 0},
            headers=auth,
        )
        assert edited.status_code == 200, edited.text
        assert [p["text"] for p in edited.json()["content"]["thread"]] == [THREAD[1]["text"]]
        copy = await client.post(f"/api/posts/{post['id']}/duplicate", headers=auth)
        assert copy.json()["platforms"][1]["firstComment"] == ""
        assert copy.json()["platforms"][2]["thread"] == []
        scheduled = await client.post(
            f"/api/posts/{post['id']}/schedule", json={"scheduledAt": iso(soon())}, headers=auth
        )
        assert scheduled.status_code == 200, scheduled.text
        stored = await stored_post(app, org, post["id"])
        assert stored is not None
        assert stored.platforms[1].thread is not None
        assert [p.text for p in stored.platforms[1].thread] == ["2/ Bluesky gets one part."]
        assert stored.platforms[2].thread == []
        assert stored.content.first_comment == "Shop: example.com/roast"

        # A photo used by a thread part waiting to go out cannot be deleted.
        in_use = await client.delete(f"/api/media/{photo}", headers=auth)
        assert assert_error_shape(in_use, 409)["code"] == "media_in_use"


async def test_a_thread_or_comment_the_network_cannot_take_is_a_422_naming_network_part_and_rule(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")
        tiktok = await connect(app, org, "tiktok")

        def refused(response: Any) -> dict[str, Any]:
            error = assert_error_shape(response, 422)
            assert error["code"] == "platform_rules"
            return error

        # LinkedIn has no threads.
        error = refused(
            await client.post("/api/posts", json=threaded([li], thread=THREAD), headers=auth)
        )
        assert "linkedin" in error["message"]
        assert "thread_unsupported" in error["message"]
        assert error["fields"][0]["field"] == "body.content.thread"
        assert error["fields"][0]["message"].startswith("linkedin: thread_unsupported: ")

        # A part over X's 280: the network, the part and the rule.
        long_part = [THREAD[0], {"text": "word " * 70}]
        error = refused(
            await client.post("/api/posts", json=threaded([x], thread=long_part), headers=auth)
        )
        assert error["message"] == "the post breaks twitter's rule too_long in its thread part 2"
        assert error["fields"][0]["field"] == "body.content.thread.1.text"
        assert error["fields"][0]["message"].startswith("twitter: thread part 2: too_long: ")

        # A target's own thread is checked where it is written.
        own = threaded([x])
        own["platforms"][0]["thread"] = [{"text": ""}]
        error = refused(await client.post("/api/posts", json=own, headers=auth))
        assert error["fields"][0]["field"] == "body.platforms.0.thread.0.text"
        assert "empty_text" in error["fields"][0]["message"]

        # TikTok's API has no comments; LinkedIn caps a comment at 1,250 characters.
        error = refused(
            await client.post(
                "/api/posts", json=threaded([tiktok], firstComment="Link in bio"), headers=auth
            )
        )
        assert error["fields"][0]["field"] == "body.content.firstComment"
        assert "tiktok: first_comment_unsupported" in error["fields"][0]["message"]
        own = threaded([li])
        own["platforms"][0]["firstComment"] = "a" * 1251
        error = refused(await client.post("/api/posts", json=own, headers=auth))
        assert error["fields"][0]["field"] == "body.platforms.0.firstComment"
        assert error["fields"][0]["message"].startswith("linkedin: first comment: too_long: ")
        assert "1250" in error["fields"][0]["message"]

        # A part's media follow the network's rules for one post: X takes four images.
        photo = await upload(client, auth)
        crowded = [{"text": "2/ Five photos", "mediaFiles": [{"mediaId": photo}] * 5}]
        error = refused(
            await client.post("/api/posts", json=threaded([x], thread=crowded), headers=auth)
        )
        assert error["fields"][0]["field"] == "body.content.thread.0.mediaFiles"
        assert error["fields"][0]["message"].startswith("twitter: thread part 1: too_many_media")

        # The organization's banned terms hold in every part.
        await client.put(
            "/api/organizations", json={"settings": {"bannedTerms": ["cheap"]}}, headers=auth
        )
        error = refused(
            await client.post(
                "/api/posts",
                json=threaded([x], thread=[{"text": "Cheap beans!"}], firstComment="cheap too"),
                headers=auth,
            )
        )
        assert [f["field"] for f in error["fields"]] == [
            "body.content.thread.0.text",
            "body.content.firstComment",
        ]

        # Turning them off for the target that cannot take them makes the post valid.
        fine = threaded([x, li, tiktok], thread=THREAD, firstComment="More soon")
        fine["platforms"][1]["thread"] = []
        fine["platforms"][2].update({"thread": [], "firstComment": ""})
        created = await client.post("/api/posts", json=fine, headers=auth)
        assert created.status_code == 201, created.text
        listed = await client.get("/api/posts", headers=auth)
        assert [p["id"] for p in listed.json()["items"]] == [created.json()["id"]]

        # An edit that breaks a rule changes nothing.
        broken = {**fine, "version": 0}
        broken["platforms"] = [{"socialAccountId": li}]
        error = refused(
            await client.put(f"/api/posts/{created.json()['id']}", json=broken, headers=auth)
        )
        assert error["fields"][0]["field"] == "body.content.thread"
        stored = await stored_post(app, org, created.json()["id"])
        assert stored is not None
        assert stored.version == 0
        assert len(stored.platforms) == 3


async def test_bad_thread_input_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        theirs = await upload(client, bearer(ben["accessToken"]))
        cases = [
            (threaded([x], thread=[{"text": "hi", "mediaFiles": [{"mediaId": theirs}]}]),
             "body.content.thread.0.mediaFiles.0.mediaId"),
            (threaded([x], thread=[{"text": "hi", "extra": 1}]), "body.content.thread.0.extra"),
            (threaded([x], thread=[{"text": f"{i}/"} for i in range(51)]), "body.content.thread"),
            (threaded([x], thread="not a list"), "body.content.thread"),
            (threaded([x], firstComment=7), "body.content.firstComment"),
        ]  # fmt: skip
        for body, field in cases:
            error = assert_error_shape(
                await client.post("/api/posts", json=body, headers=auth), 422
            )
            assert field in [f["field"] for f in error["fields"]], (field, error)
        assert (await client.get("/api/posts", headers=auth)).json()["items"] == []


async def test_thread_posts_belong_to_their_organization_and_roles_still_decide(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        body = threaded([x], thread=THREAD, firstComment="More soon")
        viewer = bearer(await add_member(app, client, org, "vic@example.com", "viewer"))
        user = bearer(await add_member(app, client, org, "uma@example.com", "user"))

        assert_error_shape(await client.post("/api/posts", json=body, headers=viewer), 403)
        mine = await client.post(
            "/api/posts", json={**body, "scheduling": {"scheduledAt": iso(soon())}}, headers=user
        )
        assert mine.status_code == 201, mine.text
        assert mine.json()["scheduling"]["status"] == "draft"  # a user proposes, never schedules
        pid = mine.json()["id"]
        assert (await client.get(f"/api/posts/{pid}/preview", headers=viewer)).status_code == 200

        theirs = bearer(ben["accessToken"])
        for method, path, payload in (
            ("GET", f"/api/posts/{pid}", None),
            ("GET", f"/api/posts/{pid}/preview", None),
            ("PUT", f"/api/posts/{pid}", {**body, "version": 0}),
        ):
            response = await client.request(method, path, json=payload, headers=theirs)
            assert_error_shape(response, 404)
        other = str(ObjectId())
        assert_error_shape(
            await client.get(f"/api/posts/{other}/preview", headers=bearer(ana["accessToken"])),
            404,
        )


async def test_bulk_schedule_takes_threads_and_first_comments_line_by_line(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        li = await connect(app, org, "linkedin")
        year = soon(24 * 400).year
        csv_text = (
            "text,scheduledAt,accounts,thread,firstComment\n"
            f'1/ Roast day,{year}-05-04T09:00:00Z,{x},"2/ Beans in\n---\n3/ Beans out",Ask us\n'
            f'1/ On LinkedIn,{year}-05-05T09:00:00Z,{li},"2/ LinkedIn has no threads",\n'
            f'Long part,{year}-05-06T09:00:00Z,{x},"{"word " * 70}",\n'
        )
        response = await client.post(
            "/api/posts/bulk-schedule",
            content=csv_text.encode(),
            headers={**auth, "Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        # A record is numbered by the line it ends on (the first one spans lines 2-4).
        assert [c["line"] for c in report["created"]] == [4]
        errors = {(e["line"], e["field"]): e["message"] for e in report["errors"]}
        assert errors[(5, "thread")].startswith("linkedin: thread_unsupported")
        assert errors[(6, "thread.0.text")].startswith("twitter: thread part 1: too_long")
        stored = await stored_post(app, org, report["created"][0]["postId"])
        assert stored is not None
        assert [p.text for p in stored.content.thread] == ["2/ Beans in", "3/ Beans out"]
        assert stored.content.first_comment == "Ask us"

        jsonl = (
            f'{{"text": "1/ JSON", "scheduledAt": "{year}-05-07T09:00:00Z", "accounts": ["{x}"], '
            '"thread": ["2/ as a list"], "firstComment": "Comment"}\n'
        )
        files = {"file": ("posts.jsonl", jsonl.encode(), "application/x-ndjson")}
        second = await client.post("/api/posts/bulk-schedule", files=files, headers=auth)
        assert second.status_code == 200, second.text
        [created] = second.json()["created"]
        stored = await stored_post(app, org, created["postId"])
        assert stored is not None
        assert [p.text for p in stored.content.thread] == ["2/ as a list"]
