"""The audit log: who did what, when, from where, to which resource, and what changed.

Two ways in. The API records every write request on its own (``api.audit``: the route's
operation, its resource and id, the names of the fields sent), so a new route is covered
without doing anything. A service that knows more (a role went from user to manager) calls
``record`` with a richer summary: within a request its entry takes the place of the
generic one and gets the request's actor, address, route and status; outside a request (a
job, the CLI) it is written at once, as the system or the actor given.

Nothing sensitive is stored. Values under names that hold secrets (password, token, key,
code, secret...) are replaced, and so is any text shaped like one of our secrets (refresh
tokens, API keys, mailed links, JWTs, password hashes, TOTP secrets). Entries are only ever
inserted: there is no update or delete here, and the API offers none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidId

from persistence.errors import InvalidInput
from persistence.models.audit import (
    AuditAction,
    AuditActor,
    AuditChanges,
    AuditContext,
    AuditLog,
    AuditResource,
)
from persistence.repository import TenantRepository

REDACTED = "[redacted]"
MAX_SUMMARY = 500
MAX_VALUE = 200
MAX_PAGE = 200

# Names whose values are secrets or codes, wherever they appear in a change.
_SENSITIVE_NAME = re.compile(
    r"pass|secret|token|api_?key|hash|code|otp|credential|authori[sz]ation|cookie|"
    r"recovery|signature|private|session",
    re.IGNORECASE,
)
# Text shaped like one of our secrets: tenant-tagged tokens and keys, JWTs, Argon2 hashes,
# base32 TOTP secrets.
_SECRET_TEXT = re.compile(
    r"\b(?:crt|chk|prt|evt|inv)_[0-9a-f]{24}_[A-Za-z0-9_-]+"
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]+"
    r"|\$argon2[\w$=,+/.-]+"
    r"|\b[A-Z2-7]{32}\b"
)

ActorKind = Literal["user", "api_key", "system"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    user_id: ObjectId | None = None
    api_key_id: ObjectId | None = None
    email: str | None = None

    @classmethod
    def user(cls, user_id: ObjectId, email: str | None = None) -> Actor:
        return cls("user", user_id=user_id, email=email)


SYSTEM = Actor("system")


@dataclass
class RequestAudit:
    """One API request's audit scope: where it came from, who it turned out to be, and the
    entries services recorded during it (written when the request ends)."""

    ip: str | None
    user_agent: str | None
    org_id: ObjectId | None = None
    actor: Actor | None = None
    session_id: str | None = None
    pending: list[AuditLog] = field(default_factory=list)

    def identify(self, org_id: ObjectId, actor: Actor, session_id: str | None) -> None:
        """The authenticated caller (set once the API knows who is calling)."""
        self.org_id, self.actor, self.session_id = org_id, actor, session_id


_request: ContextVar[RequestAudit | None] = ContextVar("chorus_audit_request", default=None)


def begin_request(ip: str | None, user_agent: str | None) -> tuple[RequestAudit, Token[Any]]:
    scope = RequestAudit(ip=ip, user_agent=(user_agent or "")[:500] or None)
    return scope, _request.set(scope)


def end_request(token: Token[Any]) -> None:
    _request.reset(token)


def current_request() -> RequestAudit | None:
    return _request.get()


def discard_request() -> None:
    """Forget the current request's caller and the entries recorded so far: after an erasure
    there is no organization (or person) left to record them under, and recording the
    erased person as the actor would keep what was just erased."""
    scope = _request.get()
    if scope is not None:
        scope.org_id, scope.actor, scope.session_id = None, None, None
        scope.ip, scope.user_agent = None, None
        scope.pending.clear()


# --- redaction -----------------------------------------------------------------------------


def scrub(text: str, limit: int = MAX_SUMMARY) -> str:
    """``text`` with anything shaped like a secret replaced, cut to ``limit`` characters."""
    cleaned = _SECRET_TEXT.sub(REDACTED, text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def is_sensitive(name: str) -> bool:
    return bool(_SENSITIVE_NAME.search(name))


def redact(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` without secrets: sensitive names' values replaced,
    secret-shaped text replaced, long text cut, deep nesting summarised."""
    if depth > 4:
        return "…"
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_sensitive(str(k)) else redact(v, depth + 1)
            for k, v in list(value.items())[:50]
        }
    if isinstance(value, list | tuple | set):
        return [redact(v, depth + 1) for v in list(value)[:50]]
    if isinstance(value, str):
        return scrub(value, MAX_VALUE)
    if isinstance(value, ObjectId | datetime):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), MAX_VALUE)


# --- writing -------------------------------------------------------------------------------


