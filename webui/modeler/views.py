"""Modeler pages and the JSON the modeler page calls (session + CSRF header); every route checks the role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate

from engine.domain.errors import PermissionDeniedError
from engine.domain.views import DraftView, ValidationReport
from engine.services import definitions, drafts
from webui import app_engine
from webui.auth import page_actor, sign_in_required
from webui.modeler import bp

F = TypeVar("F", bound=Callable[..., Any])
MODELER_ROLES = definitions.DEPLOYER_ROLES
# A diagram opened directly in the browser must not run anything it holds (XML can carry XHTML scripts).
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


def modeler_required(view: F) -> F:
    """Signed in, and a process owner or an admin (403 otherwise); the services check it again."""

    @sign_in_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not page_actor().roles & MODELER_ROLES:
            raise PermissionDeniedError("only process owners and admins may use the modeler")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class OpenArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    key = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    draft = fields.Integer(load_default=None, validate=validate.Range(min=1))


class CompareArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    a = fields.Integer(required=True, validate=validate.Range(min=1))
    b = fields.Integer(required=True, validate=validate.Range(min=1))


class DiagramBody(Schema):
    class Meta:
        unknown = EXCLUDE

    xml = fields.String(required=True)
    file_name = fields.String(load_default=None, validate=validate.Length(max=500))


class DraftBody(DiagramBody):
    name = fields.String(required=True, validate=validate.Length(max=500))
    draft_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    process_key = fields.String(load_default=None, validate=validate.Length(max=200))
    base_version = fields.Integer(load_default=None, validate=validate.Range(min=1))


class PublishBody(DiagramBody):
    comment = fields.String(required=True, validate=validate.Length(max=2000))
    draft_id = fields.Integer(load_default=None, validate=validate.Range(min=1))


def report_json(report: ValidationReport) -> dict[str, Any]:
    return {
        "is_valid": report.is_valid,
        "problems": [p.as_dict() for p in report.problems],
        "warnings": [p.as_dict() for p in report.warnings],
        "processes": list(report.processes),
    }


def draft_json(draft: DraftView) -> dict[str, Any]:
    return {
        "id": draft.id,
        "name": draft.name,
        "process_key": draft.process_key,
        "base_version": draft.base_version,
        "updated_at": draft.updated_at.isoformat(),
    }


# -- pages -------------------------------------------------------------------------------------------------------


@bp.get("/definitions")
@modeler_required
def definitions_list() -> str:
    engine, actor = app_engine(), page_actor()
    overview = definitions.definitions_overview(engine.uow(readonly=True), actor=actor)
    mine = drafts.list_drafts(engine.uow(readonly=True), actor=actor)
    return render_template("modeler/definitions.html", definitions=overview, drafts=mine)


@bp.get("/modeler")
@modeler_required
def modeler() -> str:
    args = OpenArgs().load(request.args)
    engine, actor = app_engine(), page_actor()
    opened: dict[str, Any] = {"key": None, "version": None, "draft": None, "name": "", "xml_url": None}
    if args["draft"] is not None:
        draft = drafts.get_draft(engine.uow(readonly=True), draft_id=args["draft"], actor=actor)
        opened.update(
            key=draft.process_key,
            version=draft.base_version,
            draft=draft.id,
            name=draft.name,
            xml_url=url_for("modeler.draft_xml", draft_id=draft.id),
        )
    elif args["key"] is not None:
        latest = args["version"] is None
        version = (
            definitions.get_version(engine.uow(readonly=True), key=args["key"], version=args["version"])
            if not latest
            else _latest(args["key"])
        )
        opened.update(
            key=version.key,
            version=version.version,
            name=f"{version.name} v{version.version}",
            xml_url=url_for("modeler.version_xml", key=version.key, version=version.version),
        )
    return render_template("modeler/modeler.html", opened=opened, is_admin=actor.is_admin)


def _latest(key: str) -> Any:
    found = [d for d in definitions.list_definitions(app_engine().uow(readonly=True)) if d.key == key]
    if not found:
        return definitions.get_version(app_engine().uow(readonly=True), key=key, version=1)  # raises NotFoundError
    return found[0].versions[-1]


@bp.get("/modeler/compare")
@modeler_required
def compare() -> str:
    args = CompareArgs().load(request.args)
    uow = app_engine().uow
    older = definitions.get_version(uow(readonly=True), key=args["key"], version=args["a"])
    newer = definitions.get_version(uow(readonly=True), key=args["key"], version=args["b"])
    return render_template("modeler/compare.html", older=older, newer=newer)


@bp.get("/definitions/<key>/versions/<int:version>.bpmn")
@modeler_required
def version_xml(key: str, version: int) -> Response:
    xml = definitions.get_version_xml(app_engine().uow(readonly=True), key=key, version=version)
    download = (
        {"Content-Disposition": f'attachment; filename="{key}-v{version}.bpmn"'} if "download" in request.args else {}
    )
    return Response(xml, mimetype="application/xml", headers={**DOWNLOAD_HEADERS, **download})


@bp.get("/modeler/drafts/<int:draft_id>.bpmn")
@modeler_required
def draft_xml(draft_id: int) -> Response:
    xml = drafts.get_draft_xml(app_engine().uow(readonly=True), draft_id=draft_id, actor=page_actor())
    return Response(xml, mimetype="application/xml", headers=DOWNLOAD_HEADERS)


@bp.post("/modeler/drafts/<int:draft_id>/discard")
@modeler_required
def discard(draft_id: int) -> ResponseReturnValue:
    engine = app_engine()
    drafts.discard_draft(engine.uow(), draft_id=draft_id, actor=page_actor(), now=engine.now())
    flash(_("The draft was discarded."), "success")
    return redirect(url_for("modeler.definitions_list"))


# -- JSON for the modeler page --------------------------------------------------------------------------------------


@bp.post("/modeler/validate")
@modeler_required
def validate_json() -> Response:
    body = DiagramBody().load(request.get_json(silent=True) or {})
    engine = app_engine()
    report = definitions.validate_diagram(
        engine.uow(readonly=True),
        xml=body["xml"],
        file_name=body["file_name"],
        actor=page_actor(),
        max_bytes=engine.settings.max_upload_bytes,
    )
    return jsonify(report_json(report))


@bp.post("/modeler/drafts")
@modeler_required
def save_draft_json() -> tuple[Response, int]:
    body = DraftBody().load(request.get_json(silent=True) or {})
    engine = app_engine()
    draft = drafts.save_draft(
        engine.uow(),
        xml=body["xml"],
        name=body["name"],
        draft_id=body["draft_id"],
        process_key=body["process_key"],
        base_version=body["base_version"],
        source_name=body["file_name"],
        actor=page_actor(),
        now=engine.now(),
        max_bytes=engine.settings.max_upload_bytes,
    )
    return jsonify(draft_json(draft)), 200 if body["draft_id"] else 201


@bp.post("/modeler/publish")
@modeler_required
def publish_json() -> tuple[Response, int]:
    body = PublishBody().load(request.get_json(silent=True) or {})
    engine = app_engine()
    results = definitions.publish_diagram(
        engine.uow(),
        xml=body["xml"],
        comment=body["comment"],
        file_name=body["file_name"],
        draft_id=body["draft_id"],
        actor=page_actor(),
        now=engine.now(),
        max_bytes=engine.settings.max_upload_bytes,
    )
    published = [{"key": r.key, "version": r.version, "is_new": r.is_new} for r in results]
    status = 201 if any(r.is_new for r in results) else 200
    return jsonify({"published": published, "list_url": url_for("modeler.definitions_list")}), status
