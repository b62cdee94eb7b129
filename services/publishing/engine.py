"""The publishing engine: a claimed post is published to each of its targets, exactly once.

Exactly once rests on three rules:

1. One holder. A post is claimed by compare-and-set (``persistence.publish_claims``) with a
   token and a lease the holder keeps renewing; every write of the holder is guarded by its
   token. A dead or stalled holder's lease ends and any worker takes the post over; the old
   holder can then write nothing.
2. Say before you call. A target is marked ``publishing`` (attempt counted, first attempt's
   time kept) *before* the network is called, and ``published`` after. A holder that finds
   a target still ``publishing`` therefore knows the last call's outcome is unknown (the
   worker was killed mid-call, or the answer never came: ``UnknownOutcome``), and asks the
   network first (``provider.find_published`` since the first attempt): found, it records
   it (and finishes a partly made thread or first comment with ``resume``); not found, it
   publishes. Nothing is posted twice and nothing is lost.
3. Each target alone. A target's failure never stops the others; the post ends
   ``published``, ``partially_published`` or ``failed`` when no target is left waiting.

Retries follow ``policy.RetryPolicy`` (Retry-After for 429s, jittered backoff for 5xx and
timeouts, fail fast for permanent errors). The networks' documented budgets are spent
before each call (``budgets``). Between attempts the post holds no token and its lease is
the time the next target is due, so the tick picks it up again then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bson import ObjectId

from persistence import metrics
from persistence.errors import NotFound
from persistence.ids import utcnow
from persistence.media import MediaStore
from persistence.models import Post
from persistence.models.content import PlatformTarget
from persistence.publish_claims import claim, due, guarded_set, new_token
from persistence.ratelimit import RateLimiter
from services import events as event_types
from services.publishing.budgets import take_budget
from services.publishing.media import MediaUnavailable, load_media
from services.publishing.policy import Decision, RetryPolicy
from services.social_accounts.access_port import AccountAccess, OpenAccount
from services.workspace.rules import target_first_comment, target_thread
from tools.platform_rules import compose
from tools.platforms.base import (
    NeedsReconnect,
    PlatformError,
    Publication,
    Published,
    RateLimited,
    ThreadPart,
)

log = logging.getLogger(__name__)

__all__ = ["EventSink", "LostClaim", "PublishConfig", "Publisher", "Settled"]

Settled = Literal["published", "partially_published", "failed", "waiting", "lost"]


class EventSink(Protocol):
    """Where settled posts are told (``services.events.EventBus``)."""

    async def emit(
        self, org_id: ObjectId, event_type: str, data: dict[str, Any] | None = None, **kw: Any
    ) -> Any: ...


class LostClaim(Exception):
    """This pass no longer holds the post (its lease was taken over): stop writing."""


@dataclass(frozen=True, slots=True)
class PublishConfig:
    """``lease_seconds``: how long a holder may go silent before others take its posts over
    (renewed every third of it while it works). ``check_slack_seconds``: how far before the
    first attempt ``find_published`` looks, for clocks that disagree."""

    lease_seconds: float = 120.0
    check_slack_seconds: float = 5.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Publisher:
    """Claims due posts and publishes them. One per process; safe to run many at once."""

    def __init__(
        self,
        db: Any,
        media: MediaStore,
        access: AccountAccess,
        events: EventSink,
        limiter: RateLimiter,
        *,
        config: PublishConfig | None = None,
        worker: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.posts = db[Post.collection]
        self.media = media
        self.access = access
        self.events = events
        self.limiter = limiter
        self.config = config or PublishConfig()
        self.worker = worker or default_worker_name()
        self.clock = clock
        # Per claim token, the post as this pass has written it: every write of a holder is
        # guarded by its token, so nobody else changes the post meanwhile, and the pass can
        # settle from what it wrote instead of reading the post back.
        self._held: dict[str, dict[str, Any]] = {}

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.config.lease_seconds)

    # --- claiming ----------------------------------------------------------------------------

    async def due(self, limit: int) -> list[dict[str, Any]]:
        """Due posts as read (not claimed), at most ``limit``."""
        return await due(self.posts, self.clock(), limit)

    async def claim(self, raw: dict[str, Any]) -> Post | None:
        """Claim one post read by :meth:`due`; None if another worker (or an edit) won."""
        won = await claim(
            self.posts, raw, token=new_token(), worker=self.worker, lease=self.lease,
            now=self.clock(),
        )  # fmt: skip
        return Post.from_mongo(won) if won else None

    # --- publishing a claimed post --------------------------------------------------------

    async def publish(self, post: Post) -> Settled:
        """Publish every target of ``post`` (claimed by :meth:`claim`) that is due now, then
        settle the post: its final status, or waiting for a target's retry."""
        if post.publishing is None or not post.publishing.token:
            raise ValueError("claim the post first (Publisher.claim)")
        token = post.publishing.token
        self._held[token] = post.to_mongo()
        keeper = asyncio.create_task(self._keep_lease(post, token), name=f"lease:{post.id}")
        try:
            now = self.clock()
            due_targets = [
                (index, target)
                for index, target in enumerate(post.platforms)
                if target.status in ("pending", "publishing")
                and (target.next_attempt_at is None or target.next_attempt_at <= now)
            ]
            results = await asyncio.gather(
                *(self._target(post, token, i, t) for i, t in due_targets),
                return_exceptions=True,
            )
            # A lost claim first (stop quietly); any other error leaves the post to be taken
            # over when its lease ends.
            errors = [r for r in results if isinstance(r, BaseException)]
            lost = [e for e in errors if isinstance(e, LostClaim)]
            if errors:
                raise (lost or errors)[0]
            return await self._settle(post, token)
        except LostClaim:
            log.warning("post %s was taken over by another worker; this pass stops", post.id)
            return "lost"
        finally:
            self._held.pop(token, None)
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_lease(self, post: Post, token: str) -> None:
        every = self.config.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            renewed = await guarded_set(
                self.posts, post.organization_id, post.id, token,
                {"publishing.leaseUntil": self.clock() + self.lease},
            )  # fmt: skip
            if not renewed:
                return

    async def _write(self, post: Post, token: str, index: int, changes: dict[str, Any]) -> None:
        prefix = f"platforms.{index}."
        paths = {prefix + key: value for key, value in changes.items()}
        ok = await guarded_set(self.posts, post.organization_id, post.id, token, paths)
        if not ok:
            raise LostClaim(str(post.id))
        held = self._held.get(token)
        if held is not None:
            for path, value in paths.items():
                _set_path(held, path, value)

    # --- one target ----------------------------------------------------------------------------

    def _publication(
        self, post: Post, target: PlatformTarget, media: list[Any], thread: list[ThreadPart]
    ) -> Publication:
        content = post.content
        text = target.text
        if text is None:
            text = compose(content.text, content.hashtags, target.platform)
        options = target.platform_data.get("options") or {}
        return Publication(
            text=text,
            key=f"{post.id}:{target.social_account_id}",
            title=content.title,
            link=content.links[0] if content.links else None,
            media=tuple(media),
            thread=tuple(thread),
            first_comment=target_first_comment(post, target),
            options={str(k): str(v) for k, v in dict(options).items()},
        )

    async def _thread(self, post: Post, target: PlatformTarget) -> list[ThreadPart]:
        """The target's thread parts (its own or the post's), their media read from the store."""
        return [
            ThreadPart(
                part.text,
                tuple(await load_media(self.media, post.organization_id, part.media_files)),
            )
            for part in target_thread(post, target)
        ]

    async def _target(self, post: Post, token: str, index: int, target: PlatformTarget) -> None:
        org = post.organization_id
        now = self.clock()
        try:
            opened = await self.access.open(org, target.social_account_id)
        except NeedsReconnect as exc:  # already marked by the access
            await self._fail(post, token, index, f"reconnect your account: {exc.reason}", False)
            return
        except NotFound:
            await self._fail(post, token, index, "the account is no longer connected", False)
            return
        except PlatformError as exc:  # refreshing the tokens failed for now
            decision = self.config.policy.decide(exc, target.attempts, now)
            await self._apply(post, token, index, target, decision, None, counted=False)
            return
        try:
            media = await load_media(self.media, org, post.content.media_files)
            thread = await self._thread(post, target)
        except MediaUnavailable as exc:
            await self._fail(post, token, index, str(exc), False)
            return
        publication = self._publication(post, target, media, thread)
        resume = _stored_partial(target)

        if target.status == "publishing":
            # The last call's outcome is unknown: look before publishing again.
            found = await self._look(post, token, index, target, opened, publication)
            if found is _STOP:
                return
            if isinstance(found, Published):
                found = _furthest(resume, found)
                if found.is_complete(publication):
                    await self._published(post, token, index, found)
                    return
                resume = found
            if target.attempts >= self.config.policy.max_attempts:
                message = (
                    f"no answer from the network after {target.attempts} attempts, and the "
                    f"post is not on it: {target.error_message or 'no reason given'}"
                )
                await self._fail(post, token, index, message, True, partial=resume)
                return

        wait = await take_budget(self.limiter, target.platform, str(target.social_account_id))
        if wait > 0:
            changes: dict[str, Any] = {
                "status": "pending",
                "nextAttemptAt": now + timedelta(seconds=wait),
                "errorMessage": f"waiting for the {target.platform} rate budget",
                "retryable": True,
            }
            changes.update(_partial_changes(resume))
            await self._write(post, token, index, changes)
            return

        attempts = target.attempts + 1
        await self._write(
            post,
            token,
            index,
            {
                "status": "publishing",
                "attempts": attempts,
                "firstAttemptAt": target.first_attempt_at or now,
                "nextAttemptAt": None,
                **_partial_changes(resume),
                **_first_step(publication, resume),
            },
        )

        async def progress(made: Published, step: str) -> None:
            # Before each further part: what exists, and the call whose outcome is unknown
            # until the next write, so that a worker killed mid-thread loses no part's id.
            await self._write(
                post, token, index, {**_partial_changes(made), "platformData.inFlight": step}
            )

        try:
            result = await opened.provider.publish(
                opened.tokens, publication, resume=resume, progress=progress
            )
        except LostClaim:
            raise
        except PlatformError as exc:
            decision = self.config.policy.decide(exc, attempts, self.clock())
            await self._apply(post, token, index, target, decision, exc.partial or resume)
        except Exception as exc:  # a failure of ours mid-call: the post may exist
            log.exception("publishing post %s to %s failed", post.id, target.platform)
            decision = self.config.policy.decide(exc, attempts, self.clock())
            await self._apply(post, token, index, target, decision, resume)
        else:
            await self._published(post, token, index, result)

    async def _look(
        self,
        post: Post,
        token: str,
        index: int,
        target: PlatformTarget,
        opened: OpenAccount,
        publication: Publication,
    ) -> Published | object | None:
        since = (target.first_attempt_at or self.clock()) - timedelta(
            seconds=self.config.check_slack_seconds
        )
        try:
            return await opened.provider.find_published(opened.tokens, publication, since)
        except NeedsReconnect as exc:
            decision = self.config.policy.decide(exc, target.attempts, self.clock())
        except PlatformError as exc:
            # A read: repeating it is safe, so a failure is only a reason to look again later
            # (the outcome stays unknown), until the lookups too are spent.
            lookups = int(target.platform_data.get("lookups") or 0) + 1
            policy = self.config.policy
            if lookups >= policy.max_attempts:
                decision = Decision(
                    f"could not check the network for the post: {exc.message}", retryable=True
                )
            else:
                wait = (
                    exc.retry_after_seconds
                    if isinstance(exc, RateLimited)
                    else policy.backoff(lookups)
                )
                retry_at = self.clock() + timedelta(seconds=wait)
                decision = Decision(exc.message, retry_at, retryable=True, unknown=True)
            await self._write(post, token, index, {"platformData.lookups": lookups})
        await self._apply(post, token, index, target, decision, None, counted=False)
        return _STOP

    async def _apply(
        self,
        post: Post,
        token: str,
        index: int,
        target: PlatformTarget,
        decision: Decision,
        partial: Published | None,
        *,
        counted: bool = True,
    ) -> None:
        if decision.reconnect:
            try:
                await self.access.mark_needs_reconnect(
                    post.organization_id, target.social_account_id, decision.message
                )
            except Exception:  # the target still fails with the reason; the mark is a courtesy
                log.exception("could not mark account %s", target.social_account_id)
        if decision.retry_at is None:
            await self._fail(post, token, index, decision.message, decision.retryable,
                             partial=partial)  # fmt: skip
            return
        status = "publishing" if decision.unknown else "pending"
        if not counted and target.status == "publishing":
            status = "publishing"  # still unknown: nothing was asked of the network this time
        await self._write(
            post,
            token,
            index,
            {
                "status": status,
                "nextAttemptAt": decision.retry_at,
                "errorMessage": decision.message,
                "retryable": True,
                **_partial_changes(partial),
            },
        )

    async def _published(self, post: Post, token: str, index: int, result: Published) -> None:
        await self._write(
            post,
            token,
            index,
            {
                "status": "published",
                "platformPostId": result.platform_post_id,
                "url": result.url,
                "publishedAt": self.clock(),
                "errorMessage": None,
                "retryable": None,
                "nextAttemptAt": None,
                **_partial_changes(result, root=False),
                # No call of this target is in flight any more (set only for threads and
                # first comments, so a plain post's document gains no field).
                **({"platformData.inFlight": None} if _has_extras(result) else {}),
            },
        )

    async def _fail(
        self,
        post: Post,
        token: str,
        index: int,
        message: str,
        retryable: bool,
        *,
        partial: Published | None = None,
    ) -> None:
        await self._write(
            post,
            token,
            index,
            {
                "status": "failed",
                "errorMessage": message,
                "retryable": retryable,
                "nextAttemptAt": None,
                **_partial_changes(partial),
            },
        )

    # --- the post's end ----------------------------------------------------------------------

    async def _settle(self, post: Post, token: str) -> Settled:
        # The post as this pass wrote it (see ``_held``); the guarded write below still
        # finds out if the claim was lost meanwhile.
        current = Post.from_mongo(self._held[token])
        targets = current.platforms
        now = self.clock()
        waiting = [t for t in targets if t.status in ("pending", "publishing")]
        if waiting:
            next_at = min(t.next_attempt_at or now for t in waiting)
            if not await guarded_set(
                self.posts, post.organization_id, post.id, token,
                {"publishing.token": None, "publishing.leaseUntil": next_at},
            ):  # fmt: skip
                raise LostClaim(str(post.id))
            return "waiting"
        published = [t for t in targets if t.status == "published"]
        failed = [t for t in targets if t.status == "failed"]
        status: Settled
        if published and not failed:
            status = "published"
        elif published:
            status = "partially_published"
        else:
            status = "failed"
        changes: dict[str, Any] = {"scheduling.status": status}
        if published:
            changes["scheduling.publishedAt"] = max(t.published_at or now for t in published)
        if not await guarded_set(
            self.posts, post.organization_id, post.id, token, changes, unset=("publishing",)
        ):
            raise LostClaim(str(post.id))
        await self._emit(current, status)
        return status

    async def _emit(self, post: Post, status: Settled) -> None:
        for target in post.platforms:
            metrics.PUBLISH_OUTCOMES.labels(target.platform, target.status).inc()
        targets = [
            {
                "platform": t.platform,
                "socialAccountId": str(t.social_account_id),
                "status": t.status,
                "platformPostId": t.platform_post_id,
                "url": t.url,
                "error": t.error_message,
            }
            for t in post.platforms
        ]
        data = {"postId": str(post.id), "status": status, "targets": targets}
        if not post.platforms:
            data["error"] = "the post has no account to publish to"
        event = event_types.POST_PUBLISHED if status == "published" else event_types.POST_FAILED
        try:
            await self.events.emit(
                post.organization_id,
                event,
                data,
                user_id=post.user_id,
                resource=("post", str(post.id)),
                actor=("system", "publishing"),
            )
        except Exception:  # the post is settled; a lost notification must not undo it
            log.exception("could not emit %s for post %s", event, post.id)


