"""Helpers for the organization, team and account-security tests: members made quickly,
the outbox read like a mailbox, TOTP codes at chosen moments."""

from __future__ import annotations

import re
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from api_support import PASSWORD, bearer
from bson import ObjectId
from fastapi import FastAPI

from persistence.models import Membership, User
from persistence.models.organizations import Role
from persistence.passwords import hash_password
from persistence.repository import TenantRepository

# Credential routes' limits raised for tests that sign in many times from one address; a
# test about a limit sets its own.
ROOMY_LIMITS = {
    "auth": (1000, 60),
    "login_account": (1000, 60),
    "recovery_account": (1000, 60),
    "two_factor_account": (1000, 60),
    "invitation_account": (1000, 60),
}


@cache
def password_hash() -> str:
    # One Argon2 hash for every member the tests make (each costs tens of milliseconds).
    return hash_password(PASSWORD)


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password, **extra}
    )


async def member(
    app: FastAPI, client: httpx.AsyncClient, org_id: str, email: str, role: Role
) -> dict[str, Any]:
    """A new person whose only organization is ``org_id``, with ``role`` (a membership, as
    an accepted invitation makes); their login answer."""
    db = app.state.runtime.db
    oid = ObjectId(org_id)
    user = User(organization_id=oid, email=email, password_hash=password_hash(), role=role)
    await TenantRepository(db, User).insert(user)
    await TenantRepository(db, Membership).insert(
        Membership(organization_id=oid, user_id=user.id, role=role)
    )
    response = await login(client, email)
    assert response.status_code == 200, response.text
    return response.json()


def headers_of(signed_in: dict[str, Any]) -> dict[str, str]:
    return bearer(signed_in["accessToken"])


def outbox(app: FastAPI) -> Path:
    return app.state.runtime.settings.data_dir / "outbox"


def mails(app: FastAPI, to: str | None = None) -> list[EmailMessage]:
    """The messages in the outbox, oldest first (to ``to`` only, if given)."""
    found = []
    for path in sorted(outbox(app).glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if to is None or to in str(message["To"]):
            found.append(message)
    return found


def link_in(message: EmailMessage, path: str) -> str:
    """The link to ``path`` in the message's plain-text part (checking the HTML part has it)."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    links = re.findall(r"https?://\S+", text)
    found = [u for u in links if urlsplit(u).path == path]
    assert found, f"no link to {path} in: {text}"
    assert found[0].replace("&", "&amp;") in html or found[0] in html
    return found[0]


def token_in(message: EmailMessage, path: str) -> str:
    return parse_qs(urlsplit(link_in(message, path)).query)["token"][0]


def last_token(app: FastAPI, to: str, path: str) -> str:
    messages = [m for m in mails(app, to) if path in m.get_body(("plain",)).get_content()]
    assert messages, f"no mail to {to} with a link to {path}"
    return token_in(messages[-1], path)


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """The code of the time step ``steps_ahead`` from now (the server accepts one step either
    side, and each step once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)
