"""TikTok's Login Kit and Content Posting API as the TikTok provider uses them.

Paths below ``/tiktok``: ``/www/v2/auth/authorize/`` (www.tiktok.com), ``/open/v2/...``
(open.tiktokapis.com) and ``/upload/video/`` (the ``upload_url`` TikTok hands out).
Every API answer carries ``{"data": ..., "error": {"code", "message", "log_id"}}`` with
code "ok" on success. The media transfer rules are enforced as TikTok states them: chunks
of 5-64 MB (a file under 5 MB in one), ``total_chunk_count = floor(size / chunk_size)``,
``Content-Range`` on each PUT, 206 until the last chunk and 201 then. A post becomes
``PUBLISH_COMPLETE`` on its own, ``PROCESSING_SECONDS`` after its upload (whether or not
anyone asks); ``SELF_ONLY`` posts are not listed by ``/v2/video/list/``, as on TikTok.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx
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

NETWORK = "tiktok"
OPEN_ID = "-000OpenIdChorusBrand"
MIN_CHUNK, MAX_CHUNK = 5 * 1024 * 1024, 64 * 1024 * 1024
PROCESSING_SECONDS = 0.1


def api(data: Any = None, code: str = "ok", message: str = "", status: int = 200) -> JSONResponse:
    body = {
        "data": data if data is not None else {},
        "error": {"code": code, "message": message, "log_id": secrets.token_hex(10)},
    }
    return JSONResponse(body, status_code=status)


ERRORS = ErrorStyle(
    lambda retry_after: api(
        code="rate_limit_exceeded",
        status=429,
        message="API rate limit was exceeded, please try again later.",
    ),
    lambda status: api(
        code="internal_error",
        status=status,
        message="Something went wrong. Please try again later.",
    ),
)


class TikTokState(NetworkState):
    id_start = 7_400_000_000_000_000_000

    def __init__(self) -> None:
        super().__init__(
            OAuthServer("tt-", access_ttl=86400, refresh_ttl=365 * 86400, rotate_refresh=True)
        )
        self.publishes: dict[str, dict[str, Any]] = {}
        self.add_user(
            SandboxUser(
                OPEN_ID,
                "chorus.coffee",
                "Chorus Coffee",
                followers=15200,
                following=31,
                extra={
                    "privacy_level_options": [
                        "PUBLIC_TO_EVERYONE",
                        "MUTUAL_FOLLOW_FRIENDS",
                        "SELF_ONLY",
                    ],
                    "max_video_post_duration_sec": 600,
                    "likes": 88000,
                },
            )
        )


State = TikTokState


# --- Login Kit ---------------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    if request.method == "GET":
        params = dict(request.query_params)
        if params.get("client_key") not in state.oauth.clients:
            return Response("client_key: invalid", status_code=400)
        return consent_page(
            network="TikTok",
            app_name=state.app_name,
            scopes=[s for s in params.get("scope", "").split(",") if s],
            users=state.consenting_users(),
            params=params,
            action=str(request.url.path),
        )
    form = await form_data(request)
    if form.get("decision") != "allow":
        return redirect_with(
            form["redirect_uri"],
            {
                "error": "access_denied",
                "error_description": "User denied authorization",
                "state": form.get("state", ""),
            },
        )
    grant = Grant(
        user=form.get("sandbox_user") or OPEN_ID,
        client_id=form["client_key"],
        redirect_uri=form["redirect_uri"],
        scopes=tuple(s for s in form.get("scope", "").split(",") if s),
    )
    code = state.oauth.issue_code(grant)
    return redirect_with(
        form["redirect_uri"],
        {"code": code, "scopes": form.get("scope", ""), "state": form.get("state", "")},
    )


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description, "log_id": secrets.token_hex(10)},
        status_code=400,
    )


def _token_body(access: TokenRecord, refresh: TokenRecord) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": access.token,
            "expires_in": 86400,
            "open_id": access.user,
            "refresh_expires_in": int((refresh.expires or time.time()) - time.time()),
            "refresh_token": refresh.token,
            "scope": ",".join(access.scopes),
            "token_type": "Bearer",
        }
    )


async def token(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    form = await form_data(request)
    if not state.oauth.client_ok(form.get("client_key"), form.get("client_secret")):
        return _oauth_error("invalid_client", "Client key or secret is incorrect.")
    if form.get("grant_type") == "authorization_code":
        grant = state.oauth.redeem_code(
            form.get("code", ""), form["client_key"], form.get("redirect_uri"), None
        )
        if isinstance(grant, str):
            return _oauth_error("invalid_grant", "Authorization code is expired.")
        access, refresh = state.oauth.issue(grant.user, grant.client_id, grant.scopes)
        assert refresh is not None
        return _token_body(access, refresh)
    if form.get("grant_type") == "refresh_token":
        result = state.oauth.use_refresh(form.get("refresh_token", ""), form["client_key"])
        if isinstance(result, str):
            return _oauth_error("invalid_grant", "Refresh token is invalid or expired.")
        return _token_body(*result)
    return _oauth_error("unsupported_grant_type", "grant_type is not supported")


async def revoke(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    form = await form_data(request)
    if not state.oauth.client_ok(form.get("client_key"), form.get("client_secret")):
        return _oauth_error("invalid_client", "Client key or secret is incorrect.")
    state.oauth.revoke(form.get("token", ""))
    return JSONResponse({})


# --- API -----------------------------------------------------------------------------------------


def _auth(state: TikTokState, request: Request, scope: str | None = None) -> TokenRecord | Response:
    record = state.oauth.check(bearer(request))
    if isinstance(record, str):
        return api(
            code="access_token_invalid",
            status=401,
            message="The access token is invalid or not found in the request.",
        )
    if scope and scope not in record.scopes:
        return api(
            code="scope_not_authorized",
            status=401,
            message="The user did not authorize the scope required for completing this "
            f"request: {scope}",
        )
    return record


async def user_info(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "user.info.basic")
    if isinstance(record, Response):
        return record
    user = state.users[record.user]
    full = {
        "open_id": user.id,
        "union_id": f"u-{user.id}",
        "avatar_url": f"https://p16.tiktokcdn.test/{user.id}.jpeg",
        "display_name": user.name,
        "username": user.username,
        "follower_count": user.followers,
        "following_count": user.following,
        "likes_count": user.extra.get("likes", 0),
        "video_count": len([p for p in state.live_posts(user.id)]),
    }
    wanted = [f for f in request.query_params.get("fields", "").split(",") if f]
    return api({"user": {k: v for k, v in full.items() if k in wanted}})


async def creator_info(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "video.publish")
    if isinstance(record, Response):
        return record
    user = state.users[record.user]
    return api(
        {
            "creator_avatar_url": "",
            "creator_username": user.username,
            "creator_nickname": user.name,
            "privacy_level_options": user.extra["privacy_level_options"],
            "comment_disabled": False,
            "duet_disabled": False,
            "stitch_disabled": True,
            "max_video_post_duration_sec": user.extra["max_video_post_duration_sec"],
        }
    )


def _check_post_info(user: SandboxUser, info: dict[str, Any]) -> Response | None:
    if info.get("privacy_level") not in user.extra["privacy_level_options"]:
        return api(
            code="privacy_level_option_mismatch",
            status=400,
            message="privacy_level is not one of the creator's privacy_level_options",
        )
    if len(str(info.get("title", ""))) > 2200:
        return api(code="invalid_params", status=400, message="title is too long")
    return None


async def video_init(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "video.publish")
    if isinstance(record, Response):
        return record
    body = await request.json()
    problem = _check_post_info(state.users[record.user], body.get("post_info") or {})
    if problem:
        return problem
    source = body.get("source_info") or {}
    if source.get("source") != "FILE_UPLOAD":
        return api(
            code="invalid_params", status=400, message="the sandbox takes FILE_UPLOAD sources"
        )
    size, chunk, count = (
        int(source.get(k, 0)) for k in ("video_size", "chunk_size", "total_chunk_count")
    )
    if size <= 0 or chunk <= 0 or chunk > size:
        return api(
            code="invalid_params", status=400, message="video_size and chunk_size are invalid"
        )
    if size >= MIN_CHUNK and not MIN_CHUNK <= chunk <= MAX_CHUNK:
        return api(
            code="invalid_params",
            status=400,
            message="chunk_size must be between 5 MB and 64 MB for a video of 5 MB or more",
        )
    if size < MIN_CHUNK and (chunk != size or count != 1):
        return api(
            code="invalid_params", status=400, message="a video under 5 MB is uploaded as one chunk"
        )
    if count != max(1, size // chunk):
        return api(
            code="invalid_params",
            status=400,
            message="total_chunk_count does not match video_size/chunk_size",
        )
    publish_id = f"v_pub_file~v2-1.{state.next_id()}"
    upload_id = secrets.token_hex(8)
    state.publishes[publish_id] = {
        "user": record.user,
        "info": body["post_info"],
        "size": size,
        "data": b"",
        "status": "PROCESSING_UPLOAD",
        "upload_id": upload_id,
        "kind": "video",
    }
    base = str(request.base_url).rstrip("/")
    return api(
        {
            "publish_id": publish_id,
            "upload_url": f"{base}/tiktok/upload/video/?upload_id={upload_id}"
            f"&upload_token={secrets.token_hex(6)}",
        }
    )


_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


async def upload(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    upload_id = request.query_params.get("upload_id")
    item = next((p for p in state.publishes.values() if p.get("upload_id") == upload_id), None)
    if item is None:
        return api(code="invalid_params", status=404, message="upload_id not found")
    match = _RANGE.fullmatch(request.headers.get("content-range", ""))
    data = await request.body()
    if match is None:
        return api(code="invalid_params", status=400, message="Content-Range is required")
    first, last, total = (int(g) for g in match.groups())
    if total != item["size"] or first != len(item["data"]) or last - first + 1 != len(data):
        return api(
            code="invalid_params", status=416, message="Content-Range does not match the upload"
        )
    item["data"] += data
    if len(item["data"]) < item["size"]:
        return Response(status_code=206)
    item.update(status="PROCESSING_DOWNLOAD", ready_at=time.time() + PROCESSING_SECONDS)
    return Response(status_code=201)


async def content_init(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "video.publish")
    if isinstance(record, Response):
        return record
    body = await request.json()
    problem = _check_post_info(state.users[record.user], body.get("post_info") or {})
    if problem:
        return problem
    source = body.get("source_info") or {}
    urls = source.get("photo_images") or []
    if body.get("media_type") != "PHOTO" or source.get("source") != "PULL_FROM_URL" or not urls:
        return api(
            code="invalid_params", status=400, message="photo posts need PULL_FROM_URL photo_images"
        )
    photos = []
    async with httpx.AsyncClient(timeout=5) as client:
        for url in urls:
            try:
                fetched = await client.get(url)
            except httpx.HTTPError:
                fetched = None
            kind = (
                sniff(fetched.content)
                if fetched is not None and fetched.status_code == 200
                else None
            )
            if kind not in ("image/jpeg", "image/webp"):
                return api(
                    code="url_ownership_unverified",
                    status=403,
                    message=f"The photo at {url} could not be pulled or is not JPEG/WEBP",
                )
            photos.append({"type": kind})
    publish_id = f"p_pub_url~v2.{state.next_id()}"
    state.publishes[publish_id] = {
        "user": record.user,
        "info": body["post_info"],
        "kind": "photo",
        "photos": photos,
        "status": "PROCESSING_DOWNLOAD",
        "ready_at": time.time() + PROCESSING_SECONDS,
    }
    return api({"publish_id": publish_id})


async def status_fetch(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "video.publish")
    if isinstance(record, Response):
        return record
    publish_id = (await request.json()).get("publish_id", "")
    item = state.publishes.get(publish_id)
    if item is None or item["user"] != record.user:
        return api(code="invalid_publish_id", status=400, message="publish_id is invalid")
    _settle(state)
    data: dict[str, Any] = {"status": item["status"]}
    if item["kind"] == "video":
        data["uploaded_bytes"] = len(item.get("data", b""))
    if item["status"] == "FAILED":
        data["fail_reason"] = item["fail_reason"]
    if item["status"] == "PUBLISH_COMPLETE" and item["info"].get("privacy_level") != "SELF_ONLY":
        data["publicaly_available_post_id"] = [int(item["post_id"])]
    return api(data)


def _settle(state: TikTokState) -> None:
    """Finish every publish whose processing time has passed."""
    for publish_id, item in state.publishes.items():
        if item["status"] == "PROCESSING_DOWNLOAD" and time.time() >= item["ready_at"]:
            _complete(state, publish_id, item)


def _complete(state: TikTokState, publish_id: str, item: dict[str, Any]) -> None:
    if item["kind"] == "video" and not same_family("video/mp4", item["data"]):
        item.update(status="FAILED", fail_reason="file_format_check_failed")
        return
    info = item["info"]
    caption = info.get("title", "") if item["kind"] == "video" else info.get("description", "")
    post = SandboxPost(
        state.next_id(),
        item["user"],
        caption,
        now(),
        media=[{"type": "video/mp4"}] if item["kind"] == "video" else item["photos"],
        title=info.get("title") if item["kind"] == "photo" else None,
    )
    post.extra.update(privacy=info.get("privacy_level"), publish_id=publish_id)
    state.add_post(post)
    item.update(status="PUBLISH_COMPLETE", post_id=post.id)


def _video_json(post: SandboxPost) -> dict[str, Any]:
    return {
        "id": post.id,
        "title": post.title or post.text,
        "video_description": post.text,
        "create_time": int(post.created_at.timestamp()),
        "duration": 15,
        "share_url": f"https://www.tiktok.com/@chorus.coffee/video/{post.id}",
        "like_count": post.metrics["like_count"],
        "comment_count": post.metrics["comment_count"],
        "share_count": post.metrics["share_count"],
        "view_count": post.metrics["view_count"],
    }


def _pick(video: dict[str, Any], request: Request) -> dict[str, Any]:
    wanted = [f for f in request.query_params.get("fields", "").split(",") if f]
    return {k: v for k, v in video.items() if k in wanted}


async def video_list(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "video.list")
    if isinstance(record, Response):
        return record
    _settle(state)
    body = await request.json()
    cursor = body.get("cursor")
    count = min(20, int(body.get("max_count", 10)))
    posts = sorted(
        (
            p
            for p in state.live_posts(record.user)
            if p.extra.get("privacy") != "SELF_ONLY"
            and (cursor is None or p.created_at.timestamp() * 1000 < cursor)
        ),
        key=lambda p: p.created_at,
        reverse=True,
    )
    page = posts[:count]
    next_cursor = int(page[-1].created_at.timestamp() * 1000) if page else 0
    return api(
        {
            "videos": [_pick(_video_json(p), request) for p in page],
            "cursor": next_cursor,
            "has_more": len(posts) > count,
        }
    )


async def video_query(request: Request) -> Response:
    state: TikTokState = request.app.state.network
    record = _auth(state, request, "video.list")
    if isinstance(record, Response):
        return record
    _settle(state)
    ids = ((await request.json()).get("filters") or {}).get("video_ids") or []
    if len(ids) > 20:
        return api(code="invalid_params", status=400, message="at most 20 video_ids")
    found = [
        state.posts[i] for i in ids if i in state.posts and state.posts[i].account == record.user
    ]
    return api(
        {"videos": [_pick(_video_json(p), request) for p in found], "cursor": 0, "has_more": False}
    )


def routes() -> list[Route]:
    return [
        Route("/www/v2/auth/authorize/", authorize, methods=["GET", "POST"]),
        Route("/open/v2/oauth/token/", token, methods=["POST"]),
        Route("/open/v2/oauth/revoke/", revoke, methods=["POST"]),
        Route("/open/v2/user/info/", user_info),
        Route("/open/v2/post/publish/creator_info/query/", creator_info, methods=["POST"]),
        Route("/open/v2/post/publish/video/init/", video_init, methods=["POST"]),
        Route("/open/v2/post/publish/content/init/", content_init, methods=["POST"]),
        Route("/open/v2/post/publish/status/fetch/", status_fetch, methods=["POST"]),
        Route("/open/v2/video/list/", video_list, methods=["POST"]),
        Route("/open/v2/video/query/", video_query, methods=["POST"]),
        Route("/upload/video/", upload, methods=["PUT"]),
    ]
