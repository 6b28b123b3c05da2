"""Evaluation (稽查评价): KPIs per person, team (station) and unit (district) for a period, and their exports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TypeVar

from openpyxl import Workbook  # type: ignore[import-untyped]

from engine.domain import kpi
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.kpi import (
    COUNT_FIELDS,
    LEVELS,
    RATE_FIELDS,
    FrozenState,
    KpiCounts,
    KpiRow,
    Period,
    TrendPoint,
)
from engine.domain.views import Actor
from engine.persistence import kpi_queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork

_T = TypeVar("_T")

EVALUATION_ROLES = frozenset({"admin", "supervisor"})
COLUMNS = ("key", "label", *COUNT_FIELDS, *RATE_FIELDS)
PERCENT = "0.00%"
NO_VALUE = "—"
# Snapshots and corrections cover the whole organisation; each reader then sees the subjects of their units.
WHOLE_ORGANISATION = Actor("kpi-snapshot", frozenset({"admin"}))
KPI_FIGURES = (*COUNT_FIELDS, *RATE_FIELDS)
ABSENT_ROW = {**{name: 0.0 for name in COUNT_FIELDS}, **{name: None for name in RATE_FIELDS}}


@dataclass(frozen=True)
class KpiReport:
    """The rows of one level and period: live, or for a frozen month its snapshot and the corrections since."""

    period: str
    level: str
    rows: list[KpiRow]
    frozen: FrozenState | None


def kpis(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> list[KpiRow]:
    """One row per person, team or unit in the actor's units, with the counts and rates of `period`."""
    parsed = checked_period(actor, period, level)
    with uow as repos:
        return kpi_rows(repos, actor, parsed, level)


def kpi_report(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> KpiReport:
    """The rows of `period` as shown and exported: a frozen month's snapshot (with the corrections found since,
    never silently changed figures), otherwise the live rows."""
    parsed = checked_period(actor, period, level)
    with uow as repos:
        return report_rows(repos, actor, parsed, level)


def report_rows(repos: Repositories, actor: Actor, period: Period, level: str) -> KpiReport:
    """kpi_report inside the caller's transaction."""
    snapshot = kpi_queries.kpi_snapshot(repos.session, period.name) if kpi.is_month(period.name) else None
    if snapshot is None:
        return KpiReport(period.name, level, kpi_rows(repos, actor, period, level), None)
    frozen = visible_subjects(
        repos, actor, level, kpi_queries.snapshot_figures(repos.session, period=period.name, level=level)
    )
    live_rows = kpi_rows(repos, WHOLE_ORGANISATION, period, level)
    live = visible_subjects(repos, actor, level, {r.key: (r.label, kpi.row_figures(r)) for r in live_rows})
    rows = [kpi.frozen_row(key, label, figures) for key, (label, figures) in sorted(frozen.items())]
    state = FrozenState(
        period.name,
        snapshot.frozen_at,
        snapshot.frozen_by,
        kpi.corrections(frozen, live, KPI_FIGURES, absent=ABSENT_ROW),
    )
    return KpiReport(period.name, level, rows, state)


def visible_subjects(repos: Repositories, actor: Actor, level: str, subjects: dict[str, _T]) -> dict[str, _T]:
    """The subjects of `level` the actor may read: stations/districts in their units, people of their units."""
    scope = actor.units
    if scope is None:
        return subjects
    if level == "person":
        units = kpi_queries.user_units(repos.session, list(subjects))
        return {key: value for key, value in subjects.items() if units.get(key) in scope}
    return {key: value for key, value in subjects.items() if key in scope}


def trends(
    uow: UnitOfWork, *, actor: Actor, level: str, first: str, last: str, subject: str | None = None
) -> list[TrendPoint]:
    """Month by month from `first` to `last`: the rates of one person/team/unit (`subject`), or of all the level's
    rows in the actor's units summed; a frozen month reads its snapshot, any other month is computed live."""
    if not actor.roles & EVALUATION_ROLES:
        raise PermissionDeniedError("the evaluation is for supervisors and admins")
    if level not in LEVELS:
        raise ValidationError({"level": [f"one of {', '.join(LEVELS)}"]})
    try:
        months = kpi.months_between(first, last)
    except ValueError as err:
        raise ValidationError({"from": [str(err)]}) from err
    with uow as repos:
        frozen = {s.period for s in kpi_queries.kpi_snapshots(repos.session)}
        series = kpi_queries.snapshot_series(
            repos.session, level=level, periods=[p for p in months if p in frozen], figures=list(COUNT_FIELDS)
        )
        points = []
        seen_subject = False
        for month in months:
            if month in frozen:
                by_key = visible_subjects(repos, actor, level, series.get(month, {}))
                counts = {key: kpi.frozen_row(key, key, figures).counts for key, figures in by_key.items()}
            else:
                rows = kpi_rows(repos, actor, kpi.parse_period(month), level)
                counts = {r.key: r.counts for r in rows}
            if subject is not None:
                seen_subject = seen_subject or subject in counts
                counts = {subject: counts[subject]} if subject in counts else {}
            total = sum(counts.values(), KpiCounts())
            row = kpi.kpi_row(subject or level, subject or level, total)
            points.append(
                TrendPoint(
                    month,
                    month in frozen,
                    total,
                    row.step_completion_rate,
                    row.on_time_archive_rate,
                    row.completion_rate,
                    row.overdue_rate,
                )
            )
        if subject is not None and not seen_subject and level != "person":
            raise ValidationError({"subject": [f"no {level} {subject!r} among yours"]})
        return points


def kpis_csv(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> str:
    """The rows of one level as CSV: a header, exact numbers, rates as fractions, an empty field for no rate
    (a frozen month's snapshot, as the page shows it)."""
    rows = kpi_report(uow, actor=actor, period=period, level=level).rows
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in _values(row)])
    return out.getvalue()


