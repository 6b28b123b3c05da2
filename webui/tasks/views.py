"""The task page and what a person does there: claim, attach documents, complete; the case's diagram and files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.domain.access import may_work_task
from engine.domain.errors import ConcurrentUpdateError, ConflictError, PayloadTooLargeError, ValidationError
from engine.domain.views import CaseView, InstanceView, TaskView
from engine.services import cases, definitions, documents, instances, tasks
from webui import app_engine
from webui.auth import page_actor, safe_next, sign_in_required
from webui.tasks import bp
from webui.tasks.forms import form_fields, posted_values, prefill, task_data
from webui.tasks.messages import document_type_label, field_message, field_messages
from webui.tasks.names import _, instructions, label, step_name

OTHER_DOCUMENT = "supporting_document"
# Files the browser may show inline are still sent as downloads, in a sandbox, so no upload can run script here.
DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


@bp.get("/tasks/<task_id>")
@sign_in_required
def task(task_id: str) -> tuple[str, int]:
    return _task_page(task_id)


@bp.get("/tasks/<task_id>/complete")
@bp.get("/tasks/<task_id>/documents")
@sign_in_required
def back_to_task(task_id: str) -> ResponseReturnValue:
    """The address bar after a refused form: going there again opens the task."""
    return redirect(url_for("tasks.task", task_id=task_id))


@bp.post("/tasks/<task_id>/complete")
@sign_in_required
def complete(task_id: str) -> Any:
    actor, engine = page_actor(), app_engine()
    view = tasks.get_task(engine.uow(readonly=True), task_id=task_id, actor=actor)
    values = posted_values(view.form, request.form)
    try:
        tasks.complete_task(
            engine.uow(), task_id=task_id, data=task_data(view.form, values), actor=actor, now=engine.now()
        )
    except ValidationError as refusal:
        # The person's input stays on the page with a message beside each field the engine refused.
        return _task_page(task_id, values=values, errors=field_messages(refusal.fields), status=422)
    flash(_("Done: %(step)s of %(case)s.", step=_step(view), case=view.business_key or ""), "success")
    return redirect(url_for("inbox.inbox"), 303)


@bp.post("/tasks/<task_id>/documents")
@sign_in_required
def attach(task_id: str) -> Any:
    """Attach a file to the task's step: htmx swaps the documents panel, without JS the whole page comes back."""
    actor, engine = page_actor(), app_engine()
    view = tasks.get_task(engine.uow(readonly=True), task_id=task_id, actor=actor)
    errors: dict[str, list[str]] = {}
    notice = None
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = [_("Choose a file to attach.")]
    else:
        try:
            added = documents.attach_document(
                engine.uow(),
                store=engine.file_store,
                instance_id=view.instance_id,
                step=view.bpmn_id,
                doc_type=request.form.get("doc_type") or OTHER_DOCUMENT,
                filename=upload.filename,
                content=upload.read(),
                actor=actor,
                now=engine.now(),
            )
            notice = _("Attached %(doc_no)s: %(filename)s.", doc_no=added.doc_no, filename=added.filename)
        except ValidationError as refusal:
            errors = field_messages(refusal.fields)
        except PayloadTooLargeError as refusal:
            errors = {"file": [field_message(refusal.message)]}
    status = 422 if errors else 200
    if request.headers.get("HX-Request"):
        fresh = tasks.get_task(engine.uow(readonly=True), task_id=task_id, actor=actor)
        return render_template("tasks/_documents.html", **_documents_context(fresh, errors, notice)), status
    return _task_page(
        task_id, values=posted_values(view.form, request.form), errors=errors, notice=notice, status=status
    )


@bp.post("/tasks/<task_id>/claim")
@sign_in_required
def claim(task_id: str) -> ResponseReturnValue:
    engine = app_engine()
    view = tasks.claim_task(engine.uow(), task_id=task_id, actor=page_actor(), now=engine.now())
    flash(_("You took %(step)s of %(case)s.", step=_step(view), case=view.business_key or ""), "success")
    return redirect(safe_next(request.form.get("next"), default=url_for("tasks.task", task_id=task_id)), 303)


@bp.post("/tasks/<task_id>/unclaim")
@sign_in_required
def unclaim(task_id: str) -> ResponseReturnValue:
    engine = app_engine()
    view = tasks.unclaim_task(engine.uow(), task_id=task_id, actor=page_actor(), now=engine.now())
    flash(
        _("%(step)s of %(case)s is back in the group's queue.", step=_step(view), case=view.business_key or ""), "info"
    )
    return redirect(safe_next(request.form.get("next")), 303)


@bp.get("/instances/<instance_id>/diagram.xml")
@sign_in_required
def diagram(instance_id: str) -> Response:
    """The BPMN XML of the version the instance runs on, for people who may see the instance."""
    engine = app_engine()
    seen = instances.get_instance(engine.uow(readonly=True), instance_id=instance_id, actor=page_actor())
    xml = definitions.get_version_xml(engine.uow(readonly=True), key=seen.process_key, version=seen.version)
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, no-store", **DOWNLOAD_HEADERS})


