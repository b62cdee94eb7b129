"""The trend_analyzer dataset and suite: the dataset is valid and is its builder's output,
and every case runs through the suite with the scripted model. Ranks, volumes and scores
are tool-computed, so these are the real metrics."""

from __future__ import annotations

import importlib

from evals.cases import load_dataset
from evals.datasets import build_trend_analyzer as builder
from evals.env import eval_env
from evals.suite import CaseResult, load_suite
from services.demo.planted import TRENDING_HASHTAG

NAME = "trend_analyzer"
HARD_TAGS = {"thin_history", "stale_tag", "platform_filter", "dst", "other_timezone", "no_data"}
PLATFORMS = {"instagram", "tiktok", "linkedin", "facebook", "twitter"}


def test_dataset_is_valid() -> None:
    ds = load_dataset(NAME)
    assert len(ds.cases) >= 30
    assert len({c.id for c in ds.cases}) == len(ds.cases)
    for case in ds.cases:
        importlib.import_module(f"evals.fixtures.{case.fixture}")
        assert case.expect["rising"] in (None, TRENDING_HASHTAG)
        assert all(v > 0 for v in case.expect["volumes"].values())
    platforms = {p for c in ds.cases for p in c.inputs.get("platforms") or []}
    assert platforms == PLATFORMS
    for split in ("dev", "test"):
        cases = ds.split(split)
        assert len(cases) >= 15
        tags = {t for c in cases for t in c.tags}
        assert tags >= HARD_TAGS, f"{split} lacks {HARD_TAGS - tags}"
        assert sum(1 for c in cases if c.expect["rising"]) >= 8
    # The planted stale tags really are flat or fading in the data the builder counted.
    stale = load_dataset(NAME).cases
    planted = {k for c in stale if c.fixture == "trends_stale" for k in c.expect["stale"]}
    assert {"*:#pumpkinspice", "*:#holidayblend"} <= planted


async def test_dataset_is_the_builders_output() -> None:
    assert builder.render(await builder.build()) == builder.OUT.read_text(encoding="utf-8")


async def test_all_cases_through_the_suite() -> None:
    ds = load_dataset(NAME)
    suite = load_suite(NAME)
    results = []
    async with eval_env("scripted") as env:
        for case in ds.cases:
            output = await suite.run(case, env)
            results.append(CaseResult(case, output, suite.score(case, output)))
    by_id = {r.case.id: r for r in results}
    for r in results:
        # Counting and filtering are exact: no invented volume, no row off-platform.
        assert r.scores["grounded"] == 1.0, r.case.id
        assert r.scores["platform_scope"] == 1.0, r.case.id
        if r.case.expect["rising"]:
            assert r.scores["rising_top_k"] == 1.0, r.case.id
            assert r.scores["stale_not_above"] == 1.0, r.case.id
    for case_id in ("trend-empty-7d", "trend-empty-30d", "trend-empty-tt-14d"):
        assert by_id[case_id].output["trends"] == []
    assert by_id["trend-lumen-7d"].output["trends"][0]["tag"] == TRENDING_HASHTAG
    # Within the data's reach nothing is overclaimed...
    for case_id in ("trend-lumen-7d", "trend-lumen-14d", "trend-stale-7d", "trend-thin-7d"):
        assert by_id[case_id].scores["no_overclaim"] == 1.0, case_id
    # ...and a window as long as the history leaves no baseline: nothing may be called
    # rising (the analyzer once scored steady tags against days before the data began).
    assert by_id["trend-lumen-90d"].scores["no_overclaim"] == 1.0
    assert by_id["trend-lumen-90d"].output["trends"] == []
