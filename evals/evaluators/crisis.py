"""Evaluators of crisis risk assessments against labels, on the ordered scale
none < low < medium < high < critical (``agents.schemas.RISK_LEVELS``). Each function is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agents.crisis_manager import template_statement
from agents.schemas import RISK_LEVELS

SEVERE = "high"  # "high or worse" is what escalates to a person now


def level_index(level: str) -> int:
    """The level's position on the scale; a ValueError names an unknown level."""
    try:
        return RISK_LEVELS.index(level)
    except ValueError:
        raise ValueError(f"unknown risk level {level!r}; one of {', '.join(RISK_LEVELS)}") from None


def level_exact(predicted: str, label: str) -> float:
    return 1.0 if level_index(predicted) == level_index(label) else 0.0


def level_within_one(predicted: str, label: str) -> float:
    """1.0 if the levels are at most one step apart (medium for high is a near miss; low for
    high is not)."""
    return 1.0 if abs(level_index(predicted) - level_index(label)) <= 1 else 0.0


def is_severe(level: str) -> bool:
    return level_index(level) >= level_index(SEVERE)


def severe_precision_recall(
    pairs: Iterable[tuple[str, str]],
) -> tuple[float | None, float | None]:
    """Precision and recall of "high or worse" over (predicted, label) pairs. Precision is
    None when nothing was predicted severe, recall None when nothing is labelled severe
    (undefined, not perfect)."""
    tp = fp = fn = 0
    for predicted, label in pairs:
        p, t = is_severe(predicted), is_severe(label)
        tp += p and t
        fp += p and not t
        fn += t and not p
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall


CALM = ("none", "low")


def calm_kept_calm(predicted: str, label: str) -> float | None:
    """For a batch labelled none or low: 1.0 if the agent also says none or low (a false
    alarm pulls people off their work), else 0.0. None for batches labelled medium and up."""
    if label not in CALM:
        return None
    return 1.0 if level_index(predicted) <= level_index(CALM[-1]) else 0.0


def volume_flag_right(predicted: bool, expected: bool | None) -> float | None:
    """1.0 if the volume anomaly flag is what the case states (mention volume above the
    baseline, not an engagement spike); None when the case states nothing."""
    if expected is None:
        return None
    return 1.0 if bool(predicted) == bool(expected) else 0.0


def monotone_share(base: float, variants: Sequence[float], eps: float = 1e-9) -> float | None:
    """The share of variant scores that are not below the base score. Every variant is the
    base made worse (more negative mentions, more reach), so a lower score is a violation.
    None when there are no variants."""
    if not variants:
        return None
    return sum(1 for v in variants if v >= base - eps) / len(variants)


def model_wrote_statement(statement: str | None, brand: str) -> float | None:
    """1.0 if the holding statement is the chat model's own (it passed the agent's checks),
    0.0 if it is the agent's fallback template, None if there is no statement (below medium).
    The template is the same for every model, so this is the share of the statement work the
    model actually did."""
    if not statement:
        return None
    templates = {template_statement(brand, topic) for topic in ([], ["safety"])}
    return 0.0 if statement in templates else 1.0
