"""The platforms' content rules as data, a validator, and a deterministic repair.

"Constraints are code, not hope": a drafted post is checked here after the model writes it;
the violations (each saying what to fix) go back to the model for one repair; :func:`repair`
is the deterministic fallback that always yields a valid post.

How a post is put together (:func:`compose`): ``text``, then the call to action if one is
given and not already in the text, then the hashtags that the text does not already contain,
each as ``#tag``, space-separated, after a blank line. Hashtags are compared
case-insensitively, so ``#Coffee`` in the text satisfies ``coffee`` in the list. The leading
``#`` is optional in the list. Length and hashtag-count limits apply to that composed post,
so inline hashtags and appended ones count alike.

How length is counted:

* X (``twitter``): X's weighted length, from twitter-text's ``config/v3.json`` (X's own
  reference implementation): the text is NFC-normalised; a code point in U+0000-U+10FF,
  U+2000-U+200D, U+2010-U+201F or U+2032-U+2037 weighs 1 and any other weighs 2; an emoji
  sequence (skin tones, ZWJ families, flags, keycaps) weighs 2 as a whole; a URL weighs 23
  (t.co wrapping) whatever its length. twitter-text also links bare domains (``example.com``)
  by its TLD list; we cannot know which it will link, so a bare domain counts as
  ``max(23, its own weight)``: we may over-count, never under-count. Emoji detection uses
  Unicode grapheme clusters with an Extended_Pictographic / Regional_Indicator / keycap
  member, an approximation of twemoji-parser's list; non-standard ZWJ combinations that X
  does not recognise as one emoji are the known gap.
* Bluesky: grapheme clusters (what a reader sees as one character), at most 300, and at
  most 3000 UTF-8 bytes, as the ``app.bsky.feed.post`` lexicon states for ``text``
  (``maxGraphemes: 300, maxLength: 3000``); the PDS refuses a record over either.
* every other platform: UTF-16 code units (what a JavaScript ``String.length`` reports, so an
  emoji outside the BMP counts 2). Platforms do not document their counting; this is the
  conservative choice, since it is never below the code-point count.

Hashtags must match ``#[\\p{L}\\p{M}\\p{N}_]+`` (Unicode letters, combining marks so Indic
and Thai tags work, digits, underscore) and contain at least one non-digit, as on X and
Instagram where ``#2024`` is not a tag.

Limits are as the platforms documented them when written (2025): X 280 weighted, LinkedIn
3000, Instagram 2200 and 30 hashtags, Facebook 63206, TikTok 2200 (TikTok has raised the
caption limit for some accounts; 2200 is the safe floor), Bluesky 300 graphemes and 3000
bytes, YouTube title 100 and description
5000 (no ``<`` or ``>`` in either; more than 15 hashtags and YouTube ignores them all),
sandbox 2200 (our test platform: Instagram-sized, plainly counted, so sandbox runs exercise
the same code path as a real caption). Recommended hashtag counts are advice for prompts
and :func:`advise`, never a violation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import regex  # tiktoken's dependency; the stdlib re has no \X or Unicode properties
from pydantic import BaseModel, ConfigDict

from persistence.models.content import PLATFORMS

# --- rules as data -----------------------------------------------------------------------

Counting = Literal["x_weighted", "utf16", "graphemes"]


@dataclass(frozen=True)
class PlatformRules:
    """One platform's content rules. ``max_hashtags`` None means no platform limit;
    ``max_bytes`` is a second cap on the UTF-8 size where the platform has one."""

    platform: str
    max_length: int
    counting: Counting = "utf16"
    max_bytes: int | None = None
    max_hashtags: int | None = None
    recommended_hashtags: tuple[int, int] = (0, 5)
    title_max_length: int | None = None
    forbidden_chars: str = ""
    url_length: int | None = None


RULES: dict[str, PlatformRules] = {
    "twitter": PlatformRules(
        "twitter", 280, counting="x_weighted", recommended_hashtags=(1, 2), url_length=23
    ),
    "linkedin": PlatformRules("linkedin", 3000, recommended_hashtags=(3, 5)),
    "instagram": PlatformRules("instagram", 2200, max_hashtags=30, recommended_hashtags=(3, 15)),
    "facebook": PlatformRules("facebook", 63206, recommended_hashtags=(0, 3)),
    "tiktok": PlatformRules("tiktok", 2200, recommended_hashtags=(3, 6)),
    "youtube": PlatformRules(
        "youtube",
        5000,
        max_hashtags=15,
        recommended_hashtags=(1, 3),
        title_max_length=100,
        forbidden_chars="<>",
    ),
    "sandbox": PlatformRules("sandbox", 2200, max_hashtags=30, recommended_hashtags=(1, 5)),
    "bluesky": PlatformRules(
        "bluesky", 300, counting="graphemes", max_bytes=3000, recommended_hashtags=(0, 2)
    ),
}
_ALIASES = {"x": "twitter"}
assert set(RULES) == set(PLATFORMS), "every Platform of the data model needs rules"


def rules_for(platform: str) -> PlatformRules:
    """The rules of ``platform`` (``x`` is accepted for twitter), or ValueError listing them."""
    name = str(platform).strip().lower()
    rules = RULES.get(_ALIASES.get(name, name))
    if rules is None:
        raise ValueError(f"unknown platform {platform!r}; expected one of: {', '.join(RULES)}")
    return rules


# --- violations --------------------------------------------------------------------------

ViolationCode = Literal[
    "empty_text",
    "too_long",
    "title_too_long",
    "too_many_hashtags",
    "malformed_hashtag",
    "banned_term",
    "placeholder",
    "forbidden_character",
    "missing_cta",
]
ViolationField = Literal["text", "hashtags", "title", "cta"]


class Violation(BaseModel):
    """One broken rule; ``message`` says what to fix, for a person or the model."""

    model_config = ConfigDict(frozen=True)

    code: ViolationCode
    field: ViolationField
    message: str
    limit: int | None = None
    actual: int | None = None


# --- counting ----------------------------------------------------------------------------

_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_EMOJI_MEMBER = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")
_GRAPHEME = regex.compile(r"\X")

# Common generic TLDs; any two-letter TLD is taken as a country code.
_TLDS = (
    "com|net|org|io|co|ai|app|dev|info|biz|me|ly|gg|tv|xyz|edu|gov|shop|store|blog|news|tech|"
    "online|site|link|page|live|media|social|club|world|agency|studio|design|cloud|[a-z]{2}"
)
_EXPLICIT_URL = r"https?://[^\s<>\"']+"
_BARE_DOMAIN = (
    r"(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")"
    r"(?::\d{1,5})?(?:/[^\s<>\"']*)?(?![\w-])"
)
_URL = regex.compile(rf"(?P<explicit>{_EXPLICIT_URL})|(?P<bare>{_BARE_DOMAIN})", regex.I)
_URL_TRAILING = ".,;:!?)]}'\"…"


def _x_char_weight(ch: str) -> int:
    cp = ord(ch)
    return 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT_RANGES) else 2


def _x_plain_weight(text: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(text):
        if _EMOJI_MEMBER.search(cluster):
            total += 2
        else:
            total += sum(_x_char_weight(ch) for ch in cluster)
    return total


def find_urls(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, explicit) of each URL; trailing punctuation is not part of a URL."""
    spans = []
    for m in _URL.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in _URL_TRAILING:
            end -= 1
        if end > start:
            spans.append((start, end, m.group("explicit") is not None))
    return spans


