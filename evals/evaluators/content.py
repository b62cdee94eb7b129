"""Deterministic evaluators of a drafted post: platform constraints, banned terms and
placeholders, hashtag count, the requested call to action, the brief's key facts, and (for the
content_creation graph) what the approval step did with the post.

The platform *limits* are data from ``tools.platform_rules`` (one place states them), and the
post is put together by its ``compose`` (the documented shape of a published post). Every
*check* is written here again, on purpose: the agent validates its own drafts with
``validate_post`` and reports a ``repaired`` flag, and an evaluator that reused that validator
would share its blind spots. So banned terms also catch inflections ("cheapest" for "cheap")
and placeholders are any bracketed or braced blank, not only the words the agent knows.

Each function is pure, takes the post as plain values and returns a score in 0..1 (``None``
when the check does not apply to the case).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import regex

from tools.platform_rules import compose, inline_hashtags, post_length, rules_for, tag_body

# --- the post as published -----------------------------------------------------------------


def composed_post(text: str, hashtags: Sequence[str], platform: str) -> str:
    """The text a network would receive: the text, then the hashtags it does not hold."""
    return compose(text, list(hashtags), platform)


def hashtag_count(text: str, hashtags: Sequence[str], platform: str) -> int:
    """Hashtags in the composed post: inline ones and appended ones alike (as the networks
    count them)."""
    return len(inline_hashtags(composed_post(text, hashtags, platform)))


# --- platform constraints ------------------------------------------------------------------


def constraint_failures(
    text: str, hashtags: Sequence[str], platform: str, title: str | None = None
) -> list[str]:
    """Which of the platform's hard rules the post breaks (empty: publishable)."""
    rules = rules_for(platform)
    post = composed_post(text, hashtags, platform)
    failures = []
    if not text.strip():
        failures.append("empty text")
    length = post_length(post, platform)
    if length > rules.max_length:
        failures.append(f"length {length} > {rules.max_length}")
    malformed = [h for h in hashtags if tag_body(str(h)) is None]
    if malformed:
        failures.append(f"malformed hashtags {malformed}")
    count = len(inline_hashtags(post))
    if rules.max_hashtags is not None and count > rules.max_hashtags:
        failures.append(f"{count} hashtags > {rules.max_hashtags}")
    bad_chars = sorted({c for c in post + (title or "") if c in rules.forbidden_chars})
    if bad_chars:
        failures.append(f"forbidden characters {bad_chars}")
    if rules.title_max_length is not None:
        # A platform with titles (YouTube) cannot publish without one.
        if not (title or "").strip():
            failures.append("missing title")
        elif len((title or "").encode("utf-16-le")) // 2 > rules.title_max_length:
            failures.append(f"title longer than {rules.title_max_length}")
    return failures


def platform_constraints(
    text: str, hashtags: Sequence[str], platform: str, title: str | None = None
) -> float:
    """1.0 when the post meets every hard rule of its platform, else 0.0: a post a network
    rejects is not partly good."""
    return 0.0 if constraint_failures(text, hashtags, platform, title) else 1.0


def hashtag_limit(platform: str) -> int:
    """The most hashtags a post on ``platform`` should carry: the platform's hard maximum,
    and never more than the top of its recommended range (beyond it a post reads as spam and
    the networks rank it down)."""
    rules = rules_for(platform)
    top = rules.recommended_hashtags[1]
    return top if rules.max_hashtags is None else min(top, rules.max_hashtags)


def hashtags_within_limits(text: str, hashtags: Sequence[str], platform: str) -> float:
    return 1.0 if hashtag_count(text, hashtags, platform) <= hashtag_limit(platform) else 0.0


# --- banned terms and placeholders ---------------------------------------------------------

_INFLECTION = r"(?:s|es|er|ers|est|ly|ed|ing|ness)?"


