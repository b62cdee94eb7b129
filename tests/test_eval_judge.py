"""The LLM judge: openevals on a real OpenAI client against the fake API, skipped without one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eval_support import install_tiny_suite, tiny_cases, write_dataset
from fake_model_apis import serve
from support import make_settings

from chorus.chat_models import ChatModels, ModelNotConfigured
from evals.cases import Case, load_dataset
from evals.env import eval_env
from evals.judge import Judge, build_judge
from evals.runner import SKIPPED_NO_JUDGE, run_evals
from evals.suite import JudgeCriterion, load_suite

TONE = JudgeCriterion(
    metric="tone",
    rubric="Is the tone warm and {friendly}?",  # braces must survive the prompt template
    answer=lambda output: output["text"],
)
CASE = Case(id="c1", split="test", inputs={"brief": "Announce the Ethiopia cold brew"})


@pytest.fixture
def fake_openai() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with serve() as (base, requests):
        yield base, requests


def _judge(base: str, tmp_path: Path) -> Judge:
    settings = make_settings(
        tmp_path / "data", openai_api_key="sk-test", openai_base_url=f"{base}/v1"
    )
    judge = build_judge("openai:gpt-4o-mini", ChatModels(settings))
    assert judge is not None
    return judge


async def test_the_judge_grades_with_structured_output(
    fake_openai: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    base, requests = fake_openai
    judge = _judge(base, tmp_path)
    grades = await judge.grade([TONE], CASE, {"text": "Our cold brew is here, friends!"})

    assert grades["tone"].score == 0.75
    assert "Thus, the score should be: 0.75" in grades["tone"].comment
    (request,) = [r for r in requests if r["path"] == "chat"]
    assert request["model"] == "gpt-4o-mini"
    assert request["temperature"] == 0.0
    schema = request["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == {"reasoning", "score"}
    prompt = request["messages"][-1]["content"]
    assert "Is the tone warm and {friendly}?" in prompt
    assert "Our cold brew is here, friends!" in prompt
    assert "Announce the Ethiopia cold brew" in prompt


async def test_out_of_range_scores_are_clamped(tmp_path: Path) -> None:
    with serve(structured={"reasoning": "Great.", "score": 1.7}) as (base, _):
        grades = await _judge(base, tmp_path).grade([TONE], CASE, {"text": "hi"})
    assert grades["tone"].score == 1.0


async def test_a_judge_failure_grades_none_with_the_error(tmp_path: Path) -> None:
    with serve(structured={"unexpected": True}) as (base, _):
        grades = await _judge(base, tmp_path).grade([TONE], CASE, {"text": "hi"})
    assert grades["tone"].score is None
    assert grades["tone"].comment.startswith("judge error: KeyError")


def test_no_judge_spec_means_no_judge_and_a_bad_one_is_an_error(tmp_path: Path) -> None:
    models = ChatModels(make_settings(tmp_path / "data"))
    assert build_judge(None, models) is None
    with pytest.raises(ModelNotConfigured, match="OPENAI_API_KEY"):
        build_judge("openai:gpt-4o-mini", models)
    with pytest.raises(ModelNotConfigured, match="unknown model provider"):
        build_judge("nope:model", models)
    # openevals needs structured output, which the scripted (and local) model lacks.
    with pytest.raises(ModelNotConfigured, match="scripted cannot be a judge"):
        build_judge("scripted", models)


async def test_a_run_with_a_judge_reports_judged_metrics_and_comments(
    fake_openai: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, requests = fake_openai
    install_tiny_suite(monkeypatch)
    write_dataset(tmp_path / "datasets", tiny_cases(3))
    suite, dataset = load_suite("tiny"), load_dataset("tiny", tmp_path / "datasets")
    async with eval_env("scripted", settings=make_settings(tmp_path / "data")) as env:
        judged = await run_evals(
            env, [(suite, dataset)], split="test", judge=_judge(base, tmp_path)
        )
        unjudged = await run_evals(env, [(suite, dataset)], split="test")

    suite_run = judged.suites[0]
    assert judged.judge == "openai:gpt-4o-mini"
    assert suite_run.skipped == {}
    assert suite_run.metrics["helpfulness"] == 0.75
    for result in suite_run.results:
        assert result.scores["helpfulness"] == 0.75
        assert "Thus" in result.judge_comments["helpfulness"]
    judged_prompts = [r["messages"][-1]["content"] for r in requests if r["path"] == "chat"]
    assert len(judged_prompts) == 3
    # The judge read the scripted model's answers.
    assert any("Noted: Say word1" in p for p in judged_prompts)
    assert json.dumps(suite_run.metrics)  # plain numbers, serializable

    assert unjudged.suites[0].skipped == {"helpfulness": SKIPPED_NO_JUDGE}
    assert unjudged.suites[0].metrics["helpfulness"] is None
