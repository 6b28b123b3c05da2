"""API routes of the composite quality score (综合得分): indicators, adjustments, scored and ranked rows."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from engine.domain.kpi import LEVELS
from engine.domain.scoring import ADJUSTMENT_KINDS, DIRECTIONS
from engine.services import scoring
from webui import app_engine
from webui.api import bp
from webui.api.inputs import json_body
from webui.api.kpi_views import frozen_json
from webui.auth import current_actor, login_required

PERIOD = validate.Length(min=4, max=16)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class IndicatorSchema(_Strict):
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    base_value = fields.Float(required=True)
    full_score = fields.Float(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(list(DIRECTIONS)))
    weight = fields.Float(required=True)
    is_enabled = fields.Boolean(load_default=True)


class AdjustmentSchema(_Strict):
    period = fields.String(required=True, validate=PERIOD)
    level = fields.String(required=True, validate=validate.OneOf(list(LEVELS)))
    subject_key = fields.String(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.String(required=True, validate=validate.OneOf(list(ADJUSTMENT_KINDS)))
    value = fields.Float(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ScoreArgs(Schema):
    period = fields.String(required=True, validate=PERIOD)
    level = fields.String(load_default="unit", validate=validate.OneOf(list(LEVELS)))


@bp.get("/kpi-indicators")
@login_required
def list_indicators() -> Response:
    return jsonify(scoring.list_indicators(app_engine().uow(readonly=True)))


@bp.put("/kpi-indicators/<key>")
@login_required
def put_indicator(key: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(IndicatorSchema())
    return scoring.put_indicator(engine.uow(), key=key, actor=current_actor(), now=engine.now(), **args)


@bp.post("/kpi-adjustments")
@login_required
def add_adjustment() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(AdjustmentSchema())
    return scoring.add_adjustment(engine.uow(), actor=current_actor(), now=engine.now(), **args), 201


@bp.get("/kpis/scores")
@login_required
def get_scores() -> dict[str, Any]:
    args = ScoreArgs().load(request.args)
    report = scoring.score_report(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return {
        "period": args["period"],
        "level": args["level"],
        "rows": [scoring.score_json(r) for r in report.rows],
        **frozen_json(report.frozen),
    }
