"""Every target of a post checked by the rules the agents use, plus what each network takes
in media.

Text, hashtags and titles are checked by ``tools.platform_rules`` (one set of rules for
people and agents). Media counts and kinds are the networks' documented limits for one
post (2025): X and Bluesky take up to 4 images or one video, never both; Instagram and
Facebook carousels up to 10 items; LinkedIn up to 20 images or one video; TikTok and
YouTube need one video. A network that cannot publish without media (Instagram, TikTok,
YouTube) makes missing media a violation only once the post is to go out: a draft may wait
for its picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from persistence.errors import InvalidInput
from persistence.models import Post
from persistence.models.content import MediaFile, PlatformTarget, ThreadPart
from tools import platform_rules
from tools.platform_rules import Violation
from tools.platforms import capabilities_for


@dataclass(frozen=True)
class MediaRules:
    max_items: int
    max_images: int
    max_videos: int
    mix: bool = True
    needs: str | None = None  # "media" or "video" when the network cannot post without it


MEDIA_RULES: dict[str, MediaRules] = {
    "twitter": MediaRules(4, 4, 1, mix=False),
    "bluesky": MediaRules(4, 4, 1, mix=False),
    "instagram": MediaRules(10, 10, 10, needs="media"),
    "facebook": MediaRules(10, 10, 10),
    "linkedin": MediaRules(20, 20, 1, mix=False),
    "tiktok": MediaRules(1, 0, 1, needs="video"),
    "youtube": MediaRules(1, 0, 1, needs="video"),
    "sandbox": MediaRules(10, 10, 10),
}


@dataclass(frozen=True)
class MediaIssue:
    code: str
    message: str


def media_issues(files: Sequence[MediaFile], platform: str, *, going_out: bool) -> list[MediaIssue]:
    """What ``platform`` would refuse in ``files``; missing media only when ``going_out``."""
    rules = MEDIA_RULES[platform]
    videos = sum(1 for f in files if f.type == "video")
    images = len(files) - videos  # gifs go out as images everywhere we publish
    out: list[MediaIssue] = []
    if len(files) > rules.max_items:
        out.append(
            MediaIssue(
                "too_many_media",
                f"{platform} takes at most {rules.max_items} media files per post; "
                f"this one has {len(files)}. Remove {len(files) - rules.max_items}.",
            )
        )
    if images > rules.max_images:
        out.append(
            MediaIssue(
                "too_many_images",
                f"{platform} takes at most {rules.max_images} images per post; "
                f"this one has {images}.",
            )
        )
    if videos > rules.max_videos:
        out.append(
            MediaIssue(
                "too_many_videos",
                f"{platform} takes at most {rules.max_videos} video(s) per post; "
                f"this one has {videos}.",
            )
        )
    if not rules.mix and images and videos:
        out.append(
            MediaIssue(
                "mixed_media",
                f"{platform} takes images or one video in a post, not both; keep one kind.",
            )
        )
    if going_out and rules.needs == "media" and not files:
        out.append(
            MediaIssue("media_required", f"{platform} cannot publish without an image or video.")
        )
    if going_out and rules.needs == "video" and not videos:
        out.append(MediaIssue("video_required", f"{platform} publishes videos; attach one."))
    return out


def target_text(post: Post, target: PlatformTarget) -> str:
    """The text this target publishes: its own, or the post's."""
    return target.text if target.text is not None else post.content.text


def target_thread(post: Post, target: PlatformTarget) -> list[ThreadPart]:
    """The thread parts this target publishes after its text: its own, or the post's."""
    return target.thread if target.thread is not None else post.content.thread


def target_first_comment(post: Post, target: PlatformTarget) -> str | None:
    """The first comment this target makes: its own ("" for none), or the post's."""
    comment = (
        target.first_comment if target.first_comment is not None else (post.content.first_comment)
    )
    return comment or None


def _where(post: Post, index: int, name: str) -> str:
    """The request field that holds this target's thread or first comment."""
    target = post.platforms[index]
    own = target.thread if name == "thread" else target.first_comment
    return f"body.platforms.{index}.{name}" if own is not None else f"body.content.{name}"


def part_violations(
    part: ThreadPart, platform: str, banned: Iterable[str]
) -> tuple[list[Violation], list[MediaIssue]]:
    """What ``platform`` refuses in one thread part: its text as a post with no hashtags
    appended, and its media as one post's media."""
    return (
        platform_rules.validate_post(part.text, [], platform, banned_terms=banned),
        media_issues(part.media_files, platform, going_out=False),
    )


