"""crisis_manager: risk levels against a social-media manager's labels, and the score's
monotonicity in negativity and reach.

Cases carry their mentions inline (``inputs.mentions``) and run on a fixture organization
whose analytics give the volume baseline. ``expect.risk_level`` is the label.

Monotonicity is a metamorphic check run inside the case (``data.metamorphic``), not as paired
cases: the variants (the same mentions plus ``add_negative`` complaints; every reach times
``reach_factor``) are the base made strictly worse, so their only expectation is "not a lower
score than the base", and they have no label of their own to count toward the level metrics.
As separate cases they would double-count their scenario in precision and recall, could land
in different splits from their base, and would need the aggregate to pair results by id.

The risk score and level are computed by code (sentiment lexicon, risk terms, reach); the
chat model only writes the holding statement. So the level and monotonicity metrics are the
same for every model; ``model_statement`` is the one that depends on it.
"""

from __future__ import annotations

from typing import Any

from agents.registry import AGENTS
from evals.cases import Case
from evals.env import EvalEnv
from evals.evaluators.crisis import (
    calm_kept_calm,
    level_exact,
    level_within_one,
    model_wrote_statement,
    monotone_share,
    severe_precision_recall,
    volume_flag_right,
)
from evals.suite import CaseResult, Metric, mean_scores

METRICS: dict[str, Metric] = {
    # A test split has ~17 cases, so one case is ~0.06: the tolerances allow one case
    # (within-one, the headline) or two (exact, a finer and noisier target) to move before
    # failing; less would fail on a single defensible relabel-worthy disagreement.
    "level_exact": Metric("Risk level equals the label", tolerance=0.12),
    "level_within_one": Metric("Risk level at most one step from the label", tolerance=0.07),
    # ~5 labelled severe cases per split: one miss moves recall by ~0.2. Gated at 0.2: a
    # second miss (or false alarm) fails the gate.
    "severe_precision": Metric(
        "Precision of 'high or worse' over the split (false alarms escalate people)",
        tolerance=0.2,
    ),
    "severe_recall": Metric(
        "Recall of 'high or worse' over the split (a missed crisis is the costly error)",
        tolerance=0.2,
    ),
    # Issue 18: a calm or positive batch rated medium sends a manager chasing nothing, and a
    # volume anomaly means more mentions than usual, not a spike in the brand's engagement.
    "calm_kept_calm": Metric(
        "Share of batches labelled none/low that the agent keeps at none/low", tolerance=0.0
    ),
    "volume_flag": Metric(
        "Share of cases stating it whose volume anomaly flag is right", tolerance=0.0
    ),
    # A property the scorer promises; one violation is a bug.
    "monotone": Metric(
        "Share of worsened variants (more negative mentions, more reach) scored no lower",
        tolerance=0.0,
    ),
    # The only model-dependent number here: how often the chat model's holding statement
    # passed the agent's checks instead of falling back to the template. Ungated: the
    # template is a safe answer, so a drop is a prompt-quality signal, not a failure.
    "model_statement": Metric(
        "Share of holding statements (medium and up) written by the model, not the template",
        gated=False,
    ),
}

AGENT = "crisis_manager"


def worse_variants(case: Case) -> list[tuple[str, dict[str, Any]]]:
    """(kind, inputs) of the variants ``data.metamorphic`` asks for, each the base made
    worse: complaints added, or every known reach multiplied."""
    spec = case.data.get("metamorphic") or {}
    mentions = case.inputs["mentions"]
    out: list[tuple[str, dict[str, Any]]] = []
    extra = spec.get("add_negative") or []
    if extra:
        added = [m if isinstance(m, dict) else {"text": m} for m in extra]
        out.append(("add_negative", {**case.inputs, "mentions": [*mentions, *added]}))
    factor = spec.get("reach_factor")
    if factor:
        louder = [
            {**m, "reach": round(m["reach"] * factor)} if m.get("reach") is not None else m
            for m in mentions
        ]
        out.append(("reach_x", {**case.inputs, "mentions": louder}))
    return out


async def run(case: Case, env: EvalEnv) -> dict[str, Any]:
    agent = AGENTS[AGENT]
    report = await agent.call(case.inputs, await env.context(case))
    variants = []
    for kind, inputs in worse_variants(case):
        worse = await agent.call(inputs, await env.context(case))
        a = worse.assessment  # type: ignore[attr-defined]
        variants.append({"kind": kind, "score": a.score, "riskLevel": a.risk_level})
    return {
        "report": report.model_dump(mode="json", by_alias=True),
        "variants": variants,
    }


def score(case: Case, output: dict[str, Any]) -> dict[str, float | None]:
    assessment = output["report"]["assessment"]
    predicted, label = assessment["riskLevel"], case.expect["risk_level"]
    return {
        "level_exact": level_exact(predicted, label),
        "level_within_one": level_within_one(predicted, label),
        "calm_kept_calm": calm_kept_calm(predicted, label),
        "volume_flag": volume_flag_right(
            assessment["volumeAnomaly"], case.expect.get("volume_anomaly")
        ),
        "monotone": monotone_share(
            assessment["score"], [v["score"] for v in output.get("variants", [])]
        ),
        "model_statement": model_wrote_statement(
            output["report"]["responsePlan"]["holdingStatement"], case.inputs["brand"]
        ),
        # split-level metrics: see aggregate
        "severe_precision": None,
        "severe_recall": None,
    }


def aggregate(results: list[CaseResult]) -> dict[str, float | None]:
    out = mean_scores(results)
    pairs = [
        (r.output["report"]["assessment"]["riskLevel"], r.case.expect["risk_level"])
        for r in results
        if r.ok and r.output is not None
    ]
    out["severe_precision"], out["severe_recall"] = severe_precision_recall(pairs)
    return out