def x_weighted_length(text: str) -> int:
    """X's weighted length of ``text`` (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for start, end, explicit in find_urls(text):
        total += _x_plain_weight(text[pos:start])
        own = _x_plain_weight(text[start:end])
        total += 23 if explicit else max(23, own)
        pos = end
    return total + _x_plain_weight(text[pos:])


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters) of the NFC text."""
    return len(_GRAPHEME.findall(unicodedata.normalize("NFC", text)))


def post_length(text: str, platform: str) -> int:
    """The length of ``text`` as ``platform`` counts it."""
    rules = rules_for(platform)
    if rules.counting == "x_weighted":
        return x_weighted_length(text)
    if rules.counting == "graphemes":
        return grapheme_length(text)
    return utf16_length(text)


def fits_bytes(text: str, platform: str) -> bool:
    """Whether ``text`` is within the platform's UTF-8 byte cap (always, where it has none)."""
    cap = rules_for(platform).max_bytes
    return cap is None or len(unicodedata.normalize("NFC", text).encode("utf-8")) <= cap


# --- hashtags ----------------------------------------------------------------------------

_TAG_BODY = r"[\p{L}\p{M}\p{N}_]+"
_VALID_TAG = regex.compile(rf"#?({_TAG_BODY})")
_INLINE_TAG = regex.compile(rf"(?<![\p{{L}}\p{{M}}\p{{N}}_&#])#({_TAG_BODY})")


def tag_body(tag: str) -> str | None:
    """The tag without ``#`` if ``tag`` is well formed, else None."""
    m = _VALID_TAG.fullmatch(tag.strip())
    if m is None or m.group(1).isdigit():
        return None
    return m.group(1)


def inline_hashtags(text: str) -> list[str]:
    """Every hashtag body written in ``text``, in order, duplicates kept (all-digit ones are
    not hashtags)."""
    return [m.group(1) for m in _INLINE_TAG.finditer(text) if not m.group(1).isdigit()]


def _appended_tags(text: str, hashtags: Iterable[str]) -> list[str]:
    """The hashtags compose appends: stripped of ``#``, not already in ``text``, no repeats."""
    seen = {t.casefold() for t in inline_hashtags(text)}
    out = []
    for tag in hashtags:
        body = str(tag).strip().lstrip("#")
        if body and body.casefold() not in seen:
            seen.add(body.casefold())
            out.append(body)
    return out


def _join_body(text: str, cta: str | None) -> str:
    text = text.strip()
    cta = (cta or "").strip()
    if not cta or cta.casefold() in text.casefold():
        return text
    return f"{text}\n\n{cta}" if text else cta


