"""The engagement evaluators: errors, rank correlation, interval coverage, platform rules."""

from __future__ import annotations

import pytest

from evals.evaluators.engagement import (
    absolute_error,
    in_interval,
    mean_absolute_error,
    meets_platform_rules,
    rank_correlation,
)


def test_absolute_error_is_symmetric_and_zero_when_exact() -> None:
    assert absolute_error(0.042, 0.042) == 0.0
    assert absolute_error(0.05, 0.03) == pytest.approx(0.02)
    assert absolute_error(0.03, 0.05) == pytest.approx(0.02)


def test_mean_absolute_error() -> None:
    assert mean_absolute_error([(0.01, 0.01), (0.02, 0.04), (0.05, 0.02)]) == pytest.approx(
        (0 + 0.02 + 0.03) / 3
    )
    assert mean_absolute_error([]) is None


def test_rank_correlation_perfect_reversed_and_partial() -> None:
    actual = [0.01, 0.02, 0.03, 0.04, 0.05]
    assert rank_correlation([0.1, 0.2, 0.3, 0.4, 0.5], actual) == pytest.approx(1.0)
    assert rank_correlation([0.5, 0.4, 0.3, 0.2, 0.1], actual) == pytest.approx(-1.0)
    # one neighbouring swap out of five: rho = 1 - 6 * 2 / (5 * 24) = 0.9
    assert rank_correlation([0.1, 0.3, 0.2, 0.4, 0.5], actual) == pytest.approx(0.9)


def test_rank_correlation_is_undefined_for_constant_or_tiny_inputs() -> None:
    assert rank_correlation([0.02, 0.02, 0.02], [0.01, 0.02, 0.03]) is None
    assert rank_correlation([0.01, 0.02], [0.01, 0.02]) is None
    with pytest.raises(ValueError, match="differ in length"):
        rank_correlation([0.01, 0.02, 0.03], [0.01, 0.02])


def test_in_interval_is_inclusive() -> None:
    assert in_interval(0.03, 0.02, 0.04) == 1.0
    assert in_interval(0.02, 0.02, 0.04) == 1.0
    assert in_interval(0.04, 0.02, 0.04) == 1.0
    assert in_interval(0.05, 0.02, 0.04) == 0.0
    assert in_interval(0.01, 0.02, 0.04) == 0.0
    with pytest.raises(ValueError, match="inverted"):
        in_interval(0.03, 0.04, 0.02)


def test_platform_rules_pass_a_valid_post() -> None:
    assert meets_platform_rules("Fresh beans are in. Come by!", ["#coffee"], "twitter") == 1.0


def test_platform_rules_fail_an_over_long_x_post() -> None:
    assert meets_platform_rules("word " * 80, [], "twitter") == 0.0
    # the same text is fine where the limit is 2,200
    assert meets_platform_rules("word " * 80, [], "instagram") == 1.0


def test_platform_rules_fail_a_banned_term() -> None:
    text = "Our cheap beans, roasted daily."
    assert meets_platform_rules(text, [], "instagram") == 1.0
    assert meets_platform_rules(text, [], "instagram", ["cheap"]) == 0.0
