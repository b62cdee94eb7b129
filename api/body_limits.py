"""Request bodies are checked at the door, before any route or model sees them.

- Size: a JSON body above its limit, or an upload above the upload limit, is refused with 413
  (by its Content-Length at once; while it streams otherwise), so an oversized body is never
  stored, parsed or held in memory whole.
- JSON bodies must be UTF-8, nested at most ``max_depth`` deep (Python's parser recurses, so a
  body nested thousands deep would exhaust the stack), and free of unpaired UTF-16 surrogate
  escapes ("\\ud800" decodes to text that cannot be encoded again, so it would fail later in
  BSON or a response). Each is a 400 saying what is wrong with the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

JSON_TYPES = re.compile(r"^application/(?:[\w.+-]+\+)?json\b", re.I)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")
_SURROGATE = re.compile(rb"(\\+)u[dD]([89abAB]|[c-fC-F])[0-9a-fA-F]{2}")


@dataclass(frozen=True)
class BodyRules:
    max_json_bytes: int = 1_000_000
    max_upload_bytes: int = 100_000_000
    max_depth: int = 64


def too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (a 413 to the client)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in ``body`` (strings removed first)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b'""', body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def unpaired_surrogate(body: bytes) -> bool:
    """Whether a JSON text escapes half of a UTF-16 surrogate pair (``\\ud800`` alone)."""
    expect_low_at = -1
    for match in _SURROGATE.finditer(body):
        if len(match.group(1)) % 2 == 0:
            continue  # "\\\\ud800": an escaped backslash, then plain text
        high = match.group(2) in b"89abAB"
        if high:
            if expect_low_at != -1:
                return True  # two highs in a row
            expect_low_at = match.end()
        else:
            if match.start() != expect_low_at:
                return True  # a low without its high
            expect_low_at = -1
    return expect_low_at != -1


def json_problem(body: bytes, max_depth: int) -> str | None:
    """What is wrong with a JSON body before it is parsed, or None."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "the request body must be UTF-8 encoded JSON"
    if json_depth(body) > max_depth:
        return f"the JSON body is nested deeper than {max_depth} levels"
    if unpaired_surrogate(body):
        return "the JSON body contains an unpaired UTF-16 surrogate escape (invalid Unicode)"
    return None


class BodyLimits:
    """ASGI middleware applying ``BodyRules`` to every request with a body."""

    def __init__(self, app: ASGIApp, rules: BodyRules | None = None) -> None:
        self.app = app
        self.rules = rules or BodyRules()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "")
        is_json = bool(JSON_TYPES.match(content_type)) or not content_type
        limit = self.rules.max_json_bytes if is_json else self.rules.max_upload_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(
                scope, receive, send, 413, f"the request body is larger than {limit} bytes"
            )
            return
        if not is_json:
            await self.app(scope, _counting(receive, limit), send)
            return
        body = await _read(receive, limit)
        if body is None:
            await _refuse(
                scope, receive, send, 413, f"the request body is larger than {limit} bytes"
            )
            return
        problem = json_problem(body, self.rules.max_depth) if body else None
        if problem is not None:
            await _refuse(scope, receive, send, 400, problem)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the real channel: a streaming response waits on it for the
    client's disconnect, which must not be reported before it happens."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    response = error_response(status, message)
    await response(scope, receive, send)
