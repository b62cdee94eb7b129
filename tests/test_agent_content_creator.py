"""content_creator: the contract, hashtags from the tenant's own data, the repair loop (model
first, then code), banned terms, placeholders and invented numbers never surviving, memory in
the prompt, accounting, tenancy, and the local model's smoke path."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from agent_support import (
    World,
    agent_world,
    config,
    latest_task,
    needs_local_model,
    scripted_usage,
    use_model,
)

from agents.content_creator import (
    PLATFORM_CTAS,
    content_creator,
    parse_post,
    template_post,
)
from agents.prompts import content_creator as prompts
from agents.revision import revision_template, same_post
from agents.schemas import Draft
from memory.kinds import MemoryKind
from services.demo.planted import BANNED_TERMS, TRENDING_HASHTAG
from tools.platform_rules import (
    compose,
    find_banned,
    find_placeholders,
    post_length,
    rules_for,
    validate_post,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

BRIEF = "Announce our autumn cold brew lineup, available this weekend"
GOOD = "Our autumn cold brew lineup lands this weekend: slow-steeped, smooth and bold."
LONG = (
    "Our autumn cold brew lineup is finally here and we could not be more excited to share it "
    "with every single one of you who has waited all year long for the return of slow-steeped, "
    "velvety, chocolate-forward cold brew made from our favourite single-origin beans, roasted "
    "in small batches in our own roastery and steeped overnight for a cup that is smooth, bold "
    "and bright, in every bottle and every glass."
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("content_creator") / "data") as w:
        yield w


def assert_valid(draft: Draft, banned: tuple[str, ...] = BANNED_TERMS, *, cta: str = "") -> None:
    """The invariant: the draft as it leaves the agent passes every rule. A requested call to
    action (``cta``) must be in the text, whatever its words; otherwise the text must hold
    one the rules recognise."""
    assert (
        validate_post(
            draft.text,
            draft.hashtags,
            draft.platform,
            banned_terms=banned,
            require_cta=not cta,
            title=draft.title,
        )
        == []
    )
    assert cta in draft.text


async def test_contract_camel_case_and_tenant_hashtags(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, [GOOD])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "instagram"}, config(world, world.a)
    )
    assert isinstance(draft, Draft)
    dumped = draft.model_dump(mode="json", by_alias=True)
    assert set(dumped) == {
        "text",
        "hashtags",
        "callToAction",
        "platform",
        "title",
        "repaired",
        "attempts",
        "source",
        "qualityNotes",
    }
    assert Draft.model_validate(dumped) == draft
    assert_valid(draft)
    assert draft.text.startswith(GOOD)
    assert (draft.repaired, draft.attempts) == (False, 1)
    # The call to action is Instagram's default, composed into the text.
    assert draft.call_to_action == PLATFORM_CTAS["instagram"]
    assert draft.text.endswith(PLATFORM_CTAS["instagram"])
    # Hashtags: the tenant's relevant ones, the planted trending tag among them, within
    # Instagram's recommended count; none written into the text.
    assert TRENDING_HASHTAG in draft.hashtags
    assert 1 <= len(draft.hashtags) <= rules_for("instagram").recommended_hashtags[1]
    assert "#" not in draft.text


async def test_inline_hashtags_move_to_the_list_and_request_tags_come_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, [f"{GOOD} #AutumnVibes #coldbrew"])
    draft = await content_creator.call(
        {
            "brief": BRIEF,
            "platform": "twitter",
            "hashtags": ["#CheapEats", "fall menu", "#FallMenu"],
        },
        config(world, world.a),
    )
    assert_valid(draft)
    assert "#AutumnVibes" not in draft.text
    # "#CheapEats" holds a banned term; "fall menu" is mended; X recommends at most 2 tags.
    assert draft.hashtags == ["#fallmenu", TRENDING_HASHTAG]


async def test_overlong_x_draft_gets_deterministic_repair_after_two_attempts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, world, [LONG])  # the same 400-character text, twice
    assert len(LONG) >= 400
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "twitter"}, config(world, world.a)
    )
    assert (draft.repaired, draft.attempts) == (True, 2)
    assert len(model.prompts) == 2
    # The second call asked the model to fix the text, with the violation's message.
    assert "twitter allows 280" in model.users[1]
    assert_valid(draft)
    assert post_length(compose(draft.text, draft.hashtags, "twitter"), "twitter") <= 280
    assert draft.text.startswith("Our autumn cold brew lineup")


async def test_a_valid_second_attempt_is_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, [LONG, GOOD])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "twitter", "callToAction": "Order ahead at lumen.example"},
        config(world, world.a),
    )
    assert (draft.repaired, draft.attempts) == (False, 2)
    assert draft.text == f"{GOOD}\n\nOrder ahead at lumen.example"
    assert draft.call_to_action == "Order ahead at lumen.example"
    assert_valid(draft, cta="Order ahead at lumen.example")


async def test_a_requested_call_to_action_survives_the_deterministic_repair(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "Order ahead" is no phrase the rules know; it was asked for, so it stays.
    cta = "Order ahead at lumen.example"
    use_model(monkeypatch, world, [LONG])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "twitter", "callToAction": cta}, config(world, world.a)
    )
    assert (draft.repaired, draft.attempts) == (True, 2)
    assert draft.text.endswith(f"\n\n{cta}")
    assert draft.call_to_action == cta
    assert_valid(draft, cta=cta)


@pytest.mark.parametrize(
    ("reply", "brief"),
    [
        ("Our cheap cold brew is a miracle in a cup. Guaranteed smooth!", BRIEF),
        ("Noted.", "Announce our cheap and cheerful cold brew, guaranteed to please"),
    ],
)
async def test_banned_terms_never_survive(
    world: World, monkeypatch: pytest.MonkeyPatch, reply: str, brief: str
) -> None:
    use_model(monkeypatch, world, [reply])
    draft = await content_creator.call(
        {"brief": brief, "platform": "facebook", "callToAction": "Grab a cheap cup today"},
        config(world, world.a),
    )
    assert find_banned(draft.text, BANNED_TERMS) == []
    assert all(not find_banned(t, BANNED_TERMS) for t in draft.hashtags)
    assert draft.repaired
    # The requested call to action held a banned term: the platform's default replaced it.
    assert draft.call_to_action == PLATFORM_CTAS["facebook"]
    assert_valid(draft)


async def test_placeholders_and_invented_numbers_never_survive(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(
        monkeypatch,
        world,
        [
            "Meet [Brand Name]'s autumn cold brew, made for {audience}. Dear [BusinessName], "
            "it is 50% off for 3 days only! Smooth, slow-steeped and ready this weekend."
        ],
    )
    draft = await content_creator.call(
        {"brief": "Announce our autumn cold brew lineup at $4 a cup", "platform": "linkedin"},
        config(world, world.a),
    )
    assert find_placeholders(draft.text) == []
    assert "[" not in draft.text
    assert "50%" not in draft.text
    assert " 3 days" not in draft.text
    # The quality gate asked once more with the reasons (the model repeated itself), then
    # composed the draft from the brief: the figure the brief gives stays.
    assert (draft.repaired, draft.attempts, draft.source) == (True, 2, "composed")
    assert "the number 50, the number 3" in model.users[1]
    assert "a discount" in model.users[1]
    assert draft.text.startswith("Announcing our autumn cold brew lineup at $4 a cup.")
    assert_valid(draft)


async def test_numbers_the_brief_gives_are_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Autumn cold brew is here at $4 a cup, all weekend."])
    draft = await content_creator.call(
        {"brief": "Announce our autumn cold brew lineup at $4 a cup", "platform": "facebook"},
        config(world, world.a),
    )
    assert "$4 a cup" in draft.text
    assert (draft.repaired, draft.attempts) == (False, 1)


async def test_unusable_words_fall_back_to_a_template(world: World) -> None:
    # The built-in scripted model only acknowledges the prompt ("Noted: Brief: ..."): an echo.
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "tiktok"}, config(world, world.a, model="scripted")
    )
    assert draft.text.startswith(f"{template_post(BRIEF)}\n\n")
    assert draft.text.startswith("Announcing our autumn cold brew lineup, available this weekend.")
    assert (draft.repaired, draft.attempts) == (True, 1)
    assert_valid(draft)


async def test_memory_feedback_and_previous_draft_reach_the_prompt(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = world.runtime.memory
    voice = "Brand voice: warm, plain words, no hype; we call our customers neighbours."
    past = "Saturday cold brew flights are back at the roastery, neighbours."
    await memory.add(world.a, MemoryKind.BRAND_VOICE, voice, {"voice_attribute": "tone"})
    await memory.add(world.a, MemoryKind.CONTENT_HISTORY, past, {"platform": "instagram"})
    model = use_model(monkeypatch, world, [GOOD])
    request = {
        "brief": BRIEF,
        "platform": "instagram",
        "audience": "commuters in Brooklyn",
        "tone": "playful",
        "feedback": "Mention the weekend tasting flight.",
        "previousDraft": "Cold brew is back.",
    }
    await content_creator.call(request, config(world, world.a))
    system, user = (str(m.content) for m in model.prompts[0])
    assert "Content Creator" in system
    assert "cheap" in system  # the tenant's banned terms are named
    for expected in (voice, past, "commuters in Brooklyn", "playful"):
        assert expected in user
    assert "Reviewer feedback: Mention the weekend tasting flight." in user
    assert "Previous draft: Cold brew is back." in user

    # Organization B asks the same: none of A's memories, hashtags or banned terms.
    model = use_model(
        monkeypatch, world, ["Our cheap autumn cold brew is here, with a weekend tasting flight."]
    )
    draft = await content_creator.call(request, config(world, world.b))
    system, user = (str(m.content) for m in model.prompts[0])
    assert voice not in user
    assert past not in user
    assert "cheap" not in system
    assert draft.hashtags == []  # B has no analytics, and the request named none
    assert draft.text.startswith("Our cheap autumn cold brew is here,")  # not banned for B


async def test_youtube_draft_has_a_valid_title(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, [GOOD])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "youtube"}, config(world, world.a)
    )
    assert draft.title
    assert len(draft.title) <= 100
    assert_valid(draft)


async def test_ai_task_records_the_scripted_usage(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, world, [LONG, GOOD])
    await content_creator.call(
        {"brief": BRIEF, "platform": "twitter"},
        config(world, world.a, graph="content_creation", thread_id="t-cc-1"),
    )
    task = await latest_task(world, world.a, "content_creator")
    tokens_in, tokens_out = scripted_usage(model)
    assert len(model.prompts) == 2  # a draft and one repair, both accounted
    assert task.agent_type == "content_creator"
    assert task.task_type == "draft_post"
    assert (task.workflow, task.thread_id) == ("content_creation", "t-cc-1")
    assert task.execution.status == "completed"
    assert task.resources.model_used == "scripted"
    assert (task.resources.tokens_in, task.resources.tokens_out) == (tokens_in, tokens_out)
    assert task.resources.tokens_used == tokens_in + tokens_out
    assert task.output.result["attempts"] == 2


async def test_parse_post_moves_trailing_hashtags_and_drops_echoes() -> None:
    text, tags = parse_post(
        'Here is your post:\n"The post will end with this call to action: Tell us.\n'
        'Cold brew is back! #ColdBrew #fall"'
    )
    assert text == "Cold brew is back!"
    assert tags == ["#ColdBrew", "#fall"]
    text, tags = parse_post("#coffee #autumn\nCold brew is back.\nProblems:\n- Remove 5")
    assert (text, tags) == ("Cold brew is back.", ["#coffee", "#autumn"])


def _prompt_labels() -> set[str]:
    """Every "Label:" the content creator's prompts put at the start of a line."""
    rendered = [
        prompts.system_prompt("youtube", ["cheap"], "Be kind."),
        prompts.draft_prompt(
            brief="b",
            platform="instagram",
            max_chars=200,
            audience="a",
            tone="t",
            industry="i",
            call_to_action="c",
            brand_voice=["v"],
            past_posts=["p"],
            feedback="f",
            previous_draft="d",
        ),
        prompts.repair_prompt("the text", ["a problem"], 200),
        prompts.revision_retry_prompt(
            brief="b", previous_draft="d", feedback="f", max_chars=200, call_to_action="c"
        ),
    ]
    found = set()
    for prompt in rendered:
        for line in prompt.split("\n"):
            m = re.match(r"^(?:- )?([A-Z][^:\n]{0,40}):", line)
            if m:
                found.add(m.group(1) + ":")
    return found


