"""engagement_optimizer: the prediction is the engagement model's for the chosen variant (never
the chat model's words), the best variant wins, the planted good configuration predicts
higher, the output stays valid, the rationale's words are grounded or replaced, accounting,
tenancy, and the local model's smoke path."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

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
from langchain_core.messages import BaseMessage
from pydantic import ValidationError
from support import DEMO_NOW

from agents.engagement_optimizer import (
    MIN_GAIN,
    build_variants,
    engagement_optimizer,
    valid_base,
)
from agents.schemas import Optimized, OptimizeRequest
from agents.toolkit import clean_tag, relevant_candidates, tenant_tags
from services.demo.planted import BANNED_TERMS
from tools.engagement_model import featurize, models_for
from tools.platform_rules import find_banned, validate_post

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT = "Cold brew season is back: slow-steeped for 18 hours."
# The planted good configuration: a video on Saturday at 19:00 New York time; the poor one: a
# plain text post at 03:00 on a Tuesday.
GOOD = {"text": TEXT, "platform": "instagram", "contentType": "video", "hashtags": ["#coldbrew"]}
GOOD_AT = "2026-11-21T19:00:00-05:00"
POOR_AT = "2026-11-24T03:00:00-05:00"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("engagement_optimizer") / "data") as w:
        yield w


async def tool_prediction(world: World, org: Any, out: Optimized, request: dict) -> Any:
    """What tools/engagement_model predicts for the optimizer's output."""
    parsed = OptimizeRequest.model_validate(request)
    model = await models_for(world.runtime).get(world.runtime.db, org)
    tz = model.timezone_for(parsed.platform)
    assert parsed.at is not None
    features = featurize(
        out.text, out.hashtags, parsed.platform, parsed.content_type, parsed.at, tz
    )
    return model.predict(features)


async def test_prediction_is_the_engagement_models_for_the_chosen_variant(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["This post will get 42% engagement, trust me."])
    request = {**GOOD, "contentType": "text", "at": POOR_AT}
    out = await engagement_optimizer.call(request, config(world, world.a))
    assert isinstance(out, Optimized)
    dumped = out.model_dump(mode="json", by_alias=True)
    assert set(dumped) == {
        "text",
        "hashtags",
        "predictedEngagement",
        "rationale",
        "slotPredictions",
    }
    assert set(dumped["predictedEngagement"]) == {"rate", "low", "high", "source"}

    expected = await tool_prediction(world, world.a, out, request)
    got = out.predicted_engagement
    assert (got.rate, got.low, got.high, got.source) == (
        expected.rate,
        expected.low,
        expected.high,
        "model",
    )
    assert got.low <= got.rate <= got.high
    # The chat model's "42%" is nowhere: the rationale names the computed numbers.
    assert "42%" not in out.rationale
    assert f"{got.rate * 100:.2f}%" in out.rationale
    assert validate_post(out.text, out.hashtags, "instagram", banned_terms=BANNED_TERMS) == []

    # It is the best of the variants (a change must buy MIN_GAIN).
    model = await models_for(world.runtime).get(world.runtime.db, world.a)
    tz = model.timezone_for("instagram")
    at = datetime.fromisoformat(POOR_AT)
    base, _ = valid_base(TEXT, ["#coldbrew"], "instagram", list(BANNED_TERMS))
    candidates = await tenant_tags(world.runtime.db, world.a, "instagram", DEMO_NOW)
    candidates = [c for c in relevant_candidates(candidates, TEXT) if clean_tag(c.tag)]
    variants = build_variants(base, "instagram", candidates, list(BANNED_TERMS))
    assert len(variants) >= 3
    rates = [
        model.predict(featurize(v.text, v.hashtags, "instagram", "text", at, tz)).rate
        for v in variants
    ]
    assert max(rates) >= rates[0] * (1 + MIN_GAIN)  # this post does gain from a variant
    assert got.rate == max(rates)
    assert out.text != TEXT  # and the chosen variant differs from the input


async def test_the_planted_good_configuration_predicts_higher(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    good = await engagement_optimizer.call({**GOOD, "at": GOOD_AT}, config(world, world.a))
    poor = await engagement_optimizer.call(
        {**GOOD, "contentType": "text", "at": POOR_AT}, config(world, world.a)
    )
    assert good.predicted_engagement.rate > 2 * poor.predicted_engagement.rate
    expected = await tool_prediction(world, world.a, good, {**GOOD, "at": GOOD_AT})
    assert good.predicted_engagement.rate == expected.rate


async def test_grounded_rationale_is_the_models_words(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explain(messages: list[BaseMessage]) -> str:
        # A capable model reads the facts and explains them.
        chosen = re.search(r"Chosen: .*?, predicted ([\d.]+%)", str(messages[-1].content))
        assert chosen is not None
        return f"This version is predicted at {chosen.group(1)}, the best of the variants tried."

    model = use_model(monkeypatch, world, responder=explain)
    out = await engagement_optimizer.call(
        {**GOOD, "contentType": "text", "at": POOR_AT}, config(world, world.a)
    )
    assert out.rationale == model.replies[0]
    system = str(model.prompts[0][0].content)
    assert "Engagement Specialist" in system
    assert "Variants tried:" in model.users[0]


async def test_a_post_that_breaks_the_rules_leaves_valid(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    text = "Our cheap cold brew is back. " + "Slow-steeped, smooth and bold. " * 12
    out = await engagement_optimizer.call(
        {"text": text, "platform": "twitter", "hashtags": ["#coldbrew", "#CheapEats", "#ok"]},
        config(world, world.a),
    )
    assert validate_post(out.text, out.hashtags, "twitter", banned_terms=BANNED_TERMS) == []
    assert find_banned(out.text, BANNED_TERMS) == []
    assert "repaired" in out.rationale


async def test_an_empty_organization_gets_priors_not_the_demo_model(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    request = {**GOOD, "at": GOOD_AT}
    b = await engagement_optimizer.call(request, config(world, world.b))
    a = await engagement_optimizer.call(request, config(world, world.a))
    assert b.predicted_engagement.source == "prior"
    assert a.predicted_engagement.source == "model"
    assert b.predicted_engagement.rate != a.predicted_engagement.rate
    assert "typical platform rates" in b.rationale
    assert b.hashtags == ["#coldbrew"]  # B has no hashtags of its own to add


async def test_content_type_must_be_known() -> None:
    with pytest.raises(ValidationError, match=r"content_?[tT]ype"):
        OptimizeRequest.model_validate({"text": "x", "platform": "instagram", "contentType": "gif"})


async def test_ai_task_records_the_call(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, world, ["Noted."])
    await engagement_optimizer.call({**GOOD, "at": GOOD_AT}, config(world, world.a))
    task = await latest_task(world, world.a, "engagement_optimizer")
    assert (task.agent_type, task.task_type) == ("engagement_optimizer", "optimize_post")
    assert task.execution.status == "completed"
    assert (task.resources.tokens_in, task.resources.tokens_out) == scripted_usage(model)
    assert task.output.result["predicted_engagement"]["source"] == "model"


@pytest.mark.local_models
async def test_local_model_returns_a_valid_optimization(world: World) -> None:
    needs_local_model()
    request = {**GOOD, "at": GOOD_AT}
    out = await engagement_optimizer.call(request, config(world, world.a, model="local"))
    expected = await tool_prediction(world, world.a, out, request)
    assert out.predicted_engagement.rate == expected.rate
    assert out.rationale
    assert validate_post(out.text, out.hashtags, "instagram", banned_terms=BANNED_TERMS) == []