def compose(text: str, hashtags: Sequence[str], platform: str, *, cta: str | None = None) -> str:
    """The final post text: text, call to action, then the hashtags the text lacks."""
    rules_for(platform)  # an unknown platform is an error here too
    body = _join_body(unicodedata.normalize("NFC", text), cta)
    tags = _appended_tags(body, (unicodedata.normalize("NFC", t) for t in hashtags))
    if not tags:
        return body
    line = " ".join(f"#{t}" for t in tags)
    return f"{body}\n\n{line}" if body else line


# --- banned terms, placeholders, calls to action -----------------------------------------

_WORD = r"[\p{L}\p{M}\p{N}_]"


# Simple English inflections a banned term may carry: "cheap" -> "cheaper", "cheapest",
# "cheaply"; "guarantee" -> "guaranteed", "guarantees"; "miracle" -> "miracles". A term is
# matched as a word prefix followed by one of these suffixes and a word boundary, so the
# inflected word is caught while unrelated words that merely start with the term are not
# ("cheapside", "miraculous" and "classic" pass). Doubled consonants ("big" -> "bigger") and
# irregular forms are not caught: list them as terms of their own.
_INFLECTIONS = ("s", "es", "ed", "d", "er", "est", "ly", "ing")
_INFLECTION = "(?:" + "|".join(_INFLECTIONS) + ")?"


def _term_pattern(term: str) -> regex.Pattern[str] | None:
    words = term.split()
    if not words:
        return None
    inner = r"\s+".join(regex.escape(w) for w in words)
    return regex.compile(rf"(?<!{_WORD}){inner}{_INFLECTION}(?!{_WORD})", regex.I | regex.V1)


def _tag_segments(body: str) -> list[str]:
    """``FreeMoney_2024now`` -> ``[free, money, 2024, now]``: the words a hashtag joins."""
    parts = regex.findall(r"\p{Lu}+(?!\p{Ll})|\p{Lu}?[\p{Ll}\p{M}]+|\p{Lo}+|\p{N}+", body)
    return [p.casefold() for p in parts] or [body.casefold()]


#: From this many characters on, a banned term found anywhere inside a hashtag counts.
TAG_SUBSTRING_MIN = 4


def _tag_has_term(body: str, term: str) -> bool:
    """Whether a hashtag holds a banned term. Hashtags join words without spaces, and
    lowercase compounds (``#cheapcoffee``) hide their word boundaries, so the term (its words
    joined) counts when it appears

    * at the start of a segment: the tag's start, or after a CamelCase, digit or underscore
      boundary (``#cheapcoffee``, ``#MiracleMorning``, ``#best_cheapdeals``); or
    * anywhere in the tag, for a term of ``TAG_SUBSTRING_MIN`` characters or more
      (``#supercheapdeals``).

    A shorter term is only caught at a segment start, so "ass" does not hit ``#classic``.
    This over-matches by design (``#cheapside`` is dropped for "cheap"): a dropped hashtag
    costs little, a published banned word costs the brand.
    """
    compact = "".join(term.split()).casefold()
    if not compact:
        return False
    folded = body.casefold()
    if len(compact) >= TAG_SUBSTRING_MIN and compact in folded:
        return True
    segments = _tag_segments(body)
    return any("".join(segments[i:]).startswith(compact) for i in range(len(segments)))


def find_banned(text: str, banned_terms: Iterable[str]) -> list[str]:
    """The banned terms that ``text`` contains as words (simple inflections included, see
    ``_INFLECTIONS``) or inside its hashtags (see ``_tag_has_term``)."""
    tags = inline_hashtags(text)
    found = []
    for term in banned_terms:
        pattern = _term_pattern(term)
        if pattern is None:
            continue
        if pattern.search(text) or any(_tag_has_term(tag, term) for tag in tags):
            found.append(term)
    return found


_PLACEHOLDER_WORDS = (
    r"name|brand|company|product|service|link|url|website|site|insert|date|time|location|"
    r"place|price|handle|email|phone|number|cta|topic|event|offer|discount|code|city|"
    r"audience|client|customer|keyword|hashtag|image|photo|video|here|your|placeholder"
)
_PLACEHOLDERS = regex.compile(
    r"\{\{[^{}\n]{0,80}\}\}"  # {{var}} (template syntax)
    r"|\{[^{}\n]{1,80}\}"  # {product}
    r"|\[[^\]\n]{0,80}?\b(?:" + _PLACEHOLDER_WORDS + r")\b[^\]\n]{0,80}\]"  # [Brand Name]
    r"|\[[A-Z][A-Z ]*_[A-Z_ ]*\]"  # [BRAND_NAME]
    r"|<[A-Za-z][^<>\n]{0,80}>"  # <insert link>
    r"|(?<![\w])(?:TBD|TBA)(?![\w])"
    r"|\blorem\s+ipsum\b",
    regex.I,
)
# Case-sensitive: lowercase "xxx" is kisses in British English, "XXX" is a blank.
_PLACEHOLDERS_CS = regex.compile(r"(?<![\w])XXX+(?![\w])")


