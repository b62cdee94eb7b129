"""TikTok through Login Kit and the Content Posting API (direct post).

Endpoints (developers.tiktok.com):

* Login Kit for Web: https://developers.tiktok.com/doc/login-kit-web
  (``/v2/auth/authorize/``; comma-separated scopes; ``client_key``, not ``client_id``) and
  tokens: https://developers.tiktok.com/doc/oauth-user-access-token-management
  (``POST /v2/oauth/token/``, ``/v2/oauth/revoke/``). Access tokens live 24 hours, refresh
  tokens a year, and a refresh may return a new refresh token (kept here). No PKCE: the web
  flow authenticates the app with its secret (TikTok's desktop PKCE uses a hex digest,
  not RFC 7636's).
* ``GET /v2/user/info/``: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
* ``POST /v2/post/publish/creator_info/query/``, ``/v2/post/publish/video/init/`` (source
  ``FILE_UPLOAD``), ``PUT`` of each chunk to the ``upload_url`` with ``Content-Range``,
  ``POST /v2/post/publish/status/fetch/``:
  https://developers.tiktok.com/doc/content-posting-api-reference-direct-post and
  https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
* photos: ``POST /v2/post/publish/content/init/`` (``PULL_FROM_URL`` only):
  https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
* ``POST /v2/video/list/``, ``POST /v2/video/query/``:
  https://developers.tiktok.com/doc/tiktok-api-v2-video-list

TikTok's public API has no delete, no comments and no mentions for a creator's videos:
those raise :class:`Unsupported`. Chunks: at least 5 MB and at most 64 MB, the last one
taking the remainder (up to 128 MB); a file under 5 MB goes in one chunk.

The post is made when the last chunk arrives, so only that PUT can end in an unknown
outcome; earlier calls are safe to repeat. Errors: ``{"error": {"code", "message",
"log_id"}}``, ``code`` "ok" on success; ``access_token_invalid`` (24-hour tokens: a
refresh is tried first), ``rate_limit_exceeded`` (per-minute windows),
``spam_risk_*`` and ``privacy_level_option_mismatch`` (permanent).

Options read from ``Publication.options``: ``privacy_level`` (default
``PUBLIC_TO_EVERYONE``; must be one the creator offers), ``disable_comment``,
``disable_duet``, ``disable_stitch`` ("true"/"false").

Idempotency: none. ``find_published`` lists the creator's recent videos and matches the
caption; a video posted ``SELF_ONLY`` is not listed by TikTok, so it cannot be found.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from tools.platforms.base import (
    AccessTokenExpired,
    Account,
    AccountMetrics,
    AuthorizationUrl,
    Connection,
    Media,
    MediaReader,
    MentionsPage,
    NeedsReconnect,
    PermanentError,
    PlatformError,
    PostMetrics,
    Profile,
    Publication,
    Published,
    RateLimited,
    Tokens,
    TransientError,
    Unsupported,
)
from tools.platforms.http import classify_status, expires_at, oauth_refresh_error, payload
from tools.platforms.provider import HttpProvider, OwnItem, ProviderConfig, assemble

__all__ = ["TikTokConfig", "TikTokProvider"]

NETWORK = "tiktok"
MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
_VIDEO_FIELDS = (
    "id,title,video_description,create_time,share_url,duration,like_count,comment_count,"
    "share_count,view_count"
)


@dataclass(frozen=True, slots=True)
class TikTokConfig(ProviderConfig):
    authorize_url: str = "https://www.tiktok.com/v2/auth/authorize/"
    api_base: str = "https://open.tiktokapis.com"
    web_base: str = "https://www.tiktok.com"
    scopes: tuple[str, ...] = (
        "user.info.basic",
        "user.info.profile",
        "user.info.stats",
        "video.publish",
        "video.upload",
        "video.list",
    )
    chunk_size: int = 10 * 1024 * 1024

    @classmethod
    def for_base_url(cls, base_url: str, **kw: Any) -> TikTokConfig:
        root = f"{base_url.rstrip('/')}/tiktok"
        return cls(
            authorize_url=f"{root}/www/v2/auth/authorize/",
            api_base=f"{root}/open",
            web_base=f"{root}/web",
            **kw,
        )


def classify(response: httpx.Response) -> PlatformError:
    body = payload(response)
    status = response.status_code
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):  # the OAuth endpoints' RFC 6749 shape
        message = str(body.get("error_description") or error)  # type: ignore[union-attr]
        return classify_status(response, NETWORK, message, error)
    if not isinstance(error, dict):
        return classify_status(response, NETWORK, f"HTTP {status}")
    code = str(error.get("code") or "")
    message = str(error.get("message") or code)
    kw: dict[str, Any] = {"network": NETWORK, "status": status, "code": code}
    if code == "access_token_invalid":
        return AccessTokenExpired(message, **kw)
    if code in ("scope_not_authorized", "scope_permission_missed"):
        return NeedsReconnect(message, **kw)
    if code == "rate_limit_exceeded" or status == 429:
        return RateLimited(message, retry_after_seconds=60.0, **kw)
    if code == "internal_error" or status >= 500:
        return TransientError(message, **kw)
    return PermanentError(message, **kw)


def _chunks(size: int, preferred: int) -> tuple[int, int]:
    """(chunk size, chunk count) as TikTok's media transfer guide requires."""
    if size < MIN_CHUNK:
        return size, 1
    chunk = max(MIN_CHUNK, min(preferred, MAX_CHUNK, size))
    return chunk, max(1, size // chunk)


class TikTokProvider(HttpProvider):
    network = NETWORK
    capabilities = frozenset({"post_metrics", "account_metrics", "title"})

    def __init__(self, config: TikTokConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, classify, client)
        self.cfg = config

    def _api(self, path: str) -> str:
        return f"{self.cfg.api_base}{path}"

    @staticmethod
    def _auth(tokens: Tokens) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access_token}"}

    async def _call(self, method: str, path: str, tokens: Tokens, **kw: Any) -> dict[str, Any]:
        """A TikTok API call; a 200 whose ``error.code`` is not "ok" is an error too."""
        response = await self.http.request(
            method, self._api(path), headers=self._auth(tokens), **kw
        )
        body = payload(response) or {}
        code = (body.get("error") or {}).get("code", "ok")
        if code != "ok":
            raise classify(response)
        return body.get("data") or {}

    # --- connecting ------------------------------------------------------------------------

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        params = {
            "client_key": self.cfg.client_id,
            "scope": ",".join(self.cfg.scopes),
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return AuthorizationUrl(
            f"{self.cfg.authorize_url}?{urlencode(params)}", self.cfg.scopes, False
        )

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        body = await self.http.json(
            "POST",
            self._api("/v2/oauth/token/"),
            data={
                "client_key": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
            },
        )
        tokens = self._tokens(body)
        profile = await self._profile(tokens)
        return Connection(profile, tokens, (Account(profile, tokens),))

    def _tokens(self, body: dict[str, Any]) -> Tokens:
        return Tokens(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_at(body.get("expires_in")),
            refresh_expires_at=expires_at(body.get("refresh_expires_in")),
            scopes=tuple(s for s in str(body.get("scope", "")).split(",") if s),
            account_id=body.get("open_id"),
        )

    async def _user(self, tokens: Tokens) -> dict[str, Any]:
        data = await self._call(
            "GET",
            "/v2/user/info/",
            tokens,
            params={
                "fields": "open_id,union_id,avatar_url,display_name,username,follower_count,"
                "following_count,likes_count,video_count"
            },
        )
        return data.get("user") or {}

    async def _profile(self, tokens: Tokens) -> Profile:
        user = await self._user(tokens)
        return Profile(
            platform_id=user.get("open_id") or tokens.account_id or "",
            username=user.get("username") or user.get("display_name") or "",
            display_name=user.get("display_name"),
            avatar_url=user.get("avatar_url"),
            follower_count=user.get("follower_count"),
            url=f"{self.cfg.web_base}/@{user.get('username', '')}",
        )

    async def refresh(self, tokens: Tokens) -> Tokens:
        if not tokens.refresh_token:
            raise NeedsReconnect("no refresh token; connect again", network=NETWORK)
        body = await self.http.json(
            "POST",
            self._api("/v2/oauth/token/"),
            data={
                "client_key": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
            },
            classify=lambda r: oauth_refresh_error(r, NETWORK),
        )
        return self._tokens(body)

    async def revoke(self, tokens: Tokens) -> None:
        await self.http.request(
            "POST",
            self._api("/v2/oauth/revoke/"),
            data={
                "client_key": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "token": tokens.access_token,
            },
            idempotent=True,
        )

    # --- publishing ------------------------------------------------------------------------

    def check(self, publication: Publication) -> None:
        super().check(publication)
        kinds = {m.kind for m in publication.media}
        if "video" in kinds and len(publication.media) > 1:
            raise PermanentError("TikTok posts one video, or photos", network=NETWORK)
        if "video" not in kinds and any(not m.public_url for m in publication.media):
            raise PermanentError(
                "TikTok pulls photos from public URLs (of a verified domain): give each photo "
                "a public_url",
                network=NETWORK,
            )

    async def _post_info(self, tokens: Tokens, publication: Publication) -> dict[str, Any]:
        creator = await self._call("POST", "/v2/post/publish/creator_info/query/", tokens, json={})
        options = publication.options
        privacy = options.get("privacy_level", "PUBLIC_TO_EVERYONE")
        offered = creator.get("privacy_level_options") or []
        if privacy not in offered:
            raise PermanentError(
                f"privacy level {privacy} is not offered to this creator; choose one of "
                + ", ".join(offered),
                network=NETWORK,
                code="privacy_level_option_mismatch",
            )
        longest = creator.get("max_video_post_duration_sec")
        for media in publication.media:
            if longest and media.duration_seconds and media.duration_seconds > longest:
                raise PermanentError(
                    f"this creator may post videos up to {longest} s", network=NETWORK
                )

        def flag(name: str, forced: bool) -> bool:
            return forced or options.get(name, "false").lower() == "true"

        return {
            "privacy_level": privacy,
            "disable_comment": flag("disable_comment", bool(creator.get("comment_disabled"))),
            "disable_duet": flag("disable_duet", bool(creator.get("duet_disabled"))),
            "disable_stitch": flag("disable_stitch", bool(creator.get("stitch_disabled"))),
        }

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        info = await self._post_info(tokens, publication)
        media = publication.media
        if media[0].kind == "video":
            info["title"] = publication.text
            publish_id = await self._upload_video(tokens, media[0], info)
        else:
            info["title"] = publication.title or ""
            info["description"] = publication.text
            data = await self._call(
                "POST",
                "/v2/post/publish/content/init/",
                tokens,
                json={
                    "post_info": info,
                    "source_info": {
                        "source": "PULL_FROM_URL",
                        "photo_cover_index": 0,
                        "photo_images": [m.public_url for m in media],
                    },
                    "post_mode": "DIRECT_POST",
                    "media_type": "PHOTO",
                },
            )
            publish_id = str(data["publish_id"])
        post_id = await self._wait_published(tokens, publish_id)
        url = f"{self.cfg.web_base}/@/video/{post_id}" if post_id != publish_id else None
        return Published(post_id, url, extra={"publish_id": publish_id})

    async def _upload_video(self, tokens: Tokens, media: Media, info: dict[str, Any]) -> str:
        chunk, count = _chunks(media.size, self.cfg.chunk_size)
        data = await self._call(
            "POST",
            "/v2/post/publish/video/init/",
            tokens,
            json={
                "post_info": info,
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": media.size,
                    "chunk_size": chunk,
                    "total_chunk_count": count,
                },
            },
            idempotent=True,  # nothing is posted until the last chunk arrives
        )
        publish_id, upload_url = str(data["publish_id"]), str(data["upload_url"])
        reader = MediaReader(media)
        first = 0
        for index in range(count):
            last_chunk = index == count - 1
            length = media.size - first if last_chunk else chunk
            body = await reader.read(length)
            await self.http.request(
                "PUT",
                upload_url,
                content=body,
                headers={
                    "Content-Type": media.mime_type,
                    "Content-Range": f"bytes {first}-{first + length - 1}/{media.size}",
                },
                idempotent=not last_chunk,  # the last chunk makes the post
                timeout=self.cfg.upload_timeout,
            )
            first += length
        return publish_id

    async def _wait_published(self, tokens: Tokens, publish_id: str) -> str:
        deadline = time.monotonic() + self.cfg.poll_timeout
        while True:
            data = await self._call(
                "POST", "/v2/post/publish/status/fetch/", tokens, json={"publish_id": publish_id}
            )
            status = data.get("status")
            if status == "PUBLISH_COMPLETE":
                ids = data.get("publicaly_available_post_id") or []  # sic: TikTok's spelling
                return str(ids[0]) if ids else publish_id
            if status == "FAILED":
                raise PermanentError(
                    str(data.get("fail_reason") or "TikTok could not publish the post"),
                    network=NETWORK,
                    code=str(data.get("fail_reason") or "") or None,
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    "post still processing after the poll timeout", network=NETWORK
                )
            await asyncio.sleep(self.cfg.poll_interval)

    # --- finding, deleting -----------------------------------------------------------------

    async def _videos(self, tokens: Tokens, pages: int = 3) -> list[dict[str, Any]]:
        videos: list[dict[str, Any]] = []
        cursor: int | None = None
        for _ in range(pages):
            body: dict[str, Any] = {"max_count": 20}
            if cursor is not None:
                body["cursor"] = cursor
            data = await self._call(
                "POST",
                "/v2/video/list/",
                tokens,
                params={"fields": _VIDEO_FIELDS},
                json=body,
                idempotent=True,
            )
            videos += data.get("videos") or []
            if not data.get("has_more"):
                break
            cursor = data.get("cursor")
        return videos

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        items = []
        for v in await self._videos(tokens):
            created = (
                datetime.fromtimestamp(v["create_time"], UTC) if v.get("create_time") else None
            )
            for text in {v.get("title") or "", v.get("video_description") or ""}:
                items.append(OwnItem(str(v["id"]), text, created, None, v.get("share_url")))
        return assemble(publication, items, since=since)

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None:
        raise Unsupported("TikTok's API cannot delete a video", network=NETWORK)

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        raise Unsupported(
            "TikTok's API gives no comments or mentions for a creator's videos", network=NETWORK
        )

    # --- reading ---------------------------------------------------------------------------

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]:
        out: dict[str, PostMetrics] = {}
        ids = list(platform_post_ids)
        for start in range(0, len(ids), 20):
            data = await self._call(
                "POST",
                "/v2/video/query/",
                tokens,
                params={"fields": _VIDEO_FIELDS},
                json={"filters": {"video_ids": ids[start : start + 20]}},
                idempotent=True,
            )
            for v in data.get("videos") or []:
                out[str(v["id"])] = PostMetrics(
                    platform_post_id=str(v["id"]),
                    likes=v.get("like_count"),
                    comments=v.get("comment_count"),
                    shares=v.get("share_count"),
                    video_views=v.get("view_count"),
                )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        user = await self._user(tokens)
        return AccountMetrics(
            followers=user.get("follower_count"),
            following=user.get("following_count"),
            posts=user.get("video_count"),
        )
