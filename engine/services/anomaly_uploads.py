"""Anomaly uploads in the browser: keep a CSV/Excel table, map its columns, check its rows before anything is
created, then send it as a batch through the intake core (engine.services.anomalies) and follow its report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from engine.domain import anomalies as intake_rules
from engine.domain import anomaly_uploads as rules
from engine.domain.access import may_see_unit
from engine.domain.anomaly_uploads import BatchCase, Occurrence, RowProblem, UploadCheck, UploadReport, UploadView
from engine.domain.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.views import Actor, AnomalyBatchView
from engine.persistence import anomaly_report_queries as report_queries
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import anomalies, history
from engine.services.upload_tables import read_table

UPLOAD_ROLES = frozenset({"auditor", "admin"})
UPLOAD_LEASE_S = 30.0  # a batch whose page was closed goes to the scheduler this long after the last poll
STEP_BUDGET_S = 1.5  # work done per progress poll
MAX_PROBLEMS = 1_000
MAX_CASES = 500
ID_CHUNK = 5_000

NewUow = Callable[..., UnitOfWork]


def _allowed(actor: Actor) -> None:
    if not actor.roles & UPLOAD_ROLES:
        raise PermissionDeniedError("only auditors and admins upload anomalies")


def _owner(actor: Actor) -> str:
    return f"upload:{actor.username}"[:80]


def upload_topics(uow: UnitOfWork, *, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the active topics an upload may go to."""
    _allowed(actor)
    with uow as repos:
        return report_queries.active_topic_names(repos.session)


def create_upload(
    uow: UnitOfWork, *, topic_code: str, filename: str, content: bytes, actor: Actor, now: dt.datetime
) -> UploadView:
    """Read a CSV or .xlsx file and keep its table for the preview; a bad file is refused and nothing is kept."""
    _allowed(actor)
    table = read_table(filename, content)
    with uow as repos:
        if not repos.active_topics(topic_code):
            known = repos.topic_versions(topic_code)
            why = f"topic {topic_code} is not active" if known else f"no topic {topic_code}"
            raise ValidationError({"topic": [why]})
        repos.drop_uploads_before(now - rules.KEEP_UPLOAD)
        upload = m.AnomalyUpload(
            topic_code=topic_code,
            filename=(filename or "upload")[-255:],
            uploaded_by=actor.username,
            uploaded_at=now,
            headers_json=json.dumps(table.headers, ensure_ascii=False),
            rows_json=json.dumps(table.rows, ensure_ascii=False),
            row_numbers_json=json.dumps(table.row_numbers),
            row_count=len(table.rows),
            batch_id=None,
        )
        repos.add(upload)
        repos.flush()
        return _view(repos, upload)


def get_upload(uow: UnitOfWork, *, upload_id: int, actor: Actor) -> UploadView:
    """An upload with its first rows and the mapping offered for it (remembered for the topic, else by header)."""
    _allowed(actor)
    with uow as repos:
        return _view(repos, _upload(repos, upload_id, actor))


def check_upload(
    new_uow: NewUow, *, upload_id: int, mapping: dict[str, Any], actor: Actor, now: dt.datetime
) -> UploadCheck:
    """Every row checked as the batch will check it (fields, units, thresholds), and nothing created; the mapping
    is remembered for the topic's next upload."""
    _allowed(actor)
    with new_uow() as repos:
        upload = _upload(repos, upload_id, actor)
        headers, rows = _table(upload, mapping)
        items = rules.build_items(headers, rows, mapping)
        _remember(repos, upload.topic_code, mapping, actor, now)
        view = _view(repos, upload)
        numbers: list[int] = json.loads(upload.row_numbers_json)
        given = sorted({str(i["external_id"]) for i in items if "external_id" in i})
        known: set[str] = set()
        for at in range(0, len(given), ID_CHUNK):
            known |= repos.known_external_ids(upload.topic_code, given[at : at + ID_CHUNK])
    checked = anomalies.preview_items(new_uow(), topic_code=view.topic_code, items=items, actor=actor, now=now)
    problems: list[RowProblem] = []
    rejected = unchanged = 0
    seen: set[str] = set()
    for result in checked:
        if isinstance(result, intake_rules.Rejection):
            rejected += 1
            row = numbers[result.row_no - 1]
            for name, reasons in result.problems.items():
                problems.extend(RowProblem(row, result.external_id, name, reason) for reason in reasons)
        elif result.external_id in known or result.external_id in seen:
            unchanged += 1  # sent before, or repeated within the file: changes nothing (idempotent)
        else:
            seen.add(result.external_id)
    return UploadCheck(
        upload=view,
        mapping=mapping,
        rows=len(checked),
        valid=len(checked) - rejected,
        rejected=rejected,
        unchanged=unchanged,
        problems=tuple(problems[:MAX_PROBLEMS]),
        problem_count=len(problems),
    )


def send_upload(
    new_uow: NewUow, *, upload_id: int, mapping: dict[str, Any], actor: Actor, now: dt.datetime
) -> AnomalyBatchView:
    """Send an upload's rows as one batch (source "upload") through the intake core; sending again returns the
    batch it already made."""
    _allowed(actor)
    with new_uow() as repos:
        upload = _upload(repos, upload_id, actor)
        sent = upload.batch_id
        if sent is None:
            headers, rows = _table(upload, mapping)
            items = rules.build_items(headers, rows, mapping)
            topic_code = upload.topic_code
    if sent is not None:
        return anomalies.get_batch(new_uow(), batch_id=sent, actor=actor, rejections_limit=0)
    view = anomalies.submit_batch(
        new_uow(),
        topic_code=topic_code,
        items=items,
        source="upload",
        actor=actor,
        now=now,
        owner=_owner(actor),
        lease_s=UPLOAD_LEASE_S,
    )
    with new_uow() as repos:
        upload = _upload(repos, upload_id, actor)
        upload.batch_id, upload.rows_json = view.id, "[]"
        _remember(repos, topic_code, mapping, actor, now)
    return view


