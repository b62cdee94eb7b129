"""X (Twitter) API v2 as the X provider uses it, on the wire: OAuth 2.0 with PKCE and
rotating refresh tokens, chunked media upload with processing, posts, replies, deletes,
metrics, timelines and mentions.

Shapes follow docs.x.com: problem+json errors (``{"title","detail","type","status"}``),
``x-rate-limit-*`` headers on 429, post text returned as X returns it (``&``, ``<``, ``>``
HTML-escaped, every URL wrapped as a t.co link with its ``entities.urls``, a media link
appended for posts with media), ids as decimal strings.
"""

from __future__ import annotations

import html
import re
import secrets
import time
from datetime import datetime
from typing import Any

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
    bearer,
    consent_page,
    form_data,
    now,
    redirect_with,
    same_family,
)

NETWORK = "x"
_URL = re.compile(r"https?://[^\s]+")
_ID_BASE = 1_870_000_000_000_000_000


def problem(
    status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any
) -> JSONResponse:
    body = {"title": title, "detail": detail, "type": kind, "status": status, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _rate_limited(retry_after: int) -> Response:
    response = problem(429, "Too Many Requests", "Too Many Requests")
    response.headers["x-rate-limit-limit"] = "100"
    response.headers["x-rate-limit-remaining"] = "0"
    response.headers["x-rate-limit-reset"] = str(int(time.time()) + retry_after)
    return response


def _server_error(status: int) -> Response:
    titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = titles.get(status, "Service Unavailable")
    return problem(status, title, title)


ERRORS = ErrorStyle(_rate_limited, _server_error)


class XState(NetworkState):
    id_start = _ID_BASE

    def __init__(self) -> None:
        super().__init__(OAuthServer("x-", access_ttl=7200, rotate_refresh=True))
        self.uploads: dict[str, dict[str, Any]] = {}
        self.add_user(
            SandboxUser("2244994945", "chorusbrand", "Chorus Brand", followers=1200, following=80)
        )


def _user_for(state: XState, request: Request) -> SandboxUser | Response:
    record = state.oauth.check(bearer(request))
    if isinstance(record, str):
        return problem(401, "Unauthorized", "Unauthorized")
    return state.users[record.user]


def _has_scope(state: XState, request: Request, scope: str) -> bool:
    record = state.oauth.check(bearer(request))
    return not isinstance(record, str) and scope in record.scopes


# --- OAuth ------------------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    state: XState = request.app.state.network
    if request.method == "GET":
        params = dict(request.query_params)
        missing = [
            p
            for p in (
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
            )
            if not params.get(p)
        ]
        if missing or params["client_id"] not in state.oauth.clients:
            reason = f"missing {', '.join(missing)}" if missing else "unknown client_id"
            return Response(f"Something went wrong: {reason}", status_code=400)
        return consent_page(
            network="X",
            app_name=state.app_name,
            scopes=params["scope"].split(),
            users=state.consenting_users(),
            params=params,
            action=str(request.url.path),
        )
    form = await form_data(request)
    if form.get("decision") != "allow":
        return redirect_with(
            form["redirect_uri"], {"error": "access_denied", "state": form["state"]}
        )
    code = state.oauth.issue_code(_grant(form, form.get("sandbox_user") or next(iter(state.users))))
    return redirect_with(form["redirect_uri"], {"state": form["state"], "code": code})


def _grant(form: dict[str, str], user: str) -> Grant:
    return Grant(
        user=user,
        client_id=form["client_id"],
        redirect_uri=form["redirect_uri"],
        scopes=tuple(form["scope"].split()),
        code_challenge=form.get("code_challenge"),
        challenge_method=form.get("code_challenge_method", "plain"),
    )


def _oauth_error(description: str, error: str = "invalid_request") -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


async def token(request: Request) -> Response:
    state: XState = request.app.state.network
    form = await form_data(request)
    client_id, secret = state.oauth.basic_client(request)
    if client_id is None:
        return JSONResponse(
            {
                "error": "unauthorized_client",
                "error_description": "Missing valid authorization header",
            },
            status_code=401,
        )
    if not state.oauth.client_ok(client_id, secret):
        return JSONResponse(
            {"error": "unauthorized_client", "error_description": "Invalid client credentials"},
            status_code=401,
        )
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = state.oauth.redeem_code(
            form.get("code", ""), client_id, form.get("redirect_uri"), form.get("code_verifier")
        )
        if isinstance(grant, str):
            return _oauth_error("Value passed for the authorization code was invalid.")
        access, refresh = state.oauth.issue(
            grant.user, client_id, grant.scopes, refresh="offline.access" in grant.scopes
        )
    elif grant_type == "refresh_token":
        result = state.oauth.use_refresh(form.get("refresh_token", ""), client_id)
        if isinstance(result, str):
            return _oauth_error("Value passed for the token was invalid.")
        access, refresh = result
    else:
        return _oauth_error("Missing required parameter [grant_type].")
    body: dict[str, Any] = {
        "token_type": "bearer",
        "expires_in": int(access.expires - time.time()) if access.expires else 7200,
        "access_token": access.token,
        "scope": " ".join(access.scopes),
    }
    if refresh is not None:
        body["refresh_token"] = refresh.token
    return JSONResponse(body)


async def revoke(request: Request) -> Response:
    state: XState = request.app.state.network
    form = await form_data(request)
    client_id, secret = state.oauth.basic_client(request)
    if not state.oauth.client_ok(client_id, secret):
        return JSONResponse(
            {"error": "unauthorized_client", "error_description": "Invalid client credentials"},
            status_code=401,
        )
    state.oauth.revoke(form.get("token", ""))
    return JSONResponse({"revoked": True})


# --- users -------------------------------------------------------------------------------------


def _user_json(state: XState, user: SandboxUser) -> dict[str, Any]:
    own = state.live_posts(user.id)
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "profile_image_url": user.avatar_url
        or f"https://pbs.twimg.com/profile_images/{user.id}.jpg",
        "verified": False,
        "public_metrics": {
            "followers_count": user.followers,
            "following_count": user.following,
            "tweet_count": len(own),
            "listed_count": 0,
            "like_count": 0,
        },
    }


