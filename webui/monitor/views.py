"""Board pages: load the filters, call one service, render."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from engine.services import board, reminders, users
from webui import app_engine
from webui.auth import page_actor, safe_next, sign_in_required
from webui.monitor import bp

GROUPS = ("unit", "topic", "step", "person")


class BoardArgs(Schema):
    group_by = fields.String(load_default="unit", validate=validate.OneOf(GROUPS))
    unit = fields.String(load_default=None)


class ItemArgs(Schema):
    unit = fields.String(load_default=None)
    topic = fields.String(load_default=None)
    step = fields.String(load_default=None)
    person = fields.String(load_default=None)
    time_state = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))


@bp.get("/monitor")
@sign_in_required
def overview() -> str:
    args = BoardArgs().load(request.args)
    engine, actor = app_engine(), page_actor()
    rows = board.board(engine.uow(readonly=True), actor=actor, **args)
    units = {u.code: u for u in users.list_units(engine.uow(readonly=True))}
    trail: list[Any] = []
    code = args["unit"]
    while code is not None and code in units:
        trail.insert(0, units[code])
        code = units[code].parent_code
    return render_template("monitor/overview.html", rows=rows, args=args, groups=GROUPS, trail=trail, units=units)


@bp.get("/monitor/items")
@sign_in_required
def items() -> str:
    args = ItemArgs().load(request.args)
    page = board.board_items(app_engine().uow(readonly=True), actor=page_actor(), limit=200, **args)
    return render_template("monitor/items.html", page=page, args=args)


@bp.post("/monitor/urge")
@sign_in_required
def urge() -> ResponseReturnValue:
    engine = app_engine()
    task_ids = request.form.getlist("task_id")
    if not task_ids:
        flash(_("Select the tasks to urge."), "error")
    else:
        results = reminders.urge(
            engine.uow(),
            actor=page_actor(),
            now=engine.now(),
            task_ids=task_ids,
            message=request.form.get("message", "")[:500],
        )
        done = sum(r["result"] == "urged" for r in results)
        flash(_("Urged %(done)d of %(total)d.", done=done, total=len(results)), "success")
    return redirect(safe_next(request.form.get("next"), default=url_for("monitor.overview")), 303)
