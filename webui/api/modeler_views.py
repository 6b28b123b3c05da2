"""API routes of the modeler: validate a diagram like deploy, keep drafts per owner, publish a draft."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from engine.domain.views import Actor, DraftView, ValidationReport
from engine.services import definitions, drafts
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.serialize import deploy_json, plain
from webui.auth import current_actor, login_required


def modeler_actor() -> Actor:
    """The caller, refused (403) before the body is read unless a process owner or an admin."""
    actor = current_actor()
    definitions.require_modeler(actor)
    return actor


def report_json(report: ValidationReport) -> dict[str, Any]:
    return {
        "is_valid": report.is_valid,
        "problems": [p.as_dict() for p in report.problems],
        "warnings": [p.as_dict() for p in report.warnings],
        "processes": list(report.processes),
    }


def draft_json(draft: DraftView, xml: str | None = None) -> dict[str, Any]:
    return plain(draft, **({"xml": xml} if xml is not None else {}))


@bp.post("/definitions/validate")
@login_required
def validate_diagram() -> dict[str, Any]:
    engine, actor = app_engine(), modeler_actor()
    body = json_body(schemas.ValidateDiagramSchema())
    report = definitions.validate_diagram(
        engine.uow(readonly=True), actor=actor, max_bytes=engine.settings.max_upload_bytes, **body
    )
    return report_json(report)


@bp.get("/drafts")
@login_required
def list_drafts() -> Response:
    return jsonify([draft_json(d) for d in drafts.list_drafts(app_engine().uow(readonly=True), actor=modeler_actor())])


@bp.post("/drafts")
@login_required
def create_draft() -> tuple[dict[str, Any], int]:
    engine, actor = app_engine(), modeler_actor()
    body = json_body(schemas.CreateDraftSchema())
    body["source_name"] = body.pop("file_name")
    draft = drafts.save_draft(
        engine.uow(), actor=actor, now=engine.now(), max_bytes=engine.settings.max_upload_bytes, **body
    )
    return draft_json(draft), 201


@bp.get("/drafts/<int:draft_id>")
@login_required
def get_draft(draft_id: int) -> dict[str, Any]:
    engine, actor = app_engine(), modeler_actor()
    draft = drafts.get_draft(engine.uow(readonly=True), draft_id=draft_id, actor=actor)
    return draft_json(draft, drafts.get_draft_xml(engine.uow(readonly=True), draft_id=draft_id, actor=actor))


@bp.put("/drafts/<int:draft_id>")
@login_required
def update_draft(draft_id: int) -> dict[str, Any]:
    engine, actor = app_engine(), modeler_actor()
    body = json_body(schemas.UpdateDraftSchema())
    draft = drafts.save_draft(
        engine.uow(),
        draft_id=draft_id,
        actor=actor,
        now=engine.now(),
        max_bytes=engine.settings.max_upload_bytes,
        **body,
    )
    return draft_json(draft)


@bp.delete("/drafts/<int:draft_id>")
@login_required
def discard_draft(draft_id: int) -> tuple[str, int]:
    engine = app_engine()
    drafts.discard_draft(engine.uow(), draft_id=draft_id, actor=modeler_actor(), now=engine.now())
    return "", 204


@bp.post("/drafts/<int:draft_id>/publish")
@login_required
def publish_draft(draft_id: int) -> tuple[Any, int]:
    engine, actor = app_engine(), modeler_actor()
    body = json_body(schemas.PublishDraftSchema())
    draft = drafts.get_draft(engine.uow(readonly=True), draft_id=draft_id, actor=actor)
    xml = drafts.get_draft_xml(engine.uow(readonly=True), draft_id=draft_id, actor=actor)
    results = definitions.publish_diagram(
        engine.uow(),
        xml=xml,
        comment=body["comment"],
        file_name=draft.source_name or None,
        draft_id=draft_id,
        actor=actor,
        now=engine.now(),
        max_bytes=engine.settings.max_upload_bytes,
    )
    return deploy_json(results), 201 if any(r.is_new for r in results) else 200
