"""``chorus eval`` behind the CLI's argument parsing: choose suites, run them in an eval
environment, compare with a baseline, write the reports, sync LangSmith, summarize.

Argument problems raise ``BadEvalArguments`` before anything runs (the CLI exits 2); the gate's
verdict is in the returned outcome (the CLI exits 1 when it failed).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chorus.chat_models import ChatModels, ModelNotConfigured, parse_spec
from chorus.settings import Settings
from evals.baseline import BaselineError, Comparison, compare, read_baseline, write_baseline
from evals.cases import Dataset, DatasetError
from evals.env import eval_env, eval_settings
from evals.judge import Judge, build_judge
from evals.report import print_table, write_reports
from evals.runner import DEFAULT_TIMEOUT_SECONDS, EvalRun, run_evals, select_suites
from evals.suite import CaseResult, Suite


class BadEvalArguments(ValueError):
    """An option that cannot work (unknown agent, bad model spec, unreadable baseline)."""


@dataclass
class EvalOptions:
    agents: list[str] = field(default_factory=list)
    split: str = "test"
    model: str | None = None
    judge: str | None = None
    limit: int | None = None
    concurrency: int | None = None
    baseline: Path | None = None
    out: Path | None = None
    write_baseline: Path | None = None
    case_timeout: float = DEFAULT_TIMEOUT_SECONDS
    datasets_dir: Path | None = None


@dataclass
class EvalOutcome:
    run: EvalRun
    comparison: Comparison | None
    files: dict[str, Path]
    langsmith: list[str] | None

    @property
    def gate_failed(self) -> bool:
        return self.comparison is not None and not self.comparison.ok

    def summary(self) -> dict[str, Any]:
        """The last line of stdout."""
        gate = (
            "no baseline"
            if self.comparison is None
            else ("passed" if self.comparison.ok else "failed")
        )
        return {
            "ok": not self.gate_failed,
            "gate": gate,
            "failures": self.comparison.reasons() if self.comparison else [],
            "model": self.run.model,
            "judge": self.run.judge,
            "split": self.run.split,
            "cases": self.run.cases,
            "errors": self.run.errors,
            "seconds": round(self.run.seconds, 3),
            "casesPerSecond": round(self.run.cases_per_second, 3),
            "metrics": {s.name: s.metrics for s in self.run.suites},
            "skipped": {s.name: s.skipped for s in self.run.suites if s.skipped},
            "files": {k: str(v) for k, v in self.files.items()},
            "langsmith": self.langsmith,
        }


class RichProgress:
    """One progress bar per suite on a terminal; elsewhere (CI logs), where a live bar would
    only be drawn at the end, a plain line per suite every ``every`` seconds and at its end."""

    def __init__(self, progress: Progress, console: Console, every: float = 15.0) -> None:
        self._progress = progress
        self._console = console
        self._live = console.is_terminal
        self._every = every
        self._tasks: dict[str, Any] = {}
        self._counts: dict[str, list[int]] = {}
        self._printed: dict[str, float] = {}

    def start(self, suite: str, total: int) -> None:
        if self._live:
            self._tasks[suite] = self._progress.add_task(suite, total=total)
        self._counts[suite] = [0, total]
        self._printed[suite] = time.monotonic()

    def advance(self, suite: str, result: CaseResult) -> None:
        if self._live:
            self._progress.advance(self._tasks[suite])
            return
        count = self._counts[suite]
        count[0] += 1
        now = time.monotonic()
        if count[0] == count[1] or now - self._printed[suite] >= self._every:
            self._printed[suite] = now
            self._console.print(f"{suite}: {count[0]}/{count[1]} cases")


def _default_concurrency(model: str | None) -> int:
    # The local model serializes every call behind one lock: two cases in flight let one
    # case's tools and storage work overlap the other's generation; more would only wait for
    # the lock inside their timeouts.
    return 2 if model and parse_spec(model)[0] == "local" else 4


def _check_model(chat_models: ChatModels, spec: str | None, option: str) -> str:
    spec = spec or chat_models.default
    if spec is None:
        raise BadEvalArguments(
            f"{option}: no chat model is configured; pass {option} provider:model"
        )
    try:
        chat_models.get(spec, temperature=0.0)
    except ModelNotConfigured as exc:
        raise BadEvalArguments(f"{option} {spec}: {exc}") from exc
    return spec


def prepare(
    options: EvalOptions, settings: Settings
) -> tuple[list[tuple[Suite, Dataset]], dict[str, Any] | None, str, Judge | None]:
    """Everything that can be checked before running; raises ``BadEvalArguments``."""
    if options.split not in ("dev", "test"):
        raise BadEvalArguments(f"--split must be dev or test, not {options.split!r}")
    if options.limit is not None and options.limit < 1:
        raise BadEvalArguments("--limit must be at least 1")
    if options.concurrency is not None and options.concurrency < 1:
        raise BadEvalArguments("--concurrency must be at least 1")
    try:
        suites = select_suites(options.agents, options.datasets_dir)
    except (LookupError, DatasetError) as exc:
        raise BadEvalArguments(f"--agent: {exc}") from exc
    if not suites:
        raise BadEvalArguments("no eval datasets found in evals/datasets")
    chat_models = ChatModels(eval_settings(options.model, settings.data_dir, settings))
    model = _check_model(chat_models, options.model, "--model")
    try:
        judge = build_judge(options.judge, ChatModels(settings))
    except ModelNotConfigured as exc:
        raise BadEvalArguments(f"--judge {options.judge}: {exc}") from exc
    baseline = None
    if options.baseline is not None:
        try:
            baseline = read_baseline(options.baseline)
        except BaselineError as exc:
            raise BadEvalArguments(f"--baseline: {exc}") from exc
    return suites, baseline, model, judge


async def execute(options: EvalOptions, settings: Settings, console: Console) -> EvalOutcome:
    suites, baseline, model, judge = prepare(options, settings)
    if judge is None:
        console.print("judged metrics: skipped (no --judge configured)", style="dim")
    concurrency = options.concurrency or _default_concurrency(model)
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    async with eval_env(model, settings=settings) as env:
        with Progress(*columns, console=console, transient=False) as bars:
            run = await run_evals(
                env,
                suites,
                split=options.split,
                limit=options.limit,
                concurrency=concurrency,
                case_timeout=options.case_timeout,
                judge=judge,
                progress=RichProgress(bars, console),
            )
    comparison = (
        compare(run, baseline, all_suites=not options.agents) if baseline is not None else None
    )
    print_table(console, run, comparison)
    stamp = run.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = options.out or settings.data_dir / "evals" / stamp
    files = write_reports(run, comparison, out, baseline_path=options.baseline)
    if options.write_baseline is not None:
        write_baseline(run, options.write_baseline)
        files["baseline"] = options.write_baseline
        console.print(f"baseline written to {options.write_baseline}")
    console.print(f"reports in {out}")
    langsmith = await _sync_langsmith(settings, run, console)
    return EvalOutcome(run=run, comparison=comparison, files=files, langsmith=langsmith)


async def _sync_langsmith(settings: Settings, run: EvalRun, console: Console) -> list[str] | None:
    from evals.langsmith_sync import client_for, sync_run

    client = client_for(settings)
    if client is None:
        console.print(
            "LangSmith not configured (no LANGSMITH_API_KEY): nothing synced", style="dim"
        )
        return None
    try:
        lines = await asyncio.to_thread(sync_run, client, run)
    except Exception as exc:
        # The eval's own result stands; LangSmith is where people look at it, not the gate.
        console.print(f"LangSmith sync failed: {type(exc).__name__}: {exc}", style="yellow")
        return [f"failed: {type(exc).__name__}: {exc}"]
    for line in lines:
        console.print(f"LangSmith: {line}")
    return lines
