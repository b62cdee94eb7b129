"""Writes ``engagement_optimizer.v1.jsonl`` from the demo generator's held-out posts.

Run ``.venv/bin/python -m evals.datasets.build_engagement_optimizer`` from the repo root; the
output is byte-for-byte the committed file (the generator is seeded, and posts are keyed by
their stable sandbox ids, not ObjectIds). ``--check`` exits 1 if the file on disk differs.

Each case is one held-out post of ``evals.fixtures.engage_holdout``: its text, network,
hashtags, content type and real publishing time as the planned time, and in
``expect.actual_rate`` the engagement rate its analytics really show. The posts inside the
thin fixture's window are asked again against ``engage_thin`` (a 21-day history), where the
model must fall back on platform priors.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from bson import ObjectId

from evals.cases import render_rows, write_or_check
from evals.fixtures import engage_holdout, engage_thin
from persistence.models import Post
from services.demo.planted import PLANTED, TRENDING_HASHTAG, TZ

PATH = Path(__file__).parent / "engagement_optimizer.v1.jsonl"


def _edt(at: datetime) -> bool:
    """Published in summer time while the eval's clock is in standard time: the local
    hour must be read with the offset of its own day."""
    return bool(at.astimezone(TZ).dst())


def tags_of(post: Post, thin: bool) -> list[str]:
    assert post.scheduling.published_at is not None
    local = post.scheduling.published_at.astimezone(TZ)
    platform = post.platforms[0].platform
    best = PLANTED["best_hours"].get(platform, {}).get("local_hours", [])
    tags = []
    if thin:
        tags.append("thin-history")
    if _edt(local):
        tags.append("dst")
    if local.hour in best:
        tags.append("peak-hour")
    if local.weekday() >= 5:
        tags.append("weekend")
    if TRENDING_HASHTAG in post.content.hashtags:
        tags.append("trending-tag")
    if "?" in post.content.text:
        tags.append("question")
    if post.content.content_type in ("link", "text"):
        tags.append("low-media")
    if platform == "twitter":
        tags.append("x-280")
    return tags


def case_of(world: engage_holdout.World, post: Post, index: int, *, thin: bool) -> dict:
    assert post.scheduling.published_at is not None
    platform = post.platforms[0].platform
    local = post.scheduling.published_at.astimezone(TZ)
    key = engage_holdout.post_key(post).removeprefix("sandbox-")
    fixture = "engage_thin" if thin else "engage_holdout"
    history = f"{engage_thin.KEEP_DAYS}-day history, priors" if thin else "90-day history"
    return {
        "id": f"eo-{'thin-' if thin else ''}{key}",
        "split": "dev" if index % 2 == 0 else "test",
        "fixture": fixture,
        "inputs": {
            "text": post.content.text,
            "platform": platform,
            "hashtags": list(post.content.hashtags),
            "contentType": post.content.content_type,
            "at": local.isoformat(),
        },
        "data": {},
        "expect": {"actual_rate": round(engage_holdout.actual_rate(world, post), 6)},
        "tags": tags_of(post, thin),
        "note": (
            f"Held-out {platform} {post.content.content_type} post, "
            f"{engage_holdout.days_ago(post)} days before NOW; {history}."
        ),
    }


def build_cases() -> list[dict]:
    world = engage_holdout.make_world(ObjectId())
    held = [p for p in world.posts if engage_holdout.post_key(p) in world.held_out]
    thin = [p for p in held if engage_holdout.days_ago(p) <= engage_thin.KEEP_DAYS]
    return [case_of(world, p, i, thin=False) for i, p in enumerate(held)] + [
        case_of(world, p, i + 1, thin=True) for i, p in enumerate(thin)
    ]


def render() -> str:
    return render_rows(build_cases())


def main(argv: list[str]) -> int:
    return write_or_check(PATH, render(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
