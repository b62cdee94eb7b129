"""Content templates: CRUD, placeholders read from the structure, use with variables and
defaults, a missing variable named, the result checked like a post, tenancy and roles."""

from __future__ import annotations

from pathlib import Path

from api_support import add_member, api_client, assert_error_shape, bearer, register
from support import make_settings
from workspace_support import connect

PROMO = {
    "name": "Product launch",
    "description": "Announce a product",
    "category": "promotional",
    "template": {
        "structure": "Meet {{product}}: {{benefit}}. Available from {{ date }}.",
        "defaultValues": {"date": "today"},
    },
    "tags": ["launch"],
}


async def test_templates_are_created_listed_changed_used_and_deleted(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        made = await client.post("/api/content/templates", json=PROMO, headers=auth)
        assert made.status_code == 201, made.text
        template = made.json()
        assert template["template"]["placeholders"] == [
            {"name": "product", "required": True},
            {"name": "benefit", "required": True},
            {"name": "date", "required": False},
        ]
        tid = template["id"]
        listed = await client.get("/api/content/templates?q=launch", headers=auth)
        assert [t["id"] for t in listed.json()["items"]] == [tid]
        assert (await client.get("/api/content/templates?q=nothing", headers=auth)).json()[
            "items"
        ] == []

        used = await client.post(
            f"/api/content/templates/{tid}/use",
            json={
                "variables": {"product": "Cold Brew", "benefit": "smooth and strong"},
                "platforms": [{"socialAccountId": x}],
            },
            headers=auth,
        )
        assert used.status_code == 200, used.text
        assert used.json() == {
            "text": "Meet Cold Brew: smooth and strong. Available from today.",
            "post": None,
        }
        assert (await client.get("/api/posts", headers=auth)).json()["items"] == []

        saved = await client.post(
            f"/api/content/templates/{tid}/use",
            json={
                "variables": {"product": "Oat Latte", "benefit": "creamy", "date": "Monday"},
                "platforms": [{"socialAccountId": x}],
                "content": {"text": "", "hashtags": ["coffee"]},
                "save": True,
            },
            headers=auth,
        )
        post = saved.json()["post"]
        assert post["content"]["text"] == "Meet Oat Latte: creamy. Available from Monday."
        assert post["content"]["hashtags"] == ["coffee"]
        assert post["scheduling"]["status"] == "draft"
        again = await client.get(f"/api/content/templates/{tid}", headers=auth)
        assert again.json()["usage"]["timesUsed"] == 2
        assert again.json()["usage"]["lastUsed"]

        changed = await client.put(
            f"/api/content/templates/{tid}",
            json={**PROMO, "template": {"structure": "Hello {{name}}"}},
            headers=auth,
        )
        assert changed.json()["template"]["placeholders"] == [{"name": "name", "required": True}]
        gone = await client.delete(f"/api/content/templates/{tid}", headers=auth)
        assert gone.status_code == 204
        assert_error_shape(await client.get(f"/api/content/templates/{tid}", headers=auth), 404)


async def test_a_missing_variable_or_an_invalid_result_is_a_422_naming_it(tmp_path: Path) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        auth = bearer(ana["accessToken"])
        org = ana["organization"]["id"]
        x = await connect(app, org, "twitter")
        tid = (await client.post("/api/content/templates", json=PROMO, headers=auth)).json()["id"]
        missing = await client.post(
            f"/api/content/templates/{tid}/use",
            json={"variables": {"product": "Tea"}, "platforms": [{"socialAccountId": x}]},
            headers=auth,
        )
        error = assert_error_shape(missing, 422)
        assert error["code"] == "missing_variable"
        assert [f["field"] for f in error["fields"]] == ["body.variables.benefit"]

        too_long = await client.post(
            f"/api/content/templates/{tid}/use",
            json={
                "variables": {"product": "Tea", "benefit": "calm " * 80},
                "platforms": [{"socialAccountId": x}],
                "save": True,
            },
            headers=auth,
        )
        error = assert_error_shape(too_long, 422)
        assert error["fields"][0]["message"].startswith("twitter: too_long")
        assert (await client.get("/api/posts", headers=auth)).json()["items"] == []

        for body, field in (
            ({**PROMO, "template": {"structure": "Hi {{first name}}"}}, "body.template.structure"),
            (
                {**PROMO, "template": {"structure": "Hi", "defaultValues": {"x": "1"}}},
                "body.template.defaultValues.x",
            ),
            ({**PROMO, "name": ""}, "body.name"),
            ({**PROMO, "category": "spam"}, "body.category"),
        ):
            refused = await client.post("/api/content/templates", json=body, headers=auth)
            assert assert_error_shape(refused, 422)["fields"][0]["field"] == field
        listed = await client.get("/api/content/templates", headers=auth)
        assert len(listed.json()["items"]) == 1


async def test_templates_belong_to_their_organization_and_viewers_only_read(
    tmp_path: Path,
) -> None:
    async with api_client(make_settings(tmp_path / "data")) as (app, client):
        ana = await register(client)
        ben = await register(client, email="ben@example.com", org="Ben Tea")
        auth = bearer(ana["accessToken"])
        tid = (await client.post("/api/content/templates", json=PROMO, headers=auth)).json()["id"]
        theirs = bearer(ben["accessToken"])
        bx = await connect(app, ben["organization"]["id"], "twitter")
        for method, path, body in (
            ("GET", f"/api/content/templates/{tid}", None),
            ("PUT", f"/api/content/templates/{tid}", PROMO),
            ("DELETE", f"/api/content/templates/{tid}", None),
            (
                "POST",
                f"/api/content/templates/{tid}/use",
                {
                    "variables": {"product": "a", "benefit": "b"},
                    "platforms": [{"socialAccountId": bx}],
                },
            ),
        ):
            assert_error_shape(await client.request(method, path, json=body, headers=theirs), 404)
        assert (await client.get("/api/content/templates", headers=theirs)).json()["items"] == []
        viewer = bearer(
            await add_member(app, client, ana["organization"]["id"], "v@example.com", "viewer")
        )
        assert_error_shape(
            await client.post("/api/content/templates", json=PROMO, headers=viewer), 403
        )
        assert_error_shape(
            await client.delete(f"/api/content/templates/{tid}", headers=viewer), 403
        )
        assert (
            await client.get(f"/api/content/templates/{tid}", headers=viewer)
        ).status_code == 200
