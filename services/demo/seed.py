"""``seed_demo``: the demo organization in the database, created once.

Idempotency: the organization is found by its slug. Users are written last, so an organization
without its admin user is a run that stopped part-way; it is emptied and seeded again (unless
it started moments ago, when another process is probably still seeding it: then we wait).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from persistence.admin import OrganizationAdmin
from persistence.analytics_versions import bump_analytics_version
from persistence.ids import utcnow
from persistence.models import Analytics, Document, Organization, Post, SocialAccount, User
from persistence.models.organizations import (
    Authentication,
    OrganizationGdpr,
    OrganizationSettings,
    Profile,
    Subscription,
    UserGdpr,
)
from persistence.passwords import hash_password, verify_password
from persistence.repository import TenantRepository
from services.demo.generate import Progress, Team, account_metrics, build_accounts, generate
from services.demo.planted import (
    ADMIN_EMAIL,
    BANNED_TERMS,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEMO_SLUG,
    INDUSTRY,
    ORG_NAME,
    PASSWORD_FILE,
    TIMEZONE,
    USERS,
)

log = logging.getLogger(__name__)

CHUNK = 100  # documents per insert_many: big enough to be fast, small enough for progress
# An unfinished demo organization younger than this is taken to be another process at work.
IN_PROGRESS_GRACE = timedelta(minutes=5)
SEEDED_COLLECTIONS: tuple[type[Document], ...] = (User, SocialAccount, Post, Analytics)


class DemoSummary(BaseModel):
    """What ``seed_demo`` made or found."""

    organization_id: str  # 24-hex ObjectId
    slug: str
    admin_email: str
    admin_password: str = Field(repr=False)
    password_file: str
    users: int
    social_accounts: int
    posts: int
    analytics: int
    created: bool
    seconds: float


async def seed_demo(
    runtime: Any,
    *,
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create the demo organization with ``days`` days of posts and analytics, or return the
    existing one (``created=False``). Same ``seed``, ``days`` and ``now``: same data."""
    if not 1 <= days <= 3650:
        raise ValueError("days must be between 1 and 3650")
    started = time.perf_counter()
    now = _as_utc(now) if now else utcnow()
    db = runtime.db
    password_path = Path(runtime.settings.data_dir) / "secrets" / PASSWORD_FILE
    admin = OrganizationAdmin(db)

    org = await admin.get_by_slug(DEMO_SLUG)
    ours = org is None
    if org is None:
        org = await _create_org(admin, db, now)
        if org is None:  # another process took the slug between our look and our write
            ours, org = False, await admin.get_by_slug(DEMO_SLUG)
            if org is None:
                raise RuntimeError("the demo organization appeared and vanished; run again")
    if not ours:
        if await _finished(db, org):
            return await _existing(db, org, password_path, started)
        log.warning("demo organization %s is incomplete; seeding it again", org.id)
        for model in SEEDED_COLLECTIONS:
            await TenantRepository(db, model).delete_all(org.id)

    admin_id = ObjectId()
    accounts = build_accounts(org.id, admin_id, now)
    team = Team(org.id, admin_id, ObjectId(), {a.platform: a.id for a in accounts})
    posts, analytics = generate(random.Random(seed), team, days=days, now=now, progress=progress)
    for account in accounts:
        account.metrics = account_metrics(analytics, account.platform)

    await _insert(db, org.id, SocialAccount, accounts, progress)
    await _insert(db, org.id, Post, posts, progress)
    await _insert(db, org.id, Analytics, analytics, progress)
    await bump_analytics_version(db, org.id)

    # Users last: the admin user's presence is what marks the seeding as finished.
    password = secrets.token_urlsafe(18)
    _write_secret(password_path, password)
    users = await _users(org.id, team, password, now)
    await _insert(db, org.id, User, users, progress)
    seconds = round(time.perf_counter() - started, 3)
    log.info("seeded demo organization %s in %.2fs", org.id, seconds)
    return DemoSummary(
        organization_id=str(org.id),
        slug=org.slug,
        admin_email=ADMIN_EMAIL,
        admin_password=password,
        password_file=str(password_path),
        users=len(users),
        social_accounts=len(accounts),
        posts=len(posts),
        analytics=len(analytics),
        created=True,
        seconds=seconds,
    )


