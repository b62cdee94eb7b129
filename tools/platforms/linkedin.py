"""LinkedIn members and organization pages through LinkedIn's versioned REST API.

Endpoints (every ``/rest`` call carries ``LinkedIn-Version: YYYYMM`` and
``X-Restli-Protocol-Version: 2.0.0``):

* OAuth 2.0 (3-legged): https://learn.microsoft.com/linkedin/shared/authentication/authorization-code-flow
  (``/oauth/v2/authorization``, ``/oauth/v2/accessToken``, ``/oauth/v2/revoke``); refresh:
  https://learn.microsoft.com/linkedin/shared/authentication/programmatic-refresh-tokens
  (the same refresh token comes back; its lifetime is not extended). No PKCE for web apps.
* ``GET /v2/userinfo`` (OpenID Connect): https://learn.microsoft.com/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
* ``GET /rest/organizationAcls?q=roleAssignee``, ``GET /rest/organizations/{id}``,
  ``GET /rest/networkSizes/{urn}``:
  https://learn.microsoft.com/linkedin/marketing/community-management/organizations/organization-access-control-by-role
* ``POST /rest/posts``, ``GET /rest/posts?q=author``, ``DELETE /rest/posts/{urn}``:
  https://learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api
* ``POST /rest/images?action=initializeUpload`` then PUT:
  https://learn.microsoft.com/linkedin/marketing/community-management/shares/images-api
* ``POST /rest/videos?action=initializeUpload``, PUT each part, ``action=finalizeUpload``,
  ``GET /rest/videos/{urn}``: https://learn.microsoft.com/linkedin/marketing/community-management/shares/videos-api
* ``/rest/socialActions/{urn}`` and ``/comments``:
  https://learn.microsoft.com/linkedin/marketing/community-management/shares/comments-api
* ``GET /rest/organizationalEntityShareStatistics``:
  https://learn.microsoft.com/linkedin/marketing/community-management/organizations/share-statistics
* ``GET /rest/memberFollowersCount?q=me``:
  https://learn.microsoft.com/linkedin/marketing/community-management/members/follower-statistics

Why httpx and not ``linkedin-api-client``: that client is synchronous (requests) and adds
little over the Rest.li conventions handled here.

Post text is written in LinkedIn's "little text format", where ``| { } @ [ ] ( ) < > # \\
* _ ~`` are markup and must be escaped; LinkedIn returns the escaped form, which is what
``find_published`` compares. Member post impressions need the restricted
``r_member_postAnalytics`` product, so a member's post metrics are likes and comments.

Errors: ``{"status", "serviceErrorCode", "code", "message"}``: 401 ``REVOKED_ACCESS_TOKEN``
and ``INVALID_ACCESS_TOKEN`` need a reconnect, ``EXPIRED_ACCESS_TOKEN`` a refresh; 429
comes without Retry-After (daily quotas reset at midnight UTC); 422 "Content is a duplicate
of ..." is a duplicate post.

Idempotency: none on create, but a second identical post is refused as a duplicate;
``find_published`` lists the author's recent posts and matches the commentary exactly.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from tools.platforms.audience import Demographics, non_empty, shares
from tools.platforms.base import (
    AccessTokenExpired,
    Account,
    AccountMetrics,
    Author,
    AuthorizationUrl,
    Connection,
    Media,
    MediaReader,
    Mention,
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
    read_all,
)
from tools.platforms.http import classify_status, expires_at, oauth_refresh_error, payload
from tools.platforms.provider import HttpProvider, OwnItem, ProviderConfig, TimeCursor, assemble

__all__ = ["LinkedInConfig", "LinkedInProvider", "escape", "unescape"]

NETWORK = "linkedin"
_RESERVED = re.compile(r"([|{}@\[\]()<>#\\*_~])")


def escape(text: str) -> str:
    """Text as LinkedIn's little text format needs it (markup characters escaped)."""
    return _RESERVED.sub(r"\\\1", text)


def unescape(text: str) -> str:
    return re.sub(r"\\([|{}@\[\]()<>#\\*_~])", r"\1", text)