def _actor_doc(actor: Actor) -> AuditActor:
    return AuditActor(
        kind=actor.kind, user_id=actor.user_id, api_key_id=actor.api_key_id, email=actor.email
    )


async def record(
    db: Any,
    org_ids: ObjectId | Iterable[ObjectId],
    *,
    action: AuditAction,
    operation: str,
    resource_type: str,
    resource_id: str | ObjectId | None = None,
    resource_name: str | None = None,
    summary: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    fields: Iterable[str] = (),
    outcome: Literal["success", "failure"] = "success",
    actor: Actor | None = None,
) -> list[AuditLog]:
    """Record one change in each of ``org_ids`` (an account's security events concern every
    organization the person belongs to). Within an API request the entries are written when
    it ends, with its context, in place of the API's generic entry; otherwise at once."""
    ids = [org_ids] if isinstance(org_ids, ObjectId) else list(dict.fromkeys(org_ids))
    request = current_request()
    who = actor or (request.actor if request and request.actor else SYSTEM)
    changes = AuditChanges(
        before=redact(dict(before)) if before else None,
        after=redact(dict(after)) if after else None,
        fields=sorted({f for f in fields if isinstance(f, str)})[:50],
    )
    entries = [
        AuditLog(
            organization_id=org_id,
            user_id=who.user_id,
            actor=_actor_doc(who),
            action=action,
            operation=operation,
            outcome=outcome,
            resource=AuditResource(
                type=resource_type,
                id=str(resource_id) if resource_id is not None else None,
                name=scrub(resource_name, MAX_VALUE) if resource_name else None,
            ),
            summary=scrub(summary),
            changes=changes,
        )
        for org_id in ids
    ]
    if request is not None:
        request.pending.extend(entries)
    else:
        await _insert(db, entries)
    return entries


async def flush_request(
    db: Any, request: RequestAudit, *, route: str | None, status: int | None
) -> int:
    """Write the entries recorded during ``request`` with its context; how many."""
    for entry in request.pending:
        entry.context = AuditContext(
            ip_address=request.ip,
            user_agent=request.user_agent,
            session_id=request.session_id if entry.user_id == _user_of(request) else None,
            route=route,
            status=status,
        )
    entries, request.pending = request.pending, []
    await _insert(db, entries)
    return len(entries)


def _user_of(request: RequestAudit) -> ObjectId | None:
    return request.actor.user_id if request.actor else None


async def _insert(db: Any, entries: list[AuditLog]) -> None:
    repo = TenantRepository(db, AuditLog)
    by_org: dict[ObjectId, list[AuditLog]] = {}
    for entry in entries:
        by_org.setdefault(entry.organization_id, []).append(entry)
    for org_id, docs in by_org.items():
        await repo.insert_many(org_id, docs)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    operation: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    user_id: ObjectId | None = None
    actor_kind: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _utc(value: datetime) -> datetime:
    # A time without a zone is taken as UTC, as everywhere inside.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_cursor(cursor: str | None, field_name: str = "query.cursor") -> ObjectId | None:
    if not cursor:
        return None
    try:
        return ObjectId(cursor)
    except (InvalidId, TypeError) as exc:
        raise InvalidInput.field(field_name, "use the nextCursor of the previous page") from exc


async def entries(
    db: Any, org_id: ObjectId, where: AuditFilter, *, cursor: str | None, limit: int
) -> tuple[list[AuditLog], str | None]:
    """One page of the organization's entries, newest first, and the cursor of the next."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.field("query.limit", f"between 1 and {MAX_PAGE}")
    if where.since and where.until and _utc(where.since) > _utc(where.until):
        raise InvalidInput.field("query.since", "must not be after until")
    query: dict[str, Any] = {}
    for name, key in (
        ("action", "action"),
        ("operation", "operation"),
        ("resource_type", "resource.type"),
        ("resource_id", "resource.id"),
        ("user_id", "userId"),
        ("actor_kind", "actor.kind"),
        ("outcome", "outcome"),
    ):
        value = getattr(where, name)
        if value is not None:
            query[key] = value
    period: dict[str, datetime] = {}
    if where.since:
        period["$gte"] = _utc(where.since)
    if where.until:
        period["$lte"] = _utc(where.until)
    if period:
        query["timestamp"] = period
    after = parse_cursor(cursor)
    if after is not None:
        query["_id"] = {"$lt": after}
    page = await TenantRepository(db, AuditLog).find(
        org_id, query, sort=[("_id", -1)], limit=limit + 1
    )
    more = len(page) > limit
    page = page[:limit]
    return page, (str(page[-1].id) if more and page else None)
