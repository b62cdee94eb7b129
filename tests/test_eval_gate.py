"""The eval gate catches real regressions: a baseline recorded with the scripted model on a few
test cases, then a deliberately broken tool (the schedule optimizer picks the worst hours) and
a deliberately broken prompt (the content creator's brief is dropped) each fail it, through
the same runner, suites and comparison ``chorus eval --baseline`` uses."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import BaseMessage
from support import make_settings

import tools.schedule_optimizer
from agents.prompts import content_creator as content_prompts
from chorus.scripted_model import ScriptedChatModel
from evals.baseline import baseline_dict, compare
from evals.cases import Dataset
from evals.env import EvalEnv, eval_env
from evals.runner import EvalRun, run_evals, select_suites
from evals.suite import Suite

# Planted-peak cases (Instagram and LinkedIn on the demo brand), so the best window applies.
SCHEDULER_CASES = ["sched-ig-ny", "sched-ig-5", "sched-li-3-gap24", "sched-ig-14d-gap24"]
CONTENT_CASES = [
    "cc-fb-astoria-birthday",
    "cc-li-german-lumen",
    "cc-fb-cta-cupping",
    "cc-tw-origins-8",
]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[EvalEnv]:
    async with eval_env("scripted", settings=make_settings(tmp_path / "data")) as opened:
        yield opened


def _subset(name: str, ids: list[str]) -> tuple[Suite, Dataset]:
    ((suite, dataset),) = select_suites([name])
    cases = tuple(c for c in dataset.cases if c.id in ids)
    assert [c.id for c in cases] == [c.id for c in dataset.cases if c.id in ids]
    assert len(cases) == len(ids), "a case this test relies on left the dataset"
    return suite, dataclasses.replace(dataset, cases=cases)


async def _run(env: EvalEnv, chosen: tuple[Suite, Dataset]) -> EvalRun:
    return await run_evals(env, [chosen], split="test", concurrency=4)


def _failed(run: EvalRun, baseline: dict[str, Any]) -> set[str]:
    comparison = compare(run, baseline, all_suites=False)
    assert comparison.ok is not bool(comparison.failed)
    return {f"{m.suite}.{m.metric}" for m in comparison.failed}


async def test_a_schedule_optimizer_that_picks_the_worst_hours_fails_the_gate(
    env: EvalEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = _subset("scheduler", SCHEDULER_CASES)
    healthy = await _run(env, chosen)
    assert healthy.errors == 0
    assert healthy.suites[0].metrics["window_hit_rate"] > 0.5
    baseline = baseline_dict(healthy)
    assert _failed(await _run(env, chosen), baseline) == set()  # a rerun passes

    original = tools.schedule_optimizer.smoothed_grid

    def worst_first(*args: Any, **kwargs: Any) -> tuple[np.ndarray, float | None, np.ndarray]:
        grid, average, prior = original(*args, **kwargs)
        # Same values, order reversed: the best hour now scores lowest and the worst highest.
        return grid.max() + grid.min() - grid, average, prior

    monkeypatch.setattr(tools.schedule_optimizer, "smoothed_grid", worst_first)
    broken = await _run(env, chosen)

    assert broken.errors == 0  # nothing crashes: only the measurement can tell
    assert "scheduler.window_hit_rate" in _failed(broken, baseline)


def follows_the_prompt(messages: Sequence[BaseMessage]) -> str:
    """A stand-in model that, like a real one, writes from what its prompt says: the brief's
    words as the post, cut to the length the prompt asks for; a repair returns the post it was
    given, shortened. (The plain scripted model only echoes, and the agent replaces an echo by
    its deterministic template of the brief, so it cannot show a prompt's effect.)"""
    prompt = str(next(m for m in reversed(messages) if m.type == "human").content)
    fields = dict(
        line.split(": ", 1) for line in prompt.splitlines() if ": " in line and line[0].isupper()
    )
    limit = re.search(r"(?:at most|under) (\d+) characters", prompt)
    text = fields.get("Post") or (
        f"{fields['Brief']} We would love to see you." if fields.get("Brief") else ""
    )
    text = text or "Good coffee, roasted with care, for all our neighbours."
    if limit and len(text) > int(limit[1]):
        text = text[: int(limit[1])].rsplit(" ", 1)[0].rstrip(",;:") + "."
    return text


class PromptFollowingModels:
    """Chat models for the eval env that all answer with ``follows_the_prompt``."""

    default = "scripted"

    def get(self, spec: str | None = None, **_: Any) -> ScriptedChatModel:
        return ScriptedChatModel(responder=follows_the_prompt)


async def test_a_content_prompt_without_the_brief_fails_the_gate(
    env: EvalEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env.services, "chat_models", PromptFollowingModels())
    chosen = _subset("content_creator", CONTENT_CASES)
    healthy = await _run(env, chosen)
    assert healthy.errors == 0
    assert healthy.suites[0].metrics["facts"] > 0.9
    baseline = baseline_dict(healthy)
    assert _failed(await _run(env, chosen), baseline) == set()

    original = content_prompts.draft_prompt

    def without_brief(**kwargs: Any) -> str:
        return original(**{**kwargs, "brief": ""}).replace("Brief: \n", "")

    monkeypatch.setattr(content_prompts, "draft_prompt", without_brief)
    broken = await _run(env, chosen)

    assert broken.errors == 0
    failed = _failed(broken, baseline)
    # The quality gate rejects the model's off-brief drafts, so the posts keep their facts;
    # the gate of the eval sees the model's first drafts no longer kept.
    assert "content_creator.first_draft" in failed, failed