def find_placeholders(text: str) -> list[str]:
    """Template placeholders left in ``text`` (``[Brand Name]``, ``{product}``, TBD ...)."""
    found = [(m.start(), m.group()) for m in _PLACEHOLDERS.finditer(text)]
    found += [(m.start(), m.group()) for m in _PLACEHOLDERS_CS.finditer(text)]
    return [token for _, token in sorted(found)]


CTA_PHRASES: tuple[str, ...] = (
    "learn more",
    "read more",
    "find out more",
    "find out",
    "shop now",
    "buy now",
    "order now",
    "book now",
    "sign up",
    "register",
    "subscribe",
    "download",
    "get started",
    "try it",
    "join us",
    "join",
    "link in bio",
    "click",
    "tap",
    "visit",
    "check out",
    "follow",
    "comment",
    "share your",
    "tag a friend",
    "let us know",
    "tell us",
    "dm us",
    "message us",
    "contact us",
    "watch",
    "discover",
    "explore",
    "apply",
    "save this",
    "reply",
)
_CTA = regex.compile(
    r"(?<![\w])(?:" + "|".join(regex.escape(p).replace(r"\ ", r"\s+") for p in CTA_PHRASES) + r")",
    regex.I,
)


def has_cta(text: str) -> bool:
    """Whether ``text`` asks the reader to do something (one of :data:`CTA_PHRASES`)."""
    return _CTA.search(text) is not None


# --- validation --------------------------------------------------------------------------


def _quote(items: Sequence[str], limit: int = 5) -> str:
    items = list(dict.fromkeys(items))  # each once, in order
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def validate_post(
    text: str,
    hashtags: Sequence[str],
    platform: str,
    *,
    banned_terms: Iterable[str] = (),
    title: str | None = None,
    require_cta: bool = False,
    cta: str | None = None,
) -> list[Violation]:
    """Every rule the post breaks on ``platform``; an empty list means it may be published.

    ``cta`` is a separate call-to-action field, composed into the post after the text.
    ``title`` is checked only on platforms that have titles (YouTube).
    """
    rules = rules_for(platform)
    banned = [t for t in banned_terms if t and t.strip()]
    hashtags = list(hashtags)
    out: list[Violation] = []
    body = _join_body(unicodedata.normalize("NFC", text), cta)

    if not text.strip():
        out.append(
            Violation(
                code="empty_text", field="text", message="The post text is empty; write the post."
            )
        )

    malformed = [t for t in hashtags if tag_body(str(t)) is None]
    if malformed:
        out.append(
            Violation(
                code="malformed_hashtag",
                field="hashtags",
                message=(
                    f"Malformed hashtags {_quote(malformed)}: a hashtag is '#' followed by "
                    "letters, digits or underscores only (no spaces or punctuation), with at "
                    "least one letter."
                ),
            )
        )

    post = compose(text, hashtags, platform, cta=cta)
    length = post_length(post, platform)
    if length > rules.max_length:
        how = (
            " by X's weighted count (a URL counts 23, an emoji 2)"
            if rules.counting == "x_weighted"
            else ""
        )
        out.append(
            Violation(
                code="too_long",
                field="text",
                message=(
                    f"The post is {length} characters long with its hashtags{how}; "
                    f"{rules.platform} allows {rules.max_length}. "
                    f"Cut at least {length - rules.max_length}."
                ),
                limit=rules.max_length,
                actual=length,
            )
        )

    if length <= rules.max_length and not fits_bytes(post, platform):
        size = len(unicodedata.normalize("NFC", post).encode("utf-8"))
        out.append(
            Violation(
                code="too_long",
                field="text",
                message=(
                    f"The post is {size} bytes long in UTF-8 with its hashtags; "
                    f"{rules.platform} allows {rules.max_bytes} bytes. Cut some text."
                ),
                limit=rules.max_bytes,
                actual=size,
            )
        )

    count = len(inline_hashtags(post))
    if rules.max_hashtags is not None and count > rules.max_hashtags:
        out.append(
            Violation(
                code="too_many_hashtags",
                field="hashtags",
                message=(
                    f"The post has {count} hashtags; {rules.platform} allows {rules.max_hashtags}. "
                    f"Keep the {rules.max_hashtags} most relevant."
                ),
                limit=rules.max_hashtags,
                actual=count,
            )
        )

    if banned:
        in_text = find_banned(body, banned)
        if in_text:
            out.append(
                Violation(
                    code="banned_term",
                    field="text",
                    message=f"Remove the banned terms {_quote(in_text)} from the text.",
                )
            )
        bad_tags = [t for t in hashtags if find_banned("#" + str(t).strip().lstrip("#"), banned)]
        if bad_tags:
            out.append(
                Violation(
                    code="banned_term",
                    field="hashtags",
                    message=f"Drop the hashtags {_quote(bad_tags)}: they contain banned terms.",
                )
            )

    placeholders = find_placeholders(body)
    if placeholders:
        out.append(
            Violation(
                code="placeholder",
                field="text",
                message=(
                    f"Replace the unfilled placeholders {_quote(placeholders)} with real "
                    "content, or remove them."
                ),
            )
        )
    tag_placeholders = [t for t in hashtags if find_placeholders(str(t))]
    if tag_placeholders:
        out.append(
            Violation(
                code="placeholder",
                field="hashtags",
                message=f"Drop the placeholder hashtags {_quote(tag_placeholders)}.",
            )
        )

    if rules.forbidden_chars:
        bad = sorted({c for c in post if c in rules.forbidden_chars})
        if bad:
            out.append(
                Violation(
                    code="forbidden_character",
                    field="text",
                    message=f"{rules.platform} does not allow {_quote(bad)}; remove them.",
                )
            )

    if require_cta and not has_cta(body):
        out.append(
            Violation(
                code="missing_cta",
                field="cta",
                message=(
                    "Add a call to action (for example 'Learn more', 'Sign up', 'Link in bio', "
                    "'Let us know')."
                ),
            )
        )

    if title is not None and rules.title_max_length is not None:
        out.extend(_title_violations(title, rules, banned))
    return out


