"""The composition root picks each component's form from settings, and only from settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from bson import ObjectId
from support import TEST_MONGODB_URI, TEST_REDIS_URL, make_settings

from chorus.chat_models import ChatModels, ModelNotConfigured
from chorus.runtime import Runtime
from persistence.cache import InProcessCache, RedisCache
from persistence.eventlog import InProcessEventLog, RedisEventLog
from persistence.pubsub import InProcessPubSub, RedisPubSub
from persistence.queue import ArqJobQueue, InProcessJobQueue
from persistence.ratelimit import InProcessRateLimiter, RedisRateLimiter


async def _redis_answers(url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


async def test_nothing_set_builds_every_embedded_form(runtime: Runtime) -> None:
    forms = {name: form for name, (form, _) in runtime.forms.items()}
    expected_documents = "production" if TEST_MONGODB_URI else "embedded"
    assert forms["documents"] == expected_documents
    assert forms["checkpoints"] == expected_documents
    for name in ("redis", "jobs", "vector_memory", "embeddings", "media", "email", "chat_model"):
        assert forms[name] == "embedded", name
    assert forms["tracing"] == "off"
    assert isinstance(runtime.rate_limiter, InProcessRateLimiter)
    assert isinstance(runtime.pubsub, InProcessPubSub)
    assert isinstance(runtime.event_log, InProcessEventLog)
    assert isinstance(runtime.cache, InProcessCache)
    assert isinstance(runtime.jobs, InProcessJobQueue)


async def test_redis_url_switches_to_the_production_form(tmp_path: Path) -> None:
    if not await _redis_answers(TEST_REDIS_URL):
        pytest.skip(f"no Redis answers at {TEST_REDIS_URL}")
    settings = make_settings(tmp_path, redis_url=TEST_REDIS_URL)
    async with await Runtime.open(settings) as runtime:
        assert runtime.forms["redis"][0] == "production"
        assert "@" not in runtime.forms["redis"][1]  # never shows credentials
        assert isinstance(runtime.rate_limiter, RedisRateLimiter)
        assert isinstance(runtime.pubsub, RedisPubSub)
        assert isinstance(runtime.event_log, RedisEventLog)
        assert isinstance(runtime.cache, RedisCache)
        assert isinstance(runtime.jobs, ArqJobQueue)
        key = f"test-runtime-{ObjectId()}"
        await runtime.cache.set(key, b"value", ttl_seconds=30)
        # The value really is in Redis, not in this process.
        from redis.asyncio import Redis

        direct = Redis.from_url(TEST_REDIS_URL)
        try:
            assert await direct.exists(f"chorus:cache:{key}") == 1
        finally:
            await direct.delete(f"chorus:cache:{key}")
            await direct.aclose()
        statuses = {s.name: s for s in await runtime.check(deep=False)}
        assert statuses["redis"].ok


@pytest.mark.skipif(bool(TEST_MONGODB_URI), reason="restart durability is the embedded engine's")
async def test_embedded_documents_survive_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    org_id = ObjectId()
    async with await Runtime.open(settings) as runtime:
        await runtime.db.notes.insert_one({"organizationId": org_id, "text": "kept"})
    async with await Runtime.open(settings) as runtime:
        found = await runtime.db.notes.find_one({"organizationId": org_id})
        assert found is not None
        assert found["text"] == "kept"
        # Indexes are recreated idempotently on every start, and unique ones still hold.
        info = await runtime.db.users.index_information()
        assert info["email_1"]["unique"] is True


async def test_health_check_reports_every_component(runtime: Runtime) -> None:
    statuses = {s.name: s for s in await runtime.check(deep=False)}
    assert set(statuses) >= {"documents", "checkpoints", "redis", "vector_memory", "media", "email"}
    failing = {name: s.detail for name, s in statuses.items() if not s.ok}
    assert not failing


def test_model_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chorus.chat_models.local_model_path", lambda: None)
    none = ChatModels(make_settings(tmp_path, model=None))
    assert none.default is None
    with pytest.raises(ModelNotConfigured) as excinfo:
        none.get()
    message = str(excinfo.value)
    assert "OPENAI_API_KEY" in message
    assert "ANTHROPIC_API_KEY" in message
    assert "local" in message

    both = ChatModels(
        make_settings(tmp_path, model=None, openai_api_key="sk-test", anthropic_api_key="a")
    )
    assert both.default is not None
    assert both.default.startswith("openai:")
    anthropic = ChatModels(make_settings(tmp_path, model=None, anthropic_api_key="a"))
    assert anthropic.default is not None
    assert anthropic.default.startswith("anthropic:")
    explicit = ChatModels(make_settings(tmp_path, model="anthropic:claude-x", openai_api_key="k"))
    assert explicit.default == "anthropic:claude-x"
    with pytest.raises(ModelNotConfigured, match="unknown model provider"):
        explicit.get("mistral:large")


def test_openai_and_anthropic_models_take_configured_base_urls(tmp_path: Path) -> None:
    models = ChatModels(
        make_settings(
            tmp_path,
            openai_api_key="sk-test",
            openai_base_url="http://127.0.0.1:9/v1",
            anthropic_api_key="ak-test",
            anthropic_base_url="http://127.0.0.1:9",
        )
    )
    openai = models.get("openai:gpt-4o-mini", temperature=0.1, max_tokens=20)
    assert openai.model_name == "gpt-4o-mini"  # type: ignore[attr-defined]
    assert str(openai.openai_api_base) == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    anthropic = models.get("anthropic:claude-3-5-haiku-latest")
    assert anthropic.anthropic_api_url == "http://127.0.0.1:9"  # type: ignore[attr-defined]
