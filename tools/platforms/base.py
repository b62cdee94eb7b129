"""The one interface every social network provider implements, its typed values and errors.

Three callers shape it:

* the accounts API connects an account (``authorization_url`` -> consent -> ``exchange_code``,
  or ``login`` for Bluesky's app passwords), keeps its tokens fresh (``refresh``) and
  disconnects it (``revoke``). Tokens here are plain text; encryption at rest is the accounts
  service's job.
* the publishing engine calls ``publish`` with one target's :class:`Publication`, sorts the
  error it gets by class (retry later, give up, ask the user to reconnect) and, after an
  :class:`UnknownOutcome`, calls ``find_published`` before trying again, so that a post is
  never made twice; a partly made thread or a missing first comment is finished with
  ``publish(..., resume=found)``.
* a sync job reads ``post_metrics``, ``account_metrics`` and ``mentions``.

Every failure is one of five classes (:class:`RateLimited`, :class:`TransientError`,
:class:`UnknownOutcome`, :class:`PermanentError`, :class:`NeedsReconnect`), each carrying the
network's own message. Each provider parses its network's error payload; the transport
failures (timeouts, dropped connections) are classified once, in ``tools.platforms.http``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tools.platforms.limits import Limits

__all__ = [
    "AccessTokenExpired",
    "Account",
    "AccountMetrics",
    "AuthKind",
    "Author",
    "AuthorizationUrl",
    "Capability",
    "Connection",
    "Media",
    "MediaReader",
    "Mention",
    "MentionsPage",
    "NeedsReconnect",
    "PermanentError",
    "Pkce",
    "PlatformError",
    "PostMetrics",
    "Profile",
    "Progress",
    "PublicAccount",
    "Publication",
    "Published",
    "RateLimited",
    "SocialProvider",
    "ThreadPart",
    "Tokens",
    "TransientError",
    "UnknownOutcome",
    "Unsupported",
    "new_pkce",
]

AuthKind = Literal["oauth2", "app_password"]
#: What a network can do beyond the common core; the engine and the UI read these.
Capability = Literal[
    "text_only",  # a post may have no media
    "link",  # a link card / link attachment
    "thread",  # further parts published as replies
    "first_comment",  # a comment under the post, by the account
    "title",  # a title beside the text (YouTube)
    "delete",
    "post_metrics",
    "account_metrics",
    "mentions",
]


# --- errors ------------------------------------------------------------------------------


class PlatformError(Exception):
    """A network call failed. ``message`` is the network's own words (never a secret);
    ``status`` the HTTP status, ``code`` the network's error code, when there were any;
    ``partial`` what a failed ``publish`` had already made."""

    def __init__(
        self,
        message: str,
        *,
        network: str,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{network}: {message}")
        self.message = message
        self.network = network
        self.status = status
        self.code = code
        #: Set by ``publish`` when the error came after the post itself was made: what
        #: exists (pass it as ``resume`` to finish the thread or the first comment).
        self.partial: Published | None = None


class RateLimited(PlatformError):
    """Too many requests: try again after ``retry_after_seconds``."""

    def __init__(self, message: str, *, retry_after_seconds: float, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after_seconds = max(0.0, float(retry_after_seconds))


class TransientError(PlatformError):
    """The network failed (5xx, connection refused, a timeout before sending, or any
    failure of a call that is safe to repeat) and nothing was made: retry with backoff."""


class UnknownOutcome(PlatformError):
    """A write was sent and its answer never came (timeout, dropped connection, gateway
    timeout): it may have been applied. Call ``find_published`` before retrying."""


class PermanentError(PlatformError):
    """The network refused the request itself (content rejected, media invalid, duplicate,
    missing permission): retrying cannot help; show ``message`` to the user."""


class Unsupported(PermanentError):
    """The network has no such operation (TikTok's API has no delete and no comments)."""


class NeedsReconnect(PlatformError):
    """The tokens no longer work and cannot be refreshed (revoked, expired refresh token,
    password changed): the user must connect the account again. ``reason`` is the
    network's own explanation."""

    @property
    def reason(self) -> str:
        return self.message


class AccessTokenExpired(NeedsReconnect):
    """The access token expired: ``refresh`` may still work. If ``refresh`` then raises
    :class:`NeedsReconnect`, the account must be reconnected."""


# --- connecting ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pkce:
    """An OAuth PKCE pair (RFC 7636, S256): keep ``verifier``, send ``challenge``."""

    verifier: str
    challenge: str
    method: str = "S256"


def new_pkce() -> Pkce:
    """A fresh PKCE verifier (43 URL-safe characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return Pkce(verifier, challenge)


@dataclass(frozen=True, slots=True)
class AuthorizationUrl:
    """Where to send the user, and the scopes that page asks for."""

    url: str
    scopes: tuple[str, ...]
    uses_pkce: bool


@dataclass(frozen=True, slots=True)
class Tokens:
    """Credentials for one account, in plain text.

    ``account_id`` is the network id the tokens act for (X user id, Page id, Instagram
    user id, LinkedIn person or organization URN, Bluesky DID...): publishing needs it.
    ``extra`` holds what a network needs beside them (the Page a Page token belongs to...).
    The repr never shows a token.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    account_id: str | None = None
    refresh_expires_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def for_account(self, account_id: str, **extra: str) -> Tokens:
        """The same credentials acting for another identity (a page, an organization)."""
        return replace(self, account_id=account_id, extra={**self.extra, **extra})


@dataclass(frozen=True, slots=True)
class Profile:
    """An identity on a network: a member, a Page, an organization, a channel."""

    platform_id: str
    username: str
    display_name: str | None = None
    avatar_url: str | None = None
    follower_count: int | None = None
    kind: Literal["user", "page", "organization", "channel", "business"] = "user"
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """One identity Chorus can post as, with the tokens to use for it."""

    profile: Profile
    tokens: Tokens


@dataclass(frozen=True, slots=True)
class Connection:
    """What connecting yields: the person who consented, their own tokens, and every account
    they may post as (on X just themselves; on Facebook their Pages; on LinkedIn themselves
    and the organizations they administer)."""

    user: Profile
    tokens: Tokens
    accounts: tuple[Account, ...]


# --- publishing ------------------------------------------------------------------------------

ChunkSource = Callable[[], AsyncIterator[bytes]]


@dataclass(frozen=True, slots=True)
class Media:
    """A media file to upload: its type, size, and a way to read it.

    ``read()`` opens a fresh stream each time it is called (an upload may be retried).
    ``public_url`` is where the network can fetch the file itself, for the networks that
    only take URLs (Instagram images, TikTok photos); it must be reachable from the network.
    """

    mime_type: str
    size: int
    read: ChunkSource = field(repr=False)
    alt_text: str | None = None
    public_url: str | None = None
    duration_seconds: float | None = None
    filename: str = "media"

    @property
    def kind(self) -> Literal["image", "video", "gif"]:
        if self.mime_type == "image/gif":
            return "gif"
        return "video" if self.mime_type.startswith("video/") else "image"

    @classmethod
    def from_bytes(cls, data: bytes, mime_type: str, **kw: object) -> Media:
        """Media held in memory (tests, small images)."""

        async def read() -> AsyncIterator[bytes]:
            yield data

        return cls(mime_type=mime_type, size=len(data), read=read, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_loader(
        cls, load: Callable[[], Awaitable[bytes]], mime_type: str, size: int, **kw: object
    ) -> Media:
        """Media read on demand, e.g. ``lambda: store.get(org_id, key)`` for a MediaStore."""

        async def read() -> AsyncIterator[bytes]:
            yield await load()

        return cls(mime_type=mime_type, size=size, read=read, **kw)  # type: ignore[arg-type]


async def read_chunks(media: Media, chunk_size: int) -> AsyncIterator[bytes]:
    """``media`` re-cut into chunks of exactly ``chunk_size`` bytes (the last may be shorter),
    whatever sizes its source yields."""
    buffer = bytearray()
    async for piece in media.read():
        buffer += piece
        while len(buffer) >= chunk_size:
            yield bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
    if buffer:
        yield bytes(buffer)


class MediaReader:
    """Reads ``media`` front to back in pieces whose sizes the network decides (Facebook's
    upload offsets, LinkedIn's byte ranges)."""

    def __init__(self, media: Media) -> None:
        self._stream = media.read()
        self._buffer = bytearray()
        self._done = False

    async def read(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer only at the end)."""
        while len(self._buffer) < n and not self._done:
            try:
                self._buffer += await anext(self._stream)
            except StopAsyncIteration:
                self._done = True
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out


async def read_all(media: Media) -> bytes:
    out = bytearray()
    async for piece in media.read():
        out += piece
    return bytes(out)


@dataclass(frozen=True, slots=True)
class ThreadPart:
    """A further part of a thread (X, Bluesky), published as a reply to the part before."""

    text: str
    media: tuple[Media, ...] = ()


@dataclass(frozen=True, slots=True)
class Publication:
    """What one target publishes.

    ``key`` is stable across retries of the same target (the engine's post and target ids):
    networks with an idempotency mechanism use it, the others ignore it. ``options`` holds
    per-network choices (TikTok ``privacy_level``, YouTube ``privacy_status``...); each
    provider documents the ones it reads.
    """

    text: str
    key: str
    title: str | None = None
    link: str | None = None
    media: tuple[Media, ...] = ()
    thread: tuple[ThreadPart, ...] = ()
    first_comment: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Published:
    """A publication on the network: the post's id and URL, then the ids of the thread
    parts after the first, and of the first comment."""

    platform_post_id: str
    url: str | None = None
    part_ids: tuple[str, ...] = ()
    first_comment_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def is_complete(self, publication: Publication) -> bool:
        """Whether every part and the first comment of ``publication`` exist."""
        comment_done = publication.first_comment is None or self.first_comment_id is not None
        return len(self.part_ids) >= len(publication.thread) and comment_done


#: Told by ``publish`` before each further call of a thread or first comment: what exists so
#: far, and the step about to be called ("thread part 2", "first comment"). The publishing
#: engine stores both, so a worker killed mid-thread leaves a record of every part already
#: made and of the one call whose outcome is unknown. An exception it raises stops the
#: publication there (nothing more is called).
Progress = Callable[[Published, str], Awaitable[None]]


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostMetrics:
    """One post's numbers; None where the network does not give that number."""

    platform_post_id: str
    impressions: int | None = None
    reach: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    clicks: int | None = None
    video_views: int | None = None


@dataclass(frozen=True, slots=True)
class AccountMetrics:
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    impressions: int | None = None
    reach: int | None = None


@dataclass(frozen=True, slots=True)
class PublicAccount:
    """Another account's public identity and numbers (a competitor), looked up by handle."""

    profile: Profile
    metrics: AccountMetrics


@dataclass(frozen=True, slots=True)
class Author:
    platform_id: str
    username: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A mention of the account or a comment on one of its posts."""

    id: str
    author: Author
    text: str
    created_at: datetime
    url: str | None = None
    parent_post_id: str | None = None
    kind: Literal["mention", "comment", "reply"] = "mention"
    metrics: PostMetrics | None = None


@dataclass(frozen=True, slots=True)
class MentionsPage:
    """Mentions newer than the cursor given, oldest first, and the cursor to pass next time
    (opaque; None only if the network gave nothing to continue from)."""

    items: tuple[Mention, ...]
    next_cursor: str | None


# --- the interface -------------------------------------------------------------------------------


@runtime_checkable
class SocialProvider(Protocol):
    """One social network. Implementations live in ``tools/platforms/<network>.py``."""

    network: str  # the data model's Platform name ("twitter" is X)
    auth_kind: AuthKind
    capabilities: frozenset[Capability]

    @property
    def limits(self) -> Limits: ...

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        """The consent page URL. ``code_challenge`` (S256) is sent where the network
        supports PKCE (``AuthorizationUrl.uses_pkce``)."""
        ...

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        """Trade the code from the consent redirect for tokens and the accounts."""
        ...

    async def login(self, identifier: str, password: str) -> Connection:
        """Connect with a handle and an app password (``auth_kind == "app_password"``)."""
        ...

    async def refresh(self, tokens: Tokens) -> Tokens:
        """New tokens; :class:`NeedsReconnect` with the network's reason if it refuses."""
        ...

    async def revoke(self, tokens: Tokens) -> None: ...

    async def publish(
        self,
        tokens: Tokens,
        publication: Publication,
        *,
        resume: Published | None = None,
        progress: Progress | None = None,
    ) -> Published:
        """Publish; with ``resume`` (from ``find_published``), only what is still missing.
        ``progress`` is told what exists before each thread part and the first comment."""
        ...

    async def find_published(
        self, tokens: Tokens, publication: Publication, since: datetime
    ) -> Published | None:
        """The post this publication already made at or after ``since``, if any."""
        ...

    async def delete(self, tokens: Tokens, platform_post_id: str) -> None: ...

    async def post_metrics(
        self, tokens: Tokens, platform_post_ids: Sequence[str]
    ) -> dict[str, PostMetrics]: ...

    async def account_metrics(self, tokens: Tokens) -> AccountMetrics: ...

    async def audience_demographics(self, tokens: Tokens) -> dict[str, dict[str, float]]:
        """Who follows the account: ``{dimension: {bucket: share}}`` (``tools.platforms.
        audience``), empty when the network has none to give yet (too few followers);
        :class:`Unsupported` where the network's API reports no audience demographics."""
        ...

    async def public_account(self, tokens: Tokens, handle: str) -> PublicAccount:
        """Any account's public profile and counts by its handle, read with the tokens of an
        account of ours (:class:`Unsupported` where the network has no such lookup;
        :class:`PermanentError` when no account has that handle)."""
        ...

    async def mentions(self, tokens: Tokens, cursor: str | None = None) -> MentionsPage: ...

    async def aclose(self) -> None: ...
