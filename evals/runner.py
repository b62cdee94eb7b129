"""Runs suites over their datasets' cases: per-case timeouts and errors, bounded concurrency,
optional LLM judging, aggregation, timings.

Errors count against the suite. An errored case (the agent raised, timed out, or its answer
could not be scored) keeps its error and has no scores, so the suite's metric means are over
the cases that completed; to stop a crashing suite from looking healthy, every suite also
reports ``completed``, the share of its cases that ran without error, gated with no tolerance.
A suite that crashes on every case has ``completed = 0`` and no values for its other metrics,
and both fail the gate (see ``evals.baseline``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evals.cases import DATASETS_DIR, Dataset, dataset_files, read_dataset
from evals.suite import CaseResult, Metric, Suite, load_suite, mean_scores

if TYPE_CHECKING:
    from evals.env import EvalEnv
    from evals.judge import Judge

COMPLETED = "completed"
COMPLETED_METRIC = Metric(
    description="Share of cases that ran and were scored without an error or a timeout.",
    direction="higher",
    gated=True,
    # A case that used to complete and now crashes is a regression, whatever its share.
    tolerance=0.0,
)
# Generous: a loaded CI machine slows the local model several-fold, and a case that times out
# fails the gate (completed); a hung case is still cut off.
DEFAULT_TIMEOUT_SECONDS = 300.0
SKIPPED_NO_JUDGE = "skipped (no --judge configured)"


class Progress(Protocol):
    """Where the runner reports progress (the CLI draws one bar per suite)."""

    def start(self, suite: str, total: int) -> None: ...

    def advance(self, suite: str, result: CaseResult) -> None: ...


@dataclass
class SuiteRun:
    suite: Suite
    dataset: Dataset
    results: list[CaseResult]
    metrics: dict[str, float | None]
    # Metrics the run could not measure, with why (judged metrics without a judge).
    skipped: dict[str, str] = field(default_factory=dict)
    aggregate_error: str | None = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.suite.name

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if not r.ok)

    def metric(self, name: str) -> Metric:
        """The definition of a reported metric, including the runner's and judged ones."""
        return all_metrics(self.suite)[name]


@dataclass
class EvalRun:
    model: str | None
    judge: str | None
    split: str | None
    limit: int | None
    suites: list[SuiteRun]
    started_at: datetime
    seconds: float

    @property
    def cases(self) -> int:
        return sum(len(s.results) for s in self.suites)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.suites)

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else 0.0


def judged_metric(suite: Suite, name: str) -> Metric:
    criterion = next(c for c in suite.judged if c.metric == name)
    # Not gated unless the suite says so: CI runs without a judge, and a judge's grades move
    # with the judge model.
    return suite.metrics.get(name) or Metric(
        description=criterion.rubric.strip().splitlines()[0], gated=False
    )


def all_metrics(suite: Suite) -> dict[str, Metric]:
    """Every metric a suite's run reports: the suite's, its judged ones, then ``completed``."""
    metrics = dict(suite.metrics)
    for criterion in suite.judged:
        metrics[criterion.metric] = judged_metric(suite, criterion.metric)
    metrics[COMPLETED] = COMPLETED_METRIC
    return metrics


def select_suites(
    names: Sequence[str] | None, directory: Path | None = None
) -> list[tuple[Suite, Dataset]]:
    """The named datasets (all found in ``directory``, default ``evals/datasets``, when
    ``names`` is empty) with their suites. Raises ``LookupError`` naming what exists when a
    dataset or suite is missing."""
    directory = directory or DATASETS_DIR
    files = dataset_files(directory)
    chosen = list(names) if names else list(files)
    unknown = [n for n in chosen if n not in files]
    if unknown:
        known = ", ".join(files) or "none"
        raise LookupError(f"no dataset {', '.join(unknown)} in {directory} (found: {known})")
    return [(load_suite(name), read_dataset(files[name])) for name in chosen]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_case(
    suite: Suite,
    case_: CaseResult,
    env: EvalEnv,
    *,
    case_timeout: float,
    judge: Judge | None,
) -> CaseResult:
    """Runs, scores and (with a judge) grades one case, filling ``case_`` in place."""
    case = case_.case
    started = time.perf_counter()
    deadline = asyncio.timeout(case_timeout)
    try:
        async with deadline:
            output = await suite.run(case, env)
        case_.output = output
        case_.scores = dict(suite.score(case, output))
    except Exception as exc:
        # Only our deadline is a timeout; an agent's own TimeoutError (an HTTP client's, say)
        # is an error like any other.
        case_.error = f"timeout after {case_timeout:g} s" if deadline.expired() else _describe(exc)
    if case_.ok and judge is not None and suite.judged:
        grades = await judge.grade(suite.judged, case, case_.output or {})
        for metric, grade in grades.items():
            case_.scores[metric] = grade.score
            case_.judge_comments[metric] = grade.comment
    case_.seconds = time.perf_counter() - started
    return case_


