"""Instance pages: the instance (diagram, variables, history, admin actions), the list, and version moves."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.views import Actor, DiagramView, HistoryView, MoveReport
from engine.services import definitions, instances, tasks, version_moves
from webui import app_engine
from webui.auth import page_actor, sign_in_required
from webui.instances import bp
from webui.tasks.names import _, step_name
from webui.tasks.views import history_kind_label

STATUSES = ("running", "error", "completed", "cancelled")


class ListArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    process_key = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ActionForm(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    confirm = fields.String(required=True, validate=validate.Equal("yes"))


class RetryForm(ActionForm):
    data = fields.String(load_default="")


class ReassignForm(ActionForm):
    to = fields.String(load_default="")


class MoveArgs(Schema):
    from_version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    to_version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    unit = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    topic = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


# -- the instance --------------------------------------------------------------------------------------------


@bp.get("/instances")
@sign_in_required
def index() -> str:
    actor, engine = page_actor(), app_engine()
    args = ListArgs().load({k: v for k, v in request.args.items() if v})
    page = instances.list_instances(engine.uow(readonly=True), actor=actor, limit=50, **args)
    return render_template("instances/list.html", page=page, args=args, statuses=STATUSES)


@bp.get("/instances/<instance_id>")
@sign_in_required
def instance(instance_id: str) -> str:
    actor, engine = page_actor(), app_engine()
    view = instances.get_instance(engine.uow(readonly=True), instance_id=instance_id, actor=actor)
    diagram = instances.instance_diagram(engine.uow(readonly=True), instance_id=instance_id, actor=actor)
    candidates = {
        t.id: tasks.reassign_candidates(engine.uow(readonly=True), task_id=t.id, actor=actor)
        for t in view.tasks
        if actor.is_admin
    }
    return render_template(
        "instances/instance.html",
        instance=view,
        diagram=diagram,
        markers=_markers(diagram),
        elements=[_element_row(e, diagram) for e in diagram.elements if e.process == diagram.process_key],
        called=[_called_row(c, diagram) for c in diagram.called],
        variables=sorted(instances.visible_variables(view, actor).items()),
        history=[_history_row(h) for h in view.history],
        is_admin=actor.is_admin,
        may_move=version_moves.may_move(actor),
        candidates=candidates,
        self_url=url_for("instances.instance", instance_id=instance_id),
    )


@bp.post("/instances/<instance_id>/cancel")
@sign_in_required
def cancel(instance_id: str) -> ResponseReturnValue:
    actor, engine = _admin(), app_engine()
    form = _form(ActionForm())
    instances.cancel_instance(
        engine.uow(), instance_id=instance_id, actor=actor, now=engine.now(), reason=form["reason"]
    )
    flash(_("The instance was cancelled."), "success")
    return redirect(url_for("instances.instance", instance_id=instance_id), 303)


@bp.post("/instances/<instance_id>/retry")
@sign_in_required
def retry(instance_id: str) -> ResponseReturnValue:
    actor, engine = _admin(), app_engine()
    form = _form(RetryForm())
    view = instances.retry_instance(
        engine.uow(),
        instance_id=instance_id,
        actor=actor,
        now=engine.now(),
        reason=form["reason"],
        data=_corrected_data(form["data"]),
    )
    if view.status == "error":
        flash(
            _("The step was run again and failed again: %(why)s", why=str((view.error or {}).get("message"))),
            "warning",
        )
    else:
        flash(_("The failed step was run again; the instance goes on."), "success")
    return redirect(url_for("instances.instance", instance_id=instance_id), 303)


@bp.post("/instances/<instance_id>/tasks/<task_id>/reassign")
@sign_in_required
def reassign(instance_id: str, task_id: str) -> ResponseReturnValue:
    actor, engine = _admin(), app_engine()
    form = _form(ReassignForm())
    task = tasks.get_task(engine.uow(readonly=True), task_id=task_id, actor=actor)
    if task.instance_id != instance_id:
        raise ValidationError({"task": ["the task is not part of this instance"]})
    to_user = form["to"] or None
    tasks.reassign_task(
        engine.uow(), task_id=task_id, to_user=to_user, reason=form["reason"], actor=actor, now=engine.now()
    )
    if to_user:
        flash(_("The task was given to %(who)s.", who=to_user), "success")
    else:
        flash(_("The task is back in its group's queue."), "success")
    return redirect(url_for("instances.instance", instance_id=instance_id), 303)


# -- version moves -------------------------------------------------------------------------------------------


@bp.get("/definitions/<key>/migrations")
@sign_in_required
def moves(key: str) -> str:
    actor, engine = _mover(), app_engine()
    args = MoveArgs().load({k: v for k, v in request.args.items() if v})
    versions = _versions(key)
    if args["from_version"] is None and len(versions) >= 2:
        args["from_version"], args["to_version"] = versions[-2], versions[-1]
    reports: list[MoveReport] | None = None
    if args["from_version"] is not None and args["to_version"] is not None:
        reports = version_moves.move_instances(
            engine.uow,
            process_key=key,
            from_version=args["from_version"],
            to_version=args["to_version"],
            unit_code=args["unit"],
            topic_code=args["topic"],
            status=args["status"],
            dry_run=True,
            actor=actor,
            now=engine.now(),
        )
    return render_template(
        "instances/moves.html",
        key=key,
        versions=versions,
        args=args,
        reports=reports,
        rows=[_move_row(r) for r in reports or []],
        done=False,
        statuses=STATUSES,
    )


@bp.post("/definitions/<key>/migrations")
@sign_in_required
def move(key: str) -> str:
    actor, engine = _mover(), app_engine()
    try:
        from_version, to_version = int(request.form["from_version"]), int(request.form["to_version"])
    except (KeyError, ValueError):
        raise ValidationError({"from_version": [_("Choose the versions first.")]}) from None
    if request.form.get("confirm") != "yes":
        raise ValidationError({"confirm": [_("Tick the box to confirm.")]})
    ids = request.form.getlist("instance_id")
    if not ids:
        raise ValidationError({"instance_id": [_("Choose at least one instance to move.")]})
    expected = {}
    for instance_id in ids:
        lock = request.form.get(f"lock-{instance_id}", "")
        if lock.isdigit():
            expected[instance_id] = int(lock)
    reports = version_moves.move_instances(
        engine.uow,
        process_key=key,
        from_version=from_version,
        to_version=to_version,
        instance_ids=ids,
        expected=expected,
        dry_run=False,
        actor=actor,
        now=engine.now(),
    )
    moved = sum(1 for r in reports if r.result == "moved")
    flash(
        _("%(moved)d of %(total)d instances moved to version %(v)d.", moved=moved, total=len(reports), v=to_version),
        "success" if moved == len(reports) else "warning",
    )
    args = {"from_version": from_version, "to_version": to_version, "unit": None, "topic": None, "status": None}
    return render_template(
        "instances/moves.html",
        key=key,
        versions=_versions(key),
        args=args,
        reports=reports,
        rows=[_move_row(r) for r in reports],
        done=True,
        statuses=STATUSES,
    )


# -- helpers of the views ------------------------------------------------------------------------------------


def _admin() -> Actor:
    actor = page_actor()
    if not actor.is_admin:
        raise PermissionDeniedError(_("Only admins may do this."))
    return actor


def _mover() -> Actor:
    actor = page_actor()
    if not version_moves.may_move(actor):
        raise PermissionDeniedError(_("Only admins and process owners may move instances between versions."))
    return actor


def _form(schema: Schema) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load({k: v for k, v in request.form.items() if k != "csrf_token"})
    except SchemaError as refusal:
        messages = refusal.messages if isinstance(refusal.messages, dict) else {"form": refusal.messages}
        fields_ = {
            name: [_("Say why (it is recorded in the history).")]
            if name == "reason"
            else [_("Tick the box to confirm.")]
            for name in messages
            if name in ("reason", "confirm")
        }
        raise ValidationError(fields_ or {"form": [str(messages)]}) from None
    return loaded


def _corrected_data(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError({"data": [_('Write the corrected variables as a JSON object, e.g. {"amount": 5}.')]})
    return data


def _versions(key: str) -> list[int]:
    found = [d for d in definitions.list_definitions(app_engine().uow(readonly=True)) if d.key == key]
    return sorted(v.version for v in found[0].versions) if found else []


def _markers(diagram: DiagramView) -> dict[str, Any]:
    """What the diagram script colours: this process's elements, and running call activities as active."""
    own = [
        {"id": e.bpmn_id, "state": e.state, "time_state": e.time_state, "waits_for": e.waits_for}
        for e in diagram.elements
        if e.process == diagram.process_key
    ]
    return {"elements": own, "calls": [c.activity for c in diagram.called if c.status == "running"]}


