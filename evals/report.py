"""What a run leaves behind: a table on the terminal, ``results.json`` (every case and the
aggregates), ``report.md`` and ``metrics.png`` (each metric against the baseline)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals.baseline import Comparison, MetricComparison
from evals.runner import EvalRun, SuiteRun

RESULTS_FILE = "results.json"
MARKDOWN_FILE = "report.md"
CHART_FILE = "metrics.png"

_RUN_COLOUR, _FAILED_COLOUR, _BASELINE_COLOUR = "#1f77b4", "#d62728", "#bbbbbb"
_STATUS_STYLE = {
    "fail": "bold red",
    "worse": "yellow",
    "missing": "yellow",
    "improved": "green",
    "ok": "green",
    "skipped": "dim",
    "new": "cyan",
    "no baseline": "dim",
}


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _rows(run: EvalRun, comparison: Comparison | None) -> list[dict[str, Any]]:
    """One row per suite and metric: value, baseline, delta, status (the same in every
    output)."""
    rows: list[dict[str, Any]] = []
    for suite_run in run.suites:
        names = list(suite_run.metrics)
        if comparison is not None:
            names += [
                m.metric
                for m in comparison.metrics
                if m.suite == suite_run.name and m.metric not in names
            ]
        for name in names:
            found: MetricComparison | None = (
                comparison.get(suite_run.name, name) if comparison else None
            )
            value = suite_run.metrics.get(name)
            if name in suite_run.skipped:
                status, shown = "skipped", suite_run.skipped[name]
            else:
                status = found.status if found else "no baseline"
                shown = _fmt(value)
            gated = found.gated if found else _gated(suite_run, name)
            rows.append(
                {
                    "suite": suite_run.name,
                    "metric": name,
                    "value": value,
                    "shown": shown,
                    "baseline": found.baseline if found else None,
                    "delta": found.delta if found else None,
                    "gated": gated,
                    "status": status,
                    "note": suite_run.skipped.get(name) or (found.note if found else ""),
                }
            )
    return rows


def _gated(suite_run: SuiteRun, name: str) -> bool:
    try:
        return suite_run.metric(name).gated
    except (KeyError, StopIteration):
        return False


def print_table(console: Console, run: EvalRun, comparison: Comparison | None) -> None:
    table = Table(
        "suite", "metric", "gated", "value", "baseline", "delta", "status", title="eval metrics"
    )
    for row in _rows(run, comparison):
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4g}"
        style = _STATUS_STYLE.get(row["status"], "")
        table.add_row(
            row["suite"],
            row["metric"],
            "yes" if row["gated"] else "no",
            row["shown"],
            _fmt(row["baseline"]),
            delta,
            f"[{style}]{row['status']}[/{style}]" if style else row["status"],
        )
    console.print(table)
    for suite_run in run.suites:
        line = (
            f"{suite_run.name}: {len(suite_run.results)} cases, {suite_run.errors} errors, "
            f"{suite_run.seconds:.1f} s"
        )
        if suite_run.aggregate_error:
            line += f", aggregate failed: {suite_run.aggregate_error}"
        console.print(line, style="red" if suite_run.errors or suite_run.aggregate_error else "")
    if comparison is not None:
        for warning in comparison.warnings:
            console.print(f"warning: {warning}", style="yellow")
        for reason in comparison.reasons():
            console.print(f"gate failed: {reason}", style="bold red")
    console.print(
        f"{run.cases} cases in {run.seconds:.1f} s ({run.cases_per_second:.2f} cases/s), "
        f"{run.errors} errors"
    )


def _suite_dict(suite_run: SuiteRun) -> dict[str, Any]:
    return {
        "dataset": {
            "name": suite_run.dataset.name,
            "version": suite_run.dataset.version,
            "sha256": suite_run.dataset.sha256,
        },
        "cases": len(suite_run.results),
        "errors": suite_run.errors,
        "aggregate_error": suite_run.aggregate_error,
        "seconds": round(suite_run.seconds, 3),
        "metrics": suite_run.metrics,
        "skipped": suite_run.skipped,
        "results": [
            {
                "id": r.case.id,
                "split": r.case.split,
                "tags": r.case.tags,
                "inputs": r.case.inputs,
                "output": r.output,
                "scores": r.scores,
                "judge_comments": r.judge_comments,
                "error": r.error,
                "seconds": round(r.seconds, 3),
            }
            for r in suite_run.results
        ],
    }


def results_dict(
    run: EvalRun, comparison: Comparison | None, baseline_path: Path | None = None
) -> dict[str, Any]:
    return {
        "run": {
            "model": run.model,
            "judge": run.judge,
            "split": run.split,
            "limit": run.limit,
            "started_at": run.started_at.isoformat(timespec="seconds"),
            "seconds": round(run.seconds, 3),
            "cases": run.cases,
            "errors": run.errors,
            "cases_per_second": round(run.cases_per_second, 3),
            "git_commit": git_commit(),
            "datasets": {
                s.name: {"version": s.dataset.version, "sha256": s.dataset.sha256}
                for s in run.suites
            },
        },
        "gate": None
        if comparison is None
        else {
            "baseline": str(baseline_path) if baseline_path else None,
            "ok": comparison.ok,
            "failures": comparison.reasons(),
            "warnings": comparison.warnings,
        },
        "metrics": [
            {k: v for k, v in row.items() if k != "shown"} for row in _rows(run, comparison)
        ],
        "suites": {s.name: _suite_dict(s) for s in run.suites},
    }


def markdown(run: EvalRun, comparison: Comparison | None) -> str:
    lines = [
        "# Eval report",
        "",
        f"- model: `{run.model}`; judge: `{run.judge or 'none (judged metrics skipped)'}`",
        f"- split: `{run.split or 'all'}`" + (f", first {run.limit} cases" if run.limit else ""),
        f"- {run.cases} cases in {run.seconds:.1f} s ({run.cases_per_second:.2f} cases/s), "
        f"{run.errors} errors",
    ]
    if comparison is None:
        lines.append("- gate: no baseline given")
    else:
        lines.append(f"- gate: **{'passed' if comparison.ok else 'FAILED'}**")
        lines += [f"  - {reason}" for reason in comparison.reasons()]
        lines += [f"- warning: {warning}" for warning in comparison.warnings]
    lines += [
        "",
        "| suite | metric | value | baseline | delta | gated | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in _rows(run, comparison):
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4g}"
        lines.append(
            f"| {row['suite']} | {row['metric']} | {row['shown']} | {_fmt(row['baseline'])} "
            f"| {delta} | {'yes' if row['gated'] else 'no'} | {row['status']} |"
        )
    errored = [(s.name, r) for s in run.suites for r in s.results if not r.ok]
    if errored:
        lines += ["", "## Errored cases", ""]
        lines += [f"- `{name}` / `{r.case.id}`: {r.error}" for name, r in errored]
    return "\n".join(lines) + "\n"


def chart(run: EvalRun, comparison: Comparison | None, path: Path) -> None:
    """One subplot per suite: each metric's value beside its baseline. Metrics have different
    units (shares, MAE in hours), so bars are drawn relative to the larger of the two values
    of each metric, with the real numbers written on the bars."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI machines
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = [r for r in _rows(run, comparison) if r["status"] != "skipped"]
    suites = [s.name for s in run.suites] or ["(no suites)"]
    fig, axes = plt.subplots(len(suites), 1, figsize=(10, 2.6 * len(suites) + 0.6), squeeze=False)
    for ax, suite in zip(axes[:, 0], suites, strict=True):
        mine = [r for r in rows if r["suite"] == suite]
        labels = [r["metric"] for r in mine]
        values = [r["value"] for r in mine]
        bases = [r["baseline"] for r in mine]
        scale = [
            max(abs(v or 0.0), abs(b or 0.0)) or 1.0 for v, b in zip(values, bases, strict=True)
        ]
        xs = range(len(labels))
        now = ax.bar(
            [x - 0.2 for x in xs],
            [(v or 0.0) / s for v, s in zip(values, scale, strict=True)],
            width=0.4,
            label="this run",
            color=[_FAILED_COLOUR if r["status"] == "fail" else _RUN_COLOUR for r in mine],
        )
        before = ax.bar(
            [x + 0.2 for x in xs],
            [(b or 0.0) / s for b, s in zip(bases, scale, strict=True)],
            width=0.4,
            label="baseline",
            color=_BASELINE_COLOUR,
        )
        ax.bar_label(now, labels=[_fmt(v) for v in values], fontsize=7)
        ax.bar_label(before, labels=["" if b is None else _fmt(b) for b in bases], fontsize=7)
        ax.set_xticks(list(xs), labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 1.25)
        ax.set_yticks([])
        ax.set_title(suite, fontsize=10, loc="left")
    handles = [
        Patch(color=_RUN_COLOUR, label="this run"),
        Patch(color=_FAILED_COLOUR, label="this run, gate failed"),
        Patch(color=_BASELINE_COLOUR, label="baseline"),
    ]
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncols=3)
    fig.suptitle(
        f"{run.model} on {run.split or 'all'} (bars relative to each metric's max)",
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def write_reports(
    run: EvalRun,
    comparison: Comparison | None,
    out: Path,
    *,
    baseline_path: Path | None = None,
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "results": out / RESULTS_FILE,
        "markdown": out / MARKDOWN_FILE,
        "chart": out / CHART_FILE,
    }
    paths["results"].write_text(
        json.dumps(results_dict(run, comparison, baseline_path), indent=2, default=str) + "\n"
    )
    paths["markdown"].write_text(markdown(run, comparison))
    chart(run, comparison, paths["chart"])
    return paths
