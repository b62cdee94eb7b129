"""Access across tenants: creating and listing organizations, and finding a person.

This is the one module whose queries are not scoped to a tenant. Everything else goes through
``TenantRepository``. A person is one user in several organizations, so finding them (by
email to sign in, by id once signed in) and the organizations they belong to are questions
asked before, or above, any one tenant: they are answered here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from persistence.ids import utcnow
from persistence.models import Membership, Organization, User, UserSession


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:80] or "org"


class OrganizationAdmin:
    def __init__(self, db: Any) -> None:
        self.organizations = db[Organization.collection]
        self.users = db[User.collection]

    async def create(self, name: str, *, slug: str | None = None, **fields: Any) -> Organization:
        """A new organization. Its slug is ``slug`` exactly (DuplicateKeyError if taken), or
        else derived from the name and made unique with a numeric suffix."""
        name = name.strip()
        if not name:
            raise ValueError("organization name must not be empty")
        candidates = [slug] if slug else [slugify(name)]
        if not slug:
            candidates += [f"{candidates[0]}-{n}" for n in range(2, 1000)]
        for candidate in candidates:
            org_id = ObjectId()
            org = Organization(
                id=org_id, organization_id=org_id, name=name, slug=candidate, **fields
            )
            try:
                await self.organizations.insert_one(org.to_mongo())
            except DuplicateKeyError:
                if slug:
                    raise
                continue  # slug taken: the unique index decides, so concurrent creates are safe
            return org
        raise ValueError(f"no free slug for {name!r}")

    async def get(self, org_id: ObjectId) -> Organization | None:
        raw = await self.organizations.find_one({"_id": org_id})
        return Organization.from_mongo(raw) if raw else None

    async def get_by_slug(self, slug: str) -> Organization | None:
        raw = await self.organizations.find_one({"slug": slug})
        return Organization.from_mongo(raw) if raw else None

    async def list(self, *, include_deleted: bool = False) -> list[Organization]:
        query = {} if include_deleted else {"deletedAt": None}
        cursor = self.organizations.find(query).sort([("createdAt", 1)])
        return [Organization.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def find_by_stripe_customer(self, customer_id: str) -> Organization | None:
        """The organization a Stripe customer pays for: a Stripe event names only the
        customer, before anyone knows the tenant."""
        raw = await self.organizations.find_one({"subscription.stripeCustomerId": customer_id})
        return Organization.from_mongo(raw) if raw else None

    async def find_user_by_email(self, email: str) -> User | None:
        """Sign-in looks a user up by email before it knows the tenant."""
        raw = await self.users.find_one({"email": email.strip().lower()})
        return User.from_mongo(raw) if raw else None

    async def get_user(self, user_id: ObjectId) -> User | None:
        """The user, whichever organization their document is stored under."""
        raw = await self.users.find_one({"_id": user_id})
        return User.from_mongo(raw) if raw else None

    async def users_by_ids(self, user_ids: list[ObjectId]) -> dict[ObjectId, User]:
        if not user_ids:
            return {}
        cursor = self.users.find({"_id": {"$in": list(user_ids)}})
        return {raw["_id"]: User.from_mongo(raw) for raw in await cursor.to_list(None)}

    async def memberships_of(
        self, user_id: ObjectId, *, active_only: bool = True
    ) -> list[Membership]:
        """The user's memberships in every organization, oldest first."""
        query: dict[str, Any] = {"userId": user_id}
        if active_only:
            query["status"] = "active"
        db = self.organizations.database
        cursor = db[Membership.collection].find(query).sort([("joinedAt", 1), ("_id", 1)])
        return [Membership.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def users_stored_under(self, org_id: ObjectId) -> list[User]:
        """The users whose document is stored under ``org_id`` (created there)."""
        cursor = self.users.find({"organizationId": org_id})
        return [User.from_mongo(raw) for raw in await cursor.to_list(None)]

    async def move_user(self, user_id: ObjectId, org_id: ObjectId, role: str) -> None:
        """Store the user under another organization they belong to (with their role there):
        when the organization they were created in is erased, the person stays."""
        await self.users.update_one(
            {"_id": user_id}, {"$set": {"organizationId": org_id, "role": role}}
        )

    async def delete_user(self, user_id: ObjectId) -> bool:
        """Delete the person's account document (GDPR erasure)."""
        result = await self.users.delete_one({"_id": user_id})
        return result.deleted_count == 1

    async def purge_expired_sessions(self, now: datetime | None = None) -> int:
        """Delete sign-in sessions past their expiry, across tenants (a maintenance job)."""
        sessions = self.organizations.database[UserSession.collection]
        result = await sessions.delete_many({"expiresAt": {"$lt": now or utcnow()}})
        return result.deleted_count
