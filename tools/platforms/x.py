"""X (data-model platform ``twitter``) through the X API v2.

Endpoints (docs.x.com):

* OAuth 2.0 authorization code with PKCE:
  https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
  (``/i/oauth2/authorize``, ``POST /2/oauth2/token`` with the client's Basic credentials,
  ``POST /2/oauth2/revoke``). Access tokens live 2 hours; refresh tokens (scope
  ``offline.access``) are single use: every refresh returns a new one.
* ``GET /2/users/me``: https://docs.x.com/x-api/users/user-lookup-me
* chunked media upload: https://docs.x.com/x-api/media/quickstart/media-upload-chunked
  (``POST /2/media/upload/initialize``, ``/{id}/append``, ``/{id}/finalize``,
  ``GET /2/media/upload?command=STATUS``, ``POST /2/media/metadata`` for alt text)
* ``POST /2/tweets`` (replies via ``reply.in_reply_to_tweet_id``), ``DELETE /2/tweets/{id}``:
  https://docs.x.com/x-api/posts/creation-of-a-post
* ``GET /2/tweets?ids=`` with ``public_metrics,non_public_metrics``:
  https://docs.x.com/x-api/fundamentals/metrics
* ``GET /2/users/{id}/tweets``, ``GET /2/users/{id}/mentions``:
  https://docs.x.com/x-api/posts/timelines/introduction

Why httpx and not ``xdk``: xdk is synchronous and keeps its own token state; the engine
owns tokens here and needs every failure classified (sent or not, rate limit reset).

Errors: problem+json ``{"title","detail","type","status"}`` (sometimes with ``errors``);
429 carries ``x-rate-limit-reset``. A 401 is an expired (2-hour) access token as far as the
client can tell: :class:`AccessTokenExpired`, and a refused refresh is
:class:`NeedsReconnect`. A duplicate post is a 403 (:class:`PermanentError`).

Idempotency: X has none. ``find_published`` lists the account's posts since the first
attempt and matches the text exactly, after undoing what X does to it (HTML escapes, t.co
links, the media link appended).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

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
    PermanentError,
    PlatformError,
    PostMetrics,
    Profile,
    PublicAccount,
    Publication,
    Published,
    RateLimited,
    ThreadPart,
    Tokens,
    TransientError,
    read_chunks,
)
from tools.platforms.http import classify_status, expires_at, oauth_refresh_error, payload
from tools.platforms.provider import HttpProvider, OwnItem, ProviderConfig, assemble

__all__ = ["XConfig", "XProvider"]

NETWORK = "twitter"


@dataclass(frozen=True, slots=True)
class XConfig(ProviderConfig):
    authorize_url: str = "https://x.com/i/oauth2/authorize"
    api_base: str = "https://api.x.com"
    web_base: str = "https://x.com"
    scopes: tuple[str, ...] = (
        "tweet.read",
        "tweet.write",
        "users.read",
        "offline.access",
        "media.write",
    )
    chunk_size: int = 1024 * 1024  # X accepts APPEND segments up to 5 MB

    @classmethod
    def for_base_url(cls, base_url: str, **kw: Any) -> XConfig:
        """The configuration for a wire-compatible server (the sandbox's ``/x``)."""
        root = f"{base_url.rstrip('/')}/x"
        return cls(
            authorize_url=f"{root}/i/oauth2/authorize",
            api_base=root,
            web_base=f"{root}/web",
            **kw,
        )


def classify(response: httpx.Response) -> PlatformError:
    body = payload(response)
    status = response.status_code
    message, code = f"HTTP {status}", None
    if isinstance(body, dict):
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        detail = body.get("detail") or body.get("title")
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        extra = first.get("message")
        message = str(detail or extra or body.get("error_description") or message)
        if extra and detail and extra not in message:
            message = f"{message} {extra}"
        code = str(body.get("type") or first.get("code") or body.get("error") or "") or None
    if status == 401:
        return AccessTokenExpired(message, network=NETWORK, status=status, code=code)
    if status == 429 or (code and code.endswith("/usage-capped")):
        return RateLimited(
            message,
            retry_after_seconds=_reset_in(response),
            network=NETWORK,
            status=status,
            code=code,
        )
    return classify_status(response, NETWORK, message, code)


def _reset_in(response: httpx.Response) -> float:
    reset = response.headers.get("x-rate-limit-reset")
    if reset:
        with contextlib.suppress(ValueError):
            return max(0.0, float(reset) - time.time())
    return 900.0  # X's windows are 15 minutes


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def plain_text(tweet: dict[str, Any]) -> str:
    """The text as written: t.co links expanded, the appended media link removed, HTML
    entities undone."""
    text = tweet.get("text", "")
    urls = sorted(
        (tweet.get("entities") or {}).get("urls") or [], key=lambda u: u["start"], reverse=True
    )
    for url in urls:
        short = url.get("url", "")
        replacement = "" if url.get("media_key") else url.get("expanded_url", short)
        index = text.rfind(short)
        if index >= 0:
            text = text[:index] + replacement + text[index + len(short) :]
    return html.unescape(text).strip()


class XProvider(HttpProvider):
    network = NETWORK
    auth_kind = "oauth2"
    uses_pkce = True
    capabilities = frozenset(
        {
            "text_only",
            "link",
            "thread",
            "first_comment",
            "delete",
            "post_metrics",
            "account_metrics",
            "mentions",
        }
    )

    def __init__(self, config: XConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, classify, client)
        self.cfg = config

    def _api(self, path: str) -> str:
        return f"{self.cfg.api_base}{path}"

    @staticmethod
    def _auth(tokens: Tokens) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access_token}"}

    def _client_auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.cfg.client_id, self.cfg.client_secret)

    # --- connecting ------------------------------------------------------------------------------

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        params = {
            "response_type": "code",
            "client_id": self.cfg.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.cfg.scopes),
            "state": state,
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
            self._api("/2/oauth2/token"),
            data={
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier or "",
                "client_id": self.cfg.client_id,
            },
            auth=self._client_auth(),
        )
        tokens = self._tokens(body)
        me = await self._me(tokens)
        tokens = tokens.for_account(me["id"])
        profile = self._profile(me)
        return Connection(profile, tokens, (Account(profile, tokens),))

    def _tokens(self, body: dict[str, Any], account_id: str | None = None) -> Tokens:
        return Tokens(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_at(body.get("expires_in")),
            scopes=tuple(str(body.get("scope", "")).split()),
            account_id=account_id,
        )

    async def _me(self, tokens: Tokens) -> dict[str, Any]:
        body = await self.http.json(
            "GET",
            self._api("/2/users/me"),
            params={"user.fields": "profile_image_url,public_metrics,verified,name,username"},
            headers=self._auth(tokens),
        )
        return body["data"]

    def _profile(self, me: dict[str, Any]) -> Profile:
        metrics = me.get("public_metrics") or {}
        return Profile(
            platform_id=me["id"],
            username=me["username"],
            display_name=me.get("name"),
            avatar_url=me.get("profile_image_url"),
            follower_count=metrics.get("followers_count"),
            url=f"{self.cfg.web_base}/{me['username']}",
        )

    async def refresh(self, tokens: Tokens) -> Tokens:
        if not tokens.refresh_token:
            raise PermanentError("no refresh token (scope offline.access)", network=NETWORK)
        body = await self.http.json(
            "POST",
            self._api("/2/oauth2/token"),
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": self.cfg.client_id,
            },
            auth=self._client_auth(),
            classify=lambda r: oauth_refresh_error(r, NETWORK),
        )
        return self._tokens(body, tokens.account_id)

    async def revoke(self, tokens: Tokens) -> None:
        for token, hint in (
            (tokens.refresh_token, "refresh_token"),
            (tokens.access_token, "access_token"),
        ):
            if token:
                await self.http.request(
                    "POST",
                    self._api("/2/oauth2/revoke"),
                    data={"token": token, "token_type_hint": hint, "client_id": self.cfg.client_id},
                    auth=self._client_auth(),
                    idempotent=True,
                )

    # --- publishing ------------------------------------------------------------------------------

    @staticmethod
    def _root_text(publication: Publication) -> str:
        """X has no link attachment: a link is written into the text (X makes the card)."""
        link = publication.link
        if link and link not in publication.text:
            return f"{publication.text.rstrip()}\n\n{link}".strip()
        return publication.text

    def check(self, publication: Publication) -> None:
        super().check(replace(publication, text=self._root_text(publication)))

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        post_id = await self._create(tokens, self._root_text(publication), publication.media)
        return Published(post_id, self._url(post_id))

    async def _publish_reply(
        self, tokens: Tokens, root: Published, parent_id: str, part: ThreadPart
    ) -> str:
        return await self._create(tokens, part.text, part.media, reply_to=parent_id)

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        return await self._create(tokens, text, (), reply_to=root.platform_post_id)

    def _url(self, post_id: str) -> str:
        return f"{self.cfg.web_base}/i/web/status/{post_id}"

    async def _create(
        self, tokens: Tokens, text: str, media: Sequence[Media], reply_to: str | None = None
    ) -> str:
        media_ids = [await self._upload(tokens, m) for m in media]
        body: dict[str, Any] = {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        created = await self.http.json(
            "POST", self._api("/2/tweets"), json=body, headers=self._auth(tokens)
        )
        return str(created["data"]["id"])

    async def _upload(self, tokens: Tokens, media: Media) -> str:
        """INIT, APPEND each chunk, FINALIZE, then STATUS until processed. Uploads make no
        post, so their timeouts are only transient (``idempotent=True``)."""
        category = {"video": "tweet_video", "gif": "tweet_gif"}.get(media.kind, "tweet_image")
        auth = self._auth(tokens)
        init = await self.http.json(
            "POST",
            self._api("/2/media/upload/initialize"),
            json={
                "media_type": media.mime_type,
                "total_bytes": media.size,
                "media_category": category,
            },
            headers=auth,
            idempotent=True,
        )
        media_id = str(init["data"]["id"])
        index = 0
        async for chunk in read_chunks(media, self.cfg.chunk_size):
            await self.http.request(
                "POST",
                self._api(f"/2/media/upload/{media_id}/append"),
                data={"segment_index": str(index)},
                files={"media": ("chunk", chunk, "application/octet-stream")},
                headers=auth,
                idempotent=True,
                timeout=self.cfg.upload_timeout,
            )
            index += 1
        final = await self.http.json(
            "POST",
            self._api(f"/2/media/upload/{media_id}/finalize"),
            headers=auth,
            idempotent=True,
        )
        await self._wait_processed(
            tokens, media_id, (final.get("data") or {}).get("processing_info")
        )
        if media.alt_text:
            await self.http.request(
                "POST",
                self._api("/2/media/metadata"),
                json={"id": media_id, "metadata": {"alt_text": {"text": media.alt_text[:1000]}}},
                headers=auth,
                idempotent=True,
            )
        return media_id

    async def _wait_processed(
        self, tokens: Tokens, media_id: str, info: dict[str, Any] | None
    ) -> None:
        deadline = time.monotonic() + self.cfg.poll_timeout
        while info and info.get("state") != "succeeded":
            if info.get("state") == "failed":
                error = info.get("error") or {}
                raise PermanentError(
                    str(error.get("message") or "X could not process the media"),
                    network=NETWORK,
                    code=str(error.get("name") or "") or None,
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    "media still processing after the poll timeout", network=NETWORK
                )
            await asyncio.sleep(
                min(float(info.get("check_after_secs") or 1), self.cfg.poll_interval)
            )
            status = await self.http.json(
                "GET",
                self._api("/2/media/upload"),
                params={"command": "STATUS", "media_id": media_id},
                headers=self._auth(tokens),
            )
            info = (status.get("data") or {}).get("processing_info")

    # --- finding, deleting -----------------------------------------------------------------------

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        user_id = self._account_id(tokens)
        items: list[OwnItem] = []
        token: str | None = None
        for _ in range(5):  # 500 posts since the first attempt is plenty
            params = {
                "start_time": _iso(since),
                "max_results": "100",
                "tweet.fields": "created_at,referenced_tweets,entities,conversation_id",
            }
            if token:
                params["pagination_token"] = token
            body = await self.http.json(
                "GET",
                self._api(f"/2/users/{user_id}/tweets"),
                params=params,
                headers=self._auth(tokens),
            )
            for tweet in body.get("data") or []:
                parent = next(
                    (
                        r["id"]
                        for r in tweet.get("referenced_tweets") or []
                        if r.get("type") == "replied_to"
                    ),
                    None,
                )
                items.append(
                    OwnItem(
                        str(tweet["id"]),
                        plain_text(tweet),
                        _parse_time(tweet.get("created_at")),
                        parent,
                        self._url(str(tweet["id"])),
                    )
                )
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
        roots = [i for i in items if i.parent_id is None]
        return assemble(
            publication, roots, items, since=since, root_text=self._root_text(publication)
        )

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None:
        await self.http.request(
            "DELETE", self._api(f"/2/tweets/{platform_post_id}"), headers=self._auth(tokens)
        )

    # --- reading ---------------------------------------------------------------------------------

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]:
        out: dict[str, PostMetrics] = {}
        ids = list(platform_post_ids)
        for start in range(0, len(ids), 100):
            body = await self.http.json(
                "GET",
                self._api("/2/tweets"),
                params={
                    "ids": ",".join(ids[start : start + 100]),
                    "tweet.fields": "public_metrics,non_public_metrics",
                },
                headers=self._auth(tokens),
            )
            for tweet in body.get("data") or []:
                public = tweet.get("public_metrics") or {}
                private = tweet.get("non_public_metrics") or {}
                out[str(tweet["id"])] = PostMetrics(
                    platform_post_id=str(tweet["id"]),
                    impressions=private.get("impression_count", public.get("impression_count")),
                    likes=public.get("like_count"),
                    comments=public.get("reply_count"),
                    shares=(public.get("retweet_count") or 0) + (public.get("quote_count") or 0),
                    saves=public.get("bookmark_count"),
                    clicks=private.get("url_link_clicks"),
                )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        metrics = (await self._me(tokens)).get("public_metrics") or {}
        return AccountMetrics(
            followers=metrics.get("followers_count"),
            following=metrics.get("following_count"),
            posts=metrics.get("tweet_count"),
        )

    async def public_account(self, tokens: Tokens, handle: str) -> PublicAccount:
        """``GET /2/users/by/username/:username``: X answers 200 with ``errors`` and no
        ``data`` for a name nobody has."""
        name = handle.strip().lstrip("@")
        body = await self.http.json(
            "GET",
            self._api(f"/2/users/by/username/{quote(name, safe='')}"),
            params={"user.fields": "profile_image_url,public_metrics,verified,name,username"},
            headers=self._auth(tokens),
        )
        user = body.get("data")
        if not isinstance(user, dict):
            detail = next((e.get("detail") for e in body.get("errors") or []), None)
            raise PermanentError(detail or f"no X account @{name}", network=NETWORK, status=404)
        metrics = user.get("public_metrics") or {}
        return PublicAccount(
            profile=self._profile(user),
            metrics=AccountMetrics(
                followers=metrics.get("followers_count"),
                following=metrics.get("following_count"),
                posts=metrics.get("tweet_count"),
            ),
        )

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        """Posts mentioning the account newer than ``cursor`` (a post id: X's ``since_id``)."""
        user_id = self._account_id(tokens)
        found: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        token: str | None = None
        newest = cursor
        for _ in range(10):
            params = {
                "max_results": "100",
                "tweet.fields": "created_at,author_id,referenced_tweets,public_metrics",
                "expansions": "author_id",
                "user.fields": "username,name",
            }
            if cursor:
                params["since_id"] = cursor
            if token:
                params["pagination_token"] = token
            body = await self.http.json(
                "GET",
                self._api(f"/2/users/{user_id}/mentions"),
                params=params,
                headers=self._auth(tokens),
            )
            found += body.get("data") or []
            users.update({u["id"]: u for u in (body.get("includes") or {}).get("users") or []})
            meta = body.get("meta") or {}
            if meta.get("newest_id") and (newest is None or int(meta["newest_id"]) > int(newest)):
                newest = meta["newest_id"]
            token = meta.get("next_token")
            if not token:
                break
        items = []
        for tweet in sorted(found, key=lambda t: int(t["id"])):
            author = users.get(tweet.get("author_id", ""), {})
            metrics = tweet.get("public_metrics") or {}
            parent = next(
                (
                    r["id"]
                    for r in tweet.get("referenced_tweets") or []
                    if r.get("type") == "replied_to"
                ),
                None,
            )
            items.append(
                Mention(
                    id=str(tweet["id"]),
                    author=Author(
                        str(tweet.get("author_id", "")), author.get("username"), author.get("name")
                    ),
                    text=plain_text(tweet),
                    created_at=_parse_time(tweet.get("created_at")) or datetime.now(UTC),
                    url=f"{self.cfg.web_base}/{author.get('username', 'i/web')}/status/"
                    + str(tweet["id"]),
                    parent_post_id=parent,
                    kind="reply" if parent else "mention",
                    metrics=PostMetrics(
                        str(tweet["id"]),
                        likes=metrics.get("like_count"),
                        comments=metrics.get("reply_count"),
                        shares=metrics.get("retweet_count"),
                    ),
                )
            )
        return MentionsPage(tuple(items), newest)
