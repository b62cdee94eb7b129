"""The membership rules below the API: an organization never ends without an admin, even when
two admins change at once (a stale count is caught after the change and the change undone);
adoption of users stored before memberships happens once; domain names are checked the way
invitations need."""

from __future__ import annotations

import asyncio

import pytest

from chorus.runtime import Runtime
from persistence.admin import OrganizationAdmin
from persistence.errors import Conflict
from persistence.models import Membership, User
from persistence.repository import TenantRepository
from services import members
from services.organizations import normalize_domain


async def _admins(runtime: Runtime, name: str) -> tuple[object, list[User]]:
    org = await OrganizationAdmin(runtime.db).create(name)
    users = [
        User(
            organization_id=org.id, email=f"{name}{i}@example.com", password_hash="h", role="admin"
        )
        for i in range(2)
    ]
    for user in users:
        await TenantRepository(runtime.db, User).insert(user)
        await members.adopt(runtime.db, user)
    return org.id, users


def _stale_first_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first admin count answers 2, as a request that read it just before another
    admin's concurrent demotion was stored would see; later counts are real."""
    real = members.admin_count
    calls = {"n": 0}

    async def count(db: object, org_id: object) -> int:
        calls["n"] += 1
        return 2 if calls["n"] == 1 else await real(db, org_id)

    monkeypatch.setattr(members, "admin_count", count)


async def test_a_demotion_racing_another_is_undone_when_no_admin_would_be_left(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    org_id, (a, b) = await _admins(runtime, "race")
    # The other admin's demotion has just been stored...
    await TenantRepository(runtime.db, Membership).update_many(
        org_id, {"userId": a.id}, {"role": "user"}
    )
    # ... after this request counted two admins.
    _stale_first_count(monkeypatch)
    with pytest.raises(Conflict) as refused:
        await members.change_role(runtime.db, org_id, b.id, "viewer")
    assert refused.value.code == "last_admin"
    assert (await members.get_member(runtime.db, org_id, b.id)).membership.role == "admin"


async def test_a_removal_racing_a_demotion_is_undone_when_no_admin_would_be_left(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    org_id, (a, b) = await _admins(runtime, "leavers")
    await TenantRepository(runtime.db, Membership).update_many(
        org_id, {"userId": a.id}, {"role": "user"}
    )
    _stale_first_count(monkeypatch)
    with pytest.raises(Conflict):
        await members.remove(runtime.db, org_id, b.id)
    kept = await members.get_member(runtime.db, org_id, b.id)
    assert (kept.membership.role, kept.membership.status) == ("admin", "active")


async def test_adoption_makes_one_membership_however_often_it_runs(runtime: Runtime) -> None:
    org = await OrganizationAdmin(runtime.db).create("Adopters")
    user = User(organization_id=org.id, email="old@example.com", password_hash="h", role="viewer")
    await TenantRepository(runtime.db, User).insert(user)
    await asyncio.gather(*(members.adopt(runtime.db, user) for _ in range(5)))
    await members.adopt_organization(runtime.db, org.id)
    found = await TenantRepository(runtime.db, Membership).find(org.id, {"userId": user.id})
    assert [(m.role, m.status) for m in found] == [("viewer", "active")]
    [choice] = await members.organizations_of(runtime.db, user)
    assert choice.organization.id == org.id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("@acme.example", "acme.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("sub.domain.example.", "sub.domain.example"),
        ("localhost", None),
        ("10.0.0.1", None),
        ("bad_domain.example", None),
        ("-lead.example", None),
        ("has space.example", None),
        ("", None),
    ],
)
def test_domain_names_are_normalized_or_refused(raw: str, expected: str | None) -> None:
    assert normalize_domain(raw) == expected
