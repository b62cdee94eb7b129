"""The quality gate (issue 18): each class of text a social media manager would reject is caught
by its own check, good posts pass every check, a failing draft is written again once with the
reasons and then replaced by a composed draft, and the approval card says which it is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from agent_support import World, agent_world, config, needs_local_model, use_model

from agents.content_creator import content_creator
from agents.quality import DraftFacts, PastPost, composed_draft, review
from agents.quality.checks import (
    degenerate,
    feedback_applied,
    first_person,
    invented,
    letter_style,
    negative_framing,
    off_brief,
    prompt_labels,
)
from memory.kinds import MemoryKind

pytestmark = pytest.mark.asyncio(loop_scope="module")

BRIEF = "Announce our Ethiopia cold brew"
FACTS = DraftFacts(brief=BRIEF, sources=BRIEF)
GOOD = [
    "Our Ethiopia cold brew is here: bright, fruity and smooth, steeped slowly for a clean cup.",
    "Meet the newest bottle on our shelf, Ethiopia cold brew, with notes of berry and jasmine.",
    "Ethiopia cold brew just landed in every café. We think it tastes like summer in a glass!",
]
# What the 135M model offered for this brief in issue 18.
ISSUE_DEGENERATE = (
    "Ethiopia's journey to Ethiopia is a story of how Ethiopia has become a multi-ethnic "
    "nation. Ef... D.. A. D. E. F. F.. G.. H.. I. II. III. ..."
)
ISSUE_OFF_BRIEF = "What a culinary dream is. I'm proud to be part of the world's culinary empire."


@pytest.mark.parametrize("text", GOOD)
async def test_good_posts_pass_every_check(text: str) -> None:
    assert review(text, FACTS) == []


@pytest.mark.parametrize(
    "text",
    [
        ISSUE_DEGENERATE,
        "Our cold brew is here. I. II. III. IV.",
        "Cold brew cold brew cold brew, the cold brew for cold brew lovers.",
        "Our Ethiopia cold brew is the best, our Ethiopia cold brew is the best.",
        "Our Ethiopia cold brew is here and it tastes like",
    ],
)
async def test_degenerate_output_is_caught(text: str) -> None:
    problem = degenerate(text, FACTS)
    assert problem is not None
    assert problem.check == "degenerate"


async def test_off_brief_text_is_caught_by_terms_and_by_similarity() -> None:
    assert off_brief(ISSUE_OFF_BRIEF, FACTS) is not None
    # The brief's terms are there, but the embedding model says the text is about something
    # else: the similarity decides.
    far = DraftFacts(brief=BRIEF, sources=BRIEF, similarity=0.12)
    assert off_brief("Ethiopia cold brew: a history of the Horn of Africa's wars.", far)
    near = DraftFacts(brief=BRIEF, sources=BRIEF, similarity=0.62)
    assert off_brief(GOOD[0], near) is None


@pytest.mark.parametrize(
    "text",
    [
        "Our Ethiopia cold brew is here, and it's 20% off this weekend.",
        "Ethiopia cold brew is here, with a free upgrade to a large cup.",
        "We partnered with a local farm to bring you Ethiopia cold brew.",
        "Despite our financial trouble, our Ethiopia cold brew is here.",
        "Our Ethiopia cold brew is here for 4 dollars.",
    ],
)
async def test_invented_offers_and_numbers_are_caught(text: str) -> None:
    problem = invented(text, FACTS)
    assert problem is not None
    assert problem.check == "invented"


async def test_an_offer_the_brief_gives_is_no_invention() -> None:
    brief = "Announce our Ethiopia cold brew, 20% off this weekend"
    facts = DraftFacts(brief=brief, sources=brief)
    assert invented("Ethiopia cold brew is here, and it's 20% off this weekend.", facts) is None


@pytest.mark.parametrize(
    "text",
    [
        "Premise: Our Ethiopia cold brew is here.",
        "Our Ethiopia cold brew is here. P. S. Try it iced.",
        "Post: Our Ethiopia cold brew is here.",
        "Announce our Ethiopia cold brew, everyone!",
    ],
)
async def test_prompt_labels_and_echoes_are_caught(text: str) -> None:
    problem = prompt_labels(text, DraftFacts(brief=BRIEF + " to our followers", sources=BRIEF))
    problem = problem or prompt_labels(text, FACTS)
    assert problem is not None
    assert problem.check == "prompt_label"


@pytest.mark.parametrize(
    "text",
    [
        "Ladies and gentlemen, our Ethiopia cold brew is here.",
        "Dear friends, our Ethiopia cold brew is here.",
        "Our Ethiopia cold brew is here. Best regards, the team.",
    ],
)
async def test_letter_style_is_caught(text: str) -> None:
    assert letter_style(text, FACTS) is not None


async def test_the_brand_speaks_as_we_not_i() -> None:
    assert first_person("I'm so proud of our Ethiopia cold brew.", FACTS) is not None
    assert first_person("My favourite: Ethiopia cold brew.", FACTS) is not None
    assert first_person("We're proud of our Ethiopia cold brew.", FACTS) is None


async def test_a_positive_announcement_is_not_told_as_bad_news() -> None:
    assert negative_framing("Unfortunately, our Ethiopia cold brew is here.", FACTS)
    assert negative_framing("Our Ethiopia cold brew is here, sadly.", FACTS)
    assert negative_framing(GOOD[0], FACTS) is None
    # A brief that is not an announcement is not held to good news.
    apology = DraftFacts(brief="Apologise for the late Ethiopia cold brew deliveries")
    assert negative_framing("Sorry: our Ethiopia cold brew deliveries are late.", apology) is None


async def test_revision_feedback_must_be_applied() -> None:
    previous = "Our Ethiopia cold brew is here, 20% off this weekend."
    facts = DraftFacts(
        brief=BRIEF,
        sources=BRIEF,
        feedback="Drop the discount and mention the jasmine notes.",
        previous_draft=previous,
    )
    assert feedback_applied(previous, facts) is not None
    assert feedback_applied("Our Ethiopia cold brew is here, with berry notes.", facts)
    assert feedback_applied("Our Ethiopia cold brew is here, with jasmine notes.", facts) is None
    shorter = DraftFacts(brief=BRIEF, feedback="Make it shorter.", previous_draft=GOOD[0])
    assert feedback_applied(GOOD[0] + " Try it today.", shorter) is not None
    assert feedback_applied("Our Ethiopia cold brew is here.", shorter) is None


async def test_the_composed_draft_uses_the_brands_own_timeless_words() -> None:
    past = [
        PastPost("Save 20% on cold brew this week only!", 0.09),
        PastPost("Our cold brew steeps for a full night, so every sip is smooth.", 0.07),
        PastPost("Meet the team behind our new roastery.", 0.02),
    ]
    text = composed_draft(BRIEF, past, ["smooth, warm, plain words"], max_chars=400)
    assert text == (
        "Announcing our Ethiopia cold brew. "
        "Our cold brew steeps for a full night, so every sip is smooth."
    )
    assert review(text, FACTS) == []
    # Nothing related and timeless: the opening alone.
    assert composed_draft(BRIEF, past[:1] + past[2:]) == "Announcing our Ethiopia cold brew."


# --- through the agent ----------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("quality") / "data") as w:
        yield w


async def test_a_good_draft_is_the_models(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, world, [GOOD[0]])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "instagram"}, config(world, world.a)
    )
    assert (draft.source, draft.quality_notes, len(model.prompts)) == ("model", [], 1)
    assert draft.text.startswith(GOOD[0])


async def test_a_failing_draft_is_regenerated_once_with_the_reason(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, world, [ISSUE_OFF_BRIEF, GOOD[1]])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "instagram"}, config(world, world.a)
    )
    assert len(model.prompts) == 2
    assert "Why it was rejected" in model.users[1]
    assert "we, our" in model.users[1] or "Speak as the brand" in model.users[1]
    assert draft.source == "regenerated"
    assert draft.text.startswith(GOOD[1])
    assert draft.quality_notes  # the card says why the first one went


async def test_twice_failing_drafts_are_replaced_by_a_composed_draft(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, world, [ISSUE_DEGENERATE, ISSUE_OFF_BRIEF])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "instagram"}, config(world, world.b)
    )
    assert len(model.prompts) == 2
    assert draft.source == "composed"
    assert draft.text.startswith("Announcing our Ethiopia cold brew.")
    # The card names the first draft's defect (a letter list) and the second's (off brief).
    assert any("letters or numerals" in n for n in draft.quality_notes)
    assert any("not about the brief" in n for n in draft.quality_notes)
    assert "Ethiopia's journey" not in draft.text
    assert "culinary" not in draft.text
    assert review(draft.text, FACTS) == []


async def test_the_composed_draft_draws_on_the_organizations_best_past_post(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = world.runtime.memory
    org = world.b
    await memory.add(
        org,
        MemoryKind.CONTENT_HISTORY,
        "Our cold brew steeps for a full night, so every sip is smooth. Tell us in the comments.",
        {"platform": "instagram", "engagement_score": 0.08},
    )
    use_model(monkeypatch, world, [ISSUE_DEGENERATE])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "instagram"}, config(world, org)
    )
    assert draft.source == "composed"
    assert "every sip is smooth" in draft.text


async def test_the_gate_reads_an_invented_discount(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Our Ethiopia cold brew is here, with a discount for everyone."])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "instagram"}, config(world, world.b)
    )
    assert draft.source == "composed"
    assert "discount" not in draft.text
    assert any("discount" in n for n in draft.quality_notes)


@pytest.mark.local_models
async def test_the_local_model_never_hands_a_defect_to_approval(world: World) -> None:
    """With the 135M model the composed draft is the main path: whatever the model writes,
    the draft that comes out passes every check (on briefs nobody tuned on)."""
    needs_local_model()
    briefs = [
        "Invite families to our pumpkin carving afternoon at the Astoria café",
        "Share that our oat milk is now made in house",
    ]
    for brief in briefs:
        draft = await content_creator.call(
            {"brief": brief, "platform": "instagram"}, config(world, world.b, model="local")
        )
        # The gate never asks the local model again (a failing draft is composed at once);
        # a platform-rule repair of a passing draft may ask it once more.
        assert draft.attempts <= 2
        assert draft.source in ("model", "composed")
        body = draft.text.rsplit("\n\n", 1)[0]
        assert review(body, DraftFacts(brief=brief, sources=brief)) == [], draft


async def test_off_topic_report_sentences_are_dropped() -> None:
    """Issue 18: a report gained an off-topic sentence. A model sentence joins a report only
    when it is about the report's facts (one of their words, or two words of the trade)."""
    from agents.grounding import grounded_sentences, usable

    facts = "Instagram engagement rate 4.2% over 30 days; reels 6.1%, images 3.0%."
    assert not usable("Always be kind to your community and the world will follow.", facts)
    assert not usable("Life is a journey, and every morning is a new content of joy.", facts)
    assert usable("Reels lifted engagement well above images this month.", facts)
    reply = (
        "Reels lifted engagement well above images this month. "
        "Always be kind to your community and the world will follow."
    )
    assert grounded_sentences(reply, facts) == [
        "Reels lifted engagement well above images this month."
    ]
