"""API routes of the evaluation: KPIs per person, team or unit for a period (JSON, Excel, CSV), month snapshots."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from engine.domain import kpi
from engine.domain.kpi import COUNT_FIELDS, LEVELS, FrozenState, TrendPoint
from engine.services import evaluation, snapshots
from webui import app_engine
from webui.api import bp
from webui.api.inputs import json_body
from webui.api.serialize import plain
from webui.auth import current_actor, login_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = validate.Length(min=4, max=16)
TREND_RATES = ("step_completion_rate", "on_time_archive_rate", "completion_rate", "overdue_rate")


class KpiArgs(Schema):
    period = fields.String(required=True, validate=PERIOD)
    level = fields.String(load_default="unit", validate=validate.OneOf(list(LEVELS)))


class KpiExportArgs(Schema):
    period = fields.String(required=True, validate=PERIOD)


class TrendArgs(Schema):
    level = fields.String(load_default="unit", validate=validate.OneOf(list(LEVELS)))
    subject = fields.String(load_default=None, validate=validate.Length(min=1, max=80))
    first = fields.String(load_default=None, data_key="from", validate=PERIOD)
    last = fields.String(load_default=None, data_key="to", validate=PERIOD)


class SnapshotSchema(Schema):
    class Meta:
        unknown = RAISE

    period = fields.String(required=True, validate=PERIOD)


def frozen_json(frozen: FrozenState | None) -> dict[str, Any]:
    """`snapshot` (null when live) and `corrections` of a report, as JSON."""
    if frozen is None:
        return {"snapshot": None, "corrections": []}
    return {
        "snapshot": {"period": frozen.period, "frozen_at": frozen.frozen_at.isoformat(), "frozen_by": frozen.frozen_by},
        "corrections": [plain(c) for c in frozen.corrections],
    }


@bp.get("/kpis")
@login_required
def get_kpis() -> dict[str, Any]:
    args = KpiArgs().load(request.args)
    report = evaluation.kpi_report(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return {
        "period": args["period"],
        "level": args["level"],
        "rows": [evaluation.row_json(r) for r in report.rows],
        **frozen_json(report.frozen),
    }


@bp.get("/kpis/trends")
@login_required
def get_kpi_trends() -> dict[str, Any]:
    args = TrendArgs().load(request.args)
    engine = app_engine()
    last = args["last"] or kpi.month_of(engine.now())
    first = args["first"] or kpi.month_of(kpi.parse_period(last).start if kpi.is_month(last) else engine.now(), back=5)
    points = evaluation.trends(
        engine.uow(readonly=True),
        actor=current_actor(),
        level=args["level"],
        subject=args["subject"],
        first=first,
        last=last,
    )
    return {
        "level": args["level"],
        "subject": args["subject"],
        "from": first,
        "to": last,
        "points": [trend_json(p) for p in points],
    }


def trend_json(point: TrendPoint) -> dict[str, Any]:
    """One month of a trend as JSON: period, is_frozen, the counts and the four rates."""
    return {
        "period": point.period,
        "is_frozen": point.is_frozen,
        **{name: getattr(point.counts, name) for name in COUNT_FIELDS},
        **{name: getattr(point, name) for name in TREND_RATES},
    }


@bp.get("/kpis/snapshots")
@login_required
def list_kpi_snapshots() -> Response:
    views = snapshots.list_snapshots(app_engine().uow(readonly=True), actor=current_actor())
    return jsonify(
        [{"period": v.period, "frozen_at": v.frozen_at.isoformat(), "frozen_by": v.frozen_by} for v in views]
    )


@bp.post("/kpis/snapshots")
@login_required
def freeze_kpi_month() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(SnapshotSchema())
    view = snapshots.freeze_month(engine.uow(), period=args["period"], actor=current_actor(), now=engine.now())
    return plain(view), 201


@bp.get("/kpis/export.xlsx")
@login_required
def export_kpis_xlsx() -> Response:
    args = KpiExportArgs().load(request.args)
    content = evaluation.kpis_xlsx(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return _attachment(content, XLSX, f"kpis-{args['period']}.xlsx")


@bp.get("/kpis/export.csv")
@login_required
def export_kpis_csv() -> Response:
    args = KpiArgs().load(request.args)
    content = evaluation.kpis_csv(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return _attachment(
        content.encode("utf-8-sig"), "text/csv; charset=utf-8", f"kpis-{args['period']}-{args['level']}.csv"
    )


def _attachment(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