@dataclass(frozen=True, slots=True)
class LinkedInConfig(ProviderConfig):
    authorize_url: str = "https://www.linkedin.com/oauth/v2/authorization"
    token_url: str = "https://www.linkedin.com/oauth/v2/accessToken"
    revoke_url: str = "https://www.linkedin.com/oauth/v2/revoke"
    api_base: str = "https://api.linkedin.com"
    web_base: str = "https://www.linkedin.com"
    version: str = "202505"
    scopes: tuple[str, ...] = (
        "openid",
        "profile",
        "w_member_social",
        "rw_organization_admin",
        "w_organization_social",
        "r_organization_social",
    )

    @classmethod
    def for_base_url(cls, base_url: str, **kw: Any) -> LinkedInConfig:
        root = f"{base_url.rstrip('/')}/linkedin"
        return cls(
            authorize_url=f"{root}/www/oauth/v2/authorization",
            token_url=f"{root}/www/oauth/v2/accessToken",
            revoke_url=f"{root}/www/oauth/v2/revoke",
            api_base=f"{root}/api",
            web_base=f"{root}/web",
            **kw,
        )


def _until_midnight_utc() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def classify(response: httpx.Response) -> PlatformError:
    body = payload(response)
    status = response.status_code
    if not isinstance(body, dict):
        return classify_status(response, NETWORK, f"HTTP {status}")
    message = str(body.get("message") or body.get("error_description") or f"HTTP {status}")
    code = str(body.get("code") or body.get("serviceErrorCode") or body.get("error") or "") or None
    kw: dict[str, Any] = {"network": NETWORK, "status": status, "code": code}
    if status == 401:
        cls = AccessTokenExpired if code == "EXPIRED_ACCESS_TOKEN" else NeedsReconnect
        return cls(message, **kw)
    if status == 429:
        wait = _until_midnight_utc() if "DAY" in message.upper() else 60.0
        retry = response.headers.get("retry-after")
        return RateLimited(message, retry_after_seconds=float(retry) if retry else wait, **kw)
    return classify_status(response, NETWORK, message, code)


def _ms(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, (int, float)) else None


