"""How a post will appear on each of its networks, before it goes out.

Per target: the composed text (text, then the hashtags it lacks, as ``compose`` builds it
for publishing), its length as that network counts it, where a feed's "see more" would cut
it and whether the network would refuse it, its hashtags, the media checks, every violation
with what to do about it, and a repaired version (``platform_rules.repair``) when one is
needed, so the fix is one click away.
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

    @property
    def valid(self) -> bool:
        return not self.violations


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
}


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
        media=[
            {"mediaId": str(m.media_id) if m.media_id else None, "type": m.type, "url": m.url}
            for m in post.content.media_files
        ],
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
    return out


async def preview(db: Any, org_id: ObjectId, post_id: ObjectId) -> tuple[Post, list[TargetPreview]]:
    """The post and how each of its targets will appear (media checked as it will go out)."""
    post = await get(db, org_id, post_id)
    banned = (await organizations.settings(db, org_id)).banned_terms
    return post, [
        preview_target(post, i, banned, going_out=True) for i in range(len(post.platforms))
    ]
