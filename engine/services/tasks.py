"""Human tasks: the inbox, reading one task with its form, claiming, releasing and completing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from engine.domain.access import may_see_unit, may_work_task
from engine.domain.errors import (
    ConflictError,
    EngineError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from engine.domain.forms import validate_form_data
from engine.domain.task_data import clean_task_data
from engine.domain.units import subtree
from engine.domain.views import Actor, InstanceView, Page, TaskView
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import archives, history, recorders
from engine.services.documents import document_view
from engine.services.runs import instance_view, load_run, save_run, task_view

SCOPES = ("mine", "group", "all")
STATES = ("open", "completed")
TIME_STATES = ("green", "yellow", "red")


def list_tasks(
    uow: UnitOfWork,
    *,
    actor: Actor,
    scope: str = "all",
    state: str = "open",
    time_state: str | None = None,
    process_key: str | None = None,
    unit_code: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """The actor's inbox: tasks assigned to them, their roles' unclaimed tasks, or what they completed."""
    problems = {}
    if scope not in SCOPES:
        problems["scope"] = [f"must be one of {', '.join(SCOPES)}"]
    if state not in STATES:
        problems["state"] = [f"must be one of {', '.join(STATES)}"]
    if time_state is not None and time_state not in TIME_STATES:
        problems["time_state"] = [f"must be one of {', '.join(TIME_STATES)}"]
    if not 1 <= limit <= 500:
        problems["limit"] = ["must be between 1 and 500"]
    if offset < 0:
        problems["offset"] = ["must not be negative"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        return queries.tasks_page(
            repos.session,
            actor=actor,
            scope=scope,
            state=state,
            time_state=time_state,
            process_key=process_key,
            unit_code=unit_code,
            search=search,
            limit=limit,
            offset=offset,
        )


def inbox_counts(uow: UnitOfWork, *, actor: Actor) -> dict[str, dict[str, int]]:
    """Counts for the inbox tabs: open tasks of mine and my groups per time state, and what I completed."""
    with uow as repos:
        return queries.inbox_counts(repos.session, actor=actor)


def get_task(uow: UnitOfWork, *, task_id: str, actor: Actor) -> TaskView:
    """One task with its form definition and instructions."""
    with uow as repos:
        row = _task(repos, task_id)
        if not (
            may_work_task(actor, lane=row.lane, assignee=row.assignee, unit_code=row.unit_code)
            or row.completed_by == actor.username
            or ("supervisor" in actor.roles and may_see_unit(actor, row.unit_code))
        ):
            raise NotFoundError(f"no task {task_id}")
        version = _version_of(repos, row)
        props = json.loads(version.task_properties_json).get(row.bpmn_id, {})
        form = json.loads(version.forms_json).get(row.form_key) if row.form_key else None
        data = None
        if row.state == "open":
            instance = repos.instance(row.instance_id)
            data = load_run(repos, instance)[0].task_data(row.id) if instance else None
        view = task_view(row, form=form, documentation=props.get("documentation"))
        return dataclasses.replace(
            view,
            data=data,
            required_documents=tuple(props.get("required_documents") or ()),
            documents=tuple(document_view(d) for d in repos.documents(row.instance_id, row.bpmn_id)),
            waived_documents=tuple(w.doc_type for w in repos.waivers(row.instance_id, row.bpmn_id)),
        )


def claim_task(uow: UnitOfWork, *, task_id: str, actor: Actor, now: dt.datetime) -> TaskView:
    """Take a task of one's role for oneself; 409 when someone else holds it."""
    with uow as repos:
        row = _workable(repos, task_id, actor)
        if row.assignee == actor.username:
            return task_view(row)
        if not repos.claim_task(task_id, actor.username, expected=None):
            repos.session.refresh(row)
            raise ConflictError(f"the task is already claimed by {row.assignee}", {"assignee": row.assignee})
        repos.session.refresh(row)
        history.record(
            repos,
            kind="task_claimed",
            at=now,
            actor=actor.username,
            instance_id=row.instance_id,
            task_id=row.id,
            bpmn_id=row.bpmn_id,
            message=row.name,
        )
        return task_view(row)


