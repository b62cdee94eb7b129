"""Instagram professional accounts through the Graph API with Facebook Login
(login, tokens and errors: ``tools.platforms.meta``).

Endpoints:

* containers, status and publishing: ``POST /{ig-user-id}/media``,
  ``GET /{container-id}?fields=status_code,status``, ``POST /{ig-user-id}/media_publish``:
  https://developers.facebook.com/docs/instagram-platform/content-publishing
* resumable video upload: ``POST /{ig-user-id}/media?upload_type=resumable`` then
  ``POST https://rupload.facebook.com/ig-api-upload/{version}/{container-id}`` with the
  bytes: https://developers.facebook.com/docs/instagram-platform/content-publishing/resumable-uploads
* ``GET /{ig-user-id}/media``, ``GET /{ig-user-id}/tags``, ``DELETE /{ig-media-id}``:
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
* ``POST|GET /{ig-media-id}/comments``:
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments
* another professional account by username (competitors): ``GET /{ig-user-id}?fields=
  business_discovery.username(name){...}``:
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/business_discovery
* insights (``views``, ``reach``, ``likes``, ``comments``, ``shares``, ``saved``):
  https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights

Media: a video (reel, or carousel item) is uploaded from its bytes; an image can only be
fetched by Instagram from a public URL, so image media need ``Media.public_url`` (an S3 or
CDN URL); without one the publication fails before any call, saying so.

Idempotency: none on create. ``find_published`` matches the account's media since the
first attempt by exact caption.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tools.platforms.audience import Demographics, non_empty, shares
from tools.platforms.base import (
    Account,
    AccountMetrics,
    Author,
    Connection,
    Media,
    Mention,
    MentionsPage,
    PermanentError,
    PostMetrics,
    Profile,
    PublicAccount,
    Publication,
    Published,
    Tokens,
    TransientError,
)
from tools.platforms.meta import MetaConfig, MetaProvider, parse_time
from tools.platforms.provider import OwnItem, TimeCursor, assemble

__all__ = ["InstagramProvider", "MetaConfig"]

_IG_FIELDS = "id,username,name,profile_picture_url,followers_count"
_COMMENT_FIELDS = "id,text,username,from{id,username},timestamp,like_count"


class InstagramProvider(MetaProvider):
    network = "instagram"
    capabilities = frozenset(
        {"first_comment", "delete", "post_metrics", "account_metrics", "mentions"}
    )
    default_scopes = (
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_comments",
        "instagram_manage_insights",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    )

    # --- connecting ------------------------------------------------------------------------

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        user = await self._user_token(code, redirect_uri)
        me = await self.get(user.access_token, "me", fields="id,name")
        fields = f"id,name,access_token,instagram_business_account{{{_IG_FIELDS}}}"
        accounts = []
        for page in await self._pages(user.access_token, fields):
            ig = page.get("instagram_business_account")
            if not ig:
                continue
            tokens = Tokens(
                access_token=page["access_token"],
                refresh_token=user.access_token,
                refresh_expires_at=user.expires_at,
                scopes=user.scopes,
                account_id=ig["id"],
                extra={"page_id": page["id"]},
            )
            profile = Profile(
                platform_id=ig["id"],
                username=ig.get("username", ig["id"]),
                display_name=ig.get("name"),
                avatar_url=ig.get("profile_picture_url"),
                follower_count=ig.get("followers_count"),
                kind="business",
                url=f"{self.cfg.instagram_web}/{ig.get('username', '')}",
            )
            accounts.append(Account(profile, tokens))
        user_profile = Profile(me["id"], me.get("name", me["id"]), me.get("name"))
        return Connection(user_profile, user.for_account(me["id"]), tuple(accounts))

    # --- publishing ------------------------------------------------------------------------

    def check(self, publication: Publication) -> None:
        super().check(publication)
        if any(m.kind != "video" and not m.public_url for m in publication.media):
            raise PermanentError(
                "Instagram fetches images from a public URL: give each image a public_url "
                "(configure S3 or a CDN for media)",
                network=self.network,
            )

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        ig = self._account_id(tokens)
        media = publication.media
        if len(media) == 1:
            container = await self._container(tokens, media[0], caption=publication.text)
        else:
            children = [await self._container(tokens, m, carousel=True) for m in media]
            for child in children:
                await self._wait_container(tokens, child)
            body = await self.post(
                tokens.access_token,
                f"{ig}/media",
                media_type="CAROUSEL",
                children=",".join(children),
                caption=publication.text,
                idempotent=True,  # a container is not a post until it is published
            )
            container = str(body["id"])
        await self._wait_container(tokens, container)
        published = await self.post(
            tokens.access_token, f"{ig}/media_publish", creation_id=container
        )
        media_id = str(published["id"])
        info = await self.get(tokens.access_token, media_id, fields="permalink")
        return Published(media_id, info.get("permalink"), extra={"container_id": container})

    async def _container(
        self, tokens: Tokens, media: Media, *, caption: str | None = None, carousel: bool = False
    ) -> str:
        ig = self._account_id(tokens)
        fields: dict[str, str] = {}
        if caption is not None:
            fields["caption"] = caption
        if carousel:
            fields["is_carousel_item"] = "true"
        if media.kind != "video":
            fields["image_url"] = media.public_url or ""
            if media.alt_text:
                fields["alt_text"] = media.alt_text
            body = await self.post(tokens.access_token, f"{ig}/media", idempotent=True, **fields)
            return str(body["id"])
        fields["media_type"] = "VIDEO" if carousel else "REELS"
        fields["upload_type"] = "resumable"
        body = await self.post(tokens.access_token, f"{ig}/media", idempotent=True, **fields)
        container = str(body["id"])
        await self._upload_video(tokens, container, media, body.get("uri"))
        return container

    async def _upload_video(
        self, tokens: Tokens, container: str, media: Media, uri: str | None
    ) -> None:
        """Send the bytes to the upload host in one streamed request (offset 0)."""
        await self.http.json(
            "POST",
            f"{self.cfg.rupload_base}/{container}" if not uri or "://" not in uri else uri,
            content=media.read(),
            headers={
                "Authorization": f"OAuth {tokens.access_token}",
                "offset": "0",
                "file_size": str(media.size),
                "Content-Length": str(media.size),
                "Content-Type": "application/octet-stream",
            },
            idempotent=True,
            timeout=self.cfg.upload_timeout,
        )

    async def _wait_container(self, tokens: Tokens, container: str) -> None:
        deadline = time.monotonic() + self.cfg.poll_timeout
        while True:
            body = await self.get(tokens.access_token, container, fields="status_code,status")
            code = body.get("status_code")
            if code in ("FINISHED", "PUBLISHED"):
                return
            if code in ("ERROR", "EXPIRED"):
                raise PermanentError(
                    str(body.get("status") or f"container {code}"), network=self.network, code=code
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    "media still processing after the poll timeout", network=self.network
                )
            await asyncio.sleep(self.cfg.poll_interval)

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        body = await self.post(
            tokens.access_token, f"{root.platform_post_id}/comments", message=text
        )
        return str(body["id"])

    # --- finding, deleting -----------------------------------------------------------------

    async def _recent_media(self, tokens: Tokens, limit: int = 50) -> list[dict[str, Any]]:
        body = await self.get(
            tokens.access_token,
            f"{self._account_id(tokens)}/media",
            fields="id,caption,timestamp,permalink,media_type",
            limit=str(limit),
        )
        return body.get("data") or []

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        ig = self._account_id(tokens)
        roots = [
            OwnItem(
                m["id"],
                m.get("caption", ""),
                parse_time(m.get("timestamp")),
                None,
                m.get("permalink"),
            )
            for m in await self._recent_media(tokens)
        ]
        found = assemble(publication, roots, since=since)
        if found is None or not publication.first_comment:
            return found
        comments = [
            OwnItem(
                c["id"], c.get("text", ""), parse_time(c.get("timestamp")), found.platform_post_id
            )
            for c in await self._comments(
                tokens.access_token, found.platform_post_id, _COMMENT_FIELDS
            )
            if (c.get("from") or {}).get("id") == ig
        ]
        return assemble(publication, roots, comments=comments, since=since)

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None:
        await self.http.request(
            "DELETE", self._graph(platform_post_id), headers=self._auth(tokens.access_token)
        )

    # --- reading ---------------------------------------------------------------------------

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]:
        out = {}
        for media_id in platform_post_ids:
            values = self._insight_values(
                await self.get(
                    tokens.access_token,
                    f"{media_id}/insights",
                    metric="views,reach,likes,comments,shares,saved",
                )
            )
            out[media_id] = PostMetrics(
                platform_post_id=media_id,
                impressions=values.get("views"),
                reach=values.get("reach"),
                likes=values.get("likes"),
                comments=values.get("comments"),
                shares=values.get("shares"),
                saves=values.get("saved"),
                video_views=values.get("views"),
            )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        ig = self._account_id(tokens)
        body = await self.get(
            tokens.access_token, ig, fields="followers_count,follows_count,media_count"
        )
        insights = self._insight_values(
            await self.get(
                tokens.access_token,
                f"{ig}/insights",
                metric="reach,views",
                period="day",
                metric_type="total_value",
            )
        )
        return AccountMetrics(
            followers=body.get("followers_count"),
            following=body.get("follows_count"),
            posts=body.get("media_count"),
            impressions=insights.get("views"),
            reach=insights.get("reach"),
        )

    async def public_account(self, tokens: Tokens, handle: str) -> PublicAccount:
        """Another Business or Creator account's public numbers through Business Discovery
        (personal accounts are not discoverable: Meta answers error 110 for them)."""
        name = handle.strip().removeprefix("@")
        try:
            body = await self.get(
                tokens.access_token,
                self._account_id(tokens),
                fields=f"business_discovery.username({name})"
                "{id,username,name,profile_picture_url,followers_count,follows_count,media_count}",
            )
        except PermanentError as exc:
            if exc.code != "110/2207013":
                raise
            raise PermanentError(
                f"no Instagram Business or Creator account @{name}",
                network=self.network,
                status=404,
                code=exc.code,
            ) from exc
        found = body.get("business_discovery") or {}
        return PublicAccount(
            profile=Profile(
                platform_id=found.get("id", name),
                username=found.get("username", name),
                display_name=found.get("name"),
                avatar_url=found.get("profile_picture_url"),
                follower_count=found.get("followers_count"),
                kind="business",
                url=f"{self.cfg.instagram_web}/{found.get('username', name)}",
            ),
            metrics=AccountMetrics(
                followers=found.get("followers_count"),
                following=found.get("follows_count"),
                posts=found.get("media_count"),
            ),
        )

    async def audience_demographics(self, tokens: Tokens) -> Demographics:
        """The ``follower_demographics`` insight, one breakdown per request as the Graph API
        asks (age, gender, country). Instagram gives it to business and creator accounts
        with at least 100 followers; below that the breakdowns come back empty."""
        ig, token = self._account_id(tokens), tokens.access_token
        out: dict[str, dict[str, float]] = {}
        for dimension, breakdown in _IG_BREAKDOWNS:
            body = await self.get(
                token,
                f"{ig}/insights",
                metric="follower_demographics",
                period="lifetime",
                metric_type="total_value",
                breakdown=breakdown,
            )
            out[dimension] = shares(_breakdown_counts(body, breakdown))
        return non_empty(out)

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        """Comments by others on recent media, and media the account is tagged in, newer
        than the cursor (a :class:`TimeCursor`)."""
        ig, token = self._account_id(tokens), tokens.access_token
        position = TimeCursor.parse(cursor)
        items: list[Mention] = []
        for media in await self._recent_media(tokens, limit=25):
            for c in await self._comments(token, media["id"], _COMMENT_FIELDS):
                created = parse_time(c.get("timestamp")) or datetime.now(UTC)
                author = c.get("from") or {}
                if author.get("id") == ig or not position.is_new(c["id"], created):
                    continue
                items.append(
                    Mention(
                        id=c["id"],
                        author=Author(
                            str(author.get("id", "")), c.get("username") or author.get("username")
                        ),
                        text=c.get("text", ""),
                        created_at=created,
                        url=media.get("permalink"),
                        parent_post_id=media["id"],
                        kind="comment",
                        metrics=PostMetrics(c["id"], likes=c.get("like_count")),
                    )
                )
        tags = await self.get(token, f"{ig}/tags", fields="id,caption,username,timestamp,permalink")
        for t in tags.get("data") or []:
            created = parse_time(t.get("timestamp")) or datetime.now(UTC)
            if position.is_new(t["id"], created):
                items.append(
                    Mention(
                        id=t["id"],
                        author=Author("", t.get("username")),
                        text=t.get("caption", ""),
                        created_at=created,
                        url=t.get("permalink"),
                    )
                )
        items.sort(key=lambda m: m.created_at)
        after = position.advance([(m.id, m.created_at) for m in items])
        return MentionsPage(tuple(items), after.encode() or cursor)


# (our dimension, the Graph API's breakdown) of follower_demographics.
_IG_BREAKDOWNS = (("age", "age"), ("gender", "gender"), ("countries", "country"))


def _breakdown_counts(body: dict[str, Any], breakdown: str) -> dict[str, float]:
    """Followers per value of ``breakdown`` in a total_value insight answer."""
    counts: dict[str, float] = {}
    for metric in body.get("data") or []:
        for part in (metric.get("total_value") or {}).get("breakdowns") or []:
            if part.get("dimension_keys") != [breakdown]:
                continue
            for result in part.get("results") or []:
                values = result.get("dimension_values") or []
                if len(values) == 1 and isinstance(result.get("value"), int | float):
                    counts[str(values[0])] = counts.get(str(values[0]), 0) + result["value"]
    return counts
