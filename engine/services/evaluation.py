"""Evaluation (稽查评价): KPIs per person, team (station) and unit (district) for a period, and their exports."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook  # type: ignore[import-untyped]

from engine.domain import kpi
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.kpi import COUNT_FIELDS, LEVELS, RATE_FIELDS, KpiCounts, KpiRow, Period
from engine.domain.views import Actor
from engine.persistence import kpi_queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork

EVALUATION_ROLES = frozenset({"admin", "supervisor"})
COLUMNS = ("key", "label", *COUNT_FIELDS, *RATE_FIELDS)
PERCENT = "0.00%"
NO_VALUE = "—"


def kpis(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> list[KpiRow]:
    """One row per person, team or unit in the actor's units, with the counts and rates of `period`."""
    parsed = checked_period(actor, period, level)
    with uow as repos:
        return kpi_rows(repos, actor, parsed, level)


def kpis_csv(uow: UnitOfWork, *, actor: Actor, period: str, level: str) -> str:
    """The rows of one level as CSV: a header, exact numbers, rates as fractions, an empty field for no rate."""
    rows = kpis(uow, actor=actor, period=period, level=level)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in _values(row)])
    return out.getvalue()


def kpis_xlsx(uow: UnitOfWork, *, actor: Actor, period: str) -> bytes:
    """A workbook with one sheet per level (person, team, unit): a header, counts, rates as percentages."""
    parsed = checked_period(actor, period, LEVELS[0])
    with uow as repos:
        by_level = {level: kpi_rows(repos, actor, parsed, level) for level in LEVELS}
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
