"""API routes of the anomaly reports (三报): counts per topic and unit by day, week or month, as JSON, Excel or CSV."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import Schema, fields, validate

from engine.domain.anomaly_reports import GROUPINGS, MAX_TREND_PERIODS, PERIODS, TREND_PERIODS, AnomalyReport
from engine.services import anomaly_reports
from webui import app_engine
from webui.api import bp
from webui.auth import current_actor, login_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportArgs(Schema):
    period = fields.String(required=True, validate=validate.OneOf(list(PERIODS)))
    date = fields.Date(load_default=None)
    topic = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    unit = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    trend = fields.Integer(load_default=TREND_PERIODS, validate=validate.Range(min=1, max=MAX_TREND_PERIODS))


class ReportCsvArgs(ReportArgs):
    grouping = fields.String(load_default="topic_unit", validate=validate.OneOf([*GROUPINGS, "trend"]))


def _report(args: dict[str, Any]) -> AnomalyReport:
    engine = app_engine()
    return anomaly_reports.anomaly_report(engine.uow(readonly=True), actor=current_actor(), now=engine.now(), **args)


@bp.get("/anomaly-reports")
@login_required
def get_anomaly_report() -> dict[str, Any]:
    report = _report(ReportArgs().load(request.args))
    return anomaly_reports.report_json(report)


@bp.get("/anomaly-reports/export.xlsx")
@login_required
def export_anomaly_report_xlsx() -> Response:
    report = _report(ReportArgs().load(request.args))
    return _attachment(anomaly_reports.report_xlsx(report), XLSX, f"anomalies-{report.period}-{report.date}.xlsx")


@bp.get("/anomaly-reports/export.csv")
@login_required
def export_anomaly_report_csv() -> Response:
    args = ReportCsvArgs().load(request.args)
    grouping = args.pop("grouping")
    report = _report(args)
    content = anomaly_reports.report_csv(report, grouping).encode("utf-8-sig")
    return _attachment(content, "text/csv; charset=utf-8", f"anomalies-{report.period}-{report.date}-{grouping}.csv")


def _attachment(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
