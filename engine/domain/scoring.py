"""Composite quality score (综合得分): indicator scores, the composite formula and dense ranking (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DIRECTIONS = ("higher", "lower")
ADJUSTMENT_KINDS = ("process_score", "business_score", "deduction", "bonus")
# Shares of the indicator score, the process indicator score and the business evaluation score.
WEIGHTS = (0.5, 0.1, 0.4)
SCALE = 100.0  # the indicator part, process and business scores are all out of 100


@dataclass(frozen=True)
class IndicatorDefault:
    key: str
    label: str
    base_value: float
    direction: str
    full_score: float = SCALE
    weight: float = 1.0


# Seeded when the indicator table is empty; keys are rate fields of engine.domain.kpi.KpiRow.
DEFAULT_INDICATORS = (
    IndicatorDefault("step_completion_rate", "环节完成率 Step completion rate", 0.98, "higher"),
    IndicatorDefault("on_time_archive_rate", "归档及时率 On-time archive rate", 0.90, "higher"),
    IndicatorDefault("completion_rate", "稽查问题完成率 Completion rate", 1.0, "higher"),
    IndicatorDefault(
        "rectification_completion_rate", "异常问题整改完成率 Rectification completion rate", 1.0, "higher"
    ),
    IndicatorDefault("overdue_rate", "稽查超期率 Overdue rate", 0.05, "lower"),
)


def indicator_score(rate: float | None, base: float, full: float, direction: str) -> float | None:
    """The score (0..full) of one rate against its base value; None when there is no rate.

    higher is better: full × min(1, rate / base) (full whenever base ≤ 0);
    lower is better: full when rate ≤ base, else full × max(0, 1 − (rate − base) / (1 − base)).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    if rate is None:
        return None
    if direction == "higher":
        if base <= 0:
            return full
        return full * max(0.0, min(1.0, rate / base))
    if rate <= base:
        return full
    if base >= 1:
        return 0.0
    return full * max(0.0, 1 - (rate - base) / (1 - base))


@dataclass(frozen=True)
class WeightedScore:
    """One enabled indicator's score (None: no rate), its full score and its weight."""

    score: float | None
    full: float
    weight: float


def indicator_part(scores: Sequence[WeightedScore]) -> float | None:
    """Weighted mean of the scores that exist, each normalised to 0..100; weights renormalise over those.

    None when no indicator has a score (or their weights sum to zero).
    """
    present = [s for s in scores if s.score is not None and s.full > 0 and s.weight > 0]
    total_weight = sum(s.weight for s in present)
    if not present or total_weight <= 0:
        return None
    return sum(s.weight * SCALE * (s.score or 0.0) / s.full for s in present) / total_weight


@dataclass(frozen=True)
class Composite:
    """The parts of a composite score as they were (None: missing, counted as 0) and the total."""

    indicator_score: float | None
    process_score: float | None
    business_score: float | None
    deductions: float
    bonus: float
    total: float


def composite(
    indicator_scores: Sequence[WeightedScore],
    process_score: float | None,
    business_score: float | None,
    deductions: float = 0.0,
    bonus: float = 0.0,
    weights: tuple[float, float, float] = WEIGHTS,
) -> Composite:
    """综合得分 = indicator × 50% + (process × 10% + business × 40%) − deductions + bonus; None parts count 0."""
    indicator = indicator_part(indicator_scores)
    w_indicator, w_process, w_business = weights
    total = (
        w_indicator * (indicator or 0.0)
        + (w_process * (process_score or 0.0) + w_business * (business_score or 0.0))
        - deductions
        + bonus
    )
    return Composite(indicator, process_score, business_score, deductions, bonus, total)


def dense_ranks(totals: Sequence[float], *, places: int = 6) -> list[int]:
    """Rank of each total, highest first; equal totals (to `places` decimals) share a rank, the next rank follows
    on (1, 2, 2, 3)."""
    rounded = [round(t, places) for t in totals]
    order = {value: rank for rank, value in enumerate(sorted(set(rounded), reverse=True), start=1)}
    return [order[value] for value in rounded]
