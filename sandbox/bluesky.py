"""A Bluesky PDS and AppView subset over XRPC, as the Bluesky provider uses them.

Paths below ``/bluesky``: ``/xrpc/{nsid}``. It answers the provider's calls quickly for
the unit tests; the end-to-end test runs the real reference PDS instead
(``sandbox/bluesky_pds``). Shapes follow the lexicons: sessions are JWTs (HS256 here,
with ``exp``), refresh JWTs rotate, records get TID keys and CIDs, ``app.bsky.feed.post``
text is limited to 300 graphemes and 3000 bytes (the PDS's own error wording), image
blobs to 1,000,000 bytes, errors are ``{"error", "message"}``, and a 429 carries
``ratelimit-*`` headers with the reset as epoch seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import unicodedata
from typing import Any

import jwt
import regex
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.core import (
    ErrorStyle,
    NetworkState,
    OAuthServer,
    SandboxPost,
    SandboxUser,
    TokenRecord,
    bearer,
    now,
    sniff,
)

NETWORK = "bluesky"
DID = "did:plc:chorusbrand4sandbox0000"
HANDLE = "chorusbrand.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # the sandbox account's app password (public)
POST = "app.bsky.feed.post"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_SECRET = secrets.token_hex(16)


def xrpc_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


def _rate_limited(retry_after: int) -> Response:
    reset = str(int(time.time()) + retry_after)
    return xrpc_error(
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        {
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": reset,
            "ratelimit-policy": "5000;w=3600",
        },
    )


ERRORS = ErrorStyle(
    _rate_limited, lambda status: xrpc_error(status, "InternalServerError", "Internal Server Error")
)


def tid(micros: int, clock: int) -> str:
    """An AT Protocol TID: 53 bits of microseconds and 10 of clock id, base32-sortable."""
    value = (micros << 10) | (clock & 0x3FF)
    out = ""
    for _ in range(13):
        out = _B32[value & 31] + out
        value >>= 5
    return out


def cid_of(data: bytes, codec: str = "bafyrei") -> str:
    digest = base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")
    return f"{codec}{digest}"


def _jwt(kind: str, user: str, expires: float | None) -> str:
    claims = {
        "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
        "sub": user,
        "aud": "did:web:sandbox.bsky",
        "iat": int(time.time()),
        "exp": int(expires or time.time() + 86400 * 90),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, _SECRET, algorithm="HS256")


class BlueskyState(NetworkState):
    def __init__(self) -> None:
        super().__init__(
            OAuthServer(
                "", access_ttl=7200, refresh_ttl=90 * 86400, rotate_refresh=True, token_factory=_jwt
            )
        )
        self.blobs: dict[str, dict[str, Any]] = {}
        self.last_tid = 0
        self.add_user(
            SandboxUser(
                DID, HANDLE, "Chorus Brand", followers=640, following=120, password=APP_PASSWORD
            )
        )

    def next_rkey(self) -> str:
        micros = max(int(time.time() * 1_000_000), self.last_tid + 1)
        self.last_tid = micros
        return tid(micros, 7)

    def by_handle(self, handle: str) -> SandboxUser | None:
        return next((u for u in self.users.values() if u.username == handle.lower()), None)


State = BlueskyState


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _did_doc(request: Request, user: SandboxUser) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/") + "/bluesky"
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": user.id,
        "alsoKnownAs": [f"at://{user.username}"],
        "service": [
            {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": base}
        ],
    }


def _session(
    request: Request, user: SandboxUser, access: TokenRecord, refresh: TokenRecord
) -> JSONResponse:
    return JSONResponse(
        {
            "did": user.id,
            "handle": user.username,
            "accessJwt": access.token,
            "refreshJwt": refresh.token,
            "didDoc": _did_doc(request, user),
            "active": True,
        }
    )


def _token_problem(state: str) -> JSONResponse:
    if state == "expired":
        return xrpc_error(400, "ExpiredToken", "Token has expired")
    if state == "revoked":
        return xrpc_error(400, "ExpiredToken", "Token has been revoked")
    return xrpc_error(400, "InvalidToken", "Token could not be verified")


def _auth(state: BlueskyState, request: Request) -> TokenRecord | Response:
    token = bearer(request)
    if token is None:
        return xrpc_error(401, "AuthMissing", "Authentication Required")
    record = state.oauth.check(token)
    return _token_problem(record) if isinstance(record, str) else record


# --- sessions -------------------------------------------------------------------------------------


async def create_session(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    body = await _body(request)
    ident = str(body.get("identifier", "")).lower()
    user = state.users.get(ident) or state.by_handle(ident)
    if (
        user is None
        or user.password is None
        or not secrets.compare_digest(user.password, str(body.get("password", "")))
    ):
        return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
    access, refresh = state.oauth.issue(user.id, "app-password", ("atproto",))
    assert refresh is not None
    return _session(request, user, access, refresh)


async def refresh_session(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = state.oauth.tokens.get(bearer(request) or "")
    if record is None or record.kind != "refresh":
        return _token_problem("invalid")
    result = state.oauth.use_refresh(record.token, record.client_id)
    if isinstance(result, str):
        return _token_problem(result)
    access, refresh = result
    return _session(request, state.users[access.user], access, refresh)


async def delete_session(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = state.oauth.tokens.get(bearer(request) or "")
    if record is None or record.kind != "refresh":
        return _token_problem("invalid")
    record.revoked = True  # the refresh JWT; issued access JWTs live out their two hours
    return Response(status_code=200)


async def resolve_handle(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    user = state.by_handle(request.query_params.get("handle", ""))
    if user is None:
        return xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
    return JSONResponse({"did": user.id})


# --- repository -----------------------------------------------------------------------------------


async def upload_blob(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    data = await request.body()
    if len(data) > 5 * 1024 * 1024:
        return xrpc_error(
            400,
            "BlobTooLarge",
            "This file is too large. It is 5.00MB but the maximum size is 5.00MB.",
        )
    mime = request.headers.get("content-type", "application/octet-stream")
    cid = cid_of(data, "bafkrei")
    state.blobs[cid] = {
        "owner": record.user,
        "size": len(data),
        "mime": mime,
        "sniffed": sniff(data),
    }
    return JSONResponse(
        {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}}
    )


def _uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST}/{rkey}"


_INVALID = "Invalid app.bsky.feed.post record: "


def _validate_post(state: BlueskyState, owner: str, value: dict[str, Any]) -> str | None:
    text = str(value.get("text", ""))
    graphemes = len(regex.findall(r"\X", unicodedata.normalize("NFC", text)))
    if graphemes > 300:
        return _INVALID + f"grapheme too big (maximum 300, got {graphemes}) at $.record.text"
    if len(text.encode()) > 3000:
        return _INVALID + "string too long (maximum 3000) at $.record.text"
    if not value.get("createdAt"):
        return _INVALID + 'Record must have the property "createdAt"'
    embed = value.get("embed") or {}
    if embed.get("$type") == "app.bsky.embed.images":
        images = embed.get("images") or []
        if len(images) > 4:
            return _INVALID + "Record/embed/images must not have more than 4 elements"
        for image in images:
            blob = state.blobs.get(((image.get("image") or {}).get("ref") or {}).get("$link", ""))
            if blob is None or blob["owner"] != owner:
                return "Could not find blob"
            if blob["size"] > 1_000_000:
                return _INVALID + "Record/embed/images/0/image file too big (max 1000000 bytes)"
            if not str(blob["sniffed"] or "").startswith("image/"):
                return _INVALID + "Record/embed/images/0/image mimeType not accepted"
    reply = value.get("reply")
    if reply:
        for ref in (reply.get("root") or {}, reply.get("parent") or {}):
            target = state.posts.get(str(ref.get("uri", "")))
            if target is None or target.deleted or target.extra.get("cid") != ref.get("cid"):
                return _INVALID + "reply references a record that does not exist"
    return None


def _store(
    state: BlueskyState, owner: str, value: dict[str, Any], *, count: bool = True
) -> SandboxPost:
    rkey = state.next_rkey()
    uri = _uri(owner, rkey)
    parent = ((value.get("reply") or {}).get("parent") or {}).get("uri")
    embed = value.get("embed") or {}
    post = SandboxPost(
        uri,
        owner,
        str(value.get("text", "")),
        now(),
        kind="reply" if parent else "post",
        parent=parent,
        media=[{"type": "image"} for _ in embed.get("images") or []],
        link=(embed.get("external") or {}).get("uri"),
    )
    post.extra.update(
        value=value, cid=cid_of(json.dumps(value, sort_keys=True).encode()), rkey=rkey
    )
    return state.add_post(post, count=count)


async def create_record(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    body = await _body(request)
    if body.get("repo") not in (record.user, state.users[record.user].username):
        return xrpc_error(400, "InvalidRequest", "Invalid repo: not the authenticated account")
    if body.get("collection") != POST:
        return xrpc_error(
            400, "InvalidRequest", "The sandbox stores app.bsky.feed.post records only"
        )
    value = body.get("record") or {}
    problem = _validate_post(state, record.user, value)
    if problem:
        return xrpc_error(400, "InvalidRequest", problem)
    post = _store(state, record.user, value)
    return JSONResponse(
        {
            "uri": post.id,
            "cid": post.extra["cid"],
            "commit": {"cid": cid_of(post.id.encode()), "rev": post.extra["rkey"]},
            "validationStatus": "valid",
        }
    )


async def get_record(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    q = request.query_params
    post = state.posts.get(_uri(q.get("repo", ""), q.get("rkey", "")))
    if post is None or post.deleted:
        return xrpc_error(
            400,
            "RecordNotFound",
            f"Could not locate record: {_uri(q.get('repo', ''), q.get('rkey', ''))}",
        )
    return JSONResponse({"uri": post.id, "cid": post.extra["cid"], "value": post.extra["value"]})


async def list_records(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    q = request.query_params
    limit = min(100, int(q.get("limit", "50")))
    own = sorted(
        (p for p in state.live_posts(q.get("repo", "")) if "rkey" in p.extra),
        key=lambda p: p.extra["rkey"],
        reverse=True,
    )
    if q.get("cursor"):
        own = [p for p in own if p.extra["rkey"] < q["cursor"]]
    page = own[:limit]
    body: dict[str, Any] = {
        "records": [{"uri": p.id, "cid": p.extra["cid"], "value": p.extra["value"]} for p in page]
    }
    if len(own) > limit:
        body["cursor"] = page[-1].extra["rkey"]
    return JSONResponse(body)


async def delete_record(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    body = await _body(request)
    if body.get("repo") != record.user:
        return xrpc_error(400, "InvalidRequest", "Invalid repo: not the authenticated account")
    post = state.posts.get(_uri(record.user, str(body.get("rkey", ""))))
    if post is not None:
        post.deleted = True  # deleting a missing record is not an error on a PDS
    return JSONResponse(
        {"commit": {"cid": cid_of(secrets.token_bytes(8)), "rev": state.next_rkey()}}
    )


# --- AppView reads --------------------------------------------------------------------------------


def _author(state: BlueskyState, did: str) -> dict[str, Any]:
    user = state.users.get(did)
    return {
        "did": did,
        "handle": user.username if user else "handle.invalid",
        "displayName": user.name if user else "",
    }


def _post_view(state: BlueskyState, post: SandboxPost) -> dict[str, Any]:
    replies = len([p for p in state.live_posts() if p.parent == post.id])
    return {
        "uri": post.id,
        "cid": post.extra["cid"],
        "author": _author(state, post.account),
        "record": post.extra["value"],
        "replyCount": replies + post.metrics["replyCount"],
        "repostCount": post.metrics["repostCount"],
        "likeCount": post.metrics["likeCount"],
        "quoteCount": post.metrics["quoteCount"],
        "bookmarkCount": post.metrics["bookmarkCount"],
        "indexedAt": post.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


async def get_profile(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    actor = request.query_params.get("actor", "")
    user = state.users.get(actor) or state.by_handle(actor)
    if user is None:
        return xrpc_error(400, "InvalidRequest", "Profile not found")
    posts = [p for p in state.live_posts(user.id) if "rkey" in p.extra]
    return JSONResponse(
        {
            **_author(state, user.id),
            "avatar": f"https://cdn.bsky.test/{user.id}.jpg",
            "followersCount": user.followers,
            "followsCount": user.following,
            "postsCount": len(posts),
        }
    )


async def get_posts(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    uris = request.query_params.getlist("uris")
    if len(uris) > 25:
        return xrpc_error(400, "InvalidRequest", "uris must not have more than 25 elements")
    found = [state.posts[u] for u in uris if u in state.posts and not state.posts[u].deleted]
    return JSONResponse({"posts": [_post_view(state, p) for p in found]})


async def list_notifications(request: Request) -> Response:
    state: BlueskyState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    me = record.user
    notes = []
    for post in state.live_posts():
        if post.account == me:
            continue
        parent = state.posts.get(post.parent or "")
        value = post.extra["value"]
        mentions = any(
            f.get("did") == me
            for facet in value.get("facets") or []
            for f in facet.get("features") or []
        )
        reason = (
            "reply"
            if parent is not None and parent.account == me
            else "mention"
            if mentions
            else None
        )
        if reason:
            notes.append((post, reason))
    notes.sort(key=lambda n: n[0].created_at, reverse=True)
    cursor = request.query_params.get("cursor")
    if cursor:
        notes = [n for n in notes if n[0].created_at.isoformat() < cursor]
    limit = min(100, int(request.query_params.get("limit", "50")))
    page = notes[:limit]
    body: dict[str, Any] = {
        "notifications": [
            {
                "uri": p.id,
                "cid": p.extra["cid"],
                "author": _author(state, p.account),
                "reason": reason,
                "reasonSubject": p.parent,
                "record": p.extra["value"],
                "isRead": False,
                "indexedAt": p.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            for p, reason in page
        ]
    }
    if len(notes) > limit:
        body["cursor"] = page[-1][0].created_at.isoformat()
    return JSONResponse(body)


def seed_mention(state: BlueskyState, body: dict[str, Any]) -> SandboxPost:
    """A post by someone else: a reply to ``parent``, or a post mentioning ``account``."""
    author = body.get("author") or {}
    handle = str(
        author.get("handle")
        or author.get("username")
        or f"fan{secrets.randbelow(9999)}.bsky.social"
    )
    user = state.by_handle(handle) or state.add_user(
        SandboxUser(
            str(author.get("did") or f"did:plc:{secrets.token_hex(12)}"),
            handle.lower(),
            author.get("name", "A Fan"),
            kind="external",
        )
    )
    text = str(body["text"])
    value: dict[str, Any] = {
        "$type": POST,
        "text": text,
        "createdAt": now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    account = str(body.get("account") or DID)
    if body.get("parent"):
        parent = state.posts[str(body["parent"])]
        root = ((parent.extra["value"].get("reply") or {}).get("root")) or {
            "uri": parent.id,
            "cid": parent.extra["cid"],
        }
        value["reply"] = {"root": root, "parent": {"uri": parent.id, "cid": parent.extra["cid"]}}
    else:
        target = state.users[account]
        mention = f"@{target.username}"
        start = text.find(mention)
        if start < 0:
            text = value["text"] = f"{mention} {text}"
            start = 0
        byte_start = len(text[:start].encode())
        value["facets"] = [
            {
                "index": {"byteStart": byte_start, "byteEnd": byte_start + len(mention.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": account}],
            }
        ]
    return _store(state, user.id, value, count=False)


def routes() -> list[Route]:
    x = "/xrpc/"
    return [
        Route(x + "com.atproto.server.createSession", create_session, methods=["POST"]),
        Route(x + "com.atproto.server.refreshSession", refresh_session, methods=["POST"]),
        Route(x + "com.atproto.server.deleteSession", delete_session, methods=["POST"]),
        Route(x + "com.atproto.identity.resolveHandle", resolve_handle),
        Route(x + "com.atproto.repo.uploadBlob", upload_blob, methods=["POST"]),
        Route(x + "com.atproto.repo.createRecord", create_record, methods=["POST"]),
        Route(x + "com.atproto.repo.getRecord", get_record),
        Route(x + "com.atproto.repo.listRecords", list_records),
        Route(x + "com.atproto.repo.deleteRecord", delete_record, methods=["POST"]),
        Route(x + "app.bsky.actor.getProfile", get_profile),
        Route(x + "app.bsky.feed.getPosts", get_posts),
        Route(x + "app.bsky.notification.listNotifications", list_notifications),
    ]
