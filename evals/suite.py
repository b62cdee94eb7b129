"""What a suite is: how to run one dataset's cases, score them, and sum them up.

Each ``evals/suites/<dataset>.py`` module defines:

- ``METRICS``: ``dict[str, Metric]``, every metric the suite reports;
- ``async def run(case: Case, env: EvalEnv) -> dict``: the answer, as JSON (by alias);
- ``def score(case: Case, output: dict) -> dict[str, float | None]``: per-case values from
  deterministic evaluators (``None``: the metric does not apply to this case);
- optionally ``def aggregate(results: list[CaseResult]) -> dict[str, float | None]`` for
  metrics over the whole split (MAE, rank correlation, precision); by default each metric is
  the mean of its per-case values;
- optionally ``JUDGED: list[JudgeCriterion]``, qualities an LLM judge grades when one is
  configured (tone, brand-voice fit, helpfulness);
- optionally ``WRITES_FIXTURES = True`` when its cases change fixture data (a graph that stores
  posts): the runner then runs it alone, one case at a time, after the other suites, so no
  other case reads what it wrote in passing and every run sees the same data.

Evaluators themselves live in ``evals/evaluators``: small functions, each unit-tested.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from evals.cases import Case

if TYPE_CHECKING:
    from evals.env import EvalEnv

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    description: str
    direction: Direction = "higher"
    # Gated metrics fail the run when worse than the baseline by more than ``tolerance``
    # (absolute, in the metric's own unit).
    gated: bool = True
    tolerance: float = 0.05


@dataclass(frozen=True)
class JudgeCriterion:
    """A quality an LLM judge scores 0..1 from the case's inputs and the answer's text."""

    metric: str
    rubric: str
    answer: Callable[[dict[str, Any]], str]  # the part of the output the judge reads


@dataclass
class CaseResult:
    case: Case
    output: dict[str, Any] | None
    scores: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    judge_comments: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Suite:
    name: str
    metrics: dict[str, Metric]
    run: Callable[[Case, EvalEnv], Awaitable[dict[str, Any]]]
    score: Callable[[Case, dict[str, Any]], dict[str, float | None]]
    aggregate: Callable[[list[CaseResult]], dict[str, float | None]]
    judged: tuple[JudgeCriterion, ...] = ()
    writes_fixtures: bool = False


def mean_scores(results: list[CaseResult]) -> dict[str, float | None]:
    """Each metric's mean over the cases it applies to (errored cases have no scores)."""
    sums: dict[str, list[float]] = {}
    for result in results:
        for metric, value in result.scores.items():
            if value is not None:
                sums.setdefault(metric, []).append(float(value))
    return {metric: sum(values) / len(values) for metric, values in sums.items()}


def load_suite(name: str) -> Suite:
    try:
        module: ModuleType = importlib.import_module(f"evals.suites.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"evals.suites.{name}":
            raise
        raise LookupError(f"no eval suite {name!r} (evals/suites/{name}.py)") from exc
    return Suite(
        name=name,
        metrics=module.METRICS,
        run=module.run,
        score=module.score,
        aggregate=getattr(module, "aggregate", mean_scores),
        judged=tuple(getattr(module, "JUDGED", ())),
        writes_fixtures=bool(getattr(module, "WRITES_FIXTURES", False)),
    )
