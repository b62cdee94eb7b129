"""What each network accepts, as data: text rules, media, and rate budgets.

Text rules (length and how it is counted, hashtags, titles) live in
``tools.platform_rules`` and are reused here, not repeated: ``limits_for(p).text`` is
``rules_for(p)``. This module adds what the providers and agents need beside them: which
media types and sizes a post may carry, how many, how long a video may be, whether a post
needs media at all, and the documented rate budgets (for the scheduler to stay under, and
for the UI). :func:`media_problems` checks a post's media against them before any upload,
so a file the network would refuse fails fast with a message that says what to fix.

Numbers are the networks' documented limits when written (2025); where a network states a
range by account type, the safe (lower) value is kept and the source says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from tools.platform_rules import PlatformRules, rules_for

__all__ = [
    "ASPECT_SIZES",
    "IMAGE_ASPECT",
    "LIMITS",
    "VIDEO_ASPECT",
    "Aspect",
    "Limits",
    "MediaRule",
    "RateBudget",
    "image_aspect",
    "limits_for",
    "media_problems",
    "video_aspect",
]

MB = 1024 * 1024
MediaKind = Literal["image", "video", "gif"]


@dataclass(frozen=True, slots=True)
class MediaRule:
    """One kind of media a network accepts."""

    kind: MediaKind
    mime_types: frozenset[str]
    max_bytes: int
    max_duration_seconds: float | None = None
    min_duration_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class RateBudget:
    """A documented rate budget: ``limit`` calls of ``what`` per ``window_seconds``,
    counted per ``scope`` (the user's token, the app, the account)."""

    what: str
    limit: int
    window_seconds: int
    scope: Literal["user", "app", "account"]


@dataclass(frozen=True, slots=True)
class Limits:
    network: str
    text: PlatformRules
    media: tuple[MediaRule, ...]
    max_media: int
    max_videos: int = 1
    mixed_media: bool = False  # images and videos in one post
    requires_media: bool = False
    budgets: tuple[RateBudget, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def rule_for(self, kind: MediaKind, mime_type: str) -> MediaRule | None:
        for rule in self.media:
            if rule.kind == kind and mime_type in rule.mime_types:
                return rule
        return None


def _image(types: Sequence[str], max_mb: float) -> MediaRule:
    return MediaRule("image", frozenset(types), int(max_mb * MB))


def _video(
    types: Sequence[str], max_mb: float, max_s: float, min_s: float | None = None
) -> MediaRule:
    return MediaRule("video", frozenset(types), int(max_mb * MB), max_s, min_s)


_DAY = 86_400
_JPEG_PNG = ("image/jpeg", "image/png")
_MP4_MOV = ("video/mp4", "video/quicktime")

LIMITS: dict[str, Limits] = {
    # docs.x.com/x-api/media/introduction (images 5 MB, GIF 15 MB, video 512 MB / 140 s for
    # non-premium accounts); POST /2/tweets: 100 per 15 min per user, 10,000 per day per app.
    "twitter": Limits(
        "twitter",
        rules_for("twitter"),
        (
            _image((*_JPEG_PNG, "image/webp"), 5),
            MediaRule("gif", frozenset({"image/gif"}), 15 * MB),
            _video(_MP4_MOV, 512, 140, 0.5),
        ),
        max_media=4,
        budgets=(
            RateBudget("posts", 100, 900, "user"),
            RateBudget("posts", 10_000, _DAY, "app"),
        ),
        notes=("Up to 4 images, or 1 GIF, or 1 video.",),
    ),
    # developers.facebook.com/docs/instagram-platform/content-publishing: JPEG only, 8 MB;
    # reels 3 s-15 min, 300 MB; carousels up to 10; 100 API-published posts per 24 h.
    "instagram": Limits(
        "instagram",
        rules_for("instagram"),
        (_image(("image/jpeg",), 8), _video(_MP4_MOV, 300, 900, 3)),
        max_media=10,
        max_videos=10,
        mixed_media=True,
        requires_media=True,
        budgets=(RateBudget("published posts", 100, _DAY, "account"),),
        notes=("Images are fetched by Instagram from a public URL.",),
    ),
    # developers.facebook.com/docs/graph-api/reference/page/photos and /videos.
    "facebook": Limits(
        "facebook",
        rules_for("facebook"),
        (
            _image((*_JPEG_PNG, "image/webp", "image/bmp", "image/tiff"), 10),
            MediaRule("gif", frozenset({"image/gif"}), 10 * MB),
            _video((*_MP4_MOV, "video/webm"), 10 * 1024, 240 * 60, 1),
        ),
        max_media=10,
        budgets=(RateBudget("Graph API calls", 200, 3600, "user"),),
        notes=("Several photos, or one video.",),
    ),
    # learn.microsoft.com/linkedin/marketing/community-management/shares/images-api and
    # videos-api: video 75 KB-500 MB, 3 s-30 min; multiImage 2-20 images;
    # posts: 150 per day per member, 100,000 per day per app.
    "linkedin": Limits(
        "linkedin",
        rules_for("linkedin"),
        (
            _image((*_JPEG_PNG, "image/gif"), 36),
            _video(("video/mp4",), 500, 30 * 60, 3),
        ),
        max_media=20,
        budgets=(
            RateBudget("posts", 150, _DAY, "user"),
            RateBudget("posts", 100_000, _DAY, "app"),
        ),
        notes=("Up to 20 images, or 1 video.",),
    ),
    # developers.tiktok.com/doc/content-posting-api-media-transfer-guide: video up to 4 GB,
    # photos JPEG/WEBP 20 MB (pulled from a URL), up to 35; video/init: 6 per minute per
    # user; the creator's own cap is about 15 posts a day.
    "tiktok": Limits(
        "tiktok",
        rules_for("tiktok"),
        (
            _image(("image/jpeg", "image/webp"), 20),
            _video((*_MP4_MOV, "video/webm"), 4 * 1024, 600, 3),
        ),
        max_media=35,
        requires_media=True,
        budgets=(
            RateBudget("video inits", 6, 60, "user"),
            RateBudget("posts", 15, _DAY, "account"),
        ),
        notes=("One video, or up to 35 photos from public URLs.",),
    ),
    # developers.google.com/youtube/v3/guides/uploading_a_video; quota 10,000 units/day,
    # videos.insert costs 1,600 units: about 6 uploads a day on the default quota.
    "youtube": Limits(
        "youtube",
        rules_for("youtube"),
        (
            _video(
                (*_MP4_MOV, "video/webm", "video/x-msvideo", "video/mpeg"), 256 * 1024, 12 * 3600
            ),
        ),
        max_media=1,
        requires_media=True,
        budgets=(RateBudget("quota units", 10_000, _DAY, "app"),),
        notes=("One video per post; the title is required.",),
    ),
    # app.bsky.embed.images lexicon: 4 images, each at most 1,000,000 bytes. Rate limits:
    # docs.bsky.app/docs/advanced-guides/rate-limits, 5,000 points per hour and 35,000 per
    # day per account, a create costs 3.
    "bluesky": Limits(
        "bluesky",
        rules_for("bluesky"),
        (_image((*_JPEG_PNG, "image/webp", "image/gif"), 1_000_000 / MB),),
        max_media=4,
        budgets=(
            RateBudget("record creates", 1666, 3600, "account"),
            RateBudget("record creates", 11_666, _DAY, "account"),
        ),
        notes=("Up to 4 images; video is not supported by this provider.",),
    ),
    # Chorus's own test platform: Instagram-sized text, generous media.
    "sandbox": Limits(
        "sandbox",
        rules_for("sandbox"),
        (
            _image((*_JPEG_PNG, "image/webp"), 10),
            MediaRule("gif", frozenset({"image/gif"}), 15 * MB),
            _video(_MP4_MOV, 512, 600),
        ),
        max_media=10,
    ),
}


def limits_for(platform: str) -> Limits:
    """The limits of ``platform`` (``x`` is accepted for twitter), or ValueError."""
    name = rules_for(platform).platform
    if name not in LIMITS:
        raise ValueError(f"no media limits for platform {platform!r}")
    return LIMITS[name]


def media_problems(
    platform: str,
    media: Sequence[tuple[str, int, float | None]],
) -> list[str]:
    """What is wrong with a post's media, as ``(mime type, size in bytes, duration or None)``
    triples: each problem says what to fix; an empty list means the network accepts it."""
    limits = limits_for(platform)
    problems: list[str] = []
    if limits.requires_media and not media:
        problems.append(f"{platform} posts need at least one image or video.")
    if len(media) > limits.max_media:
        problems.append(f"{platform} allows at most {limits.max_media} media per post.")
    kinds = []
    for index, (mime, size, duration) in enumerate(media, start=1):
        kind: MediaKind = (
            "gif" if mime == "image/gif" else "video" if mime.startswith("video/") else "image"
        )
        rule = limits.rule_for(kind, mime) or (
            limits.rule_for("image", mime) if kind == "gif" else None
        )
        if rule is None:
            accepted = sorted({m for r in limits.media for m in r.mime_types})
            problems.append(
                f"media {index}: {platform} does not accept {mime}; use one of "
                + ", ".join(accepted)
                + "."
            )
            continue
        kinds.append(rule.kind)
        if size > rule.max_bytes:
            problems.append(
                f"media {index}: {size} bytes is over {platform}'s {rule.max_bytes} for a "
                f"{rule.kind}."
            )
        if (
            duration is not None
            and rule.max_duration_seconds
            and duration > rule.max_duration_seconds
        ):
            problems.append(
                f"media {index}: {duration:g} s is longer than {platform}'s "
                f"{rule.max_duration_seconds:g} s."
            )
        if (
            duration is not None
            and rule.min_duration_seconds
            and duration < rule.min_duration_seconds
        ):
            problems.append(
                f"media {index}: {duration:g} s is shorter than {platform}'s "
                f"{rule.min_duration_seconds:g} s."
            )
    videos = sum(1 for k in kinds if k in ("video", "gif"))
    if videos > limits.max_videos:
        problems.append(f"{platform} allows at most {limits.max_videos} video or GIF per post.")
    if videos and len(kinds) > videos and not limits.mixed_media:
        problems.append(f"{platform} does not mix images and videos in one post.")
    return problems


# --- the shapes media is made in -------------------------------------------------------------

Aspect = Literal["square", "portrait", "landscape", "vertical"]
# (width, height) of each shape at the size the networks recommend uploading: 1:1, 4:5,
# 16:9 and 9:16, 1080 pixels on the short side (1600x900 for 16:9, X's recommended size).
ASPECT_SIZES: dict[Aspect, tuple[int, int]] = {
    "square": (1080, 1080),
    "portrait": (1080, 1350),
    "landscape": (1600, 900),
    "vertical": (1080, 1920),
}
# The shape an image made for a post on each network takes: the one its feed shows largest
# without cropping (Instagram and Facebook feeds: 4:5; X, YouTube and Bluesky: 16:9 cards;
# TikTok photo mode: 9:16; LinkedIn: 1:1).
IMAGE_ASPECT: dict[str, Aspect] = {
    "instagram": "portrait",
    "facebook": "portrait",
    "twitter": "landscape",
    "youtube": "landscape",
    "bluesky": "landscape",
    "tiktok": "vertical",
    "linkedin": "square",
    "sandbox": "square",
}
# Videos: full-screen vertical where the network is built around it (TikTok, Reels),
# landscape elsewhere.
VIDEO_ASPECT: dict[str, Aspect] = {
    "tiktok": "vertical",
    "instagram": "vertical",
}


def image_aspect(network: str) -> Aspect:
    return IMAGE_ASPECT.get(network, "square")


def video_aspect(network: str) -> Aspect:
    return VIDEO_ASPECT.get(network, "landscape")
