"""The performance_tracker dataset is well formed, and its suite scores the tool-computed parts
of the agent's report as the planted data dictates (scripted model: no model words kept)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from eval_support import run_and_score
from support import isolated_environment

from evals.cases import SPLITS, load_dataset
from evals.datasets.build_performance_tracker import OUT, build
from evals.env import EvalEnv, eval_env
from evals.suite import load_suite

NAME = "performance_tracker"
HARD_TAGS = {"thin-history", "platform-filter", "multi-platform", "boundary", "viral", "incident"}


def test_dataset_is_well_formed() -> None:
    dataset = load_dataset(NAME)
    cases = dataset.cases
    assert len(cases) >= 30
    assert {c.split for c in cases} == set(SPLITS)
    assert len({c.id for c in cases}) == len(cases)
    for case in cases:
        importlib.import_module(f"evals.fixtures.{case.fixture}")
        assert set(case.expect) == {"anomalies", "thin"}
    for split in SPLITS:
        tags = {t for c in dataset.split(split) for t in c.tags}
        assert tags >= HARD_TAGS, (split, HARD_TAGS - tags)
    windows = {c.inputs["days"] for c in cases}
    assert {7, 14, 30, 60, 90} <= windows


def test_generator_reproduces_the_file() -> None:
    assert OUT.read_text(encoding="utf-8") == build()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env() -> AsyncIterator[EvalEnv]:
    with isolated_environment():
        async with eval_env("scripted") as environment:
            yield environment


async def scores(env: EvalEnv, case_id: str) -> tuple[dict, dict]:
    return await run_and_score(env, NAME, case_id)


@pytest.mark.asyncio(loop_scope="module")
async def test_incident_month_is_found_and_numbers_trace(env: EvalEnv) -> None:
    output, got = await scores(env, "perf-all-30d")
    assert output["untraceable"] == []
    assert got == {
        "numbers_traceable": 1.0,
        "anomaly_recall": 1.0,
        "anomaly_precision": 1.0,
        "thin_history_honest": None,
    }


@pytest.mark.asyncio(loop_scope="module")
async def test_the_viral_post_on_x_is_lost_in_the_all_platform_totals(env: EvalEnv) -> None:
    # A measured weakness, kept visible: the daily totals of all platforms together do not
    # flag the viral post on X (its reach is small next to the other networks'); the other
    # four events of the 60 days are found.
    output, got = await scores(env, "perf-all-60d")
    assert got["anomaly_recall"] == pytest.approx(0.8)
    flagged = {a["day"] for a in output["report"]["anomalies"]}
    assert "2026-10-10" not in flagged
    _, on_x = await scores(env, "perf-twitter-90d")
    assert on_x["anomaly_recall"] == 1.0


@pytest.mark.asyncio(loop_scope="module")
async def test_empty_history_is_admitted_without_figures(env: EvalEnv) -> None:
    output, got = await scores(env, "perf-empty-90d")
    assert output["report"]["metrics"] == []
    assert got["thin_history_honest"] == 1.0
    assert got["numbers_traceable"] == 1.0  # "90 days": the request's own number
    assert got["anomaly_recall"] is None


@pytest.mark.asyncio(loop_scope="module")
async def test_a_platform_without_posts_is_thin(env: EvalEnv) -> None:
    _, got = await scores(env, "perf-youtube-90d")
    assert got["thin_history_honest"] == 1.0


@pytest.mark.asyncio(loop_scope="module")
async def test_an_invented_figure_lowers_the_score(env: EvalEnv) -> None:
    output, _ = await scores(env, "perf-all-14d")
    suite = load_suite(NAME)
    [case] = [c for c in load_dataset(NAME).cases if c.id == "perf-all-14d"]
    output["report"]["summary"] += " Reach will hit 5,000,000 next week."
    got = suite.score(case, output)
    assert got["numbers_traceable"] is not None
    assert 0 < got["numbers_traceable"] < 1
