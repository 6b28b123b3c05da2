"""API routes of the closed loop: units, topics, cases, documents and waivers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, jsonify, request

from engine.domain.errors import ValidationError
from engine.domain.views import CaseView, TopicView, UnitView
from engine.services import cases, documents, topics, users
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.serialize import instance_json, iso, page_json, plain
from webui.auth import current_actor, login_required


def unit_json(u: UnitView) -> dict[str, Any]:
    return {"code": u.code, "name": u.name, "level": u.level, "parent": u.parent_code}


def topic_json(t: TopicView) -> dict[str, Any]:
    return plain(t)


def document_json(d: documents.DocumentView) -> dict[str, Any]:
    return plain(d, barcode=f"/api/v1/barcodes/{d.doc_no}.svg", download=f"/api/v1/documents/{d.id}")


def case_json(c: CaseView) -> dict[str, Any]:
    return {
        "id": c.id,
        "case_no": c.case_no,
        "topic": c.topic_code,
        "kind": c.kind,
        "target": c.target,
        "anomaly": c.anomaly,
        "source": c.source,
        "risk_level": c.risk_level,
        "unit": c.unit,
        "handler": c.handler,
        "status": c.status,
        "findings": c.findings,
        "cause": c.cause,
        "instance_id": c.instance_id,
        "created_by": c.created_by,
        "created_at": iso(c.created_at),
        "closed_at": iso(c.closed_at),
        "barcode": f"/api/v1/barcodes/{c.case_no}.svg",
        "rounds": [plain(r) for r in c.rounds],
        "documents": [document_json(d) for d in c.documents],
        "instance": instance_json(c.instance) if c.instance else None,
    }


@bp.get("/units")
@login_required
def list_units() -> Response:
    return jsonify([unit_json(u) for u in users.list_units(app_engine().uow(readonly=True))])


@bp.post("/units")
@login_required
def add_unit() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.UnitSchema())
    view = users.add_unit(
        engine.uow(),
        code=args["code"],
        name=args["name"],
        parent_code=args["parent"],
        actor=current_actor(),
        now=engine.now(),
    )
    return unit_json(view), 201


@bp.get("/topics")
@login_required
def list_topics() -> Response:
    status = request.args.get("status")
    return jsonify([topic_json(t) for t in topics.list_topics(app_engine().uow(readonly=True), status=status)])


@bp.post("/topics")
@login_required
def create_topic() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.TopicSchema())
    return topic_json(topics.create_topic(engine.uow(), actor=current_actor(), now=engine.now(), **args)), 201


@bp.get("/topics/<int:topic_id>")
@login_required
def get_topic(topic_id: int) -> dict[str, Any]:
    return topic_json(topics.get_topic(app_engine().uow(readonly=True), topic_id=topic_id))


@bp.post("/topics/<code>/revise")
@login_required
def revise_topic(code: str) -> tuple[dict[str, Any], int]:
    engine = app_engine()
    return topic_json(topics.revise_topic(engine.uow(), code=code, actor=current_actor(), now=engine.now())), 201


@bp.post("/topics/<code>/retire")
@login_required
def retire_topic(code: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.ReasonSchema())
    view = topics.retire_topic(engine.uow(), code=code, reason=args["reason"], actor=current_actor(), now=engine.now())
    return topic_json(view)


@bp.get("/cases")
@login_required
def list_cases() -> dict[str, Any]:
    args = schemas.CaseListArgs().load(request.args)
    page = cases.list_cases(
        app_engine().uow(readonly=True),
        actor=current_actor(),
        status=args["status"],
        topic_code=args["topic"],
        unit_code=args["unit"],
        limit=args["limit"],
        offset=args["offset"],
    )
    return page_json(page, case_json)


@bp.post("/cases")
@login_required
def raise_case() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.CaseSchema())
    view = cases.raise_case(
        engine.uow(),
        topic_code=args["topic"],
        target=args["target"],
        anomaly=args["anomaly"],
        risk_level=args["risk_level"],
        unit_code=args["unit"],
        kind=args["kind"],
        source=args["source"],
        actor=current_actor(),
        now=engine.now(),
    )
    return case_json(view), 201


@bp.get("/cases/<int:case_id>")
@login_required
def get_case(case_id: int) -> dict[str, Any]:
    return case_json(cases.get_case(app_engine().uow(readonly=True), case_id=case_id, actor=current_actor()))


@bp.post("/cases/<int:case_id>/documents")
@login_required
def attach_case_document(case_id: int) -> tuple[dict[str, Any], int]:
    case = cases.get_case(app_engine().uow(readonly=True), case_id=case_id, actor=current_actor())
    if case.instance_id is None:
        raise ValidationError({"case": ["the case has no process to attach documents to"]})
    return _attach(case.instance_id)


@bp.post("/instances/<instance_id>/documents")
@login_required
def attach_instance_document(instance_id: str) -> tuple[dict[str, Any], int]:
    return _attach(instance_id)


def _attach(instance_id: str) -> tuple[dict[str, Any], int]:
    engine = app_engine()
    form = schemas.DocumentForm().load(request.form)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": ["attach the file in the multipart field 'file'"]})
    view = documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=instance_id,
        step=form["step"],
        doc_type=form["doc_type"],
        filename=upload.filename or "",
        content=upload.read(),
        actor=current_actor(),
        now=engine.now(),
    )
    return document_json(view), 201


@bp.post("/instances/<instance_id>/waivers")
@login_required
def waive_document(instance_id: str) -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.WaiverSchema())
    documents.waive_document(
        engine.uow(),
        instance_id=instance_id,
        step=args["step"],
        doc_type=args["doc_type"],
        reason=args["reason"],
        actor=current_actor(),
        now=engine.now(),
    )
    return {"instance_id": instance_id, **args}, 201


@bp.get("/documents/<int:document_id>")
@login_required
def download_document(document_id: int) -> Response:
    engine = app_engine()
    view, content = documents.read_document(
        engine.uow(readonly=True), store=engine.file_store, document_id=document_id, actor=current_actor()
    )
    response = Response(content, mimetype=view.content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(view.filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/barcodes/<number>.svg")
@login_required
def barcode(number: str) -> Response:
    return Response(documents.document_barcode(number), mimetype="image/svg+xml")
