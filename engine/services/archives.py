"""Archive obligations: a document-producing step's files owed to the archive collector within 48 hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.domain import time_limits
from engine.domain.access import may_see_unit
from engine.domain.errors import InvalidStateError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import deadlines, history

ARCHIVE_RULES_KEY = "archive"  # time-limit rules with this process key set the archive deadline per step
DEFAULT_LIMIT = dt.timedelta(hours=48)
COLLECTING_ROLES = frozenset({"archive_collector", "admin"})


@dataclass(frozen=True)
class ObligationView:
    id: int
    instance_id: str
    business_key: str | None
    step: str
    name: str
    responsible: str
    unit: str | None
    state: str
    time_state: str
    created_at: dt.datetime
    due_at: dt.datetime
    ended_at: dt.datetime | None
    ended_by: str | None
    is_on_time: bool | None


def _view(o: m.ArchiveObligation) -> ObligationView:
    return ObligationView(
        o.id,
        o.instance_id,
        o.business_key,
        o.step,
        o.name,
        o.responsible,
        o.unit_code,
        o.state,
        o.time_state,
        o.created_at,
        o.due_at,
        o.ended_at,
        o.ended_by,
        o.is_on_time,
    )


def start_obligation(repos: Repositories, task: m.HumanTask, *, responsible: str, now: dt.datetime) -> None:
    """Called when a document-producing step completes: its documents are now owed to the collector."""
    due, warn = deadlines.deadline(
        repos,
        process_key=ARCHIVE_RULES_KEY,
        bpmn_id=task.bpmn_id,
        instance_id=task.instance_id,
        time_limit=None,
        boundary_due=now + DEFAULT_LIMIT,
        now=now,
    )
    due = due or now + DEFAULT_LIMIT
    warn = warn or time_limits.warn_at(now, due)
    repos.add(
        m.ArchiveObligation(
            instance_id=task.instance_id,
            task_id=task.id,
            process_key=task.process_key,
            business_key=task.business_key,
            step=task.bpmn_id,
            name=task.name,
            responsible=responsible,
            unit_code=task.unit_code,
            state="open",
            time_state="green",
            created_at=now,
            due_at=due,
            warn_at=warn,
        )
    )


def list_obligations(
    uow: UnitOfWork, *, actor: Actor, scope: str = "mine", state: str = "open"
) -> list[ObligationView]:
    """Mine (what I owe) or to collect (open obligations in my units, for collectors)."""
    if scope not in ("mine", "collect"):
        raise ValidationError({"scope": ["mine or collect"]})
    if scope == "collect" and not actor.roles & COLLECTING_ROLES:
        raise PermissionDeniedError("only archive collectors see what is to be collected")
    with uow as repos:
        rows = queries.obligations(
            repos.session,
            responsible=actor.username if scope == "mine" else None,
            units=None if actor.is_admin else actor.units,
            state=state,
        )
        return [_view(o) for o in rows]


def receive(uow: UnitOfWork, *, obligation_id: int, actor: Actor, now: dt.datetime) -> ObligationView:
    """The collector received the documents: the obligation ends, on time or not."""
    return _end(uow, obligation_id=obligation_id, actor=actor, now=now, state="received", reason=None)


def return_documents(
    uow: UnitOfWork, *, obligation_id: int, actor: Actor, now: dt.datetime, reason: str
) -> ObligationView:
    """The collector sent the documents back (incomplete, illegible …): the obligation ends with the reason."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["say what is wrong with the documents"]})
    return _end(uow, obligation_id=obligation_id, actor=actor, now=now, state="returned", reason=reason.strip())


def _end(
    uow: UnitOfWork, *, obligation_id: int, actor: Actor, now: dt.datetime, state: str, reason: str | None
) -> ObligationView:
    if not actor.roles & COLLECTING_ROLES:
        raise PermissionDeniedError("only archive collectors receive or return documents")
    with uow as repos:
        row = repos.obligation(obligation_id)
        if row is None or not may_see_unit(actor, row.unit_code):
            raise NotFoundError(f"no archive obligation {obligation_id}")
        if row.state != "open":
            raise InvalidStateError(f"the documents were already {row.state} by {row.ended_by}")
        row.state, row.ended_at, row.ended_by, row.return_reason = state, now, actor.username, reason
        row.is_on_time = now <= row.due_at
        repos.resolve_reminders("obligation", str(row.id), now)
        history.record(
            repos,
            kind=f"archive_{state}",
            at=now,
            actor=actor.username,
            instance_id=row.instance_id,
            task_id=row.task_id,
            bpmn_id=row.step,
            message=reason or row.name,
            data={"on_time": row.is_on_time, "hours": round((now - row.created_at).total_seconds() / 3600, 2)},
        )
        return _view(row)
