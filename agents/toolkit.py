"""What the drafting and planning agents share: the run's clock, the tenant's settings, hashtag
candidates from the tenant's own analytics, and the handling of model prose.

Model prose is never trusted blindly. A reply is cleaned (preambles, labels, quotes, markdown
and repeated sentences removed), then used only if it reads as prose, does not echo the prompt,
and (for explanations of numbers) every number and hashtag it states appears in the facts it
was given. Otherwise the agent's deterministic template stands in. The tiny local model often
fails one of these; a capable model rarely does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import regex
from bson import ObjectId

from tools.analytics import hashtag_stats
from tools.platform_rules import find_banned, find_placeholders, find_urls, tag_body
from tools.trends import detect_trends, window_counts

if TYPE_CHECKING:
    from agents.base import AgentContext

# --- the run -----------------------------------------------------------------------------


# --- hashtags ----------------------------------------------------------------------------

_TAG_CHARS = regex.compile(r"[\p{L}\p{M}\p{N}_]+")
_WORD = regex.compile(r"[\p{L}\p{N}]+")
# Words too common to say what a post is about.
_STOPWORD_TEXT = (
    "about above after again also announce announcing around before being below between "
    "both could does doing down during each ever every from have having here into just like "
    "make more most much must never only other ours over post posts same share should some "
    "such than that their them then there these they this those through under until very "
    "want what when where which while will with would write your yours today week best "
    "great"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def clean_tag(tag: object, banned_terms: Sequence[str] = ()) -> str | None:
    """``#body`` for a usable hashtag (a malformed one mended when letters remain), None for
    one that is empty, all digits, a placeholder or holds a banned term."""
    raw = str(tag).strip()
    body = tag_body(raw) or "".join(_TAG_CHARS.findall(raw))
    if not body or body.isdigit():
        return None
    candidate = f"#{body}"
    if find_placeholders(raw) or find_banned(candidate, banned_terms):
        return None
    return candidate


def keywords(text: str) -> set[str]:
    """The content words of ``text``: lower case, four letters or more, plural ``s`` off."""
    words = set()
    for word in _WORD.findall(text.casefold()):
        if len(word) < 4 or word in _STOPWORDS or word.isdigit():
            continue
        words.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return words


def is_relevant(tag: str, words: set[str], text: str) -> bool:
    """Whether a hashtag is about ``text``: one of its content words is in the tag
    (``cold`` in ``#coldbrewseason``), or the tag is in the text with spaces removed."""
    body = tag.lstrip("#").casefold()
    compact = "".join(_WORD.findall(text.casefold()))
    return any(w in body for w in words) or (len(body) >= 4 and body in compact)


@dataclass(frozen=True)
class TagCandidate:
    """One of the tenant's hashtags with what its analytics say about it."""

    tag: str  # "#coldbrewseason"
    uses: int
    recent_uses: int
    engagement_rate: float | None
    rising: bool
    trend_score: float


async def tenant_tags(
    db: object,
    org_id: ObjectId,
    platform: str | None,
    now: datetime,
    *,
    days: int = 90,
    recent_days: int = 14,
) -> list[TagCandidate]:
    """The tenant's hashtags on ``platform`` (all platforms when it has none there), rising
    ones first by trend score, then by engagement rate. Only the tenant's own analytics."""
    stats = await hashtag_stats(
        db, org_id, days=days, recent_days=recent_days, platform=platform, now=now, min_uses=2
    )
    if not stats and platform is not None:
        stats = await hashtag_stats(
            db, org_id, days=days, recent_days=recent_days, now=now, min_uses=2
        )
    trends = {
        t.tag: t
        for t in detect_trends(
            window_counts(stats),
            now=now,
        )
    }
    out = [
        TagCandidate(
            tag=s.tag,
            uses=s.uses,
            recent_uses=s.recent_uses,
            engagement_rate=s.engagement_rate,
            rising=trends[s.tag].rising,
            trend_score=trends[s.tag].score,
        )
        for s in stats
    ]
    # Rising first, by trend score; then the rest by how well their posts engage.
    out.sort(
        key=lambda c: (not c.rising, -c.trend_score if c.rising else 0, -(c.engagement_rate or 0))
    )
    return out


def relevant_candidates(candidates: Iterable[TagCandidate], text: str) -> list[TagCandidate]:
    words = keywords(text)
    return [c for c in candidates if is_relevant(c.tag, words, text)]


def merge_tags(
    groups: Iterable[Iterable[str]], limit: int, *, taken: Iterable[str] = ()
) -> list[str]:
    """The first ``limit`` distinct tags of ``groups`` in order, skipping those in ``taken``
    (compared without ``#`` and case)."""
    seen = {t.lstrip("#").casefold() for t in taken}
    out: list[str] = []
    for group in groups:
        for tag in group:
            key = tag.lstrip("#").casefold()
            if len(out) >= limit:
                return out
            if key and key not in seen:
                seen.add(key)
                out.append(tag)
    return out


# --- model prose -------------------------------------------------------------------------

_FENCE = re.compile(r"^```\w*\s*|\s*```$")
# "Sure!" on its own line, or a line introducing the answer ("Here is your post:").
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|okay|ok|certainly|of course|absolutely)\b[!.,]?[ \t]*\n"
    r"|(?:(?:sure|okay|ok|certainly|of course|absolutely)\b[!.,]?\s*)?"
    r"(?:here(?:'s| is| are)|below is)\b[^\n]*:[ \t]*\n)",
    re.I,
)
_LABEL = re.compile(
    r"^\s*(?:\*\*|__)?(?:here(?:'s| is) (?:the|your|a|my) )?(?:post|summary|rationale|"
    r"explanation|text|caption|tweet|answer|draft|revised post|corrected post|fixed post|"
    r"output)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*",
    re.I,
)
_QUOTES = ('"', "“", "”", "'", "‘", "’")
# A sentence: up to its closing punctuation; a dot between digits (5.99) does not end it.
SENTENCE = re.compile(r"(?:[^.!?…]|(?<=\d)\.(?=\d))+(?:[.!?…]+[\"'”’)]*|$)")


