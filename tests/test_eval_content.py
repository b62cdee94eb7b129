"""The content evaluators: each gives 1 when the post is right, 0 when it is wrong, and the
partial scores in between where the evaluator has them."""

from __future__ import annotations

import pytest

from evals.evaluators.content import (
    approval_outcome,
    banned_terms_in,
    clean_post,
    composed_post,
    constraint_failures,
    cta_present,
    fact_covered,
    facts_covered,
    hashtag_count,
    hashtag_limit,
    hashtags_within_limits,
    placeholders_in,
    platform_constraints,
    terms_absent,
)
from tools.platform_rules import rules_for

BANNED = ("cheap", "guaranteed", "miracle")


# --- platform constraints -------------------------------------------------------------------


def test_a_short_post_meets_every_platform_rule() -> None:
    for platform in ("twitter", "linkedin", "instagram", "facebook", "tiktok", "sandbox"):
        assert platform_constraints("Cold brew is back.", ["#coldbrew"], platform) == 1.0
    assert platform_constraints("Cold brew is back.", [], "youtube", title="Cold brew") == 1.0


def test_length_is_counted_the_platforms_way_after_composing() -> None:
    limit = rules_for("twitter").max_length
    # 140 emoji weigh 280 on X although they are 140 code points: exactly at the limit...
    assert platform_constraints("☕" * 140, [], "twitter") == 1.0
    # ... and one hashtag appended after a blank line pushes it over.
    assert platform_constraints("☕" * 140, ["#coffee"], "twitter") == 0.0
    assert platform_constraints("a" * limit, [], "twitter") == 1.0
    assert platform_constraints("a" * (limit + 1), [], "twitter") == 0.0
    # LinkedIn counts UTF-16 units: 3000 fits, 3001 does not.
    assert platform_constraints("b" * 3000, [], "linkedin") == 1.0
    assert "length 3001 > 3000" in constraint_failures("b" * 3001, [], "linkedin")


def test_titles_hashtags_and_forbidden_characters() -> None:
    assert constraint_failures("A roast video.", [], "youtube") == ["missing title"]
    assert platform_constraints("A roast video.", [], "youtube", title="t" * 101) == 0.0
    assert platform_constraints("Roast <live> today.", [], "youtube", title="Roast") == 0.0
    assert platform_constraints("Hello.", ["#ok", "#not ok"], "instagram") == 0.0
    assert platform_constraints("", [], "instagram") == 0.0
    many = [f"#tag{i}a" for i in range(31)]
    assert platform_constraints("Hello.", many, "instagram") == 0.0
    assert platform_constraints("Hello.", many[:30], "instagram") == 1.0


def test_hashtags_count_inline_and_appended_once() -> None:
    text = "Our #ColdBrew is back."
    assert composed_post(text, ["#coldbrew", "#Brooklyn"], "instagram").endswith("#Brooklyn")
    assert hashtag_count(text, ["#coldbrew", "#Brooklyn"], "instagram") == 2
    assert hashtag_limit("twitter") == 2  # no hard maximum: the recommended top
    assert hashtag_limit("youtube") == 3  # hard maximum 15, recommended top 3
    assert hashtags_within_limits(text, ["#Brooklyn"], "twitter") == 1.0
    assert hashtags_within_limits(text, ["#Brooklyn", "#nyc"], "twitter") == 0.0


# --- banned terms and placeholders ----------------------------------------------------------


def test_banned_terms_whole_words_inflections_and_hashtags() -> None:
    assert banned_terms_in("Our cheapest beans yet", BANNED) == ["cheap"]
    assert banned_terms_in("GUARANTEED fresh", BANNED) == ["guaranteed"]
    assert banned_terms_in("A tiny miracles jar", BANNED) == ["miracle"]
    assert banned_terms_in("Fresh beans #CheapCoffee", BANNED) == ["cheap"]
    assert banned_terms_in("Fresh beans #cheapcoffee", BANNED) == ["cheap"]
    # Not a word of a banned term: "cheapside" is a place, "guarantee" is not the listed word.
    assert banned_terms_in("Cheapside market, we guarantee it", BANNED) == []
    assert banned_terms_in("Free shipping today!", ["free shipping"]) == ["free shipping"]
    assert banned_terms_in("free  Shipping", ["free shipping"]) == ["free shipping"]
    assert banned_terms_in("Das ist billiger", ["billig"]) == ["billig"]


