"""API routes for supervisors: the board of time states, its items, bulk urging, reassignment and supervision."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from engine.services import board, reminders, tasks
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.serialize import page_json, task_json
from webui.auth import current_actor, login_required


@bp.get("/board")
@login_required
def get_board() -> Response:
    args = schemas.BoardArgs().load(request.args)
    rows = board.board(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return jsonify(rows)


@bp.get("/board/items")
@login_required
def get_board_items() -> dict[str, Any]:
    args = schemas.BoardItemArgs().load(request.args)
    page = board.board_items(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return page_json(page, task_json)


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign_task(task_id: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.ReassignSchema())
    view = tasks.reassign_task(
        engine.uow(),
        task_id=task_id,
        to_user=args["to"],
        reason=args["reason"],
        actor=current_actor(),
        now=engine.now(),
    )
    return task_json(view)


@bp.post("/bulk/urge")
@login_required
def bulk_urge() -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.BulkUrgeSchema())
    return {"results": reminders.urge(engine.uow(), actor=current_actor(), now=engine.now(), **args)}


@bp.post("/bulk/supervision-orders")
@login_required
def bulk_raise_supervision_orders() -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.BulkSupervisionSchema())
    return {
        "results": reminders.raise_supervision_orders(engine.uow(), actor=current_actor(), now=engine.now(), **args)
    }


@bp.post("/bulk/reassign")
@login_required
def bulk_reassign() -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.BulkReassignSchema())
    results = tasks.reassign_tasks(
        engine.uow(),
        task_ids=args["task_ids"],
        to_user=args["to"],
        reason=args["reason"],
        actor=current_actor(),
        now=engine.now(),
    )
    return {"results": results}
