"""Composite quality score formulas (engine.domain.scoring): indicator scores, the composite, dense ranks."""

from __future__ import annotations

import pytest

import webui.api.score_views  # noqa: F401 - registers the routes before any create_app (tests/unit/test_openapi.py)
from engine.domain import scoring
from engine.domain.kpi import RATE_FIELDS
from engine.domain.scoring import WeightedScore


@pytest.mark.parametrize(
    ("rate", "base", "expected"),
    [
        (0.98, 0.98, 100.0),
        (1.0, 0.98, 100.0),  # capped at the full score
        (0.49, 0.98, 50.0),
        (0.0, 0.9, 0.0),
        (1.5, 1.0, 100.0),  # completion rate above 100%
        (-0.5, 1.0, 0.0),  # a negative rate scores nothing
        (0.3, 0.0, 100.0),  # no base: any rate meets it
    ],
)
def test_higher_is_better(rate: float, base: float, expected: float) -> None:
    assert scoring.indicator_score(rate, base, 100, "higher") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rate", "base", "expected"),
    [
        (0.0, 0.05, 100.0),
        (0.05, 0.05, 100.0),
        (0.5, 0.05, 100 * (1 - 0.45 / 0.95)),
        (1.0, 0.05, 0.0),
        (0.5, 0.0, 50.0),
        (0.2, 1.0, 100.0),
    ],
)
def test_lower_is_better(rate: float, base: float, expected: float) -> None:
    assert scoring.indicator_score(rate, base, 100, "lower") == pytest.approx(expected)


def test_full_score_scales_and_none_has_no_score() -> None:
    assert scoring.indicator_score(0.49, 0.98, 20, "higher") == pytest.approx(10.0)
    assert scoring.indicator_score(None, 0.98, 100, "higher") is None
    assert scoring.indicator_score(None, 0.05, 100, "lower") is None
    with pytest.raises(ValueError, match="direction"):
        scoring.indicator_score(0.5, 0.5, 100, "sideways")


def test_composite_is_the_domain_formula() -> None:
    result = scoring.composite([WeightedScore(80, 100, 1)], 70, 90, deductions=5, bonus=2)
    assert result.indicator_score == 80
    assert result.total == pytest.approx(80 * 0.5 + (70 * 0.1 + 90 * 0.4) - 5 + 2)  # 80.0
    custom = scoring.composite([WeightedScore(80, 100, 1)], 70, 90, weights=(0.6, 0.2, 0.2))
    assert custom.total == pytest.approx(48 + 14 + 18)


def test_indicator_part_is_a_weighted_mean_normalised_to_100() -> None:
    scores = [WeightedScore(10, 20, 1), WeightedScore(100, 100, 3)]  # 50 and 100 out of 100
    assert scoring.indicator_part(scores) == pytest.approx((50 * 1 + 100 * 3) / 4)


def test_weights_renormalise_over_the_indicators_with_a_score() -> None:
    scores = [WeightedScore(60, 100, 2), WeightedScore(None, 100, 5), WeightedScore(90, 100, 1)]
    assert scoring.indicator_part(scores) == pytest.approx((60 * 2 + 90 * 1) / 3)
    assert scoring.indicator_part([WeightedScore(None, 100, 1)]) is None
    assert scoring.indicator_part([WeightedScore(50, 100, 0)]) is None
    assert scoring.indicator_part([]) is None


def test_missing_parts_count_as_zero_but_are_reported() -> None:
    result = scoring.composite([WeightedScore(None, 100, 1)], None, 50, bonus=1)
    assert (result.indicator_score, result.process_score, result.business_score) == (None, None, 50)
    assert result.total == pytest.approx(0.4 * 50 + 1)
    assert scoring.composite([], None, None).total == 0


def test_dense_ranks_share_ties_and_leave_no_gaps() -> None:
    assert scoring.dense_ranks([70.0, 90.0, 70.0, 10.0, 90.0]) == [2, 1, 2, 3, 1]
    assert scoring.dense_ranks([0.1 + 0.2, 0.3]) == [1, 1]  # float noise is not a difference
    assert scoring.dense_ranks([]) == []


def test_default_indicators_are_rates_of_the_evaluation() -> None:
    keys = [d.key for d in scoring.DEFAULT_INDICATORS]
    assert set(keys) <= set(RATE_FIELDS)
    assert {d.key: (d.base_value, d.direction) for d in scoring.DEFAULT_INDICATORS} == {
        "step_completion_rate": (0.98, "higher"),
        "on_time_archive_rate": (0.90, "higher"),
        "completion_rate": (1.0, "higher"),
        "rectification_completion_rate": (1.0, "higher"),
        "overdue_rate": (0.05, "lower"),
    }
    assert {(d.full_score, d.weight) for d in scoring.DEFAULT_INDICATORS} == {(100.0, 1.0)}