async def test_every_prompt_label_is_stripped_from_the_post() -> None:
    labels = _prompt_labels()
    assert {"Post:", "Brief:", "Problems:", "Length:"} <= labels
    known = [label.casefold() for label in (*prompts.ECHO_LABELS, *prompts.TEXT_LABELS)]
    for label in labels:
        assert any(label.casefold().startswith(k) or k in label.casefold() for k in known), label
        text, _ = parse_post(f"{label} Our latte is back in Hoboken.")
        assert label.casefold() not in text.casefold()
    # The repair prompt's "Post:" label, echoed before the fixed text, is not published.
    text, _ = parse_post(
        "This post breaks the platform's rules.\nPost: the finest latte in Hoboken"
    )
    assert text == "the finest latte in Hoboken"
    assert parse_post("**Revised post:** Our latte.")[0] == "Our latte."


async def test_the_repair_prompts_post_label_never_reaches_the_draft(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(
        monkeypatch,
        world,
        [
            "Our cheap latte is back in Hoboken this week.",
            "This post breaks the platform's rules.\nPost: Our finest latte is back in Hoboken.",
        ],
    )
    draft = await content_creator.call(
        {"brief": "Our latte is back in Hoboken", "platform": "twitter"}, config(world, world.a)
    )
    assert_valid(draft)
    assert draft.attempts == 2
    assert draft.text.startswith("Our finest latte is back in Hoboken.")
    assert "Post:" not in draft.text


async def test_inflected_banned_terms_never_survive(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The organization bans "cheap" and "guaranteed"; the model writes "cheapest".
    use_model(monkeypatch, world, ["Our cheapest beans, roasted this week in Brooklyn."])
    draft = await content_creator.call(
        {"brief": "Our guaranteed cheapest beans", "platform": "instagram"},
        config(world, world.a),
    )
    assert_valid(draft)
    assert "cheapest" not in draft.text.casefold()
    assert draft.repaired


async def test_lowercase_compound_hashtags_with_banned_terms_are_dropped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, [GOOD])
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "twitter", "hashtags": ["#cheapcoffee", "#coldbrew"]},
        config(world, world.a),
    )
    assert_valid(draft)
    assert "#cheapcoffee" not in draft.hashtags
    assert "#coldbrew" in draft.hashtags