def unclaim_task(uow: UnitOfWork, *, task_id: str, actor: Actor, now: dt.datetime) -> TaskView:
    """Give a claimed task back to its role (the assignee or an admin)."""
    with uow as repos:
        row = _workable(repos, task_id, actor)
        if row.assignee is None:
            return task_view(row)
        if row.assignee != actor.username and not actor.is_admin:
            raise PermissionDeniedError(f"only {row.assignee} or an admin may release this task")
        previous = row.assignee
        repos.claim_task(task_id, None, expected=previous)
        repos.session.refresh(row)
        history.record(
            repos,
            kind="task_unclaimed",
            at=now,
            actor=actor.username,
            instance_id=row.instance_id,
            task_id=row.id,
            bpmn_id=row.bpmn_id,
            message=row.name,
            data={"previous": previous},
        )
        return task_view(row)


def reassign_task(
    uow: UnitOfWork, *, task_id: str, to_user: str | None, actor: Actor, now: dt.datetime, reason: str = ""
) -> TaskView:
    """Supervisors and admins: give an open task to a person of its role in its unit, or back to the role (None)."""
    _check_may_reassign(actor)
    with uow as repos:
        return task_view(_reassign(repos, task_id, to_user, actor=actor, now=now, reason=reason))


def reassign_tasks(
    uow: UnitOfWork, *, task_ids: list[str], to_user: str | None, actor: Actor, now: dt.datetime, reason: str = ""
) -> list[dict[str, Any]]:
    """Reassign many tasks at once; each is checked before it changes, and each refusal says why."""
    _check_may_reassign(actor)
    results: list[dict[str, Any]] = []
    with uow as repos:
        for task_id in task_ids:
            try:
                _reassign(repos, task_id, to_user, actor=actor, now=now, reason=reason)
                results.append({"task_id": task_id, "result": "reassigned", "to": to_user})
            except EngineError as exc:
                results.append({"task_id": task_id, "result": "refused", "reason": exc.message})
    return results


def reassign_candidates(uow: UnitOfWork, *, task_id: str, actor: Actor) -> list[str]:
    """Supervisors and admins: the active people of an open task's role who work in or above its unit."""
    _check_may_reassign(actor)
    with uow as repos:
        row = repos.human_task(task_id)
        if row is None or not may_see_unit(actor, row.unit_code) or not row.lane:
            return []
        parents = repos.unit_parents()
        return [
            user.username
            for user in repos.users_in_role(row.lane)
            if not (row.unit_code and user.unit_code and row.unit_code not in subtree(parents, user.unit_code))
        ]


def _check_may_reassign(actor: Actor) -> None:
    if not actor.roles & {"admin", "supervisor"}:
        raise PermissionDeniedError("only supervisors and admins may reassign tasks")


def _reassign(
    repos: Repositories, task_id: str, to_user: str | None, *, actor: Actor, now: dt.datetime, reason: str
) -> m.HumanTask:
    row = repos.human_task(task_id)
    if row is None or not may_see_unit(actor, row.unit_code):
        raise NotFoundError(f"no task {task_id}")
    if row.state != "open":
        raise InvalidStateError(f"the task is {row.state}", {"state": row.state})
    if to_user is not None:
        target = repos.user_by_name(to_user)
        if target is None or not target.is_active:
            raise ValidationError({"to": [f"no active user {to_user}"]})
        if row.lane and row.lane not in repos.user_roles(target.id):
            raise ValidationError({"to": [f"{to_user} does not have the role {row.lane}"]})
        if row.unit_code and target.unit_code and row.unit_code not in subtree(repos.unit_parents(), target.unit_code):
            raise ValidationError({"to": [f"{to_user} works outside unit {row.unit_code}"]})
    previous = row.assignee
    row.assignee = to_user
    history.record(
        repos,
        kind="task_reassigned",
        at=now,
        actor=actor.username,
        instance_id=row.instance_id,
        task_id=row.id,
        bpmn_id=row.bpmn_id,
        message=reason or row.name,
        data={"from": previous, "to": to_user},
    )
    return row


