"""``chorus operators grant|revoke``: the only way to make a platform operator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from bson import ObjectId
from support import make_settings, opened_runtime
from typer.testing import CliRunner

from chorus.cli import app
from persistence.models import User
from persistence.repository import TenantRepository

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("CHORUS_DATA_DIR", str(path))
    monkeypatch.setenv("CHORUS_MODEL", "scripted")
    return path


def _role(data_dir: Path, email: str) -> str | None:
    async def read() -> str | None:
        async with opened_runtime(make_settings(data_dir)) as runtime:
            raw = await runtime.db["users"].find_one({"email": email})
            return raw.get("platformRole")

    return asyncio.run(read())


def test_grant_and_revoke_the_operator_role_by_email(data_dir: Path) -> None:
    async def seed() -> None:
        async with opened_runtime(make_settings(data_dir)) as runtime:
            user = User(organization_id=ObjectId(), email="opal@example.com", password_hash="x")
            await TenantRepository(runtime.db, User).insert(user)

    asyncio.run(seed())
    granted = runner.invoke(app, ["operators", "grant", "Opal@Example.com"])
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.stdout.strip().splitlines()[-1])["operator"] is True
    assert _role(data_dir, "opal@example.com") == "operator"
    revoked = runner.invoke(app, ["operators", "revoke", "opal@example.com"])
    assert revoked.exit_code == 0, revoked.output
    assert _role(data_dir, "opal@example.com") is None
    unknown = runner.invoke(app, ["operators", "grant", "nobody@example.com"])
    assert unknown.exit_code == 2
    assert "no account" in unknown.output