PREVIOUS = "Our Kenya Nyeri AA is back: blackcurrant and pink grapefruit in every cup."
REVISION = {
    "brief": "Announce the return of Kenya Nyeri AA.",
    "platform": "instagram",
    "previousDraft": PREVIOUS,
    "feedback": "Mention the price, $19 for 12 oz, and that it's available online.",
}


async def test_a_revision_that_repeats_the_rejected_draft_is_asked_for_once_more(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = "Kenya Nyeri AA is back for $19 a 12 oz bag, and you can order it online."
    model = use_model(monkeypatch, world, [PREVIOUS, fresh])
    draft = await content_creator.call(REVISION, config(world, world.a))
    assert_valid(draft)
    assert len(model.prompts) == 2
    assert "Rejected draft: " + PREVIOUS in model.users[1]
    assert draft.text.startswith(fresh)
    assert (draft.attempts, draft.repaired) == (2, False)


async def test_a_revision_never_hands_back_the_rejected_draft(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, world, [PREVIOUS])  # the model copies it, every time
    draft = await content_creator.call(REVISION, config(world, world.a))
    assert_valid(draft)
    assert len(model.prompts) == 2, "one extra call, no more"
    assert PREVIOUS not in draft.text
    # Code writes the revision from the brief and the feedback.
    assert draft.text.startswith("Announcing the return of Kenya Nyeri AA.")
    assert "$19 for 12 oz" in draft.text
    assert "available online" in draft.text
    assert draft.repaired


async def test_a_revision_template_differs_from_the_rejected_one_even_on_style_feedback(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    brief = "Announce our cold brew, steeped 18 hours, in cans at all four cafés."
    # What the agent made of this brief before, with no usable model reply: the template.
    previous = compose(template_post(brief), [], "twitter", cta=PLATFORM_CTAS["twitter"])
    use_model(monkeypatch, world, ["Noted."])  # no post at all: the template stands in
    draft = await content_creator.call(
        {"brief": brief, "platform": "twitter", "previousDraft": previous, "feedback": "Warmer."},
        config(world, world.a),
    )
    assert_valid(draft)
    assert not same_post(draft.text, previous)


async def test_revision_template_adds_and_drops_what_the_feedback_says() -> None:
    brief = "Save 20% on Rwanda Nyamasheke this week, from the women's co-op we have partnered."
    text = revision_template(
        template_post(brief), "Drop the discount entirely.", template_post(brief)
    )
    assert "20%" not in text
    assert "Nyamasheke" in text
    brief = "Pumpkin spice cold foam is back at all four cafés."
    text = revision_template(
        template_post(brief), "Shorter, and add that it's dairy-free.", template_post(brief)
    )
    assert text.endswith(" It's dairy-free.")


@pytest.mark.local_models
async def test_local_model_returns_a_valid_draft(world: World) -> None:
    needs_local_model()
    draft = await content_creator.call(
        {"brief": BRIEF, "platform": "twitter", "callToAction": "Order ahead at lumen.example"},
        config(world, world.a, model="local"),
    )
    assert_valid(draft, cta="Order ahead at lumen.example")
    assert 1 <= draft.attempts <= 2
    assert find_placeholders(draft.text) == []
    task = await latest_task(world, world.a, "content_creator")
    assert task.resources.model_used == "local"
    assert task.resources.tokens_in > 0
    assert task.resources.tokens_out > 0
