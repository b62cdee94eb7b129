"""Platform content rules: counting, validation, composition, and the deterministic repair."""

from __future__ import annotations

import random

import pytest

from persistence.models.content import PLATFORMS
from tools.platform_rules import (
    CTA_PHRASES,
    DEFAULT_CTAS,
    ELLIPSIS,
    NEUTRAL_SENTENCES,
    RULES,
    advise,
    compose,
    find_banned,
    find_placeholders,
    has_cta,
    post_length,
    repair,
    repair_title,
    rules_for,
    tag_body,
    validate_post,
    x_weighted_length,
)


def codes(violations: list) -> set[tuple[str, str]]:
    return {(v.code, v.field) for v in violations}


# --- rules as data -------------------------------------------------------------------------


def test_every_platform_of_the_data_model_has_rules() -> None:
    assert set(RULES) == set(PLATFORMS)
    assert rules_for("X") is RULES["twitter"]
    assert RULES["twitter"].max_length == 280
    assert RULES["linkedin"].max_length == 3000
    assert (RULES["instagram"].max_length, RULES["instagram"].max_hashtags) == (2200, 30)
    assert RULES["facebook"].max_length == 63206
    assert RULES["tiktok"].max_length == 2200
    assert (RULES["youtube"].title_max_length, RULES["youtube"].max_length) == (100, 5000)
    assert RULES["sandbox"].max_length == 2200
    for rules in RULES.values():
        lo, hi = rules.recommended_hashtags
        assert 0 <= lo <= hi
        assert rules.max_hashtags is None or hi <= rules.max_hashtags


def test_unknown_platform_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"myspace.*twitter.*linkedin"):
        validate_post("hi", [], "myspace")


# --- counting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("café", 4),
        ("cafe\u0301", 4),  # NFC joins e + combining acute into one code point
        ("日本語", 6),  # CJK weighs 2
        ("привет", 6),  # Cyrillic is in the weight-1 range
        ("“quoted”—dash", 13),  # general punctuation ranges weigh 1
        ("👍", 2),
        ("👍🏽", 2),  # skin tone: one emoji
        ("👨‍👩‍👧‍👦", 2),  # ZWJ family: one emoji
        ("🇫🇷", 2),  # flag: one emoji
        ("1️⃣", 2),  # keycap
        ("❤️", 2),
        ("https://t.co/x", 23),  # a short URL still counts 23
        ("https://example.com/" + "a" * 200, 23),
        ("see https://example.com.", 4 + 23 + 1),  # trailing punctuation is not the URL
        ("x.ai", 23),  # a bare domain may be linked: at least 23
        ("averyveryveryverylongdomainname.com/with/a/path", 47),  # never under-counted
        ("e.g. i.e.", 9),  # not domains
    ],
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


def test_x_limit_is_exact_at_the_boundary() -> None:
    assert validate_post("a" * 280, [], "twitter") == []
    assert codes(validate_post("a" * 281, [], "twitter")) == {("too_long", "text")}
    assert validate_post("😀" * 140, [], "twitter") == []
    too_long = validate_post("😀" * 141, [], "twitter")
    assert [(v.limit, v.actual) for v in too_long] == [(280, 282)]
    # 250 letters and a long URL fit X, though the raw string is far longer than 280.
    assert validate_post("a" * 250 + " https://example.com/" + "p" * 300, [], "twitter") == []


def test_other_platforms_count_utf16_units() -> None:
    assert post_length("😀", "instagram") == 2
    assert post_length("日本", "linkedin") == 2
    assert validate_post("😀" * 1100, [], "instagram") == []
    assert codes(validate_post("😀" * 1101, [], "instagram")) == {("too_long", "text")}


# --- composition -------------------------------------------------------------------------


def test_compose_appends_missing_hashtags_after_a_blank_line() -> None:
    post = compose("Fresh beans today #Coffee", ["coffee", "#beans", "Beans", "#roast"], "linkedin")
    assert post == "Fresh beans today #Coffee\n\n#beans #roast"
    assert compose("Hello", [], "twitter") == "Hello"
    assert compose("Hello", ["a"], "twitter", cta="Learn more") == "Hello\n\nLearn more\n\n#a"
    # A call to action already in the text is not repeated.
    assert compose("Hello. Learn more", [], "twitter", cta="learn more") == "Hello. Learn more"


