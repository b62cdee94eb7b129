"""The graphs over HTTP with LangServe, driven by LangServe's own RemoteRunnable client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_model_apis import serve_app
from langserve import RemoteRunnable
from support import make_settings

from chorus.app import create_app


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    app = create_app(make_settings(tmp_path / "data"))
    with serve_app(app) as base:
        yield base


def _register(base: str, email: str, org: str) -> dict[str, Any]:
    body = {"email": email, "password": "correct horse battery", "organizationName": org}
    response = httpx.post(f"{base}/api/auth/register", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def test_remote_runnable_invokes_and_streams_with_a_bearer_token(server: str) -> None:
    session = _register(server, "ana@example.com", "Ana Coffee")
    headers = {"Authorization": f"Bearer {session['accessToken']}"}
    crisis = RemoteRunnable(f"{server}/graphs/crisis_manager", headers=headers, timeout=60)
    out = crisis.invoke(
        {"input": {"brand": "Ana Coffee", "mentions": [{"text": "Love the new roast!"}]}}
    )
    assert out["output"]["assessment"]["riskLevel"] in ("none", "low")

    chunks = list(
        RemoteRunnable(f"{server}/graphs/trend_analyzer", headers=headers, timeout=60).stream(
            {"input": {"days": 7}}
        )
    )
    assert chunks, "the stream yielded updates"
    assert any("output" in str(chunk) for chunk in chunks)

    async def astream() -> list[Any]:
        remote = RemoteRunnable(f"{server}/graphs/scheduler", headers=headers, timeout=60)
        return [c async for c in remote.astream({"input": {"platform": "instagram", "count": 2}})]

    assert asyncio.run(astream())


def test_graph_routes_need_credentials(server: str) -> None:
    anonymous = httpx.post(f"{server}/graphs/trend_analyzer/invoke", json={"input": {"input": {}}})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == 401


async def test_the_run_context_comes_from_the_principal_not_the_client() -> None:
    from types import SimpleNamespace

    from bson import ObjectId

    from api.graph_routes import _config_modifier
    from api.principal import Principal
    from runs.binding import CONTEXT_KEY
    from runs.engine import RunEngine

    mine, theirs = ObjectId(), ObjectId()
    services = SimpleNamespace(checkpointer=None, db=None, memory=None)
    runtime = SimpleNamespace(engine=RunEngine(services))  # type: ignore[arg-type]
    principal = Principal(user_id=ObjectId(), org_id=mine, role="user", email="a@b.co", via="token")
    request = SimpleNamespace(
        state=SimpleNamespace(principal=principal),
        app=SimpleNamespace(state=SimpleNamespace(runtime=runtime)),
    )
    sent = {
        "configurable": {
            "organization_id": str(theirs),
            "services": "forged",
            CONTEXT_KEY: "forged",
            "thread_id": "t1",
            "model": "scripted",
            "anything": "else",
        }
    }
    config = await _config_modifier("content_creation")(sent, request)  # type: ignore[arg-type]
    configurable = config["configurable"]
    assert configurable["organization_id"] == str(mine)
    ctx = configurable[CONTEXT_KEY]
    assert (ctx.org_id, ctx.user_id, ctx.graph) == (
        mine,
        str(principal.user_id),
        "content_creation",
    )
    assert ctx.services is services
    assert (configurable["thread_id"], ctx.thread_id, ctx.model) == ("t1", "t1", "scripted")
    assert "anything" not in configurable
    assert "services" not in configurable
