"""Helpers for the notification tests: an organization of members with each role, made
directly in the store, and the outbox read as messages."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from bson import ObjectId

from persistence.models import Membership, User
from persistence.models.organizations import Profile, Role
from persistence.repository import TenantRepository

ROLES: tuple[Role, ...] = ("admin", "manager", "user", "viewer")


async def team(db: Any, name: str, timezone: str = "UTC") -> tuple[ObjectId, dict[Role, User]]:
    """An organization with one active member of each role: (org id, role -> user)."""
    org = ObjectId()
    people: dict[Role, User] = {}
    for role in ROLES:
        user = User(
            organization_id=org,
            email=f"{role}@{name}.example",
            password_hash="x",
            role=role,
            profile=Profile(timezone=timezone),
        )
        await TenantRepository(db, User).insert(user)
        await TenantRepository(db, Membership).insert(
            Membership(organization_id=org, user_id=user.id, role=role)
        )
        people[role] = user
    return org, people


def outbox_messages(data_dir: Path) -> list[EmailMessage]:
    found = []
    for path in sorted((data_dir / "outbox").glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found