class LinkedInProvider(HttpProvider):
    network = NETWORK
    capabilities = frozenset(
        {
            "text_only",
            "link",
            "first_comment",
            "delete",
            "post_metrics",
            "account_metrics",
            "mentions",
        }
    )

    def __init__(self, config: LinkedInConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, classify, client)
        self.cfg = config

    def _rest(self, path: str) -> str:
        return f"{self.cfg.api_base}/rest/{path.lstrip('/')}"

    def _headers(self, tokens: Tokens) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {tokens.access_token}",
            "LinkedIn-Version": self.cfg.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    # --- connecting ------------------------------------------------------------------------

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        params = {
            "response_type": "code",
            "client_id": self.cfg.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(self.cfg.scopes),
        }
        return AuthorizationUrl(
            f"{self.cfg.authorize_url}?{urlencode(params)}", self.cfg.scopes, False
        )

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        body = await self.http.json(
            "POST",
            self.cfg.token_url,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
            },
        )
        tokens = self._tokens(body)
        info = await self.http.json(
            "GET",
            f"{self.cfg.api_base}/v2/userinfo",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        member = f"urn:li:person:{info['sub']}"
        me = Profile(
            platform_id=member,
            username=info.get("name") or info["sub"],
            display_name=info.get("name"),
            avatar_url=info.get("picture"),
            kind="user",
        )
        member_tokens = tokens.for_account(member)
        accounts = [Account(me, member_tokens)]
        if "rw_organization_admin" in tokens.scopes:
            accounts += [
                Account(org, tokens.for_account(org.platform_id))
                for org in await self._organizations(member_tokens)
            ]
        return Connection(me, member_tokens, tuple(accounts))

    def _tokens(self, body: dict[str, Any], account_id: str | None = None) -> Tokens:
        return Tokens(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_at(body.get("expires_in")),
            refresh_expires_at=expires_at(body.get("refresh_token_expires_in")),
            scopes=tuple(s for s in re.split(r"[ ,]", str(body.get("scope", ""))) if s),
            account_id=account_id,
        )

    async def _organizations(self, tokens: Tokens) -> list[Profile]:
        acls = await self.http.json(
            "GET",
            self._rest("organizationAcls"),
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
            headers=self._headers(tokens),
        )
        out = []
        for acl in acls.get("elements") or []:
            urn = acl["organization"]
            org_id = urn.rsplit(":", 1)[-1]
            org = await self.http.json(
                "GET", self._rest(f"organizations/{org_id}"), headers=self._headers(tokens)
            )
            out.append(
                Profile(
                    platform_id=urn,
                    username=org.get("vanityName") or org_id,
                    display_name=org.get("localizedName"),
                    follower_count=await self._followers(tokens, urn),
                    kind="organization",
                    url=f"{self.cfg.web_base}/company/{org.get('vanityName') or org_id}",
                )
            )
        return out

    async def _followers(self, tokens: Tokens, org_urn: str) -> int | None:
        body = await self.http.json(
            "GET",
            self._rest(f"networkSizes/{quote(org_urn, safe='')}"),
            params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
            headers=self._headers(tokens),
        )
        return body.get("firstDegreeSize")

    async def refresh(self, tokens: Tokens) -> Tokens:
        if not tokens.refresh_token:
            raise NeedsReconnect(
                "LinkedIn gave no refresh token to this app; connect again", network=NETWORK
            )
        body = await self.http.json(
            "POST",
            self.cfg.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
            },
            classify=lambda r: oauth_refresh_error(r, NETWORK),
        )
        fresh = self._tokens(body, tokens.account_id)
        if not fresh.scopes:
            fresh = Tokens(
                fresh.access_token,
                fresh.refresh_token or tokens.refresh_token,
                fresh.expires_at,
                tokens.scopes,
                tokens.account_id,
                fresh.refresh_expires_at or tokens.refresh_expires_at,
            )
        return fresh

    async def revoke(self, tokens: Tokens) -> None:
        await self.http.request(
            "POST",
            self.cfg.revoke_url,
            data={
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "token": tokens.access_token,
            },
            idempotent=True,
        )

    # --- publishing ------------------------------------------------------------------------

    def _post_url(self, urn: str) -> str:
        return f"{self.cfg.web_base}/feed/update/{urn}/"

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        author = self._account_id(tokens)
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape(publication.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        media = publication.media
        if media:
            ids = [await self._upload(tokens, author, m) for m in media]
            if len(ids) == 1:
                body["content"] = {"media": {"id": ids[0], "altText": media[0].alt_text or ""}}
                if media[0].kind == "video" and publication.title:
                    body["content"]["media"]["title"] = publication.title
            else:
                body["content"] = {
                    "multiImage": {
                        "images": [
                            {"id": i, "altText": m.alt_text or ""}
                            for i, m in zip(ids, media, strict=True)
                        ]
                    }
                }
        elif publication.link:
            body["content"] = {
                "article": {
                    "source": publication.link,
                    "title": publication.title or publication.link,
                }
            }
        response = await self.http.request(
            "POST", self._rest("posts"), json=body, headers=self._headers(tokens)
        )
        urn = response.headers.get("x-restli-id") or (payload(response) or {}).get("id")
        if not urn:
            raise TransientError("LinkedIn created the post without saying its id", network=NETWORK)
        return Published(urn, self._post_url(urn))

    async def _upload(self, tokens: Tokens, owner: str, media: Media) -> str:
        if media.kind == "video":
            return await self._upload_video(tokens, owner, media)
        init = await self.http.json(
            "POST",
            self._rest("images"),
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": owner}},
            headers=self._headers(tokens),
            idempotent=True,
        )
        value = init["value"]
        await self.http.request(
            "PUT",
            value["uploadUrl"],
            content=await read_all(media),
            headers={
                "Authorization": f"Bearer {tokens.access_token}",
                "Content-Type": media.mime_type,
            },
            timeout=self.cfg.upload_timeout,
        )
        return str(value["image"])

    async def _upload_video(self, tokens: Tokens, owner: str, media: Media) -> str:
        headers = self._headers(tokens)
        init = await self.http.json(
            "POST",
            self._rest("videos"),
            params={"action": "initializeUpload"},
            json={
                "initializeUploadRequest": {
                    "owner": owner,
                    "fileSizeBytes": media.size,
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
            headers=headers,
            idempotent=True,
        )
        value = init["value"]
        video = str(value["video"])
        reader = MediaReader(media)
        etags = []
        for part in value["uploadInstructions"]:
            chunk = await reader.read(int(part["lastByte"]) - int(part["firstByte"]) + 1)
            response = await self.http.request(
                "PUT",
                part["uploadUrl"],
                content=chunk,
                headers={
                    "Authorization": f"Bearer {tokens.access_token}",
                    "Content-Type": "application/octet-stream",
                },
                timeout=self.cfg.upload_timeout,
            )
            etags.append(response.headers.get("etag", ""))
        await self.http.request(
            "POST",
            self._rest("videos"),
            params={"action": "finalizeUpload"},
            json={
                "finalizeUploadRequest": {
                    "video": video,
                    "uploadToken": value.get("uploadToken", ""),
                    "uploadedPartIds": etags,
                }
            },
            headers=headers,
            idempotent=True,
        )
        await self._wait_video(tokens, video)
        return video

    async def _wait_video(self, tokens: Tokens, video: str) -> None:
        deadline = time.monotonic() + self.cfg.poll_timeout
        while True:
            body = await self.http.json(
                "GET", self._rest(f"videos/{quote(video, safe='')}"), headers=self._headers(tokens)
            )
            status = body.get("status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise PermanentError(
                    str(
                        body.get("processingFailureReason")
                        or "LinkedIn could not process the video"
                    ),
                    network=NETWORK,
                    code=status,
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    "video still processing after the poll timeout", network=NETWORK
                )
            await asyncio.sleep(self.cfg.poll_interval)

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        urn = root.platform_post_id
        response = await self.http.request(
            "POST",
            self._rest(f"socialActions/{quote(urn, safe='')}/comments"),
            json={"actor": self._account_id(tokens), "object": urn, "message": {"text": text}},
            headers=self._headers(tokens),
        )
        body = payload(response) or {}
        return str(response.headers.get("x-restli-id") or body.get("$URN") or body.get("id"))

    # --- finding, deleting -----------------------------------------------------------------

    async def _recent_posts(self, tokens: Tokens, count: int = 50) -> list[dict[str, Any]]:
        author = quote(self._account_id(tokens), safe="")
        url = self._rest(f"posts?q=author&author={author}&count={count}&sortBy=LAST_MODIFIED")
        body = await self.http.json(
            "GET", url, headers={**self._headers(tokens), "X-RestLi-Method": "FINDER"}
        )
        return [p for p in body.get("elements") or [] if p.get("lifecycleState") == "PUBLISHED"]

    async def _comments(self, tokens: Tokens, urn: str) -> list[dict[str, Any]]:
        body = await self.http.json(
            "GET",
            self._rest(f"socialActions/{quote(urn, safe='')}/comments"),
            headers=self._headers(tokens),
        )
        return body.get("elements") or []

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        roots = [
            OwnItem(
                p["id"],
                p.get("commentary", ""),
                _ms(p.get("createdAt")),
                None,
                self._post_url(p["id"]),
            )
            for p in await self._recent_posts(tokens)
        ]
        root_text = escape(publication.text)
        found = assemble(publication, roots, since=since, root_text=root_text)
        if found is None or not publication.first_comment:
            return found
        author = self._account_id(tokens)
        comments = [
            OwnItem(
                str(c.get("$URN") or c.get("id")),
                (c.get("message") or {}).get("text", ""),
                _ms((c.get("created") or {}).get("time")),
                found.platform_post_id,
            )
            for c in await self._comments(tokens, found.platform_post_id)
            if c.get("actor") == author
        ]
        return assemble(publication, roots, comments=comments, since=since, root_text=root_text)

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None:
        await self.http.request(
            "DELETE",
            self._rest(f"posts/{quote(platform_post_id, safe='')}"),
            headers={**self._headers(tokens), "X-RestLi-Method": "DELETE"},
        )

    # --- reading ---------------------------------------------------------------------------

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]:
        author = self._account_id(tokens)
        out: dict[str, PostMetrics] = {}
        if author.startswith("urn:li:organization:") and platform_post_ids:
            shares = [u for u in platform_post_ids if ":share:" in u]
            ugc = [u for u in platform_post_ids if ":share:" not in u]
            query = f"q=organizationalEntity&organizationalEntity={quote(author, safe='')}"
            for name, urns in (("shares", shares), ("ugcPosts", ugc)):
                if urns:
                    query += f"&{name}=List({','.join(quote(u, safe='') for u in urns)})"
            body = await self.http.json(
                "GET",
                self._rest(f"organizationalEntityShareStatistics?{query}"),
                headers=self._headers(tokens),
            )
            for element in body.get("elements") or []:
                urn = element.get("share") or element.get("ugcPost")
                stats = element.get("totalShareStatistics") or {}
                out[urn] = PostMetrics(
                    platform_post_id=urn,
                    impressions=stats.get("impressionCount"),
                    reach=stats.get("uniqueImpressionsCount"),
                    likes=stats.get("likeCount"),
                    comments=stats.get("commentCount"),
                    shares=stats.get("shareCount"),
                    clicks=stats.get("clickCount"),
                )
            return out
        for urn in platform_post_ids:
            body = await self.http.json(
                "GET",
                self._rest(f"socialActions/{quote(urn, safe='')}"),
                headers=self._headers(tokens),
            )
            out[urn] = PostMetrics(
                platform_post_id=urn,
                likes=(body.get("likesSummary") or {}).get("totalLikes"),
                comments=(body.get("commentsSummary") or {}).get("aggregatedTotalComments"),
            )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        author = self._account_id(tokens)
        if author.startswith("urn:li:organization:"):
            followers = await self._followers(tokens, author)
            body = await self.http.json(
                "GET",
                self._rest(
                    "organizationalEntityShareStatistics?q=organizationalEntity"
                    f"&organizationalEntity={quote(author, safe='')}"
                ),
                headers=self._headers(tokens),
            )
            stats = ((body.get("elements") or [{}])[0]).get("totalShareStatistics") or {}
            return AccountMetrics(
                followers=followers,
                impressions=stats.get("impressionCount"),
                reach=stats.get("uniqueImpressionsCount"),
            )
        body = await self.http.json(
            "GET", self._rest("memberFollowersCount?q=me"), headers=self._headers(tokens)
        )
        counts = [e.get("memberFollowersCount") for e in body.get("elements") or []]
        return AccountMetrics(followers=counts[0] if counts else None)

    async def audience_demographics(self, tokens: Tokens) -> Demographics:
        """A LinkedIn Page's followers by country, industry, seniority and job function
        (``organizationalEntityFollowerStatistics``, organic and paid followers counted
        together). Buckets are LinkedIn's URNs (``urn:li:geo:103644278``...): naming them
        takes one more lookup per kind, left to whoever shows them. A member's own profile
        has no such statistics (:class:`Unsupported`)."""
        author = self._account_id(tokens)
        if not author.startswith("urn:li:organization:"):
            raise Unsupported(
                "LinkedIn reports follower demographics for Pages, not members' profiles",
                network=self.network,
            )
        body = await self.http.json(
            "GET",
            self._rest(
                "organizationalEntityFollowerStatistics?q=organizationalEntity"
                f"&organizationalEntity={quote(author, safe='')}"
            ),
            headers=self._headers(tokens),
        )
        stats = (body.get("elements") or [{}])[0]
        out: dict[str, dict[str, float]] = {}
        for dimension, (listing, key) in _FOLLOWER_FACETS.items():
            counts: dict[str, float] = {}
            for row in stats.get(listing) or []:
                bucket, numbers = row.get(key), row.get("followerCounts") or {}
                if not isinstance(bucket, str):
                    continue
                total = sum(
                    v
                    for v in (numbers.get("organicFollowerCount"), numbers.get("paidFollowerCount"))
                    if isinstance(v, int | float)
                )
                counts[bucket] = counts.get(bucket, 0) + total
            out[dimension] = shares(counts)
        return non_empty(out)

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        """Comments by others on the author's recent posts, newer than the cursor."""
        author = self._account_id(tokens)
        position = TimeCursor.parse(cursor)
        items: list[Mention] = []
        for post in await self._recent_posts(tokens, count=20):
            for c in await self._comments(tokens, post["id"]):
                created = _ms((c.get("created") or {}).get("time")) or datetime.now(UTC)
                cid = str(c.get("$URN") or c.get("id"))
                if c.get("actor") == author or not position.is_new(cid, created):
                    continue
                items.append(
                    Mention(
                        id=cid,
                        author=Author(str(c.get("actor", ""))),
                        text=(c.get("message") or {}).get("text", ""),
                        created_at=created,
                        url=self._post_url(post["id"]),
                        parent_post_id=post["id"],
                        kind="comment",
                        metrics=PostMetrics(
                            cid, likes=(c.get("likesSummary") or {}).get("totalLikes")
                        ),
                    )
                )
        items.sort(key=lambda m: m.created_at)
        after = position.advance([(m.id, m.created_at) for m in items])
        return MentionsPage(tuple(items), after.encode() or cursor)


# Our dimension -> (the statistics' list, the key naming each row's bucket).
_FOLLOWER_FACETS = {
    "countries": ("followerCountsByGeoCountry", "geo"),
    "industries": ("followerCountsByIndustry", "industry"),
    "seniorities": ("followerCountsBySeniority", "seniority"),
    "functions": ("followerCountsByFunction", "function"),
}
