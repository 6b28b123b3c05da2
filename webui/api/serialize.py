"""Engine views as the JSON documents of the API contract."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from engine.domain.views import (
    DefinitionView,
    DeployResult,
    HistoryView,
    InstanceView,
    MoveReport,
    Page,
    TaskView,
    VersionView,
)


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def plain(view: Any, **extra: Any) -> dict[str, Any]:
    """A view dataclass as JSON values: dates and datetimes in ISO 8601, tuples as lists; `extra` added on top."""

    def value(v: Any) -> Any:
        if isinstance(v, dt.date):  # datetime is a date too
            return v.isoformat()
        if isinstance(v, tuple | list):
            return [value(x) for x in v]
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        return v

    return {**{k: value(v) for k, v in dataclasses.asdict(view).items()}, **extra}


def task_json(t: TaskView, *, full: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": t.id,
        "instance_id": t.instance_id,
        "process_key": t.process_key,
        "business_key": t.business_key,
        "bpmn_id": t.bpmn_id,
        "name": t.name,
        "lane": t.lane,
        "assignee": t.assignee,
        "candidate_groups": list(t.candidate_groups),
        "unit": t.unit,
        "created_at": iso(t.created_at),
        "due_at": iso(t.due_at),
        "time_state": t.time_state,
        "state": t.state,
        "completed_at": iso(t.completed_at),
        "completed_by": t.completed_by,
    }
    if full:
        doc["form"] = t.form
        doc["documentation"] = t.documentation
        doc["data"] = t.data
        doc["required_documents"] = list(t.required_documents)
        doc["waived_documents"] = list(t.waived_documents)
        doc["documents"] = [
            {"id": d.id, "doc_no": d.doc_no, "doc_type": d.doc_type, "filename": d.filename} for d in t.documents
        ]
    return doc


def history_json(h: HistoryView) -> dict[str, Any]:
    return {
        "id": h.id,
        "kind": h.kind,
        "at": iso(h.at),
        "actor": h.actor,
        "task_id": h.task_id,
        "bpmn_id": h.bpmn_id,
        "message": h.message,
        "data": h.data,
    }


def instance_json(i: InstanceView) -> dict[str, Any]:
    return {
        "id": i.id,
        "process_key": i.process_key,
        "version": i.version,
        "business_key": i.business_key,
        "status": i.status,
        "time_state": i.time_state,
        "data": i.data,
        "error": i.error,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "completed_at": iso(i.completed_at),
        "tasks": [task_json(t) for t in i.tasks],
        "history": [history_json(h) for h in i.history],
    }


def version_json(v: VersionView) -> dict[str, Any]:
    return plain(v)


def definition_json(d: DefinitionView) -> dict[str, Any]:
    return {
        "key": d.key,
        "name": d.name,
        "latest_version": d.latest_version,
        "versions": [version_json(v) for v in d.versions],
    }


def deploy_json(results: list[DeployResult]) -> dict[str, Any]:
    first = results[0]
    doc: dict[str, Any] = {"key": first.key, "version": first.version, "id": first.id, "is_new": first.is_new}
    if len(results) > 1:
        doc["definitions"] = [dataclasses.asdict(r) for r in results]
    return doc


def page_json(page: Page, item: Any) -> dict[str, Any]:
    return {"items": [item(x) for x in page.items], "total": page.total, "limit": page.limit, "offset": page.offset}


def move_json(r: MoveReport) -> dict[str, Any]:
    """One line of a version-move report."""
    return plain(r)
