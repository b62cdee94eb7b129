"""A tiny eval suite and dataset for the runner, report, gate and CLI tests.

The suite asks the eval's chat model to echo a word and scores whether the answer contains
it; a case's inputs can make it raise (``"fail"``) or take a while (``"sleep"``), so error and
timeout handling is exercised without any agent. ``install_tiny_suite`` registers it as
``evals.suites.tiny``, the module name ``load_suite`` imports.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from evals.cases import Case
from evals.suite import CaseResult, JudgeCriterion, Metric, mean_scores

METRICS: dict[str, Metric] = {
    "echo": Metric("The answer contains the requested word.", tolerance=0.1),
    "length_error": Metric(
        "Mean absolute difference between the answer's length and the target, in words.",
        direction="lower",
        tolerance=2.0,
    ),
    "cases_seen": Metric("How many cases were scored (informational).", gated=False),
}
JUDGED = [
    JudgeCriterion(
        metric="helpfulness",
        rubric="Is the answer a helpful reply to the request?",
        answer=lambda output: str(output.get("text", "")),
    )
]
# Tests flip these to break the suite on purpose (a broken prompt, a broken tool).
BROKEN: dict[str, bool] = {"prompt": False}


async def run(case: Case, env: Any) -> dict[str, Any]:
    await env.org(case)  # the fixture organization is built like a real suite's
    if case.inputs.get("fail"):
        raise RuntimeError(f"case {case.id} fails on purpose")
    if case.inputs.get("sleep"):
        await asyncio.sleep(float(case.inputs["sleep"]))
    word = "" if BROKEN["prompt"] else case.inputs["word"]
    model = env.services.chat_models.get(env.model)
    reply = await model.ainvoke([HumanMessage(content=f"Say {word}")])
    return {"text": str(reply.content)}


def score(case: Case, output: dict[str, Any]) -> dict[str, float | None]:
    text = output["text"]
    target = case.expect.get("words")
    return {
        "echo": 1.0 if case.inputs["word"] in text else 0.0,
        "length_error": None if target is None else abs(len(text.split()) - target),
    }


def aggregate(results: list[CaseResult]) -> dict[str, float | None]:
    metrics = mean_scores(results)
    metrics["cases_seen"] = float(sum(1 for r in results if r.ok))
    return metrics


def write_dataset(directory: Path, cases: list[dict[str, Any]], name: str = "tiny") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.v1.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def tiny_cases(n: int = 4, split: str = "test") -> list[dict[str, Any]]:
    return [
        {
            "id": f"c{i}",
            "split": split,
            "fixture": "empty",
            "inputs": {"word": f"word{i}"},
            "expect": {"words": 2},
            "tags": ["even" if i % 2 == 0 else "odd"],
        }
        for i in range(n)
    ]


def install_tiny_suite(monkeypatch: pytest.MonkeyPatch, name: str = "tiny") -> types.ModuleType:
    module = sys.modules[__name__]
    monkeypatch.setitem(sys.modules, f"evals.suites.{name}", module)
    monkeypatch.setitem(BROKEN, "prompt", False)
    return module


async def run_and_score(env: Any, name: str, case_id: str) -> tuple[dict, dict]:
    """One case of dataset ``name`` through its real suite: (output, scores)."""
    from evals.cases import load_dataset
    from evals.suite import load_suite

    suite = load_suite(name)
    [case] = [c for c in load_dataset(name).cases if c.id == case_id]
    output = await suite.run(case, env)
    return output, suite.score(case, output)
