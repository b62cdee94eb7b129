"""Who is calling: the authenticated principal every route acts for."""

from __future__ import annotations

from typing import Literal

from bson import ObjectId
from pydantic import BaseModel, ConfigDict

from persistence.models.organizations import Role

# What each role may do; every write route checks one of these.
PERMISSIONS: dict[Role, frozenset[str]] = {
    "admin": frozenset({"read", "write", "manage_users", "manage_billing", "manage_keys"}),
    "manager": frozenset({"read", "write", "manage_keys"}),
    "user": frozenset({"read", "write"}),
    "viewer": frozenset({"read"}),
}


class Principal(BaseModel):
    """The caller, from a bearer token or an API key. The tenant always comes from here."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    user_id: ObjectId
    org_id: ObjectId
    role: Role
    email: str
    via: Literal["token", "api_key"]
    session_id: str | None = None

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]
