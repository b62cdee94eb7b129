"""``chorus eval`` end to end on a tiny dataset with the scripted model: reports, the gate's
exit codes, argument errors, the judge and LangSmith switches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import eval_support
import pytest
from eval_support import install_tiny_suite, tiny_cases, write_dataset
from fake_langsmith import serve_langsmith
from fake_model_apis import serve
from typer.testing import CliRunner

import evals.runner
from chorus.cli import app

runner = CliRunner()
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHORUS_DATA_DIR", str(tmp_path / "data"))
    install_tiny_suite(monkeypatch)
    directory = tmp_path / "datasets"
    dev = {"id": "d0", "split": "dev", "fixture": "empty", "inputs": {"word": "dev"}}
    write_dataset(directory, [*tiny_cases(4), dev])
    monkeypatch.setattr(evals.runner, "DATASETS_DIR", directory)
    return directory


def _eval(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = runner.invoke(app, ["eval", "--model", "scripted", *args])
    lines = result.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    return result.exit_code, summary, result.output


def test_eval_has_help() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    for option in (
        "--agent",
        "--split",
        "--model",
        "--judge",
        "--limit",
        "--concurrency",
        "--baseline",
        "--out",
        "--write-baseline",
    ):
        assert option in result.output


def test_a_run_writes_json_markdown_and_a_png_and_summarizes_on_the_last_line(
    datasets: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, summary, output = _eval("--out", str(out))

    assert code == 0, output
    assert summary is not None
    assert summary["gate"] == "no baseline"
    assert summary["cases"] == 4
    assert summary["errors"] == 0
    assert summary["casesPerSecond"] > 0
    assert summary["metrics"]["tiny"]["echo"] == 1.0
    assert summary["metrics"]["tiny"]["completed"] == 1.0
    assert summary["skipped"] == {"tiny": {"helpfulness": "skipped (no --judge configured)"}}
    assert "cases/s" in output
    assert "tiny: 4/4 cases" in output  # progress, as plain lines off a terminal
    assert "LangSmith not configured" in output

    results = json.loads((out / "results.json").read_text())
    assert results["run"]["model"] == "scripted"
    assert results["run"]["split"] == "test"
    assert results["run"]["datasets"]["tiny"]["version"] == 1
    cases = results["suites"]["tiny"]["results"]
    assert [c["id"] for c in cases] == ["c0", "c1", "c2", "c3"]
    assert cases[0]["scores"] == {"echo": 1.0, "length_error": 1}
    assert cases[0]["output"] == {"text": "Noted: Say word0"}
    assert cases[0]["tags"] == ["even"]
    assert results["suites"]["tiny"]["skipped"]["helpfulness"] == "skipped (no --judge configured)"
    helpfulness = next(m for m in results["metrics"] if m["metric"] == "helpfulness")
    assert helpfulness["status"] == "skipped"
    assert helpfulness["note"] == "skipped (no --judge configured)"

    report = (out / "report.md").read_text()
    assert "| tiny | echo | 1 |" in report
    assert "| tiny | helpfulness | skipped (no --judge configured) |" in report
    assert (out / "metrics.png").read_bytes()[:8] == PNG_HEADER


def test_the_gate_passes_on_its_own_baseline_and_fails_on_a_broken_prompt(
    datasets: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    code, _, output = _eval("--out", str(tmp_path / "a"), "--write-baseline", str(baseline))
    assert code == 0, output
    assert json.loads(baseline.read_text())["suites"]["tiny"]["metrics"]["echo"]["value"] == 1.0

    code, summary, output = _eval("--out", str(tmp_path / "b"), "--baseline", str(baseline))
    assert code == 0, output
    assert summary is not None
    assert summary["gate"] == "passed"

    # The prompt drops the word it must echo: echo falls from 1 to 0.
    eval_support.BROKEN["prompt"] = True
    code, summary, output = _eval("--out", str(tmp_path / "c"), "--baseline", str(baseline))
    assert code == 1, output
    assert summary is not None
    assert summary["ok"] is False
    assert summary["gate"] == "failed"
    assert [line.split(":")[0] for line in summary["failures"]] == ["tiny.echo"]
    assert "gate failed: tiny.echo" in output
    results = json.loads((tmp_path / "c" / "results.json").read_text())
    assert results["gate"]["ok"] is False
    echo = next(m for m in results["metrics"] if m["metric"] == "echo")
    assert (echo["value"], echo["baseline"], echo["status"]) == (0.0, 1.0, "fail")
    assert "**FAILED**" in (tmp_path / "c" / "report.md").read_text()


def test_a_suite_crashing_on_every_case_fails_the_gate(
    datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = tmp_path / "baseline.json"
    assert _eval("--out", str(tmp_path / "a"), "--write-baseline", str(baseline))[0] == 0

    async def crash(case: Any, env: Any) -> dict[str, Any]:
        raise RuntimeError("the agent is broken")

    monkeypatch.setattr(eval_support, "run", crash)
    code, summary, _ = _eval("--out", str(tmp_path / "b"), "--baseline", str(baseline))
    assert code == 1
    assert summary is not None
    assert summary["errors"] == 4
    failed = {line.split(":")[0] for line in summary["failures"]}
    assert failed == {"tiny.echo", "tiny.length_error", "tiny.completed"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agent", "nope"], "no dataset nope"),
        (["--model", "nope:x"], "unknown model provider"),
        (["--model", "openai:gpt-4o-mini"], "OPENAI_API_KEY"),
        (["--judge", "anthropic:claude"], "ANTHROPIC_API_KEY"),
        (["--judge", "scripted"], "has no structured output"),
        (["--split", "train"], "--split must be dev or test"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--baseline", "/nonexistent/baseline.json"], "no baseline file"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    datasets: Path, args: list[str], message: str
) -> None:
    model = [] if "--model" in args else ["--model", "scripted"]
    result = runner.invoke(app, ["eval", *model, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_an_agent_selects_one_dataset(datasets: Path, tmp_path: Path) -> None:
    write_dataset(datasets, tiny_cases(1), name="other")  # no suite: must not be loaded
    code, summary, output = _eval("--agent", "tiny", "--limit", "2", "--out", str(tmp_path / "o"))
    assert code == 0, output
    assert summary is not None
    assert summary["cases"] == 2
    assert list(summary["metrics"]) == ["tiny"]


def test_a_judge_grades_the_judged_metrics(
    datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve() as (base, requests):
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
        code, summary, output = _eval("--judge", "openai:gpt-4o-mini", "--out", str(tmp_path / "o"))
    assert code == 0, output
    assert summary is not None
    assert summary["judge"] == "openai:gpt-4o-mini"
    assert summary["metrics"]["tiny"]["helpfulness"] == 0.75
    assert summary["skipped"] == {}
    assert len([r for r in requests if r["path"] == "chat"]) == 4
    assert "skipped" not in (tmp_path / "o" / "report.md").read_text()


def test_with_langsmith_configured_the_run_is_recorded_as_an_experiment(
    datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_langsmith() as (url, state):
        monkeypatch.setenv("LANGSMITH_API_KEY", "ls-test-key")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", url)
        code, summary, output = _eval("--out", str(tmp_path / "o"))
    assert code == 0, output
    assert summary is not None
    (line,) = summary["langsmith"]
    # The whole dataset is synced (both splits); the experiment has the test split's runs.
    assert line.startswith("tiny: dataset chorus/tiny@v1 (5 examples added")
    assert len(state.runs) == 4
    (project,) = state.projects.values()
    assert project["reference_dataset_id"] == next(iter(state.datasets))
