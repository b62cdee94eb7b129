"""Meta's Graph API as the Facebook and Instagram providers use it: Facebook Login's dialog
and token exchanges, ``/me/accounts`` with Page tokens, Page feed/photos/resumable videos,
Instagram containers with resumable uploads (the ``rupload`` host) and ``media_publish``,
comments, tags, insights and deletes.

Paths below ``/meta``: ``/www/{version}/dialog/oauth`` (www.facebook.com),
``/graph/{version}/...`` (graph.facebook.com and graph-video.facebook.com) and
``/rupload/ig-api-upload/{version}/{container}`` (rupload.facebook.com).

Errors are Graph's ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``:
190 for tokens (subcode 463 expired, 460 invalidated), 32 with
``X-Business-Use-Case-Usage`` for rate limits, 506 for a duplicate status, 9004 when
Instagram cannot fetch an image URL. Tokens may come as a Bearer/OAuth header or as
``access_token`` in the query or form, as Graph accepts both.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
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

NETWORK = "meta"
LONG_LIVED = 60 * 86400


def graph_error(
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    status: int = 400,
    kind: str = "OAuthException",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, **extra}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = secrets.token_urlsafe(8)
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _rate_limited(retry_after: int) -> Response:
    minutes = max(1, -(-retry_after // 60))
    usage = {
        "0": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 40,
                "total_time": 60,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return graph_error(
        "(#32) Page request limit reached",
        32,
        status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )


def _server_error(status: int) -> Response:
    return graph_error(
        "An unexpected error has occurred. Please retry your request later.",
        2,
        status=status,
        is_transient=True,
    )


ERRORS = ErrorStyle(_rate_limited, _server_error)


def _time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+0000")


class MetaState(NetworkState):
    def __init__(self) -> None:
        super().__init__(OAuthServer("meta-", access_ttl=7200, rotate_refresh=False))
        self.containers: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.add_user(SandboxUser("10001", "dana.brand", "Dana Brand"))
        self.add_user(
            SandboxUser(
                "20001",
                "choruscoffee",
                "Chorus Coffee",
                followers=5400,
                kind="page",
                owner="10001",
                extra={
                    "ig": "17841400000000001",
                    "fan_count": 5200,
                    "insights": {
                        "page_impressions": 12000,
                        "page_impressions_unique": 8000,
                        # Lifetime breakdowns: Graph answers them as JSON objects.
                        "page_fans_gender_age": {
                            "F.18-24": 1300,
                            "F.25-34": 1300,
                            "M.25-34": 2080,
                            "U.35-44": 520,
                        },
                        "page_fans_country": {"US": 3900, "CA": 1300},
                    },
                },
            )
        )
        self.add_user(
            SandboxUser(
                "20002", "chorusevents", "Chorus Events", followers=800, kind="page", owner="10001"
            )
        )
        self.add_user(
            SandboxUser(
                "17841400000000001",
                "chorus.coffee",
                "Chorus Coffee",
                followers=3100,
                following=150,
                kind="business",
                owner="10001",
                extra={
                    "page": "20001",
                    "insights": {"reach": 2500, "views": 7000},
                    # follower_demographics per breakdown, as counts of followers.
                    "follower_demographics": {
                        "age": {"18-24": 930, "25-34": 1550, "35-44": 620},
                        "gender": {"F": 1860, "M": 1240},
                        "country": {"US": 2170, "FR": 930},
                    },
                },
            )
        )

    def page_of(self, object_id: str) -> str | None:
        """The Page an object belongs to (a Page, its Instagram account, their posts)."""
        user = self.users.get(object_id)
        if user is not None:
            return object_id if user.kind == "page" else user.extra.get("page")
        post = self.posts.get(object_id)
        if post is not None:
            return self.page_of(post.extra.get("owner", post.account))
        if object_id in self.containers:
            return self.page_of(self.containers[object_id]["ig"])
        if object_id in self.videos:
            return self.videos[object_id]["page"]
        return None


State = MetaState


def _token(request: Request, form: dict[str, str] | None = None) -> str | None:
    return (
        bearer(request)
        or request.query_params.get("access_token")
        or (form or {}).get("access_token")
    )


def _auth(
    state: MetaState, request: Request, form: dict[str, str] | None = None
) -> TokenRecord | Response:
    return _check_token(state, _token(request, form))


def _check_token(state: MetaState, token: str | None) -> TokenRecord | Response:
    record = state.oauth.check(token)
    if record == "invalid":
        return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
    if record == "expired":
        return graph_error(
            "Error validating access token: Session has expired. The current time is later "
            "than the expiry time.",
            190,
            subcode=463,
        )
    if record == "revoked":
        return graph_error(
            "Error validating access token: The session has been invalidated because the user "
            "changed their password or Facebook has changed the session for security reasons.",
            190,
            subcode=460,
        )
    assert isinstance(record, TokenRecord)
    return record


def _may_act(state: MetaState, record: TokenRecord, object_id: str) -> bool:
    page = state.page_of(object_id)
    if page is None:
        return False
    return record.user == page or state.users[page].owner == record.user


def _fields(request: Request) -> list[str]:
    """Top-level names of a Graph ``fields`` list (``a{b,c}``, ``x.summary(true)`` -> a, x)."""
    raw = request.query_params.get("fields", "")
    names, depth, current = [], 0, ""
    for ch in raw:
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        if ch == "," and depth == 0:
            names.append(current)
            current = ""
        else:
            current += ch
    names.append(current)
    return [re.split(r"[{.(]", n, maxsplit=1)[0].strip() for n in names if n.strip()]


def _pick(
    full: dict[str, Any], request: Request, default: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    wanted = _fields(request) or list(default)
    out = {"id": full["id"]}
    out.update({k: full[k] for k in wanted if k in full})
    return out


# --- login ------------------------------------------------------------------------------------


async def dialog(request: Request) -> Response:
    state: MetaState = request.app.state.network
    if request.method == "GET":
        params = dict(request.query_params)
        if params.get("client_id") not in state.oauth.clients or not params.get("redirect_uri"):
            return Response("Invalid App ID or redirect_uri", status_code=400)
        return consent_page(
            network="Facebook",
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
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
                "state": form.get("state", ""),
            },
        )
    grant = Grant(
        user=form.get("sandbox_user") or "10001",
        client_id=form["client_id"],
        redirect_uri=form["redirect_uri"],
        scopes=tuple(s for s in form.get("scope", "").split(",") if s),
    )
    code = state.oauth.issue_code(grant)
    return redirect_with(form["redirect_uri"], {"code": code, "state": form.get("state", "")})


async def access_token(request: Request) -> Response:
    state: MetaState = request.app.state.network
    form = {**dict(request.query_params), **(await form_data(request))}
    if not state.oauth.client_ok(form.get("client_id"), form.get("client_secret")):
        return graph_error("Error validating client secret.", 1, subcode=None, status=400)
    if form.get("grant_type") == "fb_exchange_token":
        record = _check_token(state, form.get("fb_exchange_token"))
        if isinstance(record, Response):
            return record
        long, _ = state.oauth.issue(
            record.user,
            record.client_id,
            record.scopes,
            refresh=False,
            family=record.family,
            access_ttl=LONG_LIVED,
        )
        return JSONResponse(
            {"access_token": long.token, "token_type": "bearer", "expires_in": LONG_LIVED}
        )
    grant = state.oauth.redeem_code(
        form.get("code", ""), form["client_id"], form.get("redirect_uri"), None
    )
    if isinstance(grant, str):
        return graph_error(
            "This authorization code has been used." if "used" in grant else grant,
            100,
            subcode=36009,
        )
    short, _ = state.oauth.issue(grant.user, grant.client_id, grant.scopes, refresh=False)
    return JSONResponse({"access_token": short.token, "token_type": "bearer", "expires_in": 5183})


async def permissions(request: Request) -> Response:
    state: MetaState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    state.oauth.revoke(record.token)
    return JSONResponse({"success": True})


async def me(request: Request) -> Response:
    state: MetaState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    user = state.users[record.user]
    full = {
        "id": user.id,
        "name": user.name,
        "picture": {"data": {"url": f"https://fb.test/{user.id}.jpg"}},
    }
    return JSONResponse(_pick(full, request, ("id", "name")))


async def me_accounts(request: Request) -> Response:
    state: MetaState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    pages = [u for u in state.users.values() if u.kind == "page" and u.owner == record.user]
    data = []
    for page in pages:
        page_token, _ = state.oauth.issue(
            page.id,
            record.client_id,
            record.scopes,
            refresh=False,
            family=record.family,
            access_ttl=None,
        )
        full = _page_json(state, page)
        full["access_token"] = page_token.token
        full["tasks"] = ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]
        data.append(_pick(full, request, ("id", "name", "access_token")))
    return JSONResponse({"data": data, "paging": {"cursors": {"before": "b", "after": "a"}}})


def _page_json(state: MetaState, page: SandboxUser) -> dict[str, Any]:
    full: dict[str, Any] = {
        "id": page.id,
        "name": page.name,
        "username": page.username,
        "picture": {"data": {"url": f"https://fb.test/{page.id}.jpg"}},
        "followers_count": page.followers,
        "fan_count": page.extra.get("fan_count", page.followers),
        "link": f"https://www.facebook.com/{page.username}",
    }
    ig = page.extra.get("ig")
    if ig and ig in state.users:
        full["instagram_business_account"] = _ig_json(state, state.users[ig])
    return full


def _ig_json(state: MetaState, ig: SandboxUser) -> dict[str, Any]:
    return {
        "id": ig.id,
        "username": ig.username,
        "name": ig.name,
        "profile_picture_url": f"https://ig.test/{ig.id}.jpg",
        "followers_count": ig.followers,
        "follows_count": ig.following,
        "media_count": len(
            [p for p in state.live_posts(ig.id) if p.extra.get("type") == "ig_media"]
        ),
    }


_DISCOVERY = re.compile(r"business_discovery\.username\(([^)]*)\)(?:\{([^}]*)\})?")


def _business_discovery(
    state: MetaState, request: Request, username: str, fields: str | None
) -> Response:
    """``?fields=business_discovery.username(name){...}``: another professional account's
    public fields, nested under ``business_discovery`` beside the caller's own id."""
    found = next(
        (u for u in state.users.values() if u.kind == "business" and u.username == username),
        None,
    )
    if found is None:
        return graph_error("Invalid user id", 110, subcode=2207013, kind="IGApiException")
    full = _ig_json(state, found)
    wanted = [f.strip() for f in (fields or "id").split(",")]
    picked = {"id": found.id} | {k: full[k] for k in wanted if k in full}
    return JSONResponse({"business_discovery": picked, "id": request.path_params["object_id"]})