def clean_prose(text: str, *, paragraphs: bool = True, max_chars: int | None = None) -> str:
    """A model reply without chat wrapping: code fences, "Here is..." lines, a leading label
    ("Summary:"), surrounding quotes, markdown emphasis and repeated sentences (small models
    loop). ``paragraphs=False`` joins everything into one paragraph; ``max_chars`` cuts at a
    sentence end (never mid-word)."""
    text = _FENCE.sub("", text.strip()).strip()
    for _ in range(2):  # "Sure!" and then "Here is your post:"
        text = _PREAMBLE.sub("", text, count=1)
    text = _LABEL.sub("", text, count=1).strip()
    inner = text[1:-1]
    # One quoted reply, not a text that merely starts and ends with quotations.
    quoted = len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES
    if quoted and not any(q in inner for q in _QUOTES if q != "'"):
        text = inner.strip()
    text = text.replace("**", "").replace("__", "")
    text = re.sub(r"(?m)^\s*#{1,6}\s+", "", text)  # markdown headings, not hashtags
    text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not paragraphs:
        text = " ".join(text.split())
    text = _dedupe_sentences(text)
    if max_chars is not None and len(text) > max_chars:
        text = _cut_at_sentence(text, max_chars)
    return text


def _dedupe_sentences(text: str) -> str:
    seen: set[str] = set()
    out = []
    for paragraph in text.split("\n"):
        kept = []
        for sentence in SENTENCE.findall(paragraph):
            key = " ".join(sentence.casefold().split())
            if not key.strip():
                continue
            if key in seen:
                continue
            seen.add(key)
            kept.append(sentence.strip())
        out.append(" ".join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _cut_at_sentence(text: str, max_chars: int) -> str:
    head = text[:max_chars]
    ends = [m.end() for m in re.finditer(r"[.!?…][\"'”’)]*(?=\s|$)", head)]
    if ends:
        return head[: ends[-1]].strip()
    cut = head.rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…" if cut else ""


def reads_as_prose(text: str, *, echo_labels: Sequence[str] = (), min_words: int = 3) -> bool:
    """Whether a cleaned reply is worth using: enough words, mostly letters, and none of the
    prompt's field labels (a model that echoes "Brief: ..." has not written anything)."""
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    if len(words) < min_words:
        return False
    visible = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    if not visible or letters / len(visible) < 0.6:
        return False
    folded = text.casefold()
    return not any(label.casefold() in folded for label in echo_labels)


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)")
_HASHTAG = regex.compile(r"(?<![\p{L}\p{M}\p{N}_&#])#([\p{L}\p{M}\p{N}_]+)")