def test_length_counts_the_appended_hashtags() -> None:
    text = "a" * 270
    assert validate_post(text, ["#abc"], "twitter") == []  # 270 + 2 + 4 = 276
    found = validate_post(text, ["#abcdefgh"], "twitter")  # 270 + 2 + 9 = 281
    assert [(v.code, v.actual) for v in found] == [("too_long", 281)]


# --- validation ----------------------------------------------------------------------------


def test_a_clean_post_passes_on_every_platform() -> None:
    for platform in RULES:
        assert validate_post("Our new roast is here. Learn more!", ["#coffee"], platform) == []


def test_empty_text() -> None:
    assert ("empty_text", "text") in codes(validate_post("  \n", ["#a"], "twitter"))


@pytest.mark.parametrize("tag", ["#social media", "#hello!", "##double", "#", "", "#2024", "#a-b"])
def test_malformed_hashtags(tag: str) -> None:
    assert tag_body(tag) is None
    found = validate_post("Hello", [tag], "instagram")
    assert ("malformed_hashtag", "hashtags") in codes(found)
    assert "letters, digits or underscores" in found[0].message


@pytest.mark.parametrize(
    "tag", ["#coffee", "coffee", "#café", "#日本", "#नमस्ते", "#top_10", "#2024Goals"]
)
def test_wellformed_hashtags(tag: str) -> None:
    assert tag_body(tag) is not None
    assert validate_post("Hello", [tag], "instagram") == []


def test_hashtag_maximum_counts_inline_and_appended_tags() -> None:
    inline = " ".join(f"#t{i}" for i in range(20))
    tags = [f"#x{i}" for i in range(10)]
    assert validate_post(inline, tags, "instagram") == []
    found = validate_post(inline, [*tags, "#one_more"], "instagram")
    assert [(v.code, v.limit, v.actual) for v in found] == [("too_many_hashtags", 30, 31)]
    assert "Keep the 30 most relevant" in found[0].message
    # X has no hashtag maximum, only the length.
    assert validate_post("hi", [f"#t{i}" for i in range(30)], "twitter") == []


def test_banned_terms_catch_simple_inflections_only() -> None:
    banned = ["cheap", "guarantee", "miracle"]
    assert find_banned("Our cheapest beans", banned) == ["cheap"]
    assert find_banned("Cheaper, cheaply, CHEAPS", ["cheap"]) == ["cheap"]
    assert find_banned("Freshness guaranteed.", banned) == ["guarantee"]
    assert find_banned("It guarantees nothing", banned) == ["guarantee"]
    assert find_banned("Small miracles happen", banned) == ["miracle"]
    # Words that merely start with a term are other words.
    assert find_banned("A miraculous cup on Cheapside", banned) == []
    assert find_banned("cheapskates", ["cheap"]) == []
    # repair takes the inflected word out too.
    fixed, _ = repair("Our cheapest beans in town.", [], "twitter", banned_terms=banned)
    assert find_banned(fixed, banned) == []


def test_lowercase_compound_hashtags_hide_no_banned_term() -> None:
    banned = ["cheap", "ass", "free money"]
    assert find_banned("#cheapcoffee", banned) == ["cheap"]
    assert find_banned("#SuperCheapDeals #supercheapdeals", banned) == ["cheap"]
    assert find_banned("#deals_cheapcoffee #2for1cheap", banned) == ["cheap"]
    assert find_banned("#freemoneynow", banned) == ["free money"]
    # A short term counts only at the start of a segment.
    assert find_banned("#classic #Bass", banned) == []
    assert find_banned("#assets", banned) == ["ass"]
    found = validate_post("Hello there", ["#cheapcoffee"], "twitter", banned_terms=banned)
    assert codes(found) == {("banned_term", "hashtags")}


def test_banned_terms_whole_word_case_insensitive_and_inside_hashtags() -> None:
    banned = ["crypto", "free money", "ass"]
    assert find_banned("We like CRYPTO.", banned) == ["crypto"]
    assert find_banned("Free   Money for all", banned) == ["free money"]
    assert find_banned("A classic cryptography class", banned) == []
    assert find_banned("Join #FreeMoneyNow and #crypto_news", banned) == ["crypto", "free money"]
    assert find_banned("#classic", banned) == []
    found = validate_post("Hello there", ["#Crypto", "#coffee"], "twitter", banned_terms=banned)
    assert codes(found) == {("banned_term", "hashtags")}
    assert "'#Crypto'" in found[0].message
    found = validate_post("Buy crypto now", [], "twitter", banned_terms=banned)
    assert codes(found) == {("banned_term", "text")}
    assert "'crypto'" in found[0].message