@bp.get("/documents/<doc_no>/barcode.svg")
@sign_in_required
def barcode(doc_no: str) -> Response:
    svg = documents.document_barcode(doc_no)
    return Response(
        svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=86400", **DOWNLOAD_HEADERS}
    )


@bp.get("/documents/<int:document_id>")
@sign_in_required
def download(document_id: int) -> Response:
    engine = app_engine()
    view, content = documents.read_document(
        engine.uow(readonly=True), store=engine.file_store, document_id=document_id, actor=page_actor()
    )
    disposition = f"attachment; filename*=UTF-8''{quote(view.filename)}"
    return Response(
        content, mimetype=view.content_type, headers={"Content-Disposition": disposition, **DOWNLOAD_HEADERS}
    )


@bp.errorhandler(ConflictError)
def _conflict(error: ConflictError) -> Any:
    """Someone else got there first: say so plainly instead of an error page."""
    if request.endpoint in ("tasks.claim", "tasks.unclaim"):
        flash(conflict_message(error), "warning")
        return redirect(safe_next(request.form.get("next")), 303)
    task_id = (request.view_args or {}).get("task_id", "")
    return render_template("tasks/conflict.html", message=conflict_message(error), task_id=task_id), 409


_STARTED = re.compile(r"(\w+) version (\d+)")
_ALREADY = re.compile(r"the task was already (\w+)(?: by (.+))?")


def conflict_message(error: ConflictError) -> str:
    if isinstance(error, ConcurrentUpdateError):
        return _("Someone changed this case at the same moment. Nothing you entered was saved; open it again.")
    done = _ALREADY.fullmatch(error.message)
    if done and done.group(2):
        return _("%(who)s has already completed this task. Nothing you entered was saved.", who=done.group(2))
    if done:
        return _("This task is no longer open. Nothing you entered was saved.")
    if error.details.get("assignee"):
        return _(
            "%(who)s has taken this task. Ask them, or your unit head, to hand it over.", who=error.details["assignee"]
        )
    return error.message


def _step(view: TaskView) -> str:
    return step_name(view.name, view.bpmn_id, view.documentation)


def _task_page(
    task_id: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    actor, engine = page_actor(), app_engine()
    view = tasks.get_task(engine.uow(readonly=True), task_id=task_id, actor=actor)
    instance: InstanceView | None = None
    if view.data is None:  # a task that is no longer open: what it saw is the instance's data
        instance = instances.get_instance(engine.uow(readonly=True), instance_id=view.instance_id, actor=actor)
    data = view.data if view.data is not None else instance.data if instance else {}
    case_id = data.get("case_id")
    case = cases.get_case(engine.uow(readonly=True), case_id=case_id, actor=actor) if isinstance(case_id, int) else None
    instance = instance or (case.instance if case else None)
    if instance is None:
        instance = instances.get_instance(engine.uow(readonly=True), instance_id=view.instance_id, actor=actor)
    field_names = {f.get("name") for f in (view.form or {}).get("fields", []) if isinstance(f, dict)}
    errors = dict(errors or {})
    context = {
        "task": view,
        "step": _step(view),
        "instructions": instructions(view.documentation),
        "may_work": view.state == "open"
        and may_work_task(actor, lane=view.lane, assignee=view.assignee, unit_code=view.unit),
        "fields": form_fields(view.form, values if values is not None else prefill(view.form, view.data), errors),
        "error_summary": _error_summary(view, errors),
        "review_comment": data.get("comment") if "comment" not in field_names and view.state == "open" else None,
        "key_fields": _key_fields(view, data, case),
        "case": case,
        "instance": instance,
        "diagram": _diagram_markers(instance),
        "history": [_history_row(h) for h in instance.history],
        **_documents_context(view, errors, notice),
        "self_url": url_for("tasks.task", task_id=task_id),
    }
    return render_template("tasks/task.html", **context), status


def _documents_context(view: TaskView, errors: Mapping[str, list[str]], notice: str | None) -> dict[str, Any]:
    attached: dict[str, list[Any]] = {}
    for doc in view.documents:
        attached.setdefault(doc.doc_type, []).append(doc)
    checklist = [
        {
            "doc_type": doc_type,
            "label": document_type_label(doc_type),
            "documents": attached.get(doc_type, []),
            "is_waived": doc_type in view.waived_documents,
        }
        for doc_type in view.required_documents
    ]
    done = set(attached) | set(view.waived_documents)
    missing = [doc_type for doc_type in view.required_documents if doc_type not in done]
    choices = [*missing, *(d for d in view.required_documents if d not in missing), OTHER_DOCUMENT]
    return {
        "task": view,
        "checklist": checklist,
        "doc_choices": [(d, document_type_label(d)) for d in dict.fromkeys(choices)],
        "doc_errors": [*errors.get("documents", []), *errors.get("doc_type", [])],
        "file_errors": list(errors.get("file", [])),
        "allowed_types": ", ".join(t.lstrip(".").upper() for t in documents.ALLOWED_TYPES),
        "accept": ",".join(documents.ALLOWED_TYPES),
        "max_mb": documents.MAX_DOCUMENT_BYTES // (1024 * 1024),
        "doc_notice": notice,
        "may_attach": view.state == "open",
    }


def _error_summary(view: TaskView, errors: Mapping[str, list[str]]) -> list[tuple[str, str, str]]:
    """(anchor, field label, message) for the summary at the top of the form."""
    labels = {f["name"]: label(f.get("label"), f["name"]) for f in (view.form or {}).get("fields", [])}
    labels.update(documents=_("Documents"), file=_("File"), doc_type=_("Kind of document"))
    anchors = {"documents": "documents", "file": "document-file", "doc_type": "document-type"}
    return [
        (anchors.get(name, f"field-{name}"), labels.get(name, name), message)
        for name, messages in errors.items()
        for message in messages
    ]


def _key_fields(view: TaskView, data: Mapping[str, Any], case: CaseView | None) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        (_("Case number"), data.get("case_no") or view.business_key),
        (_("Target"), data.get("target")),
        (_("Anomaly"), data.get("anomaly")),
        (_("Risk level"), _risk(data.get("risk_level"))),
        (_("Unit"), data.get("unit") or view.unit),
        (_("Audit topic"), data.get("topic_code")),
        (_("Status"), case_status_label(case.status) if case else None),
        (_("Handler"), case.handler if case else None),
        (_("Findings"), case.findings if case else None),
        (_("Cause"), case.cause if case else None),
    ]
    return [(name, value) for name, value in rows if value not in (None, "")]


