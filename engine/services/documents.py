"""Documents: attach files to a step of an instance, waive a required one, read them back with their barcode."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import PurePath

from engine.barcodes import barcode_svg
from engine.domain.access import may_see_unit, may_work_task
from engine.domain.errors import NotFoundError, PayloadTooLargeError, PermissionDeniedError, ValidationError
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence.file_store import FileStore
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history

ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
}
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOC_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
FILING_ROLES = frozenset({"admin", "reviewer", "archive_collector"})


@dataclass(frozen=True)
class DocumentView:
    id: int
    doc_no: str
    instance_id: str
    step: str
    doc_type: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: dt.datetime


def document_view(row: m.Document) -> DocumentView:
    return DocumentView(
        row.id,
        row.doc_no,
        row.instance_id,
        row.step,
        row.doc_type,
        row.filename,
        row.content_type,
        row.size_bytes,
        row.sha256,
        row.uploaded_by,
        row.uploaded_at,
    )


def attach_document(
    uow: UnitOfWork,
    *,
    store: FileStore,
    instance_id: str,
    step: str,
    doc_type: str,
    filename: str,
    content: bytes,
    actor: Actor,
    now: dt.datetime,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> DocumentView:
    """Store a file for one step (by its BPMN id) of an instance; it gets a number and a barcode."""
    suffix = PurePath(filename or "").suffix.lower()
    problems: dict[str, list[str]] = {}
    if suffix not in ALLOWED_TYPES:
        problems["file"] = [f"allowed file types: {', '.join(sorted(ALLOWED_TYPES))}"]
    if not content:
        problems.setdefault("file", []).append("the file is empty")
    if not DOC_TYPE.match(doc_type or ""):
        problems["doc_type"] = ["a document type like investigation_report"]
    if not step:
        problems["step"] = ["the step (BPMN id) the document belongs to"]
    if problems:
        raise ValidationError(problems)
    if len(content) > max_bytes:
        raise PayloadTooLargeError(f"a document may be at most {max_bytes // (1024 * 1024)} MB")
    digest = store.put(content)
    with uow as repos:
        instance = _instance_for_filing(repos, instance_id, step, actor)
        number = repos.next_number("DOC", now.year)
        case = repos.case_by_instance(instance.id)
        row = m.Document(
            doc_no=f"DOC-{now.year}-{number:06d}",
            instance_id=instance.id,
            case_id=case.id if case else None,
            step=step,
            doc_type=doc_type,
            filename=PurePath(filename).name[:300],
            content_type=ALLOWED_TYPES[suffix],
            size_bytes=len(content),
            sha256=digest,
            uploaded_by=actor.username,
            uploaded_at=now,
        )
        repos.add(row)
        repos.flush()
        history.record(
            repos,
            kind="document_attached",
            at=now,
            actor=actor.username,
            instance_id=instance.id,
            bpmn_id=step,
            message=f"{row.doc_no} {doc_type} {row.filename}",
            data={"doc_no": row.doc_no, "doc_type": doc_type, "sha256": digest, "size": len(content)},
        )
        return document_view(row)


def waive_document(
    uow: UnitOfWork, *, instance_id: str, step: str, doc_type: str, reason: str, actor: Actor, now: dt.datetime
) -> None:
    """A reviewer (or admin) declares a required document not needed for this step, with a reason."""
    if not actor.roles & {"reviewer", "admin"}:
        raise PermissionDeniedError("only reviewers and admins may waive a required document")
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["say why the document is not needed"]})
    with uow as repos:
        instance = _instance_for_filing(repos, instance_id, step, actor)
        repos.add(
            m.DocumentWaiver(
                instance_id=instance.id,
                step=step,
                doc_type=doc_type,
                reason=reason.strip(),
                waived_by=actor.username,
                waived_at=now,
            )
        )
        history.record(
            repos,
            kind="document_waived",
            at=now,
            actor=actor.username,
            instance_id=instance.id,
            bpmn_id=step,
            message=f"{doc_type}: {reason.strip()}",
        )


def read_document(uow: UnitOfWork, *, store: FileStore, document_id: int, actor: Actor) -> tuple[DocumentView, bytes]:
    """A document and its content, for people who may see its instance's unit."""
    with uow as repos:
        row = repos.session.get(m.Document, document_id)
        instance = repos.instance(row.instance_id) if row else None
        if row is None or instance is None or not may_see_unit(actor, instance.unit_code):
            raise NotFoundError(f"no document {document_id}")
        view = document_view(row)
    return view, store.get(view.sha256)


def document_barcode(number: str) -> bytes:
    """The SVG barcode of a document or dossier number."""
    if not re.fullmatch(r"[A-Z]{2,4}-\d{4}-\d{6}", number):
        raise ValidationError({"number": ["a number like DOC-2026-000001 or JC-2026-000123"]})
    return barcode_svg(number)


def _instance_for_filing(repos: Repositories, instance_id: str, step: str, actor: Actor) -> m.ProcessInstance:
    instance = repos.instance(instance_id)
    if instance is None or not may_see_unit(actor, instance.unit_code):
        raise NotFoundError(f"no instance {instance_id}")
    if actor.roles & FILING_ROLES:
        return instance
    workable = [
        t
        for t in repos.open_human_tasks(instance.id)
        if t.bpmn_id == step and may_work_task(actor, lane=t.lane, assignee=t.assignee, unit_code=t.unit_code)
    ]
    if not workable:
        raise PermissionDeniedError(f"you may attach documents only to a step you are working ({step} is not yours)")
    return instance
