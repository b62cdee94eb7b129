"""POST /api/ai/images/generate and /api/ai/videos/generate: generated media land in the
media library like uploads (same documents, storage and limits), composed from the brand
without a model, from OpenAI's Images API (a local server speaking its wire format) with
one, and as an ffmpeg slideshow; tenancy, roles, bad input and plan limits."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fake_model_apis import REFUSED_PROMPT, image_color
from fake_model_apis import serve as fake_model_api
from PIL import Image
from support import make_settings
from workspace_support import connect, post_body

from persistence.ids import utcnow
from persistence.models import Post
from persistence.models.content import PostContent
from persistence.repository import TenantRepository
from services.billing import subscriptions
from services.billing.usage import AI_USAGE, record_ai_usage
from services.media_generation import slideshow

TEAL, GOLD = "#0F766E", "#FBBF24"
IMAGES, VIDEOS = "/api/ai/images/generate", "/api/ai/videos/generate"


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


def _close(pixel: Any, color: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


async def _brand(app: Any, org_id: str, **settings: Any) -> None:
    await app.state.runtime.db["organizations"].update_one(
        {"_id": ObjectId(org_id)}, {"$set": {f"settings.{k}": v for k, v in settings.items()}}
    )


async def _post(app: Any, client: Any, auth: dict, org_id: str, platforms: list[str], **kw: Any):  # type: ignore[no-untyped-def]
    accounts = [await connect(app, org_id, p, username=f"brand-{p}") for p in platforms]
    made = await client.post("/api/posts", json=post_body(accounts, **kw), headers=auth)
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _library(client: Any, auth: dict) -> list[dict]:
    return (await client.get("/api/media", headers=auth)).json()["items"]


async def test_a_posts_images_are_composed_in_the_brand_per_network_shape(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
        logo = await client.post(
            "/api/media/upload",
            files={"file": ("logo.png", png(300, 150, (220, 20, 60)), "application/octet-stream")},
            headers=auth,
        )
        await _brand(
            app, org, brandColors=[TEAL, GOLD], brandLogoMediaId=ObjectId(logo.json()["id"])
        )
        post_id = await _post(
            app, client, auth, org, ["instagram", "twitter", "facebook"],
            text="Fresh cold brew is here. Come taste it this weekend! https://acme.example/cb",
        )  # fmt: skip
        made = await client.post(IMAGES, json={"postId": post_id}, headers=auth)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["generator"] == "composed"
        shapes = {i["aspect"]: i for i in body["items"]}
        assert set(shapes) == {"portrait", "landscape"}
        assert shapes["portrait"]["platforms"] == ["instagram", "facebook"]
        assert shapes["landscape"]["platforms"] == ["twitter"]
        portrait = shapes["portrait"]["media"]
        assert portrait["dimensions"] == {"width": 1080, "height": 1350}
        assert shapes["landscape"]["media"]["dimensions"] == {"width": 1600, "height": 900}
        assert portrait["contentType"] == "image/jpeg"
        assert portrait["altText"] == "Fresh cold brew is here."
        assert portrait["tags"] == ["generated", "portrait", "instagram", "facebook"]
        assert portrait["thumbnailUrl"]  # measured and thumbnailed as uploads are

        image = Image.open(io.BytesIO((await client.get(portrait["url"], headers=auth)).content))
        assert image.size == (1080, 1350)
        assert _close(image.getpixel((1070, 1340)), (15, 118, 110))  # the brand's teal
        margin = round(1080 * 0.08)
        assert _close(image.getpixel((margin + 10, margin + 10)), (220, 20, 60), 30)  # logo
        # Both in the library, beside the logo, and counted in its storage.
        assert len(await _library(client, auth)) == 3
        usage = (await client.get("/api/media/storage-usage", headers=auth)).json()
        assert usage["byKind"]["image"] >= portrait["size"] + shapes["landscape"]["media"]["size"]

        # The same post and brand make the same pixels again.
        again = await client.post(IMAGES, json={"postId": post_id}, headers=auth)
        first = (await client.get(portrait["url"], headers=auth)).content
        second_url = next(i for i in again.json()["items"] if i["aspect"] == "portrait")
        second = (await client.get(second_url["media"]["url"], headers=auth)).content
        assert first == second


async def test_a_text_is_shaped_for_the_networks_named_in_a_style(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        made = await client.post(
            IMAGES,
            json={"text": "Open late on Fridays.", "platforms": ["tiktok"], "style": "minimal"},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        (item,) = made.json()["items"]
        assert (item["aspect"], item["platforms"]) == ("vertical", ["tiktok"])
        assert item["media"]["dimensions"] == {"width": 1080, "height": 1920}
        image = Image.open(
            io.BytesIO((await client.get(item["media"]["url"], headers=auth)).content)
        )
        assert _close(image.getpixel((1000, 10)), (248, 250, 252), 4)  # minimal: on paper


@pytest.mark.parametrize("path", [IMAGES, VIDEOS])
async def test_bad_input_names_the_field_and_stores_nothing(tmp_path: Path, path: str) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
        bare = Post(organization_id=ObjectId(org), content=PostContent(text="Hi"))
        untargeted = str((await TenantRepository(app.state.runtime.db, Post).insert(bare)).id)
        cases: list[tuple[dict, str]] = [
            ({"platforms": ["twitter"]}, "body.postId"),  # neither post nor text
            ({"text": "Hi", "postId": untargeted, "platforms": ["twitter"]}, "body.postId"),
            ({"text": "Hi"}, "body.platforms"),  # a text names its networks
            ({"postId": untargeted}, "body.platforms"),  # a post without targets too
            ({"text": "   ", "platforms": ["twitter"]}, "body.text"),
            ({"text": "Hi", "platforms": ["myspace"]}, "body.platforms.0"),
            ({"text": "Hi", "platforms": ["twitter"], "style": "loud"}, "body.style"),
            ({"postId": "not-an-id", "platforms": ["twitter"]}, "body.postId"),
            ({"text": "Hi", "platforms": ["twitter"], "colour": "red"}, "body.colour"),
        ]
        if path == VIDEOS:
            cases.append(
                (
                    {"text": "Hi", "platforms": ["twitter"], "secondsPerSlide": 0},
                    "body.secondsPerSlide",
                )
            )
        for body, field in cases:
            refused = await client.post(path, json=body, headers=auth)
            error = assert_error_shape(refused, 422)
            assert field in {f["field"] for f in error["fields"]}, (body, error)
        assert await _library(client, auth) == []


@pytest.mark.parametrize("path", [IMAGES, VIDEOS])
async def test_another_organizations_post_is_not_found_and_viewers_may_not_generate(
    tmp_path: Path, path: str
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
        post_id = await _post(app, client, auth, org, ["twitter"])
        theirs = bearer(ben["accessToken"])
        assert_error_shape(await client.post(path, json={"postId": post_id}, headers=theirs), 404)
        assert await _library(client, theirs) == []
        viewer = bearer(await add_member(app, client, org, "v@example.com", "viewer"))
        refused = await client.post(path, json={"postId": post_id}, headers=viewer)
        assert_error_shape(refused, 403)
        assert await _library(client, auth) == []


@pytest.mark.parametrize("path", [IMAGES, VIDEOS])
async def test_a_lapsed_subscription_stores_nothing(tmp_path: Path, path: str) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
        await subscriptions.assign(app.state.runtime.db, ObjectId(org), "free", "canceled")
        refused = await client.post(
            path, json={"text": "Hello there.", "platforms": ["twitter"]}, headers=auth
        )
        assert assert_error_shape(refused, 402)["code"] == "subscription_inactive"
        assert await _library(client, auth) == []


def _model_settings(tmp_path: Path, base: str, model: str = "openai:gpt-image-1") -> Any:
    return make_settings(
        tmp_path / "data",
        image_model=model,
        openai_api_key="sk-test-images",
        openai_base_url=f"{base}/v1",
    )


async def test_with_an_image_model_openais_images_api_draws_them(tmp_path: Path) -> None:
    with fake_model_api() as (base, received):
        async with api_client(_model_settings(tmp_path, base)) as (app, client):
            ana = await register(client)
            auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
            logo = await client.post(
                "/api/media/upload",
                files={"file": ("l.png", png(200, 200, (20, 20, 200)), "application/octet-stream")},
                headers=auth,
            )
            await _brand(
                app,
                org,
                brandColors=[TEAL],
                brandVoice=["warm, never smug"],
                brandLogoMediaId=ObjectId(logo.json()["id"]),
            )
            post_id = await _post(app, client, auth, org, ["instagram", "linkedin"])
            made = await client.post(IMAGES, json={"postId": post_id}, headers=auth)
            assert made.status_code == 201, made.text
            assert made.json()["generator"] == "openai:gpt-image-1"
            calls = [r for r in received if r["path"] == "images"]
            assert len(calls) == 2
            assert calls[0]["auth"] == "Bearer sk-test-images"
            assert calls[0]["model"] == "gpt-image-1"
            assert {c["size"] for c in calls} == {"1024x1536", "1024x1024"}
            prompt = calls[0]["prompt"]
            assert "Fresh cold brew is here." in prompt
            assert "warm, never smug" in prompt
            assert TEAL in prompt
            items = {i["aspect"]: i["media"] for i in made.json()["items"]}
            # The model's 2:3 answer cropped to Instagram's 4:5, its square kept.
            assert items["portrait"]["dimensions"] == {"width": 1024, "height": 1280}
            assert items["square"]["dimensions"] == {"width": 1024, "height": 1024}
            data = (await client.get(items["portrait"]["url"], headers=auth)).content
            picture = Image.open(io.BytesIO(data))
            assert _close(picture.getpixel((500, 600)), image_color(prompt), 6)
            # The brand's logo stamped where composed graphics have it.
            margin = round(1024 * 0.08)
            assert _close(picture.getpixel((margin + 20, margin + 20)), (20, 20, 200), 30)
            # Each call's tokens are in the AI usage ledger the plan's credits read.
            rows = (
                await app.state.runtime.db[AI_USAGE]
                .find({"organizationId": ObjectId(org)})
                .to_list(None)
            )
            assert sum(r["tokens"] for r in rows) == 2 * 4210


async def test_a_refusing_or_exhausted_image_model_stores_nothing(tmp_path: Path) -> None:
    with fake_model_api() as (base, _received):
        async with api_client(_model_settings(tmp_path, base, "openai:dall-e-3")) as (app, client):
            ana = await register(client)
            auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
            refused = await client.post(
                IMAGES, json={"text": f"Hi {REFUSED_PROMPT}", "platforms": ["twitter"]},
                headers=auth,
            )  # fmt: skip
            error = assert_error_shape(refused, 502)
            assert error["code"] == "image_model_failed"
            assert "safety system" in error["message"]
            assert "sk-test" not in refused.text
            assert await _library(client, auth) == []
            # The month's credits spent: refused before the model is asked.
            await record_ai_usage(app.state.runtime.db, ObjectId(org), utcnow(), 100_000, None)
            spent = await client.post(
                IMAGES, json={"text": "Hi", "platforms": ["twitter"]}, headers=auth
            )
            assert assert_error_shape(spent, 402)["code"] == "plan_limit"
            assert await _library(client, auth) == []


needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg and ffprobe are not installed",
)


@needs_ffmpeg
async def test_a_slideshow_of_the_posts_images_and_text_per_network_shape(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth, org = bearer(ana["accessToken"]), ana["organization"]["id"]
        photo = await client.post(
            "/api/media/upload",
            files={"file": ("p.jpg", jpeg(640, 480, (30, 160, 60)), "application/octet-stream")},
            headers=auth,
        )
        accounts = [await connect(app, org, p) for p in ("instagram", "linkedin")]
        body = post_body(
            accounts, text="Cold brew is back. Every shop, every day. Bring a friend along."
        )
        body["content"]["mediaFiles"] = [{"mediaId": photo.json()["id"]}]
        created = await client.post("/api/posts", json=body, headers=auth)
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        made = await client.post(
            VIDEOS, json={"postId": post_id, "secondsPerSlide": 1}, headers=auth
        )
        assert made.status_code == 201, made.text
        assert made.json()["generator"] == "slideshow"
        items = {i["aspect"]: i for i in made.json()["items"]}
        assert items["vertical"]["platforms"] == ["instagram"]
        assert items["landscape"]["platforms"] == ["linkedin"]
        video = items["vertical"]["media"]
        assert (video["kind"], video["contentType"], video["codec"]) == (
            "video",
            "video/mp4",
            "h264",
        )
        assert video["dimensions"] == {"width": 720, "height": 1280}
        assert items["landscape"]["media"]["dimensions"] == {"width": 1280, "height": 720}
        # Headline, the photo, the rest of the text: three slides of a second.
        assert video["durationSeconds"] == pytest.approx(3, abs=0.2)
        kinds = sorted(i["kind"] for i in await _library(client, auth))
        assert kinds == ["image", "video", "video"]


async def test_without_ffmpeg_videos_answer_501_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slideshow.shutil, "which", lambda _name: None)
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        refused = await client.post(
            VIDEOS, json={"text": "Hi there.", "platforms": ["tiktok"]}, headers=auth
        )
        error = assert_error_shape(refused, 501)
        assert error["code"] == "ffmpeg_missing"
        assert "install" in error["message"]
        assert "ffmpeg" in error["message"]
        assert await _library(client, auth) == []


async def test_the_brand_is_set_through_the_organization_and_checked(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        auth = bearer(ana["accessToken"])
        logo = await client.post(
            "/api/media/upload",
            files={"file": ("l.png", png(200, 200, (20, 20, 200)), "application/octet-stream")},
            headers=auth,
        )
        theirs = await client.post(
            "/api/media/upload",
            files={"file": ("t.png", png(20, 20, (1, 2, 3)), "application/octet-stream")},
            headers=bearer(ben["accessToken"]),
        )
        for settings, field in (
            ({"brandColors": ["teal"]}, "body.settings.brandColors.0"),
            ({"brandColors": ["#000000"] * 6}, "body.settings.brandColors"),
            ({"brandLogoMediaId": "nope"}, "body.settings.brandLogoMediaId"),
            # Another organization's image is not ours to use.
            ({"brandLogoMediaId": theirs.json()["id"]}, "body.settings.brandLogoMediaId"),
        ):
            refused = await client.put(
                "/api/organizations", json={"settings": settings}, headers=auth
            )
            assert field in {f["field"] for f in assert_error_shape(refused, 422)["fields"]}
        changed = await client.put(
            "/api/organizations",
            json={
                "settings": {
                    "brandColors": ["#0f766e", GOLD, "#0F766E"],
                    "brandLogoMediaId": logo.json()["id"],
                }
            },
            headers=auth,
        )
        assert changed.status_code == 200, changed.text
        settings = changed.json()["settings"]
        assert settings["brandColors"] == [TEAL, GOLD]  # upper case, no repeats
        assert settings["brandLogoMediaId"] == logo.json()["id"]

        made = await client.post(
            IMAGES, json={"text": "Hello.", "platforms": ["linkedin"]}, headers=auth
        )
        url = made.json()["items"][0]["media"]["url"]
        image = Image.open(io.BytesIO((await client.get(url, headers=auth)).content))
        assert _close(image.getpixel((1070, 1070)), (15, 118, 110))
        margin = round(1080 * 0.08)
        assert _close(image.getpixel((margin + 20, margin + 20)), (20, 20, 200), 30)

        cleared = await client.put(
            "/api/organizations", json={"settings": {"brandLogoMediaId": None}}, headers=auth
        )
        assert cleared.json()["settings"]["brandLogoMediaId"] is None


async def test_a_failure_part_way_takes_back_what_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.workspace import media

    real_upload = media.upload
    calls = 0

    async def second_fails(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("the media store's disk is full")
        return await real_upload(*args, **kwargs)

    monkeypatch.setattr(media, "upload", second_fails)
    async with api_client(make_settings(tmp_path / "data")) as (_app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        failed = await client.post(
            IMAGES, json={"text": "Hi.", "platforms": ["instagram", "twitter"]}, headers=auth
        )
        assert failed.status_code == 500
        assert calls == 2
        assert await _library(client, auth) == []
        usage = (await client.get("/api/media/storage-usage", headers=auth)).json()
        assert usage["usedBytes"] == 0  # the first file and its thumbnail are gone too


async def test_an_image_model_is_configured_whole_or_refused(tmp_path: Path) -> None:
    from chorus.runtime import Runtime

    with pytest.raises(ValueError, match="CHORUS_OPENAI_API_KEY"):
        await Runtime.open(make_settings(tmp_path / "a", image_model="openai:gpt-image-1"))
    with pytest.raises(ValueError, match="openai:<model>"):
        await Runtime.open(
            make_settings(tmp_path / "b", image_model="midjourney:v6", openai_api_key="sk-x")
        )
    async with api_client(
        make_settings(tmp_path / "c", image_model="openai:dall-e-3", openai_api_key="sk-x")
    ) as (app, _client):
        assert app.state.runtime.forms["image_model"] == ("production", "openai:dall-e-3")
        assert "sk-x" not in repr(app.state.runtime)
