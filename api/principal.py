"""Who is calling: the authenticated principal every route acts for."""

from __future__ import annotations

from typing import Literal

from bson import ObjectId
from pydantic import BaseModel, ConfigDict

from persistence.models.organizations import Role

# What each role may do in an organization; every write route checks one of these.
# manage_users: invite, change roles, remove members; manage_organization: the
# organization's settings; read_audit: the organization's audit log;
# manage_social_accounts: connect, configure and disconnect the networks' accounts; publish:
# schedule and publish posts and approve or reject what others submitted (a user drafts and
# submits).
PERMISSIONS: dict[Role, frozenset[str]] = {
    "admin": frozenset(
        {
            "read",
            "write",
            "manage_users",
            "manage_billing",
            "manage_keys",
            "manage_organization",
            "read_audit",
            "manage_social_accounts",
            "publish",
        }
    ),
    "manager": frozenset({"read", "write", "manage_keys", "manage_social_accounts", "publish"}),
    "user": frozenset({"read", "write"}),
    "viewer": frozenset({"read"}),
}


class Principal(BaseModel):
    """The caller, from a bearer token or an API key. The tenant always comes from here: the
    organization the token was issued for (the caller's active one) or the key belongs to,
    and ``role`` is the caller's role there."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    user_id: ObjectId
    org_id: ObjectId
    role: Role
    email: str
    via: Literal["token", "api_key"]
    session_id: str | None = None
    api_key_id: ObjectId | None = None
    # A platform operator (``User.platform_role``), signed in with a password: may use
    # /api/admin. Never through an API key, whatever the key's owner is.
    operator: bool = False

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]
