"""content_creator alone: a ContentRequest in, a Draft out, scored as the post it composes.

Hard cases (tags): briefs that invite an over-long post, banned terms in the brief, the
requested hashtags or the requested call to action, briefs in German, Spanish or mixed
language, revision feedback with the previous draft, placeholder-laden template briefs, and an
organization with no history (``empty``, ``content_bakery``).
"""

from __future__ import annotations

from typing import Any

from agents.registry import AGENTS
from evals.cases import Case
from evals.env import EvalEnv
from evals.evaluators.content import composed_post
from evals.suites._content import POST_METRICS, judged, score_post

METRICS = dict(POST_METRICS)


async def run(case: Case, env: EvalEnv) -> dict[str, Any]:
    ctx = await env.context(case, graph="content_creator")
    draft = await AGENTS["content_creator"].call(case.inputs, ctx)
    return draft.model_dump(mode="json", by_alias=True)


def score(case: Case, output: dict[str, Any]) -> dict[str, float | None]:
    return score_post(
        case,
        case.inputs,
        output["text"],
        output["hashtags"],
        output["platform"],
        output.get("title"),
        source=output.get("source"),
    )


def post_text(output: dict[str, Any]) -> str:
    """The post as published: the draft's text (call to action included) and hashtags."""
    return composed_post(output["text"], output["hashtags"], output["platform"])


JUDGED = judged(post_text)
