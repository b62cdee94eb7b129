"""Tenant-first repositories: no call made here reaches another tenant's documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.indexes import INDEXES, ensure_indexes
from persistence.models import Post, User
from persistence.models.content import PostContent, Scheduling
from persistence.models.organizations import UserSession
from persistence.repository import TenantRepository, TenantViolation


def _post(org_id: ObjectId, text: str, status: str = "draft") -> Post:
    return Post(
        organization_id=org_id,
        content=PostContent(text=text, hashtags=["#coffee"]),
        scheduling=Scheduling(status=status),  # type: ignore[arg-type]
    )


@pytest.fixture
async def two_tenants(runtime: Runtime) -> tuple[ObjectId, ObjectId]:
    admin = OrganizationAdmin(runtime.db)
    a = await admin.create("Tenant A")
    b = await admin.create("Tenant B")
    return a.id, b.id


async def test_documents_round_trip_with_types_intact(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, _ = two_tenants
    posts = TenantRepository(runtime.db, Post)
    stored = await posts.insert(_post(org_a, "Cold brew is back"))
    raw = await runtime.db.posts.find_one({"_id": stored.id})
    assert raw["organizationId"] == org_a  # camelCase and a native ObjectId in MongoDB
    assert raw["content"]["hashtags"] == ["#coffee"]
    loaded = await posts.get(org_a, stored.id)
    assert loaded is not None
    assert loaded.content.text == "Cold brew is back"
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at == stored.created_at


async def test_another_tenants_ids_reach_nothing(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, org_b = two_tenants
    posts = TenantRepository(runtime.db, Post)
    mine = await posts.insert(_post(org_a, "A's post"))
    assert await posts.get(org_b, mine.id) is None
    assert await posts.find(org_b) == []
    assert await posts.count(org_b) == 0
    assert await posts.update(org_b, mine.id, {"content.text": "hijacked"}) is None
    assert await posts.delete(org_b, mine.id) is False
    assert await posts.update_many(org_b, {}, {"content.text": "hijacked"}) == 0
    assert await posts.delete_all(org_b) == 0
    untouched = await posts.get(org_a, mine.id)
    assert untouched is not None
    assert untouched.content.text == "A's post"


async def test_filters_cannot_choose_the_tenant(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, org_b = two_tenants
    posts = TenantRepository(runtime.db, Post)
    await posts.insert(_post(org_a, "A's post"))
    with pytest.raises(TenantViolation):
        await posts.find(org_b, {"organizationId": org_a})
    # An $or naming the other tenant is ANDed with the caller's tenant, so it finds nothing.
    assert await posts.find(org_b, {"$or": [{"organizationId": org_a}, {}]}) == []
    with pytest.raises(TenantViolation):
        await posts.update(org_a, ObjectId(), {"organizationId": org_b})
    with pytest.raises(TenantViolation):
        await posts.insert_many(org_b, [_post(org_a, "smuggled")])


async def test_aggregations_always_start_inside_the_tenant(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, org_b = two_tenants
    posts = TenantRepository(runtime.db, Post)
    await posts.insert_many(org_a, [_post(org_a, "x", "scheduled"), _post(org_a, "y", "draft")])
    await posts.insert(_post(org_b, "z", "scheduled"))
    rows = await posts.aggregate(
        org_a,
        [{"$group": {"_id": "$scheduling.status", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}],
    )
    assert rows == [{"_id": "draft", "n": 1}, {"_id": "scheduled", "n": 1}]


async def test_update_sets_updated_at_and_returns_the_new_document(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, _ = two_tenants
    posts = TenantRepository(runtime.db, Post)
    post = await posts.insert(_post(org_a, "draft"))
    updated = await posts.update(org_a, post.id, {"scheduling.status": "scheduled"})
    assert updated is not None
    assert updated.scheduling.status == "scheduled"
    assert updated.updated_at is not None


async def test_indexes_are_idempotent_and_email_is_unique(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, org_b = two_tenants
    assert await ensure_indexes(runtime.db) == len(INDEXES)  # second time: no error
    users = TenantRepository(runtime.db, User)
    await users.insert(User(organization_id=org_a, email="Sam@Example.com", password_hash="h"))
    with pytest.raises(DuplicateKeyError):
        # The same address in another tenant, differently cased: still one sign-in per email.
        await users.insert(User(organization_id=org_b, email="sam@example.com", password_hash="h"))
    found = await OrganizationAdmin(runtime.db).find_user_by_email("SAM@example.com")
    assert found is not None
    assert found.organization_id == org_a


async def test_organization_slugs_are_unique_and_orgs_own_themselves(runtime: Runtime) -> None:
    admin = OrganizationAdmin(runtime.db)
    first = await admin.create("Café Olé!")
    second = await admin.create("Cafe Ole")
    assert first.slug == "cafe-ole"
    assert second.slug == "cafe-ole-2"
    assert first.organization_id == first.id
    assert [o.slug for o in await admin.list()] == ["cafe-ole", "cafe-ole-2"]
    with pytest.raises(ValueError, match="empty"):
        await admin.create("  ")


async def test_purge_expired_sessions_job(
    runtime: Runtime, two_tenants: tuple[ObjectId, ObjectId]
) -> None:
    org_a, _ = two_tenants
    sessions = TenantRepository(runtime.db, UserSession)
    now = datetime.now(UTC)
    for expires, token in ((now - timedelta(hours=1), "old"), (now + timedelta(days=1), "new")):
        await sessions.insert(
            UserSession(
                organization_id=org_a,
                user_id=ObjectId(),
                token_hash=token,
                family_id="f",
                expires_at=expires,
            )
        )
    job_id = await runtime.jobs.enqueue("purge_expired_sessions")
    assert await runtime.jobs.result(job_id) == 1  # type: ignore[attr-defined]
    assert [s.token_hash for s in await sessions.find(org_a)] == ["new"]
