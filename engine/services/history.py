"""The append-only history: every service that changes something records it here."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from engine.domain.views import HistoryView
from engine.persistence import models as m
from engine.persistence.repositories import Repositories


def record(
    repos: Repositories,
    *,
    kind: str,
    at: dt.datetime,
    actor: str | None = None,
    instance_id: str | None = None,
    task_id: str | None = None,
    bpmn_id: str | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
    subject: str | None = None,
) -> None:
    """Append one event (`subject` names what an admin change was about, e.g. "user:alice")."""
    repos.add(
        m.HistoryEvent(
            instance_id=instance_id,
            task_id=task_id,
            bpmn_id=bpmn_id,
            kind=kind,
            actor=actor,
            at=at,
            message=message,
            data_json=json.dumps(data, ensure_ascii=False, default=str) if data is not None else None,
            subject=subject,
        )
    )


def record_many(repos: Repositories, events: list[dict[str, Any]], *, at: dt.datetime, actor: str | None) -> None:
    """Append many events in one insert (each: kind, instance_id, message, data; task and BPMN ids optional)."""
    repos.add_history_rows(
        [
            {
                "instance_id": e.get("instance_id"),
                "task_id": e.get("task_id"),
                "bpmn_id": e.get("bpmn_id"),
                "kind": e["kind"],
                "actor": actor,
                "at": at,
                "message": e.get("message", ""),
                "data_json": json.dumps(e["data"], ensure_ascii=False, default=str)
                if e.get("data") is not None
                else None,
            }
            for e in events
        ]
    )


def history_view(row: m.HistoryEvent) -> HistoryView:
    return HistoryView(
        id=row.id,
        kind=row.kind,
        at=row.at,
        actor=row.actor,
        task_id=row.task_id,
        bpmn_id=row.bpmn_id,
        message=row.message,
        data=json.loads(row.data_json) if row.data_json else None,
        subject=row.subject,
    )
