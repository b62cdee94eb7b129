"""YouTube through Google OAuth 2.0 and the YouTube Data API v3.

Endpoints:

* Google OAuth 2.0 for web server apps, with PKCE (S256), ``access_type=offline``:
  https://developers.google.com/identity/protocols/oauth2/web-server (authorize, ``POST
  oauth2.googleapis.com/token``, ``/revoke``). Access tokens live an hour; the refresh
  token does not rotate; a refused refresh is ``invalid_grant``.
* ``GET /channels?mine=true`` (and ``forHandle=`` for a competitor's channel):
  https://developers.google.com/youtube/v3/docs/channels/list
* resumable upload, ``POST /upload/youtube/v3/videos?uploadType=resumable`` then ``PUT``
  chunks (multiples of 256 KiB) with ``Content-Range``; ``308 Resume Incomplete`` until
  the last: https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
* ``GET /playlistItems`` (the channel's uploads), ``GET|DELETE /videos``:
  https://developers.google.com/youtube/v3/docs/videos
* ``GET|POST /commentThreads``: https://developers.google.com/youtube/v3/docs/commentThreads

Why httpx and not ``google-api-python-client``: that client is synchronous (httplib2),
and its ``MediaFileUpload`` wants a file; the resumable protocol is four requests.

Idempotency: the resumable session is YouTube's own mechanism. If a chunk's answer is lost,
the provider asks the session what it holds (``Content-Range: bytes */total``): 308
means "resume from here", 200/201 means the video exists and comes back with it, so a lost
last answer never makes a second video. Only if that question fails too does the caller
get :class:`UnknownOutcome`; ``find_published`` then lists the uploads playlist and
matches title and description exactly.

Errors: ``{"error": {"code", "message", "errors": [{"reason", "domain"}]}}``:
``quotaExceeded`` and ``uploadLimitExceeded`` wait until quotas reset (midnight Pacific),
``rateLimitExceeded`` a minute, 401 ``authError`` is an expired token, ``invalid_grant``
on refresh needs a reconnect. Impressions need the YouTube Analytics API; the Data API
gives views, likes and comments.

Options read from ``Publication.options``: ``privacy_status`` (public, unlisted, private;
default public; uploads from unverified API projects are forced private by YouTube),
``category_id`` (default 22, People & Blogs), ``made_for_kids`` ("true"/"false").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx

from tools.platform_rules import repair_title
from tools.platforms.audience import Demographics, non_empty, shares
from tools.platforms.base import (
    AccessTokenExpired,
    Account,
    AccountMetrics,
    Author,
    AuthorizationUrl,
    Connection,
    Media,
    Mention,
    MentionsPage,
    NeedsReconnect,
    PermanentError,
    PlatformError,
    PostMetrics,
    Profile,
    PublicAccount,
    Publication,
    Published,
    RateLimited,
    Tokens,
    TransientError,
    UnknownOutcome,
    read_chunks,
)
from tools.platforms.http import classify_status, expires_at, oauth_refresh_error, payload
from tools.platforms.provider import HttpProvider, OwnItem, ProviderConfig, TimeCursor, assemble

__all__ = ["YouTubeConfig", "YouTubeProvider"]

NETWORK = "youtube"
CHUNK_UNIT = 256 * 1024


@dataclass(frozen=True, slots=True)
class YouTubeConfig(ProviderConfig):
    authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"
    revoke_url: str = "https://oauth2.googleapis.com/revoke"
    api_base: str = "https://www.googleapis.com/youtube/v3"
    analytics_base: str = "https://youtubeanalytics.googleapis.com/v2"
    upload_base: str = "https://www.googleapis.com/upload/youtube/v3"
    web_base: str = "https://www.youtube.com"
    scopes: tuple[str, ...] = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/youtube.force-ssl",
        "https://www.googleapis.com/auth/yt-analytics.readonly",  # audience demographics
    )
    chunk_size: int = 32 * CHUNK_UNIT  # 8 MiB; must be a multiple of 256 KiB

    @classmethod
    def for_base_url(cls, base_url: str, **kw: Any) -> YouTubeConfig:
        root = f"{base_url.rstrip('/')}/google"
        return cls(
            authorize_url=f"{root}/accounts/o/oauth2/v2/auth",
            token_url=f"{root}/oauth2/token",
            revoke_url=f"{root}/oauth2/revoke",
            api_base=f"{root}/youtube/v3",
            analytics_base=f"{root}/youtubeanalytics/v2",
            upload_base=f"{root}/upload/youtube/v3",
            web_base=f"{root}/web",
            **kw,
        )


def _until_quota_reset() -> float:
    """YouTube quotas reset at midnight Pacific time."""
    pacific = ZoneInfo("America/Los_Angeles")
    now = datetime.now(pacific)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def classify(response: httpx.Response) -> PlatformError:
    body = payload(response)
    status = response.status_code
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):  # the OAuth endpoints' RFC 6749 shape
        message = str(body.get("error_description") or error)  # type: ignore[union-attr]
        return classify_status(response, NETWORK, message, error)
    if not isinstance(error, dict):
        return classify_status(response, NETWORK, f"HTTP {status}")
    reasons = [str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)]
    reason = reasons[0] if reasons else str(error.get("status") or "")
    message = str(error.get("message") or reason)
    kw: dict[str, Any] = {"network": NETWORK, "status": status, "code": reason or None}
    if reason in ("quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"):
        return RateLimited(message, retry_after_seconds=_until_quota_reset(), **kw)
    if reason in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
        retry = response.headers.get("retry-after")
        return RateLimited(message, retry_after_seconds=float(retry) if retry else 60.0, **kw)
    if status == 401 and reason in ("authError", "expired", "UNAUTHENTICATED", ""):
        return AccessTokenExpired(message, **kw)
    if status == 401 or reason in ("insufficientPermissions", "youtubeSignupRequired"):
        return NeedsReconnect(message, **kw)
    if status >= 500 or reason == "backendError":
        return TransientError(message, **kw)
    return PermanentError(message, **kw)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class YouTubeProvider(HttpProvider):
    network = NETWORK
    uses_pkce = True
    capabilities = frozenset(
        {"title", "first_comment", "delete", "post_metrics", "account_metrics", "mentions"}
    )

    def __init__(self, config: YouTubeConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, classify, client)
        self.cfg = config
        if config.chunk_size % CHUNK_UNIT:
            raise ValueError("YouTube upload chunks must be a multiple of 256 KiB")

    def _api(self, path: str) -> str:
        return f"{self.cfg.api_base}/{path.lstrip('/')}"

    @staticmethod
    def _auth(tokens: Tokens) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access_token}"}

    async def _get(self, tokens: Tokens, path: str, **params: str) -> dict[str, Any]:
        return await self.http.json(
            "GET", self._api(path), params=params, headers=self._auth(tokens)
        )

    # --- connecting ------------------------------------------------------------------------

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        params = {
            "client_id": self.cfg.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.cfg.scopes),
            "state": state,
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "code_challenge": self._require_pkce(code_challenge),
            "code_challenge_method": "S256",
        }
        return AuthorizationUrl(
            f"{self.cfg.authorize_url}?{urlencode(params)}", self.cfg.scopes, True
        )

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        body = await self.http.json(
            "POST",
            self.cfg.token_url,
            data={
                "code": code,
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "redirect_uri": redirect_uri,
                "grant_type": "authorization_code",
                "code_verifier": code_verifier or "",
            },
        )
        tokens = self._tokens(body)
        channel = await self._channel(tokens)
        tokens = tokens.for_account(channel["id"])
        profile = self._profile(channel)
        return Connection(profile, tokens, (Account(profile, tokens),))

    def _tokens(self, body: dict[str, Any], previous: Tokens | None = None) -> Tokens:
        scopes = tuple(str(body.get("scope", "")).split()) or (previous.scopes if previous else ())
        return Tokens(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token")
            or (previous.refresh_token if previous else None),
            expires_at=expires_at(body.get("expires_in")),
            refresh_expires_at=expires_at(body.get("refresh_token_expires_in")),
            scopes=scopes,
            account_id=previous.account_id if previous else None,
            extra=dict(previous.extra) if previous else {},
        )

    async def _channel(self, tokens: Tokens) -> dict[str, Any]:
        body = await self._get(
            tokens, "channels", part="snippet,statistics,contentDetails", mine="true"
        )
        items = body.get("items") or []
        if not items:
            raise NeedsReconnect(
                "this Google account has no YouTube channel; create one, then connect again",
                network=NETWORK,
                code="youtubeSignupRequired",
            )
        return items[0]

    def _profile(self, channel: dict[str, Any]) -> Profile:
        snippet = channel.get("snippet") or {}
        stats = channel.get("statistics") or {}
        handle = snippet.get("customUrl") or channel["id"]
        return Profile(
            platform_id=channel["id"],
            username=handle,
            display_name=snippet.get("title"),
            avatar_url=((snippet.get("thumbnails") or {}).get("default") or {}).get("url"),
            follower_count=None
            if stats.get("hiddenSubscriberCount")
            else _int(stats.get("subscriberCount")),
            kind="channel",
            url=f"{self.cfg.web_base}/{handle}"
            if handle.startswith("@")
            else f"{self.cfg.web_base}/channel/{handle}",
        )

    async def refresh(self, tokens: Tokens) -> Tokens:
        if not tokens.refresh_token:
            raise NeedsReconnect(
                "no refresh token (access_type=offline); connect again", network=NETWORK
            )
        body = await self.http.json(
            "POST",
            self.cfg.token_url,
            data={
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "refresh_token": tokens.refresh_token,
                "grant_type": "refresh_token",
            },
            classify=lambda r: oauth_refresh_error(r, NETWORK),
        )
        return self._tokens(body, tokens)

    async def revoke(self, tokens: Tokens) -> None:
        await self.http.request(
            "POST",
            self.cfg.revoke_url,
            data={"token": tokens.refresh_token or tokens.access_token},
            idempotent=True,
        )

    # --- publishing ------------------------------------------------------------------------

    @staticmethod
    def title_of(publication: Publication) -> str:
        """The title: the publication's, else the text's first line, made valid."""
        raw = publication.title or (publication.text.strip().splitlines() or ["New video"])[0]
        return repair_title(raw, NETWORK) or "New video"

    def check(self, publication: Publication) -> None:
        super().check(publication)
        if len(publication.media) != 1 or publication.media[0].kind != "video":
            raise PermanentError("a YouTube post is exactly one video", network=NETWORK)

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        media = publication.media[0]
        options = publication.options
        metadata = {
            "snippet": {
                "title": self.title_of(publication),
                "description": publication.text,
                "categoryId": options.get("category_id", "22"),
            },
            "status": {
                "privacyStatus": options.get("privacy_status", "public"),
                "selfDeclaredMadeForKids": options.get("made_for_kids", "false").lower() == "true",
            },
        }
        start = await self.http.request(
            "POST",
            f"{self.cfg.upload_base}/videos",
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=metadata,
            headers={
                **self._auth(tokens),
                "X-Upload-Content-Length": str(media.size),
                "X-Upload-Content-Type": media.mime_type,
            },
            idempotent=True,  # a session is not a video
        )
        session = start.headers.get("location")
        if not session:
            raise TransientError("YouTube opened no upload session", network=NETWORK)
        video = await self._send(tokens, session, media)
        return Published(video["id"], f"{self.cfg.web_base}/watch?v={video['id']}")

    async def _send(self, tokens: Tokens, session: str, media: Media) -> dict[str, Any]:
        """PUT the chunks; after a lost answer, ask the session where it stands and go on."""
        offset = 0
        async for chunk in read_chunks(media, self.cfg.chunk_size):
            end = offset + len(chunk)
            try:
                response = await self._put(tokens, session, chunk, offset, media.size)
            except (UnknownOutcome, TransientError) as lost:
                response = await self._status(tokens, session, media.size, lost)
                if response.status_code == 308 and self._received(response) == offset:
                    # the chunk never arrived: send it once more
                    response = await self._put(tokens, session, chunk, offset, media.size)
            if response.status_code in (200, 201):
                return payload(response) or {}
            received = self._received(response)
            if received != end:
                raise TransientError(
                    f"the upload session holds {received} bytes, expected {end}; start again",
                    network=NETWORK,
                )
            offset = end
        raise TransientError("YouTube did not confirm the upload", network=NETWORK)

    async def _put(
        self, tokens: Tokens, session: str, chunk: bytes, offset: int, total: int
    ) -> httpx.Response:
        last = offset + len(chunk) == total
        return await self.http.request(
            "PUT",
            session,
            content=chunk,
            headers={
                **self._auth(tokens),
                "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{total}",
            },
            idempotent=not last,  # the last chunk makes the video
            timeout=self.cfg.upload_timeout,
        )

    async def _status(
        self, tokens: Tokens, session: str, total: int, lost: Exception
    ) -> httpx.Response:
        try:
            return await self.http.request(
                "PUT",
                session,
                content=b"",
                headers={**self._auth(tokens), "Content-Range": f"bytes */{total}"},
            )
        except (TransientError, UnknownOutcome):
            raise lost from None

    @staticmethod
    def _received(response: httpx.Response) -> int:
        """Bytes the session holds, from a 308's ``Range: bytes=0-N``."""
        match = re.fullmatch(r"bytes=0-(\d+)", response.headers.get("range", ""))
        return int(match.group(1)) + 1 if match else 0

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        body = await self.http.json(
            "POST",
            self._api("commentThreads"),
            params={"part": "snippet"},
            json={
                "snippet": {
                    "channelId": self._account_id(tokens),
                    "videoId": root.platform_post_id,
                    "topLevelComment": {"snippet": {"textOriginal": text}},
                }
            },
            headers=self._auth(tokens),
        )
        return str(body["id"])

    # --- finding, deleting -----------------------------------------------------------------

    async def _uploads(self, tokens: Tokens) -> list[dict[str, Any]]:
        channel = await self._get(tokens, "channels", part="contentDetails", mine="true")
        playlist = (
            ((channel.get("items") or [{}])[0].get("contentDetails") or {})
            .get("relatedPlaylists", {})
            .get("uploads")
        )
        if not playlist:
            return []
        body = await self._get(
            tokens,
            "playlistItems",
            part="snippet,contentDetails",
            playlistId=playlist,
            maxResults="50",
        )
        return body.get("items") or []

    async def _threads(self, tokens: Tokens, **params: str) -> list[dict[str, Any]]:
        body = await self._get(tokens, "commentThreads", part="snippet", maxResults="100", **params)
        return body.get("items") or []

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        title = self.title_of(publication)
        roots = []
        for item in await self._uploads(tokens):
            snippet = item.get("snippet") or {}
            if snippet.get("title") != title:
                continue
            video_id = (item.get("contentDetails") or {}).get("videoId") or (
                snippet.get("resourceId") or {}
            ).get("videoId")
            roots.append(
                OwnItem(
                    video_id,
                    snippet.get("description", ""),
                    _when(snippet.get("publishedAt")),
                    None,
                    f"{self.cfg.web_base}/watch?v={video_id}",
                )
            )
        found = assemble(publication, roots, since=since)
        if found is None or not publication.first_comment:
            return found
        channel = self._account_id(tokens)
        comments = []
        for thread in await self._threads(tokens, videoId=found.platform_post_id):
            top = ((thread.get("snippet") or {}).get("topLevelComment") or {}).get("snippet") or {}
            if (top.get("authorChannelId") or {}).get("value") == channel:
                text = top.get("textOriginal") or top.get("textDisplay", "")
                comments.append(
                    OwnItem(
                        thread["id"], text, _when(top.get("publishedAt")), found.platform_post_id
                    )
                )
        return assemble(publication, roots, comments=comments, since=since)

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None:
        await self.http.request(
            "DELETE",
            self._api("videos"),
            params={"id": platform_post_id},
            headers=self._auth(tokens),
        )

    # --- reading ---------------------------------------------------------------------------

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]:
        out: dict[str, PostMetrics] = {}
        ids = list(platform_post_ids)
        for start in range(0, len(ids), 50):
            body = await self._get(
                tokens, "videos", part="statistics", id=",".join(ids[start : start + 50])
            )
            for item in body.get("items") or []:
                stats = item.get("statistics") or {}
                out[item["id"]] = PostMetrics(
                    platform_post_id=item["id"],
                    video_views=_int(stats.get("viewCount")),
                    likes=_int(stats.get("likeCount")),
                    comments=_int(stats.get("commentCount")),
                    saves=_int(stats.get("favoriteCount")),
                )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        stats = (await self._channel(tokens)).get("statistics") or {}
        return AccountMetrics(
            followers=None
            if stats.get("hiddenSubscriberCount")
            else _int(stats.get("subscriberCount")),
            posts=_int(stats.get("videoCount")),
        )

    async def public_account(self, tokens: Tokens, handle: str) -> PublicAccount:
        """Another channel by its handle (``channels.list?forHandle=``): public statistics,
        one quota unit, readable with the connected account's own token."""
        name = handle.strip().removeprefix("@")
        body = await self._get(tokens, "channels", part="snippet,statistics", forHandle=name)
        items = body.get("items") or []
        if not items:
            raise PermanentError(f"no YouTube channel @{name}", network=NETWORK, status=404)
        channel = items[0]
        stats = channel.get("statistics") or {}
        return PublicAccount(
            profile=self._profile(channel),
            metrics=AccountMetrics(
                followers=None
                if stats.get("hiddenSubscriberCount")
                else _int(stats.get("subscriberCount")),
                posts=_int(stats.get("videoCount")),
            ),
        )

    async def audience_demographics(self, tokens: Tokens) -> Demographics:
        """The channel's viewers over the last 90 days from the YouTube Analytics API: age
        group and gender (``viewerPercentage``, signed-in viewers) and country (shares of
        views). YouTube reports viewers, not subscribers; it needs the
        ``yt-analytics.readonly`` scope, which accounts connected before it was asked for
        lack (a :class:`PermanentError` until they reconnect)."""
        end = datetime.now(UTC).date()
        window = {
            "ids": "channel==MINE",
            "startDate": (end - timedelta(days=DEMOGRAPHICS_DAYS)).isoformat(),
            "endDate": end.isoformat(),
        }
        url = f"{self.cfg.analytics_base}/reports"
        headers = self._auth(tokens)
        viewers = await self.http.json(
            "GET",
            url,
            params={**window, "metrics": "viewerPercentage", "dimensions": "ageGroup,gender"},
            headers=headers,
        )
        ages: dict[str, float] = {}
        genders: dict[str, float] = {}
        for age, gender, percent in _report_rows(
            viewers, ("ageGroup", "gender", "viewerPercentage")
        ):
            bucket = str(age).removeprefix("age")
            ages[bucket] = ages.get(bucket, 0) + percent
            genders[str(gender)] = genders.get(str(gender), 0) + percent
        places = await self.http.json(
            "GET",
            url,
            params={**window, "metrics": "views", "dimensions": "country", "sort": "-views"},
            headers=headers,
        )
        countries = {str(c): views for c, views in _report_rows(places, ("country", "views"))}
        return non_empty(
            {"age": shares(ages), "gender": shares(genders), "countries": shares(countries)}
        )

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        """Comment threads by others on the channel's videos, newer than the cursor."""
        channel = self._account_id(tokens)
        position = TimeCursor.parse(cursor)
        items = []
        for thread in await self._threads(
            tokens, allThreadsRelatedToChannelId=channel, order="time"
        ):
            snippet = thread.get("snippet") or {}
            top = (snippet.get("topLevelComment") or {}).get("snippet") or {}
            created = _when(top.get("publishedAt")) or datetime.now(UTC)
            author = (top.get("authorChannelId") or {}).get("value", "")
            if author == channel or not position.is_new(thread["id"], created):
                continue
            video = snippet.get("videoId")
            items.append(
                Mention(
                    id=thread["id"],
                    author=Author(
                        author, top.get("authorDisplayName"), top.get("authorDisplayName")
                    ),
                    text=top.get("textOriginal") or top.get("textDisplay", ""),
                    created_at=created,
                    url=f"{self.cfg.web_base}/watch?v={video}&lc={thread['id']}",
                    parent_post_id=video,
                    kind="comment",
                    metrics=PostMetrics(
                        thread["id"],
                        likes=_int(top.get("likeCount")),
                        comments=_int(snippet.get("totalReplyCount")),
                    ),
                )
            )
        items.sort(key=lambda m: m.created_at)
        after = position.advance([(m.id, m.created_at) for m in items])
        return MentionsPage(tuple(items), after.encode() or cursor)


DEMOGRAPHICS_DAYS = 90


def _report_rows(body: dict[str, Any], columns: tuple[str, ...]) -> list[list[Any]]:
    """The rows of an Analytics API report with ``columns`` in that order (the report says
    its own order in ``columnHeaders``), the last column numeric."""
    names = [h.get("name") for h in body.get("columnHeaders") or []]
    if not set(columns) <= set(names):
        return []
    at = [names.index(c) for c in columns]
    out = []
    for row in body.get("rows") or []:
        picked = [row[i] for i in at] if len(row) == len(names) else None
        if picked and isinstance(picked[-1], int | float) and not isinstance(picked[-1], bool):
            out.append(picked)
    return out
