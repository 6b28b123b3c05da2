"""Anomaly reports (三报): daily, weekly and monthly counts per topic and unit with their trend, and their exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

from openpyxl import Workbook  # type: ignore[import-untyped]

from engine.domain import anomaly_reports as rules
from engine.domain.anomaly_reports import MEASURES, AnomalyReport, ReportCounts, ReportRow
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.spreadsheet import safe_cell
from engine.domain.units import subtree
from engine.domain.views import Actor
from engine.persistence import anomaly_report_queries as report_queries
from engine.persistence import kpi_queries
from engine.persistence.unit_of_work import UnitOfWork

REPORT_ROLES = frozenset({"auditor", "supervisor", "admin"})
SHEETS = {"topic": "by topic", "unit": "by unit", "topic_unit": "by topic and unit"}
KEY_COLUMNS = {
    "topic": ("topic", "topic_name"),
    "unit": ("unit", "unit_name"),
    "topic_unit": ("topic", "topic_name", "unit", "unit_name"),
}
CSV_GROUPINGS = (*rules.GROUPINGS, "trend")


def anomaly_report(
    uow: UnitOfWork,
    *,
    actor: Actor,
    period: str,
    now: dt.datetime,
    date: dt.date | None = None,
    topic: str | None = None,
    unit: str | None = None,
    trend: int = rules.TREND_PERIODS,
) -> AnomalyReport:
    """The counts of the period holding `date` (today by default) and of the periods before it, per topic, per
    unit and per topic and unit, within the actor's units (and under `unit` when given)."""
    if not actor.roles & REPORT_ROLES:
        raise PermissionDeniedError("anomaly reports are for auditors, supervisors and admins")
    if period not in rules.PERIODS:
        raise ValidationError({"period": [f"one of {', '.join(rules.PERIODS)}"]})
    if not 1 <= trend <= rules.MAX_TREND_PERIODS:
        raise ValidationError({"trend": [f"between 1 and {rules.MAX_TREND_PERIODS} periods"]})
    day = date or rules.local_date(now)
    periods = rules.periods_until(period, day, trend)
    with uow as repos:
        session = repos.session
        tree = kpi_queries.unit_tree(session)
        unit_names = {code: name for code, name, _level, _parent in tree}
        topic_names = report_queries.topic_names(session)
        if topic is not None and topic not in topic_names:
            raise ValidationError({"topic": [f"no topic {topic}"]})
        scope = actor.units
        if unit is not None:
            if unit not in unit_names:
                raise ValidationError({"unit": [f"no unit {unit}"]})
            if scope is not None and unit not in scope:
                raise PermissionDeniedError(f"unit {unit} is outside your units")
            below = subtree([(code, parent) for code, _n, _l, parent in tree], unit)
            scope = below if scope is None else below & scope
        counts = report_queries.report_counts(session, periods=periods, now=now, topic=topic, units=scope)
        active = [code for code, _name in report_queries.active_topic_names(session) if topic in (None, code)]
    empty = tuple(ReportCounts() for _ in periods)
    by_topic: dict[str, tuple[ReportCounts, ...]] = {code: empty for code in active}
    by_unit: dict[str, tuple[ReportCounts, ...]] = {}
    for (topic_code, unit_code), trend_counts in counts.items():
        by_topic[topic_code] = _added(by_topic.get(topic_code, empty), trend_counts)
        by_unit[unit_code] = _added(by_unit.get(unit_code, empty), trend_counts)
    totals = empty
    for values in by_topic.values():
        totals = _added(totals, values)
    rows = {
        "topic": tuple(
            ReportRow(code, topic_names.get(code), None, None, values) for code, values in sorted(by_topic.items())
        ),
        "unit": tuple(
            ReportRow(None, None, code, unit_names.get(code), values) for code, values in sorted(by_unit.items())
        ),
        "topic_unit": tuple(
            ReportRow(t, topic_names.get(t), u, unit_names.get(u), tuple(values))
            for (t, u), values in sorted(counts.items())
        ),
    }
    return AnomalyReport(period, day, tuple(periods), totals, rows, topic=topic, unit=unit)


def _added(a: Iterable[ReportCounts], b: Iterable[ReportCounts]) -> tuple[ReportCounts, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def row_json(row: ReportRow, report: AnomalyReport) -> dict[str, object]:
    """A row as JSON: its keys, the counts of the period asked, of the one before, and the trend oldest first."""
    keys = {"topic": row.topic, "topic_name": row.topic_name, "unit": row.unit, "unit_name": row.unit_name}
    previous = row.previous
    return {
        **keys,
        **_counts(row.current),
        "previous": _counts(previous) if previous is not None else None,
        "trend": [{"period": p.label, **_counts(c)} for p, c in zip(report.periods, row.trend, strict=True)],
    }


def report_json(report: AnomalyReport) -> dict[str, object]:
    """The whole report as JSON (what GET /api/v1/anomaly-reports answers)."""
    return {
        "period": report.period,
        "date": report.date.isoformat(),
        "topic": report.topic,
        "unit": report.unit,
        "periods": [{"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()} for p in report.periods],
        "measures": list(MEASURES),
        "totals": _counts(report.totals[-1]),
        "trend": [{"period": p.label, **_counts(c)} for p, c in zip(report.periods, report.totals, strict=True)],
        "rows": {grouping: [row_json(r, report) for r in rows] for grouping, rows in report.rows.items()},
    }


def _counts(counts: ReportCounts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in MEASURES}


def _table(report: AnomalyReport, grouping: str) -> list[list[object]]:
    """Header and rows of one grouping (or of the trend of the totals), exactly as the API gives them."""
    if grouping == "trend":
        header: list[object] = ["period", "start", "end", *MEASURES]
        lines = [
            [p.label, p.start.isoformat(), p.end.isoformat(), *(getattr(c, n) for n in MEASURES)]
            for p, c in zip(report.periods, report.totals, strict=True)
        ]
        return [header, *lines]
    columns = KEY_COLUMNS[grouping]
    table: list[list[object]] = [[*columns, *MEASURES]]
    for row in report.rows[grouping]:
        keys = {"topic": row.topic, "topic_name": row.topic_name, "unit": row.unit, "unit_name": row.unit_name}
        table.append([keys[c] or "" for c in columns] + [getattr(row.current, n) for n in MEASURES])
    return table


def report_xlsx(report: AnomalyReport) -> bytes:
    """A workbook: the report's parameters, one sheet per grouping (the period asked), and the trend of the totals.
    Numbers are numbers; text that starts like a formula is kept as text."""
    book = Workbook()
    about = book.active
    about.title = "report"
    for name, value in (
        ("period", report.period),
        ("date", report.date.isoformat()),
        ("from", report.periods[-1].start.isoformat()),
        ("until", report.periods[-1].end.isoformat()),
        ("topic", report.topic or ""),
        ("unit", report.unit or ""),
    ):
        about.append([name, safe_cell(value)])
    for grouping in (*rules.GROUPINGS, "trend"):
        sheet = book.create_sheet(SHEETS.get(grouping, grouping))
        for line in _table(report, grouping):
            sheet.append([safe_cell(v) for v in line])
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_csv(report: AnomalyReport, grouping: str) -> str:
    """One grouping (topic, unit, topic_unit) or the trend as CSV, neutralised like the workbook."""
    if grouping not in CSV_GROUPINGS:
        raise ValidationError({"grouping": [f"one of {', '.join(CSV_GROUPINGS)}"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in _table(report, grouping):
        writer.writerow([safe_cell(v) for v in line])
    return out.getvalue()
