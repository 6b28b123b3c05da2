"""Board pages: load the filters, call one service, render; bulk actions report per item."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate

from engine.services import board, reminders, topics, users
from webui import app_engine, charts
from webui.auth import page_actor, safe_next, sign_in_required
from webui.monitor import bp

GROUPS = ("unit", "topic", "step", "person")
FILTERS = ("period", "topic", "risk_level")
REFRESH_S = 30
MAX_SELECTED = 500


class FilterArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    period = fields.String(load_default=None, validate=validate.Length(max=16))
    topic = fields.String(load_default=None, validate=validate.Length(max=64))
    risk_level = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    refresh = fields.Integer(load_default=REFRESH_S, validate=validate.Range(min=2, max=3600))


class BoardArgs(FilterArgs):
    group_by = fields.String(load_default="unit", validate=validate.OneOf(GROUPS))
    unit = fields.String(load_default=None)


class ItemArgs(FilterArgs):
    unit = fields.String(load_default=None)
    step = fields.String(load_default=None)
    person = fields.String(load_default=None)
    time_state = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))


def _load(schema: Schema) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the service's arguments, the filters to carry on in links: only those given)."""
    args = schema.load({k: v for k, v in request.args.items() if v != ""})
    refresh = args.pop("refresh")
    carried = {k: args[k] for k in FILTERS if args.get(k) is not None}
    if refresh != REFRESH_S:
        carried["refresh"] = refresh
    return args, carried


def _unit_trail(unit: str | None) -> tuple[list[Any], dict[str, Any]]:
    units = {u.code: u for u in users.list_units(app_engine().uow(readonly=True))}
    trail: list[Any] = []
    code = unit
    while code is not None and code in units:
        trail.insert(0, units[code])
        code = units[code].parent_code
    return trail, units


@bp.get("/monitor")
@sign_in_required
def overview() -> str:
    args, carried = _load(BoardArgs())
    engine, actor = app_engine(), page_actor()
    rows = board.board(engine.uow(readonly=True), actor=actor, **args)
    trail, units = _unit_trail(args["unit"])
    return render_template(
        "monitor/overview.html",
        rows=rows,
        args=args,
        carried=carried,
        groups=GROUPS,
        trail=trail,
        units=units,
        topics=topics.list_topics(engine.uow(readonly=True)),
        totals={s: sum(r[s] for r in rows) for s in ("red", "yellow", "green", "total")},
        refresh_s=carried.get("refresh", REFRESH_S),
        board_spec=charts.board_chart(
            [
                {**r, "label": units[r["key"]].name if r["key"] in units and args["group_by"] == "unit" else r["label"]}
                for r in rows
            ]
        ),
    )


@bp.get("/monitor/wall")
@sign_in_required
def wall() -> str:
    """The board for a wall screen: large counts per unit, no header, refreshing itself."""
    args, carried = _load(BoardArgs())
    args["group_by"] = "unit"
    rows = board.board(app_engine().uow(readonly=True), actor=page_actor(), **args)
    trail, _units = _unit_trail(args["unit"])
    return render_template(
        "monitor/wall.html",
        rows=rows,
        args=args,
        trail=trail,
        totals={s: sum(r[s] for r in rows) for s in ("red", "yellow", "green", "total")},
        refresh_s=carried.get("refresh", REFRESH_S),
        now=app_engine().now(),
    )


@bp.get("/monitor/items")
@sign_in_required
def items() -> str:
    args, carried = _load(ItemArgs())
    page = board.board_items(app_engine().uow(readonly=True), actor=page_actor(), limit=200, **args)
    return render_template(
        "monitor/items.html", page=page, args=args, carried=carried, refresh_s=carried.get("refresh", REFRESH_S)
    )


@bp.post("/monitor/urge")
@sign_in_required
def urge() -> ResponseReturnValue:
    engine = app_engine()
    task_ids = request.form.getlist("task_id")[:MAX_SELECTED]
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
        for r in results:
            what = r.get("business_key") or r.get("task_id") or ""
            if r["result"] == "urged":
                flash(_("%(what)s: urged, reminded %(people)s", what=what, people=", ".join(r["recipients"])), "info")
            elif r["result"] == "refused":
                flash(_("%(what)s: refused, %(reason)s", what=what, reason=r["reason"]), "warning")
            else:
                flash(_("%(what)s: already urged this hour", what=what), "info")
    return redirect(safe_next(request.form.get("next"), default=url_for("monitor.overview")), 303)


@bp.post("/monitor/supervise")
@sign_in_required
def supervise() -> ResponseReturnValue:
    """Raise a supervision order on the case of each selected task; report each item."""
    engine = app_engine()
    task_ids = request.form.getlist("task_id")[:MAX_SELECTED]
    reason = request.form.get("reason", "").strip()[:2000]
    if not task_ids:
        flash(_("Select the tasks whose cases need a supervision order."), "error")
    elif not reason:
        flash(_("Say what must be done: the supervision order's reason is required."), "error")
    else:
        results = reminders.raise_supervision_orders(
            engine.uow(), actor=page_actor(), now=engine.now(), task_ids=task_ids, reason=reason
        )
        done = sum(r["result"] == "raised" for r in results)
        flash(
            _("Raised %(done)d supervision order(s) for %(total)d item(s).", done=done, total=len(results)), "success"
        )
        for r in results:
            what = r.get("case_no") or r.get("task_id") or ""
            if r["result"] == "raised":
                flash(
                    _(
                        "%(what)s: supervision order %(id)s raised, to %(head)s",
                        what=what,
                        id=r["order_id"],
                        head=r["addressed_to"] or "—",
                    ),
                    "info",
                )
            else:
                flash(_("%(what)s: refused, %(reason)s", what=what, reason=r["reason"]), "warning")
    return redirect(safe_next(request.form.get("next"), default=url_for("monitor.orders")), 303)


@bp.get("/monitor/orders")
@sign_in_required
def orders() -> str:
    """Supervision orders in the actor's units with their state, open ones by default."""
    show = request.args.get("state", "open")
    show = show if show in ("open", "all") else "open"
    found = reminders.list_supervision_orders(
        app_engine().uow(readonly=True), actor=page_actor(), only_open=show == "open"
    )
    return render_template("monitor/orders.html", orders=found, show=show)


@bp.post("/monitor/orders/<int:order_id>/close")
@sign_in_required
def close_order(order_id: int) -> ResponseReturnValue:
    engine = app_engine()
    view = reminders.close_supervision_order(engine.uow(), order_id=order_id, actor=page_actor(), now=engine.now())
    flash(_("Supervision order %(id)s closed.", id=view.id), "success")
    return redirect(safe_next(request.form.get("next"), default=url_for("monitor.orders")), 303)
