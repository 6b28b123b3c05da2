"""Composite quality score (综合得分): admin-set indicators, supervisors' adjustments, and scored, ranked rows."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from engine.domain import scoring
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.kpi import (
    LEVELS,
    RATE_FIELDS,
    UNIT_LEVEL_OF,
    FrozenState,
    Period,
    corrections,
    is_month,
    parse_period,
)
from engine.domain.views import Actor
from engine.persistence import kpi_queries
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import evaluation, history

ADJUSTMENT_ROLES = evaluation.EVALUATION_ROLES
MAX_REASON = 2000


@dataclass(frozen=True)
class ScoreRow:
    """One person, team or unit: the parts of its composite score (None: missing, counted as 0), total, rank."""

    key: str
    label: str
    indicators: dict[str, float | None]  # enabled indicator key -> its score (0..full_score), None: no rate
    indicator_score: float | None
    process_score: float | None
    business_score: float | None
    deductions: float
    bonus: float
    total: float
    rank: int


# -- indicators ----------------------------------------------------------------------------------------------


def list_indicators(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every indicator (the defaults while no admin has changed any), by key."""
    with uow as repos:
        return [_indicator_dict(r) for r in _indicators(repos, seed=False)]


def put_indicator(
    uow: UnitOfWork,
    *,
    key: str,
    base_value: float,
    full_score: float,
    direction: str,
    weight: float,
    is_enabled: bool,
    actor: Actor,
    now: dt.datetime,
    label: str | None = None,
) -> dict[str, Any]:
    """Admin: set how one rate is scored; scores computed from now on use it."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change KPI indicators")
    problems: dict[str, list[str]] = {}
    if key not in RATE_FIELDS:
        problems["key"] = [f"one of {', '.join(RATE_FIELDS)}"]
    if direction not in scoring.DIRECTIONS:
        problems["direction"] = [f"one of {', '.join(scoring.DIRECTIONS)}"]
    elif not _finite(base_value) or base_value < 0 or (direction == "higher" and base_value == 0):
        problems["base_value"] = ["a rate above 0 (e.g. 0.98) when higher is better"]
    elif direction == "lower" and not base_value < 1:
        problems["base_value"] = ["a rate from 0 to below 1 (e.g. 0.05) when lower is better"]
    if not _finite(full_score) or full_score <= 0:
        problems["full_score"] = ["a positive number, e.g. 100"]
    if not _finite(weight) or weight < 0:
        problems["weight"] = ["a number ≥ 0 (weights are relative)"]
    if label is not None and not 0 < len(label.strip()) <= 200:
        problems["label"] = ["1 to 200 characters"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        row = next((r for r in _indicators(repos, seed=True) if r.key == key), None)
        before = _indicator_dict(row) if row else None
        if row is None:
            row = m.KpiIndicator(key=key, label=key)
            repos.add(row)
        if label is not None:
            row.label = label.strip()
        row.base_value, row.full_score, row.direction = float(base_value), float(full_score), direction
        row.weight, row.is_enabled = float(weight), is_enabled
        row.updated_by, row.updated_at = actor.username, now
        repos.flush()
        after = _indicator_dict(row)
        history.record(
            repos,
            kind="kpi_indicator_set",
            at=now,
            actor=actor.username,
            message=key,
            data={"before": before, "after": after},
        )
        return after


def _indicators(repos: Repositories, *, seed: bool) -> list[m.KpiIndicator]:
    rows = kpi_queries.kpi_indicators(repos.session)
    if rows:
        return rows
    defaults = [
        m.KpiIndicator(
            key=d.key,
            label=d.label,
            base_value=d.base_value,
            full_score=d.full_score,
            direction=d.direction,
            weight=d.weight,
            is_enabled=True,
            updated_by=None,
            updated_at=None,
        )
        for d in scoring.DEFAULT_INDICATORS
    ]
    if seed:
        for row in defaults:
            repos.add(row)
        repos.flush()
    return sorted(defaults, key=lambda r: r.key)


def _indicator_dict(row: m.KpiIndicator) -> dict[str, Any]:
    return {
        "key": row.key,
        "label": row.label,
        "base_value": row.base_value,
        "full_score": row.full_score,
        "direction": row.direction,
        "weight": row.weight,
        "is_enabled": row.is_enabled,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


# -- adjustments ---------------------------------------------------------------------------------------------


def add_adjustment(
    uow: UnitOfWork,
    *,
    period: str,
    level: str,
    subject_key: str,
    kind: str,
    value: float,
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> dict[str, Any]:
    """Supervisors and admins: give a process or business score (0–100; the latest counts), a deduction or a
    bonus (≥ 0; they add up) to one person, team or unit for a period, with a reason."""
    if not actor.roles & ADJUSTMENT_ROLES:
        raise PermissionDeniedError("only supervisors and admins may adjust scores")
    problems: dict[str, list[str]] = {}
    try:
        period = parse_period(period).name
    except ValueError as err:
        problems["period"] = [str(err)]
    if level not in LEVELS:
        problems["level"] = [f"one of {', '.join(LEVELS)}"]
    if kind not in scoring.ADJUSTMENT_KINDS:
        problems["kind"] = [f"one of {', '.join(scoring.ADJUSTMENT_KINDS)}"]
    elif kind.endswith("_score") and not (_finite(value) and 0 <= value <= scoring.SCALE):
        problems["value"] = ["a score from 0 to 100"]
    elif not kind.endswith("_score") and not (_finite(value) and value >= 0):
        problems["value"] = ["a number ≥ 0 (points taken off for a deduction, added for a bonus)"]
    reason = (reason or "").strip()
    if not reason:
        problems["reason"] = ["say why"]
    elif len(reason) > MAX_REASON:
        problems["reason"] = [f"at most {MAX_REASON} characters"]
    if not subject_key:
        problems["subject_key"] = ["a username (person) or unit code (team, unit)"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        _check_subject(repos, actor, level, subject_key)
        row = m.KpiAdjustment(
            period=period,
            level=level,
            subject_key=subject_key,
            kind=kind,
            value=float(value),
            reason=reason,
            created_by=actor.username,
            created_at=now,
        )
        repos.add(row)
        repos.flush()
        doc = _adjustment_dict(row)
        history.record(
            repos,
            kind="kpi_adjustment_added",
            at=now,
            actor=actor.username,
            message=f"{period}/{level}/{subject_key}: {kind} {value:g}",
            data={"before": None, "after": doc},
        )
        return doc


def _check_subject(repos: Repositories, actor: Actor, level: str, key: str) -> None:
    scope = actor.units
    if level == "person":
        user = repos.user_by_name(key)
        if user is None:
            raise ValidationError({"subject_key": [f"no such person {key!r}"]})
        unit_code = user.unit_code
    else:
        unit = repos.unit(key)
        if unit is None or unit.level != UNIT_LEVEL_OF[level]:
            raise ValidationError({"subject_key": [f"a {UNIT_LEVEL_OF[level]} unit code for level {level}"]})
        unit_code = unit.code
    if scope is not None and unit_code not in scope:
        raise PermissionDeniedError("you may adjust the scores of your own units only")


def _adjustment_dict(row: m.KpiAdjustment) -> dict[str, Any]:
    return {
        "id": row.id,
        "period": row.period,
        "level": row.level,
        "subject_key": row.subject_key,
        "kind": row.kind,
        "value": row.value,
        "reason": row.reason,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


# -- scores --------------------------------------------------------------------------------------------------


def scores(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> list[ScoreRow]:
    """The KPI rows of evaluation.kpis scored with the enabled indicators and the period's adjustments, ranked
    (dense: equal totals share a rank), best first."""
    parsed = evaluation.checked_period(actor, period, level)
    with uow as repos:
        return score_rows(repos, actor, parsed, level)


SCORE_PARTS = ("indicator_score", "process_score", "business_score", "deductions", "bonus", "total", "rank")
INDICATOR_PREFIX = "indicator:"


@dataclass(frozen=True)
class ScoreReport:
    """The scored rows of one level and period: live, or for a frozen month its snapshot and the corrections."""

    period: str
    level: str
    rows: list[ScoreRow]
    frozen: FrozenState | None


def score_report(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> ScoreReport:
    """The scores as shown: a frozen month's snapshot with the corrections since, otherwise live (as scores)."""
    parsed = evaluation.checked_period(actor, period, level)
    with uow as repos:
        snapshot = kpi_queries.kpi_snapshot(repos.session, parsed.name) if is_month(parsed.name) else None
        if snapshot is None:
            return ScoreReport(parsed.name, level, score_rows(repos, actor, parsed, level), None)
        every = kpi_queries.snapshot_figures(repos.session, period=parsed.name, level=level)
        frozen = evaluation.visible_subjects(repos, actor, level, every)
        live_rows = score_rows(repos, evaluation.WHOLE_ORGANISATION, parsed, level)
        live = evaluation.visible_subjects(repos, actor, level, {r.key: (r.label, score_figures(r)) for r in live_rows})
        names = sorted(
            {
                n
                for _label, figures in [*frozen.values(), *live.values()]
                for n in figures
                if n in SCORE_PARTS or n.startswith(INDICATOR_PREFIX)
            }
        )
        state = FrozenState(
            parsed.name, snapshot.frozen_at, snapshot.frozen_by, corrections(frozen, live, tuple(names))
        )
        rows = [_frozen_score(key, label, figures) for key, (label, figures) in frozen.items()]
        return ScoreReport(parsed.name, level, sorted(rows, key=lambda r: (r.rank, r.key)), state)


