"""/lg assistants as LangGraph Studio and agent-chat-ui use them, through the official SDK:
graphs and schemas, configured variants per organization, real creation times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import add_member, api_client, assert_error_shape, bearer, register
from fake_model_apis import serve as fake_model_api
from fake_model_apis import serve_app
from langgraph_sdk import get_client
from support import make_settings

from chorus.app import create_app
from chorus.settings import Settings

BRIEF = {"brief": "Launch of our autumn oat latte", "platform": "instagram"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(make_settings(tmp_path_factory.mktemp("assistants") / "data"))
    with serve_app(app) as base:
        yield base


def _register(base: str, email: str, org: str) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD, "organizationName": org}
    reg = httpx.post(f"{base}/api/auth/register", json=body, timeout=30)
    assert reg.status_code == 201, reg.text
    return reg.json()


def _key(base: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    key = httpx.post(f"{base}/api/api-keys", json={"name": "sdk"}, headers=headers, timeout=30)
    assert key.status_code == 201, key.text
    return key.json()["key"]


@pytest.fixture(scope="module")
def admin(server: str) -> dict[str, Any]:
    reg = _register(server, "studio@example.com", "Studio Coffee")
    return {"key": _key(server, reg["accessToken"]), "reg": reg}


def _client(server: str, key: str) -> Any:
    return get_client(url=f"{server}/lg", api_key=key, timeout=60)


async def test_graph_and_schemas_of_every_assistant(server: str, admin: dict[str, Any]) -> None:
    client = _client(server, admin["key"])
    graph = await client.assistants.get_graph("content_creation")
    nodes = {n["id"] for n in graph["nodes"]}
    assert {"__start__", "trends", "draft", "optimize", "approval", "__end__"} <= nodes
    assert any(e["source"] == "__start__" and e["target"] == "trends" for e in graph["edges"])
    schemas = await client.assistants.get_schemas("content_creation")
    assert schemas["graph_id"] == "content_creation"
    # The input schema is the contract the API checks: brief and platform are required.
    assert {"brief", "platform"} <= set(schemas["input_schema"]["required"])
    assert schemas["input_schema"]["examples"][0]["platform"] == "instagram"
    assert "brief" in schemas["state_schema"]["properties"]
    assert "properties" in schemas["output_schema"]
    assert "model" in str(schemas["config_schema"])
    for found in await client.assistants.search(limit=100):
        assert (await client.assistants.get_schemas(found["assistant_id"]))["input_schema"]
        assert (await client.assistants.get_graph(found["assistant_id"]))["nodes"]


async def test_created_at_is_when_the_organization_began(
    server: str, admin: dict[str, Any]
) -> None:
    client = _client(server, admin["key"])
    found = await client.assistants.get("console")
    created = datetime.fromisoformat(found["created_at"])
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=10)


async def test_a_variant_is_stored_updated_used_by_runs_and_deleted(
    server: str, admin: dict[str, Any]
) -> None:
    client = _client(server, admin["key"])
    variant = await client.assistants.create(
        "content_creation",
        config={"configurable": {"model": "openai:gpt-4o-mini"}},
        metadata={"team": "growth"},
        name="Hosted writer",
    )
    assert variant["graph_id"] == "content_creation"
    assert variant["config"] == {"configurable": {"model": "openai:gpt-4o-mini"}}
    assert variant["version"] == 1
    assert await client.assistants.get(variant["assistant_id"]) == variant
    assert variant["assistant_id"] in [
        a["assistant_id"] for a in await client.assistants.search(metadata={"team": "growth"})
    ]

    # Its runs use its model: no OpenAI key is set here, so the run fails naming it; the
    # graph's own assistant on the same input runs on the configured (scripted) model.
    with pytest.raises(Exception, match="model_not_configured: openai"):
        await client.runs.wait(None, variant["assistant_id"], input=BRIEF)
    fine = await client.runs.wait(None, "content_creation", input=BRIEF)
    assert "__error__" not in fine

    updated = await client.assistants.update(
        variant["assistant_id"], config={"configurable": {"model": "scripted"}}, name="Local"
    )
    assert updated["version"] == 2
    assert updated["name"] == "Local"
    assert updated["metadata"] == {"team": "growth"}
    ran = await client.runs.wait(None, variant["assistant_id"], input=BRIEF)
    assert "__error__" not in ran

    await client.assistants.delete(variant["assistant_id"])
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.assistants.get(variant["assistant_id"])
    assert err.value.response.status_code == 404


async def test_another_organization_cannot_see_or_change_a_variant(
    server: str, admin: dict[str, Any]
) -> None:
    mine = await _client(server, admin["key"]).assistants.create("console", name="Mine")
    other = _client(server, _key(server, _register(server, "x@example.com", "X")["accessToken"]))
    for call in (
        other.assistants.get(mine["assistant_id"]),
        other.assistants.get_schemas(mine["assistant_id"]),
        other.assistants.update(mine["assistant_id"], name="Stolen"),
        other.assistants.delete(mine["assistant_id"]),
        other.runs.wait(None, mine["assistant_id"], input={"messages": []}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as err:
            await call
        assert err.value.response.status_code == 404
    assert mine["assistant_id"] not in [a["assistant_id"] for a in await other.assistants.search()]


async def test_a_viewer_reads_but_cannot_create_and_bad_input_names_the_field(
    settings: Settings,
) -> None:
    async with api_client(settings) as (app, client):
        reg = await register(client, "owner@example.com")
        admin = bearer(reg["accessToken"])
        viewer = bearer(
            await add_member(app, client, reg["organization"]["id"], "vic@example.com", "viewer")
        )
        base = "/lg/assistants"
        before = (await client.post(f"{base}/count", json={}, headers=admin)).json()

        refused = await client.post(base, json={"graph_id": "console"}, headers=viewer)
        assert_error_shape(refused, 403)
        assert (await client.get(f"{base}/console/schemas", headers=viewer)).status_code == 200

        bad = await client.post(
            base,
            json={"graph_id": "console", "config": {"configurable": {"temperature": 2}}},
            headers=admin,
        )
        error = assert_error_shape(bad, 422)
        assert error["fields"][0]["field"] == "body.config.configurable.temperature"
        unknown = await client.post(base, json={"graph_id": "nope"}, headers=admin)
        assert unknown.status_code in (404, 422), unknown.text
        assert "nope" in unknown.text
        own = await client.patch(f"{base}/console", json={"name": "x"}, headers=admin)
        assert_error_shape(own, 409)
        gone = await client.delete(f"{base}/console", headers=admin)
        assert_error_shape(gone, 409)
        after = (await client.post(f"{base}/count", json={}, headers=admin)).json()
        assert after == before


async def test_a_variants_instructions_reach_every_agent_prompt_of_its_runs(
    tmp_path: Path,
) -> None:
    with fake_model_api("Cold brew season is here.") as (model_api, requests):
        settings = make_settings(
            tmp_path / "data",
            model="openai:gpt-4o-mini",
            openai_api_key="sk-test",
            openai_base_url=f"{model_api}/v1",
        )
        with serve_app(create_app(settings)) as base:
            reg = _register(base, "voice@example.com", "Voice Coffee")
            client = _client(base, _key(base, reg["accessToken"]))
            rule = "Always mention our oat milk option."
            variant = await client.assistants.create(
                "content_creator",
                config={"configurable": {"system_prompt": rule}},
                name="Oat voice",
            )
            request = {"input": {"brief": "Our autumn latte", "platform": "instagram"}}
            await client.runs.wait(None, variant["assistant_id"], input=request)
            prompts = [str(r["messages"][0]) for r in requests if r["path"] == "chat"]
            assert prompts
            assert all(rule in p for p in prompts)

            requests.clear()
            await client.runs.wait(None, "content_creator", input=request)
            prompts = [str(r["messages"][0]) for r in requests if r["path"] == "chat"]
            assert prompts
            assert not any(rule in p for p in prompts)
