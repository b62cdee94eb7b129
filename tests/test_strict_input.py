"""Input the OpenAPI description forbids is refused (422, the one error shape), never coerced.

The authenticated fuzz run's negative-data check found ~90 requests the API accepted against
its own schema: ``0`` taken as ``false``, ``false`` as ``0``, ``0`` as a date (1970), a long
string of digits as a number, LangServe's ``kwargs`` as a list. Request bodies are now
validated strictly (``api.routes.schemas.StrictIn``), dates and times as ISO text only
(``persistence.ids``), LangServe's bodies against the models it publishes
(``api.graph_bodies``). These are representative refusals, so a regression fails here
before the fuzzer runs, and the guard below keeps every new request body strict.
"""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import api_client, assert_error_shape, bearer, register
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from support import make_settings

from chorus.app import create_app

# The async tests share the module's app; the guard below builds its own and is sync.
module_loop = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Api:
    client: httpx.AsyncClient
    auth: dict[str, str]
    runtime: Any


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path_factory.mktemp("strict") / "data")
    async with api_client(settings) as (app, client):
        account = await register(client, "strict@example.com", "Strict Co")
        yield Api(client, bearer(account["accessToken"]), app.state.runtime)


# --- every request body is strict -------------------------------------------------------------


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included routers, unflattened
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
        return
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def test_every_request_body_model_of_the_app_is_strict(tmp_path: Path) -> None:
    app: FastAPI = create_app(make_settings(tmp_path / "data"))
    lax: set[str] = set()
    checked = 0
    for route in _routes(app.routes):
        if route.body_field is None or route.path.startswith("/graphs/"):
            continue  # LangServe's documented bodies: api.graph_bodies checks them strictly
        for model in _models(route.body_field.field_info.annotation):
            if model.__module__.startswith("fastapi"):
                continue  # multipart forms: files, no JSON types to coerce
            checked += 1
            if model.model_config.get("strict") is not True:
                lax.add(f"{model.__module__}.{model.__qualname__} ({route.path})")
    assert checked > 50
    assert not lax, "request bodies validated leniently: " + ", ".join(sorted(lax))


# --- representative refusals ------------------------------------------------------------------


@module_loop
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # a boolean given 0, or "no"
        (
            "PUT",
            "/api/notifications/settings",
            {"quietHours": {"enabled": 0, "start": "22:00", "end": "07:00"}},
        ),
        (
            "PUT",
            "/api/notifications/settings",
            {"quietHours": {"enabled": "no", "start": "22:00", "end": "07:00"}},
        ),
        # a number given false, or text
        ("PUT", "/api/organizations", {"settings": {"dataRetentionDays": False}}),
        ("PUT", "/api/organizations", {"settings": {"dataRetentionDays": "90"}}),
        ("POST", "/api/ai/schedule/optimize", {"platform": "twitter", "minGapHours": False}),
        # text given a number
        ("POST", "/api/api-keys", {"name": 5}),
        # a date-time given a number, or digits
        (
            "POST",
            "/lg/runs/crons",
            {"assistant_id": "console", "schedule": "0 9 * * *", "end_time": 0},
        ),
        (
            "POST",
            "/lg/runs/crons",
            {"assistant_id": "console", "schedule": "0 9 * * *", "end_time": "1700000000"},
        ),
        (
            "POST",
            "/api/posts",
            {"content": {"text": "hi"}, "platforms": [], "scheduling": {"scheduledAt": 0}},
        ),
        # a day given a number
        ("POST", "/api/analytics/reports/generate", {"from": 0}),
        # a time of day given a number
        (
            "PUT",
            "/api/social-accounts/0123456789abcdef01234567",
            {"postingWindows": [{"days": ["mon"], "start": 900, "end": "10:00"}]},
        ),
        # a list where the schema says object (LangServe's kwargs), on every graph route
        (
            "POST",
            "/graphs/scheduler/invoke",
            {"input": {"input": {"platform": "twitter"}}, "kwargs": [None, None]},
        ),
        ("POST", "/graphs/scheduler/batch", {"inputs": [], "config": [], "kwargs": [None]}),
        (
            "POST",
            "/graphs/content_creation/stream",
            {"input": {"brief": "Spring", "platform": "twitter"}, "kwargs": []},
        ),
        # a LangServe config that is not an object
        (
            "POST",
            "/graphs/scheduler/invoke",
            {"input": {"input": {"platform": "twitter"}}, "config": [1]},
        ),
        # an unknown key where the schema says additionalProperties: false
        ("POST", "/api/api-keys", {"name": "ci", "scopes": ["all"]}),
        ("PUT", "/api/notifications/settings", {"quietHour": {"enabled": True}}),
        # /lg metadata: a string of digits past its length is not a number either
        ("POST", "/lg/threads/search", {"metadata": {"k": ["0" * 2500]}}),
        ("POST", "/lg/threads", {"metadata": {"k": "1" * 2500}}),
        ("POST", "/lg/threads", {"metadata": {"k": "0.5"}, "if_exists": "raise", "thread_id": 5}),
    ],
)
async def test_a_body_the_schema_forbids_is_422(
    api: Api, method: str, path: str, body: Any
) -> None:
    response = await api.client.request(method, path, json=body, headers=api.auth)
    error = assert_error_shape(response, 422)
    assert error["fields"], error


