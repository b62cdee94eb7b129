"""Facebook Pages through the Graph API (login, tokens and errors: ``tools.platforms.meta``).

Endpoints:

* ``POST /{page-id}/feed`` (``message``, ``link``, ``attached_media``):
  https://developers.facebook.com/docs/graph-api/reference/page/feed
* ``POST /{page-id}/photos`` (multipart ``source``; ``published=false`` for several photos
  attached to one feed post): https://developers.facebook.com/docs/graph-api/reference/page/photos
* resumable video upload, ``POST /{page-id}/videos`` with ``upload_phase`` start / transfer
  / finish, then ``GET /{video-id}?fields=status,post_id``:
  https://developers.facebook.com/docs/video-api/guides/publishing
* ``POST /{object-id}/comments``, ``GET /{object-id}/comments``:
  https://developers.facebook.com/docs/graph-api/reference/object/comments
* ``GET /{page-id}/published_posts``, ``GET /{page-id}/tagged``, ``DELETE /{post-id}``:
  https://developers.facebook.com/docs/graph-api/reference/page/published_posts
* insights (``post_impressions``, ``post_impressions_unique``, ``post_clicks``,
  ``page_impressions``, ``page_impressions_unique``):
  https://developers.facebook.com/docs/graph-api/reference/insights (Meta is moving these
  to "views" metrics; the names here are the ones the pinned API version answers)

Idempotency: none. ``find_published`` matches the Page's published posts since the first
attempt by exact message, and the first comment among the post's comments by the Page.
"""

from __future__ import annotations

import asyncio
import json
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
    MediaReader,
    Mention,
    MentionsPage,
    PermanentError,
    PostMetrics,
    Profile,
    Publication,
    Published,
    Tokens,
    TransientError,
    read_all,
)
from tools.platforms.meta import MetaConfig, MetaProvider, parse_time
from tools.platforms.provider import OwnItem, TimeCursor, assemble

__all__ = ["FacebookProvider", "MetaConfig"]

_PAGE_FIELDS = "id,name,username,access_token,picture{url},followers_count,fan_count,link,tasks"
_COMMENT_FIELDS = "id,message,from{id,name},created_time,permalink_url,like_count"


