"""The AI routes: agent actions, ai_tasks, agent configuration and memory, analytics import.

One app for the module (the runtime and embedding model load once): organization A imports a
small analytics file through the API, organization B stays empty; the scripted model answers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from api_support import add_member, api_client, assert_error_shape, bearer, register
from fastapi import FastAPI
from support import isolated_environment, make_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    a: dict[str, str]  # org A's admin headers
    b: dict[str, str]  # org B's admin headers
    viewer: dict[str, str]  # a viewer of org A
    org_a: str


def analytics_lines(n: int = 36) -> str:
    """JSON lines of ``n`` posts over the last five weeks, on two platforms."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows = []
    for i in range(n):
        platform = "instagram" if i % 2 else "linkedin"
        at = now - timedelta(days=i, hours=i % 5)
        tags = ["#launch", "#coffee"] if i < 10 else ["#coffee", "#morning"]
        reach = 1000 + 37 * i
        rows.append(
            {
                "platform": platform,
                "platformPostId": f"p{i}",
                "publishedAt": at.isoformat(),
                "text": f"Fresh roast number {i} is here for every coffee lover",
                "hashtags": tags,
                "mediaType": "image" if i % 3 else "text",
                "likes": 40 + (i * 7) % 60,
                "comments": 3 + i % 9,
                "shares": i % 4,
                "impressions": reach * 2,
                "reach": reach,
            }
        )
    return "\n".join(json.dumps(r) for r in rows) + "\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    with isolated_environment():
        settings = make_settings(tmp_path_factory.mktemp("api_ai") / "data")
    async with api_client(settings) as (app, client):
        app.state.rate_limits["ai"] = (10_000, 60)
        first = await register(client, "a@example.com", "Roastery A")
        second = await register(client, "b@example.com", "Tenant B")
        org_a = first["organization"]["id"]
        viewer = await add_member(app, client, org_a, "viewer@example.com", "viewer")
        api = Api(
            app,
            client,
            bearer(first["accessToken"]),
            bearer(second["accessToken"]),
            bearer(viewer),
            org_a,
        )
        imported = await client.post(
            "/api/analytics/import",
            content=analytics_lines(),
            headers={**api.a, "content-type": "application/x-ndjson"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["imported"] == 36
        yield api


async def post(api: Api, path: str, body: Any, headers: dict[str, str] | None = None):
    return await api.client.post(path, json=body, headers=headers or api.a)


# --- analytics import ------------------------------------------------------------------------


async def test_import_multipart_csv_reports_bad_rows_and_is_idempotent(api: Api) -> None:
    csv_text = (
        "platform,platformPostId,publishedAt,text,likes,reach\n"
        "twitter,t1,2025-01-02T10:00:00Z,hello,5,100\n"
        "myspace,t2,2025-01-02T10:00:00Z,nope,5,100\n"
    )
    files = {"file": ("export.csv", csv_text.encode(), "text/csv")}
    first = await api.client.post("/api/analytics/import", files=files, headers=api.b)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["format"] == "csv"
    assert (report["imported"], report["rejected"]) == (1, 1)
    assert report["errors"][0]["line"] == 3
    assert report["errors"][0]["field"] == "platform"
    again = await api.client.post("/api/analytics/import", files=files, headers=api.b)
    assert again.json()["unchanged"] == 1


async def test_import_refuses_viewers_and_empty_bodies(api: Api) -> None:
    denied = await api.client.post(
        "/api/analytics/import", content=analytics_lines(2), headers=api.viewer
    )
    assert_error_shape(denied, 403)
    empty = await api.client.post("/api/analytics/import", content=b"  \n", headers=api.a)
    assert assert_error_shape(empty, 422)["fields"][0]["field"] == "body"
    # A single line that is not JSON must never be taken for a server path.
    odd = await api.client.post("/api/analytics/import", content=b"/etc/passwd", headers=api.a)
    assert odd.status_code == 200, odd.text
    assert odd.json()["imported"] == 0


# --- content ---------------------------------------------------------------------------------


async def test_generate_improve_rewrite_and_captions(api: Api) -> None:
    draft = await post(
        api,
        "/api/ai/content/generate",
        {"brief": "Announce our new single-origin roast", "platform": "twitter", "tone": "warm"},
    )
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["platform"] == "twitter"
    assert body["text"]
    assert len(body["text"]) <= 280
    assert "callToAction" in body

    improved = await post(
        api,
        "/api/ai/content/improve",
        {"text": body["text"], "platform": "twitter", "hashtags": ["#coffee"]},
    )
    assert improved.status_code == 200, improved.text
    assert set(improved.json()) >= {"text", "hashtags", "predictedEngagement", "rationale"}

    rewritten = await post(
        api,
        "/api/ai/content/rewrite",
        {
            "brief": "Announce our new single-origin roast",
            "platform": "linkedin",
            "previousDraft": body["text"],
            "feedback": "Make it more formal",
        },
    )
    assert rewritten.status_code == 200, rewritten.text
    assert rewritten.json()["platform"] == "linkedin"

    caption = await post(
        api,
        "/api/ai/captions/generate",
        {"brief": "A latte art close-up", "platform": "instagram", "contentType": "image"},
    )
    assert caption.status_code == 200, caption.text
    assert caption.json()["text"]


async def test_rewrite_needs_feedback_and_bad_fields_are_named(api: Api) -> None:
    missing = await post(
        api,
        "/api/ai/content/rewrite",
        {"brief": "Announce a roast", "platform": "twitter", "previousDraft": "Old text"},
    )
    error = assert_error_shape(missing, 422)
    assert "body.feedback" in error["message"]

    bad_platform = await post(
        api, "/api/ai/content/generate", {"brief": "Announce", "platform": "myspace"}
    )
    error = assert_error_shape(bad_platform, 422)
    assert error["fields"][0]["field"] == "body.platform"

    unknown = await post(
        api, "/api/ai/content/generate", {"brief": "Announce", "platform": "twitter", "x": 1}
    )
    assert assert_error_shape(unknown, 422)["fields"][0]["field"] == "body.x"

    bad_zone = await post(
        api, "/api/ai/schedule/optimize", {"platform": "twitter", "timezone": "Mars/Base"}
    )
    error = assert_error_shape(bad_zone, 422)
    assert error["fields"][0]["field"] == "body.timezone"
    assert "IANA" in error["fields"][0]["message"]


async def test_hashtags_merge_the_optimizer_and_trending_tags(api: Api) -> None:
    response = await post(
        api, "/api/ai/hashtags/suggest", {"text": "Our new launch roast", "platform": "instagram"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"hashtags", "fromOptimizer", "trending"}
    assert body["hashtags"][: len(body["fromOptimizer"])] == body["fromOptimizer"]
    for tag in body["trending"]:
        assert set(tag) == {"tag", "score", "growth", "volume", "rising"}
    # #launch appeared in the last ten days only: a rising tag of this organization.
    launch = next(t for t in body["trending"] if t["tag"] == "#launch")
    assert launch["rising"] is True
    assert "#launch" in body["hashtags"]


# --- analysis --------------------------------------------------------------------------------


async def test_trends_schedule_competitors(api: Api) -> None:
    trends = await post(api, "/api/ai/trends/analyze", {"days": 14})
    assert trends.status_code == 200, trends.text
    assert set(trends.json()) == {"trends", "summary"}

    schedule = await post(
        api, "/api/ai/schedule/optimize", {"platform": "instagram", "count": 2, "timezone": "UTC"}
    )
    assert schedule.status_code == 200, schedule.text
    slots = schedule.json()["slots"]
    assert len(slots) == 2
    assert {"at", "expectedEngagement", "reason"} <= set(slots[0])

    competitors = await post(api, "/api/ai/competitor/analyze", {"competitors": ["BeanCo"]})
    assert competitors.status_code == 200, competitors.text
    assert competitors.json()["missing"] == ["BeanCo"]
    assert set(competitors.json()["swot"]) == {
        "strengths",
        "weaknesses",
        "opportunities",
        "threats",
    }


async def test_engagement_predict_uses_the_model_without_a_chat_call(api: Api) -> None:
    response = await post(
        api,
        "/api/ai/engagement/predict",
        {"text": "Fresh roast is here", "platform": "instagram", "hashtags": ["#coffee"]},
        api.viewer,  # a read: nothing is generated or stored
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0 <= body["low"] <= body["rate"] <= body["high"]
    # Proposed slots: the first is the planned time, and its hour is what the model read.
    draft = {"text": "Fresh roast is here", "platform": "instagram", "hashtags": ["#coffee"]}
    at_slot = await post(
        api,
        "/api/ai/engagement/predict",
        {**draft, "slots": ["2026-03-05T18:00:00Z", "2026-03-06T09:00:00Z"]},
        api.viewer,
    )
    assert at_slot.status_code == 200, at_slot.text
    assert at_slot.json()["features"]["hour"] == 18


async def test_audience_reports_platforms_and_best_times(api: Api) -> None:
    response = await post(api, "/api/ai/audience/analyze", {"days": 60})
    assert response.status_code == 200, response.text
    body = response.json()
    platforms = {m["platform"]: m for m in body["platforms"]}
    assert {"instagram", "linkedin"} <= set(platforms)
    assert platforms["instagram"]["posts"] > 0
    best = body["bestTimes"]
    assert best["timezone"] == "UTC"
    assert best["posts"] == 36
    assert best["bestWeekdays"]
    assert best["bestWeekdays"][0]["label"]
    assert set(body["bestTimesByPlatform"]) >= {"instagram", "linkedin"}


async def test_sentiment_and_crisis(api: Api) -> None:
    sentiment = await post(
        api,
        "/api/ai/sentiment/analyze",
        {"texts": ["I love this coffee!", "Worst service ever, never again."]},
        api.viewer,
    )
    assert sentiment.status_code == 200, sentiment.text
    items = sentiment.json()["items"]
    assert [i["label"] for i in items] == ["positive", "negative"]
    assert sentiment.json()["summary"]["count"] == 2
    empty = await post(api, "/api/ai/sentiment/analyze", {"texts": []})
    assert assert_error_shape(empty, 422)["fields"][0]["field"] == "body.texts"

    mentions = [{"text": "Your coffee made me sick, disgusting and dangerous"}] * 5
    crisis = await post(api, "/api/ai/crisis/detect", {"brand": "Roastery A", "mentions": mentions})
    assert crisis.status_code == 200, crisis.text
    body = crisis.json()
    assert body["assessment"]["riskLevel"] in ("none", "low", "medium", "high", "critical")
    assert body["responsePlan"]["actions"]
    no_mentions = await post(api, "/api/ai/crisis/detect", {"brand": "A", "mentions": []})
    assert assert_error_shape(no_mentions, 422)["fields"][0]["field"] == "body.mentions"


async def test_viewer_may_not_run_writing_agents(api: Api) -> None:
    response = await post(
        api,
        "/api/ai/content/generate",
        {"brief": "Announce a roast", "platform": "twitter"},
        api.viewer,
    )
    assert "viewer" in assert_error_shape(response, 403)["message"]


async def test_ai_routes_need_a_principal(api: Api) -> None:
    response = await api.client.post("/api/ai/sentiment/analyze", json={"texts": ["hi"]})
    assert_error_shape(response, 401)
    assert_error_shape(await api.client.get("/api/ai/tasks"), 401)
    assert_error_shape(await api.client.get("/api/ai-agents"), 401)


# --- tasks -----------------------------------------------------------------------------------


async def test_tasks_list_filter_feedback_delete_and_tenancy(api: Api) -> None:
    await post(api, "/api/ai/trends/analyze", {"days": 7})
    listed = await api.client.get("/api/ai/tasks", headers=api.a)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert items
    stamps = [t["createdAt"] for t in items]
    assert stamps == sorted(stamps, reverse=True)
    assert items[0]["agentType"] == "trend_analyzer"

    only = await api.client.get(
        "/api/ai/tasks",
        params={"agent": "trend_analyzer", "status": "completed", "limit": 1},
        headers=api.a,
    )
    body = only.json()
    assert len(body["items"]) == 1
    assert body["total"] >= 1
    task_id = body["items"][0]["id"]
    assert body["items"][0]["execution"]["status"] == "completed"
    bad_filter = await api.client.get("/api/ai/tasks", params={"agent": "nope"}, headers=api.a)
    assert assert_error_shape(bad_filter, 422)["fields"][0]["field"] == "query.agent"

    one = await api.client.get(f"/api/ai/tasks/{task_id}", headers=api.viewer)
    assert one.status_code == 200
    assert one.json()["id"] == task_id

    # Another tenant: not found for every verb, and B's list does not show it.
    for method, path, body_ in [
        ("GET", f"/api/ai/tasks/{task_id}", None),
        ("POST", f"/api/ai/tasks/{task_id}/feedback", {"rating": 1}),
        ("DELETE", f"/api/ai/tasks/{task_id}", None),
    ]:
        response = await api.client.request(method, path, json=body_, headers=api.b)
        assert_error_shape(response, 404)
    assert task_id not in (await api.client.get("/api/ai/tasks", headers=api.b)).text

    bad_rating = await post(api, f"/api/ai/tasks/{task_id}/feedback", {"rating": 6})
    assert assert_error_shape(bad_rating, 422)["fields"][0]["field"] == "body.rating"
    denied = await post(api, f"/api/ai/tasks/{task_id}/feedback", {"rating": 4}, api.viewer)
    assert_error_shape(denied, 403)
    rated = await post(
        api, f"/api/ai/tasks/{task_id}/feedback", {"rating": 4, "comments": "ok", "wasUsed": True}
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["feedback"] == {
        "userRating": 4,
        "userComments": "ok",
        "wasUsed": True,
        "improvements": None,
    }

    malformed = await api.client.get("/api/ai/tasks/not-an-id", headers=api.a)
    assert assert_error_shape(malformed, 422)["fields"][0]["field"] == "path.task_id"
    gone = await api.client.delete(f"/api/ai/tasks/{task_id}", headers=api.a)
    assert gone.status_code == 204
    assert_error_shape(await api.client.get(f"/api/ai/tasks/{task_id}", headers=api.a), 404)


# --- agents ----------------------------------------------------------------------------------


async def test_agents_list_configure_status_and_disable(api: Api) -> None:
    listed = await api.client.get("/api/ai-agents", headers=api.b)
    assert listed.status_code == 200
    agents = {a["name"]: a for a in listed.json()}
    assert len(agents) == 7
    assert agents["crisis_manager"]["configured"] is False
    assert agents["crisis_manager"]["configuration"]["temperature"] == 0.7

    bad_model = await post(
        api, "/api/ai-agents/content_creator/configure", {"model": "acme:big"}, api.b
    )
    error = assert_error_shape(bad_model, 422)
    assert error["fields"][0]["field"] == "body.model"
    assert "openai" in error["fields"][0]["message"]
    bad_temp = await post(
        api, "/api/ai-agents/content_creator/configure", {"temperature": 3}, api.b
    )
    assert assert_error_shape(bad_temp, 422)["fields"][0]["field"] == "body.temperature"

    unknown = await api.client.get("/api/ai-agents/poet/status", headers=api.b)
    assert "content_creator" in assert_error_shape(unknown, 404)["message"]

    configured = await post(
        api,
        "/api/ai-agents/content_creator/configure",
        {"model": "scripted", "temperature": 0.2, "maxTokens": 300, "systemPrompt": "Be brief."},
        api.b,
    )
    assert configured.status_code == 200, configured.text
    config = configured.json()["configuration"]
    assert (config["model"], config["temperature"], config["maxTokens"]) == ("scripted", 0.2, 300)
    # Only what is sent changes.
    again = await post(api, "/api/ai-agents/content_creator/configure", {"temperature": 0.4}, api.b)
    assert again.json()["configuration"]["maxTokens"] == 300
    assert again.json()["configuration"]["temperature"] == 0.4
    # A's configuration is untouched.
    a_agents = (await api.client.get("/api/ai-agents", headers=api.a)).json()
    assert next(a for a in a_agents if a["name"] == "content_creator")["configured"] is False

    brief = {"brief": "Announce a roast", "platform": "twitter"}
    assert (await post(api, "/api/ai/content/generate", brief, api.b)).status_code == 200
    status = await api.client.get("/api/ai-agents/content_creator/status", headers=api.b)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["tasks"]["completed"] >= 1
    assert body["successRate"] == 1.0
    assert body["avgDurationSeconds"] >= 0
    assert body["lastTaskAt"]

    off = await post(api, "/api/ai-agents/content_creator/configure", {"enabled": False}, api.b)
    assert off.json()["enabled"] is False
    locked = await post(api, "/api/ai/content/generate", brief, api.b)
    assert "disabled" in assert_error_shape(locked, 423)["message"]
    on = await post(api, "/api/ai-agents/content_creator/configure", {"enabled": True}, api.b)
    assert on.json()["enabled"] is True

    denied = await post(
        api, "/api/ai-agents/content_creator/configure", {"temperature": 0.1}, api.viewer
    )
    assert_error_shape(denied, 403)


async def test_a_model_without_its_key_is_503_naming_the_ways(api: Api) -> None:
    configured = await post(
        api, "/api/ai-agents/trend_analyzer/configure", {"model": "openai:gpt-4o"}, api.b
    )
    assert configured.status_code == 200, configured.text
    try:
        response = await post(api, "/api/ai/trends/analyze", {"days": 7}, api.b)
        error = assert_error_shape(response, 503)
        assert error["code"] == "model_not_configured"
        for way in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "local"):
            assert way in error["message"]
    finally:
        await post(api, "/api/ai-agents/trend_analyzer/configure", {"model": None}, api.b)
    assert (await post(api, "/api/ai/trends/analyze", {"days": 7}, api.b)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/ai-agents/poet/configure"),
        ("POST", "/api/ai-agents/poet/train"),
        ("GET", "/api/ai-agents/poet/memory?q=x"),
    ],
)
async def test_unknown_agent_is_404_listing_the_agents(api: Api, method: str, path: str) -> None:
    body = {"examples": [{"text": "x"}]} if path.endswith("train") else {}
    response = await api.client.request(method, path, json=body, headers=api.a)
    message = assert_error_shape(response, 404)["message"]
    assert "crisis_manager" in message
    assert "poet" in message


async def test_train_then_memory_search_finds_the_example(api: Api) -> None:
    trained = await post(
        api,
        "/api/ai-agents/content_creator/train",
        {
            "examples": [
                {"text": "We always sign off with 'Stay caffeinated, friends!'"},
                {"text": "A burnt-smell complaint wave in March", "kind": "crisis_patterns"},
            ]
        },
    )
    assert trained.status_code == 200, trained.text
    kinds = [s["kind"] for s in trained.json()["stored"]]
    assert kinds == ["brand_voice", "crisis_patterns"]

    found = await api.client.get(
        "/api/ai-agents/content_creator/memory",
        params={"q": "how do we sign off posts", "k": 3},
        headers=api.viewer,
    )
    assert found.status_code == 200, found.text
    hits = found.json()
    assert hits[0]["text"].startswith("We always sign off")
    assert hits[0]["metadata"]["agent"] == "content_creator"
    crisis = await api.client.get(
        "/api/ai-agents/crisis_manager/memory", params={"q": "burnt smell"}, headers=api.a
    )
    assert crisis.json()[0]["kind"] == "crisis_patterns"
    # The other tenant's memory is its own.
    other = await api.client.get(
        "/api/ai-agents/content_creator/memory", params={"q": "sign off"}, headers=api.b
    )
    assert other.json() == []

    bad_kind = await api.client.get(
        "/api/ai-agents/content_creator/memory", params={"q": "x", "kind": "gossip"}, headers=api.a
    )
    assert assert_error_shape(bad_kind, 422)["fields"][0]["field"] == "query.kind"
    bad_meta = await post(
        api,
        "/api/ai-agents/content_creator/train",
        {"examples": [{"text": "ok"}, {"text": "x", "metadata": {"o": [{"a": 1}]}}]},
    )
    assert assert_error_shape(bad_meta, 422)["fields"][0]["field"] == "body.examples.1.metadata"
    viewer = await post(
        api, "/api/ai-agents/content_creator/train", {"examples": [{"text": "x"}]}, api.viewer
    )
    assert_error_shape(viewer, 403)


async def test_ai_routes_share_one_rate_limit_class(api: Api) -> None:
    token = await add_member(api.app, api.client, api.org_a, "busy@example.com", "user")
    headers = bearer(token)
    api.app.state.rate_limits["ai"] = (2, 60)
    try:
        assert (await api.client.get("/api/ai/tasks", headers=headers)).status_code == 200
        assert (await api.client.get("/api/ai-agents", headers=headers)).status_code == 200
        limited = await api.client.post(
            "/api/ai/sentiment/analyze", json={"texts": ["hi"]}, headers=headers
        )
        assert_error_shape(limited, 429)
    finally:
        api.app.state.rate_limits["ai"] = (10_000, 60)


async def test_import_over_the_limit_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.routes import analytics_import

    monkeypatch.setattr(analytics_import, "MAX_BYTES", 100)
    response = await api.client.post(
        "/api/analytics/import", content=analytics_lines(3), headers=api.b
    )
    assert "import-analytics" in assert_error_shape(response, 413)["message"]