async def users_me(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    return JSONResponse({"data": _user_json(state, user)})


async def user_by_username(request: Request) -> Response:
    """Any user's public profile; X answers 200 with ``errors`` for a name nobody has."""
    state: XState = request.app.state.network
    caller = _user_for(state, request)
    if isinstance(caller, Response):
        return caller
    name = request.path_params["username"].lower()
    user = next((u for u in state.users.values() if u.username.lower() == name), None)
    if user is None:
        detail = f"Could not find user with username: [{request.path_params['username']}]."
        return JSONResponse(
            {
                "errors": [
                    {
                        "value": request.path_params["username"],
                        "detail": detail,
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": "username",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            }
        )
    return JSONResponse({"data": _user_json(state, user)})


# --- media ---------------------------------------------------------------------------------------


async def media_initialize(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    if not _has_scope(state, request, "media.write"):
        return problem(403, "Forbidden", "Missing scope media.write")
    body = await request.json()
    media_type = str(body.get("media_type", ""))
    total = body.get("total_bytes")
    if not media_type or not isinstance(total, int) or total <= 0:
        return _invalid("media_type and total_bytes are required", "media_type")
    media_id = state.next_id()
    state.uploads[media_id] = {
        "owner": user.id,
        "media_type": media_type,
        "total": total,
        "category": body.get("media_category", "tweet_image"),
        "segments": {},
        "state": "created",
        "checks": 0,
        "alt_text": None,
    }
    return JSONResponse(
        {"data": {"id": media_id, "media_key": f"3_{media_id}", "expires_after_secs": 86400}}
    )


def _invalid(message: str, parameter: str) -> JSONResponse:
    return problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        "https://api.twitter.com/2/problems/invalid-request",
        errors=[{"parameters": {parameter: []}, "message": message}],
    )


def _upload_for(state: XState, request: Request, media_id: str) -> dict[str, Any] | Response:
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    upload = state.uploads.get(media_id)
    if upload is None or upload["owner"] != user.id:
        return _invalid(f"media_id {media_id} not found", "media_id")
    return upload


async def media_append(request: Request) -> Response:
    state: XState = request.app.state.network
    upload = _upload_for(state, request, request.path_params["media_id"])
    if isinstance(upload, Response):
        return upload
    form = await request.form()
    media = form.get("media")
    index = form.get("segment_index")
    if media is None or index is None or isinstance(media, str):
        return _invalid("segment_index and media are required", "media")
    data = await media.read()
    upload["segments"][int(str(index))] = data
    return JSONResponse({"data": {"expires_at": int(time.time()) + 86400}})


async def media_finalize(request: Request) -> Response:
    state: XState = request.app.state.network
    media_id = request.path_params["media_id"]
    upload = _upload_for(state, request, media_id)
    if isinstance(upload, Response):
        return upload
    segments = upload["segments"]
    data = b"".join(segments[i] for i in sorted(segments))
    if len(data) != upload["total"]:
        return _invalid(
            f"File size mismatch: received {len(data)} bytes, expected {upload['total']}",
            "total_bytes",
        )
    upload["data"] = data
    info: dict[str, Any] = {"id": media_id, "media_key": f"3_{media_id}", "size": len(data)}
    if upload["media_type"].startswith("video/") or upload["category"] in (
        "tweet_video",
        "tweet_gif",
    ):
        upload["state"] = "pending"
        info["processing_info"] = {"state": "pending", "check_after_secs": 1}
    elif same_family(upload["media_type"], data):
        upload["state"] = "succeeded"
    else:
        return _invalid("Invalid or Unsupported media, Reason: UnsupportedMedia.", "media")
    info["expires_after_secs"] = 86400
    return JSONResponse({"data": info})


async def media_status(request: Request) -> Response:
    state: XState = request.app.state.network
    if request.query_params.get("command") != "STATUS":
        return _invalid("command must be STATUS", "command")
    media_id = request.query_params.get("media_id", "")
    upload = _upload_for(state, request, media_id)
    if isinstance(upload, Response):
        return upload
    info: dict[str, Any] = {}
    if upload["state"] in ("pending", "in_progress"):
        upload["checks"] += 1
        if upload["checks"] == 1:
            upload["state"] = "in_progress"
            info = {"state": "in_progress", "check_after_secs": 1, "progress_percent": 50}
        elif same_family(upload["media_type"], upload["data"]):
            upload["state"] = "succeeded"
        else:
            upload["state"] = "failed"
    if upload["state"] == "succeeded":
        info = {"state": "succeeded", "progress_percent": 100}
    elif upload["state"] == "failed":
        info = {
            "state": "failed",
            "progress_percent": 100,
            "error": {
                "code": 1,
                "name": "InvalidMedia",
                "message": "Invalid or Unsupported media, Reason: UnsupportedMedia.",
            },
        }
    return JSONResponse(
        {"data": {"id": media_id, "media_key": f"3_{media_id}", "processing_info": info}}
    )


async def media_metadata(request: Request) -> Response:
    state: XState = request.app.state.network
    body = await request.json()
    upload = _upload_for(state, request, str(body.get("id", "")))
    if isinstance(upload, Response):
        return upload
    upload["alt_text"] = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
    return JSONResponse({"data": {"associated_metadata": True}})


# --- posts -------------------------------------------------------------------------------------


def _render(state: XState, post: SandboxPost, fields: set[str]) -> dict[str, Any]:
    """A post as X returns it: escaped text, t.co links with entities, metrics on request."""
    text = html.escape(post.text, quote=False)
    urls = []
    out = ""
    pos = 0
    for m in _URL.finditer(text):
        out += text[pos : m.start()]
        short = f"https://t.co/{post.id[-10:]}{len(urls)}"
        start = len(out)
        out += short
        urls.append(
            {
                "start": start,
                "end": start + len(short),
                "url": short,
                "expanded_url": html.unescape(m.group()),
                "display_url": m.group().split("://", 1)[1][:25],
            }
        )
        pos = m.end()
    out += text[pos:]
    for i, media in enumerate(post.media):
        short = f"https://t.co/m{post.id[-9:]}{i}"
        if i == 0:
            start = len(out) + 1
            out += " " + short
            urls.append(
                {
                    "start": start,
                    "end": start + len(short),
                    "url": short,
                    "expanded_url": f"https://x.com/i/web/status/{post.id}/photo/1",
                    "display_url": "pic.x.com/" + post.id[-10:],
                    "media_key": media["media_key"],
                }
            )
    body: dict[str, Any] = {
        "id": post.id,
        "text": out,
        "edit_history_tweet_ids": [post.id],
    }
    if "created_at" in fields:
        body["created_at"] = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "author_id" in fields:
        body["author_id"] = post.account
    if "conversation_id" in fields:
        body["conversation_id"] = post.extra.get("conversation_id", post.id)
    if "entities" in fields and urls:
        body["entities"] = {"urls": urls}
    if "referenced_tweets" in fields and post.parent:
        body["referenced_tweets"] = [{"type": "replied_to", "id": post.parent}]
    if "attachments" in fields and post.media:
        body["attachments"] = {"media_keys": [m["media_key"] for m in post.media]}
    if "public_metrics" in fields:
        replies = sum(1 for p in state.live_posts() if p.parent == post.id)
        body["public_metrics"] = {
            "retweet_count": post.metrics["retweet_count"],
            "reply_count": post.metrics["reply_count"] + replies,
            "like_count": post.metrics["like_count"],
            "quote_count": post.metrics["quote_count"],
            "bookmark_count": post.metrics["bookmark_count"],
            "impression_count": post.metrics["impression_count"],
        }
    if "non_public_metrics" in fields:
        body["non_public_metrics"] = {
            "impression_count": post.metrics["impression_count"],
            "url_link_clicks": post.metrics["url_link_clicks"],
            "user_profile_clicks": post.metrics["user_profile_clicks"],
        }
    return body


def _fields(request: Request) -> set[str]:
    return {f for f in request.query_params.get("tweet.fields", "").split(",") if f}


def _weighted(text: str) -> int:
    from tools.platform_rules import x_weighted_length

    return x_weighted_length(text)


async def create_tweet(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    if not _has_scope(state, request, "tweet.write"):
        return problem(403, "Forbidden", "You are not permitted to perform this action.")
    body = await request.json()
    text = str(body.get("text", ""))
    media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids", [])]
    reply_to = str((body.get("reply") or {}).get("in_reply_to_tweet_id") or "") or None
    if not text and not media_ids:
        return _invalid("Tweet text or media is required", "text")
    if _weighted(text) > 280:
        return problem(
            403,
            "Forbidden",
            "You are not permitted to perform this action.",
            errors=[{"message": "Tweet needs to be a bit shorter."}],
        )
    if any(p.text == text for p in state.live_posts(user.id)) and text:
        return problem(
            403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
        )
    media = []
    for media_id in media_ids:
        upload = state.uploads.get(media_id)
        if upload is None or upload["owner"] != user.id or upload["state"] != "succeeded":
            return _invalid(f"Your media IDs are invalid: {media_id}", "media.media_ids")
        media.append(
            {
                "media_key": f"3_{media_id}",
                "type": upload["media_type"],
                "alt_text": upload["alt_text"],
            }
        )
    if reply_to is not None:
        parent = state.posts.get(reply_to)
        if parent is None or parent.deleted:
            return problem(
                403,
                "Forbidden",
                "You attempted to reply to a Tweet that is deleted or not visible to you.",
            )
    post = state.add_post(
        SandboxPost(
            state.next_id(),
            user.id,
            text,
            now(),
            kind="reply" if reply_to else "post",
            parent=reply_to,
            media=media,
        )
    )
    if reply_to:
        root = state.posts[reply_to]
        post.extra["conversation_id"] = root.extra.get("conversation_id", root.id)
    return JSONResponse(
        {
            "data": {
                "id": post.id,
                "text": _render(state, post, set())["text"],
                "edit_history_tweet_ids": [post.id],
            }
        },
        status_code=201,
    )


async def delete_tweet(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    post = state.posts.get(request.path_params["tweet_id"])
    if post is None or post.deleted:
        return JSONResponse({"data": {"deleted": False}}, status_code=200)
    if post.account != user.id:
        return problem(403, "Forbidden", "You are not authorized to delete this Tweet.")
    post.deleted = True
    return JSONResponse({"data": {"deleted": True}})


async def lookup_tweets(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if not ids or len(ids) > 100:
        return _invalid("ids must hold 1 to 100 ids", "ids")
    fields = _fields(request)
    data, errors = [], []
    for tweet_id in ids:
        post = state.posts.get(tweet_id)
        if post is None or post.deleted:
            errors.append(
                {
                    "value": tweet_id,
                    "detail": f"Could not find tweet with ids: [{tweet_id}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": tweet_id,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            )
        else:
            data.append(_render(state, post, fields))
    body: dict[str, Any] = {"data": data} if data else {}
    if errors:
        body["errors"] = errors
    return JSONResponse(body)


def _page(
    request: Request, posts: list[SandboxPost], fields: set[str], state: XState
) -> JSONResponse:
    posts = sorted(posts, key=lambda p: int(p.id), reverse=True)
    max_results = min(100, max(5, int(request.query_params.get("max_results", "10"))))
    token = request.query_params.get("pagination_token")
    if token:
        posts = [p for p in posts if int(p.id) < int(token)]
    page, rest = posts[:max_results], posts[max_results:]
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta["newest_id"], meta["oldest_id"] = page[0].id, page[-1].id
    if rest:
        meta["next_token"] = page[-1].id
    body: dict[str, Any] = {"meta": meta}
    if page:
        body["data"] = [_render(state, p, fields) for p in page]
        if request.query_params.get("expansions") == "author_id":
            authors = {p.account for p in page}
            body["includes"] = {
                "users": [
                    {"id": a, "username": state.users[a].username, "name": state.users[a].name}
                    for a in authors
                    if a in state.users
                ]
            }
    return JSONResponse(body)


def _since(request: Request) -> datetime | None:
    value = request.query_params.get("start_time")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


async def user_tweets(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    account = request.path_params["user_id"]
    since = _since(request)
    excluded = set(request.query_params.get("exclude", "").split(","))
    posts = [
        p
        for p in state.live_posts(account)
        if (since is None or p.created_at >= since) and not ("replies" in excluded and p.parent)
    ]
    return _page(request, posts, _fields(request), state)


async def user_mentions(request: Request) -> Response:
    state: XState = request.app.state.network
    user = _user_for(state, request)
    if isinstance(user, Response):
        return user
    account = request.path_params["user_id"]
    since_id = request.query_params.get("since_id")
    posts = [
        p
        for p in state.live_posts()
        if p.kind == "mention"
        and p.extra.get("mentions") == account
        and (not since_id or int(p.id) > int(since_id))
    ]
    return _page(request, posts, _fields(request), state)


# --- control hooks -----------------------------------------------------------------------------


def seed_mention(state: XState, body: dict[str, Any]) -> SandboxPost:
    account = str(body["account"])
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
    post = SandboxPost(
        state.next_id(),
        author_id,
        str(body["text"]),
        now(),
        kind="mention",
        parent=body.get("parent"),
    )
    post.extra["mentions"] = account
    return state.add_post(post, count=False)


def routes() -> list[Route]:
    return [
        Route("/i/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route("/2/oauth2/token", token, methods=["POST"]),
        Route("/2/oauth2/revoke", revoke, methods=["POST"]),
        Route("/2/users/me", users_me),
        Route("/2/users/by/username/{username}", user_by_username),
        Route("/2/users/{user_id}/tweets", user_tweets),
        Route("/2/users/{user_id}/mentions", user_mentions),
        Route("/2/media/upload/initialize", media_initialize, methods=["POST"]),
        Route("/2/media/upload/{media_id}/append", media_append, methods=["POST"]),
        Route("/2/media/upload/{media_id}/finalize", media_finalize, methods=["POST"]),
        Route("/2/media/upload", media_status),
        Route("/2/media/metadata", media_metadata, methods=["POST"]),
        Route("/2/tweets", create_tweet, methods=["POST"]),
        Route("/2/tweets", lookup_tweets, methods=["GET"]),
        Route("/2/tweets/{tweet_id}", delete_tweet, methods=["DELETE"]),
    ]


State = XState
