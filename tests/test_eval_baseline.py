"""Baselines: recording, reading, and the gate's comparison (direction, tolerance, missing
metrics, dataset changes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evals.baseline import (
    BaselineError,
    baseline_dict,
    compare,
    read_baseline,
    write_baseline,
)
from evals.cases import Case, Dataset
from evals.runner import COMPLETED, SKIPPED_NO_JUDGE, EvalRun, SuiteRun
from evals.suite import CaseResult, JudgeCriterion, Metric, Suite, mean_scores

METRICS = {
    "accuracy": Metric("share right", direction="higher", tolerance=0.05),
    "mae_hours": Metric("mean absolute error", direction="lower", tolerance=0.5),
    "coverage": Metric("informational", gated=False),
}


async def _run(case: Case, env: Any) -> dict[str, Any]:
    return {}


def _suite(name: str = "scheduler", judged: bool = False) -> Suite:
    criteria = (JudgeCriterion("tone", "Is the tone right?", lambda o: str(o)),) if judged else ()
    return Suite(
        name=name,
        metrics=METRICS,
        run=_run,
        score=lambda case, output: {},
        aggregate=mean_scores,
        judged=criteria,
    )


def _dataset(name: str = "scheduler", sha: str = "a" * 64, version: int = 1) -> Dataset:
    case = Case(id="c1", split="test", inputs={})
    return Dataset(name=name, version=version, sha256=sha, cases=(case,))


def _eval_run(
    metrics: dict[str, float | None],
    *,
    name: str = "scheduler",
    sha: str = "a" * 64,
    skipped: dict[str, str] | None = None,
    model: str = "local",
) -> EvalRun:
    dataset = _dataset(name, sha)
    suite_run = SuiteRun(
        suite=_suite(name, judged=bool(skipped) or "tone" in metrics),
        dataset=dataset,
        results=[CaseResult(case=dataset.cases[0], output={})],
        metrics=metrics,
        skipped=skipped or {},
    )
    return EvalRun(
        model=model,
        judge=None,
        split="test",
        limit=None,
        suites=[suite_run],
        started_at=datetime.now(UTC),
        seconds=1.0,
    )


BASE = {"accuracy": 0.80, "mae_hours": 1.0, "coverage": 0.9, COMPLETED: 1.0}


def _baseline(**overrides: Any) -> dict[str, Any]:
    return baseline_dict(_eval_run({**BASE, **overrides}))


def test_an_unchanged_run_passes() -> None:
    comparison = compare(_eval_run(dict(BASE)), _baseline())
    assert comparison.ok
    assert {m.status for m in comparison.metrics} == {"ok"}
    assert comparison.warnings == []


@pytest.mark.parametrize(
    ("accuracy", "status"),
    [(0.76, "ok"), (0.75, "ok"), (0.74, "fail"), (0.90, "improved")],
)
def test_higher_is_better_fails_only_beyond_its_tolerance(accuracy: float, status: str) -> None:
    comparison = compare(_eval_run({**BASE, "accuracy": accuracy}), _baseline())
    found = comparison.get("scheduler", "accuracy")
    assert found is not None
    assert found.status == status
    assert found.delta == pytest.approx(accuracy - 0.80)
    assert comparison.ok is (status != "fail")


@pytest.mark.parametrize(
    ("mae", "status"),
    [(1.5, "ok"), (1.6, "fail"), (0.4, "improved"), (3.0, "fail")],
)
def test_lower_is_better_fails_when_the_error_grows(mae: float, status: str) -> None:
    comparison = compare(_eval_run({**BASE, "mae_hours": mae}), _baseline())
    found = comparison.get("scheduler", "mae_hours")
    assert found is not None
    assert found.status == status
    if status == "fail":
        assert any(
            "mae_hours" in line and "lower is better" in line for line in comparison.reasons()
        )


def test_a_worse_ungated_metric_is_reported_but_does_not_fail() -> None:
    comparison = compare(_eval_run({**BASE, "coverage": 0.1}), _baseline())
    assert comparison.get("scheduler", "coverage").status == "worse"  # type: ignore[union-attr]
    assert comparison.ok


def test_a_crashing_suite_fails_on_completed_and_on_its_missing_metrics() -> None:
    crashed = {"accuracy": None, "mae_hours": None, "coverage": None, COMPLETED: 0.0}
    comparison = compare(_eval_run(crashed), _baseline())
    assert not comparison.ok
    failed = {m.metric for m in comparison.failed}
    assert failed == {"accuracy", "mae_hours", COMPLETED}
    assert comparison.get("scheduler", "coverage").status == "missing"  # type: ignore[union-attr]
    assert any("not measured" in line for line in comparison.reasons())


def test_one_more_errored_case_fails_completed_at_zero_tolerance() -> None:
    comparison = compare(_eval_run({**BASE, COMPLETED: 0.95}), _baseline())
    assert [m.metric for m in comparison.failed] == [COMPLETED]


def test_a_metric_absent_from_the_run_fails_when_gated() -> None:
    metrics = {k: v for k, v in BASE.items() if k != "accuracy"}
    comparison = compare(_eval_run(metrics), _baseline())
    assert [m.metric for m in comparison.failed] == ["accuracy"]


def test_judged_metrics_skipped_without_a_judge_are_not_failures() -> None:
    with_tone = baseline_dict(_eval_run({**BASE, "tone": 0.8}))
    run = _eval_run({**BASE, "tone": None}, skipped={"tone": SKIPPED_NO_JUDGE})
    comparison = compare(run, with_tone)
    tone = comparison.get("scheduler", "tone")
    assert tone is not None
    assert tone.status == "skipped"
    assert tone.note == SKIPPED_NO_JUDGE
    assert comparison.ok


def test_a_changed_dataset_warns_and_is_still_compared() -> None:
    run = _eval_run({**BASE, "accuracy": 0.5}, sha="b" * 64)
    comparison = compare(run, _baseline())
    assert any(
        "differs from the baseline" in w and "--write-baseline" in w for w in comparison.warnings
    )
    assert [m.metric for m in comparison.failed] == ["accuracy"]


def test_another_model_warns() -> None:
    comparison = compare(_eval_run(dict(BASE), model="scripted"), _baseline())
    assert any("model 'local'" in w and "'scripted'" in w for w in comparison.warnings)
    assert comparison.ok


def test_a_baseline_suite_that_did_not_run_fails_only_on_a_full_run() -> None:
    baseline = _baseline()
    other = _eval_run(dict(BASE), name="trend_analyzer")
    full = compare(other, baseline, all_suites=True)
    assert not full.ok
    assert any(line.startswith("scheduler: in the baseline") for line in full.reasons())
    assert any("trend_analyzer: not in the baseline" in w for w in full.warnings)
    assert {m.status for m in full.metrics} == {"new"}

    chosen = compare(other, baseline, all_suites=False)
    assert chosen.ok


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "baselines" / "local.json"
    write_baseline(_eval_run(dict(BASE)), path)
    data = read_baseline(path)
    assert data["model"] == "local"
    assert data["split"] == "test"
    suite = data["suites"]["scheduler"]
    assert suite["dataset"] == {"version": 1, "sha256": "a" * 64, "cases": 1}
    assert suite["metrics"]["mae_hours"] == {
        "value": 1.0,
        "direction": "lower",
        "gated": True,
        "tolerance": 0.5,
    }
    assert suite["metrics"][COMPLETED]["tolerance"] == 0.0


def test_unreadable_baselines_are_named(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no baseline file"):
        read_baseline(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BaselineError, match="not a readable baseline"):
        read_baseline(bad)
    bad.write_text(json.dumps({"suites": {}}))
    with pytest.raises(BaselineError, match="format 1"):
        read_baseline(bad)
