"""The crisis_manager dataset and suite: the dataset is valid and reproducible, and every case
runs through the suite with the scripted model (the assessment is code, so the level metrics
are the real ones; the scripted model only affects the holding statement)."""

from __future__ import annotations

import importlib

from agents.schemas import RISK_LEVELS
from evals.cases import load_dataset
from evals.datasets import build_crisis_manager as builder
from evals.env import eval_env
from evals.suite import CaseResult, load_suite

NAME = "crisis_manager"
HARD_TAGS = {"sarcasm", "mixed-language", "emoji", "safety", "wave", "praise"}


def test_dataset_is_valid() -> None:
    ds = load_dataset(NAME)
    assert len(ds.cases) >= 30
    assert {c.split for c in ds.cases} == {"dev", "test"}
    assert len({c.id for c in ds.cases}) == len(ds.cases)
    for case in ds.cases:
        importlib.import_module(f"evals.fixtures.{case.fixture}")
        assert case.expect["risk_level"] in RISK_LEVELS
        assert case.inputs["mentions"]
    for split in ("dev", "test"):
        cases = ds.split(split)
        tags = {t for c in cases for t in c.tags}
        assert tags >= HARD_TAGS, f"{split} lacks {HARD_TAGS - tags}"
        labels = {c.expect["risk_level"] for c in cases}
        assert labels == set(RISK_LEVELS), f"{split} lacks levels {set(RISK_LEVELS) - labels}"
        assert any(c.data.get("metamorphic") for c in cases)


def test_dataset_is_the_scripts_output() -> None:
    assert builder.render() == builder.PATH.read_text(encoding="utf-8")


async def test_all_cases_through_the_suite() -> None:
    ds = load_dataset(NAME)
    suite = load_suite(NAME)
    results = []
    async with eval_env("scripted") as env:
        for case in ds.cases:
            output = await suite.run(case, env)
            results.append(CaseResult(case, output, suite.score(case, output)))
    by_id = {r.case.id: r for r in results}
    level = {k: r.output["report"]["assessment"]["riskLevel"] for k, r in by_id.items()}
    # Unambiguous anchors of the scale (the agent must get these exactly).
    assert level["cm-praise-only"] == "none"
    assert level["cm-fire-slang"] == "none"
    assert level["cm-safety-wave"] == "critical"
    assert level["cm-legal-single"] == "medium"
    # Every worsened variant ran and scored no lower than its base.
    for r in results:
        if r.case.data.get("metamorphic"):
            assert {v["kind"] for v in r.output["variants"]} == {"add_negative", "reach_x"}
            assert r.scores["monotone"] == 1.0, r.case.id
    metrics = suite.aggregate(results)
    assert metrics["monotone"] == 1.0
    # The agent is never two levels off a label on this dataset.
    assert metrics["level_within_one"] == 1.0
    assert metrics["severe_precision"] is not None
    assert metrics["severe_recall"] is not None
    # The scripted model's "Noted: ..." is never a usable statement: the template stands.
    assert metrics["model_statement"] == 0.0
