"""Baselines: a run's aggregate metrics recorded as JSON, and a later run compared against them.

A baseline file (``--write-baseline FILE``) holds the model, split and limit it measured, each
dataset's version and sha256, and per suite per metric its value with the direction, gate and
tolerance it was recorded with.

The gate, per metric of every suite that ran:

- both values present: ``delta = value - baseline``; a gated metric *fails* when it is worse
  (lower for ``higher``, higher for ``lower``) by more than its tolerance. Direction, gate and
  tolerance come from the suite's current definition (code, reviewed), falling back to the
  baseline's copy for a metric the suite no longer defines;
- in the baseline but not measured now: a gated metric *fails* ("missing": a metric that
  vanished cannot be shown not to have regressed), except judged metrics skipped for want of
  a judge, which are "skipped" (the run chose not to measure them);
- measured now but not in the baseline: "new", never a failure;
- a suite in the baseline that did not run, on a run over all datasets: *fails* (a deleted or
  renamed dataset would otherwise drop out of the gate unnoticed). With ``--agent``, suites
  not asked for are not compared.

A dataset whose version or sha256 differs from the baseline's, or a different model, split or
limit, is a *warning* and the comparison still runs: CI keeps gating a pull request that edits
a dataset, and the warning says to re-record the baseline (``--write-baseline``) in the same
change. Refusing to compare would switch the gate off exactly when cases change.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from evals.runner import EvalRun, SuiteRun
from evals.suite import Metric

FORMAT = 1
# Float noise in means must not flip a zero-tolerance gate.
_EPSILON = 1e-9

Status = Literal["ok", "improved", "worse", "fail", "missing", "new", "skipped", "no baseline"]


class BaselineError(ValueError):
    """A baseline file that cannot be read."""


def baseline_dict(run: EvalRun) -> dict[str, Any]:
    """The baseline a run records."""
    suites: dict[str, Any] = {}
    for suite_run in run.suites:
        metrics: dict[str, Any] = {}
        for name, value in suite_run.metrics.items():
            # A value the suite reports without defining it is informational, never gated.
            definition = (
                suite_run.metric(name) if _defined(suite_run, name) else Metric("", gated=False)
            )
            metrics[name] = {
                "value": value,
                "direction": definition.direction,
                "gated": definition.gated,
                "tolerance": definition.tolerance,
            }
        suites[suite_run.name] = {
            "dataset": {
                "version": suite_run.dataset.version,
                "sha256": suite_run.dataset.sha256,
                "cases": len(suite_run.results),
            },
            "metrics": metrics,
        }
    return {
        "format": FORMAT,
        "model": run.model,
        "split": run.split,
        "limit": run.limit,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "suites": suites,
    }


def write_baseline(run: EvalRun, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline_dict(run), indent=2, sort_keys=False) + "\n")


def read_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise BaselineError(f"no baseline file {path}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: not a readable baseline: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or "suites" not in data:
        raise BaselineError(f"{path}: not a baseline file of format {FORMAT}")
    return data


@dataclass(frozen=True)
class MetricComparison:
    suite: str
    metric: str
    value: float | None
    baseline: float | None
    delta: float | None
    gated: bool
    tolerance: float
    direction: str
    status: Status
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass
class Comparison:
    metrics: list[MetricComparison] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Failures that are not one metric's (a suite missing from the run).
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[MetricComparison]:
        return [m for m in self.metrics if m.failed]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.failures

    def get(self, suite: str, metric: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.suite == suite and m.metric == metric), None)

    def reasons(self) -> list[str]:
        """One line per gate failure."""
        lines = list(self.failures)
        for m in self.failed:
            if m.value is None:
                lines.append(f"{m.suite}.{m.metric}: {m.note}")
            else:
                lines.append(
                    f"{m.suite}.{m.metric}: {m.value:.4g} against baseline {m.baseline:.4g} "
                    f"({m.delta:+.4g}; {m.direction} is better, tolerance {m.tolerance:g})"
                )
        return lines


def _defined(suite_run: SuiteRun, name: str) -> bool:
    try:
        suite_run.metric(name)
    except (KeyError, StopIteration):
        return False
    return True


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _compare_metric(
    suite_run: SuiteRun, name: str, recorded: dict[str, Any] | None
) -> MetricComparison:
    value = _number(suite_run.metrics.get(name))
    if _defined(suite_run, name):
        definition = suite_run.metric(name)
    else:
        recorded_ = recorded or {}
        definition = Metric(
            description="",
            direction=recorded_.get("direction", "higher"),
            gated=bool(recorded_.get("gated", False)),
            tolerance=float(recorded_.get("tolerance", 0.0)),
        )
    base = _number(recorded.get("value")) if recorded else None
    common = {
        "suite": suite_run.name,
        "metric": name,
        "value": value,
        "baseline": base,
        "gated": definition.gated,
        "tolerance": definition.tolerance,
        "direction": definition.direction,
    }
    if name in suite_run.skipped:
        return MetricComparison(
            **common, delta=None, status="skipped", note=suite_run.skipped[name]
        )
    if recorded is None:
        return MetricComparison(**common, delta=None, status="new", note="not in the baseline")
    if base is None:
        return MetricComparison(
            **common, delta=None, status="no baseline", note="the baseline has no value"
        )
    if value is None:
        return MetricComparison(
            **common,
            delta=None,
            status="fail" if definition.gated else "missing",
            note="not measured by this run (no case produced a value)",
        )
    delta = value - base
    worse_by = -delta if definition.direction == "higher" else delta
    if worse_by > definition.tolerance + _EPSILON:
        status: Status = "fail" if definition.gated else "worse"
    elif worse_by < -_EPSILON:
        status = "improved"
    else:
        status = "ok"
    return MetricComparison(**common, delta=delta, status=status)


def compare(run: EvalRun, baseline: dict[str, Any], *, all_suites: bool = True) -> Comparison:
    """``run`` against ``baseline`` (see the module docstring for the policy). ``all_suites``:
    the run was over every dataset, so a baseline suite that did not run fails."""
    result = Comparison()
    for key, label in (("model", "model"), ("split", "split"), ("limit", "limit")):
        if baseline.get(key) != getattr(run, key):
            result.warnings.append(
                f"the baseline was recorded with {label} {baseline.get(key)!r}, "
                f"this run used {getattr(run, key)!r}"
            )
    recorded_suites: dict[str, Any] = baseline.get("suites", {})
    for suite_run in run.suites:
        recorded = recorded_suites.get(suite_run.name)
        if recorded is None:
            result.warnings.append(f"{suite_run.name}: not in the baseline (new suite)")
            recorded = {"metrics": {}}
        else:
            dataset = recorded.get("dataset", {})
            if (dataset.get("version"), dataset.get("sha256")) != (
                suite_run.dataset.version,
                suite_run.dataset.sha256,
            ):
                result.warnings.append(
                    f"{suite_run.name}: dataset v{suite_run.dataset.version} "
                    f"({suite_run.dataset.sha256[:12]}) differs from the baseline's "
                    f"v{dataset.get('version')} ({str(dataset.get('sha256'))[:12]}); compared "
                    "anyway — re-record the baseline with --write-baseline if the change is "
                    "intended"
                )
        recorded_metrics: dict[str, Any] = recorded.get("metrics", {})
        for name in [
            *suite_run.metrics,
            *(m for m in recorded_metrics if m not in suite_run.metrics),
        ]:
            result.metrics.append(_compare_metric(suite_run, name, recorded_metrics.get(name)))
    if all_suites:
        ran = {s.name for s in run.suites}
        for name in recorded_suites:
            if name not in ran:
                result.failures.append(
                    f"{name}: in the baseline but its dataset or suite was not run"
                )
    return result