def test_placeholders_of_every_kind() -> None:
    for blank in (
        "Details at [link].",
        "Try our {product} today",
        "Price TBD",
        "Open XXX to XXX",
        "lorem ipsum dolor",
        "RSVP at <insert link>",
        "Join us on {{date}}",
        "Insert your name here",
        "Call ___ today",
        "[Brand Name] turns five",
    ):
        assert placeholders_in(blank), blank
    assert placeholders_in("Hugs and xxx, see you at 7pm. Link in bio.") == []
    assert clean_post("Fresh beans, fair prices.", BANNED) == 1.0
    assert clean_post("Fresh beans at [link].", BANNED) == 0.0
    assert clean_post("The cheapest beans.", BANNED) == 0.0


# --- call to action, facts, removed terms ---------------------------------------------------


def test_cta_present_verbatim_partly_or_not_at_all() -> None:
    post = "Pumpkin spice is back.\n\nOrder ahead in the Lumen app!"
    assert cta_present(post, None) is None
    assert cta_present(post, "  ") is None
    assert cta_present(post, "Order ahead in the Lumen app.") == 1.0
    assert cta_present(post, "order AHEAD in the lumen APP") == 1.0
    # Reworded: "order", "ahead" and "app" kept, "Lumen" lost.
    assert cta_present("Order ahead in our app.", "Order ahead in the Lumen app.") == 0.75
    assert cta_present("Pumpkin spice is back.", "Order ahead in the Lumen app.") == 0.0


def test_facts_are_matched_normalised_and_as_whole_words() -> None:
    post = "Our Tarrazú honey lot is $19 a bag, at the café from Nov 23 (6:30 opening)."
    assert fact_covered(post, "tarrazu")
    assert fact_covered(post, "Cafe")
    assert fact_covered(post, "$19")
    assert fact_covered(post, "19")
    assert fact_covered(post, ["November 23", "Nov 23"])
    assert fact_covered(post, "6:30")
    assert not fact_covered(post, "$1")  # not a prefix of a number
    assert not fact_covered(post, "Tarrazú honey lot is $20")
    assert not fact_covered("Our brewery", "brew")
    assert facts_covered(post, []) is None
    assert facts_covered(post, ["Tarrazú", "$19", "Kenya"]) == pytest.approx(2 / 3)
    assert facts_covered(post, ["Kenya", "Huila"]) == 0.0
    assert facts_covered(post, ["Tarrazú"]) == 1.0


def test_terms_a_reviewer_removed() -> None:
    assert terms_absent("Five years with the co-op.", None) is None
    assert terms_absent("Five years with the co-op.", ["20%"]) == 1.0
    assert terms_absent("Save 20% this week.", ["20%", "discount"]) == 0.5
    assert terms_absent("Save 20% this week, a discount.", ["20%", "discount"]) == 0.0


# --- content_creation: the approval's outcome -----------------------------------------------

SLOT = "2026-11-21T18:00:00-05:00"
STORED = {"text": "Cold brew.", "status": "scheduled", "scheduledAt": "2026-11-21T23:00:00+00:00"}


def test_an_approved_post_is_stored_once_with_its_text_at_the_first_slot() -> None:
    assert approval_outcome("approve", "scheduled", "scheduled", [STORED], "Cold brew.", SLOT) == 1
    # Edited text, a different slot, stored twice, a wrong status: each costs its share.
    assert approval_outcome("approve", "scheduled", "scheduled", [STORED], "Other.", SLOT) == 0.75
    later = STORED | {"scheduledAt": "2026-11-22T23:00:00+00:00"}
    assert (
        approval_outcome("approve", "scheduled", "scheduled", [later], "Cold brew.", SLOT) == 0.75
    )
    assert (
        approval_outcome("approve", "scheduled", "scheduled", [STORED, STORED], "Cold brew.", SLOT)
        == 0.25
    )
    draft = STORED | {"status": "draft", "scheduledAt": None}
    assert approval_outcome("approve", "scheduled", "approved", [draft], "Cold brew.", SLOT) == 0.5
    assert approval_outcome("approve", "scheduled", None, [], "Cold brew.", SLOT) == 0.0


def test_a_rejected_post_is_not_stored() -> None:
    assert approval_outcome("reject", "rejected", "rejected", [], "Cold brew.", SLOT) == 1.0
    assert approval_outcome("reject", "rejected", "rejected", [STORED], "Cold brew.", SLOT) == 0.5
    assert approval_outcome("reject", "rejected", "scheduled", [STORED], None, None) == 0.0
    with pytest.raises(ValueError, match="revise"):
        approval_outcome("revise", "revising", "revising", [], None, None)