def _aggregate(
    suite: Suite, results: list[CaseResult]
) -> tuple[dict[str, float | None], str | None]:
    try:
        metrics = dict(suite.aggregate(results))
        error = None
    except Exception as exc:
        # The suite's metrics are then missing from the run, which fails every gated one.
        metrics, error = {}, _describe(exc)
    # Judged grades are per case; a suite's own aggregate need not know about them.
    judged_means = mean_scores(results)
    for criterion in suite.judged:
        metrics.setdefault(criterion.metric, judged_means.get(criterion.metric))
    metrics[COMPLETED] = sum(1 for r in results if r.ok) / len(results) if results else None
    return metrics, error


async def run_suite(
    suite: Suite,
    dataset: Dataset,
    env: EvalEnv,
    *,
    split: str | None,
    limit: int | None = None,
    semaphore: asyncio.Semaphore,
    case_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    judge: Judge | None = None,
    progress: Progress | None = None,
) -> SuiteRun:
    cases = dataset.split(split)
    if limit is not None:
        cases = cases[:limit]
    results = [CaseResult(case=case, output=None) for case in cases]
    if progress is not None:
        progress.start(suite.name, len(results))
    started = time.perf_counter()
    # Fixture organizations are built before the cases' clocks start, so a slow build (ten
    # seconds of seeding on a busy machine) is not charged to whichever case asks first. A
    # build that fails is left for the cases to meet: each records the error.
    for name in sorted({c.fixture for c in cases}):
        with contextlib.suppress(Exception):
            await env.fixture(name)

    async def one(result: CaseResult) -> None:
        async with semaphore:
            await run_case(suite, result, env, case_timeout=case_timeout, judge=judge)
        if progress is not None:
            progress.advance(suite.name, result)

    await asyncio.gather(*(one(r) for r in results))
    metrics, aggregate_error = _aggregate(suite, results)
    skipped = {c.metric: SKIPPED_NO_JUDGE for c in suite.judged} if judge is None else {}
    for metric in skipped:
        metrics[metric] = None
    return SuiteRun(
        suite=suite,
        dataset=dataset,
        results=results,
        metrics=metrics,
        skipped=skipped,
        aggregate_error=aggregate_error,
        seconds=time.perf_counter() - started,
    )


async def run_evals(
    env: EvalEnv,
    suites: Sequence[tuple[Suite, Dataset]],
    *,
    split: str | None,
    limit: int | None = None,
    concurrency: int = 4,
    case_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    judge: Judge | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Every suite over its dataset's ``split`` (``None``: all cases), ``concurrency`` cases
    at a time across all suites."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    semaphore = asyncio.Semaphore(concurrency)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    # Suites run side by side under the one semaphore: their one-time costs (a fixture's
    # build, an agent framework's first import, the embedding model's load) overlap instead
    # of queueing, and ``concurrency`` still bounds the cases in flight overall. Suites that
    # write to their fixtures go afterwards, alone and one case at a time: what a case wrote
    # must never reach another case's prompt, or reruns would not be comparable.
    shared = [(s, d) for s, d in suites if not s.writes_fixtures]
    alone = [(s, d) for s, d in suites if s.writes_fixtures]

    def start(suite: Suite, dataset: Dataset, gate: asyncio.Semaphore) -> Any:
        return run_suite(
            suite,
            dataset,
            env,
            split=split,
            limit=limit,
            semaphore=gate,
            case_timeout=case_timeout,
            judge=judge,
            progress=progress,
        )

    runs = list(await asyncio.gather(*(start(s, d, semaphore) for s, d in shared)))
    for suite, dataset in alone:
        runs.append(await start(suite, dataset, asyncio.Semaphore(1)))
    order = {s.name: i for i, (s, _) in enumerate(suites)}
    runs.sort(key=lambda run: order[run.name])
    return EvalRun(
        model=env.model,
        judge=judge.spec if judge is not None else None,
        split=split,
        limit=limit,
        suites=runs,
        started_at=started_at,
        seconds=time.perf_counter() - started,
    )