def _title_violations(title: str, rules: PlatformRules, banned: Sequence[str]) -> list[Violation]:
    out: list[Violation] = []
    assert rules.title_max_length is not None
    n = utf16_length(title)
    if not title.strip():
        out.append(
            Violation(code="empty_text", field="title", message="The title is empty; write one.")
        )
    if n > rules.title_max_length:
        out.append(
            Violation(
                code="title_too_long",
                field="title",
                message=(
                    f"The title is {n} characters; {rules.platform} allows "
                    f"{rules.title_max_length}. Shorten it."
                ),
                limit=rules.title_max_length,
                actual=n,
            )
        )
    found = find_banned(title, banned)
    if found:
        out.append(
            Violation(
                code="banned_term",
                field="title",
                message=f"Remove the banned terms {_quote(found)} from the title.",
            )
        )
    placeholders = find_placeholders(title)
    if placeholders:
        out.append(
            Violation(
                code="placeholder",
                field="title",
                message=f"Replace the placeholders {_quote(placeholders)} in the title.",
            )
        )
    bad = sorted({c for c in title if c in rules.forbidden_chars})
    if bad:
        out.append(
            Violation(
                code="forbidden_character",
                field="title",
                message=f"{rules.platform} titles may not contain {_quote(bad)}; remove them.",
            )
        )
    return out


# A first comment is held to the post's own limit, except where the network caps comments
# lower: LinkedIn refuses a comment over 1,250 characters (its comment box and the
# socialActions comments API alike). The other networks document no lower cap for comments.
COMMENT_MAX_LENGTH: dict[str, int] = {"linkedin": 1250}


def comment_max_length(platform: str) -> int:
    """The longest first comment ``platform`` takes, counted as its posts are."""
    rules = rules_for(platform)
    return min(rules.max_length, COMMENT_MAX_LENGTH.get(rules.platform, rules.max_length))


def validate_comment(
    text: str, platform: str, *, banned_terms: Iterable[str] = ()
) -> list[Violation]:
    """Every rule a first comment (or a thread's reply, through :func:`validate_post`)
    breaks: the post's rules with no hashtags appended, and the comment's own length."""
    limit = comment_max_length(platform)
    out = [
        v
        for v in validate_post(text, [], platform, banned_terms=banned_terms)
        if not (v.code == "too_long" and v.limit == rules_for(platform).max_length)
    ]
    length = post_length(text, platform)
    if length > limit:
        out.insert(
            0,
            Violation(
                code="too_long",
                field="text",
                message=(
                    f"The comment is {length} characters long; {rules_for(platform).platform} "
                    f"allows {limit} in a comment. Cut at least {length - limit}."
                ),
                limit=limit,
                actual=length,
            ),
        )
    return out


def advise(text: str, hashtags: Sequence[str], platform: str) -> list[str]:
    """Advice that is not a rule: a hashtag count outside the platform's recommended range."""
    rules = rules_for(platform)
    count = len(inline_hashtags(compose(text, hashtags, platform)))
    lo, hi = rules.recommended_hashtags
    if lo <= count <= hi:
        return []
    return [f"{rules.platform} posts do best with {lo}-{hi} hashtags; this one has {count}."]


# --- deterministic repair ----------------------------------------------------------------

ELLIPSIS = "…"
#: Stand-in texts when nothing of the draft survives; several, so banned terms cannot rule
#: them all out in practice.
NEUTRAL_SENTENCES: tuple[str, ...] = (
    "More to share soon.",
    "Thanks for reading.",
    "Stay tuned for updates.",
    "Here is our latest update.",
    "Thank you for being here.",
    "Hello from our team.",
    "Have a great day.",
)
#: Calls to action added when one is required and the draft has none; each contains a
#: phrase of :data:`CTA_PHRASES`.
DEFAULT_CTAS: tuple[str, ...] = (
    "Learn more.",
    "Let us know what you think.",
    "Find out more.",
    "Follow for more.",
    "Share your thoughts below.",
    "Tell us in the comments.",
    "Join the conversation.",
)
_SENTENCE_END = regex.compile(r"[.!?…][\"'”’)\]]*$")


