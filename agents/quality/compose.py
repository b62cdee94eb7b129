"""A draft written by code from the brief, the organization's voice and its best past posts.

This is what a reviewer gets when the model's draft fails the quality gate twice (or once, on
the local 135M model, which rarely passes: there it is the main path). It says what the brief
says, as an opening line ("Announce our Ethiopia cold brew" -> "Announcing our Ethiopia cold
brew."), then adds at most one sentence from the organization's own best-performing past posts
that is about the same subject and states nothing that could have expired (no number, offer,
date, link, hashtag, call to action or first person). Its words are the organization's, so
its voice is the organization's; everything it states was said by the brief or by the brand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.quality.checks import CLAIMS, DraftFacts, key_terms, review
from agents.toolkit import SENTENCE, keywords
from tools.platform_rules import find_banned, find_placeholders, has_cta

# Turning an instruction into an opening: "Announce our ..." -> "Announcing our ...".
_OPENINGS = {
    "announce": "Announcing",
    "introduce": "Introducing",
    "launch": "Launching",
    "promote": "Introducing",
    "share": "Sharing",
    "celebrate": "Celebrating",
    "showcase": "Showcasing",
    "highlight": "Spotlight on",
    "invite": "You're invited:",
    "remind": "A reminder:",
    "thank": "Thank you",
}
_INSTRUCTION = re.compile(
    r"^(?:please\s+)?(?:write|create|draft|compose|make|craft)\s+(?:(?:a|an|one|short|quick|"
    r"new|\w+)\s+){0,3}?(?:post|tweet|caption|update|message)s?\s*(?:about|on|for|that|to)?\s*",
    re.I,
)
# An instruction written as a label, in any language: "Schreib einen Post: ...",
# "Tweet: ...", "Instagram caption: ...".
_LABELLED = re.compile(
    r"^[^:.!?\n]{0,40}\b(?:post|posts|tweet|caption|beitrag|publicación|message|update)\s*:\s*",
    re.I,
)
_UNSAFE = re.compile(r"\d|https?://|www\.|[#@]\w|\b(?:I|I'm|me|my)\b|[\[\]{}]")
MAX_SUPPORT_CHARS = 180


@dataclass(frozen=True)
class PastPost:
    """One of the organization's past posts and how well it did (None: unknown)."""

    text: str
    engagement: float | None = None


def first_sentence(text: str) -> str:
    sentences = [s.strip() for s in SENTENCE.findall(text.split("\n")[0]) if s.strip()]
    return sentences[0] if sentences else text.strip()


def template_post(brief: str) -> str:
    """A plain post made from the brief: its first sentence turned into an opening."""
    text = " ".join(brief.split())
    text = _INSTRUCTION.sub("", text, count=1)
    text = _LABELLED.sub("", text, count=1)
    text = first_sentence(text) or text
    words = text.split(" ", 1)
    opening = _OPENINGS.get(words[0].casefold().rstrip(",:"))
    if opening:
        text = f"{opening} {words[1]}" if len(words) > 1 else opening
    text = text[:1].upper() + text[1:]
    return text if re.search(r"[.!?…]$", text) else f"{text.rstrip(',;:')}."


def supporting_sentence(
    brief: str,
    past_posts: Sequence[PastPost],
    voice: Sequence[str],
    banned: Sequence[str],
    max_chars: int,
) -> str | None:
    """The best sentence of the best past posts to follow the opening: about the brief's
    subject, timeless (nothing in it can have expired), and passing every draft check."""
    terms = key_terms(brief)
    voice_words = set().union(*(keywords(v) for v in voice)) if voice else set()
    ranked = sorted(past_posts, key=lambda p: -(p.engagement or 0.0))
    best: tuple[float, str] | None = None
    for rank, post in enumerate(ranked):
        for raw in SENTENCE.findall(post.text.replace("\n", " ")):
            sentence = " ".join(raw.split())
            if not (20 <= len(sentence) <= min(MAX_SUPPORT_CHARS, max_chars)):
                continue
            if not re.search(r"[.!?]$", sentence) or has_cta(sentence):
                continue
            if _UNSAFE.search(sentence) or any(p.search(sentence) for _, p in CLAIMS):
                continue
            if find_banned(sentence, banned) or find_placeholders(sentence):
                continue
            words = keywords(sentence)
            overlap = len(terms & words)
            if not overlap:
                continue
            facts = DraftFacts(brief=brief, sources=brief)
            if [p for p in review(sentence, facts) if p.check != "off_brief"]:
                continue
            # Subject first, then the brand's own voice words, then the better post.
            score = overlap + 0.25 * len(voice_words & words) - 0.01 * rank
            if best is None or score > best[0]:
                best = (score, sentence)
    return best[1] if best else None


def composed_draft(
    brief: str,
    past_posts: Sequence[PastPost] = (),
    voice: Sequence[str] = (),
    banned: Sequence[str] = (),
    max_chars: int = 400,
) -> str:
    """The brief's opening and, where one fits, a sentence of the brand's own."""
    opening = template_post(brief)
    room = max_chars - len(opening) - 1
    support = supporting_sentence(brief, past_posts, voice, banned, room)
    if support and support.casefold() not in opening.casefold():
        return f"{opening} {support}"
    return opening