# --- objects ------------------------------------------------------------------------------------


async def node(request: Request) -> Response:
    state: MetaState = request.app.state.network
    object_id = request.path_params["object_id"]
    form = await form_data(request) if request.method == "POST" else {}
    record = _auth(state, request, form)
    if isinstance(record, Response):
        return record
    if not _may_act(state, record, object_id):
        return graph_error(
            f"Unsupported {request.method.lower()} request. Object with ID '{object_id}' does "
            "not exist, cannot be loaded due to missing permissions, or does not support this "
            "operation.",
            100,
            subcode=33,
            kind="GraphMethodException",
        )
    if request.method == "DELETE":
        post = state.posts.get(object_id)
        if post is None or post.deleted:
            return graph_error("(#100) This post could not be loaded", 100)
        post.deleted = True
        return JSONResponse({"success": True})
    user = state.users.get(object_id)
    if user is not None and user.kind == "page":
        full = _page_json(state, user)
        if record.user == user.owner:
            token, _ = state.oauth.issue(
                user.id,
                record.client_id,
                record.scopes,
                refresh=False,
                family=record.family,
                access_ttl=None,
            )
            full["access_token"] = token.token
        return JSONResponse(_pick(full, request))
    if user is not None:
        discovered = _DISCOVERY.search(request.query_params.get("fields", ""))
        if discovered is not None:
            return _business_discovery(state, request, *discovered.groups())
        return JSONResponse(_pick(_ig_json(state, user), request))
    if object_id in state.containers:
        container = _advance_container(state, state.containers[object_id])
        full = {
            "id": object_id,
            "status_code": container["status_code"],
            "status": container["status"],
        }
        return JSONResponse(_pick(full, request))
    if object_id in state.videos:
        video = state.videos[object_id]
        status: dict[str, Any] = {"video_status": video["status"]}
        if video["status"] == "error":
            status["processing_phase"] = {
                "status": "error",
                "errors": [
                    {
                        "code": 1363008,
                        "message": "The video file you selected is in a format that we don't "
                        "support.",
                    }
                ],
            }
        full = {"id": object_id, "status": status, "post_id": video.get("post_id")}
        return JSONResponse(_pick(full, request))
    post = state.posts[object_id]
    return JSONResponse(_pick(_post_json(state, post), request))


