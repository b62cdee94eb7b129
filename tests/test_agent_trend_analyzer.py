"""trend_analyzer: the planted rising tag leads, per-platform rows, scores in range, the
summary's words (grounded or replaced), accounting, tenancy, and the local model's smoke
path."""

from __future__ import annotations

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

from agents.schemas import TrendReport
from agents.trend_analyzer import trend_analyzer
from services.demo.planted import TRENDING_HASHTAG

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with agent_world(tmp_path_factory.mktemp("trend_analyzer") / "data") as w:
        yield w


@pytest.mark.parametrize("days", [7, 14])
async def test_the_planted_trend_ranks_first(
    world: World, monkeypatch: pytest.MonkeyPatch, days: int
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    report = await trend_analyzer.call({"days": days}, config(world, world.a))
    assert isinstance(report, TrendReport)
    assert report.trends[0].tag == TRENDING_HASHTAG
    lead = report.trends[0]
    assert lead.platform is None  # all platforms together
    assert lead.volume >= 5
    assert lead.growth > 2
    assert 0 < lead.score <= 1
    assert all(0 <= t.score <= 1 for t in report.trends)
    assert all(t.score <= lead.score for t in report.trends)
    assert len({t.tag for t in report.trends}) == len(report.trends)
    dumped = report.model_dump(mode="json", by_alias=True)
    assert set(dumped) == {"trends", "summary"}
    assert set(dumped["trends"][0]) == {"tag", "platform", "volume", "growth", "score"}
    # "Noted." is no summary: the template names the computed numbers.
    assert report.summary.startswith(f"{TRENDING_HASHTAG} is rising: {lead.volume} uses")


async def test_platforms_are_analysed_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    report = await trend_analyzer.call(
        {"platforms": ["twitter", "linkedin"], "days": 14}, config(world, world.a)
    )
    assert report.trends
    assert {t.platform for t in report.trends} <= {"twitter", "linkedin"}
    top = [(t.tag, t.platform) for t in report.trends[:3]]
    assert (TRENDING_HASHTAG, "twitter") in top or (TRENDING_HASHTAG, "linkedin") in top


async def test_grounded_words_are_kept_and_invented_ones_are_not(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = f"{TRENDING_HASHTAG} is taking off: plan cold brew posts for the coming week."
    model = use_model(monkeypatch, world, [words])
    report = await trend_analyzer.call({"industry": "coffee"}, config(world, world.a))
    assert report.summary == words
    system, user = (str(m.content) for m in model.prompts[0])
    assert "Trend Analyst" in system
    assert TRENDING_HASHTAG in user
    assert "Industry: coffee" in user

    for invented in (
        "#pumpkinspice grew 300% this week; post about it now.",  # a tag and a number
        "Coffee culture keeps evolving, so keep your content fresh and engaging.",  # no tag
    ):
        use_model(monkeypatch, world, [invented])
        report = await trend_analyzer.call({}, config(world, world.a))
        assert report.summary != invented
        assert report.summary.startswith(TRENDING_HASHTAG)


async def test_an_empty_organization_has_no_trends(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, world, ["Noted."])
    report = await trend_analyzer.call({}, config(world, world.b))
    assert report.trends == []
    assert report.summary.startswith("Not enough history to call anything a trend")
    assert "no analytics yet" in report.summary


async def test_the_baseline_stops_where_the_history_begins(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo has 90 days of data: a 60-day window is compared with the ~29 days before it
    (not with 180 days, most of them before the data began, which made every steady tag
    "rise"), and a 90-day window has no history before it at all."""
    use_model(monkeypatch, world, ["Noted."])
    report = await trend_analyzer.call({"days": 60}, config(world, world.a))
    assert "#lumencoffee" not in [t.tag for t in report.trends if t.score > 0.1]
    everything = await trend_analyzer.call({"days": 90}, config(world, world.a))
    assert everything.trends == []
    assert everything.summary.startswith("Not enough history")


async def test_ai_task_records_the_call(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, world, ["Noted."])
    await trend_analyzer.call({"days": 7}, config(world, world.a, graph="trend_analysis"))
    task = await latest_task(world, world.a, "trend_analyzer")
    assert (task.agent_type, task.task_type) == ("trend_analyzer", "analyze_trends")
    assert task.workflow == "trend_analysis"
    assert task.execution.status == "completed"
    assert (task.resources.tokens_in, task.resources.tokens_out) == scripted_usage(model)
    assert task.output.result["trends"][0]["tag"] == TRENDING_HASHTAG


@pytest.mark.local_models
async def test_local_model_returns_a_valid_report(world: World) -> None:
    needs_local_model()
    report = await trend_analyzer.call({"days": 7}, config(world, world.a, model="local"))
    assert report.trends[0].tag == TRENDING_HASHTAG
    assert report.summary
    TrendReport.model_validate(report.model_dump(mode="json", by_alias=True))
