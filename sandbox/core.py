"""What every sandbox network shares: users, posts, OAuth, consent pages, faults.

Each network module (``sandbox/x.py``...) keeps only its wire format: its paths, request
and response shapes, and error payloads. The state it serves from is a
:class:`NetworkState`: users (the people and pages that can consent and post), posts (the
account's own posts, replies and comments, and other people's mentions and comments), an
:class:`OAuthServer`, and a count of every post created per account, so a test can assert
that a retry published nothing twice.

Faults are injected per network by :class:`FaultMiddleware` from a shared
:class:`FaultBook`: the next N requests matching a method and a path pattern get a rate
limit or a server error (in the network's own error format), a delay, or are applied and
then never answered (held past the client's timeout, or the connection dropped).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import itertools
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "ErrorStyle",
    "Fault",
    "FaultBook",
    "FaultMiddleware",
    "NetworkState",
    "OAuthServer",
    "SandboxPost",
    "SandboxUser",
    "TokenRecord",
    "consent_page",
    "form_data",
    "now",
    "redirect_with",
]

#: The OAuth client every sandbox network knows from the start (more via the control API).
DEFAULT_CLIENT_ID = "chorus-sandbox"
DEFAULT_CLIENT_SECRET = "chorus-sandbox-secret"


def now() -> datetime:
    return datetime.now(UTC)


async def form_data(request: Request) -> dict[str, str]:
    """A urlencoded or multipart body as a flat dict of its text fields (last value wins)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    """A 302 to ``uri`` with ``params`` added to its query."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), status_code=302)


# --- users and posts -----------------------------------------------------------------------


@dataclass
class SandboxUser:
    """Someone or something with an identity on the network: a member, a Page, an
    organization, a channel. ``owner`` links a Page or organization to the member who
    administers it; ``extra`` holds network-specific fields."""

    id: str
    username: str
    name: str
    avatar_url: str = ""
    followers: int = 0
    following: int = 0
    kind: str = "user"
    owner: str | None = None
    password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SandboxPost:
    """A post, reply or comment. ``account`` is who made it; ``parent`` what it answers."""

    id: str
    account: str
    text: str
    created_at: datetime
    kind: str = "post"  # post | reply | comment | mention
    parent: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    link: str | None = None
    title: str | None = None
    metrics: Counter[str] = field(default_factory=Counter)
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The control API's view of the post (tests and demos read it)."""
        return {
            "id": self.id,
            "account": self.account,
            "text": self.text,
            "title": self.title,
            "kind": self.kind,
            "parent": self.parent,
            "created_at": self.created_at.isoformat(),
            "media": self.media,
            "link": self.link,
            "metrics": dict(self.metrics),
            "deleted": self.deleted,
            "record": self.extra.get("value"),  # the stored record, where the network has one
        }


# --- OAuth ------------------------------------------------------------------------------------


@dataclass
class Grant:
    user: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str | None = None
    challenge_method: str | None = None
    expires: float = 0.0


@dataclass
class TokenRecord:
    token: str
    user: str
    client_id: str
    scopes: tuple[str, ...]
    expires: float | None  # epoch seconds; None: does not expire
    kind: Literal["access", "refresh"] = "access"
    revoked: bool = False
    family: str = ""  # tokens issued together (a refresh token and its access tokens)

    def state(self) -> Literal["ok", "expired", "revoked"]:
        if self.revoked:
            return "revoked"
        if self.expires is not None and time.time() >= self.expires:
            return "expired"
        return "ok"


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") == challenge
    return secrets.compare_digest(verifier, challenge)


