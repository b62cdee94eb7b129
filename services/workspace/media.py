"""The media library: uploads sniffed and measured, thumbnails, alt text and tags, derivatives
made to each network's limits, and the storage the organization uses.

The bytes live in the media store (a local directory or S3, ``persistence.media``); a
``media_assets`` document describes each file and is what ids address, so no caller ever
names a path. A file's type is read from its first bytes (``filetype``), never from its name
or the type the client claims; images are then opened with Pillow, which both measures them
and proves they decode. Videos are measured with ffprobe and converted with ffmpeg where
those are installed; without them a video is stored unmeasured and converting one is a
clear ToolMissing (501).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filetype
from bson import ObjectId
from PIL import Image, ImageOps, UnidentifiedImageError

from persistence.errors import ChorusError, Conflict, InvalidInput, NotFound
from persistence.ids import utcnow
from persistence.media import MediaStore
from persistence.models import MediaAsset, Post
from persistence.models.content import Dimensions
from persistence.models.workspace import MediaDerivative, MediaKind
from persistence.repository import TenantRepository
from services.billing import limits
from services.workspace import pages

MAX_MEDIA_BYTES = 100_000_000  # 100 MB, the upload limit of the API's body rules too
THUMBNAIL_SIDE = 320
# What the networks take: (kind, file extension) by the type sniffed from the bytes.
ACCEPTED: dict[str, tuple[MediaKind, str]] = {
    "image/jpeg": ("image", "jpg"),
    "image/png": ("image", "png"),
    "image/webp": ("image", "webp"),
    "image/gif": ("gif", "gif"),
    "video/mp4": ("video", "mp4"),
    "video/quicktime": ("video", "mov"),
    "video/webm": ("video", "webm"),
}
# Posts that still wait to go out keep their media: deleting it would break them.
USING_STATES = ("scheduled", "publishing", "paused", "pending_approval")


class UnsupportedMedia(InvalidInput):
    default_code = "unsupported_media_type"


class MediaTooLarge(InvalidInput):
    default_code = "payload_too_large"


class ToolMissing(ChorusError):
    """The server lacks a program this needs (ffmpeg); nothing was changed."""

    default_code = "not_implemented"


@dataclass(frozen=True)
class ImageSpec:
    """One network's limits for an image, as documented (2025)."""

    max_bytes: int
    max_side: int
    out_format: str = "JPEG"
    aspect_min: float | None = None  # width / height
    aspect_max: float | None = None


IMAGE_SPECS: dict[str, ImageSpec] = {
    "twitter": ImageSpec(5_000_000, 4096),
    "instagram": ImageSpec(8_000_000, 1080, aspect_min=4 / 5, aspect_max=1.91),
    "facebook": ImageSpec(4_000_000, 2048),
    "linkedin": ImageSpec(5_000_000, 4096),
    "tiktok": ImageSpec(5_000_000, 1920, aspect_min=9 / 16, aspect_max=9 / 16),
    "bluesky": ImageSpec(1_000_000, 2000),
    "sandbox": ImageSpec(8_000_000, 2048, aspect_min=4 / 5, aspect_max=1.91),
}
# Video for every network that takes it: H.264 in MP4, at most 1080 pixels on the short
# side, AAC sound (the common ground of X, Instagram, TikTok, LinkedIn, YouTube).
VIDEO_PLATFORMS = (
    "twitter",
    "instagram",
    "facebook",
    "linkedin",
    "tiktok",
    "youtube",
    "sandbox",
    "bluesky",
)


def sniff(head: bytes) -> tuple[str, MediaKind, str]:
    """(content type, kind, extension) read from the file's first bytes."""
    found = filetype.guess(head)
    if found is None or found.mime not in ACCEPTED:
        what = found.mime if found else "not a known image or video"
        raise UnsupportedMedia(
            f"the file's content is {what}; upload JPEG, PNG, WebP, GIF, MP4, MOV or WebM",
            fields=[{"field": "body.file", "message": f"unsupported type ({what})"}],
        )
    kind, ext = ACCEPTED[found.mime]
    return found.mime, kind, ext


@dataclass
class Measured:
    dimensions: Dimensions | None = None
    thumbnail: bytes | None = None
    thumbnail_type: str | None = None
    duration_seconds: float | None = None
    codec: str | None = None


