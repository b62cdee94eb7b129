"""Warnings on schedule: the same text already queued for an account, another post on the
same account within the hour; per organization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from chorus.runtime import Runtime
from persistence.models import Post
from persistence.models.content import PlatformTarget, PostContent, Scheduling
from persistence.repository import TenantRepository
from services.publishing.warnings import schedule_warnings

NOON = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ORG, OTHER_ORG = ObjectId(), ObjectId()
X, BSKY = ObjectId(), ObjectId()


def post(
    text: str,
    at: datetime | None = NOON,
    *,
    accounts: tuple[tuple[ObjectId, str], ...] = ((X, "twitter"),),
    status: str = "scheduled",
    org: ObjectId = ORG,
    hashtags: tuple[str, ...] = (),
    own_text: str | None = None,
) -> Post:
    return Post(
        organization_id=org,
        content=PostContent(text=text, hashtags=list(hashtags)),
        scheduling=Scheduling(status=status, scheduled_at=at),  # type: ignore[arg-type]
        platforms=[
            PlatformTarget(social_account_id=a, platform=p, text=own_text)  # type: ignore[arg-type]
            for a, p in accounts
        ],
    )


@pytest.fixture
async def stored(runtime: Runtime) -> TenantRepository[Post]:
    return TenantRepository(runtime.db, Post)


async def codes(runtime: Runtime, candidate: Post) -> list[str]:
    return [
        w.code for w in await schedule_warnings(runtime.db, candidate.organization_id, candidate)
    ]


async def test_the_same_text_queued_for_the_account_is_a_duplicate_whatever_the_day(
    runtime: Runtime, stored: TenantRepository[Post]
) -> None:
    first = await stored.insert(post("New  beans are IN", NOON + timedelta(days=3)))
    [warning] = await schedule_warnings(runtime.db, ORG, post("new beans are in"))
    assert warning.code == "duplicate_text"
    assert warning.other_post_id == first.id
    assert warning.social_account_id == X
    assert "duplicate" in warning.message


async def test_a_duplicate_compares_what_the_network_receives(
    runtime: Runtime, stored: TenantRepository[Post]
) -> None:
    await stored.insert(post("Roast day", NOON + timedelta(days=1), hashtags=("coffee",)))
    assert await codes(runtime, post("Roast day")) == []  # the queued one ends in #coffee
    assert await codes(runtime, post("Roast day", own_text="Roast day\n\n#coffee")) == [
        "duplicate_text"
    ]


async def test_published_drafts_other_accounts_and_other_organizations_are_no_duplicates(
    runtime: Runtime, stored: TenantRepository[Post]
) -> None:
    later = NOON + timedelta(days=2)
    await stored.insert(post("Same words", later, status="published"))
    await stored.insert(post("Same words", later, status="draft"))
    await stored.insert(post("Same words", later, accounts=((BSKY, "bluesky"),)))
    await stored.insert(post("Same words", later, org=OTHER_ORG))
    assert await codes(runtime, post("Same words")) == []


async def test_another_post_on_the_account_within_the_hour_is_named_with_the_gap(
    runtime: Runtime, stored: TenantRepository[Post]
) -> None:
    near = await stored.insert(post("Earlier", NOON - timedelta(minutes=40), status="published"))
    await stored.insert(post("Far enough", NOON + timedelta(minutes=61)))
    await stored.insert(post("Other account", NOON, accounts=((BSKY, "bluesky"),)))
    [warning] = await schedule_warnings(runtime.db, ORG, post("Now"))
    assert warning.code == "same_account_within_hour"
    assert warning.other_post_id == near.id
    assert warning.message.endswith("40 minutes before this one")


async def test_a_stored_post_is_not_compared_with_itself(
    runtime: Runtime, stored: TenantRepository[Post]
) -> None:
    mine = await stored.insert(post("Only me"))
    assert await schedule_warnings(runtime.db, ORG, mine) == []


async def test_a_post_on_two_accounts_gets_a_warning_for_each_that_clashes(
    runtime: Runtime, stored: TenantRepository[Post]
) -> None:
    await stored.insert(post("Both", NOON + timedelta(minutes=10), accounts=((BSKY, "bluesky"),)))
    both = post("Both", accounts=((X, "twitter"), (BSKY, "bluesky")))
    found = await schedule_warnings(runtime.db, ORG, both)
    assert sorted((w.code, w.platform) for w in found) == [
        ("duplicate_text", "bluesky"),
        ("same_account_within_hour", "bluesky"),
    ]