def extras_problems(post: Post, index: int, banned: Sequence[str]) -> list[TargetProblem]:
    """The thread and the first comment of one target, against its network's capabilities
    (``tools.platforms.capabilities_for``, as ``GET /api/social-accounts/platforms`` shows
    them) and its rules: each part within the network's length, a comment within its
    comment length."""
    target = post.platforms[index]
    platform = target.platform
    caps = capabilities_for(platform)
    out: list[TargetProblem] = []
    thread = target_thread(post, target)
    if thread:
        where = _where(post, index, "thread")
        if "thread" not in caps:
            out.append(
                TargetProblem(
                    index,
                    platform,
                    "thread_unsupported",
                    where,
                    f"{platform} has no threads: publish the parts as their own posts, or "
                    f"give this target an empty thread (platforms[{index}].thread = []).",
                )
            )
        else:
            for k, part in enumerate(thread):
                texts, media = part_violations(part, platform, banned)
                broken = [(v.code, "text", v.message) for v in texts]
                broken += [(m.code, "mediaFiles", m.message) for m in media]
                for code, name, message in broken:
                    out.append(
                        TargetProblem(
                            index,
                            platform,
                            code,
                            f"{where}.{k}.{name}",
                            message,
                            part=f"thread part {k + 1}",
                        )
                    )
    comment = target_first_comment(post, target)
    if comment is not None:
        where = _where(post, index, "firstComment")
        if "first_comment" not in caps:
            out.append(
                TargetProblem(
                    index,
                    platform,
                    "first_comment_unsupported",
                    where,
                    f"{platform} has no comments the account can add under its post; give "
                    f'this target an empty first comment (platforms[{index}].firstComment = "").',
                )
            )
        else:
            for v in platform_rules.validate_comment(comment, platform, banned_terms=banned):
                out.append(
                    TargetProblem(index, platform, v.code, where, v.message, "first comment")
                )
    return out


@dataclass(frozen=True)
class TargetProblem:
    """One broken rule of one target, with the request field that holds the cause."""

    index: int
    platform: str
    code: str
    field: str
    message: str
    part: str | None = None  # "thread part 2", "first comment": which part breaks it


def _field(post: Post, index: int, violation_field: str) -> str:
    if violation_field == "text" and post.platforms[index].text is not None:
        return f"body.platforms.{index}.text"
    if violation_field == "title":
        return "body.content.title"
    if violation_field == "hashtags":
        return "body.content.hashtags"
    return "body.content.text"


def text_violations(post: Post, target: PlatformTarget, banned: Iterable[str]) -> list[Violation]:
    return platform_rules.validate_post(
        target_text(post, target),
        post.content.hashtags,
        target.platform,
        banned_terms=banned,
        title=post.content.title,
    )


def problems(post: Post, banned: Sequence[str], *, going_out: bool) -> list[TargetProblem]:
    """Every rule any target of ``post`` breaks."""
    out: list[TargetProblem] = []
    for i, target in enumerate(post.platforms):
        for v in text_violations(post, target, banned):
            out.append(
                TargetProblem(i, target.platform, v.code, _field(post, i, v.field), v.message)
            )
        for m in media_issues(post.content.media_files, target.platform, going_out=going_out):
            out.append(
                TargetProblem(i, target.platform, m.code, "body.content.mediaFiles", m.message)
            )
        out += extras_problems(post, i, banned)
    return out


def ensure_valid(post: Post, banned: Sequence[str], *, going_out: bool) -> None:
    """InvalidInput (422) naming each network, rule and field, unless every target passes."""
    if not post.platforms:
        raise InvalidInput.field("body.platforms", "choose at least one social account")
    found = problems(post, banned, going_out=going_out)
    if not found:
        return
    first = found[0]
    raise InvalidInput(
        f"the post breaks {first.platform}'s rule {first.code}"
        + (f" in its {first.part}" if first.part else "")
        + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""),
        code="platform_rules",
        fields=[{"field": p.field, "message": _field_message(p)} for p in found],
    )


def _field_message(problem: TargetProblem) -> str:
    where = f"{problem.part}: " if problem.part else ""
    return f"{problem.platform}: {where}{problem.code}: {problem.message}"
