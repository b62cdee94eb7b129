"""Helpers for the content workspace tests: connected accounts, times, post bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from fastapi import FastAPI

from persistence.embedded_mongo import EmbeddedMongo
from persistence.ids import utcnow
from persistence.indexes import ensure_indexes
from persistence.models import Post, SocialAccount
from persistence.models.content import AccountInfo
from persistence.repository import TenantRepository


@pytest.fixture(name="db")
async def indexed_db_fixture(tmp_path: Path) -> AsyncIterator[Any]:
    """An embedded database with the project's indexes (no journal, no snapshots)."""
    engine = EmbeddedMongo(tmp_path / "documents", snapshot_interval=0, journal=False)
    database = engine.async_client["chorus"]
    await ensure_indexes(database)
    yield database
    engine.close()


async def connect(app: FastAPI, org_id: str, platform: str, username: str = "brand") -> str:
    """A connected social account of ``org_id`` on ``platform``; its id."""
    account = SocialAccount(
        organization_id=ObjectId(org_id),
        platform=platform,  # type: ignore[arg-type]
        account_info=AccountInfo(platform_id=str(ObjectId()), username=username),
    )
    await TenantRepository(app.state.runtime.db, SocialAccount).insert(account)
    return str(account.id)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def soon(hours: float = 2) -> datetime:
    return utcnow() + timedelta(hours=hours)


def post_body(account_ids: list[str], text: str = "Fresh cold brew is here.", **extra: Any) -> dict:
    body: dict[str, Any] = {
        "content": {"text": text, "hashtags": extra.pop("hashtags", ["coffee"])},
        "platforms": [{"socialAccountId": a} for a in account_ids],
    }
    body.update(extra)
    return body


async def stored_post(app: FastAPI, org_id: str, post_id: str) -> Post | None:
    return await TenantRepository(app.state.runtime.db, Post).get(
        ObjectId(org_id), ObjectId(post_id)
    )


async def set_raw(app: FastAPI, post_id: str, changes: dict[str, Any]) -> None:
    """Change a post as another component would (the publishing engine claiming it)."""
    db = app.state.runtime.db
    await db["posts"].update_one({"_id": ObjectId(post_id)}, {"$set": changes})


def now() -> datetime:
    return utcnow()
