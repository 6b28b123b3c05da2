"""Evaluation pages: load period and level, call the evaluation and scoring services, render or download."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from marshmallow import Schema, fields, validate

from engine.domain import kpi
from engine.domain.kpi import COUNT_FIELDS, LEVELS, RATE_FIELDS
from engine.services import evaluation, scoring
from webui import app_engine, charts
from webui.auth import page_actor, sign_in_required
from webui.evaluation import bp
from webui.evaluation.labels import field_labels, level_labels

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class EvaluationArgs(Schema):
    period = fields.String(load_default=None, validate=validate.Length(min=4, max=16))
    level = fields.String(load_default="unit", validate=validate.OneOf(list(LEVELS)))


def this_month() -> str:
    """The current month in the display time zone, e.g. 2026-11."""
    engine = app_engine()
    return engine.now().astimezone(ZoneInfo(engine.settings.timezone)).strftime("%Y-%m")


def _args() -> dict[str, Any]:
    args: dict[str, Any] = EvaluationArgs().load(request.args)
    args["period"] = (args["period"] or "").strip() or this_month()
    return args


@bp.get("/evaluation")
@sign_in_required
def overview() -> str:
    args = _args()
    engine, actor = app_engine(), page_actor()
    report = evaluation.kpi_report(engine.uow(readonly=True), actor=actor, **args)
    scored = scoring.score_report(engine.uow(readonly=True), actor=actor, **args)
    return render_template(
        "evaluation/overview.html",
        args=args,
        rows=report.rows,
        frozen=report.frozen,
        scores=scored.rows,
        score_frozen=scored.frozen,
        levels=LEVELS,
        count_fields=COUNT_FIELDS,
        rate_fields=RATE_FIELDS,
        labels=field_labels(),
        level_labels=level_labels(),
        ranking_spec=charts.ranking_chart(scored.rows),
        trend_spec=charts.trend_chart(_trend(args["period"], args["level"])),
    )


def _trend(period: str, level: str) -> list[kpi.TrendPoint]:
    """The six months up to `period` (or up to this month when the period is not a month), all rows together."""
    engine = app_engine()
    last = period if kpi.is_month(period) else kpi.month_of(engine.now())
    first = kpi.month_of(kpi.parse_period(last).start, back=5)
    return evaluation.trends(engine.uow(readonly=True), actor=page_actor(), level=level, first=first, last=last)


@bp.get("/evaluation/report")
@sign_in_required
def report() -> str:
    """The month's (or period's) KPI tables, scores and rankings of every level, and the trends: for printing."""
    args = _args()
    engine, actor = app_engine(), page_actor()
    levels = {}
    for level in LEVELS:
        kpis = evaluation.kpi_report(engine.uow(readonly=True), actor=actor, period=args["period"], level=level)
        scored = scoring.score_report(engine.uow(readonly=True), actor=actor, period=args["period"], level=level)
        levels[level] = (kpis, scored, charts.ranking_chart(scored.rows))
    points = _trend(args["period"], "unit")
    return render_template(
        "evaluation/report.html",
        args=args,
        levels=levels,
        points=points,
        trend_spec=charts.trend_chart(points),
        count_fields=COUNT_FIELDS,
        rate_fields=RATE_FIELDS,
        labels=field_labels(),
        level_labels=level_labels(),
        generated_at=engine.now(),
    )


@bp.get("/evaluation/export.xlsx")
@sign_in_required
def export_xlsx() -> Response:
    args = _args()
    content = evaluation.kpis_xlsx(app_engine().uow(readonly=True), actor=page_actor(), period=args["period"])
    return _attachment(content, XLSX, f"kpis-{args['period']}.xlsx")


@bp.get("/evaluation/export.csv")
@sign_in_required
def export_csv() -> Response:
    args = _args()
    content = evaluation.kpis_csv(app_engine().uow(readonly=True), actor=page_actor(), **args)
    return _attachment(
        content.encode("utf-8-sig"), "text/csv; charset=utf-8", f"kpis-{args['period']}-{args['level']}.csv"
    )


def _attachment(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