def _tidy(text: str) -> str:
    """Whitespace and punctuation left tidy after words were taken out."""
    text = regex.sub(r"[ \t\u00A0]+", " ", text)
    text = regex.sub(r" +([,.;:!?])", r"\1", text)
    text = regex.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = regex.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = regex.sub(r"\n{3,}", "\n\n", text)
    text = text.strip()
    return regex.sub(r"^[,.;:!?]+\s*", "", text)


_GAP = "\x00"  # where a word was taken out, until the sentence around it is resolved
# Words that cannot end a phrase before a hole: articles, determiners, prepositions,
# copulas, conjunctions, intensifiers (English, and the commonest German, Spanish, French).
_FUNCTION_WORD_TEXT = (
    "a an the our your their its my his her this that these those some any no every each "
    "of in on at to for with by from into onto over about across via per than as "
    "and or but nor so yet is are was were be been being am has have had will would can "
    "most more very too such "
    "ein eine einen einem einer der die das den dem des unser unsere unseren mit und oder "
    "für von zu im am ist sind auf aus bei nach "
    "el la los las un una unos unas de del y o con en por para es son al "
    "le les des du et avec une est sont au aux"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_TEXT.split())
_SENTENCE_PART = regex.compile(r"(?:[^.!?…\n]|(?<=\d)\.(?=\d))+(?:[.!?…]+[\"'”’)\]]*|$)")
_CLAUSE_PART = regex.compile(r"[^,;:–—]+(?:[,;:–—]+\s*|$)")
_WORDLIKE = r"[\p{L}\p{N}'’]+"
#: The fewest words a post keeps when sentences or clauses are dropped (else words are).
MIN_CONTENT_WORDS = 3


def _content_words(text: str) -> int:
    return len(regex.findall(r"\p{L}[\p{L}\p{N}'’-]*", text.replace(_GAP, " ")))


def _broken_gaps(text: str) -> bool:
    """Whether taking out a word at a gap leaves a hole: the word before it (if any) and the
    word after it (if any, before punctuation) are both function words ("is the _,",
    "with _ across", "The _ is"). "the _ specialty coffee" is fine: an adjective went."""
    for m in regex.finditer(_GAP, text):
        before = regex.search(rf"({_WORDLIKE})[ \t]*$", text[: m.start()])
        after = regex.match(rf"[ \t]*({_WORDLIKE})", text[m.end() :])
        if (before is None or before.group(1).casefold() in _FUNCTION_WORDS) and (
            after is None or after.group(1).casefold() in _FUNCTION_WORDS
        ):
            return True
    return False


def _close_gaps(text: str) -> str:
    """Word-level removal: the gaps go, and so do up to two function words left dangling
    before a broken one ("is the _," -> ",", "with _ across" -> "across")."""
    pieces = text.split(_GAP)
    for i in range(len(pieces) - 1):
        after = regex.match(rf"[ \t]*({_WORDLIKE})", pieces[i + 1])
        if after is not None and after.group(1).casefold() not in _FUNCTION_WORDS:
            continue
        for _ in range(2):
            m = regex.search(rf"({_WORDLIKE})[ \t]*$", pieces[i])
            if m is None or m.group(1).casefold() not in _FUNCTION_WORDS:
                break
            pieces[i] = pieces[i][: m.start()]
    text = " ".join(pieces)
    # A sentence that lost its first word still starts with a capital.
    return regex.sub(r"(^\s*|[.!?…]\s+)(\p{Ll})", lambda m: m.group(1) + m.group(2).upper(), text)


def _capitalized_like(new: str, old: str) -> str:
    new = new.strip()
    first = regex.search(r"\p{L}", old)
    if new and first is not None and first.group().isupper():
        return new[:1].upper() + new[1:]
    return new


def _resolve_gaps(text: str) -> str:
    """Where a removed term leaves a hole in its sentence (see ``_broken_gaps``), the clauses
    holding one go, if the rest of the sentence keeps at least half of its words (and
    ``MIN_CONTENT_WORDS``); else the whole sentence goes. A sentence where the removal leaves
    a hole nowhere just loses the words. If dropping clauses and sentences would leave the
    post with fewer than ``MIN_CONTENT_WORDS`` words, the words alone go instead, with the
    function words left dangling before each hole: a clumsy post that keeps the brief's
    facts beats a neutral stand-in."""
    if _GAP not in text:
        return text
    text = regex.sub(rf"{_GAP}(?:[ \t]*{_GAP})+", _GAP, text)
    paragraphs = []
    for paragraph in text.split("\n"):
        kept = []
        for sentence in _SENTENCE_PART.findall(paragraph):
            if not sentence.strip():
                continue
            if _GAP not in sentence or not _broken_gaps(sentence):
                kept.append(sentence.replace(_GAP, " ").strip())
                continue
            clauses = [c for c in _CLAUSE_PART.findall(sentence) if c.strip()]
            whole = [c for c in clauses if not (_GAP in c and _broken_gaps(c))]
            left = _content_words("".join(whole))
            if left >= MIN_CONTENT_WORDS and 2 * left >= _content_words(sentence):
                rest = "".join(whole).replace(_GAP, " ").strip().rstrip(",;:–—").strip()
                end = regex.search(r"[.!?…][\"'”’)\]]*$", sentence.strip())
                if not regex.search(r"[.!?…][\"'”’)\]]*$", rest):
                    rest += end.group() if end else ""
                kept.append(_capitalized_like(rest, sentence))
        paragraphs.append(" ".join(kept))
    dropped = "\n".join(paragraphs)
    if _content_words(dropped) >= MIN_CONTENT_WORDS:
        return dropped
    return _close_gaps(text)


