"""How a post will appear on each of its networks, before it goes out.

Per target: the composed text (text, then the hashtags it lacks, as ``compose`` builds it
for publishing), its length as that network counts it, where a feed's "see more" would cut
it and whether the network would refuse it, its hashtags, the media checks, every violation
with what to do about it, and a repaired version (``platform_rules.repair``) when one is
needed, so the fix is one click away. Then each thread part and the first comment, as they
will follow the post (as written, each with its own length and violations); a thread or
comment the network cannot take at all is listed under ``unsupported``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from persistence.models import Post
from services import organizations
from services.workspace import rules
from services.workspace.posts import get
from tools import platform_rules

# Where each network's feed folds a long post behind "see more" (characters shown), as the
# apps show it (2025). The post is still whole; this is what readers see first.
FOLD_AT: dict[str, int] = {
    "facebook": 480,
    "instagram": 125,
    "linkedin": 210,
    "tiktok": 100,
    "youtube": 157,
}


@dataclass
class Issue:
    code: str
    field: str
    message: str
    fix: str


@dataclass
class PartPreview:
    """A thread part or the first comment, as it will appear: published as written (no
    hashtags appended), its length as the network counts it, and what the network refuses."""

    kind: str  # "thread_part" or "first_comment"
    position: int  # 1 for the main post's first reply; the comment comes after the parts
    text: str
    length: int
    max_length: int
    over_by: int
    truncated_text: str | None
    media: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.violations


@dataclass
class TargetPreview:
    social_account_id: ObjectId
    platform: str
    text: str
    length: int
    max_length: int
    counting: str
    over_by: int
    truncated_text: str | None
    fold_at: int | None
    visible_before_fold: str
    hashtags: list[str]
    max_hashtags: int | None
    media: list[dict[str, Any]]
    violations: list[Issue] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    suggestion: dict[str, Any] | None = None
    thread: list[PartPreview] = field(default_factory=list)
    first_comment: PartPreview | None = None
    # A thread or first comment the network cannot take at all.
    unsupported: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        parts = [*self.thread, *([self.first_comment] if self.first_comment else [])]
        return not self.violations and not self.unsupported and all(p.valid for p in parts)


_FIXES = {
    "empty_text": "Write the post text.",
    "too_long": "Shorten the text or this network's own text, or drop hashtags.",
    "title_too_long": "Shorten the title.",
    "too_many_hashtags": "Keep only the most relevant hashtags.",
    "malformed_hashtag": "Use letters, digits or underscores only, with at least one letter.",
    "banned_term": "Remove the organization's banned terms (see its settings).",
    "placeholder": "Fill in or remove the placeholders.",
    "forbidden_character": "Remove the characters this network refuses.",
    "too_many_media": "Remove media files or split the post.",
    "too_many_images": "Remove images or split the post.",
    "too_many_videos": "Keep one video.",
    "mixed_media": "Keep only images or only the video for this network.",
    "media_required": "Attach an image or a video from the media library.",
    "video_required": "Attach a video from the media library.",
    "thread_unsupported": "Give this target an empty thread, or post the parts on their own.",
    "first_comment_unsupported": "Give this target an empty first comment.",
}


def _media_refs(files: list[Any]) -> list[dict[str, Any]]:
    return [
        {"mediaId": str(m.media_id) if m.media_id else None, "type": m.type, "url": m.url}
        for m in files
    ]


def _part(
    kind: str, position: int, text: str, platform: str, limit: int, violations: list[Issue]
) -> PartPreview:
    length = platform_rules.post_length(text, platform)
    return PartPreview(
        kind=kind,
        position=position,
        text=text,
        length=length,
        max_length=limit,
        over_by=max(0, length - limit),
        truncated_text=_cut(text, platform, limit) if length > limit else None,
        violations=violations,
    )


def _extras(post: Post, index: int, banned: list[str], out: TargetPreview) -> None:
    """The target's thread parts and first comment, each as it will appear."""
    target = post.platforms[index]
    platform = target.platform
    max_length = platform_rules.rules_for(platform).max_length
    by_part: dict[str | None, list[Issue]] = {}
    for p in rules.extras_problems(post, index, banned):
        issue = Issue(p.code, p.field, p.message, _FIXES.get(p.code, p.message))
        if p.code.endswith("_unsupported"):
            out.unsupported.append(issue)
        else:
            by_part.setdefault(p.part, []).append(issue)
    for k, part in enumerate(rules.target_thread(post, target)):
        preview = _part(
            "thread_part",
            k + 1,
            part.text,
            platform,
            max_length,
            by_part.get(f"thread part {k + 1}", []),
        )
        preview.media = _media_refs(part.media_files)
        out.thread.append(preview)
    comment = rules.target_first_comment(post, target)
    if comment is not None:
        limit = platform_rules.comment_max_length(platform)
        out.first_comment = _part(
            "first_comment",
            len(out.thread) + 1,
            comment,
            platform,
            limit,
            by_part.get("first comment", []),
        )


def _cut(text: str, platform: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` as ``platform`` counts, by code point."""
    lo, hi = 0, len(text)
    while lo < hi:  # binary search: lengths grow with the prefix
        mid = (lo + hi + 1) // 2
        if platform_rules.post_length(text[:mid], platform) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def preview_target(post: Post, index: int, banned: list[str], *, going_out: bool) -> TargetPreview:
    target = post.platforms[index]
    platform = target.platform
    limits = platform_rules.rules_for(platform)
    text = rules.target_text(post, target)
    composed = platform_rules.compose(text, post.content.hashtags, platform)
    length = platform_rules.post_length(composed, platform)
    fold = FOLD_AT.get(platform)
    out = TargetPreview(
        social_account_id=target.social_account_id,
        platform=platform,
        text=composed,
        length=length,
        max_length=limits.max_length,
        counting=limits.counting,
        over_by=max(0, length - limits.max_length),
        truncated_text=_cut(composed, platform, limits.max_length)
        if length > limits.max_length
        else None,
        fold_at=fold,
        visible_before_fold=composed if fold is None or len(composed) <= fold else composed[:fold],
        hashtags=platform_rules.inline_hashtags(composed),
        max_hashtags=limits.max_hashtags,
        media=_media_refs(post.content.media_files),
        advice=platform_rules.advise(text, post.content.hashtags, platform),
    )
    violations = rules.text_violations(post, target, banned)
    for v in violations:
        out.violations.append(Issue(v.code, v.field, v.message, _FIXES.get(v.code, v.message)))
    for m in rules.media_issues(post.content.media_files, platform, going_out=going_out):
        out.violations.append(Issue(m.code, "mediaFiles", m.message, _FIXES[m.code]))
    if violations:
        try:
            fixed_text, fixed_tags = platform_rules.repair(
                text, post.content.hashtags, platform, violations, banned_terms=banned
            )
            out.suggestion = {"text": fixed_text, "hashtags": fixed_tags}
        except ValueError:
            out.suggestion = None  # the banned terms rule out every fallback: no suggestion
    _extras(post, index, banned, out)
    return out


async def preview(db: Any, org_id: ObjectId, post_id: ObjectId) -> tuple[Post, list[TargetPreview]]:
    """The post and how each of its targets will appear (media checked as it will go out)."""
    post = await get(db, org_id, post_id)
    banned = (await organizations.settings(db, org_id)).banned_terms
    return post, [
        preview_target(post, i, banned, going_out=True) for i in range(len(post.platforms))
    ]