def element_state_label(state: str, waits_for: str | None = None) -> str:
    if state == "waiting" and waits_for == "timer":
        return _("waiting for a timer")
    if state == "waiting" and waits_for == "message":
        return _("waiting for a message")
    known = {
        "completed": _("completed"),
        "active": _("active"),
        "waiting": _("waiting"),
        "error": _("failed"),
    }
    return known.get(state, state)


def _element_row(element: Any, diagram: DiagramView) -> dict[str, Any]:
    return {"element": element, "what": element_state_label(element.state, element.waits_for)}


def _called_row(called: Any, diagram: DiagramView) -> dict[str, Any]:
    steps = [
        {"element": e, "what": element_state_label(e.state, e.waits_for)}
        for e in diagram.elements
        if e.process == called.process and e.state != "completed"
    ]
    status = _("running") if called.status == "running" else _("completed")
    return {"called": called, "status": status, "steps": steps}


def _history_row(entry: HistoryView) -> dict[str, Any]:
    data = entry.data or {}
    message = entry.message
    if entry.kind == "version_moved" and "from_version" in data:
        message = _("from version %(a)s to version %(b)s", a=data["from_version"], b=data["to_version"])
    elif entry.kind.startswith("task_") and entry.bpmn_id:
        message = step_name(message, entry.bpmn_id)
    return {"entry": entry, "message": message, "what": history_kind_label(entry.kind)}


def move_reason_text(reason: dict[str, Any], to_version: int) -> str:
    """A move refusal in the person's language."""
    element = reason.get("element_id") or ""
    code = reason.get("code")
    texts = {
        "open_step_missing": _("Open step %(element)s does not exist in version %(v)d.", element=element, v=to_version),
        "done_step_missing": _(
            "Completed step %(element)s does not exist in version %(v)d.", element=element, v=to_version
        ),
        "called_process_missing": _(
            "Called process %(element)s is not part of version %(v)d.", element=element, v=to_version
        ),
        "changed": _("The instance changed since the dry run; run the dry run again."),
    }
    return texts.get(code or "", reason.get("message") or "")


def _move_row(report: MoveReport) -> dict[str, Any]:
    results = {
        "movable": _("can move"),
        "moved": _("moved"),
        "refused": _("cannot move"),
        "conflict": _("changed meanwhile"),
    }
    return {
        "report": report,
        "result": results.get(report.result, report.result),
        "reasons": [move_reason_text(r, report.to_version) for r in report.reasons],
    }
