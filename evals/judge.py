"""LLM-as-judge: a suite's ``JUDGED`` criteria (tone, brand-voice fit, helpfulness) graded 0..1
with a comment, by openevals' judge on a chat model from ``ChatModels`` (``--judge
provider:model``).

Without a judge the runner reports those metrics as skipped rather than leaving them out, so a
reader can tell "not measured" from "not defined". A judge call that fails grades that one
criterion ``None`` with the error as its comment; it never fails the case, since the agent's
answer is not at fault.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from openevals.llm import create_async_llm_as_judge

from chorus.chat_models import ModelNotConfigured
from evals.cases import Case
from evals.suite import JudgeCriterion

_PROMPT = """You are grading one answer of an AI social-media assistant for a brand.

Criterion: {criterion}

<request>
{{inputs}}
</request>

<answer>
{{outputs}}
</answer>

Grade only the criterion above, from 0.0 (not met at all) to 1.0 (fully met), and explain
the grade in one or two sentences."""


_PROBE_SCHEMA: dict[str, Any] = {
    "title": "score",
    "description": "probe",
    "type": "object",
    "properties": {"score": {"type": "number"}},
    "required": ["score"],
}


@dataclass(frozen=True)
class Grade:
    score: float | None
    comment: str


def _escape(text: str) -> str:
    # The rubric lands inside a str.format template (openevals fills {inputs} and {outputs}).
    return text.replace("{", "{{").replace("}", "}}")


def _clamp(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return min(1.0, max(0.0, float(value)))
    return None


class Judge:
    """Grades answers with one chat model; ``spec`` is what the report names as the judge."""

    def __init__(self, spec: str, model: BaseChatModel, *, concurrency: int = 4) -> None:
        self.spec = spec
        self._model = model
        # Judge calls of concurrent cases share a limit, so a paid judge is not flooded.
        self._semaphore = asyncio.Semaphore(concurrency)

    async def grade(
        self, criteria: Sequence[JudgeCriterion], case: Case, output: dict[str, Any]
    ) -> dict[str, Grade]:
        grades = await asyncio.gather(*(self._grade_one(c, case, output) for c in criteria))
        return {c.metric: g for c, g in zip(criteria, grades, strict=True)}

    async def _grade_one(
        self, criterion: JudgeCriterion, case: Case, output: dict[str, Any]
    ) -> Grade:
        evaluator = create_async_llm_as_judge(
            prompt=_PROMPT.format(criterion=_escape(criterion.rubric)),
            judge=self._model,
            feedback_key=criterion.metric,
            continuous=True,
        )
        try:
            answer = criterion.answer(output)
            async with self._semaphore:
                result = await evaluator(
                    inputs=json.dumps(case.inputs, ensure_ascii=False, default=str),
                    outputs=answer,
                )
        except Exception as exc:
            return Grade(None, f"judge error: {type(exc).__name__}: {exc}")
        if isinstance(result, list):  # openevals returns a list for multi-key schemas
            result = result[0]
        score = _clamp(result.get("score"))
        comment = str(result.get("comment") or "")
        if score is None:
            return Grade(None, f"judge gave no usable score: {result.get('score')!r}")
        return Grade(score, comment)


def build_judge(spec: str | None, chat_models: Any, *, concurrency: int = 4) -> Judge | None:
    """The judge for ``--judge spec`` (greedy, so a rerun grades alike), or ``None``.

    Raises ``ModelNotConfigured`` for an unknown provider or a missing key."""
    if not spec:
        return None
    model = chat_models.get(spec, temperature=0.0, max_tokens=600)
    try:
        # openevals asks the judge for structured output; a model without it (the local and
        # scripted ones) would fail every grade, so it is refused before the run.
        model.with_structured_output(_PROBE_SCHEMA)
    except NotImplementedError as exc:
        raise ModelNotConfigured(
            f"{spec} cannot be a judge: it has no structured output (use openai:<model> or "
            "anthropic:<model>)"
        ) from exc
    return Judge(spec, model, concurrency=concurrency)