_STOP = object()


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """``$set`` of one dotted path (``platforms.0.platformData.partIds``) on a local copy."""
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _stored_partial(target: PlatformTarget) -> Published | None:
    """What an earlier attempt already made of this target (its root post and parts)."""
    if not target.platform_post_id:
        return None
    data = target.platform_data
    return Published(
        target.platform_post_id,
        target.url,
        tuple(data.get("partIds") or ()),
        data.get("firstCommentId"),
    )


def _furthest(stored: Published | None, found: Published) -> Published:
    """What the network showed, or what this target recorded itself where that goes further:
    a listing may lag behind (or page past) a reply whose id the engine already holds, and a
    part recorded as made must never be made again."""
    if stored is None:
        return found
    if stored.platform_post_id != found.platform_post_id:
        return stored  # the root this target made, by its recorded id; not a look-alike
    parts = found.part_ids if len(found.part_ids) >= len(stored.part_ids) else stored.part_ids
    return replace(
        found, part_ids=parts, first_comment_id=found.first_comment_id or stored.first_comment_id
    )


def _first_step(publication: Publication, resume: Published | None) -> dict[str, Any]:
    """For a thread or first comment, the step this attempt calls first (the post itself
    unless it exists), recorded with the ``publishing`` mark before the call."""
    if resume is not None or not (publication.thread or publication.first_comment):
        return {}
    return {"platformData.inFlight": "post"}


def _has_extras(made: Published) -> bool:
    return bool(made.part_ids or made.first_comment_id)


def _partial_changes(found: Published | None, *, root: bool = True) -> dict[str, Any]:
    if found is None:
        return {}
    changes: dict[str, Any] = {
        "platformData.partIds": list(found.part_ids),
        "platformData.firstCommentId": found.first_comment_id,
    }
    if root:
        changes["platformPostId"] = found.platform_post_id
        changes["url"] = found.url
    return changes