async def _create_org(admin: OrganizationAdmin, db: Any, now: datetime) -> Organization | None:
    """The demo organization, or None if another process took the slug first."""
    try:
        return await admin.create(
            ORG_NAME,
            slug=DEMO_SLUG,
            subscription=Subscription(
                plan="pro",
                next_billing_date=now + timedelta(days=18),
            ),
            settings=OrganizationSettings(
                timezone=TIMEZONE,
                banned_terms=list(BANNED_TERMS),
                industry=INDUSTRY,
                allowed_domains=["chorus.example"],
                data_retention_days=730,
            ),
            gdpr=OrganizationGdpr(consent_required=True, consent_date=now - timedelta(days=400)),
            created_at=now - timedelta(days=400),
            # When seeding began: another seeder waits on an organization touched recently.
            updated_at=utcnow(),
        )
    except DuplicateKeyError:
        return None


async def _finished(db: Any, org: Organization) -> bool:
    """Whether the organization's seeding completed. While it is younger than the grace
    period another process is probably still writing it, so wait for that one."""
    users = TenantRepository(db, User)
    started = org.updated_at or org.created_at
    waited = False
    while True:
        if await users.count(org.id, {"email": ADMIN_EMAIL}):
            return True
        if utcnow() - started > IN_PROGRESS_GRACE:
            return False
        if not waited:
            log.info("demo organization is being seeded by another process; waiting")
            waited = True
        await asyncio.sleep(1.0)


async def _existing(db: Any, org: Organization, password_path: Path, started: float) -> DemoSummary:
    """The summary of an already seeded organization, with a working admin password."""
    users = TenantRepository(db, User)
    admin_user = await users.find_one(org.id, {"email": ADMIN_EMAIL})
    if admin_user is None:
        raise RuntimeError("the demo admin user disappeared while seeding")
    password = _read_secret(password_path)
    if password is None or not await asyncio.to_thread(
        verify_password, admin_user.password_hash, password
    ):
        # No file here (seeded from another machine) or a stale one: a new password, stored.
        password = secrets.token_urlsafe(18)
        hashed = await asyncio.to_thread(hash_password, password)
        await users.update(org.id, admin_user.id, {"passwordHash": hashed})
        _write_secret(password_path, password)
        log.info("demo admin password reset; stored in %s", password_path)
    return DemoSummary(
        organization_id=str(org.id),
        slug=org.slug,
        admin_email=ADMIN_EMAIL,
        admin_password=password,
        password_file=str(password_path),
        users=await users.count(org.id),
        social_accounts=await TenantRepository(db, SocialAccount).count(org.id),
        posts=await TenantRepository(db, Post).count(org.id),
        analytics=await TenantRepository(db, Analytics).count(org.id),
        created=False,
        seconds=round(time.perf_counter() - started, 3),
    )


async def _users(org_id: ObjectId, team: Team, password: str, now: datetime) -> list[User]:
    """The admin signs in with ``password``; the others get passwords nobody knows."""
    ids = {"admin": team.admin_id, "manager": team.manager_id}
    joined = now - timedelta(days=400)
    hashes = [
        # Argon2 takes tens of milliseconds of CPU: keep it off the event loop.
        await asyncio.to_thread(
            hash_password, password if email == ADMIN_EMAIL else secrets.token_urlsafe(18)
        )
        for email, *_ in USERS
    ]
    return [
        User(
            id=ids.get(role, ObjectId()),
            organization_id=org_id,
            email=email,
            password_hash=hashed,
            profile=Profile(first_name=first, last_name=last, timezone=TIMEZONE),
            role=role,  # type: ignore[arg-type]
            authentication=Authentication(email_verified=True),
            gdpr=UserGdpr(
                consent_granted=True,
                consent_date=joined,
                processing_purposes=["service", "analytics"],
            ),
            created_at=joined,
        )
        for (email, role, first, last), hashed in zip(USERS, hashes, strict=True)
    ]


async def _insert(
    db: Any,
    org_id: ObjectId,
    model: type[Document],
    docs: Sequence[Document],
    progress: Progress | None,
) -> None:
    repo: TenantRepository[Any] = TenantRepository(db, model)
    for start in range(0, len(docs), CHUNK):
        await repo.insert_many(org_id, docs[start : start + CHUNK])
        if progress:
            progress(model.collection, min(start + CHUNK, len(docs)), len(docs))


def _read_secret(path: Path) -> str | None:
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    return value or None


def _write_secret(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` atomically, the file 0600 in a 0700 directory."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent.stat().st_mode & 0o077:
        try:
            os.chmod(path.parent, 0o700)
        except OSError:  # not ours to change: the file itself is still 0600
            log.warning("%s is accessible to other users; restrict it to 0700", path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _as_utc(value: datetime) -> datetime:
    """Aware UTC at MongoDB's millisecond precision, so stored times equal computed ones."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
