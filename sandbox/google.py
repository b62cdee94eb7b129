"""Google OAuth 2.0 and the YouTube Data API v3 as the YouTube provider uses them.

Paths below ``/google``: ``/accounts/o/oauth2/v2/auth`` (accounts.google.com),
``/oauth2/token`` and ``/oauth2/revoke`` (oauth2.googleapis.com), ``/youtube/v3/...`` and
``/upload/youtube/v3/videos`` (www.googleapis.com). PKCE is checked when the
authorization asked for it; refresh tokens do not rotate. The resumable upload answers as
Google's does: a ``Location`` session URI, ``308`` with ``Range: bytes=0-N`` for each
chunk and for a ``bytes */total`` status query, ``200`` with the video when complete;
chunks other than the last must be multiples of 256 KiB. Errors are
``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}``.
Counts in statistics are strings, as YouTube sends them.
"""

from __future__ import annotations

import re
import secrets
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
    TokenRecord,
    bearer,
    consent_page,
    form_data,
    now,
    redirect_with,
    same_family,
)

NETWORK = "google"
CHANNEL = "UCchorusBrand000000000001"
UNIT = 256 * 1024
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def g_error(
    status: int,
    message: str,
    reason: str,
    domain: str = "youtube.api",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": _STATUS.get(status, "UNKNOWN"),
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


ERRORS = ErrorStyle(
    lambda retry_after: g_error(
        429,
        "The request cannot be completed because you have exceeded your quota.",
        "rateLimitExceeded",
        "usageLimits",
        {"Retry-After": str(retry_after)},
    ),
    lambda status: g_error(status, "Backend Error", "backendError", "global"),
)


class GoogleState(NetworkState):
    def __init__(self) -> None:
        super().__init__(OAuthServer("ya29.", access_ttl=3599, rotate_refresh=False))
        self.sessions: dict[str, dict[str, Any]] = {}
        self.add_user(
            SandboxUser(
                "google-user-1",
                "@chorusbrand",
                "Chorus Brand",
                followers=8800,
                extra={"channel": CHANNEL, "audience": AUDIENCE},
            )
        )
        self.quota_exhausted = False

    def channel_owner(self, channel: str) -> SandboxUser | None:
        return next((u for u in self.users.values() if u.extra.get("channel") == channel), None)


State = GoogleState


# --- OAuth ------------------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    if request.method == "GET":
        params = dict(request.query_params)
        if params.get("client_id") not in state.oauth.clients:
            return Response(
                "Error 401: invalid_client. The OAuth client was not found.", status_code=401
            )
        if params.get("code_challenge") and params.get("code_challenge_method") not in (
            "S256",
            "plain",
        ):
            return Response(
                "Error 400: invalid_request. Invalid code_challenge_method", status_code=400
            )
        return consent_page(
            network="Google",
            app_name=state.app_name,
            scopes=params.get("scope", "").split(),
            users=state.consenting_users(),
            params=params,
            action=str(request.url.path),
        )
    form = await form_data(request)
    if form.get("decision") != "allow":
        return redirect_with(
            form["redirect_uri"], {"error": "access_denied", "state": form.get("state", "")}
        )
    grant = Grant(
        user=form.get("sandbox_user") or "google-user-1",
        client_id=form["client_id"],
        redirect_uri=form["redirect_uri"],
        scopes=tuple(form.get("scope", "").split()),
        code_challenge=form.get("code_challenge"),
        challenge_method=form.get("code_challenge_method"),
    )
    code = state.oauth.issue_code(grant)
    return redirect_with(
        form["redirect_uri"],
        {"state": form.get("state", ""), "code": code, "scope": form.get("scope", "")},
    )


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def token(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    form = await form_data(request)
    if not state.oauth.client_ok(form.get("client_id"), form.get("client_secret")):
        return _oauth_error("invalid_client", "Unauthorized", 401)
    if form.get("grant_type") == "authorization_code":
        grant = state.oauth.redeem_code(
            form.get("code", ""),
            form["client_id"],
            form.get("redirect_uri"),
            form.get("code_verifier") or None,
        )
        if isinstance(grant, str):
            return _oauth_error(
                "invalid_grant", "Malformed auth code." if "code is" in grant else grant
            )
        access, refresh = state.oauth.issue(grant.user, grant.client_id, grant.scopes)
        assert refresh is not None
        return JSONResponse(
            {
                "access_token": access.token,
                "expires_in": 3599,
                "refresh_token": refresh.token,
                "scope": " ".join(access.scopes),
                "token_type": "Bearer",
            }
        )
    if form.get("grant_type") == "refresh_token":
        result = state.oauth.use_refresh(form.get("refresh_token", ""), form["client_id"])
        if isinstance(result, str):
            return _oauth_error("invalid_grant", "Token has been expired or revoked.")
        access, _ = result
        return JSONResponse(
            {
                "access_token": access.token,
                "expires_in": 3599,
                "scope": " ".join(access.scopes),
                "token_type": "Bearer",
            }
        )
    return _oauth_error("unsupported_grant_type", "Invalid grant_type")


async def revoke(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    form = {**dict(request.query_params), **(await form_data(request))}
    if not state.oauth.revoke(form.get("token", "")):
        return _oauth_error("invalid_token", "Token expired or revoked")
    return JSONResponse({})


# --- YouTube ------------------------------------------------------------------------------------


def _auth(
    state: GoogleState, request: Request, scope_hint: str = "youtube"
) -> TokenRecord | Response:
    record = state.oauth.check(bearer(request))
    if isinstance(record, str):
        return g_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            "authError",
            "global",
            {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
    if not any(scope_hint in s for s in record.scopes):
        return g_error(
            403,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
            "global",
        )
    return record


def _channel_json(state: GoogleState, user: SandboxUser) -> dict[str, Any]:
    channel = user.extra["channel"]
    videos = [p for p in state.live_posts(channel) if p.kind == "post"]
    return {
        "kind": "youtube#channel",
        "id": channel,
        "snippet": {
            "title": user.name,
            "customUrl": user.username,
            "thumbnails": {"default": {"url": f"https://yt3.ggpht.test/{channel}=s88"}},
        },
        "statistics": {
            "viewCount": str(sum(p.metrics["viewCount"] for p in videos)),
            "subscriberCount": str(user.followers),
            "hiddenSubscriberCount": False,
            "videoCount": str(len(videos)),
        },
        "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + channel[2:]}},
    }


async def channels(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    user = state.users[record.user]
    handle = request.query_params.get("forHandle")
    if handle is not None:
        # forHandle matches a channel's handle with or without its "@", in any case.
        wanted = "@" + handle.removeprefix("@").lower()
        items = [
            _channel_json(state, u)
            for u in state.users.values()
            if "channel" in u.extra and u.username.lower() == wanted
        ]
    elif request.query_params.get("mine") == "true" and "channel" in user.extra:
        items = [_channel_json(state, user)]
    else:
        items = []
    return JSONResponse(
        {
            "kind": "youtube#channelListResponse",
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
        }
    )


async def upload_start(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    record = _auth(state, request, "youtube")
    if isinstance(record, Response):
        return record
    if state.quota_exhausted:
        return g_error(
            403,
            "The request cannot be completed because you have exceeded your "
            '<a href="/youtube/v3/getting-started#quota">quota</a>.',
            "quotaExceeded",
            "youtube.quota",
        )
    if request.query_params.get("uploadType") != "resumable":
        return g_error(400, "The sandbox takes resumable uploads only", "invalidUploadType")
    body = await request.json()
    snippet = body.get("snippet") or {}
    title = str(snippet.get("title", ""))
    if not title.strip() or len(title) > 100 or "<" in title or ">" in title:
        return g_error(
            400, "The request metadata specifies an invalid video title.", "invalidTitle"
        )
    description = str(snippet.get("description", ""))
    if len(description.encode()) > 5000 or "<" in description or ">" in description:
        return g_error(
            400,
            "The request metadata specifies an invalid video description.",
            "invalidDescription",
        )
    size = int(request.headers.get("x-upload-content-length", "0"))
    if size <= 0:
        return g_error(400, "X-Upload-Content-Length is required", "mediaBodyRequired")
    upload_id = secrets.token_urlsafe(12)
    state.sessions[upload_id] = {
        "user": record.user,
        "metadata": body,
        "size": size,
        "data": b"",
        "type": request.headers.get("x-upload-content-type", "video/*"),
        "video": None,
    }
    base = str(request.base_url).rstrip("/")
    location = f"{base}/google/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
    return Response(
        status_code=200, headers={"location": location, "x-guploader-uploadid": upload_id}
    )


_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+)")


async def upload_chunk(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    session = state.sessions.get(request.query_params.get("upload_id", ""))
    if session is None:
        return g_error(404, "Upload session not found", "notFound")
    data = await request.body()
    match = _RANGE.fullmatch(request.headers.get("content-range", ""))
    if match is None or int(match.group(3)) != session["size"]:
        return g_error(400, "Invalid Content-Range", "badContent")
    if session["video"] is not None:  # complete: any question gets the video again
        return JSONResponse(_video_json(state, state.posts[session["video"]]), status_code=200)
    if match.group(1) is not None:
        first, last = int(match.group(1)), int(match.group(2))
        if first != len(session["data"]) or last - first + 1 != len(data):
            return g_error(400, "Content-Range does not continue the upload", "badContent")
        if last + 1 < session["size"] and len(data) % UNIT:
            return g_error(
                400, "Chunks other than the last must be a multiple of 256 KiB", "badContent"
            )
        session["data"] += data
    received = len(session["data"])
    if received < session["size"]:
        headers = {"range": f"bytes=0-{received - 1}"} if received else {}
        return Response(status_code=308, headers=headers)
    if not same_family("video/mp4", session["data"]):
        return g_error(
            400, "The video could not be processed: unsupported format.", "invalidVideoFormat"
        )
    snippet = session["metadata"].get("snippet") or {}
    status = session["metadata"].get("status") or {}
    channel = state.users[session["user"]].extra["channel"]
    post = SandboxPost(
        state.next_id(),
        channel,
        str(snippet.get("description", "")),
        now(),
        title=str(snippet.get("title", "")),
        media=[{"type": session["type"]}],
    )
    post.id = "vid" + secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")
    post.extra["privacy"] = status.get("privacyStatus", "public")
    state.add_post(post)
    session["video"] = post.id
    return JSONResponse(_video_json(state, post), status_code=200)


def _video_json(state: GoogleState, post: SandboxPost) -> dict[str, Any]:
    comments = len([p for p in state.live_posts() if p.parent == post.id])
    return {
        "kind": "youtube#video",
        "id": post.id,
        "snippet": {
            "title": post.title,
            "description": post.text,
            "channelId": post.account,
            "publishedAt": post.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "status": {
            "uploadStatus": "uploaded",
            "privacyStatus": post.extra.get("privacy", "public"),
        },
        "statistics": {
            "viewCount": str(post.metrics["viewCount"]),
            "likeCount": str(post.metrics["likeCount"]),
            "favoriteCount": "0",
            "commentCount": str(post.metrics["commentCount"] + comments),
        },
    }


async def videos(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    channel = state.users[record.user].extra.get("channel")
    if request.method == "DELETE":
        post = state.posts.get(request.query_params.get("id", ""))
        if post is None or post.deleted:
            return g_error(
                404, "The video that you are trying to delete cannot be found.", "videoNotFound"
            )
        if post.account != channel:
            return g_error(
                403, "The video that you are trying to delete cannot be deleted.", "forbidden"
            )
        post.deleted = True
        return Response(status_code=204)
    ids = [i for i in request.query_params.get("id", "").split(",") if i]
    items = [
        _video_json(state, state.posts[i])
        for i in ids
        if i in state.posts and not state.posts[i].deleted
    ]
    parts = set(request.query_params.get("part", "").split(","))
    items = [{k: v for k, v in item.items() if k in parts | {"kind", "id"}} for item in items]
    return JSONResponse({"kind": "youtube#videoListResponse", "items": items})


async def playlist_items(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    playlist = request.query_params.get("playlistId", "")
    channel = "UC" + playlist[2:]
    if not playlist.startswith("UU") or state.channel_owner(channel) is None:
        return g_error(
            404,
            "The playlist identified with the request's playlistId parameter cannot be found.",
            "playlistNotFound",
        )
    own = sorted(
        (p for p in state.live_posts(channel) if p.kind == "post"),
        key=lambda p: p.created_at,
        reverse=True,
    )[: int(request.query_params.get("maxResults", "5"))]
    items = [
        {
            "kind": "youtube#playlistItem",
            "id": f"pli-{p.id}",
            "snippet": {
                "publishedAt": p.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "title": p.title,
                "description": p.text,
                "channelId": channel,
                "playlistId": playlist,
                "resourceId": {"kind": "youtube#video", "videoId": p.id},
            },
            "contentDetails": {
                "videoId": p.id,
                "videoPublishedAt": p.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
        for p in own
    ]
    return JSONResponse({"kind": "youtube#playlistItemListResponse", "items": items})


def _thread_json(
    state: GoogleState, comment: SandboxPost, viewer_channel: str | None
) -> dict[str, Any]:
    author_channel = comment.account  # comments are made by channels
    author = state.channel_owner(author_channel)
    top: dict[str, Any] = {
        "authorDisplayName": author.name if author else "Someone",
        "authorChannelId": {"value": author_channel},
        "videoId": comment.parent,
        "textDisplay": comment.text.replace("<", "&lt;").replace(">", "&gt;"),
        "likeCount": comment.metrics["likeCount"],
        "publishedAt": comment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if viewer_channel == author_channel:
        top["textOriginal"] = comment.text  # only the author sees the original text
    return {
        "kind": "youtube#commentThread",
        "id": comment.id,
        "snippet": {
            "videoId": comment.parent,
            "topLevelComment": {"id": comment.id, "snippet": top},
            "totalReplyCount": comment.metrics["totalReplyCount"],
            "canReply": True,
        },
    }


async def comment_threads(request: Request) -> Response:
    state: GoogleState = request.app.state.network
    record = _auth(state, request)
    if isinstance(record, Response):
        return record
    channel = state.users[record.user].extra.get("channel")
    if request.method == "POST":
        if not any("force-ssl" in s for s in record.scopes):
            return g_error(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                "global",
            )
        snippet = (await request.json()).get("snippet") or {}
        video = state.posts.get(snippet.get("videoId", ""))
        text = ((snippet.get("topLevelComment") or {}).get("snippet") or {}).get("textOriginal", "")
        if video is None or video.deleted:
            return g_error(
                404,
                "The video identified by the videoId parameter could not be found.",
                "videoNotFound",
            )
        if not text.strip():
            return g_error(400, "The comment text is empty", "commentTextRequired")
        comment = state.add_post(
            SandboxPost(
                "Ug" + secrets.token_hex(10),
                channel or record.user,
                text,
                now(),
                kind="comment",
                parent=video.id,
            )
        )
        return JSONResponse(_thread_json(state, comment, channel))
    video_id = request.query_params.get("videoId")
    related = request.query_params.get("allThreadsRelatedToChannelId")
    found = [
        p
        for p in state.live_posts()
        if p.kind in ("comment", "mention")
        and p.parent in state.posts
        and (video_id is None or p.parent == video_id)
        and (related is None or state.posts[p.parent].account == related)
    ]
    found.sort(key=lambda p: p.created_at, reverse=True)
    limit = int(request.query_params.get("maxResults", "20"))
    return JSONResponse(
        {
            "kind": "youtube#commentThreadListResponse",
            "items": [_thread_json(state, c, channel) for c in found[:limit]],
        }
    )


# The channel's viewers as YouTube Analytics reports them: viewerPercentage per age group
# and gender, views per country.
AUDIENCE: dict[str, Any] = {
    "ageGender": [
        ["age18-24", "female", 20.0],
        ["age18-24", "male", 15.0],
        ["age25-34", "female", 25.0],
        ["age25-34", "male", 30.0],
        ["age35-44", "user_specified", 10.0],
    ],
    "country": [["US", 6000], ["DE", 3000], ["JP", 1000]],
}


def _report(headers: list[tuple[str, str, str]], rows: list[list[Any]]) -> JSONResponse:
    return JSONResponse(
        {
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": [
                {"name": n, "columnType": kind, "dataType": t} for n, kind, t in headers
            ],
            "rows": rows,
        }
    )


async def analytics_reports(request: Request) -> Response:
    """The two reports the provider asks for; others are the API's 400."""
    state: GoogleState = request.app.state.network
    record = _auth(state, request, scope_hint="yt-analytics")
    if isinstance(record, Response):
        return record
    q = request.query_params
    if q.get("ids") != "channel==MINE" or not q.get("startDate") or not q.get("endDate"):
        return g_error(400, "Required parameter: ids, startDate, endDate", "required", "global")
    audience = state.users[record.user].extra.get("audience", {})
    wanted = (q.get("metrics"), q.get("dimensions"))
    if wanted == ("viewerPercentage", "ageGroup,gender"):
        headers = [
            ("ageGroup", "DIMENSION", "STRING"),
            ("gender", "DIMENSION", "STRING"),
            ("viewerPercentage", "METRIC", "FLOAT"),
        ]
        return _report(headers, audience.get("ageGender", []))
    if wanted == ("views", "country"):
        headers = [("country", "DIMENSION", "STRING"), ("views", "METRIC", "INTEGER")]
        return _report(headers, audience.get("country", []))
    return g_error(400, "The query is not supported.", "badRequest", "global")


def seed_mention(state: GoogleState, body: dict[str, Any]) -> SandboxPost:
    author = body.get("author") or {}
    author_id = str(author.get("id") or f"UC{secrets.token_hex(11)}")
    if author_id not in state.users:
        state.add_user(
            SandboxUser(
                author_id,
                author.get("username", "@viewer"),
                author.get("name", "A Viewer"),
                kind="external",
                extra={"channel": author_id},
            )
        )
    return state.add_post(
        SandboxPost(
            "Ug" + secrets.token_hex(10),
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
        Route("/accounts/o/oauth2/v2/auth", authorize, methods=["GET", "POST"]),
        Route("/oauth2/token", token, methods=["POST"]),
        Route("/oauth2/revoke", revoke, methods=["POST"]),
        Route("/youtube/v3/channels", channels),
        Route("/youtubeanalytics/v2/reports", analytics_reports),
        Route("/youtube/v3/videos", videos, methods=["GET", "DELETE"]),
        Route("/youtube/v3/playlistItems", playlist_items),
        Route("/youtube/v3/commentThreads", comment_threads, methods=["GET", "POST"]),
        Route("/upload/youtube/v3/videos", upload_start, methods=["POST"]),
        Route("/upload/youtube/v3/videos", upload_chunk, methods=["PUT"]),
    ]
