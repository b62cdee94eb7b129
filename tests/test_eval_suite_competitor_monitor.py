"""The competitor_monitor dataset is well formed, its expectations match the planted
competitor analyses, and its suite scores the rule-computed parts of the agent's report as the
planted data dictates (scripted model: the crew's words do not hold up, the rules stand in)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from eval_support import run_and_score
from support import isolated_environment

from evals.cases import SPLITS, load_dataset
from evals.datasets.build_competitor_monitor import OUT, build
from evals.env import EvalEnv, eval_env
from evals.suite import load_suite

NAME = "competitor_monitor"
HARD_TAGS = {
    "no-data-competitor",
    "mixed",
    "name-variant",
    "many-competitors",
    "thin-history",
    "platform-absent",
    "spacing",
}


def test_dataset_is_well_formed() -> None:
    dataset = load_dataset(NAME)
    cases = dataset.cases
    assert len(cases) >= 30
    assert {c.split for c in cases} == set(SPLITS)
    assert len({c.id for c in cases}) == len(cases)
    for case in cases:
        importlib.import_module(f"evals.fixtures.{case.fixture}")
        assert 1 <= len(case.inputs["competitors"]) <= 20
        assert set(case.expect) == {"missing", "found", "gaps"}
    for split in SPLITS:
        tags = {t for c in dataset.split(split) for t in c.tags}
        assert tags >= HARD_TAGS, (split, HARD_TAGS - tags)
    assert {7, 14, 30, 60, 90} <= {c.inputs["days"] for c in cases}


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
async def test_mixed_known_and_unknown(env: EvalEnv) -> None:
    output, got = await scores(env, "cm-mix-three-60d")
    assert output["report"]["missing"] == ["Unknown Brew"]
    assert output["untraceable"] == []
    assert got == {
        "numbers_traceable": 1.0,
        "missing_accuracy": 1.0,
        "missing_named": 1.0,
        "gap_recall": 1.0,
    }
    # A SWOT item with a figure of its own is caught, and named.
    output["report"]["swot"]["threats"].append("Daily Grind will reach 250,000 followers soon")
    suite = load_suite(NAME)
    [case] = [c for c in load_dataset(NAME).cases if c.id == "cm-mix-three-60d"]
    assert 0 < (suite.score(case, output)["numbers_traceable"] or 0) < 1


@pytest.mark.asyncio(loop_scope="module")
async def test_video_and_frequency_gaps_of_a_name_in_capitals(env: EvalEnv) -> None:
    output, got = await scores(env, "cm-bean-upper-30d")
    assert output["report"]["missing"] == []
    assert got["gap_recall"] == 1.0
    assert got["missing_named"] is None


@pytest.mark.asyncio(loop_scope="module")
async def test_no_competitor_data_at_all(env: EvalEnv) -> None:
    output, got = await scores(env, "cm-empty-bean-90d")
    assert output["report"]["benchmarks"] == []
    assert got["missing_accuracy"] == 1.0
    assert got["missing_named"] == 1.0
    assert got["numbers_traceable"] is None  # no figures stated: nothing invented


@pytest.mark.asyncio(loop_scope="module")
async def test_names_match_whatever_their_inner_spacing(env: EvalEnv) -> None:
    # Once a measured weakness: the benchmark tool folded case and outer spaces but not a
    # doubled inner space, so "kiln  coffee co" was reported as having no data.
    output, got = await scores(env, "cm-spacing-30d")
    assert output["report"]["missing"] == []
    assert got["missing_accuracy"] == 1.0
