"""API routes: load with a schema, call one service, dump the view."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request

from engine.domain.errors import ValidationError
from engine.services import definitions, instances, tasks, version_moves
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.openapi import openapi_document
from webui.api.serialize import (
    definition_json,
    deploy_json,
    instance_json,
    move_json,
    page_json,
    plain,
    task_json,
    version_json,
)
from webui.auth import current_actor, login_required


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    return openapi_document()


# -- definitions ---------------------------------------------------------------------------------------------


@bp.post("/definitions")
@login_required
def deploy() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = schemas.DeployArgs().load(request.args)
    files, forms = _uploaded_files(args["filename"])
    results = definitions.deploy_definition(
        engine.uow(),
        files=files,
        forms=forms,
        actor=current_actor(),
        now=engine.now(),
        comment=args["comment"],
        max_bytes=engine.settings.max_upload_bytes,
    )
    if not results:
        return {"key": None, "version": None, "id": None, "decisions": [name for name, _ in files]}, 201
    return deploy_json(results), 201 if any(r.is_new for r in results) else 200


def _uploaded_files(filename: str | None) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    if request.mimetype == "multipart/form-data":
        files = [(f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("file")]
        forms: dict[str, Any] = {}
        for f in request.files.getlist("forms"):
            name = (f.filename or "").rsplit("/", 1)[-1].removesuffix(".json")
            try:
                forms[name] = json.loads(f.read())
            except ValueError as exc:
                raise ValidationError({f"forms.{name}": [f"not valid JSON: {exc}"]}) from None
        if not files:
            raise ValidationError({"file": ["attach the BPMN or DMN file in the multipart field 'file'"]})
        return files, forms
    body = request.get_data()
    if not body.strip():
        raise ValidationError({"body": ["send the BPMN XML as the body (Content-Type: application/xml)"]})
    name = filename or ("upload.dmn" if b"spec/DMN/" in body[:4000] else "upload.bpmn")
    return [(name, body)], {}


@bp.get("/definitions")
@login_required
def list_definitions() -> Response:
    return jsonify([definition_json(d) for d in definitions.list_definitions(app_engine().uow(readonly=True))])


@bp.get("/definitions/<key>/versions/<int:version>")
@login_required
def get_version(key: str, version: int) -> dict[str, Any]:
    return version_json(definitions.get_version(app_engine().uow(readonly=True), key=key, version=version))


@bp.get("/definitions/<key>/versions/<int:version>/xml")
@login_required
def get_version_xml(key: str, version: int) -> Response:
    xml = definitions.get_version_xml(app_engine().uow(readonly=True), key=key, version=version)
    return Response(xml, mimetype="application/xml")


# -- instances -----------------------------------------------------------------------------------------------


@bp.post("/instances")
@login_required
def start_instance() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.StartInstanceSchema())
    view = instances.start_instance(engine.uow(), actor=current_actor(), now=engine.now(), **args)
    return instance_json(view), 201


@bp.get("/instances")
@login_required
def list_instances() -> dict[str, Any]:
    args = schemas.InstanceListArgs().load(request.args)
    page = instances.list_instances(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return page_json(page, instance_json)


@bp.get("/instances/<instance_id>")
@login_required
def get_instance(instance_id: str) -> dict[str, Any]:
    view = instances.get_instance(app_engine().uow(readonly=True), instance_id=instance_id, actor=current_actor())
    return instance_json(view)


@bp.get("/instances/<instance_id>/diagram")
@login_required
def get_instance_diagram(instance_id: str) -> dict[str, Any]:
    view = instances.instance_diagram(app_engine().uow(readonly=True), instance_id=instance_id, actor=current_actor())
    return plain(view)


@bp.post("/instances/<instance_id>/cancel")
@login_required
def cancel_instance(instance_id: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.CancelSchema())
    view = instances.cancel_instance(
        engine.uow(), instance_id=instance_id, actor=current_actor(), now=engine.now(), reason=args["reason"]
    )
    return instance_json(view)


@bp.post("/instances/<instance_id>/retry")
@login_required
def retry_instance(instance_id: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.RetrySchema())
    view = instances.retry_instance(
        engine.uow(),
        instance_id=instance_id,
        actor=current_actor(),
        now=engine.now(),
        data=args["data"],
        reason=args["reason"],
    )
    return instance_json(view)


@bp.post("/instances/<instance_id>/move")
@login_required
def move_instance(instance_id: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.MoveInstanceSchema())
    report = version_moves.move_instance(
        engine.uow(), instance_id=instance_id, actor=current_actor(), now=engine.now(), **args
    )
    return move_json(report)


@bp.post("/definitions/<key>/migrations")
@login_required
def move_instances(key: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.MoveInstancesSchema())
    reports = version_moves.move_instances(
        engine.uow,
        process_key=key,
        from_version=args["from_version"],
        to_version=args["to_version"],
        dry_run=args["dry_run"],
        instance_ids=args["instance_ids"],
        unit_code=args["unit"],
        topic_code=args["topic"],
        status=args["status"],
        expected=args["expected"],
        actor=current_actor(),
        now=engine.now(),
    )
    return {"dry_run": args["dry_run"], "results": [move_json(r) for r in reports]}


@bp.post("/messages")
@login_required
def deliver_message() -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.MessageSchema())
    delivered = instances.deliver_message(engine.uow(), actor=current_actor(), now=engine.now(), **args)
    return {"delivered_to": delivered}


# -- tasks ---------------------------------------------------------------------------------------------------


@bp.get("/tasks")
@login_required
def list_tasks() -> dict[str, Any]:
    args = schemas.TaskListArgs().load(request.args)
    page = tasks.list_tasks(app_engine().uow(readonly=True), actor=current_actor(), **args)
    return page_json(page, task_json)


@bp.get("/tasks/<task_id>")
@login_required
def get_task(task_id: str) -> dict[str, Any]:
    return task_json(tasks.get_task(app_engine().uow(readonly=True), task_id=task_id, actor=current_actor()), full=True)


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim_task(task_id: str) -> dict[str, Any]:
    engine = app_engine()
    return task_json(tasks.claim_task(engine.uow(), task_id=task_id, actor=current_actor(), now=engine.now()))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim_task(task_id: str) -> dict[str, Any]:
    engine = app_engine()
    return task_json(tasks.unclaim_task(engine.uow(), task_id=task_id, actor=current_actor(), now=engine.now()))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete_task(task_id: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.CompleteTaskSchema())
    view = tasks.complete_task(
        engine.uow(), task_id=task_id, data=args["data"], actor=current_actor(), now=engine.now()
    )
    return {"instance": instance_json(view)}