def _post_json(state: MetaState, post: SandboxPost) -> dict[str, Any]:
    comments = [p for p in state.live_posts() if p.parent == post.id]
    if post.extra.get("type") == "ig_media":
        return {
            "id": post.id,
            "caption": post.text,
            "timestamp": _time(post.created_at),
            "permalink": f"https://www.instagram.com/p/{post.id}/",
            "media_type": post.extra.get("media_type", "IMAGE"),
            "like_count": post.metrics["likes"],
            "comments_count": len(comments),
        }
    return {
        "id": post.id,
        "message": post.text,
        "created_time": _time(post.created_at),
        "permalink_url": f"https://www.facebook.com/{post.id.replace('_', '/posts/')}",
        "shares": {"count": post.metrics["shares"]},
        "reactions": {"data": [], "summary": {"total_count": post.metrics["reactions"]}},
        "comments": {"data": [], "summary": {"total_count": len(comments)}},
    }


def _advance_container(state: MetaState, container: dict[str, Any]) -> dict[str, Any]:
    """Video containers are IN_PROGRESS for one status read after their upload."""
    if container["status_code"] == "IN_PROGRESS" and container.get("uploaded"):
        container["checks"] += 1
        if container["checks"] >= 2:
            if same_family("video/mp4", container["data"]):
                container["status_code"], container["status"] = (
                    "FINISHED",
                    "Finished: Media has been uploaded and it is ready to be published.",
                )
            else:
                container["status_code"] = "ERROR"
                container["status"] = "Error: Media upload has failed with error code 2207026"
    return container