def _clean(text: str, banned: Sequence[str], forbidden: str) -> str:
    """``text`` without placeholders, banned terms (and hashtags containing them) and
    forbidden characters. Where taking a term out would break its sentence, the clause or
    sentence goes instead (``_resolve_gaps``). Repeated because one removal can expose
    another."""
    for _ in range(8):
        before = text
        text = _PLACEHOLDERS_CS.sub(_GAP, _PLACEHOLDERS.sub(_GAP, text))
        for term in banned:
            pattern = _term_pattern(term)
            if pattern is None:
                continue
            text = _INLINE_TAG.sub(
                lambda m, t=term: _GAP if _tag_has_term(m.group(1), t) else m.group(), text
            )
            text = pattern.sub(_GAP, text)
        if forbidden:
            text = text.translate({ord(c): " " for c in forbidden})
        text = _tidy(_resolve_gaps(text))
        if text == before:
            break
    return text


def _is_clean(text: str, banned: Sequence[str], forbidden: str) -> bool:
    return not (
        find_banned(text, banned) or find_placeholders(text) or any(c in forbidden for c in text)
    )


def _dehash_beyond(text: str, keep: int) -> str:
    """Turn every inline hashtag after the first ``keep`` into a plain word."""
    seen = 0

    def sub(m: regex.Match[str]) -> str:
        nonlocal seen
        if m.group(1).isdigit():
            return m.group()
        seen += 1
        return m.group() if seen <= keep else m.group(1)

    return _INLINE_TAG.sub(sub, text)


def _repair_tags(
    hashtags: Iterable[str], body: str, banned: Sequence[str], forbidden: str
) -> list[str]:
    """Well-formed, clean, distinct hashtags (``#tag``) that the body does not already hold,
    in their original order; a malformed tag is mended (spaces, punctuation dropped) when
    something valid is left."""
    seen = {t.casefold() for t in inline_hashtags(body)}
    out = []
    for raw in hashtags:
        tag = unicodedata.normalize("NFC", str(raw))
        tag_text = tag_body(tag) or "".join(regex.findall(_TAG_BODY, tag))
        if not tag_text or tag_text.isdigit():
            continue
        candidate = "#" + tag_text
        if not _is_clean(candidate, banned, forbidden) or tag_text.casefold() in seen:
            continue
        seen.add(tag_text.casefold())
        out.append(candidate)
    return out


def _cut(text: str, end: int) -> str:
    head = text[:end].rstrip()
    if _SENTENCE_END.search(head):
        return head
    head = head.rstrip(",;:-–—([{/\\&+").rstrip()
    return head + ELLIPSIS if head else ""


