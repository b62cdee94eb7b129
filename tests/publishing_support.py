"""A scene for the publishing tests: an organization with an X and a Bluesky account connected
on the sandbox, a publisher over them, and helpers to make posts and count what the sandbox
holds. Test modules import the fixture: ``from publishing_support import scene_fixture``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from bson import ObjectId
from sandbox_support import make_provider

from chorus.runtime import Runtime
from persistence.ids import utcnow
from persistence.models import Post, SocialAccount
from persistence.models.content import (
    AccountInfo,
    MediaFile,
    PlatformTarget,
    PostContent,
    Scheduling,
)
from persistence.models.events import DomainEvent
from persistence.ratelimit import InProcessRateLimiter
from persistence.repository import TenantRepository
from sandbox.accounts import SandboxAccountAccess, connect_user
from sandbox.client import SandboxControl
from services.publishing import PublishConfig, Publisher, RetryPolicy
from tools.platforms import Tokens

QUICK = RetryPolicy(max_attempts=3, base_seconds=0.01, cap_seconds=0.05)


@dataclass
class Scene:
    runtime: Runtime
    sandbox: SandboxControl
    access: SandboxAccountAccess
    org: ObjectId
    accounts: dict[str, SocialAccount]
    tokens: dict[str, Tokens]

    def publisher(self, worker: str | None = None, **config: object) -> Publisher:
        settings = {"lease_seconds": 30.0, "policy": QUICK, **config}
        return Publisher(
            self.runtime.db,
            self.runtime.media,
            self.access,
            self.runtime.events,
            InProcessRateLimiter(),
            config=PublishConfig(**settings),  # type: ignore[arg-type]
            worker=worker,
        )

    async def post(
        self,
        text: str,
        networks: tuple[str, ...] = ("twitter",),
        *,
        status: str = "scheduled",
        at: timedelta = timedelta(seconds=-1),
        media: list[MediaFile] | None = None,
        org: ObjectId | None = None,
    ) -> Post:
        post = Post(
            organization_id=org or self.org,
            content=PostContent(text=text, media_files=media or []),
            scheduling=Scheduling(status=status, scheduled_at=utcnow() + at),  # type: ignore[arg-type]
            platforms=[
                PlatformTarget(social_account_id=self.accounts[n].id, platform=n) for n in networks
            ],
        )
        return await TenantRepository(self.runtime.db, Post).insert(post)

    async def reload(self, post: Post) -> Post:
        found = await TenantRepository(self.runtime.db, Post).get(post.organization_id, post.id)
        assert found is not None
        return found

    def made(self, network: str, text: str) -> int:
        """How many posts with ``text`` the sandbox holds for ``network``."""
        prefix = {"twitter": "x", "bluesky": "bluesky"}[network]
        return sum(1 for p in self.sandbox.posts(prefix) if p["text"] == text)


@pytest.fixture(name="scene")
async def scene_fixture(runtime: Runtime, sandbox: SandboxControl) -> AsyncIterator[Scene]:
    providers = {n: make_provider(n) for n in ("twitter", "bluesky")}
    access = SandboxAccountAccess(providers)
    org = ObjectId()
    accounts, tokens = {}, {}
    for network in providers:
        tokens[network] = await connect_user(providers[network], sandbox, username="brand")
        account = SocialAccount(
            organization_id=org,
            platform=network,  # type: ignore[arg-type]
            account_info=AccountInfo(platform_id=tokens[network].account_id or "", username="b"),
        )
        await TenantRepository(runtime.db, SocialAccount).insert(account)
        access.add(account, tokens[network])
        accounts[network] = account
    yield Scene(runtime, sandbox, access, org, accounts, tokens)
    for provider in providers.values():
        await provider.aclose()


async def events_of(scene: Scene, kind: str) -> list[DomainEvent]:
    return await TenantRepository(scene.runtime.db, DomainEvent).find(scene.org, {"type": kind})


async def make_due(scene: Scene, post: Post) -> None:
    """Let time pass for a post waiting between attempts: its retries are due now."""
    due = utcnow() - timedelta(seconds=1)
    changes = {"publishing.leaseUntil": due}
    for index in range(len(post.platforms)):
        changes[f"platforms.{index}.nextAttemptAt"] = due
    await TenantRepository(scene.runtime.db, Post).update(post.organization_id, post.id, changes)