@pytest.mark.parametrize(
    "snippet",
    [
        "[Brand Name]",
        "[your link here]",
        "[BRAND_NAME]",
        "{product}",
        "{{ company }}",
        "<insert link>",
        "TBD",
        "launch date: tbd",
        "XXX",
        "Lorem ipsum dolor",
    ],
)
def test_placeholders_are_found(snippet: str) -> None:
    assert find_placeholders(f"Meet {snippet} today")
    assert ("placeholder", "text") in codes(validate_post(f"Meet {snippet} today", [], "tiktok"))


@pytest.mark.parametrize("text", ["Thread [1/5]", "hugs xxx", "[LIVE] now", "I <3 this", "tbh"])
def test_ordinary_text_is_not_a_placeholder(text: str) -> None:
    assert find_placeholders(text) == []


def test_call_to_action_when_required() -> None:
    assert ("missing_cta", "cta") in codes(
        validate_post("Nice day", [], "twitter", require_cta=True)
    )
    assert validate_post("Nice day. Sign up today", [], "twitter", require_cta=True) == []
    assert validate_post("Nice day", [], "twitter", require_cta=True, cta="Link in bio") == []
    assert validate_post("Nice day", [], "twitter") == []
    assert all(has_cta(c) for c in DEFAULT_CTAS)
    assert all(has_cta(p) for p in CTA_PHRASES)


def test_youtube_titles_and_angle_brackets() -> None:
    assert validate_post("Description", [], "youtube", title="A good title") == []
    found = validate_post("Use a > b", [], "youtube", title="t" * 101)
    assert codes(found) == {("title_too_long", "title"), ("forbidden_character", "text")}
    assert ("forbidden_character", "title") in codes(
        validate_post("ok", [], "youtube", title="a <b")
    )
    # Titles are ignored where the platform has none.
    assert validate_post("ok", [], "twitter", title="t" * 500) == []


def test_violation_messages_say_what_to_fix() -> None:
    found = validate_post("[Brand Name] " + "x" * 300, ["bad tag"], "twitter")
    messages = {v.code: v.message for v in found}
    assert "Cut at least" in messages["too_long"]
    assert "Replace the unfilled placeholders '[Brand Name]'" in messages["placeholder"]
    for violation in found:
        assert violation.model_dump(mode="json")  # serializable into graph state


def test_advice_is_separate_from_rules() -> None:
    assert advise("Hello", [], "linkedin") == [
        "linkedin posts do best with 3-5 hashtags; this one has 0."
    ]
    assert advise("Hello", ["#a", "#b"], "twitter") == []


# --- repair: examples ----------------------------------------------------------------------


def test_repair_returns_a_valid_post_unchanged() -> None:
    assert repair("Hello world", ["#hi"], "twitter") == ("Hello world", ["#hi"])


def test_repair_shortens_at_a_sentence_end() -> None:
    text = "First sentence is short. " * 9 + "This last sentence runs past the limit of X by a lot."
    fixed, tags = repair(text, ["#news"], "twitter", validate_post(text, ["#news"], "twitter"))
    assert fixed.endswith(".")
    assert not fixed.endswith(ELLIPSIS)
    assert tags == ["#news"]
    assert validate_post(fixed, tags, "twitter") == []


def test_repair_shortens_at_a_word_with_an_ellipsis() -> None:
    text = "word " * 100
    fixed, _ = repair(text, [], "twitter")
    assert fixed.endswith("word" + ELLIPSIS)
    assert x_weighted_length(fixed) <= 280
    assert x_weighted_length(fixed) > 270  # it keeps as much as fits


def test_repair_hard_cuts_one_enormous_word() -> None:
    fixed, _ = repair("a" * 5000, [], "twitter")
    assert fixed == "a" * 278 + ELLIPSIS  # "…" (U+2026) weighs 2 on X


