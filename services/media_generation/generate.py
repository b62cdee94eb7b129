"""Generated images and videos for a post (or a text), made into the media library.

The library's own ``upload`` stores each file, so generated media are the same documents,
in the same storage, under the same limits as uploads (sniffed, measured, thumbnailed,
ffprobed). Everything is made in memory first and the storage allowance checked for all of
it, so a request that cannot be stored whole stores nothing; a failure part-way takes back
what it stored.

With an image model configured, images come from it (the post's text, the brand's voice and
colours in the prompt), each AI credit checked before and its usage recorded after, as the
agents' calls are; without one they are composed with Pillow (``compose``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Protocol

from bson import ObjectId
from PIL import Image

from persistence.errors import InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.media import MediaNotFound, MediaStore
from persistence.models import MediaAsset, Post
from services import organizations
from services.billing import limits
from services.billing.usage import record_ai_usage
from services.media_generation import compose, slideshow
from services.media_generation.compose import Brand, Style
from services.media_generation.openai_images import GeneratedImage
from services.workspace import media
from services.workspace import posts as workspace_posts
from tools.platforms.limits import ASPECT_SIZES, Aspect, image_aspect, video_aspect

HEADLINE_CHARS = 140
MAX_TEXT_FRAMES = 4
MAX_IMAGE_FRAMES = 6
URL = re.compile(r"https?://\S+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class ImageModel(Protocol):
    """An image model (``openai_images.OpenAIImages``, or another provider's)."""

    @property
    def name(self) -> str: ...

    async def generate(self, prompt: str, width: int, height: int) -> GeneratedImage: ...


@dataclass(frozen=True)
class Source:
    """What the media is made from: the post (if any), its text and headline, the networks."""

    text: str
    headline: str
    platforms: list[str]
    post: Post | None = None


@dataclass
class Generated:
    """One stored file and the networks it is shaped for."""

    asset: MediaAsset
    aspect: Aspect
    platforms: list[str]


def _clean(text: str) -> str:
    return " ".join(URL.sub("", text).split())


def headline_of(title: str | None, text: str) -> str:
    """The title, else the text's first sentence, without links, at most 140 characters
    (cut at a word)."""
    head = _clean(title or "") or SENTENCE_END.split(_clean(text), maxsplit=1)[0]
    if len(head) <= HEADLINE_CHARS:
        return head
    cut = head[: HEADLINE_CHARS - 1].rsplit(" ", 1)[0] or head[: HEADLINE_CHARS - 1]
    return cut.rstrip(" ,;:-") + "…"


def text_chunks(text: str, limit: int = HEADLINE_CHARS, most: int = MAX_TEXT_FRAMES) -> list[str]:
    """The text's sentences grouped into at most ``most`` slides of about ``limit``
    characters (hashtags and links left out)."""
    words = [w for w in _clean(text).split() if not w.startswith("#")]
    chunks: list[str] = []
    current = ""
    for sentence in SENTENCE_END.split(" ".join(words)):
        candidate = f"{current} {sentence}".strip()
        if current and len(candidate) > limit:
            chunks.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [headline_of(None, c) if len(c) > 2 * limit else c for c in chunks[:most]]


async def source_of(
    db: Any,
    org_id: ObjectId,
    *,
    post_id: ObjectId | None,
    text: str | None,
    platforms: list[str] | None,
) -> Source:
    """The post (404 if not the tenant's) or the text, and the networks to shape for: those
    given, else the post's targets."""
    post = await workspace_posts.get(db, org_id, post_id) if post_id is not None else None
    body = text if text is not None else (post.content.text if post else "")
    title = post.content.title if post is not None and text is None else None
    headline = headline_of(title, body)
    if not headline:
        where = "body.text" if text is not None or post is None else "body.postId"
        raise InvalidInput.field(where, "there is no text to make media from")
    targets = [t.platform for t in post.platforms] if post is not None else []
    chosen = list(dict.fromkeys(platforms or targets))
    if not chosen:
        raise InvalidInput.field(
            "body.platforms", "name the networks to make media for (the post has no targets)"
        )
    return Source(body, headline, chosen, post)


async def brand_of(db: Any, store: MediaStore, org_id: ObjectId) -> Brand:
    """The organization's name, colours and logo (a logo deleted from the library is left
    out, not an error)."""
    found = await organizations.settings(db, org_id)
    name = await organizations.display_name(db, org_id)
    logo = None
    if found.brand_logo_media_id is not None:
        try:
            logo, _ = await media.file(db, store, org_id, found.brand_logo_media_id)
        except (NotFound, MediaNotFound):
            logo = None
    return Brand(name=name, colors=tuple(found.brand_colors), logo=logo)


def _by_aspect(platforms: list[str], shape: Any) -> dict[Aspect, list[str]]:
    groups: dict[Aspect, list[str]] = {}
    for platform in platforms:
        groups.setdefault(shape(platform), []).append(platform)
    return groups


async def _prompt(db: Any, org_id: ObjectId, source: Source, brand: Brand, style: Style) -> str:
    found = await organizations.settings(db, org_id)
    parts = [f"A social media image for {brand.name}"]
    if found.industry:
        parts[0] += f", a {found.industry} brand"
    if found.brand_voice:
        parts.append("Brand voice: " + "; ".join(found.brand_voice))
    if brand.colors:
        parts.append("Brand colours: " + ", ".join(brand.colors))
    parts.append(f"Style: {style}")
    parts.append(f"The post it illustrates: {source.text[:1500]}")
    parts.append("No text or letters in the image.")
    return ". ".join(parts)


async def _store_all(
    db: Any,
    store: MediaStore,
    org_id: ObjectId,
    user_id: ObjectId,
    made: list[tuple[Aspect, list[str], str, bytes]],
    alt_text: str,
) -> list[Generated]:
    """Upload every file, or none: the allowance is checked for all of them first, and a
    failure part-way deletes what was stored."""
    total = sum(len(data) for *_, data in made)
    await limits.check(db, org_id, "media_storage", adding=total, media=store)
    stored: list[Generated] = []
    try:
        for aspect, platforms, name, data in made:
            asset = await media.upload(
                db, store, org_id, user_id, name, data,
                alt_text=alt_text[:1000], tags=["generated", aspect, *platforms],
            )  # fmt: skip
            stored.append(Generated(asset, aspect, platforms))
    except BaseException:
        for done in stored:
            await media.delete(db, store, org_id, done.asset.id)
        raise
    return stored


async def images(
    db: Any,
    store: MediaStore,
    org_id: ObjectId,
    user_id: ObjectId,
    source: Source,
    *,
    style: Style = "bold",
    model: ImageModel | None = None,
) -> list[Generated]:
    """One image per shape the networks need (a 4:5 for Instagram and Facebook, 16:9 for X…),
    from the model if one is configured, else composed; stored in the library."""
    groups = _by_aspect(source.platforms, image_aspect)
    brand = await brand_of(db, store, org_id)
    made: list[tuple[Aspect, list[str], str, bytes]] = []
    if model is not None:
        prompt = await _prompt(db, org_id, source, brand, style)
        for aspect, platforms in groups.items():
            # A credit must be left before each call, as before each agent call.
            await limits.check(db, org_id, "ai_credits", adding=1)
            size = ASPECT_SIZES[aspect]
            answer = await model.generate(prompt, *size)
            await record_ai_usage(db, org_id, utcnow(), answer.tokens, answer.cost_usd)
            # The model makes a few fixed sizes: crop and scale its answer to the shape.
            ratio = size[0] / size[1]
            spec = media.ImageSpec(8_000_000, max(size), aspect_min=ratio, aspect_max=ratio)
            data, _ = await asyncio.to_thread(media.fit_image, answer.data, spec)
            data = await asyncio.to_thread(compose.with_logo, data, brand.logo)
            made.append((aspect, platforms, f"generated-{aspect}.jpg", data))
    else:
        for aspect, platforms in groups.items():
            data = await asyncio.to_thread(
                compose.graphic, source.headline, brand, ASPECT_SIZES[aspect], style
            )
            made.append((aspect, platforms, f"generated-{aspect}.jpg", data))
    return await _store_all(db, store, org_id, user_id, made, source.headline)


async def _post_images(
    db: Any, store: MediaStore, org_id: ObjectId, post: Post | None
) -> list[bytes]:
    """The bytes of the post's library images (videos and missing files left out)."""
    if post is None:
        return []
    found: list[bytes] = []
    for item in post.content.media_files:
        if item.media_id is None or item.type != "image" or len(found) >= MAX_IMAGE_FRAMES:
            continue
        try:
            data, kind = await media.file(db, store, org_id, item.media_id)
        except (NotFound, MediaNotFound):
            continue
        if kind.startswith("image/"):
            found.append(data)
    return found


def _frames(
    source: Source, brand: Brand, photos: list[bytes], size: tuple[int, int], style: Style
) -> list[Image.Image]:
    """Headline first, then the post's images, then the rest of its text."""
    frames = [compose.render(source.headline, brand, size, style)]
    frames += [compose.fit_photo(p, size, brand.main) for p in photos]
    # The rest of the text: without the first sentence when that was the headline.
    rest = _clean(source.text)
    if rest.startswith(source.headline):
        rest = rest[len(source.headline) :]
    frames += [compose.render(chunk, brand, size, style) for chunk in text_chunks(rest)]
    return frames


async def videos(
    db: Any,
    store: MediaStore,
    org_id: ObjectId,
    user_id: ObjectId,
    source: Source,
    *,
    style: Style = "bold",
    seconds_per_slide: float = 2.5,
) -> list[Generated]:
    """One MP4 slideshow per shape the networks need (9:16 for TikTok and Reels, 16:9
    elsewhere), stored in the library with its duration and codec."""
    slideshow.ffmpeg_path()  # before any work: a clear 501 where ffmpeg is missing
    brand = await brand_of(db, store, org_id)
    photos = await _post_images(db, store, org_id, source.post)
    made: list[tuple[Aspect, list[str], str, bytes]] = []
    for aspect, platforms in _by_aspect(source.platforms, video_aspect).items():
        size = slideshow.VIDEO_SIZES[aspect]
        frames = await asyncio.to_thread(_frames, source, brand, photos, size, style)
        data = await slideshow.encode(frames, seconds_per_slide)
        made.append((aspect, platforms, f"generated-{aspect}.mp4", data))
    return await _store_all(db, store, org_id, user_id, made, source.headline)