def score_figures(row: ScoreRow) -> dict[str, float | None]:
    """Every part of a score row by name (what a snapshot stores), indicators as `indicator:<rate>`."""
    return {
        "indicator_score": row.indicator_score,
        "process_score": row.process_score,
        "business_score": row.business_score,
        "deductions": row.deductions,
        "bonus": row.bonus,
        "total": row.total,
        "rank": float(row.rank),
        **{INDICATOR_PREFIX + key: value for key, value in row.indicators.items()},
    }


def _frozen_score(key: str, label: str, figures: dict[str, float | None]) -> ScoreRow:
    return ScoreRow(
        key=key,
        label=label,
        indicators={
            name.removeprefix(INDICATOR_PREFIX): value
            for name, value in figures.items()
            if name.startswith(INDICATOR_PREFIX)
        },
        indicator_score=figures.get("indicator_score"),
        process_score=figures.get("process_score"),
        business_score=figures.get("business_score"),
        deductions=figures.get("deductions") or 0.0,
        bonus=figures.get("bonus") or 0.0,
        total=figures.get("total") or 0.0,
        rank=int(figures.get("rank") or 0),
    )


def score_rows(repos: Repositories, actor: Actor, parsed: Period, level: str) -> list[ScoreRow]:
    """The scored, ranked rows of one level inside the caller's transaction (shared with the snapshots)."""
    rows = evaluation.kpi_rows(repos, actor, parsed, level)
    indicators = [_indicator_dict(r) for r in _indicators(repos, seed=False) if r.is_enabled]
    adjustments = [
        (a.subject_key, a.kind, a.value)
        for a in kpi_queries.kpi_adjustments(repos.session, period=parsed.name, level=level)
    ]
    by_subject: dict[str, list[tuple[str, float]]] = {}
    for subject, kind, value in adjustments:
        by_subject.setdefault(subject, []).append((kind, value))
    parts = []
    for row in rows:
        per_indicator = {
            i["key"]: scoring.indicator_score(getattr(row, i["key"]), i["base_value"], i["full_score"], i["direction"])
            for i in indicators
        }
        weighted = [scoring.WeightedScore(per_indicator[i["key"]], i["full_score"], i["weight"]) for i in indicators]
        given = by_subject.get(row.key, [])
        result = scoring.composite(
            weighted,
            _latest(given, "process_score"),
            _latest(given, "business_score"),
            sum(value for kind, value in given if kind == "deduction"),
            sum(value for kind, value in given if kind == "bonus"),
        )
        parts.append((row, per_indicator, result))
    ranks = scoring.dense_ranks([result.total for _row, _scores, result in parts])
    out = [
        ScoreRow(
            key=row.key,
            label=row.label,
            indicators=per_indicator,
            indicator_score=result.indicator_score,
            process_score=result.process_score,
            business_score=result.business_score,
            deductions=result.deductions,
            bonus=result.bonus,
            total=result.total,
            rank=rank,
        )
        for (row, per_indicator, result), rank in zip(parts, ranks, strict=True)
    ]
    return sorted(out, key=lambda r: (r.rank, r.key))


def _latest(adjustments: list[tuple[str, float]], kind: str) -> float | None:
    values = [value for given, value in adjustments if given == kind]
    return values[-1] if values else None


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def score_json(row: ScoreRow) -> dict[str, Any]:
    """A score row as JSON (null where a part is missing)."""
    return {
        "key": row.key,
        "label": row.label,
        "indicators": dict(row.indicators),
        "indicator_score": row.indicator_score,
        "process_score": row.process_score,
        "business_score": row.business_score,
        "deductions": row.deductions,
        "bonus": row.bonus,
        "total": row.total,
        "rank": row.rank,
    }
