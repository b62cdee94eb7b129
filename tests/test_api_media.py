"""The media library: uploads sniffed by content and measured, thumbnails, alt text and
tags, deletion refused while a waiting post uses the file, per-network derivatives,
storage usage and the plan's allowance, tenancy and roles."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from PIL import Image
from support import make_settings
from workspace_support import connect, iso, post_body, soon

from services.billing import subscriptions


def png(width: int, height: int, color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def noisy_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG (noise compresses badly, so size limits bite)."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 80).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


async def _upload(client, auth, data: bytes, name: str = "photo.png", **form):  # type: ignore[no-untyped-def]
    return await client.post(
        "/api/media/upload",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=auth,
    )


async def test_an_image_is_sniffed_measured_thumbnailed_described_and_deleted(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        # The name says .txt; the bytes say PNG, and the bytes win.
        made = await _upload(
            client,
            auth,
            png(1200, 800),
            "../../etc/holiday.txt",
            altText="A cup",
            tags="cafe, latte",
        )
        assert made.status_code == 201, made.text
        item = made.json()
        assert item["contentType"] == "image/png"
        assert item["kind"] == "image"
        assert item["name"] == "holiday.png"
        assert item["dimensions"] == {"width": 1200, "height": 800}
        assert item["altText"] == "A cup"
        assert item["tags"] == ["cafe", "latte"]
        assert item["url"] == f"/api/media/{item['id']}/file"

        original = await client.get(item["url"], headers=auth)
        assert original.content == png(1200, 800)
        assert original.headers["content-type"] == "image/png"
        thumb = await client.get(item["thumbnailUrl"], headers=auth)
        assert Image.open(io.BytesIO(thumb.content)).size == (320, 213)

        changed = await client.put(
            f"/api/media/{item['id']}", json={"altText": "Two cups", "tags": ["cafe"]}, headers=auth
        )
        assert (changed.json()["altText"], changed.json()["tags"]) == ("Two cups", ["cafe"])
        cleared = await client.put(f"/api/media/{item['id']}", json={"altText": None}, headers=auth)
        assert cleared.json()["altText"] is None
        assert cleared.json()["tags"] == ["cafe"]

        listed = await client.get("/api/media?tag=cafe", headers=auth)
        assert [m["id"] for m in listed.json()["items"]] == [item["id"]]
        usage = (await client.get("/api/media/storage-usage", headers=auth)).json()
        assert usage["files"] == 1
        assert usage["byKind"] == {"image": item["size"]}
        assert usage["usedBytes"] > item["size"]  # the thumbnail counts too
        assert usage["allowedBytes"] == 1_000_000_000  # the free plan: 1 GB

        gone = await client.delete(f"/api/media/{item['id']}", headers=auth)
        assert gone.status_code == 204
        assert_error_shape(await client.get(item["url"], headers=auth), 404)
        after = (await client.get("/api/media/storage-usage", headers=auth)).json()
        assert (after["usedBytes"], after["files"]) == (0, 0)


async def test_what_is_not_an_image_or_video_is_refused_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        script = await _upload(client, auth, b"#!/bin/sh\nrm -rf /\n", "cat.png")
        assert assert_error_shape(script, 415)["code"] == "unsupported_media_type"
        pdf = await _upload(client, auth, b"%PDF-1.7\n" + b"0" * 100, "doc.jpg")
        assert_error_shape(pdf, 415)
        broken = await _upload(client, auth, png(50, 50)[:60], "broken.png")
        assert_error_shape(broken, 415)
        empty = await _upload(client, auth, b"", "empty.png")
        assert_error_shape(empty, 422)
        no_file = await client.post("/api/media/upload", data={"altText": "x"}, headers=auth)
        assert assert_error_shape(no_file, 422)["fields"][0]["field"] == "body.file"
        too_many = await _upload(
            client, auth, png(10, 10), tags=",".join(str(i) for i in range(31))
        )
        assert assert_error_shape(too_many, 422)["fields"][0]["field"] == "body.tags"
        assert (await client.get("/api/media", headers=auth)).json()["items"] == []
        usage = (await client.get("/api/media/storage-usage", headers=auth)).json()
        assert usage["usedBytes"] == 0


async def test_an_upload_over_100_mb_is_refused_before_it_is_stored(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        big = png(10, 10) + b"\0" * 100_000_001
        refused = await _upload(client, auth, big, "huge.png")
        assert_error_shape(refused, 413)
        usage = (await client.get("/api/media/storage-usage", headers=auth)).json()
        assert usage["usedBytes"] == 0


async def test_media_used_by_a_waiting_post_cannot_be_deleted(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        ig = await connect(app, ana["organization"]["id"], "instagram")
        mid = (await _upload(client, auth, png(1080, 1080))).json()["id"]
        body = post_body([ig], scheduling={"scheduledAt": iso(soon())})
        body["content"]["mediaFiles"] = [{"mediaId": mid}]
        post = await client.post("/api/posts", json=body, headers=auth)
        assert post.status_code == 201, post.text
        files = post.json()["content"]["mediaFiles"]
        assert files[0]["mediaId"] == mid
        assert files[0]["dimensions"] == {"width": 1080, "height": 1080}

        refused = await client.delete(f"/api/media/{mid}", headers=auth)
        error = assert_error_shape(refused, 409)
        assert error["code"] == "media_in_use"
        assert post.json()["id"] in error["message"]
        # Once the post no longer waits to go out, the file may go.
        await client.put(
            f"/api/posts/{post.json()['id']}",
            json={**post_body([ig]), "version": 0, "content": {**body["content"]}},
            headers=auth,
        )
        assert (await client.delete(f"/api/media/{mid}", headers=auth)).status_code == 204


async def test_optimize_makes_a_copy_within_each_networks_limits(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        # A tall, heavy photo: too tall for Instagram's 4:5, too heavy for Bluesky's 1 MB.
        mid = (await _upload(client, auth, noisy_jpeg(1500, 3000), "tall.jpg")).json()["id"]
        done = await client.post(
            f"/api/media/{mid}/optimize",
            json={"platforms": ["instagram", "bluesky"]},
            headers=auth,
        )
        assert done.status_code == 200, done.text
        made = {d["platform"]: d for d in done.json()["derivatives"]}
        insta = made["instagram"]
        assert insta["contentType"] == "image/jpeg"
        width, height = insta["dimensions"]["width"], insta["dimensions"]["height"]
        assert max(width, height) <= 1080
        assert 0.79 <= width / height <= 1.91
        assert made["bluesky"]["size"] <= 1_000_000
        copy = await client.get(insta["url"], headers=auth)
        assert Image.open(io.BytesIO(copy.content)).size == (width, height)

        again = await client.post(
            f"/api/media/{mid}/optimize", json={"platforms": ["instagram"]}, headers=auth
        )
        assert sorted(d["platform"] for d in again.json()["derivatives"]) == [
            "bluesky",
            "instagram",
        ]
        youtube = await client.post(
            f"/api/media/{mid}/optimize", json={"platforms": ["youtube"]}, headers=auth
        )
        assert assert_error_shape(youtube, 422)["fields"][0]["field"] == "body.platforms.0"
        bad = await client.post(
            f"/api/media/{mid}/optimize", json={"platforms": ["myspace"]}, headers=auth
        )
        assert_error_shape(bad, 422)


async def test_optimizing_a_video_without_ffmpeg_is_a_clear_501(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server whose PATH has no ffmpeg or ffprobe, as on a machine without the package.
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        # The first bytes of an ISO base media file (MP4): size, 'ftyp', brand 'isom'.
        mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
        made = await _upload(client, auth, mp4, "clip.bin")
        assert made.status_code == 201, made.text
        assert (made.json()["kind"], made.json()["contentType"]) == ("video", "video/mp4")
        assert made.json()["thumbnailUrl"] is None
        refused = await client.post(
            f"/api/media/{made.json()['id']}/optimize", json={"platforms": ["tiktok"]}, headers=auth
        )
        error = assert_error_shape(refused, 501)
        assert "ffmpeg" in error["message"]


async def test_the_plans_storage_allowance_is_enforced_before_storing(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ObjectId(ana["organization"]["id"])
        await subscriptions.assign(app.state.runtime.db, org, "free", "canceled")
        refused = await _upload(client, auth, png(100, 100))
        assert assert_error_shape(refused, 402)["code"] == "subscription_inactive"
        assert (await client.get("/api/media", headers=auth)).json()["items"] == []


async def test_media_belongs_to_its_organization_and_viewers_only_read(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        auth = bearer(ana["accessToken"])
        mid = (await _upload(client, auth, png(64, 64))).json()["id"]
        theirs = bearer(ben["accessToken"])
        for method, path, body in (
            ("GET", f"/api/media/{mid}", None),
            ("GET", f"/api/media/{mid}/file", None),
            ("PUT", f"/api/media/{mid}", {"altText": "mine now"}),
            ("DELETE", f"/api/media/{mid}", None),
            ("POST", f"/api/media/{mid}/optimize", {"platforms": ["twitter"]}),
        ):
            assert_error_shape(await client.request(method, path, json=body, headers=theirs), 404)
        assert (await client.get("/api/media", headers=theirs)).json()["items"] == []
        # Nor can a post of theirs use our file.
        bx = await connect(app, ben["organization"]["id"], "twitter")
        body = post_body([bx])
        body["content"]["mediaFiles"] = [{"mediaId": mid}]
        aimed = await client.post("/api/posts", json=body, headers=theirs)
        assert assert_error_shape(aimed, 422)["fields"][0]["field"] == (
            "body.content.mediaFiles.0.mediaId"
        )
        org = ana["organization"]["id"]
        viewer = bearer(await add_member(app, client, org, "v@example.com", "viewer"))
        assert_error_shape(await _upload(client, viewer, png(8, 8)), 403)
        assert_error_shape(await client.delete(f"/api/media/{mid}", headers=viewer), 403)
        assert (await client.get(f"/api/media/{mid}", headers=viewer)).status_code == 200


def _tiny_video(tmp_path: Path) -> bytes:
    """Two seconds of a test pattern, 640x360 H.264, made by ffmpeg itself."""
    out = tmp_path / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=10",
            "-t", "2", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(out),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return out.read_bytes()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed here")
async def test_a_video_is_measured_and_converted_with_ffmpeg(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        made = await _upload(client, auth, _tiny_video(tmp_path), "clip.bin")
        assert made.status_code == 201, made.text
        item = made.json()
        assert (item["kind"], item["contentType"], item["codec"]) == ("video", "video/mp4", "h264")
        assert item["dimensions"] == {"width": 640, "height": 360}
        assert 1.9 <= item["durationSeconds"] <= 2.1
        done = await client.post(
            f"/api/media/{item['id']}/optimize", json={"platforms": ["tiktok"]}, headers=auth
        )
        assert done.status_code == 200, done.text
        [copy] = done.json()["derivatives"]
        assert (copy["platform"], copy["contentType"]) == ("tiktok", "video/mp4")
        converted = await client.get(copy["url"], headers=auth)
        assert converted.content[4:8] == b"ftyp"