def advance_batch(
    new_uow: NewUow, *, batch_id: int, actor: Actor, clock: Callable[[], dt.datetime]
) -> AnomalyBatchView:
    """Work a little more of one's own uploaded batch (for the progress bar) and say where it stands; a batch the
    scheduler is working, or someone else's, is only reported."""
    _allowed(actor)
    view = anomalies.get_batch(new_uow(), batch_id=batch_id, actor=actor, rejections_limit=0)
    mine = view.source == "upload" and (view.submitted_by == actor.username or actor.is_admin)
    if view.status in ("done", "failed") or not mine:
        return view
    try:
        return anomalies.work_batch(
            new_uow,
            batch_id=batch_id,
            owner=_owner(actor),
            clock=clock,
            budget_s=STEP_BUDGET_S,
            lease_s=UPLOAD_LEASE_S,
        )
    except ConflictError:  # the scheduler (or another tab) holds it: it goes on there
        return anomalies.get_batch(new_uow(), batch_id=batch_id, actor=actor, rejections_limit=0)


def upload_report(new_uow: NewUow, *, batch_id: int, actor: Actor) -> UploadReport:
    """A batch's report with its refused rows (by row of the uploaded file when the upload is still kept) and the
    cases it raised or fed."""
    _allowed(actor)
    view = anomalies.get_batch(new_uow(), batch_id=batch_id, actor=actor, rejections_limit=MAX_PROBLEMS)
    with new_uow() as repos:
        upload = report_queries.upload_of_batch(repos.session, batch_id)
        numbers: list[int] = json.loads(upload.row_numbers_json) if upload is not None else []
        cases = tuple(
            BatchCase(i, n, t, u, s, o, c)
            for i, n, t, u, s, o, c in report_queries.batch_cases(repos.session, batch_id, limit=MAX_CASES)
        )
        filename = upload.filename if upload is not None else None
    return UploadReport(batch=view, cases=cases, row_numbers=tuple(numbers), filename=filename)


# -- inside a unit of work ----------------------------------------------------------------------------------


def _upload(repos: Repositories, upload_id: int, actor: Actor) -> m.AnomalyUpload:
    upload = repos.anomaly_upload(upload_id)
    # Another person's upload is as good as absent: its rows may come from units one does not see.
    if upload is None or (upload.uploaded_by != actor.username and not actor.is_admin):
        raise NotFoundError(f"no upload {upload_id} (uploads are kept {rules.KEEP_UPLOAD.days} days)")
    return upload


def _table(upload: m.AnomalyUpload, mapping: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers: list[str] = json.loads(upload.headers_json)
    problems = rules.mapping_problems(mapping, headers)
    if problems:
        raise ValidationError(problems)
    return headers, json.loads(upload.rows_json)


def _remember(repos: Repositories, topic_code: str, mapping: dict[str, Any], actor: Actor, now: dt.datetime) -> None:
    """Keep the mapping for the topic's next upload; a change is recorded in the history."""
    text = json.dumps(mapping, ensure_ascii=False, sort_keys=True)
    row = repos.upload_mapping(topic_code)
    if row is not None and row.mapping_json == text:
        return
    before = json.loads(row.mapping_json) if row is not None else None
    if row is None:
        repos.add(m.UploadMapping(topic_code=topic_code, mapping_json=text, updated_by=actor.username, updated_at=now))
    else:
        row.mapping_json, row.updated_by, row.updated_at = text, actor.username, now
    history.record(
        repos,
        kind="upload_mapping_changed",
        at=now,
        actor=actor.username,
        message=f"{topic_code}: upload columns mapped",
        data={"topic": topic_code, "before": before, "after": mapping},
    )


def _view(repos: Repositories, upload: m.AnomalyUpload) -> UploadView:
    headers: list[str] = json.loads(upload.headers_json)
    remembered = repos.upload_mapping(upload.topic_code)
    rows: list[list[str]] = json.loads(upload.rows_json)[: rules.PREVIEW_ROWS] if upload.batch_id is None else []
    return UploadView(
        id=upload.id,
        topic_code=upload.topic_code,
        filename=upload.filename,
        uploaded_by=upload.uploaded_by,
        uploaded_at=upload.uploaded_at,
        headers=tuple(headers),
        preview=tuple(tuple(r + [""] * (len(headers) - len(r))) for r in rows),
        row_count=upload.row_count,
        mapping=rules.guess_mapping(headers, json.loads(remembered.mapping_json) if remembered else None),
        batch_id=upload.batch_id,
    )


def case_occurrences(uow: UnitOfWork, *, case_id: int, actor: Actor) -> tuple[Occurrence, ...]:
    """The anomalies that raised a case or were merged into it, oldest first (within the actor's units)."""
    with uow as repos:
        case = repos.case(case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        if not may_see_unit(actor, case.unit_code):
            raise PermissionDeniedError(f"case {case.case_no} belongs to unit {case.unit_code}, outside your units")
        return tuple(
            Occurrence(
                a.external_id, a.target, a.unit_code, a.value, a.observed_at, a.description, a.outcome, a.batch_id
            )
            for a in report_queries.case_anomalies(repos.session, case_id, limit=MAX_CASES)
        )