def case_status_label(status: str) -> str:
    """What a case's status code means, in words."""
    known = {
        "raised": _("raised"),
        "dispatching": _("being dispatched"),
        "handling": _("being handled"),
        "reviewing": _("under review"),
        "rectification_notice": _("rectification notice being written"),
        "rectifying": _("being rectified"),
        "rectification_review": _("rectification under review"),
        "archiving": _("being archived"),
        "closed": _("closed"),
        "whitelisted": _("white-listed (false positive)"),
    }
    return known.get(status, status.replace("_", " "))


def _risk(level: Any) -> str | None:
    if not isinstance(level, int):
        return None
    return _("Level %(n)d (1 is the most serious)", n=level)


def _diagram_markers(instance: InstanceView) -> dict[str, Any]:
    current = {t.bpmn_id: t.time_state for t in instance.tasks}
    done = {h.bpmn_id for h in instance.history if h.kind == "task_completed" and h.bpmn_id} - set(current)
    return {"done": sorted(done), "current": [{"id": k, "state": v} for k, v in sorted(current.items())]}


def _history_row(entry: Any) -> dict[str, Any]:
    data = entry.data or {}
    shown = data.get("data") if entry.kind == "task_completed" and isinstance(data.get("data"), dict) else data
    message = entry.message
    started = _STARTED.fullmatch(message or "") if entry.kind == "started" else None
    if started:
        message = _("version %(v)s of the process", v=started.group(2))
    elif entry.kind.startswith("task_") and entry.bpmn_id:
        message = step_name(message, entry.bpmn_id)
    elif entry.kind == "document_attached" and isinstance(data.get("doc_type"), str):
        message = f"{data.get('doc_no', '')} {document_type_label(data['doc_type'])}".strip()
    return {
        "entry": entry,
        "message": message,
        "what": history_kind_label(entry.kind),
        "details": [(k, _value_text(v)) for k, v in shown.items()] if isinstance(shown, dict) else [],
    }


def file_size(size_bytes: int) -> str:
    """A file size people read: bytes, KB or MB."""
    if size_bytes < 1024:
        return f"{size_bytes} B"
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} KB"
    return f"{size_bytes / (1024 * 1024):.1f} MB"


def _value_text(value: Any) -> str:
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if value is None:
        return "—"
    return str(value)


def history_kind_label(kind: str) -> str:
    """A history entry's kind in words; unknown kinds as written."""
    known = {
        "started": _("Started"),
        "task_claimed": _("Task taken"),
        "task_unclaimed": _("Task handed back to the group"),
        "task_completed": _("Step completed"),
        "task_cancelled": _("Step cancelled"),
        "document_attached": _("Document attached"),
        "document_waived": _("Document waived"),
        "timer_fired": _("Timer fired"),
        "message_received": _("Message received"),
        "message_delivered": _("Message delivered"),
        "supervision_raised": _("Supervision order raised"),
        "urged": _("Urged"),
        "retried": _("Retried"),
        "task_reassigned": _("Task reassigned"),
        "version_moved": _("Moved to another version"),
        "error": _("Error"),
        "completed": _("Process completed"),
        "cancelled": _("Process cancelled"),
    }
    return known.get(kind, kind.replace("_", " "))


# What the task templates call.
bp.add_app_template_global(document_type_label, "doc_label")
bp.add_app_template_global(step_name, "step_label")
bp.add_app_template_filter(file_size, "file_size")