class OAuthServer:
    """Authorization codes, access and refresh tokens, with PKCE and rotation as the
    network does them. Codes live 10 minutes and are single use."""

    def __init__(
        self,
        prefix: str,
        *,
        access_ttl: float | None = 7200,
        refresh_ttl: float | None = None,
        rotate_refresh: bool = True,
        token_factory: Callable[[str, str, float | None], str] | None = None,
    ) -> None:
        """``token_factory(kind, user, expires)`` makes token strings (JWTs for networks
        whose clients read them); by default they are random."""
        self.prefix = prefix
        self.token_factory = token_factory
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.rotate_refresh = rotate_refresh
        self.clients: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, TokenRecord] = {}

    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        known = self.clients.get(client_id or "")
        return known is not None and secret is not None and secrets.compare_digest(known, secret)

    def basic_client(self, request: Request) -> tuple[str | None, str | None]:
        """Client id and secret from an ``Authorization: Basic`` header."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None, None
        try:
            raw = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, secret = raw.partition(":")
        return client_id, secret

    def issue_code(self, grant: Grant) -> str:
        code = f"{self.prefix}code-{secrets.token_urlsafe(16)}"
        grant.expires = time.time() + 600
        self.codes[code] = grant
        return code

    def redeem_code(
        self, code: str, client_id: str, redirect_uri: str | None, verifier: str | None
    ) -> Grant | str:
        """The grant, or the reason the code is refused."""
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires < time.time():
            return "authorization code is invalid, expired or already used"
        if grant.client_id != client_id:
            return "authorization code was issued to another client"
        if redirect_uri is not None and redirect_uri != grant.redirect_uri:
            return "redirect_uri does not match the authorization request"
        if grant.code_challenge:
            if not verifier:
                return "code_verifier is required"
            if not pkce_matches(verifier, grant.code_challenge, grant.challenge_method):
                return "code_verifier does not match the code_challenge"
        return grant

    def issue(
        self,
        user: str,
        client_id: str,
        scopes: Iterable[str],
        *,
        refresh: bool = True,
        family: str | None = None,
        access_ttl: float | Literal["default"] | None = "default",
    ) -> tuple[TokenRecord, TokenRecord | None]:
        family = family or secrets.token_hex(8)
        ttl = self.access_ttl if access_ttl == "default" else access_ttl
        scopes = tuple(scopes)
        expires = time.time() + ttl if ttl else None
        access = TokenRecord(
            self._token("access", user, expires),
            user,
            client_id,
            scopes,
            expires,
            "access",
            family=family,
        )
        self.tokens[access.token] = access
        refresh_record = None
        if refresh:
            refresh_expires = time.time() + self.refresh_ttl if self.refresh_ttl else None
            refresh_record = TokenRecord(
                self._token("refresh", user, refresh_expires),
                user,
                client_id,
                scopes,
                refresh_expires,
                "refresh",
                family=family,
            )
            self.tokens[refresh_record.token] = refresh_record
        return access, refresh_record

    def _token(self, kind: str, user: str, expires: float | None) -> str:
        if self.token_factory is not None:
            return self.token_factory(kind, user, expires)
        short = "at" if kind == "access" else "rt"
        return f"{self.prefix}{short}-{secrets.token_urlsafe(24)}"

    def use_refresh(self, token: str, client_id: str) -> tuple[TokenRecord, TokenRecord] | str:
        """New access (and, with rotation, refresh) tokens, or the refusal's reason."""
        record = self.tokens.get(token)
        if record is None or record.kind != "refresh" or record.client_id != client_id:
            return "invalid"
        state = record.state()
        if state != "ok":
            return state
        if self.rotate_refresh:
            record.revoked = True
            access, new_refresh = self.issue(
                record.user, client_id, record.scopes, family=record.family
            )
            assert new_refresh is not None
            return access, new_refresh
        access, _ = self.issue(
            record.user, client_id, record.scopes, refresh=False, family=record.family
        )
        return access, record

    def check(self, token: str | None) -> TokenRecord | str:
        """The access token's record, or why it does not work (invalid/expired/revoked)."""
        record = self.tokens.get(token or "")
        if record is None or record.kind != "access":
            return "invalid"
        state = record.state()
        return record if state == "ok" else state

    def revoke(self, token: str) -> bool:
        """Revoke a token and every token issued with it."""
        record = self.tokens.get(token)
        if record is None:
            return False
        for other in self.tokens.values():
            if other.family == record.family:
                other.revoked = True
        return True

    def select(self, user: str | None = None, token: str | None = None) -> list[TokenRecord]:
        return [
            r
            for r in self.tokens.values()
            if (token is None or r.token == token) and (user is None or r.user == user)
        ]

    def expire(
        self, *, user: str | None = None, token: str | None = None, refresh: bool = False
    ) -> int:
        """Make matching access tokens (and with ``refresh``, refresh tokens) expired."""
        hits = [r for r in self.select(user, token) if refresh or r.kind == "access"]
        for r in hits:
            r.expires = time.time() - 1
        return len(hits)

    def revoke_all(self, *, user: str | None = None, token: str | None = None) -> int:
        hits = self.select(user, token)
        for r in hits:
            for other in self.tokens.values():
                if other.family == r.family:
                    other.revoked = True
        return len(hits)


def consent_page(
    *,
    network: str,
    app_name: str,
    scopes: Iterable[str],
    users: Iterable[SandboxUser],
    params: dict[str, str],
    action: str,
) -> HTMLResponse:
    """The consent screen: who asks, for what, as whom; Authorize and Deny post back to
    ``action`` with the original request's parameters."""
    hidden = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    options = "\n".join(
        f'<option value="{html.escape(u.id)}">{html.escape(u.name)} (@{html.escape(u.username)})'
        "</option>"
        for u in users
    )
    items = "\n".join(f"<li>{html.escape(s)}</li>" for s in scopes)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {html.escape(app_name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}}