def test_repair_keeps_the_first_hashtags() -> None:
    tags = [f"#tag{i}" for i in range(40)]
    fixed, kept = repair("Hello", tags, "instagram")
    assert kept == tags[:30]
    assert fixed == "Hello"
    inline = " ".join(f"#in{i}" for i in range(35))
    fixed, kept = repair(inline, ["#extra"], "instagram")
    assert kept == []
    assert fixed.startswith("#in0 ")
    assert fixed.endswith("#in29 in30 in31 in32 in33 in34")


def test_repair_trims_hashtags_to_the_recommended_range_where_there_is_no_maximum() -> None:
    tags = [f"#t{i}" for i in range(10)]
    fixed, kept = repair("Hello [Brand Name]", tags, "twitter")
    assert (fixed, kept) == ("Hello", ["#t0", "#t1"])
    # A valid post is left alone, hashtags and all: the recommendation is not a rule.
    assert repair("Hello", tags, "twitter") == ("Hello", tags)


def test_repair_removes_placeholders_banned_terms_and_bad_tags() -> None:
    text = "Try [Brand Name] today, the crypto way! {product} is TBD."
    tags = ["#Crypto", "#good tag", "#2024", "#fine", "#FINE"]
    fixed, kept = repair(text, tags, "linkedin", banned_terms=["crypto"])
    # "{product} is TBD." would be left as "is.": the broken sentence goes.
    assert fixed == "Try today, the way!"
    assert kept == ["#goodtag", "#fine"]
    assert validate_post(fixed, kept, "linkedin", banned_terms=["crypto"]) == []


def test_repair_drops_the_sentence_or_clause_a_removal_would_break() -> None:
    banned = ["best in town", "free shipping", "cheap", "guaranteed", "miracle"]
    # A hole in a sentence ("is the _", "The _ is") takes its sentence with it ...
    fixed, _ = repair(
        "The [PRODUCT NAME] is now taking orders. Come by our Brooklyn café this weekend.",
        [],
        "sandbox",
    )
    assert fixed == "Come by our Brooklyn café this weekend."
    # ... or only its clause, when the rest of the sentence still says something.
    fixed, _ = repair(
        "Our new decaf is a miracle: Sumatra Gayo swiss-water decaf, on shelves Monday.",
        [],
        "sandbox",
        banned_terms=banned,
    )
    assert fixed == "Sumatra Gayo swiss-water decaf, on shelves Monday."
    # An adjective that goes leaves no hole: only the words go.
    fixed, _ = repair(
        "Our Colombia Huila is the guaranteed cheapest specialty coffee in Brooklyn.",
        [],
        "sandbox",
        banned_terms=banned,
    )
    assert fixed == "Our Colombia Huila is the specialty coffee in Brooklyn."
    # When dropping would leave nothing, the words go with what dangles before the hole.
    fixed, _ = repair(
        "Our sourdough is the best in town, and now with free shipping across Berlin.",
        [],
        "sandbox",
        banned_terms=banned,
    )
    assert fixed == "Our sourdough, and now across Berlin."
    assert "the," not in fixed
    assert "with across" not in fixed


def test_repair_never_returns_empty_text() -> None:
    fixed, kept = repair("[Brand Name] {product}", ["#ok"], "twitter")
    assert fixed == NEUTRAL_SENTENCES[0]
    assert kept == ["#ok"]
    fixed, _ = repair("", [], "twitter", banned_terms=["more"])
    assert fixed == NEUTRAL_SENTENCES[1]


def test_repair_adds_a_call_to_action() -> None:
    found = validate_post("Nice day", [], "twitter", require_cta=True)
    fixed, _ = repair("Nice day", [], "twitter", found)
    assert fixed == "Nice day\n\nLearn more."
    fixed, _ = repair("Nice day", [], "twitter", cta="Book now at our cafe")
    assert fixed == "Nice day\n\nBook now at our cafe"
    # A call to action in the part that is cut off is replaced by one that fits.
    text = "x " * 200 + "Sign up now."
    fixed, _ = repair(text, [], "twitter", require_cta=True)
    assert fixed.endswith(f"{ELLIPSIS}\n\nLearn more.")
    assert validate_post(fixed, [], "twitter", require_cta=True) == []


