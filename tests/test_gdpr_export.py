"""GDPR export: POST /api/users/export-data builds an archive in the background; GET answers
202 until it is ready, then the zip once. The archive holds what it should (an admin's: the
organization's every store; a person's: what names them) and nothing of another tenant, and
no credential."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import api_client, assert_error_shape, bearer, register
from bson import ObjectId
from fastapi import FastAPI
from gdpr_support import FUTURE_COLLECTION, fake_memory, plant
from team_support import ROOMY_LIMITS, headers_of, member

from chorus.settings import Settings
from persistence.ids import utcnow
from persistence.models import DataExport
from persistence.repository import TenantRepository


@pytest.fixture
async def api(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        fake_memory(app, tmp_path / "chroma")
        yield app, client


async def _ready(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """Poll the export until it stops answering 202; that answer."""
    async with asyncio.timeout(60):
        while True:
            response = await client.get(url, headers=headers)
            if response.status_code != 202:
                return response
            assert response.json()["status"] in ("pending", "processing")
            await asyncio.sleep(0.05)


def _unzip(response: httpx.Response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_an_admin_exports_every_store_of_the_organization_and_nothing_of_another(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    bob = await register(client, "bob@example.com", "Other")
    acme, other = ada["organization"]["id"], bob["organization"]["id"]
    await client.post("/api/api-keys", json={"name": "ci"}, headers=bearer(ada["accessToken"]))
    planted = await plant(app, acme, ada["user"]["id"])
    await plant(app, other, bob["user"]["id"])
    headers = bearer(ada["accessToken"])

    started = await client.post("/api/users/export-data", headers=headers)

    assert started.status_code == 202, started.text
    assert started.json()["scope"] == "organization"
    files = _unzip(await _ready(client, started.json()["downloadUrl"], headers))
    manifest = json.loads(files["manifest.json"])
    assert manifest["organizationId"] == acme
    assert {"documents/posts.json", f"documents/{FUTURE_COLLECTION}.json", "audit.json"} <= set(
        files
    )
    assert json.loads(files["documents/posts.json"])[0]["content"] == f"post of {acme}"
    memories = json.loads(files["memory/brand_voice.json"])
    assert [m["id"] for m in memories] == [planted["memory_id"]]
    threads = [json.loads(v) for k, v in files.items() if k.startswith("checkpoints/")]
    assert [t["threadId"] for t in threads] == ["t1"]
    assert threads[0]["checkpoints"][0]["pendingWrites"][0]["value"] == "hello"
    media_name = "media/" + planted["media_key"].split("/", 1)[1]
    assert files[media_name] == b"\x89PNG tenant"
    assert any(e["operation"] == "auth.registered" for e in json.loads(files["audit.json"]))
    everything = b"".join(files.values())
    assert other.encode() not in everything
    assert b"bob@example.com" not in everything
    # No credential leaves: password hashes, key hashes.
    assert b"$argon2" not in everything
    db = app.state.runtime.db
    stored_key = await db["api_keys"].find_one({"organizationId": ObjectId(acme)})
    assert stored_key["keyHash"].encode() not in everything
    assert b'"passwordHash": "[withheld: a credential]"' in everything
    # Once only: the archive is gone from the store as it is handed out.
    again = await client.get(started.json()["downloadUrl"], headers=headers)
    assert assert_error_shape(again, 404)["code"] == "export_gone"
    assert not [m for m in await app.state.runtime.media.list(acme) if "gdpr-export" in m.key]
    stored = await TenantRepository(app.state.runtime.db, DataExport).get(
        ObjectId(acme), ObjectId(started.json()["id"])
    )
    assert stored is not None
    assert stored.output.downloaded_at is not None
    assert (
        await db["audit_logs"].count_documents(
            {
                "organizationId": ObjectId(acme),
                "operation": "gdpr.export_downloaded",
                "action": "export",
            }
        )
        == 1
    )


async def test_a_person_exports_what_names_them_and_not_their_colleagues_data(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    acme = ada["organization"]["id"]
    vic = await member(app, client, acme, "vic@example.com", "user")
    await plant(app, acme, vic["user"]["id"])
    await app.state.runtime.db["posts"].insert_one(
        {
            "organizationId": ObjectId(acme),
            "userId": ObjectId(ada["user"]["id"]),
            "content": "ada's",
        }
    )
    headers = headers_of(vic)
    started = await client.post("/api/users/export-data", headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["scope"] == "person"
    files = _unzip(await _ready(client, started.json()["downloadUrl"], headers))
    assert json.loads(files["account.json"])["email"] == "vic@example.com"
    posts = json.loads(files["documents/posts.json"])
    assert [p["content"] for p in posts] == [f"post of {acme}"]
    # Their runs' thread and its checkpoints come along; their colleague's account does not.
    assert any(k.startswith("checkpoints/") for k in files)
    everything = b"".join(files.values())
    assert b"ada@example.com" not in everything
    audit = json.loads(files["audit.json"])
    assert audit
    assert all(e["userId"] == vic["user"]["id"] for e in audit)


async def test_export_roles_tenancy_and_bad_input(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    bob = await register(client, "bob@example.com", "Other")
    acme = ada["organization"]["id"]
    vic = await member(app, client, acme, "vic@example.com", "viewer")
    db = app.state.runtime.db
    # A viewer may export themselves, not the organization.
    refused = await client.post(
        "/api/users/export-data", json={"scope": "organization"}, headers=headers_of(vic)
    )
    assert_error_shape(refused, 403)
    # An API key may not take personal data out.
    key = await client.post(
        "/api/api-keys", json={"name": "ci"}, headers=bearer(ada["accessToken"])
    )
    assert_error_shape(
        await client.post("/api/users/export-data", headers={"x-api-key": key.json()["key"]}), 403
    )
    bad = await client.post(
        "/api/users/export-data", json={"scope": "everything"}, headers=bearer(ada["accessToken"])
    )
    error = assert_error_shape(bad, 422)
    assert [f["field"] for f in error["fields"]] == ["body.scope"]
    assert await db["data_exports"].count_documents({}) == 0
    assert_error_shape(
        await client.get("/api/users/export-data/not-an-id", headers=bearer(ada["accessToken"])),
        422,
    )
    # Another organization's export, and a colleague's, are not found.
    mine = await client.post("/api/users/export-data", headers=bearer(ada["accessToken"]))
    url = mine.json()["downloadUrl"]
    assert_error_shape(await client.get(url, headers=bearer(bob["accessToken"])), 404)
    assert_error_shape(await client.get(url, headers=headers_of(vic)), 404)
    assert (await _ready(client, url, bearer(ada["accessToken"]))).status_code == 200


async def test_an_archive_not_downloaded_in_time_expires_and_is_deleted(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    ada = await register(client, "ada@example.com", "Acme")
    acme, headers = ada["organization"]["id"], bearer(ada["accessToken"])
    started = await client.post("/api/users/export-data", json={"scope": "person"}, headers=headers)
    repo = TenantRepository(app.state.runtime.db, DataExport)
    export_id = ObjectId(started.json()["id"])

    async def built() -> Any:
        found = await repo.get(ObjectId(acme), export_id)
        return found is not None and found.processing.status == "completed"

    async with asyncio.timeout(60):
        while not await built():  # noqa: ASYNC110 - the job runs on this loop
            await asyncio.sleep(0.05)
    await repo.update(
        ObjectId(acme), export_id, {"output.expiresAt": utcnow() - timedelta(seconds=1)}
    )
    gone = await client.get(started.json()["downloadUrl"], headers=headers)
    assert assert_error_shape(gone, 404)["code"] == "export_gone"
    assert not await app.state.runtime.media.list(acme)
