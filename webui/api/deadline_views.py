"""API routes of time limits: reminders, urging, time-limit rules, the calendar, paused clocks and contracts."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from engine.domain.errors import ValidationError
from engine.services import archives, contracts, deadlines, reminders
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.serialize import plain
from webui.auth import current_actor, login_required


def reminder_json(r: reminders.ReminderView) -> dict[str, Any]:
    return plain(r)


def contract_json(c: contracts.ContractView) -> dict[str, Any]:
    return plain(c)


@bp.get("/reminders")
@login_required
def list_reminders() -> dict[str, Any]:
    scope = request.args.get("scope", "mine")
    if scope not in ("mine", "all_mine"):
        raise ValidationError({"scope": ["mine (open reminders) or all_mine (acknowledged and resolved too)"]})
    engine = app_engine()
    actor = current_actor()
    items = reminders.list_reminders(engine.uow(readonly=True), actor=actor, include_done=scope == "all_mine")
    counts = reminders.reminder_counts(engine.uow(readonly=True), actor=actor)
    return {"items": [reminder_json(r) for r in items], "counts": counts}


@bp.post("/reminders/<int:reminder_id>/ack")
@login_required
def acknowledge_reminder(reminder_id: int) -> dict[str, Any]:
    engine = app_engine()
    return reminder_json(
        reminders.acknowledge(engine.uow(), reminder_id=reminder_id, actor=current_actor(), now=engine.now())
    )


@bp.post("/urge")
@login_required
def urge() -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.UrgeSchema())
    return {"results": reminders.urge(engine.uow(), actor=current_actor(), now=engine.now(), **args)}


@bp.get("/time-limit-rules")
@login_required
def list_rules() -> Response:
    return jsonify(deadlines.list_rules(app_engine().uow(readonly=True)))


@bp.put("/time-limit-rules")
@login_required
def put_rule() -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.RuleSchema())
    return deadlines.put_rule(engine.uow(), actor=current_actor(), now=engine.now(), **args)


@bp.get("/calendar/overrides")
@login_required
def list_overrides() -> dict[str, Any]:
    return deadlines.list_overrides(app_engine().uow(readonly=True))


@bp.post("/calendar/overrides")
@login_required
def set_override() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.OverrideSchema())
    return deadlines.set_override(engine.uow(), actor=current_actor(), now=engine.now(), **args), 201


@bp.post("/tasks/<task_id>/pause")
@login_required
def pause_task(task_id: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.PauseSchema())
    deadlines.pause_task(engine.uow(), task_id=task_id, actor=current_actor(), now=engine.now(), reason=args["reason"])
    return {"task_id": task_id, "paused": True}


@bp.post("/tasks/<task_id>/resume")
@login_required
def resume_task(task_id: str) -> dict[str, Any]:
    engine = app_engine()
    deadlines.resume_task(engine.uow(), task_id=task_id, actor=current_actor(), now=engine.now())
    return {"task_id": task_id, "paused": False}


@bp.get("/contracts")
@login_required
def list_contracts() -> Response:
    engine = app_engine()
    views = contracts.list_contracts(
        engine.uow(readonly=True), actor=current_actor(), now=engine.now(), state=request.args.get("state")
    )
    return jsonify([contract_json(c) for c in views])


@bp.post("/contracts")
@login_required
def add_contract() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.ContractSchema())
    view = contracts.add_contract(
        engine.uow(),
        number=args["number"],
        customer=args["customer"],
        unit_code=args["unit"],
        signed_on=args["signed_on"],
        expires_on=args["expires_on"],
        auto_renew=args["auto_renew"],
        term_months=args["term_months"],
        owner=args["owner"],
        actor=current_actor(),
        now=engine.now(),
    )
    return contract_json(view), 201


def obligation_json(o: archives.ObligationView) -> dict[str, Any]:
    return plain(o)


@bp.get("/archive-obligations")
@login_required
def list_obligations() -> Response:
    args = schemas.ObligationListArgs().load(request.args)
    views = archives.list_obligations(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return jsonify([obligation_json(o) for o in views])


@bp.post("/archive-obligations/<int:obligation_id>/receive")
@login_required
def receive_documents(obligation_id: int) -> dict[str, Any]:
    engine = app_engine()
    view = archives.receive(engine.uow(), obligation_id=obligation_id, actor=current_actor(), now=engine.now())
    return obligation_json(view)


@bp.post("/archive-obligations/<int:obligation_id>/return")
@login_required
def return_documents(obligation_id: int) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.ReasonSchema())
    view = archives.return_documents(
        engine.uow(), obligation_id=obligation_id, actor=current_actor(), now=engine.now(), reason=args["reason"]
    )
    return obligation_json(view)


def order_json(o: reminders.SupervisionOrderView) -> dict[str, Any]:
    return plain(o)


@bp.get("/supervision-orders")
@login_required
def list_supervision_orders() -> Response:
    only_open = request.args.get("state", "open") != "all"
    views = reminders.list_supervision_orders(
        app_engine().uow(readonly=True), actor=current_actor(), only_open=only_open
    )
    return jsonify([order_json(o) for o in views])


@bp.post("/supervision-orders")
@login_required
def raise_supervision_order() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.SupervisionOrderSchema())
    view = reminders.raise_supervision_order(
        engine.uow(), case_id=args["case_id"], reason=args["reason"], actor=current_actor(), now=engine.now()
    )
    return order_json(view), 201


@bp.post("/supervision-orders/<int:order_id>/close")
@login_required
def close_supervision_order(order_id: int) -> dict[str, Any]:
    engine = app_engine()
    view = reminders.close_supervision_order(engine.uow(), order_id=order_id, actor=current_actor(), now=engine.now())
    return order_json(view)