def test_repair_title() -> None:
    assert repair_title("Fine title", "youtube") == "Fine title"
    assert repair_title("anything", "twitter") == "anything"
    title = repair_title("Our <best> [Product Name] video " + "ever " * 30, "youtube")
    assert title is not None
    assert len(title) <= 100
    assert title.startswith("Our video ever")
    assert repair_title("[Brand Name]", "youtube", fallback="Weekly update") == "Weekly update"


# --- repair: properties over many random drafts ----------------------------------------------

_WORDS = [
    "coffee", "launch", "Crypto", "free", "money", "team", "great", "new", "the", "a",
    "class", "Sign", "up", "learn", "more", "today", "world", "café", "привет", "日本語",
    "नमस्ते", "😀", "👨‍👩‍👧", "🇫🇷", "1️⃣", "#coffee", "#FreeMoney", "#crypto_news", "#2024",
    "https://example.com/path?q=1", "example.com", "x.ai", "[Brand Name]", "{product}",
    "<insert link>", "TBD", "XXX", "lorem ipsum", "[your link]", "<", ">", "a > b", ".", ",",
    "!", "?", "—", "(", ")", "\n", "\n\n", "e\u0301", "Link in bio", "…",
]  # fmt: skip
_CLEAN_WORDS = ["great", "new", "today", "world", "café", "日本語", "😀", "#launch", ".", "\n"]
_TAGS = [
    "#coffee", "coffee", "#Coffee", "#free money", "#FreeMoney", "#crypto", "#2024",
    "#日本", "#ok_tag", "##bad", "#", "#hello!", "#TBD", "#launch", "#news", "#a", "#b",
]  # fmt: skip
_BANNED = ["crypto", "free money", "class", "coffee", "TBD", "launch", "the", "😀"]


def _draft(rng: random.Random, platform: str) -> tuple[str, list[str], list[str]]:
    limit = RULES[platform].max_length
    n = rng.choice([0, 1, 5, 20, 60, 200, 600])
    # A third of the drafts use only harmless words, so valid posts are common too.
    vocabulary = _CLEAN_WORDS if rng.random() < 0.33 else _WORDS
    words = [rng.choice(vocabulary) for _ in range(n)]
    if rng.random() < 0.1:
        words.append(rng.choice("ab日😀") * rng.randint(1, limit + 50))
    text = " ".join(words)
    if rng.random() < 0.05:
        text = (text + " ") * (limit // max(1, len(text)) + 2)  # far over the limit
    tags = [rng.choice(_TAGS) for _ in range(rng.choice([0, 1, 3, 10, 40]))]
    if rng.random() < 0.2:
        tags += [f"#tag{i}" for i in range(rng.randint(0, 50))]
    banned = rng.sample(_BANNED, rng.randint(0, 4))
    if vocabulary is _CLEAN_WORDS:
        tags = [t for t in tags if t in ("#news", "#ok_tag", "#a", "#b")]
    return text, tags, banned


@pytest.mark.parametrize("platform", sorted(RULES))
def test_repair_always_yields_a_valid_post(platform: str) -> None:
    rng = random.Random(f"chorus-{platform}")
    for _ in range(150):
        text, tags, banned = _draft(rng, platform)
        require_cta = rng.random() < 0.3
        cta = rng.choice([None, None, "Shop now", "Visit [Brand Name]", "coffee " * 400])
        check = {"banned_terms": banned, "require_cta": require_cta}
        found = validate_post(text, tags, platform, cta=cta, **check)
        fixed, kept = repair(text, tags, platform, found, cta=cta, **check)

        context = f"{platform}: {text[:200]!r} {tags} banned={banned} cta={cta!r}"
        assert validate_post(fixed, kept, platform, **check) == [], context
        assert fixed.strip(), context
        # Deterministic, and a repaired post needs no further repair.
        assert repair(text, tags, platform, found, cta=cta, **check) == (fixed, kept)
        assert repair(fixed, kept, platform, **check) == (fixed, kept)
        if not found and cta is None:
            assert (fixed, kept) == (text, tags), context


def test_repair_is_quick_on_the_longest_platform() -> None:
    text = "Lots of words here. " * 5000  # 100k characters for Facebook's 63206
    fixed, _ = repair(text, ["#x"], "facebook")
    assert validate_post(fixed, ["#x"], "facebook") == []
    assert post_length(compose(fixed, ["#x"], "facebook"), "facebook") > 63000
