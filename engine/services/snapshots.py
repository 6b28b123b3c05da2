"""Month-end snapshots of the evaluation: freezing a month's rates and scores so later changes show as corrections."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.domain import kpi
from engine.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from engine.domain.kpi import LEVELS
from engine.domain.views import Actor
from engine.persistence import kpi_queries
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import evaluation, history, scoring

SCHEDULER = Actor("scheduler", frozenset({"admin"}))


@dataclass(frozen=True)
class SnapshotView:
    """A frozen month: when, by whom, and how many figures it holds."""

    period: str
    frozen_at: dt.datetime
    frozen_by: str
    figures: int


def freeze_month(uow: UnitOfWork, *, period: str, actor: Actor, now: dt.datetime) -> SnapshotView:
    """Admins (and the month-end job): freeze an ended month's counts, rates and scores for every person, team
    and unit of the organisation. A month is frozen once: again is a ConflictError."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins freeze a month's evaluation")
    if not kpi.is_month(period or ""):
        raise ValidationError({"period": ["a month, e.g. 2026-11 (only months are frozen)"]})
    try:
        parsed = kpi.parse_period(period)
    except ValueError as err:
        raise ValidationError({"period": [str(err)]}) from err
    if now < parsed.end:
        raise ValidationError(
            {"period": [f"{period} has not ended yet; it can be frozen from {parsed.end:%Y-%m-%d %H:%M} UTC"]}
        )
    with uow as repos:
        frozen = _freeze(repos, parsed, actor, now, is_missing_only=False)
        assert frozen is not None  # _freeze raises rather than return None when is_missing_only is False
        return frozen


def freeze_previous_month(uow: UnitOfWork, *, now: dt.datetime) -> SnapshotView | None:
    """The month-end job: freeze the month before `now` (local time) unless it already is; None when it was."""
    parsed = kpi.parse_period(kpi.previous_month(now))
    with uow as repos:
        return _freeze(repos, parsed, SCHEDULER, now, is_missing_only=True)


def _freeze(
    repos: Repositories, parsed: kpi.Period, actor: Actor, now: dt.datetime, *, is_missing_only: bool
) -> SnapshotView | None:
    period = parsed.name
    if not repos.try_global_lock("kpi-snapshot"):
        if is_missing_only:
            return None
        raise ConflictError(f"{period} is being frozen right now")
    existing = kpi_queries.kpi_snapshot(repos.session, period)
    if existing is not None:
        if is_missing_only:
            return None
        raise ConflictError(f"{period} was frozen at {existing.frozen_at.isoformat()} by {existing.frozen_by}")
    repos.add(m.KpiSnapshot(period=period, frozen_at=now, frozen_by=actor.username))
    repos.flush()
    count = 0
    whole = evaluation.WHOLE_ORGANISATION
    for level in LEVELS:
        subjects: dict[str, tuple[str, dict[str, float | None]]] = {
            row.key: (row.label, kpi.row_figures(row)) for row in evaluation.kpi_rows(repos, whole, parsed, level)
        }
        for score in scoring.score_rows(repos, whole, parsed, level):
            subjects.setdefault(score.key, (score.label, {}))[1].update(scoring.score_figures(score))
        for key, (label, figures) in subjects.items():
            for figure, value in figures.items():
                repos.add(
                    m.KpiSnapshotFigure(
                        period=period, level=level, subject_key=key, label=label, figure=figure, value=value
                    )
                )
                count += 1
    history.record(
        repos,
        kind="kpi_snapshot_frozen",
        at=now,
        actor=actor.username,
        message=period,
        data={"period": period, "figures": count},
    )
    return SnapshotView(period, now, actor.username, count)


def list_snapshots(uow: UnitOfWork, *, actor: Actor) -> list[SnapshotView]:
    """The frozen months, latest first (supervisors and admins)."""
    if not actor.roles & evaluation.EVALUATION_ROLES:
        raise PermissionDeniedError("the evaluation is for supervisors and admins")
    with uow as repos:
        return [SnapshotView(s.period, s.frozen_at, s.frozen_by, 0) for s in kpi_queries.kpi_snapshots(repos.session)]
