"""Intake pages: upload, preview and map, check, send and follow a batch; the anomaly reports and their exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from engine.domain import anomaly_uploads as upload_rules
from engine.domain.anomaly_reports import GROUPINGS, MEASURES, PERIODS
from engine.domain.errors import PayloadTooLargeError, ValidationError
from engine.services import anomalies, anomaly_reports, anomaly_uploads, cases, users
from webui import app_engine
from webui.auth import page_actor, sign_in_required
from webui.intake import bp
from webui.intake.messages import field_label, measure_label, message, messages
from webui.tasks.names import _

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH_COUNTS = ("received", "rejected", "unchanged", "recorded", "warned", "skipped", "merged", "raised")


def _helpers() -> dict[str, Any]:
    return {
        "field_label": field_label,
        "measure_label": measure_label,
        "message": message,
        "fields": upload_rules.FIELDS,
        "required": upload_rules.REQUIRED,
        "max_mb": upload_rules.MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_bytes": upload_rules.MAX_UPLOAD_BYTES,
        "max_rows": upload_rules.MAX_UPLOAD_ROWS,
    }


# -- upload --------------------------------------------------------------------------------------------------


@bp.get("/intake")
@sign_in_required
def upload_form() -> tuple[str, int]:
    return _upload_page()


def _upload_page(
    errors: dict[str, list[str]] | None = None, topic: str | None = None, status: int = 200
) -> tuple[str, int]:
    engine, actor = app_engine(), page_actor()
    topics = anomaly_uploads.upload_topics(engine.uow(readonly=True), actor=actor)
    recent = anomalies.list_batches(engine.uow(readonly=True), actor=actor, limit=10, offset=0)
    page = render_template(
        "intake/upload.html", topics=topics, recent=recent.items, errors=errors or {}, topic=topic, **_helpers()
    )
    return page, status


@bp.post("/intake/uploads")
@sign_in_required
def create_upload() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    topic = request.form.get("topic", "").strip()
    upload = request.files.get("file")
    errors: dict[str, list[str]] = {}
    if not topic:
        errors["topic"] = [_("Choose the topic the anomalies belong to.")]
    if upload is None or not upload.filename:
        errors["file"] = [_("Choose a CSV or Excel file.")]
    if errors:
        return _upload_page(errors, topic, 422)
    assert upload is not None
    content = upload.stream.read(upload_rules.MAX_UPLOAD_BYTES + 1)
    try:
        view = anomaly_uploads.create_upload(
            engine.uow(),
            topic_code=topic,
            filename=upload.filename or "",
            content=content,
            actor=actor,
            now=engine.now(),
        )
    except ValidationError as refusal:
        return _upload_page(messages(refusal.fields), topic, 422)
    except PayloadTooLargeError as refusal:
        return _upload_page({"file": [message(refusal.message)]}, topic, 413)
    return redirect(url_for("intake.upload", upload_id=view.id), 303)


@bp.get("/intake/uploads/<int:upload_id>")
@sign_in_required
def upload(upload_id: int) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    view = anomaly_uploads.get_upload(engine.uow(readonly=True), upload_id=upload_id, actor=actor)
    if view.batch_id is not None:
        return redirect(url_for("intake.batch", batch_id=view.batch_id), 303)
    return render_template("intake/mapping.html", upload=view, mapping=view.mapping, errors={}, **_helpers())


def _posted_mapping() -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for name in upload_rules.FIELDS[:-1]:
        column = request.form.get(f"map_{name}", "")
        if column:
            mapping[name] = column
    mapping["data"] = [c for c in request.form.getlist("map_data") if c and c not in mapping.values()]
    return mapping


@bp.post("/intake/uploads/<int:upload_id>/check")
@sign_in_required
def check(upload_id: int) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    mapping = _posted_mapping()
    try:
        report = anomaly_uploads.check_upload(
            engine.uow, upload_id=upload_id, mapping=mapping, actor=actor, now=engine.now()
        )
    except ValidationError as refusal:
        view = anomaly_uploads.get_upload(engine.uow(readonly=True), upload_id=upload_id, actor=actor)
        errors = messages(refusal.fields)
        return render_template("intake/mapping.html", upload=view, mapping=mapping, errors=errors, **_helpers()), 422
    return render_template("intake/check.html", check=report, upload=report.upload, mapping=mapping, **_helpers())


@bp.post("/intake/uploads/<int:upload_id>/send")
@sign_in_required
def send(upload_id: int) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    mapping = _posted_mapping()
    try:
        view = anomaly_uploads.send_upload(
            engine.uow, upload_id=upload_id, mapping=mapping, actor=actor, now=engine.now()
        )
    except ValidationError as refusal:
        upload_view = anomaly_uploads.get_upload(engine.uow(readonly=True), upload_id=upload_id, actor=actor)
        errors = messages(refusal.fields)
        page = render_template("intake/mapping.html", upload=upload_view, mapping=mapping, errors=errors, **_helpers())
        return page, 422
    return redirect(url_for("intake.batch", batch_id=view.id), 303)


# -- the batch: progress and report ------------------------------------------------------------------------


@bp.get("/intake/batches/<int:batch_id>")
@sign_in_required
def batch(batch_id: int) -> str:
    report = anomaly_uploads.upload_report(app_engine().uow, batch_id=batch_id, actor=page_actor())
    return render_template("intake/batch.html", report=report, counts=BATCH_COUNTS, **_helpers())


@bp.post("/intake/batches/<int:batch_id>/progress")
@sign_in_required
def progress(batch_id: int) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    view = anomaly_uploads.advance_batch(engine.uow, batch_id=batch_id, actor=actor, clock=engine.now)
    if not request.headers.get("HX-Request"):
        return redirect(url_for("intake.batch", batch_id=batch_id), 303)
    if view.status not in ("done", "failed"):
        return render_template("intake/_progress.html", batch=view, **_helpers())
    report = anomaly_uploads.upload_report(engine.uow, batch_id=batch_id, actor=actor)
    return render_template("intake/_batch_report.html", report=report, counts=BATCH_COUNTS, **_helpers())


@bp.get("/intake/cases/<int:case_id>")
@sign_in_required
def case(case_id: int) -> str:
    engine, actor = app_engine(), page_actor()
    view = cases.get_case(engine.uow(readonly=True), case_id=case_id, actor=actor)
    occurrences = anomaly_uploads.case_occurrences(engine.uow(readonly=True), case_id=case_id, actor=actor)
    return render_template("intake/case.html", case=view, occurrences=occurrences, **_helpers())


# -- reports -------------------------------------------------------------------------------------------------


class ReportArgs(Schema):
    period = fields.String(load_default="day", validate=validate.OneOf(list(PERIODS)))
    date = fields.Date(load_default=None)
    topic = fields.String(load_default=None, validate=validate.Length(max=64))
    unit = fields.String(load_default=None, validate=validate.Length(max=64))


class ReportCsvArgs(ReportArgs):
    grouping = fields.String(load_default="topic_unit", validate=validate.OneOf([*GROUPINGS, "trend"]))


def _report_args(schema: Schema) -> dict[str, Any]:
    raw = {k: v for k, v in request.args.items() if v != ""}
    args: dict[str, Any] = schema.load(raw)
    return args


def _report(args: dict[str, Any]) -> Any:
    engine = app_engine()
    return anomaly_reports.anomaly_report(
        engine.uow(readonly=True),
        actor=page_actor(),
        period=args["period"],
        date=args["date"],
        topic=args["topic"],
        unit=args["unit"],
        now=engine.now(),
    )


@bp.get("/reports/anomalies")
@sign_in_required
def reports() -> str:
    args = _report_args(ReportArgs())
    report = _report(args)
    engine = app_engine()
    units = users.list_units(engine.uow(readonly=True))
    actor = page_actor()
    visible = [u for u in units if actor.units is None or u.code in actor.units]
    query = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in args.items() if v is not None}
    return render_template(
        "intake/reports.html",
        report=report,
        args=args,
        query=query,
        units=visible,
        periods=PERIODS,
        measures=MEASURES,
        groupings=GROUPINGS,
        **_helpers(),
    )


@bp.get("/reports/anomalies/export.xlsx")
@sign_in_required
def export_xlsx() -> Response:
    args = _report_args(ReportArgs())
    report = _report(args)
    return _attachment(anomaly_reports.report_xlsx(report), XLSX, f"anomalies-{args['period']}-{report.date}.xlsx")


@bp.get("/reports/anomalies/export.csv")
@sign_in_required
def export_csv() -> Response:
    args = _report_args(ReportCsvArgs())
    grouping = args.pop("grouping")
    report = _report(args)
    content = anomaly_reports.report_csv(report, grouping).encode("utf-8-sig")
    name = f"anomalies-{args['period']}-{report.date}-{grouping}.csv"
    return _attachment(content, "text/csv; charset=utf-8", name)


def _attachment(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