def normalize(text: str) -> str:
    """Casefolded, accents removed, compatibility forms unified, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def banned_terms_in(post: str, banned_terms: Iterable[str]) -> list[str]:
    """The banned terms ``post`` uses: as words, inflected ("cheap" -> "cheapest"), or
    inside a hashtag (``#cheapcoffee``)."""
    folded = normalize(post)
    tags = [normalize(t) for t in inline_hashtags(post)]
    found = []
    for term in banned_terms:
        words = normalize(term).split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(regex.escape(w) for w in words) + _INFLECTION + r"(?!\w)"
        joined = "".join(words)
        if regex.search(pattern, folded) or any(joined in tag for tag in tags):
            found.append(term)
    return found


# Blanks a template or a model leaves: any bracketed or braced span, angle-bracket
# instructions, the usual "to be decided" markers, filler text and runs of underscores.
_BLANKS = regex.compile(
    r"\[[^\[\]\n]{1,80}\]"
    r"|\{\{?[^{}\n]{1,80}\}\}?"
    r"|<[^<>\n]{1,80}>"
    r"|(?<!\w)(?:TBD|TBA|TBC)(?!\w)"
    r"|\blorem\s+ipsum\b"
    r"|\binsert\s+(?:your|the|a|an|link|name|date|product|url|here)\b"
    r"|_{3,}",
    regex.I,
)
# Case-sensitive: "xxx" is kisses; "XXX" is a blank (as are "$XX" and "XX%").
_BLANK_X = regex.compile(r"(?<!\w)XX+(?!\w)")


def placeholders_in(post: str) -> list[str]:
    return [m.group() for m in _BLANKS.finditer(post)] + [
        m.group() for m in _BLANK_X.finditer(post)
    ]


def clean_post(post: str, banned_terms: Iterable[str]) -> float:
    """1.0 when the post holds no banned term and no placeholder, else 0.0."""
    return 0.0 if banned_terms_in(post, banned_terms) or placeholders_in(post) else 1.0


# --- call to action and key facts ----------------------------------------------------------

# Words a reworded call to action may drop without losing its point.
_STOPWORDS = frozenset(
    {"a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "our", "your", "us"}
    | {"we", "you", "it", "is", "are", "be", "with", "by", "from", "this", "that", "me", "my"}
)
# Numbers keep their inner separators ("4.20", "6:30"); currency and percent signs are tokens
# of their own, so "$14" matches "14 $" only through the number and "58k" is "58", "k".
_TOKEN = regex.compile(r"\p{N}+(?:[.,:]\p{N}+)*|[$€£%]|[\p{L}\p{N}@'_]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize(text))


def _contains(post_tokens: Sequence[str], phrase: str) -> bool:
    """Whether the phrase's tokens appear consecutively in the post (word boundaries, so
    "brew" does not match inside "brewery"; punctuation and case do not matter)."""
    wanted = _tokens(phrase)
    if not wanted:
        return False
    n = len(wanted)
    return any(list(post_tokens[i : i + n]) == wanted for i in range(len(post_tokens) - n + 1))


def cta_present(post: str, cta: str | None) -> float | None:
    """None when no call to action was asked for. Otherwise 1.0 when the requested words
    appear as written (case and punctuation aside), else the share of its content words
    the post holds: a reworded CTA keeps some credit, a dropped one gets none."""
    if not cta or not cta.strip():
        return None
    tokens = _tokens(post)
    if _contains(tokens, cta):
        return 1.0
    content = [w for w in _tokens(cta) if w not in _STOPWORDS]
    if not content:
        return 0.0
    present = set(tokens)
    return sum(w in present for w in content) / len(content)


Fact = str | Sequence[str]  # a fact, or its accepted spellings ("November 28", "Nov 28")


def fact_covered(post: str, fact: Fact) -> bool:
    tokens = _tokens(post)
    spellings = [fact] if isinstance(fact, str) else list(fact)
    return any(_contains(tokens, s) for s in spellings)


def facts_covered(post: str, facts: Sequence[Fact] | None) -> float | None:
    """The share of the brief's key facts the post states (None when the case lists none)."""
    if not facts:
        return None
    return sum(fact_covered(post, f) for f in facts) / len(facts)


def terms_absent(post: str, terms: Sequence[str] | None) -> float | None:
    """The share of ``terms`` the post does not contain (a reviewer asked for them to go)."""
    if not terms:
        return None
    tokens = _tokens(post)
    return sum(not _contains(tokens, t) for t in terms) / len(terms)


# --- content_creation: the approval's outcome ----------------------------------------------


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def approval_outcome(
    action: str,
    expected_status: str,
    final_status: str | None,
    stored: Sequence[Mapping[str, Any]],
    approved_text: str | None,
    first_slot_at: Any,
) -> float:
    """The share of the checks the run's last decision calls for that hold.

    approve: exactly one post stored for the run; its text is the text the reviewer approved;
    it is scheduled at the first proposed slot (the same instant, to the second); the run
    ends in ``expected_status``. reject: nothing stored; the run ends in ``expected_status``.

    ``stored`` holds each post the run stored, as ``{"text", "status", "scheduledAt"}``.
    """
    if action == "reject":
        checks = [not stored, final_status == expected_status]
    elif action == "approve":
        post = stored[0] if len(stored) == 1 else None
        slot = _instant(first_slot_at)
        at = _instant(post.get("scheduledAt")) if post else None
        checks = [
            len(stored) == 1,
            post is not None and approved_text is not None and post["text"] == approved_text,
            post is not None
            and post.get("status") == "scheduled"
            and slot is not None
            and at is not None
            and abs((at - slot).total_seconds()) < 1,
            final_status == expected_status,
        ]
    else:
        raise ValueError(f"no outcome to check for the decision {action!r}")
    return sum(checks) / len(checks)
