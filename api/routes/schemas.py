"""Request and response bodies shared by the auth, users and API-key routes (camelCase JSON).

Responses are built field by field from the stored models, so a secret (password hash,
token hash, key hash) can never leak by being forgotten in an exclude list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from pydantic.alias_generators import to_camel

from persistence.models.organizations import ApiKey, Organization, Role, User


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class StrictIn(ApiModel):
    """A request body, validated as its published JSON Schema reads: no coercion (``0`` or
    ``"no"`` is not a boolean, ``false`` not an integer, a number not a string) and no
    unknown field (a misspelt one would be a silent no-op). FastAPI validates the parsed JSON
    as Python objects, where strict mode would refuse ISO text for dates: date and time
    fields use ``persistence.ids.IsoDateTime``/``IsoDate``/``IsoTime``, which parse text.
    ``tests/test_strict_input.py`` checks every request body of the app is built on it."""

    model_config = ConfigDict(strict=True, extra="forbid")


class UserOut(ApiModel):
    id: str
    organization_id: str = Field(description="The organization the caller is acting in.")
    email: str
    role: Role = Field(description="The caller's role in that organization.")
    first_name: str | None = None
    last_name: str | None = None
    email_verified: bool = False
    two_factor_enabled: bool = False
    last_login: datetime | None = None
    created_at: datetime

    @classmethod
    def of(cls, user: User, org_id: ObjectId, role: Role) -> UserOut:
        return cls(
            id=str(user.id),
            organization_id=str(org_id),
            email=user.email,
            role=role,
            first_name=user.profile.first_name,
            last_name=user.profile.last_name,
            email_verified=user.authentication.email_verified,
            two_factor_enabled=user.authentication.two_factor_enabled,
            last_login=user.authentication.last_login,
            created_at=user.created_at,
        )


class OrganizationOut(ApiModel):
    id: str
    name: str
    slug: str
    plan: str
    created_at: datetime

    @classmethod
    def of(cls, org: Organization) -> OrganizationOut:
        return cls(
            id=str(org.id),
            name=org.name,
            slug=org.slug,
            plan=org.subscription.plan,
            created_at=org.created_at,
        )


class ApiKeyOut(ApiModel):
    id: str
    name: str
    prefix: str
    user_id: str
    created_at: datetime
    last_used_at: datetime | None = None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=str(key.id),
            name=key.name,
            prefix=key.prefix,
            user_id=str(key.user_id),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
        )


class PlaygroundSessionOut(ApiModel):
    expires_in: int = Field(description="Seconds until the cookie expires (the token's own).")
    path: str = Field(description="Where the browser sends it: the LangServe routes.")


class TokenOut(ApiModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class AuthOut(TokenOut):
    user: UserOut


class RegisterOut(AuthOut):
    organization: OrganizationOut


class CreatedApiKeyOut(ApiKeyOut):
    key: str = Field(description="The secret. Shown this once; only its hash is stored.")


# --- requests ----------------------------------------------------------------------------

# Argon2 takes any length, but an unbounded one is a cheap way to burn our CPU.
Password = Field(min_length=8, max_length=256)


class RegisterIn(StrictIn):
    email: EmailStr
    password: str = Password
    organization_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class LoginIn(StrictIn):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)
    two_factor_code: str | None = Field(
        default=None,
        max_length=32,
        description="When two-factor sign-in is on: the authenticator app's code or a "
        "recovery code.",
    )
    organization_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{24}$",
        description="The organization to sign in to; default: the one used last.",
    )


class RefreshIn(StrictIn):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutIn(StrictIn):
    refresh_token: str | None = Field(default=None, max_length=512)


class ApiKeyIn(StrictIn):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SwitchOrganizationIn(StrictIn):
    organization_id: str = Field(pattern=r"^[0-9a-f]{24}$")


class AcceptInvitationIn(StrictIn):
    token: str = Field(min_length=1, max_length=512, description="From the invitation email.")
    password: str | None = Field(
        default=None,
        min_length=8,
        max_length=256,
        description="Without a bearer token: the password of the invited address's account, "
        "or, if it has none, the password of the account to make.",
    )
    two_factor_code: str | None = Field(
        default=None, max_length=32, description="With a password, when that account uses 2FA."
    )
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class JoinedOut(AuthOut):
    """Tokens for the organization just joined (the caller now acts in it)."""

    organization: OrganizationOut
