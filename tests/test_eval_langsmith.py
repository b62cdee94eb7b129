"""LangSmith sync: datasets upserted, each run an experiment with runs and feedback, checked
against a fake LangSmith that records what the real client sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eval_support import install_tiny_suite, tiny_cases, write_dataset
from fake_langsmith import LangSmithState, serve_langsmith
from support import make_settings

from chorus.settings import Settings
from evals.cases import load_dataset
from evals.env import eval_env
from evals.langsmith_sync import client_for, dataset_name, example_id, sync_run
from evals.runner import EvalRun, run_evals
from evals.suite import load_suite


@pytest.fixture
def langsmith() -> Iterator[tuple[str, LangSmithState]]:
    with serve_langsmith() as served:
        yield served


def _settings(tmp_path: Path, url: str) -> Settings:
    return make_settings(tmp_path / "data", langsmith_api_key="ls-test-key", langsmith_endpoint=url)


async def _run(tmp_path: Path, cases: list[dict[str, Any]]) -> EvalRun:
    write_dataset(tmp_path / "datasets", cases)
    suite, dataset = load_suite("tiny"), load_dataset("tiny", tmp_path / "datasets")
    async with eval_env("scripted", settings=make_settings(tmp_path / "data")) as env:
        return await run_evals(env, [(suite, dataset)], split=None)


def test_no_key_means_no_client(tmp_path: Path) -> None:
    assert client_for(make_settings(tmp_path / "data")) is None


async def test_sync_creates_the_dataset_examples_experiment_runs_and_feedback(
    langsmith: tuple[str, LangSmithState], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = langsmith
    install_tiny_suite(monkeypatch)
    bad = {"id": "bad", "split": "dev", "fixture": "empty", "inputs": {"word": "x", "fail": True}}
    run = await _run(tmp_path, [*tiny_cases(3), bad])
    client = client_for(_settings(tmp_path, url))
    assert client is not None

    lines = sync_run(client, run)

    assert lines == [
        "tiny: dataset chorus/tiny@v1 (4 examples added, 0 updated), experiment "
        + repr(next(iter(state.projects.values()))["name"])
    ]
    assert all(r["api_key"] == "ls-test-key" for r in state.requests)
    (dataset,) = state.datasets.values()
    assert dataset["name"] == "chorus/tiny@v1"
    examples = {e["metadata"]["case_id"]: e for e in state.examples.values()}
    assert set(examples) == {"c0", "c1", "c2", "bad"}
    assert examples["c1"]["inputs"] == {"word": "word1"}
    assert examples["c1"]["outputs"] == {"expect": {"words": 2}}
    assert examples["c1"]["metadata"]["tags"] == ["odd"]
    assert examples["c1"]["metadata"]["dataset_split"] == "test"
    assert examples["bad"]["metadata"]["dataset_split"] == "dev"
    assert all(e["dataset_id"] == dataset["id"] for e in examples.values())

    (project,) = state.projects.values()
    assert project["reference_dataset_id"] == dataset["id"]
    assert project["extra"]["metadata"]["model"] == "scripted"
    assert project["name"].startswith("chorus/tiny@v1 scripted ")
    assert project.get("end_time")  # the experiment is closed

    runs = {r["extra"]["metadata"]["case_id"]: r for r in state.runs.values()}
    assert set(runs) == {"c0", "c1", "c2", "bad"}
    for case_id, body in runs.items():
        assert body["reference_example_id"] == examples[case_id]["id"]
        assert body["session_name"] == project["name"]
    assert runs["c1"]["outputs"] == {"text": "Noted: Say word1"}
    assert runs["bad"]["error"] == "RuntimeError: case bad fails on purpose"

    per_run = [f for f in state.feedback if f.get("run_id")]
    by_run: dict[str, dict[str, float]] = {}
    for f in per_run:
        by_run.setdefault(f["run_id"], {})[f["key"]] = f["score"]
        assert f["session_id"] == project["id"]
    c1_run = next(k for k, v in state.runs.items() if v["extra"]["metadata"]["case_id"] == "c1")
    assert by_run[c1_run] == {"echo": 1.0, "length_error": 1.0}
    bad_run = next(k for k, v in state.runs.items() if v["extra"]["metadata"]["case_id"] == "bad")
    assert bad_run not in by_run  # an errored case has no scores to send
    summary = {
        f["key"]: f["score"] for f in state.feedback if f.get("session_id") and not f.get("run_id")
    }
    assert summary["completed (aggregate)"] == 0.75
    assert summary["echo (aggregate)"] == 1.0


async def test_a_second_sync_updates_changed_examples_instead_of_duplicating(
    langsmith: tuple[str, LangSmithState], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = langsmith
    install_tiny_suite(monkeypatch)
    client = client_for(_settings(tmp_path, url))
    assert client is not None
    first = await _run(tmp_path, tiny_cases(2))
    sync_run(client, first)

    changed = tiny_cases(2)
    changed[1]["expect"] = {"words": 5}
    # Same version number, new content: the dataset is upserted by case id.
    second = await _run(tmp_path, changed)
    (line,) = sync_run(client, second)

    assert "(0 examples added, 1 updated)" in line
    assert len(state.datasets) == 1
    assert len(state.examples) == 2
    updated = state.examples[
        str(example_id(second.suites[0].dataset, second.suites[0].dataset.cases[1]))
    ]
    assert updated["outputs"] == {"expect": {"words": 5}}
    assert len(state.calls("PATCH", "/examples/bulk")) == 1
    assert len(state.calls("POST", "/examples/bulk")) == 1
    assert len(state.projects) == 2  # one experiment per run
    patched = json.loads(state.calls("PATCH", "/examples/bulk")[0]["body"])
    assert [item["id"] for item in patched] == [updated["id"]]
    assert dataset_name(second.suites[0].dataset) == "chorus/tiny@v1"
