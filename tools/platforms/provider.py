"""What the providers share: configuration, checks before publishing, and the publish flow.

A publication is a root post, then thread parts (each a reply to the part before), then a
first comment. :meth:`HttpProvider.publish` runs that flow once for every network, so
``resume`` (what ``find_published`` found after an unknown outcome) works alike everywhere:
it skips what exists and makes only what is missing. An error raised after the root exists
carries what was made so far in ``error.partial``, for the engine to store.

:func:`assemble` is the matching half: from the account's recent items (posts, replies,
comments) it rebuilds the :class:`Published` of a publication by exact text, so each
provider's ``find_published`` only has to list its network's items.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import quote, unquote

import httpx

from tools.platform_rules import comment_max_length, post_length, validate_post
from tools.platforms.base import (
    AuthKind,
    AuthorizationUrl,
    Capability,
    Connection,
    Media,
    PermanentError,
    PlatformError,
    Progress,
    PublicAccount,
    Publication,
    Published,
    ThreadPart,
    Tokens,
    Unsupported,
)
from tools.platforms.http import Classifier, Transport
from tools.platforms.limits import Limits, limits_for, media_problems

__all__ = ["HttpProvider", "OwnItem", "ProviderConfig", "TimeCursor", "assemble", "same_text"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """What every provider's configuration holds; each network's config adds its URLs.

    ``poll_interval``/``poll_timeout`` pace the waits for media processing (X video STATUS,
    Instagram containers, TikTok publish status, LinkedIn video state).
    """

    client_id: str = ""
    client_secret: str = ""
    timeout: float = 30.0
    upload_timeout: float = 120.0
    poll_interval: float = 2.0
    poll_timeout: float = 600.0


def same_text(a: str | None, b: str | None) -> bool:
    """Equal after NFC, line-ending and outer-whitespace normalisation."""
    if a is None or b is None:
        return False

    def norm(s: str) -> str:
        return unicodedata.normalize("NFC", s.replace("\r\n", "\n")).strip()

    return norm(a) == norm(b)


@dataclass(frozen=True, slots=True)
class OwnItem:
    """Something the account made, as ``find_published`` sees it."""

    id: str
    text: str
    created_at: datetime | None = None
    parent_id: str | None = None  # what it replies to / comments on
    url: str | None = None


def assemble(
    publication: Publication,
    roots: Sequence[OwnItem],
    replies: Sequence[OwnItem] = (),
    comments: Sequence[OwnItem] = (),
    *,
    since: datetime | None = None,
    root_text: str | None = None,
) -> Published | None:
    """The publication rebuilt from the account's items, or None if its root is not there.

    The root is the newest item of ``roots`` with the publication's text (``root_text`` if
    the network stores the text changed) made at or after ``since``; parts are followed
    as replies by exact text; the first comment is a reply or comment on the root with its
    text, from ``comments`` (or ``replies`` where they are the same listing).
    """
    want = publication.text if root_text is None else root_text
    candidates = [
        r
        for r in roots
        if same_text(r.text, want)
        and (since is None or r.created_at is None or r.created_at >= since)
    ]
    if not candidates:
        return None
    root = max(candidates, key=lambda r: r.created_at or datetime.min.replace(tzinfo=None))
    parts: list[str] = []
    parent = root.id
    for part in publication.thread:
        child = next(
            (r for r in replies if r.parent_id == parent and same_text(r.text, part.text)), None
        )
        if child is None:
            break
        parts.append(child.id)
        parent = child.id
    comment_id = None
    if publication.first_comment:
        pool = [*comments, *replies]
        found = next(
            (
                c
                for c in pool
                if c.parent_id == root.id
                and same_text(c.text, publication.first_comment)
                and c.id not in parts
            ),
            None,
        )
        comment_id = found.id if found else None
    return Published(root.id, root.url, tuple(parts), comment_id)


class HttpProvider(ABC):
    """The common half of every provider; subclasses implement the network calls.

    Subclasses set ``network``, ``auth_kind``, ``capabilities`` and implement
    ``_publish_root``, and where the network has them ``_publish_reply`` (threads) and
    ``_publish_comment`` (first comments), plus the rest of the interface.
    """

    network: str = ""
    auth_kind: AuthKind = "oauth2"
    capabilities: frozenset[Capability] = frozenset()
    uses_pkce: bool = False

    def __init__(
        self, config: ProviderConfig, classify: Classifier, client: httpx.AsyncClient | None
    ) -> None:
        self.config = config
        self.http = Transport(self.network, classify, timeout=config.timeout, client=client)

    @property
    def limits(self) -> Limits:
        return limits_for(self.network)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def public_account(self, tokens: Tokens, handle: str) -> PublicAccount:
        """The default for networks whose API offers no lookup of other accounts to an app
        like ours: LinkedIn and TikTok (their lookups are partner or research programs),
        and Facebook Pages (Page Public Metadata Access is a reviewed feature).
        X, Bluesky, Instagram (Business Discovery) and YouTube (``forHandle``) override it."""
        raise Unsupported(
            f"{self.network}'s API offers no lookup of another account's public numbers",
            network=self.network,
        )

    async def audience_demographics(self, tokens: Tokens) -> dict[str, dict[str, float]]:
        """The default for networks whose API reports no audience demographics (X, TikTok's
        Display API, Bluesky)."""
        raise Unsupported(
            f"{self.network}'s API reports no audience demographics", network=self.network
        )

    # --- connecting: the defaults for networks without that way in ----------------------

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        raise Unsupported(
            f"{self.network} connects with {self.auth_kind}, not a consent page",
            network=self.network,
        )

    async def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None = None
    ) -> Connection:
        raise Unsupported(
            f"{self.network} connects with {self.auth_kind}, not a code", network=self.network
        )

    async def login(self, identifier: str, password: str) -> Connection:
        raise Unsupported(
            f"{self.network} connects through OAuth, not a password", network=self.network
        )

    def _require_pkce(self, code_challenge: str | None) -> str:
        if not code_challenge:
            raise ValueError(f"{self.network} needs a PKCE code_challenge (see new_pkce())")
        return code_challenge

    # --- publishing -------------------------------------------------------------------------

    def check(self, publication: Publication) -> None:
        """Refuse, before any call, what the network would refuse: text over its length,
        media it does not take, a thread or first comment where it has none."""
        problems: list[str] = []
        caps = self.capabilities
        texts = [publication.text, *(p.text for p in publication.thread)]
        for index, text in enumerate(texts):
            refused = [
                v.message
                for v in validate_post(text, [], self.network)
                if v.code in ("too_long", "forbidden_character")
            ]
            where = "the post" if index == 0 else f"thread part {index}"
            problems += [f"{where}: {message}" for message in refused]
        if publication.thread and "thread" not in caps:
            raise Unsupported(f"{self.network} has no threads", network=self.network)
        if publication.first_comment and "first_comment" not in caps:
            raise Unsupported(f"{self.network} has no first comment", network=self.network)
        if publication.first_comment and post_length(publication.first_comment, self.network) > (
            comment_max_length(self.network)
        ):
            problems.append("the first comment is longer than the network allows")
        problems += media_problems(self.network, _triples(publication.media))
        for part in publication.thread:
            if part.media:
                problems += media_problems(self.network, _triples(part.media))
        if problems:
            raise PermanentError(" ".join(dict.fromkeys(problems)), network=self.network)

    async def publish(
        self,
        tokens: Tokens,
        publication: Publication,
        *,
        resume: Published | None = None,
        progress: Progress | None = None,
    ) -> Published:
        self.check(publication)
        root = resume or await self._publish_root(tokens, publication)
        parts = list(root.part_ids)
        comment_id = root.first_comment_id

        async def tell(step: str) -> None:
            if progress is not None:
                await progress(replace(root, part_ids=tuple(parts), first_comment_id=comment_id),
                               step)  # fmt: skip

        try:
            parent = parts[-1] if parts else root.platform_post_id
            for number, part in enumerate(publication.thread[len(parts) :], len(parts) + 1):
                await tell(f"thread part {number}")
                parent = await self._publish_reply(tokens, root, parent, part)
                parts.append(parent)
            if publication.first_comment and comment_id is None:
                await tell("first comment")
                comment_id = await self._publish_comment(tokens, root, publication.first_comment)
        except PlatformError as exc:
            exc.partial = replace(root, part_ids=tuple(parts), first_comment_id=comment_id)
            raise
        return replace(root, part_ids=tuple(parts), first_comment_id=comment_id)

    @abstractmethod
    async def _publish_root(self, tokens: Tokens, publication: Publication) -> Published:
        """Make the post itself (media uploaded); its id and URL."""

    async def _publish_reply(
        self, tokens: Tokens, root: Published, parent_id: str, part: ThreadPart
    ) -> str:
        raise Unsupported(f"{self.network} has no threads", network=self.network)

    async def _publish_comment(self, tokens: Tokens, root: Published, text: str) -> str:
        raise Unsupported(f"{self.network} has no first comment", network=self.network)

    # --- helpers ------------------------------------------------------------------------------

    def _account_id(self, tokens: Tokens) -> str:
        if not tokens.account_id:
            raise PermanentError(
                "the tokens do not say which account they act for (Tokens.account_id)",
                network=self.network,
            )
        return tokens.account_id


def _triples(media: Sequence[Media]) -> list[tuple[str, int, float | None]]:
    return [(m.mime_type, m.size, m.duration_seconds) for m in media]


@dataclass(frozen=True, slots=True)
class TimeCursor:
    """A mentions cursor for networks that filter by time: the newest creation time seen
    (epoch seconds) and the ids seen at that second, so an inclusive ``since`` query
    neither repeats them nor misses a sibling made in the same second.

    Encoded as ``"<seconds>:<id>,<id>"`` with each id percent-encoded (LinkedIn comment
    URNs hold commas); :meth:`parse` of None is the start of time.
    """

    seconds: int = 0
    seen: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, cursor: str | None) -> TimeCursor:
        if not cursor:
            return cls()
        seconds, _, ids = cursor.partition(":")
        try:
            return cls(int(seconds), frozenset(unquote(i) for i in ids.split(",") if i))
        except ValueError:
            raise ValueError(f"not a cursor this network issued: {cursor!r}") from None

    def is_new(self, item_id: str, created: datetime) -> bool:
        ts = int(created.timestamp())
        return ts > self.seconds or (ts == self.seconds and item_id not in self.seen)

    def advance(self, items: Sequence[tuple[str, datetime]]) -> TimeCursor:
        cursor = self
        for item_id, created in items:
            ts = int(created.timestamp())
            if ts > cursor.seconds:
                cursor = TimeCursor(ts, frozenset({item_id}))
            elif ts == cursor.seconds:
                cursor = TimeCursor(ts, cursor.seen | {item_id})
        return cursor

    def encode(self) -> str | None:
        if not self.seconds:
            return None
        return f"{self.seconds}:{','.join(quote(i, safe='') for i in sorted(self.seen))}"
