"""A small Bluesky AppView over one PDS, so the reference PDS can answer ``app.bsky.*``.

On the network, profile counts, post counts and notifications come from an AppView that
indexes every repository from the firehose. This one indexes a single PDS by reading it on
each request: ``com.atproto.sync.listRepos``, then ``com.atproto.repo.listRecords`` of each
repository's posts, likes, reposts, follows and profile. That is enough for the three
reads the Bluesky provider makes, with the lexicons' response shapes:

* ``app.bsky.actor.getProfile`` - handle, display name, followers, follows, posts
* ``app.bsky.feed.getPosts`` - like, repost, reply and quote counts
* ``app.bsky.notification.listNotifications`` - mentions, replies, quotes, likes,
  reposts and follows of the requesting account

The PDS proxies these calls with a service-auth JWT (``iss`` the user's DID, ``aud`` this
AppView's DID, ``lxm`` the method); the AppView checks ``aud``, ``lxm`` and ``exp`` and
takes the viewer from ``iss``. It does not verify the signature (that needs the user's
key from the PLC directory): it only ever serves the one PDS in front of it.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["build_appview"]

_COLLECTIONS = (
    "app.bsky.feed.post",
    "app.bsky.feed.like",
    "app.bsky.feed.repost",
    "app.bsky.graph.follow",
    "app.bsky.actor.profile",
)


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def _claims(request: Request) -> dict[str, Any] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    try:
        part = header[7:].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return None


@dataclass
class Index:
    handles: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def all(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        return [(did, r) for did, cols in self.records.items() for r in cols.get(collection, [])]

    def author(self, did: str) -> dict[str, Any]:
        profile = next(iter(self.records.get(did, {}).get("app.bsky.actor.profile", [])), None)
        name = (profile or {}).get("value", {}).get("displayName", "")
        return {"did": did, "handle": self.handles.get(did, "handle.invalid"), "displayName": name}


async def _read(pds: str) -> Index:
    index = Index()
    async with httpx.AsyncClient(base_url=pds, timeout=10) as client:
        repos = (
            await client.get("/xrpc/com.atproto.sync.listRepos", params={"limit": 1000})
        ).json()
        for repo in repos.get("repos") or []:
            did = repo["did"]
            described = await client.get(
                "/xrpc/com.atproto.repo.describeRepo", params={"repo": did}
            )
            index.handles[did] = described.json().get("handle", "handle.invalid")
            index.records[did] = {}
            for collection in _COLLECTIONS:
                page = await client.get(
                    "/xrpc/com.atproto.repo.listRecords",
                    params={"repo": did, "collection": collection, "limit": 100},
                )
                index.records[did][collection] = page.json().get("records") or []
    return index


def _subject(value: dict[str, Any]) -> str:
    subject = value.get("subject")
    return subject.get("uri", "") if isinstance(subject, dict) else str(subject or "")


def build_appview(did: str) -> Starlette:
    """An AppView answering to service DID ``did``, for the PDS whose URL is set in
    ``app.state.pds_url`` (known only once the PDS, configured with this AppView's URL,
    has started)."""

    def viewer(request: Request, method: str) -> str | Response:
        claims = _claims(request)
        if claims is None:
            return _error(401, "AuthMissing", "Authentication Required")
        if claims.get("aud") not in (did, f"{did}#bsky_appview"):
            return _error(401, "BadJwtAudience", "jwt audience does not match service did")
        if claims.get("lxm") not in (None, method):
            return _error(401, "BadJwtLexiconMethod", "jwt lexicon method does not match")
        if int(claims.get("exp", 0)) < time.time():
            return _error(401, "JwtExpired", "jwt expired")
        return str(claims.get("iss", "")).split("#", 1)[0]

    async def get_profile(request: Request) -> Response:
        who = viewer(request, "app.bsky.actor.getProfile")
        if isinstance(who, Response):
            return who
        index = await _read(request.app.state.pds_url)
        actor = request.query_params.get("actor", "")
        subject = (
            actor
            if actor.startswith("did:")
            else next((d for d, h in index.handles.items() if h == actor), "")
        )
        if subject not in index.records:
            return _error(400, "InvalidRequest", "Profile not found")
        return JSONResponse(
            {
                **index.author(subject),
                "followersCount": sum(
                    1
                    for _, f in index.all("app.bsky.graph.follow")
                    if _subject(f["value"]) == subject
                ),
                "followsCount": len(index.records[subject].get("app.bsky.graph.follow", [])),
                "postsCount": len(index.records[subject].get("app.bsky.feed.post", [])),
            }
        )

    async def get_posts(request: Request) -> Response:
        who = viewer(request, "app.bsky.feed.getPosts")
        if isinstance(who, Response):
            return who
        index = await _read(request.app.state.pds_url)
        likes = Counter(_subject(r["value"]) for _, r in index.all("app.bsky.feed.like"))
        reposts = Counter(_subject(r["value"]) for _, r in index.all("app.bsky.feed.repost"))
        posts = index.all("app.bsky.feed.post")
        replies = Counter(
            ((r["value"].get("reply") or {}).get("parent") or {}).get("uri") for _, r in posts
        )
        quotes = Counter(
            ((r["value"].get("embed") or {}).get("record") or {}).get("uri") for _, r in posts
        )
        by_uri = {r["uri"]: (d, r) for d, r in posts}
        out = []
        for uri in request.query_params.getlist("uris"):
            if uri in by_uri:
                author, record = by_uri[uri]
                out.append(
                    {
                        "uri": uri,
                        "cid": record["cid"],
                        "author": index.author(author),
                        "record": record["value"],
                        "likeCount": likes[uri],
                        "repostCount": reposts[uri],
                        "replyCount": replies[uri],
                        "quoteCount": quotes[uri],
                        "indexedAt": record["value"].get("createdAt"),
                    }
                )
        return JSONResponse({"posts": out})

    async def list_notifications(request: Request) -> Response:
        me = viewer(request, "app.bsky.notification.listNotifications")
        if isinstance(me, Response):
            return me
        index = await _read(request.app.state.pds_url)
        mine = {r["uri"] for r in index.records.get(me, {}).get("app.bsky.feed.post", [])}
        notes = []
        for author, record in index.all("app.bsky.feed.post"):
            if author == me:
                continue
            value = record["value"]
            parent = ((value.get("reply") or {}).get("parent") or {}).get("uri")
            quoted = ((value.get("embed") or {}).get("record") or {}).get("uri")
            mentions = any(
                f.get("did") == me
                for facet in value.get("facets") or []
                for f in facet.get("features") or []
            )
            reason, subject = (
                ("reply", parent)
                if parent in mine
                else ("quote", quoted)
                if quoted in mine
                else ("mention", None)
                if mentions
                else (None, None)
            )
            if reason:
                notes.append((author, record, reason, subject))
        for collection, reason in (
            ("app.bsky.feed.like", "like"),
            ("app.bsky.feed.repost", "repost"),
        ):
            for author, record in index.all(collection):
                if author != me and _subject(record["value"]) in mine:
                    notes.append((author, record, reason, _subject(record["value"])))
        for author, record in index.all("app.bsky.graph.follow"):
            if _subject(record["value"]) == me:
                notes.append((author, record, "follow", None))
        notes.sort(key=lambda n: n[1]["value"].get("createdAt", ""), reverse=True)
        limit = int(request.query_params.get("limit", "50"))
        return JSONResponse(
            {
                "notifications": [
                    {
                        "uri": record["uri"],
                        "cid": record["cid"],
                        "author": index.author(author),
                        "reason": reason,
                        "reasonSubject": subject,
                        "record": record["value"],
                        "isRead": False,
                        "indexedAt": record["value"].get("createdAt"),
                    }
                    for author, record, reason, subject in notes[:limit]
                ]
            }
        )

    app = Starlette(
        routes=[
            Route("/xrpc/app.bsky.actor.getProfile", get_profile),
            Route("/xrpc/app.bsky.feed.getPosts", get_posts),
            Route("/xrpc/app.bsky.notification.listNotifications", list_notifications),
        ]
    )
    app.state.pds_url = None
    return app
