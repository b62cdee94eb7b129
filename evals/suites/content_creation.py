"""content_creation end to end: trends -> draft -> optimize -> schedule -> approval -> store.

A case's ``inputs`` are the graph's input (``input``, as on the wire) and the reviewer's
answers to its approval interrupts in order (``resume``, e.g. a revision with feedback, then
an approval). The run must pause at an approval before every answer. What is scored:

- ``outcome``: what the last decision did: one post stored with the approved text, scheduled
  at the first proposed slot, the run's status as the case expects; or, on reject, nothing
  stored;
- the post a reviewer approved (the stored post; on reject, the last draft shown), scored
  like the content_creator suite's drafts, with the case's facts including any the feedback
  asked for.
"""

from __future__ import annotations

from typing import Any

from evals.cases import Case
from evals.env import EvalEnv
from evals.evaluators.content import approval_outcome, composed_post
from evals.suite import Metric
from evals.suites._content import POST_METRICS, judged, score_post
from memory.kinds import MemoryKind
from persistence.models import Post
from persistence.repository import TenantRepository
from runs.output import to_json

METRICS: dict[str, Metric] = {
    # Storing, scheduling and statuses are code: a single wrong case (0.067 of 15) must fail.
    "outcome": Metric(
        "share of the checks the last decision calls for that hold (stored once with the "
        "approved text, scheduled at the first slot, status as expected; nothing on reject)",
        tolerance=0.05,
    ),
    **POST_METRICS,
}

# An approved run stores a post, schedules it and adds it to the content memory (removed again
# after the case); other cases must not see it in passing, so this suite runs alone.
WRITES_FIXTURES = True


async def run(case: Case, env: EvalEnv) -> dict[str, Any]:
    ctx = await env.context(case, graph="content_creation")
    state = await env.engine.run(ctx, input=case.inputs["input"])
    approvals: list[dict[str, Any]] = []
    for decision in case.inputs["resume"]:
        if not state.interrupted:
            raise RuntimeError(f"no approval was pending for the answer {decision}")
        approvals.append(to_json(state.interrupts[0]))
        state = await env.engine.run(ctx, resume=decision)
    org = await env.org(case)
    repository = TenantRepository(env.runtime.db, Post)
    posts = await repository.find(org.org_id, {"aiGeneration.threadId": ctx.thread_key})
    values = to_json(state.values)
    output = {
        "platform": case.inputs["input"]["platform"],
        "approvals": approvals,
        "status": values.get("status"),
        "postId": values.get("postId"),
        "next": list(state.next),
        "draftTitle": (values.get("draft") or {}).get("title"),
        "stored": [
            {
                "text": p.content.text,
                "hashtags": list(p.content.hashtags),
                "title": p.content.title,
                "status": p.scheduling.status,
                "scheduledAt": p.scheduling.scheduled_at.isoformat()
                if p.scheduling.scheduled_at
                else None,
            }
            for p in posts
        ],
    }
    # Each case leaves the fixture organization as it found it: a stored post would otherwise
    # become a "past post" in later cases' prompts and an existing post the scheduler keeps
    # its distance from, so results would depend on the order the cases ran in.
    for post in posts:
        await repository.delete(org.org_id, post.id)
        await env.runtime.memory.delete(org.org_id, MemoryKind.CONTENT_HISTORY, str(post.id))
    return output


def reviewed_post(output: dict[str, Any]) -> dict[str, Any]:
    """The post the last decision was about: the stored one, or the last draft shown."""
    if output["stored"]:
        return output["stored"][0]
    shown = output["approvals"][-1]["draft"]
    return {"text": shown["text"], "hashtags": shown["hashtags"], "title": output["draftTitle"]}


def score(case: Case, output: dict[str, Any]) -> dict[str, float | None]:
    platform = case.inputs["input"]["platform"]
    last = output["approvals"][-1]
    slots = last.get("slots") or []
    outcome = approval_outcome(
        case.inputs["resume"][-1]["action"],
        case.expect["status"],
        output["status"],
        output["stored"],
        last["draft"]["text"],
        slots[0]["at"] if slots else None,
    )
    post = reviewed_post(output)
    # A revision is judged against the feedback that asked for it and the draft it replaced.
    request, previous = dict(case.inputs["input"]), None
    for i, decision in enumerate(case.inputs["resume"][:-1]):
        if decision.get("action") == "revise":
            request["feedback"] = decision.get("feedback")
            previous = output["approvals"][i]["draft"]["text"]
    # The stored post is scored with its own title (YouTube needs one to publish).
    scores = score_post(
        case,
        request,
        post["text"],
        post["hashtags"],
        platform,
        post.get("title"),
        previous=previous,
        source=last.get("draftSource"),
    )
    return {"outcome": outcome, **scores}


def post_text(output: dict[str, Any]) -> str:
    post = reviewed_post(output)
    return composed_post(post["text"], post["hashtags"], output["platform"])


JUDGED = judged(post_text)
