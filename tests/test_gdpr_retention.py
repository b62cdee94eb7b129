"""Retention: activity older than an organization's dataRetentionDays is deleted by the
daily job (its own period for each organization; what it made stays), and consent is
recorded at registration with its date and the version of the terms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from api_support import api_client, register
from bson import ObjectId
from fastapi import FastAPI
from langgraph.checkpoint.base import empty_checkpoint
from team_support import ROOMY_LIMITS

from chorus.jobs import CRONS, JOBS
from chorus.settings import Settings
from persistence.ids import utcnow
from persistence.models import LgThread, Organization, User
from persistence.repository import TenantRepository
from services import organizations
from services.gdpr.consent import TERMS_VERSION


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with api_client(settings) as (app, client):
        app.state.rate_limits.update(ROOMY_LIMITS)
        yield app, client


async def _activity(app: FastAPI, org_id: str, age_days: int, label: str) -> None:
    """An audit entry, a notification, a run and an idle thread with a checkpoint, all
    ``age_days`` old, and a post of the same age (which is not activity)."""
    runtime = app.state.runtime
    oid, when = ObjectId(org_id), utcnow() - timedelta(days=age_days)
    db = runtime.db
    await db["audit_logs"].insert_one(
        {
            "organizationId": oid,
            "timestamp": when,
            "createdAt": when,
            "summary": label,
            "action": "update",
            "resource": {"type": "test"},
        }
    )
    await db["notifications"].insert_one({"organizationId": oid, "createdAt": when, "label": label})
    await db["lg_runs"].insert_one({"organizationId": oid, "createdAt": when, "runId": label})
    await db["posts"].insert_one({"organizationId": oid, "createdAt": when, "content": label})
    thread = LgThread(organization_id=oid, thread_id=label, created_at=when)
    await TenantRepository(db, LgThread).insert(thread)
    config = {"configurable": {"thread_id": label, "organization_id": org_id, "checkpoint_ns": ""}}
    await runtime.checkpointer.aput(config, empty_checkpoint(), {}, {})


async def test_the_daily_job_deletes_activity_past_each_organizations_own_period(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    acme = (await register(client, "ada@example.com", "Acme"))["organization"]["id"]
    other = (await register(client, "bob@example.com", "Other"))["organization"]["id"]
    db = app.state.runtime.db
    await organizations.update(
        db, ObjectId(acme), organizations.OrganizationUpdate(data_retention_days=30)
    )  # Other keeps the default, 365 days
    for org in (acme, other):
        await _activity(app, org, 40, f"old-{org}")
        await _activity(app, org, 10, f"new-{org}")

    removed = await JOBS["apply_retention"]({"engine": app.state.runtime.engine})

    # The old audit entry, notification, run and idle thread (with its checkpoints).
    assert removed == {acme: 4}
    acme_id = ObjectId(acme)
    for collection in ("audit_logs", "notifications", "lg_runs"):
        old = {"organizationId": acme_id, "createdAt": {"$lt": utcnow() - timedelta(days=30)}}
        assert await db[collection].count_documents(old) == 0, collection
        assert await db[collection].count_documents({"organizationId": acme_id}) >= 1
    assert await db["posts"].count_documents({"organizationId": acme_id}) == 2
    threads = app.state.runtime.checkpointer
    assert await threads.atenant_threads(acme) == [f"new-{acme}"]
    assert sorted(await threads.atenant_threads(other)) == sorted([f"new-{other}", f"old-{other}"])
    assert await db["notifications"].count_documents({"organizationId": ObjectId(other)}) == 2
    assert "apply_retention" in CRONS


async def test_registration_records_consent_with_its_date_and_the_terms_version(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    before = utcnow()
    made = await register(client, "ada@example.com", "Acme")
    db = app.state.runtime.db
    org_id = ObjectId(made["organization"]["id"])
    user = await TenantRepository(db, User).get(org_id, ObjectId(made["user"]["id"]))
    org = await TenantRepository(db, Organization).get(org_id, org_id)
    assert user is not None
    assert org is not None
    assert user.gdpr.consent_granted is True
    assert user.gdpr.terms_version == TERMS_VERSION
    assert user.gdpr.consent_date is not None
    assert before <= user.gdpr.consent_date <= utcnow()
    assert org.gdpr.terms_version == TERMS_VERSION
    assert org.gdpr.consent_date == user.gdpr.consent_date