@module_loop
@pytest.mark.parametrize(
    "query",
    [
        "/api/analytics/overview?to=0",
        "/api/analytics/posts?from=1700000000",
        "/api/posts?to=0.5",
        "/api/posts/calendar?start=0&end=2026-12-31",
        "/api/api-usage?until=0.5",
        "/api/organizations/audit-logs?since=0",
    ],
)
async def test_a_date_query_that_is_a_number_is_422(api: Api, query: str) -> None:
    error = assert_error_shape(await api.client.get(query, headers=api.auth), 422)
    assert "ISO-8601" in error["fields"][0]["message"]


@module_loop
async def test_nothing_is_written_by_a_refused_body(api: Api) -> None:
    before = (await api.client.get("/api/notifications/settings", headers=api.auth)).json()
    keys = (await api.client.get("/api/api-keys", headers=api.auth)).json()
    refused = await api.client.put(
        "/api/notifications/settings",
        json={"quietHours": {"enabled": 1, "start": "21:00", "end": "06:00"}},
        headers=api.auth,
    )
    assert_error_shape(refused, 422)
    assert_error_shape(
        await api.client.post("/api/api-keys", json={"name": 7}, headers=api.auth), 422
    )
    after = (await api.client.get("/api/notifications/settings", headers=api.auth)).json()
    assert after == before
    assert (await api.client.get("/api/api-keys", headers=api.auth)).json() == keys


@module_loop
async def test_what_the_schema_allows_is_still_accepted(api: Api) -> None:
    """Strict is not stricter than the schema: ISO text for dates and times, JSON numbers
    for floats (an integer is a number), booleans as booleans."""
    settings = await api.client.put(
        "/api/notifications/settings",
        json={"quietHours": {"enabled": True, "start": "22:00", "end": "07:00"}},
        headers=api.auth,
    )
    assert settings.status_code == 200, settings.text
    assert settings.json()["quietHours"]["enabled"] is True
    cron = await api.client.post(
        "/lg/runs/crons",
        json={
            "assistant_id": "console",
            "schedule": "0 9 * * *",
            "end_time": "2030-01-01T00:00:00Z",
            "input": {"messages": [{"role": "user", "content": "hi"}]},
        },
        headers=api.auth,
    )
    assert cron.status_code == 200, cron.text
    assert cron.json()["end_time"].startswith("2030-01-01T00:00:00")
    schedule = await api.client.post(
        "/api/ai/schedule/optimize",
        json={"platform": "twitter", "minGapHours": 2, "start": "2030-01-06T09:00:00Z"},
        headers=api.auth,
    )
    assert schedule.status_code == 200, schedule.text
    for query in (
        "/api/analytics/overview?from=2026-11-01&to=2026-11-30",
        "/api/posts?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00%2B01:00",
        "/api/api-usage?since=2026-11-01T00:00:00Z",
    ):
        response = await api.client.get(query, headers=api.auth)
        assert response.status_code == 200, (query, response.text)
    graph = await api.client.post(
        "/graphs/scheduler/invoke",
        json={"input": {"input": {"platform": "twitter", "count": 2}}, "config": {}, "kwargs": {}},
        headers=api.auth,
    )
    assert graph.status_code == 200, graph.text


@module_loop
async def test_a_bulk_file_from_which_nothing_lands_is_422(api: Api) -> None:
    for content_type, text in (("text/csv", "{}"), ("text/csv", "text,scheduledAt,accounts\n")):
        response = await api.client.post(
            "/api/posts/bulk-schedule",
            content=text.encode(),
            headers={**api.auth, "content-type": content_type},
        )
        error = assert_error_shape(response, 422)
        assert error["fields"], error
    listed = (await api.client.get("/api/posts", headers=api.auth)).json()["items"]
    assert listed == []


@module_loop
async def test_a_malformed_graph_body_is_422_even_with_no_ai_credit_left(api: Api) -> None:
    """Found by the fuzz run: once the fuzzer's organization had spent its credits, every
    graph route answered 402 to bodies it should have refused as malformed."""
    from bson import ObjectId

    from persistence.ids import utcnow
    from services.billing.usage import record_ai_usage

    spent = await register(api.client, "spent-strict@example.com", "Spent Strict")
    auth = bearer(spent["accessToken"])
    org = ObjectId(spent["organization"]["id"])
    await record_ai_usage(api.runtime.db, org, utcnow(), tokens=10**9, cost_usd=10_000.0)
    for content in (b"", b'{"input": {"input": {"platform": "twitter"}}, "kwargs": [1]}'):
        response = await api.client.post(
            "/graphs/scheduler/invoke",
            content=content,
            headers={**auth, "content-type": "application/json"},
        )
        assert_error_shape(response, 422)
    valid = {"input": {"input": {"platform": "twitter"}}}
    response = await api.client.post("/graphs/scheduler/invoke", json=valid, headers=auth)
    assert_error_shape(response, 402)


@module_loop
async def test_a_last_event_id_the_stream_never_sent_is_422_before_it_starts(api: Api) -> None:
    """Found by the fuzz run: ``Last-Event-ID: null`` broke the join stream off mid-response
    (a 500 inside a 200)."""
    path = "/lg/threads/t-1/runs/00000000-0000-0000-0000-000000000000/stream"
    for bad in ("null", "", "12", "1-2-3"):
        response = await api.client.get(path, headers={**api.auth, "Last-Event-ID": bad})
        assert_error_shape(response, 422)
    unknown = await api.client.get(path, headers={**api.auth, "Last-Event-ID": "1700000000000-0"})
    assert_error_shape(unknown, 404)
