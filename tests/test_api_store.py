"""/lg/store: the LangGraph SDK's store client on an organization's long-term memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from fake_model_apis import serve_app
from langgraph_sdk import get_client
from support import make_settings

from chorus.app import create_app
from chorus.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(make_settings(tmp_path_factory.mktemp("store") / "data"))
    with serve_app(app) as base:
        yield base


def _client(base: str, email: str, org: str) -> Any:
    body = {"email": email, "password": PASSWORD, "organizationName": org}
    reg = httpx.post(f"{base}/api/auth/register", json=body, timeout=30)
    assert reg.status_code == 201, reg.text
    headers = {"Authorization": f"Bearer {reg.json()['accessToken']}"}
    key = httpx.post(f"{base}/api/api-keys", json={"name": "sdk"}, headers=headers, timeout=30)
    assert key.status_code == 201, key.text
    return get_client(url=f"{base}/lg", api_key=key.json()["key"], timeout=120)


async def test_items_are_put_got_searched_listed_and_deleted_in_memory(server: str) -> None:
    client = _client(server, "store@example.com", "Store Coffee")
    voice = ["brand_voice"]
    await client.store.put_item(
        voice, "warm-1", {"text": "We write warmly and never use jargon.", "source": "guide"}
    )
    await client.store.put_item(voice, "oat-1", {"text": "Oat milk is free on Mondays."})
    await client.store.put_item(["crisis_patterns"], "c-1", {"text": "A burnt smell complaint."})

    item = await client.store.get_item(voice, "warm-1")
    assert item["namespace"] == voice
    assert item["key"] == "warm-1"
    assert item["value"] == {"text": "We write warmly and never use jargon.", "source": "guide"}
    assert item["created_at"]

    found = await client.store.search_items(voice, query="how do we sound, tone of writing")
    assert found["items"][0]["key"] == "warm-1"
    assert found["items"][0]["score"] > found["items"][1]["score"]
    filtered = await client.store.search_items(voice, filter={"source": "guide"})
    assert [i["key"] for i in filtered["items"]] == ["warm-1"]
    everywhere = await client.store.search_items([], query="burnt smell", limit=1)
    assert everywhere["items"][0]["namespace"] == ["crisis_patterns"]
    # The route the SDK called, by hand: a bad limit is refused, naming the field.
    raw = await client.http.client.post("/store/items/search", json={"limit": -1})
    assert raw.status_code == 422
    assert "limit" in raw.text

    spaces = await client.store.list_namespaces()
    assert sorted(spaces["namespaces"]) == [["brand_voice"], ["crisis_patterns"]]

    # Putting again replaces the item.
    await client.store.put_item(voice, "oat-1", {"text": "Oat milk is free every day."})
    assert (await client.store.get_item(voice, "oat-1"))["value"]["text"].endswith("every day.")

    await client.store.delete_item(voice, "oat-1")
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.store.get_item(voice, "oat-1")
    assert err.value.response.status_code == 404


async def test_another_organization_sees_none_of_it(server: str) -> None:
    mine = _client(server, "mine@example.com", "Mine")
    await mine.store.put_item(["brand_voice"], "secret", {"text": "Our launch is on Friday."})
    other = _client(server, "other@example.com", "Other")
    with pytest.raises(httpx.HTTPStatusError) as err:
        await other.store.get_item(["brand_voice"], "secret")
    assert err.value.response.status_code == 404
    with pytest.raises(httpx.HTTPStatusError) as err:
        await other.store.delete_item(["brand_voice"], "secret")
    assert err.value.response.status_code == 404
    assert (await other.store.search_items([], query="launch Friday"))["items"] == []
    assert (await other.store.list_namespaces())["namespaces"] == []
    assert (await mine.store.get_item(["brand_voice"], "secret"))["key"] == "secret"


async def test_a_viewer_reads_but_cannot_write_and_bad_input_names_the_field(
    settings: Settings,
) -> None:
    async with api_client(settings) as (app, client):
        reg = await register(client, "owner@example.com")
        admin = bearer(reg["accessToken"])
        viewer = bearer(
            await add_member(app, client, reg["organization"]["id"], "vic@example.com", "viewer")
        )
        item = {"namespace": ["brand_voice"], "key": "k", "value": {"text": "Hello there."}}
        assert_error_shape(await client.put("/lg/store/items", json=item, headers=viewer), 403)
        listed = await client.post("/lg/store/namespaces", json={}, headers=viewer)
        assert listed.json() == {"namespaces": []}

        deep = {**item, "namespace": ["brand_voice", "team"]}
        error = assert_error_shape(
            await client.put("/lg/store/items", json=deep, headers=admin), 422
        )
        assert error["fields"][0]["field"].startswith("body.namespace")
        unknown = {**item, "namespace": ["diary"]}
        error = assert_error_shape(
            await client.put("/lg/store/items", json=unknown, headers=admin), 422
        )
        assert error["fields"][0]["field"] == "body.namespace"
        assert "brand_voice" in error["fields"][0]["message"]
        no_text = {**item, "value": {"title": "no text"}}
        error = assert_error_shape(
            await client.put("/lg/store/items", json=no_text, headers=admin), 422
        )
        assert error["fields"][0]["field"] == "body.value.text"
        nested = {**item, "value": {"text": "x y", "deep": {"a": {"b": [{"c": 1}]}}}}
        error = assert_error_shape(
            await client.put("/lg/store/items", json=nested, headers=admin), 422
        )
        assert error["fields"][0]["field"].startswith("body.value")
        # Nothing was written by any of them.
        listed = await client.post("/lg/store/namespaces", json={}, headers=admin)
        assert listed.json() == {"namespaces": []}