def kpis_xlsx(uow: UnitOfWork, *, actor: Actor, period: str) -> bytes:
    """A workbook with one sheet per level (person, team, unit): a header, counts, rates as percentages (a frozen
    month's snapshot, as the page shows it)."""
    parsed = checked_period(actor, period, LEVELS[0])
    with uow as repos:
        by_level = {level: report_rows(repos, actor, parsed, level).rows for level in LEVELS}
    book = Workbook()
    book.remove(book.active)
    for level, rows in by_level.items():
        sheet = book.create_sheet(level)
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append([NO_VALUE if value is None else value for value in _values(row)])
            for column, name in enumerate(COLUMNS, start=1):
                cell = sheet.cell(row=sheet.max_row, column=column)
                if name in RATE_FIELDS and not isinstance(cell.value, str):
                    cell.number_format = PERCENT
        sheet.freeze_panes = "C2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def checked_period(actor: Actor, period: str, level: str) -> Period:
    """The period parsed, after checking the actor may evaluate and the level exists (shared with scoring)."""
    if not actor.roles & EVALUATION_ROLES:
        raise PermissionDeniedError("the evaluation is for supervisors and admins")
    if level not in LEVELS:
        raise ValidationError({"level": [f"one of {', '.join(LEVELS)}"]})
    try:
        return kpi.parse_period(period)
    except ValueError as err:
        raise ValidationError({"period": [str(err)]}) from err


def kpi_rows(repos: Repositories, actor: Actor, period: Period, level: str) -> list[KpiRow]:
    """The rows of one level inside the caller's transaction (shared with scoring)."""
    session = repos.session
    scope = actor.units
    by = "person" if level == "person" else "unit"
    counts = kpi_queries.kpi_counts(session, by=by, start=period.start, end=period.end, units=scope)
    if level == "person":
        names = kpi_queries.display_names(session, list(counts))
        return [kpi.kpi_row(key, names.get(key, key), counts[key]) for key in sorted(counts)]
    # Roll each unit's counts (a few hundred rows at most) up to its station or district.
    tree = kpi_queries.unit_tree(session)
    parents = {code: parent for code, _name, _level, parent in tree}
    levels = {code: unit_level for code, _name, unit_level, _parent in tree}
    target = kpi.UNIT_LEVEL_OF[level]
    rolled = {
        code: KpiCounts()
        for code, _name, unit_level, _parent in tree
        if unit_level == target and (scope is None or code in scope)
    }
    for code, values in counts.items():
        top = kpi.ancestor_at(code, parents=parents, levels=levels, level=target)
        if top in rolled:
            rolled[top] = rolled[top] + values
    names = {code: name for code, name, _level, _parent in tree}
    return [kpi.kpi_row(code, names[code], rolled[code]) for code in sorted(rolled)]


def _values(row: KpiRow) -> list[str | int | float | None]:
    return [
        row.key,
        row.label,
        *(getattr(row.counts, name) for name in COUNT_FIELDS),
        *(getattr(row, name) for name in RATE_FIELDS),
    ]


def row_json(row: KpiRow) -> dict[str, str | int | float | None]:
    """A row as flat JSON: key, label, every count and every rate (null where there is no rate)."""
    return dict(zip(COLUMNS, _values(row), strict=True))
