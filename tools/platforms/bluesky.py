"""Bluesky through the AT Protocol's XRPC API, on the user's PDS.

Connecting is a handle (or DID, or email) and an app password, as Bluesky recommends for
apps that are not OAuth clients (and as Postiz does): ``com.atproto.server.createSession``
gives a short-lived access JWT and a refresh JWT; ``refreshSession`` rotates both;
``deleteSession`` revokes the refresh JWT.

Endpoints (https://docs.bsky.app/docs/api/ and the lexicons at
https://github.com/bluesky-social/atproto/tree/main/lexicons):

* ``com.atproto.server.createSession`` / ``refreshSession`` / ``deleteSession``
* ``com.atproto.repo.uploadBlob``, ``createRecord``, ``getRecord``, ``listRecords``,
  ``deleteRecord`` (the account's own repository, answered by its PDS)
* ``com.atproto.identity.resolveHandle`` (mention facets)
* ``app.bsky.actor.getProfile``, ``app.bsky.feed.getPosts``,
  ``app.bsky.notification.listNotifications``: AppView reads, which the PDS proxies to
  its configured AppView (https://docs.bsky.app/docs/advanced-guides/api-directory)
* posts, facets and embeds: https://docs.bsky.app/docs/advanced-guides/posts

Why httpx and not the ``atproto`` package's ``AsyncClient``: that client keeps and
refreshes its own session, while here the accounts service owns the tokens and the
engine needs every failure classified (sent or not, ``ratelimit-reset``); the XRPC calls
are plain JSON over HTTP. Facets are computed here (UTF-8 byte offsets, as the spec says).

Errors: XRPC ``{"error", "message"}``. ``ExpiredToken`` on a call is an expired access JWT
(refresh); ``ExpiredToken``/``InvalidToken`` on ``refreshSession`` (revoked, expired)
needs a reconnect; 429 ``RateLimitExceeded`` carries ``ratelimit-reset`` (epoch seconds).

Idempotency: the repository is the account's own and strongly consistent, so
``find_published`` lists the account's ``app.bsky.feed.post`` records and matches text and
thread structure (``reply.parent``) exactly, created at or after the first attempt.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import regex  # the stdlib re has no \p{P}

from tools.platforms.base import (
    AccessTokenExpired,
    Account,
    AccountMetrics,
    Author,
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
    ThreadPart,
    Tokens,
    TransientError,
    read_all,
)
from tools.platforms.http import classify_status, payload, retry_after
from tools.platforms.provider import HttpProvider, OwnItem, ProviderConfig, TimeCursor, assemble

__all__ = ["BlueskyConfig", "BlueskyProvider", "facets_for"]

NETWORK = "bluesky"
POST = "app.bsky.feed.post"
_URL = re.compile(rb"https?://[^\s\"'<>()\[\]]*[^\s\"'<>()\[\].,;:!?]")
_MENTION = re.compile(
    rb"(?:^|[\s(])(@([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)+))"
)
_TAG = regex.compile(r"(?:^|\s)[#＃](\S*[^\d\s\p{P}]\S*)")


@dataclass(frozen=True, slots=True)
class BlueskyConfig(ProviderConfig):
    """``service_url``: where sessions are created (bsky.social's entryway, or a PDS);
    calls then go to the PDS the account's DID document names."""

    service_url: str = "https://bsky.social"
    web_base: str = "https://bsky.app"

    @classmethod
    def for_base_url(cls, base_url: str, **kw: Any) -> BlueskyConfig:
        root = f"{base_url.rstrip('/')}/bluesky"
        return cls(service_url=root, web_base=f"{root}/web", **kw)


def classify_for(refreshing: bool = False, logging_in: bool = False):  # type: ignore[no-untyped-def]
    def classify(response: httpx.Response) -> PlatformError:
        body = payload(response)
        status = response.status_code
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        message = str(body.get("message") or error) if isinstance(body, dict) else f"HTTP {status}"
        kw: dict[str, Any] = {"network": NETWORK, "status": status, "code": error or None}
        if status == 429 or error == "RateLimitExceeded":
            return RateLimited(message, retry_after_seconds=retry_after(response, 300.0), **kw)
        if logging_in and status == 401:
            return PermanentError(message, **kw)
        if error in ("ExpiredToken", "InvalidToken"):
            cls = NeedsReconnect if refreshing or error == "InvalidToken" else AccessTokenExpired
            return cls(message, **kw)
        if error in (
            "AccountTakedown",
            "AccountDeactivated",
            "AuthenticationRequired",
            "AuthMissing",
        ):
            return NeedsReconnect(message, **kw)
        if status >= 500:
            return TransientError(message, **kw)
        return classify_status(response, NETWORK, message, error or None)

    return classify


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` of a JWT, read without verifying it (the PDS verifies it)."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _byte_slice(start: int, end: int) -> dict[str, int]:
    return {"byteStart": start, "byteEnd": end}


def facets_for(text: str, resolve: dict[str, str]) -> list[dict[str, Any]]:
    """Rich-text facets for links, mentions (handles in ``resolve`` -> DID) and hashtags,
    with UTF-8 byte offsets."""
    data = text.encode("utf-8")
    facets = []
    for m in _URL.finditer(data):
        facets.append(
            {
                "index": _byte_slice(m.start(), m.end()),
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": m.group().decode()}],
            }
        )
    for m in _MENTION.finditer(data):
        handle = m.group(2).decode().lower()
        did = resolve.get(handle)
        if did:
            facets.append(
                {
                    "index": _byte_slice(m.start(1), m.end(1)),
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                }
            )
    for m in _TAG.finditer(text):
        tag = regex.sub(r"\p{P}+$", "", m.group(1))  # trailing punctuation is not the tag's
        if not tag or len(tag) > 64:
            continue
        start = len(text[: m.start(1) - 1].encode("utf-8"))  # from the '#'
        end = len(text[: m.start(1) + len(tag)].encode("utf-8"))
        facets.append(
            {
                "index": _byte_slice(start, end),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    return sorted(facets, key=lambda f: f["index"]["byteStart"])


def _handles(text: str) -> list[str]:
    return sorted({m.group(2).decode().lower() for m in _MENTION.finditer(text.encode("utf-8"))})


def _rkey(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class BlueskyProvider(HttpProvider):
    network = NETWORK
    auth_kind = "app_password"
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

    def __init__(self, config: BlueskyConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, classify_for(), client)
        self.cfg = config

    def _xrpc(self, tokens: Tokens | None, method: str) -> str:
        base = (tokens.extra.get("pds") if tokens else None) or self.cfg.service_url
        return f"{base.rstrip('/')}/xrpc/{method}"

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def _get(self, tokens: Tokens, method: str, **params: Any) -> dict[str, Any]:
        return await self.http.json(
            "GET",
            self._xrpc(tokens, method),
            params=params,
            headers=self._auth(tokens.access_token),
        )

    async def _post(
        self, tokens: Tokens, method: str, body: dict[str, Any], **kw: Any
    ) -> dict[str, Any]:
        return await self.http.json(
            "POST",
            self._xrpc(tokens, method),
            json=body,
            headers=self._auth(tokens.access_token),
            **kw,
        )

    # --- connecting ------------------------------------------------------------------------

    async def login(self, identifier: str, password: str) -> Connection:
        session = await self.http.json(
            "POST",
            self._xrpc(None, "com.atproto.server.createSession"),
            json={"identifier": identifier.strip().lstrip("@"), "password": password},
            classify=classify_for(logging_in=True),
        )
        tokens = self._tokens(session)
        profile = await self._profile(tokens, session.get("handle", ""))
        return Connection(profile, tokens, (Account(profile, tokens),))

    def _tokens(self, session: dict[str, Any], previous: Tokens | None = None) -> Tokens:
        extra = dict(previous.extra) if previous else {}
        extra["handle"] = session.get("handle") or extra.get("handle", "")
        # Calls go to the PDS the DID document names (bsky.social is an entryway in front
        # of many PDSes); without a document in the answer, to the server that answered.
        extra["pds"] = (
            self._pds_of(session.get("didDoc")) or extra.get("pds") or self.cfg.service_url
        )
        return Tokens(
            access_token=session["accessJwt"],
            refresh_token=session["refreshJwt"],
            expires_at=jwt_expiry(session["accessJwt"]),
            refresh_expires_at=jwt_expiry(session["refreshJwt"]),
            scopes=("atproto",),
            account_id=session["did"],
            extra=extra,
        )

    @staticmethod
    def _pds_of(did_doc: Any) -> str | None:
        if not isinstance(did_doc, dict):
            return None
        for service in did_doc.get("service") or []:
            if service.get("id") in ("#atproto_pds", f"{did_doc.get('id')}#atproto_pds"):
                return str(service.get("serviceEndpoint") or "") or None
        return None

    async def _profile(self, tokens: Tokens, handle: str) -> Profile:
        did = self._account_id(tokens)
        try:
            info = await self._get(tokens, "app.bsky.actor.getProfile", actor=did)
        except PermanentError:
            info = {}  # a PDS with no AppView: the session still names the handle
        handle = info.get("handle") or handle
        return Profile(
            platform_id=did,
            username=handle,
            display_name=info.get("displayName"),
            avatar_url=info.get("avatar"),
            follower_count=info.get("followersCount"),
            url=f"{self.cfg.web_base}/profile/{handle or did}",
        )

    async def refresh(self, tokens: Tokens) -> Tokens:
        if not tokens.refresh_token:
            raise NeedsReconnect("no refresh token; log in again", network=NETWORK)
        session = await self.http.json(
            "POST",
            self._xrpc(tokens, "com.atproto.server.refreshSession"),
            headers=self._auth(tokens.refresh_token),
            classify=classify_for(refreshing=True),
        )
        return self._tokens(session, tokens)

    async def revoke(self, tokens: Tokens) -> None:
        if tokens.refresh_token:
            await self.http.request(
                "POST",
                self._xrpc(tokens, "com.atproto.server.deleteSession"),
                headers=self._auth(tokens.refresh_token),
                idempotent=True,
            )

    # --- publishing ------------------------------------------------------------------------

    async def _record(
        self, tokens: Tokens, text: str, media: Sequence[Media], link: str | None
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": _now()}
        resolved = {}
        for handle in _handles(text):
            try:
                body = await self._get(tokens, "com.atproto.identity.resolveHandle", handle=handle)
                resolved[handle] = body["did"]
            except PermanentError:
                continue  # not a Bluesky handle: it stays plain text
        facets = facets_for(text, resolved)
        if facets:
            record["facets"] = facets
        if media:
            images = []
            for item in media:
                blob = await self._upload(tokens, item)
                images.append({"alt": item.alt_text or "", "image": blob})
            record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
        elif link:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": link, "title": link, "description": ""},
            }
        return record

    async def _upload(self, tokens: Tokens, media: Media) -> dict[str, Any]:
        body = await self.http.json(
            "POST",
            self._xrpc(tokens, "com.atproto.repo.uploadBlob"),
            content=await read_all(media),
            headers={**self._auth(tokens.access_token), "Content-Type": media.mime_type},
            idempotent=True,  # a blob is not a post (and is content-addressed)
            timeout=self.cfg.upload_timeout,
        )
        return body["blob"]

    async def _create(self, tokens: Tokens, record: dict[str, Any]) -> dict[str, Any]:
        return await self._post(
            tokens,
            "com.atproto.repo.createRecord",
            {"repo": self._account_id(tokens), "collection": POST, "record": record},
        )

    def _url(self, tokens: Tokens, uri: str) -> str:
        who = tokens.extra.get("handle") or self._account_id(tokens)
        return f"{self.cfg.web_base}/profile/{who}/post/{_rkey(uri)}"

    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        record = await self._record(tokens, publication.text, publication.media, publication.link)
        created = await self._create(tokens, record)
        return Published(
            created["uri"], self._url(tokens, created["uri"]), extra={"cid": created["cid"]}
        )

    async def _ref(self, tokens: Tokens, uri: str) -> dict[str, str]:
        body = await self._get(
            tokens,
            "com.atproto.repo.getRecord",
            repo=self._account_id(tokens),
            collection=POST,
            rkey=_rkey(uri),
        )
        return {"uri": body["uri"], "cid": body["cid"]}

    async def _reply(
        self, tokens: Tokens, root_uri: str, parent_uri: str, text: str, media: Sequence[Media]
    ) -> str:
        record = await self._record(tokens, text, media, None)
        root = await self._ref(tokens, root_uri)
        parent = root if parent_uri == root_uri else await self._ref(tokens, parent_uri)
        record["reply"] = {"root": root, "parent": parent}
        return (await self._create(tokens, record))["uri"]

    async def _publish_reply(
        self, tokens: Tokens, root: Published, parent_id: str, part: ThreadPart
    ) -> str:
        return await self._reply(tokens, root.platform_post_id, parent_id, part.text, part.media)

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        return await self._reply(tokens, root.platform_post_id, root.platform_post_id, text, ())

    # --- finding, deleting -----------------------------------------------------------------

    async def _own_posts(self, tokens: Tokens, pages: int = 3) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(pages):
            params: dict[str, Any] = {
                "repo": self._account_id(tokens),
                "collection": POST,
                "limit": 100,
            }
            if cursor:
                params["cursor"] = cursor
            body = await self._get(tokens, "com.atproto.repo.listRecords", **params)
            records += body.get("records") or []
            cursor = body.get("cursor")
            if not cursor or not body.get("records"):
                break
        return records

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        items = []
        cids: dict[str, str] = {}
        for r in await self._own_posts(tokens):
            cids[r["uri"]] = r["cid"]
            value = r.get("value") or {}
            parent = ((value.get("reply") or {}).get("parent") or {}).get("uri")
            items.append(
                OwnItem(
                    r["uri"],
                    value.get("text", ""),
                    _when(value.get("createdAt")),
                    parent,
                    self._url(tokens, r["uri"]),
                )
            )
        roots = [i for i in items if i.parent_id is None]
        found = assemble(publication, roots, items, since=since)
        if found is None:
            return None
        return replace(found, extra={"cid": cids[found.platform_post_id]})

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None:
        await self._post(
            tokens,
            "com.atproto.repo.deleteRecord",
            {"repo": self._account_id(tokens), "collection": POST, "rkey": _rkey(platform_post_id)},
            idempotent=True,
        )

    # --- reading ---------------------------------------------------------------------------

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]:
        out: dict[str, PostMetrics] = {}
        ids = list(platform_post_ids)
        for start in range(0, len(ids), 25):
            body = await self._get(tokens, "app.bsky.feed.getPosts", uris=ids[start : start + 25])
            for post in body.get("posts") or []:
                out[post["uri"]] = PostMetrics(
                    platform_post_id=post["uri"],
                    likes=post.get("likeCount"),
                    comments=post.get("replyCount"),
                    shares=(post.get("repostCount") or 0) + (post.get("quoteCount") or 0),
                    saves=post.get("bookmarkCount"),
                )
        return out

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics:
        info = await self._get(tokens, "app.bsky.actor.getProfile", actor=self._account_id(tokens))
        return AccountMetrics(
            followers=info.get("followersCount"),
            following=info.get("followsCount"),
            posts=info.get("postsCount"),
        )

    async def public_account(self, tokens: Tokens, handle: str) -> PublicAccount:
        """``app.bsky.actor.getProfile`` takes any actor, a handle or a DID."""
        actor = handle.strip().lstrip("@")
        info = await self._get(tokens, "app.bsky.actor.getProfile", actor=actor)
        username = info.get("handle") or actor
        return PublicAccount(
            profile=Profile(
                platform_id=str(info.get("did") or actor),
                username=username,
                display_name=info.get("displayName"),
                avatar_url=info.get("avatar"),
                follower_count=info.get("followersCount"),
                url=f"{self.cfg.web_base}/profile/{username}",
            ),
            metrics=AccountMetrics(
                followers=info.get("followersCount"),
                following=info.get("followsCount"),
                posts=info.get("postsCount"),
            ),
        )

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage:
        """Mentions, replies and quotes from notifications newer than the cursor."""
        position = TimeCursor.parse(cursor)
        items: list[Mention] = []
        page: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 100}
            if page:
                params["cursor"] = page
            body = await self._get(tokens, "app.bsky.notification.listNotifications", **params)
            notes = body.get("notifications") or []
            older = False
            for note in notes:
                created = _when(note.get("indexedAt")) or datetime.now(UTC)
                if not position.is_new(note["uri"], created):
                    older = True
                    continue
                if note.get("reason") not in ("mention", "reply", "quote"):
                    continue
                record = note.get("record") or {}
                author = note.get("author") or {}
                parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
                items.append(
                    Mention(
                        id=note["uri"],
                        author=Author(
                            author.get("did", ""), author.get("handle"), author.get("displayName")
                        ),
                        text=record.get("text", ""),
                        created_at=created,
                        url=f"{self.cfg.web_base}/profile/"
                        f"{author.get('handle') or author.get('did')}/post/{_rkey(note['uri'])}",
                        parent_post_id=parent or note.get("reasonSubject"),
                        kind="reply" if note.get("reason") == "reply" else "mention",
                    )
                )
            page = body.get("cursor")
            if older or not page or not notes:
                break
        # listNotifications answers newest first, and indexedAt is to the millisecond: two
        # notifications in one millisecond keep the server's order only if the list is
        # reversed before the (stable) sort into oldest first.
        items.reverse()
        items.sort(key=lambda m: m.created_at)
        after = position.advance([(m.id, m.created_at) for m in items])
        return MentionsPage(tuple(items), after.encode() or cursor)
