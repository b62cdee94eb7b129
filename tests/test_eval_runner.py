"""The eval runner: aggregation, errors and timeouts per case, concurrency, progress, timings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eval_support import install_tiny_suite, tiny_cases, write_dataset
from support import make_settings

from evals.cases import Case, Dataset, load_dataset
from evals.env import EvalEnv, eval_env
from evals.runner import (
    COMPLETED,
    SKIPPED_NO_JUDGE,
    run_evals,
    select_suites,
)
from evals.suite import CaseResult, Suite, load_suite, mean_scores


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[EvalEnv]:
    async with eval_env("scripted", settings=make_settings(tmp_path / "data")) as opened:
        yield opened


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Suite:
    install_tiny_suite(monkeypatch)
    return load_suite("tiny")


def _dataset(tmp_path: Path, cases: list[dict[str, Any]]) -> Any:
    write_dataset(tmp_path / "datasets", cases)
    return load_dataset("tiny", tmp_path / "datasets")


class Recorder:
    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.advanced: list[tuple[str, str]] = []

    def start(self, suite: str, total: int) -> None:
        self.started[suite] = total

    def advance(self, suite: str, result: CaseResult) -> None:
        self.advanced.append((suite, result.case.id))


async def test_aggregates_the_split_with_the_suites_metrics_and_completed(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    dev = {"id": "d0", "split": "dev", "fixture": "empty", "inputs": {"word": "dev"}}
    dataset = _dataset(tmp_path, [*tiny_cases(4), dev])
    progress = Recorder()
    run = await run_evals(env, [(tiny, dataset)], split="test", progress=progress)

    (suite_run,) = run.suites
    assert [r.case.id for r in suite_run.results] == ["c0", "c1", "c2", "c3"]
    assert all(r.ok for r in suite_run.results)
    # The scripted model answers "Noted: Say word<i>": the word is echoed, three words long.
    assert suite_run.metrics["echo"] == 1.0
    assert suite_run.metrics["length_error"] == 1.0
    assert suite_run.metrics["cases_seen"] == 4.0
    assert suite_run.metrics[COMPLETED] == 1.0
    # Without a judge the judged metric is reported, as skipped, not left out.
    assert suite_run.metrics["helpfulness"] is None
    assert suite_run.skipped == {"helpfulness": SKIPPED_NO_JUDGE}
    assert progress.started == {"tiny": 4}
    assert sorted(c for _, c in progress.advanced) == ["c0", "c1", "c2", "c3"]
    assert run.cases == 4
    assert run.errors == 0
    assert run.seconds > 0
    assert run.cases_per_second == pytest.approx(4 / run.seconds)


async def test_limit_takes_the_first_cases_of_the_split(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    dataset = _dataset(tmp_path, tiny_cases(5))
    run = await run_evals(env, [(tiny, dataset)], split="test", limit=2)
    assert [r.case.id for r in run.suites[0].results] == ["c0", "c1"]


async def test_an_erroring_case_is_recorded_and_counts_against_completed(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    bad = {"id": "bad", "split": "test", "fixture": "empty", "inputs": {"word": "x", "fail": True}}
    dataset = _dataset(tmp_path, [*tiny_cases(3), bad])
    run = await run_evals(env, [(tiny, dataset)], split="test")

    suite_run = run.suites[0]
    failed = next(r for r in suite_run.results if r.case.id == "bad")
    assert failed.error == "RuntimeError: case bad fails on purpose"
    assert failed.output is None
    assert failed.scores == {}
    assert suite_run.errors == 1
    assert run.errors == 1
    assert suite_run.metrics[COMPLETED] == 0.75
    # The other metrics are over the cases that completed.
    assert suite_run.metrics["echo"] == 1.0


async def test_a_suite_that_crashes_on_every_case_has_nothing_but_completed_zero(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    cases = tiny_cases(3)
    for case in cases:
        case["inputs"]["fail"] = True
    run = await run_evals(env, [(tiny, _dataset(tmp_path, cases))], split="test")
    metrics = run.suites[0].metrics
    assert metrics[COMPLETED] == 0.0
    assert metrics.get("echo") is None
    assert metrics.get("length_error") is None


async def test_a_case_past_its_timeout_is_an_error_and_does_not_hold_up_the_run(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    slow = {"id": "slow", "split": "test", "fixture": "empty", "inputs": {"word": "x", "sleep": 30}}
    dataset = _dataset(tmp_path, [slow, *tiny_cases(2)])
    started = time.perf_counter()
    run = await run_evals(env, [(tiny, dataset)], split="test", case_timeout=0.3)
    assert time.perf_counter() - started < 10
    results = {r.case.id: r for r in run.suites[0].results}
    assert results["slow"].error == "timeout after 0.3 s"
    assert results["c0"].ok
    assert run.suites[0].metrics[COMPLETED] == pytest.approx(2 / 3)


async def test_an_agents_own_timeout_error_is_not_reported_as_the_runners_timeout(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    async def run(case: Case, env: Any) -> dict[str, Any]:
        raise TimeoutError("upstream API did not answer")

    suite = replace(tiny, run=run)
    result = await run_evals(env, [(suite, _dataset(tmp_path, tiny_cases(1)))], split="test")
    assert result.suites[0].results[0].error == "TimeoutError: upstream API did not answer"


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_concurrency_bounds_the_cases_in_flight(
    env: EvalEnv, tiny: Suite, tmp_path: Path, concurrency: int
) -> None:
    in_flight = 0
    peak = 0

    async def run(case: Case, env: Any) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return {"text": f"Say {case.inputs['word']}"}

    suite = replace(tiny, run=run)
    dataset = _dataset(tmp_path, tiny_cases(8))
    result = await run_evals(env, [(suite, dataset)], split="test", concurrency=concurrency)
    assert peak == concurrency
    assert result.suites[0].metrics["echo"] == 1.0


async def test_an_aggregate_that_raises_is_reported_and_its_metrics_are_missing(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    def aggregate(results: list[CaseResult]) -> dict[str, float | None]:
        raise ZeroDivisionError("division by zero")

    suite = replace(tiny, aggregate=aggregate)
    run = await run_evals(env, [(suite, _dataset(tmp_path, tiny_cases(2)))], split="test")
    suite_run = run.suites[0]
    assert suite_run.aggregate_error == "ZeroDivisionError: division by zero"
    assert "echo" not in suite_run.metrics
    assert suite_run.metrics[COMPLETED] == 1.0


def test_select_suites_names_what_exists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_tiny_suite(monkeypatch)
    write_dataset(tmp_path, tiny_cases(1))
    ((suite, dataset),) = select_suites(None, tmp_path)
    assert suite.name == "tiny"
    assert dataset.name == "tiny"
    assert select_suites(["tiny"], tmp_path)[0][1].version == 1

    with pytest.raises(LookupError, match=r"no dataset nope .*found: tiny"):
        select_suites(["nope"], tmp_path)

    write_dataset(tmp_path, tiny_cases(1), name="orphan")
    with pytest.raises(LookupError, match="no eval suite 'orphan'"):
        select_suites(["orphan"], tmp_path)


async def test_a_fixture_that_cannot_be_built_errors_its_cases_only(
    env: EvalEnv, tiny: Suite, tmp_path: Path
) -> None:
    orphan = {"id": "orphan", "split": "test", "fixture": "nope", "inputs": {"word": "x"}}
    run = await run_evals(env, [(tiny, _dataset(tmp_path, [orphan, *tiny_cases(1)]))], split="test")
    results = {r.case.id: r for r in run.suites[0].results}
    assert results["orphan"].error is not None
    assert "no fixture organization 'nope'" in results["orphan"].error
    assert results["c0"].ok


async def test_a_suite_that_writes_its_fixtures_runs_alone_after_the_others() -> None:
    """No case of another suite may run while a fixture-writing suite's case does, and its
    own cases go one at a time."""
    in_flight: list[str] = []
    overlaps: list[tuple[str, ...]] = []

    def suite(name: str, writes: bool) -> Suite:
        async def run(case: Case, env: object) -> dict[str, object]:
            in_flight.append(name)
            overlaps.append(tuple(in_flight))
            await asyncio.sleep(0.01)
            in_flight.remove(name)
            return {}

        return Suite(
            name=name,
            metrics={},
            run=run,  # type: ignore[arg-type]
            score=lambda case, output: {},
            aggregate=mean_scores,
            writes_fixtures=writes,
        )

    cases = tuple(Case(id=f"c{i}", split="test", fixture="none", inputs={}) for i in range(3))
    dataset = Dataset(name="d", version=1, sha256="0", cases=cases)

    class Env:
        model = "scripted"

        async def fixture(self, name: str) -> None:
            return None

    writer, reader = suite("writer", True), suite("reader", False)
    run = await run_evals(
        Env(),  # type: ignore[arg-type]
        [(writer, replace(dataset, name="writer")), (reader, dataset)],
        split="test",
        concurrency=4,
    )
    assert [s.name for s in run.suites] == ["writer", "reader"]  # reported in the asked order
    assert all(s.metrics["completed"] == 1.0 for s in run.suites)
    writer_moments = [o for o in overlaps if "writer" in o]
    assert writer_moments
    assert all(o == ("writer",) for o in writer_moments)
    assert any(len(o) > 1 for o in overlaps if "reader" in o)  # the others do run together