class FacebookProvider(MetaProvider):
    network = "facebook"
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
    default_scopes = (
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts",
        "pages_read_user_content",
        "pages_manage_engagement",
        "read_insights",
        "business_management",
    )

    # --- connecting ------------------------------------------------------------------------

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        user = await self._user_token(code, redirect_uri)
        me = await self.get(user.access_token, "me", fields="id,name,picture{url}")
        accounts = []
        for page in await self._pages(user.access_token, _PAGE_FIELDS):
            tasks = page.get("tasks")
            if tasks is not None and "CREATE_CONTENT" not in tasks:
                continue  # the user may see this Page but not post on it
            tokens = Tokens(
                access_token=page["access_token"],
                refresh_token=user.access_token,
                refresh_expires_at=user.expires_at,
                scopes=user.scopes,
                account_id=page["id"],
                extra={"page_id": page["id"]},
            )
            accounts.append(Account(self._page_profile(page), tokens))
        profile = Profile(
            platform_id=me["id"],
            username=me.get("name", me["id"]),
            display_name=me.get("name"),
            avatar_url=((me.get("picture") or {}).get("data") or {}).get("url"),
        )
        return Connection(profile, user.for_account(me["id"]), tuple(accounts))

    def _page_profile(self, page: dict[str, Any]) -> Profile:
        return Profile(
            platform_id=page["id"],
            username=page.get("username") or page["name"],
            display_name=page.get("name"),
            avatar_url=((page.get("picture") or {}).get("data") or {}).get("url"),
            follower_count=page.get("followers_count", page.get("fan_count")),
            kind="page",
            url=page.get("link") or f"{self.cfg.web_base}/{page['id']}",
        )

    # --- publishing ------------------------------------------------------------------------

    def _post_url(self, post_id: str) -> str:
        page, _, post = post_id.partition("_")
        return f"{self.cfg.web_base}/{page}/posts/{post}" if post else f"{self.cfg.web_base}/{page}"

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        page = self._account_id(tokens)
        media = publication.media
        token = tokens.access_token
        if any(m.kind == "video" for m in media):
            return await self._publish_video(tokens, media[0], publication)
        if len(media) == 1:
            body = await self._photo(token, page, media[0], message=publication.text)
            post_id = str(body.get("post_id") or body["id"])
            return Published(post_id, self._post_url(post_id), extra={"photo_id": str(body["id"])})
        fields: dict[str, str] = {"message": publication.text}
        if publication.link and not media:  # a feed post has a link card or photos, not both
            fields["link"] = publication.link
        for index, item in enumerate(media):
            photo = await self._photo(token, page, item, published=False)
            fields[f"attached_media[{index}]"] = json.dumps({"media_fbid": str(photo["id"])})
        body = await self.post(token, f"{page}/feed", **fields)
        return Published(str(body["id"]), self._post_url(str(body["id"])))

    async def _photo(
        self,
        token: str,
        page: str,
        media: Media,
        *,
        message: str | None = None,
        published: bool = True,
    ) -> dict[str, Any]:
        data = {"published": "true" if published else "false"}
        if message is not None:
            data["message"] = message
        if media.alt_text:
            data["alt_text_custom"] = media.alt_text
        return await self.http.json(
            "POST",
            self._graph(f"{page}/photos"),
            data=data,
            files={"source": (media.filename, await read_all(media), media.mime_type)},
            headers=self._auth(token),
            idempotent=not published,  # an unpublished photo is not a post
            timeout=self.cfg.upload_timeout,
        )

    async def _publish_video(
        self, tokens: Tokens, media: Media, publication: Publication
    ) -> Published:
        """Start, transfer the byte ranges Facebook asks for, finish (this publishes), then
        wait until the video is ready and has its post id."""
        page, token = self._account_id(tokens), tokens.access_token
        url = f"{self.cfg.video_base}/{page}/videos"
        auth = self._auth(token)
        start = await self.http.json(
            "POST",
            url,
            data={"upload_phase": "start", "file_size": str(media.size)},
            headers=auth,
            idempotent=True,
        )
        session, video_id = str(start["upload_session_id"]), str(start["video_id"])
        begin, end = int(start["start_offset"]), int(start["end_offset"])
        reader = MediaReader(media)
        while begin < end:
            chunk = await reader.read(end - begin)
            step = await self.http.json(
                "POST",
                url,
                data={
                    "upload_phase": "transfer",
                    "upload_session_id": session,
                    "start_offset": str(begin),
                },
                files={"video_file_chunk": ("chunk", chunk, "application/octet-stream")},
                headers=auth,
                idempotent=True,
                timeout=self.cfg.upload_timeout,
            )
            begin, end = int(step["start_offset"]), int(step["end_offset"])
        finish = {
            "upload_phase": "finish",
            "upload_session_id": session,
            "description": publication.text,
        }
        if publication.title:
            finish["title"] = publication.title
        await self.http.json("POST", url, data=finish, headers=auth)
        post_id = await self._wait_video(token, video_id)
        return Published(post_id, self._post_url(post_id), extra={"video_id": video_id})

    async def _wait_video(self, token: str, video_id: str) -> str:
        deadline = time.monotonic() + self.cfg.poll_timeout
        while True:
            body = await self.get(token, video_id, fields="status,post_id")
            info = body.get("status") or {}
            status = info.get("video_status")
            if status == "error":
                errors = (info.get("processing_phase") or {}).get("errors") or [{}]
                raise PermanentError(
                    str(errors[0].get("message") or "Facebook could not process the video"),
                    network=self.network,
                    code=str(errors[0].get("code") or "") or None,
                )
            if status == "ready" and body.get("post_id"):
                return str(body["post_id"])
            if time.monotonic() > deadline:
                raise TransientError(
                    "video still processing after the poll timeout", network=self.network
                )
            await asyncio.sleep(self.cfg.poll_interval)

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        body = await self.post(
            tokens.access_token, f"{root.platform_post_id}/comments", message=text
        )
        return str(body["id"])

    # --- finding, deleting -----------------------------------------------------------------

    async def _recent_posts(
        self, tokens: Tokens, since: datetime | None, limit: int = 100
    ) -> list[dict[str, Any]]:
        params = {"fields": "id,message,created_time,permalink_url", "limit": str(limit)}
        if since is not None:
            params["since"] = str(int(since.timestamp()))
        body = await self.get(
            tokens.access_token, f"{self._account_id(tokens)}/published_posts", **params
        )
        return body.get("data") or []

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        page = self._account_id(tokens)
        roots = [
            OwnItem(
                p["id"],
                p.get("message", ""),
                parse_time(p.get("created_time")),
                None,
                p.get("permalink_url"),
            )
            for p in await self._recent_posts(tokens, since)
        ]
        found = assemble(publication, roots, since=since)
        if found is None or not publication.first_comment:
            return found
        comments = [
            OwnItem(
                c["id"],
                c.get("message", ""),
                parse_time(c.get("created_time")),
                found.platform_post_id,
            )
            for c in await self._comments(
                tokens.access_token, found.platform_post_id, _COMMENT_FIELDS
            )
            if (c.get("from") or {}).get("id") == page
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
        token = tokens.access_token
        out = {}
        for post_id in platform_post_ids:
            counts = await self.get(
                token,
                post_id,
                fields="shares,reactions.summary(total_count).limit(0),"
                "comments.summary(total_count).limit(0)",
            )
            insights = self._insight_values(
                await self.get(
                    token,
                    f"{post_id}/insights",
                    metric="post_impressions,post_impressions_unique,post_clicks",
                )
            )
            out[post_id] = PostMetrics(
                platform_post_id=post_id,
                impressions=insights.get("post_impressions"),
                reach=insights.get("post_impressions_unique"),
                clicks=insights.get("post_clicks"),
                likes=((counts.get("reactions") or {}).get("summary") or {}).get("total_count"),
                comments=((counts.get("comments") or {}).get("summary") or {}).get("total_count"),
                shares=(counts.get("shares") or {}).get("count", 0),
            )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        page = self._account_id(tokens)
        body = await self.get(tokens.access_token, page, fields="followers_count,fan_count")
        insights = self._insight_values(
            await self.get(
                tokens.access_token,
                f"{page}/insights",
                metric="page_impressions,page_impressions_unique",
                period="day",
            )
        )
        return AccountMetrics(
            followers=body.get("followers_count", body.get("fan_count")),
            impressions=insights.get("page_impressions"),
            reach=insights.get("page_impressions_unique"),
        )

    async def audience_demographics(self, tokens: Tokens) -> Demographics:
        """The Page's fans by gender and age (``page_fans_gender_age``, keys such as
        ``F.25-34``) and by country (``page_fans_country``), lifetime values. Graph reports
        them for Pages with at least 100 fans; below that they come back empty."""
        page = self._account_id(tokens)
        body = await self.get(
            tokens.access_token,
            f"{page}/insights",
            metric="page_fans_gender_age,page_fans_country",
            period="lifetime",
        )
        latest = _latest_values(body)
        ages: dict[str, float] = {}
        genders: dict[str, float] = {}
        for key, count in (latest.get("page_fans_gender_age") or {}).items():
            gender, _, age = str(key).partition(".")
            if not age or not isinstance(count, int | float):
                continue
            ages[age] = ages.get(age, 0) + count
            name = _GENDERS.get(gender, "unknown")
            genders[name] = genders.get(name, 0) + count
        return non_empty(
            {
                "age": shares(ages),
                "gender": shares(genders),
                "countries": shares(latest.get("page_fans_country") or {}),
            }
        )

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        """Comments on the Page's recent posts by others, and posts tagging the Page, newer
        than the cursor (a :class:`TimeCursor`)."""
        page, token = self._account_id(tokens), tokens.access_token
        position = TimeCursor.parse(cursor)
        since = position.seconds or None
        items: list[Mention] = []
        for post in await self._recent_posts(tokens, None, limit=25):
            for c in await self._comments(token, post["id"], _COMMENT_FIELDS, since):
                author = c.get("from") or {}
                created = parse_time(c.get("created_time")) or datetime.now(UTC)
                if author.get("id") == page or not position.is_new(c["id"], created):
                    continue
                items.append(
                    Mention(
                        id=c["id"],
                        author=Author(str(author.get("id", "")), None, author.get("name")),
                        text=c.get("message", ""),
                        created_at=created,
                        url=c.get("permalink_url"),
                        parent_post_id=post["id"],
                        kind="comment",
                        metrics=PostMetrics(c["id"], likes=c.get("like_count")),
                    )
                )
        params = {"fields": "id,message,from{id,name},created_time,permalink_url", "limit": "100"}
        if since:
            params["since"] = str(since)
        for t in (await self.get(token, f"{page}/tagged", **params)).get("data") or []:
            created = parse_time(t.get("created_time")) or datetime.now(UTC)
            if position.is_new(t["id"], created):
                author = t.get("from") or {}
                items.append(
                    Mention(
                        id=t["id"],
                        author=Author(str(author.get("id", "")), None, author.get("name")),
                        text=t.get("message", ""),
                        created_at=created,
                        url=t.get("permalink_url"),
                    )
                )
        items.sort(key=lambda m: m.created_at)
        after = position.advance([(m.id, m.created_at) for m in items])
        return MentionsPage(tuple(items), after.encode() or cursor)


_GENDERS = {"F": "female", "M": "male", "U": "unknown"}


def _latest_values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each insight's latest value that is a breakdown (a JSON object), by metric name."""
    out: dict[str, dict[str, Any]] = {}
    for metric in body.get("data") or []:
        values = [v.get("value") for v in metric.get("values") or []]
        found = next((v for v in reversed(values) if isinstance(v, dict)), None)
        if found is not None and isinstance(metric.get("name"), str):
            out[metric["name"]] = found
    return out
