"""API routes of the evaluation: KPIs per person, team or unit for a period, as JSON, Excel or CSV."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import Schema, fields, validate

from engine.domain.kpi import LEVELS
from engine.services import evaluation
from webui import app_engine
from webui.api import bp
from webui.auth import current_actor, login_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = validate.Length(min=4, max=16)


class KpiArgs(Schema):
    period = fields.String(required=True, validate=PERIOD)
    level = fields.String(load_default="unit", validate=validate.OneOf(list(LEVELS)))


class KpiExportArgs(Schema):
    period = fields.String(required=True, validate=PERIOD)


@bp.get("/kpis")
@login_required
def get_kpis() -> dict[str, Any]:
    args = KpiArgs().load(request.args)
    rows = evaluation.kpis(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return {"period": args["period"], "level": args["level"], "rows": [evaluation.row_json(r) for r in rows]}


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
