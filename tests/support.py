"""Helpers the tests share (imported as ``support``; conftest holds the fixtures)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chorus.runtime import Runtime
from chorus.settings import Settings

TEST_MONGODB_URI = os.environ.get("CHORUS_TEST_MONGODB_URI")
TEST_REDIS_URL = os.environ.get("CHORUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# A fixed "now" for seeded data, so planted facts sit on known days.
DEMO_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

# Every setting that selects a production form or a paid model, pinned off unless a test
# asks for it, whatever the developer's environment holds.
_PRODUCTION_OFF: dict[str, Any] = {
    "mongodb_uri": None,
    "redis_url": None,
    "chroma_url": None,
    "openai_api_key": None,
    "anthropic_api_key": None,
    "image_model": None,
    "s3_bucket": None,
    "ses_sender": None,
    "langsmith_api_key": None,
    "langsmith_tracing": False,
    "secret_key": None,
    "encryption_key": None,
}


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: embedded everything in ``data_dir``, the scripted model."""
    values: dict[str, object] = {
        **_PRODUCTION_OFF,
        "data_dir": data_dir,
        "model": "scripted",
        "snapshot_interval_seconds": 0.2,
    }
    if TEST_MONGODB_URI:
        values["mongodb_uri"] = TEST_MONGODB_URI
        values["mongodb_database"] = f"chorus_test_{uuid.uuid4().hex[:12]}"
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def isolated_environment() -> Iterator[None]:
    """Without the developer's CHORUS_* settings (CHORUS_TEST_* stay), for fixtures that open
    before conftest's function-scoped isolation applies."""
    import pytest

    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("CHORUS_") and not name.startswith("CHORUS_TEST_"):
                patch.delenv(name)
        yield


@asynccontextmanager
async def opened_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime for ``settings``; a real test database is dropped afterwards."""
    runtime = await Runtime.open(settings)
    try:
        yield runtime
    finally:
        if settings.mongodb_uri is not None and TEST_MONGODB_URI:
            await runtime.db.client.drop_database(settings.mongodb_database)
        await runtime.close()


@asynccontextmanager
async def seeded_runtime(data_dir: Path, **overrides: object) -> AsyncIterator[tuple[Runtime, Any]]:
    """A runtime with the demo organization seeded at ``DEMO_NOW``: (runtime, DemoSummary)."""
    from services.demo import seed_demo

    async with opened_runtime(make_settings(data_dir, **overrides)) as runtime:
        yield runtime, await seed_demo(runtime, now=DEMO_NOW)


async def add_organization(db: Any, org_id: Any = None, name: str = "Test Org") -> Any:
    """An organization document (free plan) for ``org_id``, as registration makes one: runs
    of model work are admitted against an existing organization's plan."""
    from bson import ObjectId

    from persistence.models import Organization

    oid = ObjectId(str(org_id)) if org_id is not None else ObjectId()
    org = Organization(id=oid, organization_id=oid, name=name, slug=f"org-{oid}")
    await db[Organization.collection].insert_one(org.to_mongo())
    return oid


async def emitted(db: Any, org_id: Any, event_type: str) -> list[Any]:
    """The domain events of ``event_type`` the organization's outbox holds, oldest first."""
    from bson import ObjectId

    from persistence.models import DomainEvent
    from persistence.repository import TenantRepository

    return await TenantRepository(db, DomainEvent).find(
        ObjectId(str(org_id)), {"type": event_type}, sort=[("_id", 1)]
    )


async def notified(db: Any, org_id: Any, category: str) -> list[Any]:
    """The notifications of ``category`` stored for the organization's people."""
    from bson import ObjectId

    from persistence.models import Notification
    from persistence.repository import TenantRepository

    return await TenantRepository(db, Notification).find(
        ObjectId(str(org_id)), {"category": category}
    )


def run_context(org: Any, services: Any, **extra: Any) -> Any:
    """A run context for ``org`` on ``services`` (a runtime), as the run engine builds it;
    ``extra`` sets its other fields (``now``, ``thread_id``, ``graph``, ``model``)."""
    from bson import ObjectId

    from tools.context import RunContext

    return RunContext(org_id=ObjectId(str(org)), services=services, **extra)


def with_runtime(tool_input: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """A tool's input with the run's context injected, as LangGraph's ToolNode injects it."""
    from langgraph.prebuilt import ToolRuntime

    runtime = ToolRuntime(
        state={},
        context=ctx,
        config={},
        stream_writer=lambda _: None,
        tool_call_id=None,
        store=None,
    )
    if tool_input.get("type") == "tool_call":
        return {**tool_input, "args": {**tool_input["args"], "runtime": runtime}}
    return {**tool_input, "runtime": runtime}