button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}}</style></head>
<body>
<p><small>{html.escape(network)} sandbox</small></p>
<h1><span class="app">{html.escape(app_name)}</span> wants to access your account</h1>
<form method="post" action="{html.escape(action)}">
<label>Sign in as <select name="sandbox_user">{options}</select></label>
<p>It will be able to:</p>
<ul class="scopes">{items}</ul>
{hidden}
<button type="submit" name="decision" value="allow">Authorize app</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>"""
    return HTMLResponse(page)


# --- state ------------------------------------------------------------------------------------


class NetworkState:
    """One network's world. Subclasses add what only they have and seed defaults."""

    id_start = 1_000

    def __init__(self, oauth: OAuthServer) -> None:
        self.oauth = oauth
        self.users: dict[str, SandboxUser] = {}
        self.posts: dict[str, SandboxPost] = {}
        self.created: Counter[str] = Counter()  # posts created per account, deletes included
        self._ids = itertools.count(self.id_start)
        self.app_name = "Chorus"

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, user: SandboxUser) -> SandboxUser:
        self.users[user.id] = user
        return user

    def add_post(self, post: SandboxPost, *, count: bool = True) -> SandboxPost:
        self.posts[post.id] = post
        if count:
            self.created[post.account] += 1
        return post

    def live_posts(self, account: str | None = None) -> list[SandboxPost]:
        return [
            p
            for p in self.posts.values()
            if not p.deleted and (account is None or p.account == account)
        ]

    def consenting_users(self) -> list[SandboxUser]:
        return [u for u in self.users.values() if u.kind == "user"]


# --- faults -----------------------------------------------------------------------------------

FaultKind = Literal["rate_limit", "error", "slow", "timeout", "drop"]


@dataclass
class Fault:
    """The next ``count`` requests to ``network`` whose method matches and whose path
    (below the network's prefix) matches the ``path`` pattern get this fault, after
    ``skip`` matching requests have passed untouched (to reach the second post of a
    thread)."""

    network: str
    kind: FaultKind
    path: str = ".*"
    method: str = "*"
    count: int = 1
    status: int = 503
    retry_after: int = 30
    delay: float = 5.0
    skip: int = 0
    hits: int = 0

    def matches(self, network: str, method: str, path: str) -> bool:
        return (
            self.count > 0
            and self.network == network
            and (self.method == "*" or self.method.upper() == method.upper())
            and re.search(self.path, path) is not None
        )


class FaultBook:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take(self, network: str, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(network, method, path):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.count -= 1
                fault.hits += 1
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


@dataclass(frozen=True)
class ErrorStyle:
    """How a network says "slow down" and "I failed": its real payloads and headers."""

    rate_limited: Callable[[int], Response]
    server_error: Callable[[int], Response]


class FaultMiddleware:
    """Applies the next matching fault of a network's requests (see :class:`Fault`)."""

    def __init__(self, app: ASGIApp, network: str, book: FaultBook, errors: ErrorStyle) -> None:
        self.app, self.network, self.book, self.errors = app, network, book, errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"][len(scope.get("root_path", "")) :] or scope["path"]
        fault = self.book.take(self.network, scope["method"], path)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "rate_limit":
            await self.errors.rate_limited(fault.retry_after)(scope, receive, send)
        elif fault.kind == "error":
            await self.errors.server_error(fault.status)(scope, receive, send)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        else:
            await self._apply_then_fail(fault, scope, receive, send)

    async def _apply_then_fail(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the request to completion (it is applied), then hold or break the answer."""
        held: list[Message] = []

        async def capture(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, capture)
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            for message in held:
                await send(message)
            return
        start = next(m for m in held if m["type"] == "http.response.start")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", b"1000000"))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("sandbox fault: connection dropped after the request applied")


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` (or Graph's ``OAuth``) header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF8", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftyp", 4, "video/mp4"),
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
)


def sniff(data: bytes) -> str | None:
    """The media type the first bytes show (what a network's media pipeline checks)."""
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return None


def same_family(declared: str, data: bytes) -> bool:
    """Whether ``data`` is what ``declared`` says, as far as its signature shows (an MP4
    signature also covers video/quicktime)."""
    found = sniff(data)
    if found is None:
        return False
    if declared == "video/quicktime":
        return found == "video/mp4"
    return found == declared