def complete_task(
    uow: UnitOfWork, *, task_id: str, data: dict[str, Any] | None, actor: Actor, now: dt.datetime
) -> InstanceView:
    """Complete a task with form data and advance its instance, all in one transaction; exactly one completion wins."""
    data = clean_task_data(data)
    with uow as repos:
        row = _task(repos, task_id)
        # Lock the instance first, then re-read the task: a racing completion is seen as done, not redone.
        instance = repos.instance(row.instance_id, for_update=True)
        if instance is None:
            raise NotFoundError(f"no task {task_id}")
        repos.session.refresh(row)
        _check_may_work(row, actor)
        run, version = load_run(repos, instance)
        props = json.loads(version.task_properties_json).get(row.bpmn_id, {})
        form = json.loads(version.forms_json).get(row.form_key) if row.form_key else None
        data = validate_form_data(form, data)
        _check_required_documents(repos, row, props)
        data = recorders.task_completing(
            repos, instance, props, data, task_data=run.task_data(task_id), actor=actor.username, now=now
        )
        run.complete(task_id, data, now=now)
        row.state, row.completed_at, row.completed_by = "completed", now, actor.username
        repos.resolve_reminders("task", row.id, now)
        if props.get("required_documents"):
            archives.start_obligation(repos, row, responsible=actor.username, now=now)
        on_behalf = row.assignee if row.assignee not in (None, actor.username) else None
        history.record(
            repos,
            kind="task_completed",
            at=now,
            actor=actor.username,
            instance_id=instance.id,
            task_id=row.id,
            bpmn_id=row.bpmn_id,
            message=row.name,
            data={
                "data": data,
                **({"on_behalf_of": on_behalf} if on_behalf else {}),
                **({"as_admin": True} if actor.is_admin and row.lane not in actor.roles else {}),
            },
        )
        open_tasks = save_run(repos, instance, run, version, actor=actor.username, now=now)
        return instance_view(repos, instance, open_tasks=open_tasks)


def _check_required_documents(repos: Repositories, row: m.HumanTask, props: dict[str, Any]) -> None:
    required = props.get("required_documents") or []
    if not required:
        return
    present = {d.doc_type for d in repos.documents(row.instance_id, row.bpmn_id)}
    present |= {w.doc_type for w in repos.waivers(row.instance_id, row.bpmn_id)}
    missing = [doc for doc in required if doc not in present]
    if missing:
        raise ValidationError(
            {"documents": [f"attach {doc} (or have a reviewer waive it)" for doc in missing]},
            message=f"required documents missing: {', '.join(missing)}",
        )


def _task(repos: Repositories, task_id: str) -> m.HumanTask:
    row = repos.human_task(task_id)
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    return row


def _workable(repos: Repositories, task_id: str, actor: Actor) -> m.HumanTask:
    row = _task(repos, task_id)
    _check_may_work(row, actor)
    return row


def _check_may_work(row: m.HumanTask, actor: Actor) -> None:
    if row.state != "open":
        by = f" by {row.completed_by}" if row.completed_by else ""
        raise InvalidStateError(
            f"the task was already {row.state}{by}",
            {
                "state": row.state,
                "completed_by": row.completed_by,
                "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            },
        )
    if not may_work_task(actor, lane=row.lane, assignee=row.assignee, unit_code=row.unit_code):
        raise PermissionDeniedError(f"this task belongs to the role {row.lane}; you are not a member")
    if row.assignee not in (None, actor.username) and not actor.is_admin:
        raise ConflictError(f"the task is claimed by {row.assignee}", {"assignee": row.assignee})


def _version_of(repos: Repositories, row: m.HumanTask) -> m.DefinitionVersion:
    instance = repos.instance(row.instance_id)
    version = repos.version_by_id(instance.definition_version_id) if instance else None
    if version is None:
        raise NotFoundError(f"no task {row.id}")
    return version