def _shorten(text: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of ``text`` that ``fits``: at a sentence end if that keeps at least
    half of the text a word cut would keep, else at a word end with an ellipsis, else (one
    enormous word) at a grapheme with an ellipsis. "" if not even that fits."""
    if fits(text):
        return text
    ends = [m.end() for m in regex.finditer(r"\S+", text)]
    lo, hi, best = 0, len(ends) - 1, -1
    while lo <= hi:  # the largest word end whose cut fits; length grows with the prefix
        mid = (lo + hi) // 2
        if fits(_cut(text, ends[mid])) and _cut(text, ends[mid]):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best >= 0:
        for k in range(best, -1, -1):
            if ends[k] < ends[best] / 2:
                break
            head = text[: ends[k]].rstrip()
            if _SENTENCE_END.search(head) and fits(head):
                return head
        return _cut(text, ends[best])
    first = text.split()[0] if text.split() else ""
    clusters = _GRAPHEME.findall(first)
    lo, hi, n = 1, len(clusters), 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits("".join(clusters[:mid]) + ELLIPSIS):
            n, lo = mid, mid + 1
        else:
            hi = mid - 1
    return "".join(clusters[:n]) + ELLIPSIS if n else ""


class _Fits:
    """Whether a body fits the platform's length with the given suffix (cta, hashtags)."""

    def __init__(self, platform: str, cta: str, tags: Sequence[str], limit: int) -> None:
        self.platform, self.cta, self.tags, self.limit = platform, cta, list(tags), limit

    def length(self, body: str) -> int:
        post = compose(body, self.tags, self.platform, cta=self.cta)
        return post_length(post, self.platform)

    def __call__(self, body: str) -> bool:
        if self.length(body) > self.limit:
            return False
        return fits_bytes(compose(body, self.tags, self.platform, cta=self.cta), self.platform)


def repair(
    text: str,
    hashtags: Sequence[str],
    platform: str,
    violations: Sequence[Violation] = (),
    *,
    banned_terms: Iterable[str] = (),
    cta: str | None = None,
    require_cta: bool = False,
) -> tuple[str, list[str]]:
    """A valid post made from a draft, deterministically; returns ``(text, hashtags)``.

    The fallback after the model's own repair: removes placeholders, banned terms (and hashtags
    containing them) and forbidden characters; mends or drops malformed hashtags; keeps the
    first hashtags up to the platform's maximum (or, where it has none, the top of the
    recommended range); adds a call to action if one is required
    (``require_cta``, a ``missing_cta`` violation, or a ``cta`` field, which is merged into
    the returned text); drops hashtags down to the recommended minimum and then shortens the
    text at a sentence or word end, with an ellipsis, to fit the length; and if no text is
    left, uses a short neutral sentence. All rules are re-checked, not only ``violations``.

    ``validate_post(text, hashtags, platform, banned_terms=..., require_cta=...)`` of the
    result is always ``[]``; ValueError only if the banned terms rule out every fallback.
    """
    rules = rules_for(platform)
    banned = [t for t in banned_terms if t and t.strip()]
    want_cta = (
        require_cta or bool(cta and cta.strip()) or any(v.code == "missing_cta" for v in violations)
    )
    check = {"banned_terms": banned, "require_cta": want_cta}
    if not validate_post(text, hashtags, platform, cta=cta, **check):  # type: ignore[arg-type]
        return (_join_body(text, cta) if cta else text), list(hashtags)

    forbidden = rules.forbidden_chars
    body = _clean(unicodedata.normalize("NFC", text), banned, forbidden)
    call = _clean(unicodedata.normalize("NFC", cta or ""), banned, forbidden)
    call = _dehash_beyond(call, 0)  # hashtags belong to the hashtag list, not the CTA
    if post_length(call, platform) > rules.max_length // 4:
        call = ""  # an over-long call to action would crowd out the post; a default follows
    tags = _repair_tags(hashtags, body, banned, forbidden)
    if rules.max_hashtags is not None:
        body = _dehash_beyond(body, rules.max_hashtags)
        tags = tags[: max(0, rules.max_hashtags - len(inline_hashtags(body)))]
    else:
        # No platform maximum: a repaired post still should not read as spam, so the list is
        # cut to the top of the recommended range (the text's own hashtags stay).
        tags = tags[: rules.recommended_hashtags[1]]

    def default_cta() -> str:
        return next(c for c in (*DEFAULT_CTAS, "") if not c or _is_clean(c, banned, forbidden))

    if want_cta and not has_cta(f"{body}\n\n{call}"):
        call = default_cta()

    original = body
    fits = _Fits(platform, call, tags, rules.max_length)
    if not fits(body):
        lo = rules.recommended_hashtags[0]
        while len(fits.tags) > lo and not fits(body):
            fits.tags.pop()
        if not fits(body) and fits.limit - fits.length("") < fits.limit * 0.3:
            fits.tags.clear()  # the hashtags alone would leave too little room for words
        body = _shorten(body, fits)
        if want_cta and not has_cta(f"{body}\n\n{fits.cta}"):
            # The call to action was in the part cut off; add one and cut again.
            fits.cta = default_cta()
            body = _shorten(original, fits)
    if not body.strip():
        body = next((s for s in NEUTRAL_SENTENCES if _is_clean(s, banned, forbidden)), "")
        while fits.tags and not fits(body):
            fits.tags.pop()

    result = _join_body(body, fits.cta), list(fits.tags)
    if validate_post(*result, platform, **check):  # type: ignore[arg-type]
        # Belt and braces: a draft this repair cannot mend gets the plain fallback.
        sentence = next((s for s in NEUTRAL_SENTENCES if _is_clean(s, banned, forbidden)), "")
        result = _join_body(sentence, default_cta() if want_cta else ""), []
        remaining = validate_post(*result, platform, **check)  # type: ignore[arg-type]
        if remaining:
            raise ValueError(
                "no valid post can be made: the banned terms exclude every fallback text ("
                + "; ".join(v.message for v in remaining)
                + ")"
            )
    return result


def repair_title(
    title: str | None,
    platform: str,
    *,
    banned_terms: Iterable[str] = (),
    fallback: str = "New video",
) -> str | None:
    """A title that passes the platform's title rules (unchanged where it has no titles)."""
    rules = rules_for(platform)
    if title is None or rules.title_max_length is None:
        return title
    banned = [t for t in banned_terms if t and t.strip()]
    if not _title_violations(title, rules, banned):
        return title
    limit = rules.title_max_length
    cleaned = _clean(unicodedata.normalize("NFC", title), banned, rules.forbidden_chars)
    cleaned = " ".join(cleaned.split())
    cleaned = _shorten(cleaned, lambda t: utf16_length(t) <= limit)
    for candidate in (cleaned, fallback, *NEUTRAL_SENTENCES):
        if candidate.strip() and not _title_violations(candidate, rules, banned):
            return candidate
    raise ValueError("no valid title can be made: the banned terms exclude every fallback")
