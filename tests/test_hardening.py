"""The server errors, schema gaps and missing protections the fuzzing found, each fixed.

Every request here once answered 500, broke its schema, or was accepted when it should not
have been; each now answers a 4xx in the one error shape, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from support import make_settings

from chorus.app import create_app
from chorus.settings import Settings
from memory.kinds import MemoryKind
from persistence.models.runs import LgThread
from persistence.repository import TenantRepository

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Api:
    client: httpx.AsyncClient
    runtime: Any
    auth: dict[str, str]
    org: ObjectId


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path_factory.mktemp("hardening") / "data")
    async with api_client(settings) as (app, client):
        account = await register(client, "hard@example.com", "Hard Co")
        yield Api(
            client,
            app.state.runtime,
            bearer(account["accessToken"]),
            ObjectId(account["organization"]["id"]),
        )


async def post(api: Api, path: str, body: Any = None, **kw: Any) -> httpx.Response:
    return await api.client.post(path, json=body, headers={**api.auth, **kw.pop("headers", {})})


# --- graph inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/graphs/competitor_monitor/invoke", {"input": {"input": {}}}),
        ("/graphs/competitor_analysis/stream", {"input": {"input": {"competitors": []}}}),
        ("/graphs/crisis_manager/batch", {"inputs": [{"input": {"brand": "x"}}]}),
        ("/graphs/console/batch", {"inputs": [{"route": ""}]}),
        ("/graphs/console/invoke", {"input": {"messages": []}}),
        ("/graphs/scheduler/invoke", {"input": {"input": {"platform": "x", "count": False}}}),
        ("/graphs/engagement_optimizer/invoke", {"input": {"input": {"text": "hi", "at": 0}}}),
        ("/graphs/content_creation/stream_events", {"input": {"brief": "ok", "platform": "x"}}),
    ],
)
async def test_a_graph_input_that_breaks_its_contract_is_422_on_every_route(
    api: Api, path: str, body: Any
) -> None:
    error = assert_error_shape(await post(api, path, body), 422)
    assert error["fields"]


async def test_a_batch_without_a_list_of_inputs_is_422(api: Api) -> None:
    response = await post(api, "/graphs/scheduler/batch", {"inputs": None, "config": []})
    assert assert_error_shape(response, 422)["fields"][0]["field"] == "body.inputs"


async def test_a_stream_without_ai_credits_is_a_402_before_it_starts(api: Api) -> None:
    """Found by the authenticated fuzz run: a stream whose run then hit the plan's limit
    broke off mid-response. The allowance is checked before anything is sent."""
    from persistence.ids import utcnow
    from services.billing.usage import record_ai_usage

    spent = await register(api.client, "spent@example.com", "Spent Co")
    auth = bearer(spent["accessToken"])
    org = ObjectId(spent["organization"]["id"])
    await record_ai_usage(api.runtime.db, org, utcnow(), tokens=10**9, cost_usd=10_000.0)
    body = {"input": {"input": {"platform": "instagram", "count": 3}}}
    for route in ("stream", "stream_events", "invoke"):
        response = await api.client.post(f"/graphs/scheduler/{route}", json=body, headers=auth)
        assert assert_error_shape(response, 402)["code"] == "plan_limit", route
    # What the graph takes stays readable.
    schema = await api.client.get("/graphs/scheduler/input_schema", headers=auth)
    assert schema.status_code == 200


@pytest.mark.parametrize("content", [b"", b"not json", b'{"input": ', b"\xff\xfe\x00"])
async def test_an_empty_or_unreadable_graph_body_is_a_4xx(api: Api, content: bytes) -> None:
    response = await api.client.post(
        "/graphs/console/invoke",
        content=content,
        headers={**api.auth, "content-type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert_error_shape(response, response.status_code)


async def test_json_nested_thousands_deep_is_refused_before_parsing(api: Api) -> None:
    deep = b'{"input": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await api.client.post(
        "/graphs/console/invoke",
        content=deep,
        headers={**api.auth, "content-type": "application/json"},
    )
    assert "nested deeper" in assert_error_shape(response, 400)["message"]


async def test_an_unpaired_surrogate_in_a_message_is_refused(api: Api) -> None:
    body = b'{"input": {"messages": [{"role": "user", "content": "hi \\ud800 there"}]}}'
    response = await api.client.post(
        "/graphs/console/invoke",
        content=body,
        headers={**api.auth, "content-type": "application/json"},
    )
    assert "surrogate" in assert_error_shape(response, 400)["message"]


async def test_a_body_over_the_json_limit_is_413(api: Api) -> None:
    big = json.dumps({"input": {"messages": [{"role": "user", "content": "x" * 1_100_000}]}})
    response = await api.client.post(
        "/graphs/console/invoke",
        content=big,
        headers={**api.auth, "content-type": "application/json"},
    )
    assert_error_shape(response, 413)


async def test_a_raw_json_array_to_the_analytics_import_is_422(api: Api) -> None:
    response = await api.client.post(
        "/api/analytics/import",
        content=b"[null, null]",
        headers={**api.auth, "content-type": "text/csv"},
    )
    assert "JSON lines" in assert_error_shape(response, 422)["message"]


# --- /lg bodies -----------------------------------------------------------------------------


async def _thread(api: Api) -> str:
    response = await post(api, "/lg/threads", {})
    assert response.status_code == 200, response.text
    return response.json()["thread_id"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/lg/threads/search", {"offset": "abc"}),
        ("/lg/threads/search", {"limit": "abc"}),
        ("/lg/threads/search", {"offset": -1}),
        ("/lg/threads/search", {"limit": -1}),
        ("/lg/threads/search", {"limit": False}),
        ("/lg/threads/search", {"ids": 5}),
        ("/lg/threads/count", {"ids": 5}),
        ("/lg/runs/crons/search", {"select": 5}),
        ("/lg/runs/crons/search", {"sort_by": ["x"]}),
        ("/lg/assistants/search", {"limit": "x"}),
        ("/lg/runs/crons", {"assistant_id": "console", "schedule": "0 9 * * *", "enabled": "no"}),
        ("/lg/threads", {"metadata": {"a\x00b": 1}}),
        ("/lg/threads", {"metadata": {"big": 2**70}}),
        (
            "/lg/runs/wait",
            {
                "assistant_id": "console",
                "input": {"messages": [{"role": "user", "content": "hi"}]},
                "stream_mode": 5,
            },
        ),
        ("/lg/runs/wait", {"assistant_id": "console"}),
    ],
)
async def test_lg_bodies_with_wrong_types_are_422(api: Api, path: str, body: Any) -> None:
    assert_error_shape(await post(api, path, body), 422)


async def test_thread_state_and_history_bodies_are_checked(api: Api) -> None:
    tid = await _thread(api)
    run = await post(
        api,
        f"/lg/threads/{tid}/runs/wait",
        {"assistant_id": "console", "input": {"messages": [{"role": "user", "content": "hi"}]}},
    )
    assert run.status_code == 200, run.text
    for body in ({"limit": "x"}, {"before": 5}):
        assert_error_shape(await post(api, f"/lg/threads/{tid}/history", body), 422)
    for body in ({"checkpoint": "x"}, {"values": "x"}, {"values": {}, "as_node": "nope"}):
        assert_error_shape(await post(api, f"/lg/threads/{tid}/state", body), 422)
    unknown = await api.client.get(f"/lg/threads/{tid}/state/no-such-checkpoint", headers=api.auth)
    assert_error_shape(unknown, 404)


async def test_deeply_nested_thread_metadata_is_refused_and_nothing_is_stored(api: Api) -> None:
    nested: Any = "leaf"
    for _ in range(300):
        nested = {"k": nested}
    before = await TenantRepository(api.runtime.db, LgThread).count(api.org)
    response = await api.client.post(
        "/lg/threads",
        content=json.dumps({"metadata": {"deep": nested}}),
        headers={**api.auth, "content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert await TenantRepository(api.runtime.db, LgThread).count(api.org) == before
    search = await post(api, "/lg/threads/search", {})
    assert search.status_code == 200


# --- training is all or nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata", [{"created_at": "2026-01-01"}, {"organization_id": str(ObjectId())}]
)
async def test_training_with_one_bad_example_stores_none(api: Api, metadata: dict) -> None:
    before = await api.runtime.memory.count(api.org, MemoryKind.BRAND_VOICE)
    response = await post(
        api,
        "/api/ai-agents/content_creator/train",
        {"examples": [{"text": "We write warmly."}, {"text": "Bad one.", "metadata": metadata}]},
    )
    error = assert_error_shape(response, 422)
    assert error["fields"][0]["field"] == "body.examples.1.metadata"
    assert await api.runtime.memory.count(api.org, MemoryKind.BRAND_VOICE) == before


# --- an honest OpenAPI ----------------------------------------------------------------------


async def test_every_operation_documents_its_error_statuses(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    assert "Error" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"422", "429", "503"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert {"409", "413"} <= statuses, (method, path)
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }
    workflow = schema["paths"]["/api/ai/workflows/{workflow_id}"]["get"]["parameters"][0]
    assert workflow["schema"]["pattern"] == "^[0-9a-fA-F]{24}$"
    for stream in ("/graphs/console/stream", "/lg/threads/{thread_id}/runs/stream"):
        assert "text/event-stream" in schema["paths"][stream]["post"]["responses"]["200"]["content"]


async def test_a_malformed_id_is_422_and_an_unknown_one_404(api: Api) -> None:
    assert_error_shape(await api.client.get("/api/ai/workflows/abc", headers=api.auth), 422)
    unknown = await api.client.get(f"/api/ai/workflows/{ObjectId()}", headers=api.auth)
    assert_error_shape(unknown, 404)


async def test_a_disallowed_method_lists_every_allowed_one(api: Api) -> None:
    response = await api.client.options("/api/ai/workflows", headers=api.auth)
    assert_error_shape(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


async def test_a_literal_resource_answers_405_where_a_template_would_refuse_its_id(
    api: Api,
) -> None:
    """PUT /api/social-accounts/callback is a method the callback lacks, not a bad
    account id for PUT /api/social-accounts/{account_id}."""
    response = await api.client.put("/api/social-accounts/callback", json={}, headers=api.auth)
    assert_error_shape(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    # Its ids are ObjectIds by route (api.deps objectid paths): another segment is no route.
    malformed = await api.client.put("/api/social-accounts/abc", json={}, headers=api.auth)
    assert_error_shape(malformed, 404)


async def test_the_public_health_shows_no_filesystem_paths(api: Api) -> None:
    response = await api.client.get("/api/system/health")
    text = response.text
    assert str(api.runtime.settings.data_dir) not in text
    names = {c["name"] for c in response.json()["components"]}
    assert {"chat_model", "embeddings", "documents"} <= names


# --- rate limits and headers ----------------------------------------------------------------


async def test_graph_routes_are_rate_limited_like_the_ai_routes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", rate_limits={"ai": (3, 60)})
    async with api_client(settings) as (_, client):
        auth = bearer((await register(client))["accessToken"])
        body = {"input": {"messages": [{"role": "user", "content": "hello"}]}}
        statuses = [
            (await client.post("/graphs/console/invoke", json=body, headers=auth)).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    for path in ("/api/system/health", "/console", "/docs", "/openapi.json"):
        response = await api.client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "referrer-policy" in response.headers
        assert "camera=()" in response.headers["permissions-policy"]
        assert "server" not in response.headers
    for page in ("/console", "/docs"):
        csp = (await api.client.get(page)).headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
    docs = (await api.client.get("/docs")).text
    assert "cdn." not in docs
    assert (await api.client.get("/docs/swagger/swagger-ui-bundle.js")).status_code == 200


async def test_cors_comes_from_settings_and_never_a_wildcard(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="may not be"):
        Settings(_env_file=None, cors_origins=["*"])  # type: ignore[call-arg]
    settings = make_settings(tmp_path / "data", cors_origins=["https://app.example.com"])
    async with api_client(settings, create_app(settings)) as (_, client):
        preflight = {"access-control-request-method": "POST"}
        allowed = await client.options(
            "/api/auth/login", headers={"origin": "https://app.example.com", **preflight}
        )
        other = await client.options(
            "/api/auth/login", headers={"origin": "https://evil.example.com", **preflight}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


async def test_proxy_headers_are_believed_only_from_configured_proxies() -> None:
    from chorus.cli import uvicorn_options

    default = uvicorn_options(make_settings(Path("/tmp/unused")))
    assert default["proxy_headers"] is False
    assert default["server_header"] is False
    behind = uvicorn_options(make_settings(Path("/tmp/unused"), trusted_proxies=["10.0.0.5"]))
    assert (behind["proxy_headers"], behind["forwarded_allow_ips"]) == (True, "10.0.0.5")
