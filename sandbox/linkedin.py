"""LinkedIn's OAuth and versioned REST API as the LinkedIn provider uses them.

Paths below ``/linkedin``: ``/www/oauth/v2/...`` (www.linkedin.com), ``/api/v2/userinfo``
and ``/api/rest/...`` (api.linkedin.com), ``/upload/...`` (the upload URLs LinkedIn hands
out). ``/rest`` calls must carry ``LinkedIn-Version`` (YYYYMM) and
``X-Restli-Protocol-Version: 2.0.0``, as on LinkedIn; without them the answer is LinkedIn's
own 400. Errors are ``{"status", "serviceErrorCode", "code", "message"}``; a new post's URN
comes back in the ``x-restli-id`` header of a 201; refresh tokens are not rotated.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.core import (
    ErrorStyle,
    Grant,
    NetworkState,
    OAuthServer,
    SandboxPost,
    SandboxUser,
    TokenRecord,
    bearer,
    consent_page,
    form_data,
    now,
    redirect_with,
    same_family,
    sniff,
)

NETWORK = "linkedin"
MEMBER = "urn:li:person:aB3xY9"
ORG = "urn:li:organization:98765"
_PART = 1500  # bytes per video upload part: small, so tests exercise several parts


def li_error(
    status: int, message: str, code: str | None = None, service: int | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service:
        body["serviceErrorCode"] = service
    return JSONResponse(body, status_code=status)


ERRORS = ErrorStyle(
    lambda retry_after: li_error(
        429,
        "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        "TOO_MANY_REQUESTS",
        101,
    ),
    lambda status: li_error(
        status, "Internal Server Error" if status == 500 else "Service Unavailable"
    ),
)


class LinkedInState(NetworkState):
    def __init__(self) -> None:
        super().__init__(
            OAuthServer("li-", access_ttl=60 * 86400, refresh_ttl=365 * 86400, rotate_refresh=False)
        )
        self.uploads: dict[str, dict[str, Any]] = {}
        self.add_user(SandboxUser(MEMBER, "lee-brand", "Lee Brand", followers=420))
        self.add_user(
            SandboxUser(
                ORG,
                "chorus-coffee",
                "Chorus Coffee Co",
                followers=2300,
                kind="organization",
                owner=MEMBER,
                extra={"followerStatistics": FOLLOWER_STATISTICS},
            )
        )
        self._share = 7_190_000_000_000_000_000

    def share_urn(self) -> str:
        self._share += 1
        return f"urn:li:share:{self._share}"


State = LinkedInState


# --- OAuth ------------------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    if request.method == "GET":
        params = dict(request.query_params)
        if (
            params.get("client_id") not in state.oauth.clients
            or params.get("response_type") != "code"
        ):
            return Response("The passed in client_id is invalid", status_code=400)
        return consent_page(
            network="LinkedIn",
            app_name=state.app_name,
            scopes=params.get("scope", "").split(),
            users=state.consenting_users(),
            params=params,
            action=str(request.url.path),
        )
    form = await form_data(request)
    if form.get("decision") != "allow":
        return redirect_with(
            form["redirect_uri"],
            {
                "error": "user_cancelled_authorize",
                "error_description": "The user cancelled the authorization",
                "state": form.get("state", ""),
            },
        )
    grant = Grant(
        user=form.get("sandbox_user") or MEMBER,
        client_id=form["client_id"],
        redirect_uri=form["redirect_uri"],
        scopes=tuple(form.get("scope", "").split()),
    )
    return redirect_with(
        form["redirect_uri"],
        {"code": state.oauth.issue_code(grant), "state": form.get("state", "")},
    )


def _oauth_error(
    description: str, error: str = "invalid_request", status: int = 400
) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def access_token(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    form = await form_data(request)
    if not state.oauth.client_ok(form.get("client_id"), form.get("client_secret")):
        return _oauth_error("Client authentication failed", "invalid_client", 401)
    if form.get("grant_type") == "authorization_code":
        grant = state.oauth.redeem_code(
            form.get("code", ""), form["client_id"], form.get("redirect_uri"), None
        )
        if isinstance(grant, str):
            return _oauth_error(
                "Unable to retrieve access token: appid/redirect uri/code verifier "
                "does not match authorization code. Or authorization code expired.",
                "invalid_request",
            )
        access, refresh = state.oauth.issue(grant.user, grant.client_id, grant.scopes)
    elif form.get("grant_type") == "refresh_token":
        result = state.oauth.use_refresh(form.get("refresh_token", ""), form["client_id"])
        if isinstance(result, str):
            return _oauth_error(
                "The provided authorization grant or refresh token is invalid, expired or revoked.",
                "invalid_request",
            )
        access, refresh = result
    else:
        return _oauth_error("Unsupported grant_type", "unsupported_grant_type")
    assert refresh is not None
    return JSONResponse(
        {
            "access_token": access.token,
            "expires_in": int((access.expires or time.time()) - time.time()),
            "refresh_token": refresh.token,
            "refresh_token_expires_in": int((refresh.expires or time.time()) - time.time()),
            "scope": ",".join(access.scopes),
        }
    )


async def revoke(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    form = await form_data(request)
    if not state.oauth.client_ok(form.get("client_id"), form.get("client_secret")):
        return _oauth_error("Client authentication failed", "invalid_client", 401)
    state.oauth.revoke(form.get("token", ""))
    return Response(status_code=200)


# --- API --------------------------------------------------------------------------------------


def _auth(state: LinkedInState, request: Request, rest: bool = True) -> TokenRecord | Response:
    if rest:
        if not request.headers.get("linkedin-version"):
            return li_error(
                400,
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if not re.fullmatch(r"20\d{4}(\.\d{2})?", request.headers["linkedin-version"]):
            return li_error(
                426,
                f"Requested version {request.headers['linkedin-version']} is not active",
                "NONEXISTENT_VERSION",
            )
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return li_error(
                400,
                "Rest.li protocol version 2.0.0 is required for this resource",
                "ILLEGAL_ARGUMENT",
            )
    record = state.oauth.check(bearer(request))
    if record == "expired":
        return li_error(
            401, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN", 65602
        )
    if record == "revoked":
        return li_error(
            401,
            "The token used in the request has been revoked by the user",
            "REVOKED_ACCESS_TOKEN",
            65601,
        )
    if isinstance(record, str):
        return li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
    return record


def _may_post_as(state: LinkedInState, record: TokenRecord, author: str) -> bool:
    user = state.users.get(author)
    if user is None:
        return False
    if author == record.user:
        return "w_member_social" in record.scopes
    return user.owner == record.user and "w_organization_social" in record.scopes


def _denied(what: str) -> JSONResponse:
    return li_error(403, f"Not enough permissions to access: {what}", "ACCESS_DENIED", 100)


async def userinfo(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request, rest=False)
    if isinstance(record, Response):
        return record
    user = state.users[record.user]
    sub = user.id.rsplit(":", 1)[-1]
    first, _, last = user.name.partition(" ")
    return JSONResponse(
        {
            "sub": sub,
            "name": user.name,
            "given_name": first,
            "family_name": last,
            "picture": f"https://media.licdn.test/{sub}.jpg",
            "locale": {"country": "US", "language": "en"},
            "email_verified": True,
        }
    )


async def organization_acls(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    if "rw_organization_admin" not in record.scopes:
        return _denied("organizationAcls.FINDER-roleAssignee")
    elements = [
        {
            "roleAssignee": record.user,
            "state": "APPROVED",
            "role": "ADMINISTRATOR",
            "organization": u.id,
        }
        for u in state.users.values()
        if u.kind == "organization" and u.owner == record.user
    ]
    return JSONResponse(
        {"elements": elements, "paging": {"count": 10, "start": 0, "total": len(elements)}}
    )


async def organization(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    urn = f"urn:li:organization:{request.path_params['org_id']}"
    org = state.users.get(urn)
    if org is None:
        return li_error(404, f"Organization {urn} not found", "NOT_FOUND")
    return JSONResponse(
        {
            "id": int(request.path_params["org_id"]),
            "localizedName": org.name,
            "vanityName": org.username,
            "$URN": urn,
        }
    )


async def network_sizes(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    org = state.users.get(unquote(request.path_params["urn"]))
    if org is None or request.query_params.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
        return li_error(400, "Invalid edgeType or entity", "ILLEGAL_ARGUMENT")
    return JSONResponse({"firstDegreeSize": org.followers})


async def member_followers(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    return JSONResponse(
        {"elements": [{"memberFollowersCount": state.users[record.user].followers}]}
    )


# --- media -------------------------------------------------------------------------------------


async def images(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    owner = ((await request.json()).get("initializeUploadRequest") or {}).get("owner", "")
    if request.query_params.get("action") != "initializeUpload" or not _may_post_as(
        state, record, owner
    ):
        return _denied("images.ACTION-initializeUpload")
    image = f"urn:li:image:C4D{secrets.token_hex(8)}"
    state.uploads[image] = {
        "owner": owner,
        "kind": "image",
        "parts": {},
        "status": "WAITING_UPLOAD",
    }
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "value": {
                "uploadUrlExpiresAt": int(time.time() * 1000) + 3600_000,
                "uploadUrl": f"{base}/linkedin/upload/{image}/0",
                "image": image,
            }
        }
    )


async def videos(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    action = request.query_params.get("action")
    body = await request.json()
    if action == "initializeUpload":
        spec = body.get("initializeUploadRequest") or {}
        owner, size = spec.get("owner", ""), int(spec.get("fileSizeBytes", 0))
        if not _may_post_as(state, record, owner):
            return _denied("videos.ACTION-initializeUpload")
        video = f"urn:li:video:C5F{secrets.token_hex(8)}"
        token = secrets.token_hex(6)
        state.uploads[video] = {
            "owner": owner,
            "kind": "video",
            "size": size,
            "parts": {},
            "status": "WAITING_UPLOAD",
            "token": token,
            "checks": 0,
        }
        base = str(request.base_url).rstrip("/")
        instructions = [
            {
                "uploadUrl": f"{base}/linkedin/upload/{video}/{i}",
                "firstByte": start,
                "lastByte": min(size, start + _PART) - 1,
            }
            for i, start in enumerate(range(0, size, _PART))
        ]
        return JSONResponse(
            {
                "value": {
                    "uploadUrlsExpireAt": int(time.time() * 1000) + 3600_000,
                    "video": video,
                    "uploadInstructions": instructions,
                    "uploadToken": token,
                }
            }
        )
    if action == "finalizeUpload":
        spec = body.get("finalizeUploadRequest") or {}
        upload = state.uploads.get(spec.get("video", ""))
        if upload is None or spec.get("uploadToken") != upload["token"]:
            return li_error(400, "Invalid video or uploadToken", "ILLEGAL_ARGUMENT")
        expected = [upload["parts"][i]["etag"] for i in sorted(upload["parts"])]
        if spec.get("uploadedPartIds") != expected:
            return li_error(
                400, "The uploadedPartIds do not match the uploaded parts", "ILLEGAL_ARGUMENT"
            )
        upload["status"] = "PROCESSING"
        return Response(status_code=200)
    return li_error(400, f"Unknown action {action}", "ILLEGAL_ARGUMENT")


async def video_status(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    urn = unquote(request.path_params["urn"])
    upload = state.uploads.get(urn)
    if upload is None:
        return li_error(404, f"Video {urn} not found", "NOT_FOUND")
    if upload["status"] == "PROCESSING":
        upload["checks"] += 1
        if upload["checks"] >= 2:
            data = b"".join(upload["parts"][i]["data"] for i in sorted(upload["parts"]))
            ok = len(data) == upload["size"] and same_family("video/mp4", data)
            upload["status"] = "AVAILABLE" if ok else "PROCESSING_FAILED"
    body: dict[str, Any] = {"id": urn, "owner": upload["owner"], "status": upload["status"]}
    if upload["status"] == "PROCESSING_FAILED":
        body["processingFailureReason"] = "Video format is not supported"
    return JSONResponse(body)


async def upload(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = state.oauth.check(bearer(request))
    if isinstance(record, str):
        return Response(status_code=401)
    item = state.uploads.get(request.path_params["urn"])
    if item is None:
        return Response(status_code=404)
    data = await request.body()
    etag = f'"{secrets.token_hex(8)}"'
    item["parts"][int(request.path_params["part"])] = {"data": data, "etag": etag}
    if item["kind"] == "image":
        ok = sniff(data) in ("image/jpeg", "image/png", "image/gif")
        item["status"] = "AVAILABLE" if ok else "PROCESSING_FAILED"
    return Response(status_code=201, headers={"etag": etag})


# --- posts ---------------------------------------------------------------------------------------


def _post_json(post: SandboxPost) -> dict[str, Any]:
    return {
        "id": post.id,
        "author": post.account,
        "commentary": post.text,
        "visibility": "PUBLIC",
        "lifecycleState": "PUBLISHED",
        "createdAt": int(post.created_at.timestamp() * 1000),
        "publishedAt": int(post.created_at.timestamp() * 1000),
        "lastModifiedAt": int(post.created_at.timestamp() * 1000),
        "distribution": {"feedDistribution": "MAIN_FEED"},
        **({"content": post.extra["content"]} if post.extra.get("content") else {}),
    }


async def posts(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    if request.method == "GET":
        if request.query_params.get("q") != "author":
            return li_error(400, "Unsupported finder", "ILLEGAL_ARGUMENT")
        author = request.query_params.get("author", "")
        found = sorted(
            (p for p in state.live_posts(author) if p.kind == "post"),
            key=lambda p: p.created_at,
            reverse=True,
        )
        count = int(request.query_params.get("count", "10"))
        return JSONResponse(
            {
                "elements": [_post_json(p) for p in found[:count]],
                "paging": {"start": 0, "count": count, "total": len(found)},
            }
        )
    body = await request.json()
    author = body.get("author", "")
    if not _may_post_as(state, record, author):
        return _denied("partnerApiPostsExternal.CREATE.20250501")
    if body.get("lifecycleState") != "PUBLISHED" or body.get("visibility") not in (
        "PUBLIC",
        "CONNECTIONS",
    ):
        return li_error(422, "ERROR :: /lifecycleState :: invalid value", "UNPROCESSABLE_ENTITY")
    commentary = str(body.get("commentary", ""))
    unescaped = re.search(r"(?<!\\)[|{}@\[\]()<>#*_~]", commentary)
    if unescaped:
        return li_error(
            422,
            f"ERROR :: /commentary :: unescaped reserved character '{unescaped.group()}'",
            "UNPROCESSABLE_ENTITY",
        )
    duplicate = next(
        (
            p
            for p in state.live_posts(author)
            if p.kind == "post" and p.text == commentary and commentary
        ),
        None,
    )
    if duplicate is not None:
        return li_error(
            422, f"Content is a duplicate of {duplicate.id}", "DUPLICATE_POST", 65600 + 22
        )
    content = body.get("content") or {}
    ids = (
        [content["media"]["id"]]
        if "media" in content
        else [i["id"] for i in (content.get("multiImage") or {}).get("images", [])]
    )
    for media_id in ids:
        item = state.uploads.get(media_id)
        if item is None or item["owner"] != author or item["status"] != "AVAILABLE":
            return li_error(
                422, f"ERROR :: /content :: {media_id} is not available", "UNPROCESSABLE_ENTITY"
            )
    post = SandboxPost(
        state.share_urn(),
        author,
        commentary,
        now(),
        media=[{"id": i, "kind": state.uploads[i]["kind"]} for i in ids],
        link=(content.get("article") or {}).get("source"),
        title=(content.get("media") or {}).get("title"),
    )
    post.extra["content"] = content
    state.add_post(post)
    return Response(status_code=201, headers={"x-restli-id": post.id, "x-linkedin-id": post.id})


async def post_item(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    post = state.posts.get(unquote(request.path_params["urn"]))
    if post is None or post.deleted:
        return li_error(404, "Post not found", "NOT_FOUND")
    if request.method == "DELETE":
        if not _may_post_as(state, record, post.account):
            return _denied("partnerApiPostsExternal.DELETE.20250501")
        post.deleted = True
        return Response(status_code=204)
    return JSONResponse(_post_json(post))


def _comment_json(c: SandboxPost) -> dict[str, Any]:
    activity = c.parent or ""
    urn = f"urn:li:comment:({activity},{c.id})"
    return {
        "id": c.id,
        "$URN": urn,
        "actor": c.account,
        "object": c.parent,
        "message": {"text": c.text},
        "created": {"time": int(c.created_at.timestamp() * 1000), "actor": c.account},
        "likesSummary": {"totalLikes": c.metrics["likes"]},
    }


async def social_actions(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    urn = unquote(request.path_params["urn"])
    post = state.posts.get(urn)
    if post is None or post.deleted:
        return li_error(404, f"{urn} not found", "NOT_FOUND")
    comments = [p for p in state.live_posts() if p.parent == urn]
    return JSONResponse(
        {
            "target": urn,
            "likesSummary": {"totalLikes": post.metrics["likes"], "likedByCurrentUser": False},
            "commentsSummary": {
                "aggregatedTotalComments": len(comments),
                "totalFirstLevelComments": len(comments),
            },
        }
    )


async def comments(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    urn = unquote(request.path_params["urn"])
    post = state.posts.get(urn)
    if post is None or post.deleted:
        return li_error(404, f"{urn} not found", "NOT_FOUND")
    if request.method == "GET":
        found = sorted(
            (p for p in state.live_posts() if p.parent == urn), key=lambda p: p.created_at
        )
        return JSONResponse(
            {
                "elements": [_comment_json(c) for c in found],
                "paging": {"start": 0, "count": 10, "total": len(found)},
            }
        )
    body = await request.json()
    actor = body.get("actor", "")
    if not _may_post_as(state, record, actor):
        return _denied("comments.CREATE")
    comment = state.add_post(
        SandboxPost(
            state.next_id(),
            actor,
            str((body.get("message") or {}).get("text", "")),
            now(),
            kind="comment",
            parent=urn,
        )
    )
    data = _comment_json(comment)
    return JSONResponse(data, status_code=201, headers={"x-restli-id": data["$URN"]})


_LIST = re.compile(r"List\(([^)]*)\)")


async def share_statistics(request: Request) -> Response:
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    org = request.query_params.get("organizationalEntity", "")
    if org not in state.users or state.users[org].owner != record.user:
        return _denied("organizationalEntityShareStatistics.FINDER-organizationalEntity")
    raw = request.url.query
    wanted: list[tuple[str, str]] = []
    for name in ("shares", "ugcPosts"):
        m = re.search(rf"(?:^|&){name}=List\(([^)]*)\)", raw)
        if m:
            wanted += [
                ("share" if name == "shares" else "ugcPost", unquote(u))
                for u in m.group(1).split(",")
                if u
            ]

    def stats(found: list[SandboxPost]) -> dict[str, int]:
        keys = (
            "impressionCount",
            "uniqueImpressionsCount",
            "clickCount",
            "likeCount",
            "shareCount",
        )
        out = {k: sum(p.metrics[k] for p in found) for k in keys}
        out["commentCount"] = sum(
            len([c for c in state.live_posts() if c.parent == p.id]) for p in found
        )
        out["engagement"] = 0
        return out

    if not wanted:
        own = [p for p in state.live_posts(org) if p.kind == "post"]
        return JSONResponse(
            {"elements": [{"organizationalEntity": org, "totalShareStatistics": stats(own)}]}
        )
    elements = []
    for key, urn in wanted:
        post = state.posts.get(urn)
        if post is not None and post.account == org:
            elements.append(
                {"organizationalEntity": org, key: urn, "totalShareStatistics": stats([post])}
            )
    return JSONResponse({"elements": elements, "paging": {"count": len(elements), "start": 0}})


def _counts(key: str, bucket: str, organic: int, paid: int = 0) -> dict[str, Any]:
    return {
        key: bucket,
        "followerCounts": {"organicFollowerCount": organic, "paidFollowerCount": paid},
    }


# The organization's followers by facet, as organizationalEntityFollowerStatistics lists them.
FOLLOWER_STATISTICS: dict[str, Any] = {
    "followerCountsByGeoCountry": [
        _counts("geo", "urn:li:geo:103644278", 1400, 100),  # United States
        _counts("geo", "urn:li:geo:101165590", 800),  # United Kingdom
    ],
    "followerCountsByIndustry": [
        _counts("industry", "urn:li:industry:4", 1150),
        _counts("industry", "urn:li:industry:34", 1150),
    ],
    "followerCountsBySeniority": [
        _counts("seniority", "urn:li:seniority:3", 1725),
        _counts("seniority", "urn:li:seniority:6", 575),
    ],
    "followerCountsByFunction": [],
}


async def follower_statistics(request: Request) -> Response:
    """Lifetime follower statistics of an organization its administrator asks about."""
    state: LinkedInState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    if request.query_params.get("q") != "organizationalEntity":
        return li_error(400, "Invalid finder", "ILLEGAL_ARGUMENT")
    org = request.query_params.get("organizationalEntity", "")
    if org not in state.users or state.users[org].owner != record.user:
        return _denied("organizationalEntityFollowerStatistics.FINDER-organizationalEntity")
    stats = state.users[org].extra.get("followerStatistics") or {}
    element = {"organizationalEntity": org, **stats}
    return JSONResponse({"elements": [element], "paging": {"count": 1, "start": 0}})


def seed_mention(state: LinkedInState, body: dict[str, Any]) -> SandboxPost:
    author = body.get("author") or {}
    author_id = str(author.get("id") or f"urn:li:person:{secrets.token_hex(4)}")
    if author_id not in state.users:
        state.add_user(
            SandboxUser(
                author_id,
                author.get("username", "someone"),
                author.get("name", "Someone"),
                kind="external",
            )
        )
    return state.add_post(
        SandboxPost(
            state.next_id(),
            author_id,
            str(body["text"]),
            now(),
            kind="comment",
            parent=str(body["parent"]),
        ),
        count=False,
    )


def routes() -> list[Route]:
    return [
        Route("/www/oauth/v2/authorization", authorize, methods=["GET", "POST"]),
        Route("/www/oauth/v2/accessToken", access_token, methods=["POST"]),
        Route("/www/oauth/v2/revoke", revoke, methods=["POST"]),
        Route("/api/v2/userinfo", userinfo),
        Route("/api/rest/organizationAcls", organization_acls),
        Route("/api/rest/organizations/{org_id}", organization),
        Route("/api/rest/networkSizes/{urn}", network_sizes),
        Route("/api/rest/memberFollowersCount", member_followers),
        Route("/api/rest/images", images, methods=["POST"]),
        Route("/api/rest/videos", videos, methods=["POST"]),
        Route("/api/rest/videos/{urn}", video_status),
        Route("/api/rest/posts", posts, methods=["GET", "POST"]),
        Route("/api/rest/posts/{urn}", post_item, methods=["GET", "DELETE"]),
        Route("/api/rest/socialActions/{urn}", social_actions),
        Route("/api/rest/socialActions/{urn}/comments", comments, methods=["GET", "POST"]),
        Route("/api/rest/organizationalEntityShareStatistics", share_statistics),
        Route("/api/rest/organizationalEntityFollowerStatistics", follower_statistics),
        Route("/upload/{urn}/{part:int}", upload, methods=["PUT"]),
    ]
