"""The crisis evaluators: levels on the ordered scale, precision and recall of "high or
worse", and the monotonicity share."""

from __future__ import annotations

import pytest

from agents.crisis_manager import template_statement
from evals.evaluators.crisis import (
    is_severe,
    level_exact,
    level_index,
    level_within_one,
    model_wrote_statement,
    monotone_share,
    severe_precision_recall,
)


def test_levels_are_ordered() -> None:
    assert [level_index(x) for x in ("none", "low", "medium", "high", "critical")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    with pytest.raises(ValueError, match="unknown risk level"):
        level_index("severe")


def test_exact_and_within_one() -> None:
    assert level_exact("high", "high") == 1.0
    assert level_exact("medium", "high") == 0.0
    assert level_within_one("medium", "high") == 1.0
    assert level_within_one("critical", "high") == 1.0
    assert level_within_one("low", "high") == 0.0
    assert level_within_one("none", "critical") == 0.0


def test_severe_is_high_or_worse() -> None:
    assert [is_severe(x) for x in ("none", "low", "medium", "high", "critical")] == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_precision_and_recall_of_severe() -> None:
    pairs = [
        ("high", "critical"),  # tp
        ("critical", "high"),  # tp: both severe, level mismatch does not matter here
        ("high", "medium"),  # fp
        ("medium", "high"),  # fn
        ("low", "low"),  # tn
    ]
    precision, recall = severe_precision_recall(pairs)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)
    assert severe_precision_recall([("high", "high")]) == (1.0, 1.0)
    assert severe_precision_recall([("low", "high")]) == (None, 0.0)
    assert severe_precision_recall([("high", "low")]) == (0.0, None)
    assert severe_precision_recall([("low", "none")]) == (None, None)


def test_monotone_share() -> None:
    assert monotone_share(0.3, [0.3, 0.5]) == 1.0
    assert monotone_share(0.3, [0.2, 0.5]) == 0.5
    assert monotone_share(0.3, [0.1, 0.29]) == 0.0
    assert monotone_share(0.3, []) is None


def test_model_wrote_statement_tells_the_template_apart() -> None:
    brand = "Lumen Coffee Roasters"
    for topic in ([], ["safety"]):
        assert model_wrote_statement(template_statement(brand, topic), brand) == 0.0
    own = f"{brand} is looking into the reports we have seen today and will update everyone soon."
    assert model_wrote_statement(own, brand) == 1.0
    assert model_wrote_statement(None, brand) is None
    assert model_wrote_statement("", brand) is None
