"""The engagement_optimizer dataset and suite: the dataset is valid and reproducible, and its
test split runs through the suite with the scripted model, giving the numbers the engagement
model (not the chat model) must give."""

from __future__ import annotations

import importlib
import time

import pytest

from evals.cases import load_dataset
from evals.datasets import build_engagement_optimizer as builder
from evals.env import eval_env
from evals.suite import CaseResult, load_suite

NAME = "engagement_optimizer"
HARD_TAGS = {"thin-history", "dst", "peak-hour", "weekend", "trending-tag", "question"}


def test_dataset_is_valid() -> None:
    ds = load_dataset(NAME)
    assert len(ds.cases) >= 30
    assert {c.split for c in ds.cases} == {"dev", "test"}
    assert len({c.id for c in ds.cases}) == len(ds.cases)
    for case in ds.cases:
        importlib.import_module(f"evals.fixtures.{case.fixture}")
        assert 0 < case.expect["actual_rate"] < 0.6
        assert case.inputs["at"]  # the real publishing time is the planned time
    for split in ("dev", "test"):
        tags = {t for c in ds.split(split) for t in c.tags}
        assert tags >= HARD_TAGS, f"{split} lacks {HARD_TAGS - tags}"


def test_dataset_is_the_generators_output() -> None:
    assert builder.render() == builder.PATH.read_text(encoding="utf-8")


async def test_test_split_through_the_suite() -> None:
    ds = load_dataset(NAME)
    suite = load_suite(NAME)
    results = []
    async with eval_env("scripted") as env:
        started = time.perf_counter()
        await env.fixture("engage_holdout")
        assert time.perf_counter() - started < 5, "fixture build must stay fast"
        for case in ds.split("test"):
            output = await suite.run(case, env)
            results.append(CaseResult(case, output, suite.score(case, output)))
    for r in results:
        assert r.output is not None
        written, optimized = r.output["asWritten"], r.output["optimized"]
        thin = r.case.fixture == "engage_thin"
        # the thin history is below the model's 30 posts per network: priors answer
        assert written["source"] == ("prior" if thin else "model"), r.case.id
        assert written["low"] <= written["rate"] <= written["high"]
        if (
            optimized["text"] == r.case.inputs["text"]
            and optimized["hashtags"] == r.case.inputs["hashtags"]
        ):
            # unchanged post: the agent's prediction is the as-written one
            assert optimized["predictedEngagement"]["rate"] == pytest.approx(written["rate"])
        else:
            # a change is made only for a better prediction
            assert optimized["predictedEngagement"]["rate"] > written["rate"]
    metrics = suite.aggregate(results)
    assert metrics["platform_ok"] == 1.0
    # Deterministic numbers of the seeded model on the demo data, with room for library
    # version drift; a broken feature or timezone would blow well past these.
    assert metrics["mae"] is not None
    assert metrics["mae"] < 0.02
    assert metrics["spearman"] is not None
    assert metrics["spearman"] > 0.7
    assert metrics["coverage"] is not None
    assert 0.5 <= metrics["coverage"] <= 1.0