def _numbers(text: str) -> list[str]:
    # 1,234 -> 1234: thousands separators are not two numbers.
    return _NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text))


def _grounds(stated: str, known: float) -> bool:
    """A stated number matches a known one if it is the known one rounded to as many
    decimals as it was written with (4.2 and 4 both stand for 4.21)."""
    decimals = len(stated.split(".")[1]) if "." in stated else 0
    return math.isclose(round(known, decimals), float(stated), abs_tol=1e-9)


def grounded(text: str, facts: str) -> bool:
    """Whether every number and hashtag in ``text`` appears in ``facts``. Hours written on
    a 12-hour clock (6 pm for 18:00) count as appearing."""
    known = [float(n) for n in _numbers(facts)]
    known += [h - 12 for h in known if h.is_integer() and 13 <= h <= 23]
    known += [12.0] if any(h in (0.0, 12.0) for h in known) else []
    for stated in _numbers(text):
        if not any(_grounds(stated, k) for k in known):
            return False
    tags = {t.casefold() for t in _HASHTAG.findall(facts)}
    return all(t.casefold() in tags for t in _HASHTAG.findall(text))


def unsupported_numbers(text: str, sources: str) -> list[str]:
    """The numbers ``text`` states that ``sources`` do not give (URLs left out): in a post,
    an invented price, date or count is a wrong claim, not a style choice."""
    spans = find_urls(text)
    for start, end, _ in reversed(spans):
        text = text[:start] + " " + text[end:]
    known = [float(n) for n in _numbers(sources)]
    return list(dict.fromkeys(n for n in _numbers(text) if not any(_grounds(n, k) for k in known)))


def drop_sentences_with(text: str, numbers: Sequence[str] = (), tokens: Sequence[str] = ()) -> str:
    """``text`` without the sentences that state any of ``numbers`` or contain any of
    ``tokens`` (plain substrings)."""
    patterns = [re.compile(rf"(?<![\w.]){re.escape(n)}(?![\d])") for n in numbers]

    def bad(sentence: str) -> bool:
        return any(p.search(sentence) for p in patterns) or any(t in sentence for t in tokens)

    paragraphs = []
    for paragraph in text.split("\n"):
        kept = [s.strip() for s in SENTENCE.findall(paragraph) if s.strip() and not bad(s)]
        paragraphs.append(" ".join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(paragraphs)).strip()


def mentions_any(text: str, anchors: Iterable[str]) -> bool:
    """Whether ``text`` names one of ``anchors`` as a whole word (case ignored)."""
    folded = text.casefold()
    return any(re.search(rf"(?<!\w){re.escape(a.casefold())}(?!\w)", folded) for a in anchors if a)


async def explain(
    ctx: AgentContext,
    system: str,
    user: str,
    *,
    facts: str,
    fallback: str,
    echo_labels: Sequence[str],
    anchors: Sequence[str] = (),
    max_chars: int = 700,
    max_tokens: int = 160,
) -> tuple[str, bool]:
    """Ask the model to put computed facts into words. ``(text, True)`` if its reply is clean
    prose that states no number or hashtag missing from ``facts`` and names at least one of
    ``anchors`` (so it is about these facts, not fluent filler); else ``(fallback, False)``."""
    reply = await ctx.chat(
        system,
        user,
        temperature=min(ctx.settings.temperature, 0.3),  # explaining numbers, not inventing
        max_tokens=min(ctx.settings.max_tokens, max_tokens),
    )
    text = clean_prose(reply, paragraphs=False, max_chars=max_chars)
    if (
        reads_as_prose(text, echo_labels=echo_labels, min_words=6)
        and not find_placeholders(text)
        and grounded(text, facts)
        and (not anchors or mentions_any(text, anchors))
    ):
        return text, True
    return fallback, False


def pct(rate: float | None, digits: int = 2) -> str:
    """A rate (a fraction) as a percentage: 0.07405 -> '7.41%'."""
    return "n/a" if rate is None else f"{rate * 100:.{digits}f}%"