async def edge(request: Request) -> Response:
    state: MetaState = request.app.state.network
    object_id, name = request.path_params["object_id"], request.path_params["edge"]
    is_multipart = request.headers.get("content-type", "").startswith("multipart/")
    form: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if request.method == "POST":
        if is_multipart:
            parsed = await request.form()
            for key, value in parsed.items():
                if isinstance(value, str):
                    form[key] = value
                else:
                    files[key] = await value.read()
        else:
            form = await form_data(request)
    record = _auth(state, request, form)
    if isinstance(record, Response):
        return record
    if not _may_act(state, record, object_id):
        return graph_error(
            "(#200) The user hasn't authorized the application to perform this action on "
            + object_id,
            200,
        )
    handler = _EDGES.get((request.method, name))
    if handler is None:
        return graph_error(f"(#100) Unknown edge {name} on this object", 100)
    return await handler(state, request, object_id, form, files)


async def feed(
    state: MetaState, request: Request, page: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    message = form.get("message", "")
    if any(p.text == message and message for p in state.live_posts(page) if p.kind == "post"):
        return graph_error("(#506) Duplicate status message", 506, subcode=1455006)
    attached = [
        json.loads(v)["media_fbid"]
        for k, v in sorted(form.items())
        if k.startswith("attached_media")
    ]
    media = []
    for fbid in attached:
        photo = state.posts.get(fbid)
        if photo is None or photo.extra.get("type") != "fb_photo" or photo.extra.get("published"):
            return graph_error(f"(#100) Invalid media_fbid {fbid}", 100)
        media.append({"photo_id": fbid, "type": photo.media[0]["type"]})
    if not message and not media and not form.get("link"):
        return graph_error("(#100) Missing message or attachment", 100)
    post = _fb_post(state, page, message, media=media, link=form.get("link"))
    return JSONResponse({"id": post.id})


def _fb_post(state: MetaState, page: str, message: str, **kw: Any) -> SandboxPost:
    post = SandboxPost(f"{page}_{state.next_id()}", page, message, now(), **kw)
    post.extra["type"] = "fb_post"
    return state.add_post(post)


async def photos(
    state: MetaState, request: Request, page: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    data = files.get("source")
    if data is None and form.get("url"):
        return graph_error("(#100) url uploads are not supported by the sandbox; send source", 100)
    kind = sniff(data or b"")
    if data is None or kind is None or not kind.startswith("image/"):
        return graph_error("(#324) Requires upload file", 324)
    published = form.get("published", "true") != "false"
    photo = SandboxPost(
        state.next_id(),
        page,
        form.get("message", ""),
        now(),
        kind="photo",
        media=[{"type": kind, "size": len(data), "alt_text": form.get("alt_text_custom")}],
    )
    photo.extra.update(type="fb_photo", published=published)
    state.add_post(photo, count=False)
    if not published:
        return JSONResponse({"id": photo.id})
    post = _fb_post(
        state, page, form.get("message", ""), media=[{"photo_id": photo.id, "type": kind}]
    )
    return JSONResponse({"id": photo.id, "post_id": post.id})


async def videos(
    state: MetaState, request: Request, page: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    phase = form.get("upload_phase")
    chunk_size = 1024  # small chunks, so every test exercises several transfers
    if phase == "start":
        size = int(form.get("file_size", "0"))
        if size <= 0:
            return graph_error("(#100) file_size is required", 100)
        video_id, session = state.next_id(), state.next_id()
        state.videos[video_id] = {
            "page": page,
            "session": session,
            "size": size,
            "data": b"",
            "status": "uploading",
        }
        return JSONResponse(
            {
                "video_id": video_id,
                "upload_session_id": session,
                "start_offset": "0",
                "end_offset": str(min(size, chunk_size)),
            }
        )
    video_id, video = next(
        ((v, d) for v, d in state.videos.items() if d["session"] == form.get("upload_session_id")),
        (None, None),
    )
    if video is None or video_id is None:
        return graph_error("(#100) Invalid upload_session_id", 100, subcode=1363019)
    if phase == "transfer":
        start = int(form.get("start_offset", "-1"))
        chunk = files.get("video_file_chunk", b"")
        if start != len(video["data"]):
            return graph_error("(#100) The start offset is wrong", 100, subcode=1363037)
        video["data"] += chunk
        begin = len(video["data"])
        return JSONResponse(
            {"start_offset": str(begin), "end_offset": str(min(video["size"], begin + chunk_size))}
        )
    if phase == "finish":
        if len(video["data"]) != video["size"]:
            return graph_error(
                "(#100) The video file you tried to upload is incomplete", 100, subcode=1363030
            )
        if not same_family("video/mp4", video["data"]):
            video["status"] = "error"
            return JSONResponse({"success": True})
        post = _fb_post(
            state,
            page,
            form.get("description", ""),
            media=[{"video_id": video_id, "type": "video/mp4"}],
            title=form.get("title"),
        )
        video.update(status="ready", post_id=post.id)
        return JSONResponse({"success": True})
    return graph_error("(#100) upload_phase must be start, transfer or finish", 100)


def _since(request: Request) -> float | None:
    value = request.query_params.get("since")
    return float(value) if value else None


async def published_posts(
    state: MetaState, request: Request, page: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    since = _since(request)
    posts = sorted(
        (
            p
            for p in state.live_posts(page)
            if p.extra.get("type") == "fb_post"
            and (since is None or p.created_at.timestamp() >= since)
        ),
        key=lambda p: p.created_at,
        reverse=True,
    )[: int(request.query_params.get("limit", "25"))]
    return JSONResponse({"data": [_pick(_post_json(state, p), request) for p in posts]})


async def comments_get(
    state: MetaState,
    request: Request,
    object_id: str,
    form: dict[str, Any],
    files: dict[str, bytes],
) -> Response:
    since = _since(request)
    items = sorted(
        (
            p
            for p in state.live_posts()
            if p.parent == object_id and (since is None or p.created_at.timestamp() >= since)
        ),
        key=lambda p: p.created_at,
    )
    return JSONResponse({"data": [_pick(_comment_json(state, c), request) for c in items]})


def _comment_json(state: MetaState, comment: SandboxPost) -> dict[str, Any]:
    author = state.users.get(comment.account)
    name = author.name if author else comment.account
    username = author.username if author else comment.account
    if comment.extra.get("type") == "ig_comment":
        return {
            "id": comment.id,
            "text": comment.text,
            "username": username,
            "from": {"id": comment.account, "username": username},
            "timestamp": _time(comment.created_at),
            "like_count": comment.metrics["likes"],
        }
    return {
        "id": comment.id,
        "message": comment.text,
        "from": {"id": comment.account, "name": name},
        "created_time": _time(comment.created_at),
        "permalink_url": f"https://www.facebook.com/{comment.parent}?comment_id={comment.id}",
        "like_count": comment.metrics["likes"],
    }


async def comments_post(
    state: MetaState,
    request: Request,
    object_id: str,
    form: dict[str, Any],
    files: dict[str, bytes],
) -> Response:
    parent = state.posts.get(object_id)
    if parent is None or parent.deleted or not form.get("message"):
        return graph_error("(#100) The parameter message is required", 100)
    ig = parent.extra.get("type") == "ig_media"
    account = parent.account
    comment = SandboxPost(
        state.next_id() if ig else f"{object_id.split('_')[-1]}_{state.next_id()}",
        account,
        form["message"],
        now(),
        kind="comment",
        parent=object_id,
    )
    comment.extra["type"] = "ig_comment" if ig else "fb_comment"
    state.add_post(comment)
    return JSONResponse({"id": comment.id})


async def tagged(
    state: MetaState,
    request: Request,
    object_id: str,
    form: dict[str, Any],
    files: dict[str, bytes],
) -> Response:
    since = _since(request)
    items = [
        p
        for p in state.live_posts()
        if p.extra.get("tagged") == object_id
        and (since is None or p.created_at.timestamp() >= since)
    ]
    out = []
    for p in sorted(items, key=lambda p: p.created_at, reverse=True):
        author = state.users.get(p.account)
        if p.extra.get("type") == "ig_tag":
            out.append(
                _pick(
                    {
                        "id": p.id,
                        "caption": p.text,
                        "username": author.username if author else "",
                        "timestamp": _time(p.created_at),
                        "permalink": f"https://www.instagram.com/p/{p.id}/",
                    },
                    request,
                )
            )
        else:
            out.append(
                _pick(
                    {
                        "id": p.id,
                        "message": p.text,
                        "from": {"id": p.account, "name": author.name if author else ""},
                        "created_time": _time(p.created_at),
                        "permalink_url": f"https://www.facebook.com/{p.id}",
                    },
                    request,
                )
            )
    return JSONResponse({"data": out})


async def insights(
    state: MetaState,
    request: Request,
    object_id: str,
    form: dict[str, Any],
    files: dict[str, bytes],
) -> Response:
    metrics = [m for m in request.query_params.get("metric", "").split(",") if m]
    source = state.posts.get(object_id)
    user = state.users.get(object_id)
    if "follower_demographics" in metrics:
        return _follower_demographics(request, object_id, user)
    data = []
    for metric in metrics:
        if source is not None:
            if metric == "comments":
                value = len([p for p in state.live_posts() if p.parent == object_id])
            else:
                value = source.metrics[metric]
        elif user is not None:
            value = user.extra.get("insights", {}).get(metric, 0)
        else:
            return graph_error("(#100) Invalid metric", 100)
        period = request.query_params.get("period", "lifetime")
        data.append(
            {
                "name": metric,
                "period": period,
                "values": [{"value": value}],
                "title": metric,
                "id": f"{object_id}/insights/{metric}/{period}",
            }
        )
    return JSONResponse({"data": data})


def _follower_demographics(request: Request, object_id: str, user: SandboxUser | None) -> Response:
    """Instagram's follower_demographics: lifetime, total_value, one breakdown per request."""
    params = request.query_params
    breakdown = params.get("breakdown", "")
    if user is None or user.kind != "business" or params.get("metric") != "follower_demographics":
        return graph_error("(#100) Invalid metric", 100)
    if params.get("period") != "lifetime" or params.get("metric_type") != "total_value":
        return graph_error(
            "(#100) follower_demographics needs period=lifetime, metric_type=total_value", 100
        )
    counts = user.extra.get("follower_demographics", {})
    if breakdown not in ("age", "gender", "country", "city") or "," in breakdown:
        return graph_error("(#100) one breakdown of age, gender, country or city is required", 100)
    results = [
        {"dimension_values": [bucket], "value": value}
        for bucket, value in counts.get(breakdown, {}).items()
    ]
    metric = {
        "name": "follower_demographics",
        "period": "lifetime",
        "title": "Follower demographics",
        "total_value": {"breakdowns": [{"dimension_keys": [breakdown], "results": results}]},
        "id": f"{object_id}/insights/follower_demographics/lifetime",
    }
    return JSONResponse({"data": [metric]})


async def ig_media_list(
    state: MetaState, request: Request, ig: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    posts = sorted(
        (p for p in state.live_posts(ig) if p.extra.get("type") == "ig_media"),
        key=lambda p: p.created_at,
        reverse=True,
    )[: int(request.query_params.get("limit", "25"))]
    return JSONResponse({"data": [_pick(_post_json(state, p), request) for p in posts]})


async def ig_media_create(
    state: MetaState, request: Request, ig: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    container_id = state.next_id()
    container: dict[str, Any] = {
        "ig": ig,
        "caption": form.get("caption", ""),
        "checks": 0,
        "uploaded": False,
        "carousel_item": form.get("is_carousel_item") == "true",
    }
    media_type = form.get("media_type", "IMAGE")
    if media_type == "CAROUSEL":
        children = [c for c in form.get("children", "").split(",") if c]
        if not 2 <= len(children) <= 10 or any(
            c not in state.containers or state.containers[c]["status_code"] != "FINISHED"
            for c in children
        ):
            return graph_error(
                "(#100) The carousel children are not valid or not ready", 100, subcode=2207003
            )
        container.update(
            media_type="CAROUSEL", children=children, status_code="FINISHED", status="Finished"
        )
    elif media_type in ("REELS", "VIDEO"):
        if form.get("upload_type") != "resumable":
            return graph_error("(#100) The sandbox only takes resumable video uploads", 100)
        container.update(
            media_type=media_type, status_code="IN_PROGRESS", status="In progress", data=b""
        )
        state.containers[container_id] = container
        base = str(request.base_url).rstrip("/")
        version = request.url.path.split("/")[2] if request.url.path.count("/") > 2 else "v23.0"
        uri = f"{base}/meta/rupload/ig-api-upload/{version}/{container_id}"
        return JSONResponse({"id": container_id, "uri": uri})
    else:
        url = form.get("image_url")
        if not url:
            return graph_error("(#100) The parameter image_url is required.", 100)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                fetched = await client.get(url)
            ok = fetched.status_code == 200 and sniff(fetched.content) == "image/jpeg"
        except httpx.HTTPError:
            ok = False
        if not ok:
            return graph_error(
                "Only photo or video can be accepted as media type.",
                9004,
                subcode=2207052,
                is_transient=False,
                error_user_title="Media download has failed.",
                error_user_msg=f"The media could not be fetched from this URI: {url}. Please "
                "check the URI and try again.",
            )
        container.update(
            media_type="IMAGE",
            image_url=url,
            alt_text=form.get("alt_text"),
            status_code="FINISHED",
            status="Finished",
        )
    state.containers[container_id] = container
    return JSONResponse({"id": container_id})


async def ig_media_publish(
    state: MetaState, request: Request, ig: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    container = state.containers.get(form.get("creation_id", ""))
    if container is None or container["ig"] != ig:
        return graph_error("(#100) Invalid parameter creation_id", 100)
    if container["status_code"] == "PUBLISHED":
        return graph_error("(#9007) The media has already been published", 9007, subcode=2207020)
    if container["status_code"] != "FINISHED" or container["carousel_item"]:
        return graph_error(
            "(#9007) Media ID is not available",
            9007,
            subcode=2207027,
            error_user_msg="The media is not ready for publishing, please wait for a moment",
        )
    container["status_code"] = "PUBLISHED"
    kinds = [state.containers[c]["media_type"] for c in container.get("children", [])] or [
        container["media_type"]
    ]
    post = SandboxPost(
        state.next_id(), ig, container["caption"], now(), media=[{"type": k} for k in kinds]
    )
    post.extra.update(
        type="ig_media",
        media_type=container["media_type"] if container["media_type"] != "REELS" else "VIDEO",
    )
    state.add_post(post)
    return JSONResponse({"id": post.id})


async def ig_tags(
    state: MetaState, request: Request, ig: str, form: dict[str, Any], files: dict[str, bytes]
) -> Response:
    return await tagged(state, request, ig, form, files)


async def rupload(request: Request) -> Response:
    state: MetaState = request.app.state.network
    container_id = request.path_params["container_id"]
    header = request.headers.get("authorization", "")
    record = state.oauth.check(header[6:] if header.startswith("OAuth ") else None)
    if isinstance(record, str):
        return JSONResponse(
            {
                "debug_info": {
                    "retriable": False,
                    "type": "AuthError",
                    "message": "Invalid OAuth access token.",
                }
            },
            status_code=401,
        )
    container = state.containers.get(container_id)
    if container is None or not _may_act(state, record, container_id):
        return JSONResponse(
            {
                "debug_info": {
                    "retriable": False,
                    "type": "NotFoundError",
                    "message": "Container not found",
                }
            },
            status_code=404,
        )
    offset, size = (
        int(request.headers.get("offset", "0")),
        int(request.headers.get("file_size", "0")),
    )
    body = await request.body()
    container["data"] = container.get("data", b"")[:offset] + body
    if len(container["data"]) != size:
        return JSONResponse(
            {
                "debug_info": {
                    "retriable": True,
                    "type": "ProcessingFailedError",
                    "message": "Partial upload",
                }
            },
            status_code=400,
        )
    container["uploaded"] = True
    return JSONResponse({"success": True, "message": "Upload successful."})


_EDGES = {
    ("POST", "feed"): feed,
    ("POST", "photos"): photos,
    ("POST", "videos"): videos,
    ("GET", "published_posts"): published_posts,
    ("GET", "comments"): comments_get,
    ("POST", "comments"): comments_post,
    ("GET", "tagged"): tagged,
    ("GET", "insights"): insights,
    ("GET", "media"): ig_media_list,
    ("POST", "media"): ig_media_create,
    ("POST", "media_publish"): ig_media_publish,
    ("GET", "tags"): ig_tags,
}


# --- control hooks -----------------------------------------------------------------------------


def seed_mention(state: MetaState, body: dict[str, Any]) -> SandboxPost:
    """A comment by someone else on ``parent``, or (without a parent) a post tagging
    ``account`` (a Page or an Instagram account)."""
    author = body.get("author") or {}
    author_id = str(author.get("id") or secrets.randbelow(10**12))
    if author_id not in state.users:
        state.add_user(
            SandboxUser(
                author_id,
                author.get("username", f"fan{author_id[-4:]}"),
                author.get("name", "A Fan"),
                kind="external",
            )
        )
    parent = body.get("parent")
    account = str(body.get("account", ""))
    is_ig = state.users.get(account, SandboxUser("", "", "")).kind == "business"
    if parent:
        parent_post = state.posts[str(parent)]
        is_ig = parent_post.extra.get("type") == "ig_media"
        post = SandboxPost(
            state.next_id(), author_id, str(body["text"]), now(), kind="comment", parent=str(parent)
        )
        post.extra.update(type="ig_comment" if is_ig else "fb_comment", owner=parent_post.account)
    else:
        post = SandboxPost(state.next_id(), author_id, str(body["text"]), now(), kind="mention")
        post.extra.update(type="ig_tag" if is_ig else "fb_tag", tagged=account, owner=account)
    return state.add_post(post, count=False)


def routes() -> list[Route]:
    return [
        Route("/www/{version}/dialog/oauth", dialog, methods=["GET", "POST"]),
        Route("/graph/{version}/oauth/access_token", access_token, methods=["GET", "POST"]),
        Route("/graph/{version}/me/permissions", permissions, methods=["DELETE"]),
        Route("/graph/{version}/me/accounts", me_accounts),
        Route("/graph/{version}/me", me),
        Route("/graph/{version}/{object_id}/{edge}", edge, methods=["GET", "POST"]),
        Route("/graph/{version}/{object_id}", node, methods=["GET", "DELETE"]),
        Route("/rupload/ig-api-upload/{version}/{container_id}", rupload, methods=["POST"]),
    ]