def _measure_image(data: bytes) -> Measured:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # a truncated or corrupt file fails here, before we keep it
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            upright = ImageOps.exif_transpose(image) or image
            width, height = upright.size
            thumb = upright.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnsupportedMedia(
            "the image cannot be read (corrupt, truncated or too many pixels)",
            fields=[{"field": "body.file", "message": "the image cannot be decoded"}],
        ) from exc
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    if thumb.mode in ("RGBA", "LA", "P"):
        thumb.save(out, "PNG", optimize=True)
        kind = "image/png"
    else:
        thumb.convert("RGB").save(out, "JPEG", quality=80)
        kind = "image/jpeg"
    return Measured(Dimensions(width=width, height=height), out.getvalue(), kind)


async def _probe_video(data: bytes, ext: str) -> Measured:
    """Duration, codec and size by ffprobe, where it is installed (else unmeasured)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return Measured()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"in.{ext}"
        await asyncio.to_thread(path.write_bytes, data)
        proc = await asyncio.create_subprocess_exec(
            ffprobe, "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
            str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise UnsupportedMedia(
            "the video cannot be read",
            fields=[{"field": "body.file", "message": "ffprobe cannot read this video"}],
        )
    info = json.loads(out or b"{}")
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), {})
    duration = info.get("format", {}).get("duration")
    dims = (
        Dimensions(width=int(video["width"]), height=int(video["height"]))
        if video.get("width") and video.get("height")
        else None
    )
    return Measured(
        dimensions=dims,
        duration_seconds=float(duration) if duration else None,
        codec=video.get("codec_name"),
    )


def repo(db: Any) -> TenantRepository[MediaAsset]:
    return TenantRepository(db, MediaAsset)


async def get(db: Any, org_id: ObjectId, media_id: ObjectId) -> MediaAsset:
    found = await repo(db).get(org_id, media_id)
    if found is None:
        raise NotFound("no such media")
    return found


def _stem(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1].rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_")[:80] or "media"


async def upload(
    db: Any,
    store: MediaStore,
    org_id: ObjectId,
    user_id: ObjectId,
    name: str,
    data: bytes,
    *,
    alt_text: str | None = None,
    tags: list[str] | None = None,
) -> MediaAsset:
    """Store an uploaded file in the library: refused before anything is stored when it is
    over 100 MB, not an image or video by its content, unreadable, or past the plan's
    storage."""
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaTooLarge.field("body.file", f"files are at most {MAX_MEDIA_BYTES:,} bytes")
    if not data:
        raise InvalidInput.field("body.file", "the file is empty")
    content_type, kind, ext = sniff(data[:8192])
    if kind == "video":
        measured = await _probe_video(data, ext)
    else:
        measured = await asyncio.to_thread(_measure_image, data)
    extra = len(measured.thumbnail or b"")
    await limits.check(db, org_id, "media_storage", adding=len(data) + extra, media=store)
    org = str(org_id)
    stem = _stem(name)
    stored = await store.put(org, f"{stem}.{ext}", data, content_type)
    asset = MediaAsset(
        organization_id=org_id,
        user_id=user_id,
        key=stored.key,
        url=stored.url,
        name=f"{stem}.{ext}",
        content_type=content_type,
        kind=kind,
        size=stored.size,
        dimensions=measured.dimensions,
        duration_seconds=measured.duration_seconds,
        codec=measured.codec,
        alt_text=alt_text,
        tags=tags or [],
    )
    try:
        if measured.thumbnail is not None:
            thumb_ext = "png" if measured.thumbnail_type == "image/png" else "jpg"
            thumb = await store.put(
                org, f"{stem}-thumb.{thumb_ext}", measured.thumbnail, measured.thumbnail_type or ""
            )
            asset.thumbnail_key, asset.thumbnail_url = thumb.key, thumb.url
        return await repo(db).insert(asset)
    except BaseException:
        # No file without its document: take back what was stored.
        await _remove_files(store, org, [stored.key, asset.thumbnail_key])
        raise


async def _remove_files(store: MediaStore, org: str, keys: list[str | None]) -> None:
    for key in keys:
        if key:
            await store.delete(org, key)


async def page(
    db: Any,
    org_id: ObjectId,
    *,
    kind: str | None = None,
    tag: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[MediaAsset], str | None]:
    """The library newest first, one page, and the cursor of the next."""
    query: dict[str, Any] = {}
    if kind:
        query["kind"] = kind
    if tag:
        query["tags"] = tag
    return await pages.newest_first(db, MediaAsset, org_id, query, cursor, limit)


async def update(
    db: Any,
    org_id: ObjectId,
    media_id: ObjectId,
    *,
    alt_text: str | None,
    tags: list[str] | None,
    fields: set[str],
) -> MediaAsset:
    """Change the alt text and/or tags (those named in ``fields``; a null alt text clears)."""
    await get(db, org_id, media_id)
    changes: dict[str, Any] = {}
    if "alt_text" in fields:
        changes["altText"] = alt_text
    if "tags" in fields:
        changes["tags"] = tags or []
    if not changes:
        return await get(db, org_id, media_id)
    changed = await repo(db).update(org_id, media_id, changes)
    if changed is None:
        raise NotFound("no such media")
    return changed


async def users(db: Any, org_id: ObjectId, media_id: ObjectId) -> list[Post]:
    """Posts waiting to go out that use the media."""
    return await TenantRepository(db, Post).find(
        org_id,
        {
            # In the post's media, a thread part's, or a target's own thread.
            "$or": [
                {"content.mediaFiles.mediaId": media_id},
                {"content.thread.mediaFiles.mediaId": media_id},
                {"platforms.thread.mediaFiles.mediaId": media_id},
            ],
            "scheduling.status": {"$in": list(USING_STATES)},
        },
        limit=20,
    )


async def delete(db: Any, store: MediaStore, org_id: ObjectId, media_id: ObjectId) -> None:
    """Delete the file, its thumbnail and derivatives; 409 while a post waiting to go out
    uses it."""
    asset = await get(db, org_id, media_id)
    waiting = await users(db, org_id, media_id)
    if waiting:
        ids = ", ".join(str(p.id) for p in waiting)
        raise Conflict(
            f"the media is used by posts waiting to go out ({ids}); "
            "remove it from them or unschedule them first",
            code="media_in_use",
        )
    if not await repo(db).delete(org_id, media_id):
        raise NotFound("no such media")
    keys = [asset.key, asset.thumbnail_key, *(d.key for d in asset.derivatives)]
    await _remove_files(store, str(org_id), keys)


async def file(
    db: Any, store: MediaStore, org_id: ObjectId, media_id: ObjectId, variant: str = "original"
) -> tuple[bytes, str]:
    """The bytes and type of the original, its ``thumbnail``, or its derivative for a
    network (``variant`` is the network's name)."""
    asset = await get(db, org_id, media_id)
    if variant == "original":
        key, kind = asset.key, asset.content_type
    elif variant == "thumbnail":
        if asset.thumbnail_key is None:
            raise NotFound("this media has no thumbnail")
        key = asset.thumbnail_key
        kind = "image/png" if key.endswith(".png") else "image/jpeg"
    else:
        made = next((d for d in asset.derivatives if d.platform == variant), None)
        if made is None:
            raise NotFound(f"no derivative for {variant}; POST /api/media/{{id}}/optimize first")
        key, kind = made.key, made.content_type
    return await store.get(str(org_id), key), kind


@dataclass
class StorageUsage:
    used_bytes: int
    allowed_bytes: int | None
    files: int
    by_kind: dict[str, int]


async def storage_usage(db: Any, store: MediaStore, org_id: ObjectId) -> StorageUsage:
    """Bytes stored (as the plan counts them: everything in the media store, thumbnails and
    derivatives included), the plan's allowance, and the library's files by kind."""
    _, usage = await limits.report(db, org_id, store)
    media = next(u for u in usage if u.kind == "media_storage")
    by_kind: dict[str, int] = {}
    count = 0
    for row in await repo(db).aggregate(
        org_id, [{"$group": {"_id": "$kind", "bytes": {"$sum": "$size"}, "n": {"$sum": 1}}}]
    ):
        by_kind[row["_id"]] = row["bytes"]
        count += row["n"]
    return StorageUsage(media.used, media.allowed, count, by_kind)


# --- derivatives -------------------------------------------------------------------------


def _crop_to(image: Image.Image, lo: float | None, hi: float | None) -> Image.Image:
    """Centre-crop ``image`` into the aspect ratio range [lo, hi] (width / height)."""
    width, height = image.size
    ratio = width / height
    if lo is not None and ratio < lo:  # too tall
        new_h = round(width / lo)
        top = (height - new_h) // 2
        return image.crop((0, top, width, top + new_h))
    if hi is not None and ratio > hi:  # too wide
        new_w = round(height * hi)
        left = (width - new_w) // 2
        return image.crop((left, 0, left + new_w, height))
    return image


def fit_image(data: bytes, spec: ImageSpec) -> tuple[bytes, Dimensions]:
    """The image re-encoded to ``spec``: upright, cropped into its aspect range, scaled to its
    largest side, and compressed (then scaled further) until it is within its byte limit."""
    with Image.open(io.BytesIO(data)) as source:
        source.seek(0)
        image = (ImageOps.exif_transpose(source) or source).convert("RGB")
    image = _crop_to(image, spec.aspect_min, spec.aspect_max)
    image.thumbnail((spec.max_side, spec.max_side))
    quality = 90
    while True:
        out = io.BytesIO()
        image.save(out, spec.out_format, quality=quality, optimize=True)
        if out.tell() <= spec.max_bytes:
            return out.getvalue(), Dimensions(width=image.width, height=image.height)
        if quality > 50:
            quality -= 10
        else:
            image = image.resize((max(1, image.width * 4 // 5), max(1, image.height * 4 // 5)))


async def _transcode(data: bytes, ext: str) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ToolMissing(
            "converting videos needs ffmpeg, which is not installed on this server "
            "(apt-get install ffmpeg); images can be optimized"
        )
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / f"in.{ext}", Path(tmp) / "out.mp4"
        await asyncio.to_thread(src.write_bytes, data)
        proc = await asyncio.create_subprocess_exec(
            ffmpeg, "-v", "error", "-y", "-i", str(src),
            "-vf", "scale='if(gt(iw,ih),-2,min(1080,iw))':'if(gt(iw,ih),min(1080,ih),-2)'",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-movflags", "+faststart", str(dst),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise UnsupportedMedia(
                f"ffmpeg cannot convert this video: {err.decode(errors='replace')[:200]}"
            )
        return await asyncio.to_thread(dst.read_bytes)


async def optimize(
    db: Any, store: MediaStore, org_id: ObjectId, media_id: ObjectId, platforms: list[str]
) -> MediaAsset:
    """A derivative of the media for each network in ``platforms`` that meets its limits
    (size, aspect ratio, format); one made before for a network is replaced."""
    asset = await get(db, org_id, media_id)
    org = str(org_id)
    data = await store.get(org, asset.key)
    made: list[MediaDerivative] = []
    stem = _stem(asset.name)
    for i, platform in enumerate(dict.fromkeys(platforms)):
        if asset.kind == "video":
            if platform not in VIDEO_PLATFORMS:
                raise InvalidInput.field(f"body.platforms.{i}", f"{platform} takes no video")
            out = await _transcode(data, asset.name.rsplit(".", 1)[-1])
            kind, ext, dims = "video/mp4", "mp4", None
        else:
            spec = IMAGE_SPECS.get(platform)
            if spec is None:
                raise InvalidInput.field(
                    f"body.platforms.{i}", f"{platform} publishes videos; upload a video for it"
                )
            out, dims = await asyncio.to_thread(fit_image, data, spec)
            kind, ext = "image/jpeg", "jpg"
        await limits.check(db, org_id, "media_storage", adding=len(out), media=store)
        stored = await store.put(org, f"{stem}-{platform}.{ext}", out, kind)
        made.append(
            MediaDerivative(
                platform=platform,
                key=stored.key,
                url=stored.url,
                content_type=kind,
                size=stored.size,
                dimensions=dims,
                created_at=utcnow(),
            )
        )
    replaced = [d for d in asset.derivatives if d.platform in {m.platform for m in made}]
    kept = [d for d in asset.derivatives if d not in replaced]
    derivatives = [d.model_dump(by_alias=True, exclude_none=True) for d in kept + made]
    changed = await repo(db).update(org_id, media_id, {"derivatives": derivatives})
    if changed is None:  # deleted meanwhile: take back what was made
        await _remove_files(store, org, [m.key for m in made])
        raise NotFound("no such media")
    await _remove_files(store, org, [d.key for d in replaced])
    return changed
