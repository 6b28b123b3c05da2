"""Instances: start, read, list, cancel, retry after an error, and deliver messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from engine.bpmn.runtime import ProcessRun
from engine.domain import time_limits
from engine.domain.access import may_see_instance
from engine.domain.errors import InvalidStateError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.task_data import clean_task_data
from engine.domain.views import Actor, CalledProcessView, DiagramView, ElementView, InstanceView, Page
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history
from engine.services.runs import instance_view, load_run, new_instance, save_run, version_bundle

STATUSES = ("running", "completed", "cancelled", "error")


def start_instance(
    uow: UnitOfWork,
    *,
    process_key: str,
    actor: Actor,
    now: dt.datetime,
    version: int | None = None,
    business_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> InstanceView:
    """Start the latest (or the given) version with data; it runs to its first wait state in this transaction."""
    data = clean_task_data(data)
    if business_key is not None and (not isinstance(business_key, str) or not 0 < len(business_key) <= 200):
        raise ValidationError({"business_key": ["must be text of 1 to 200 characters"]})
    with uow as repos:
        return start_in_transaction(
            repos,
            process_key=process_key,
            version=version,
            data=data,
            business_key=business_key,
            actor=actor.username,
            now=now,
        )


def start_in_transaction(
    repos: Repositories,
    *,
    process_key: str,
    data: dict[str, Any],
    business_key: str | None,
    actor: str,
    now: dt.datetime,
    version: int | None = None,
    before_save: Callable[[str], None] | None = None,
) -> InstanceView:
    """Start an instance inside the caller's transaction; `before_save` links a record to the new instance id."""
    row = repos.version(process_key, version) if version is not None else repos.latest_version(process_key)
    if row is None:
        what = f"version {version} of {process_key}" if version is not None else process_key
        raise NotFoundError(f"no deployed definition {what}", {"fields": {"process_key": ["not deployed"]}})
    return _start(repos, row, data=data, business_key=business_key, actor=actor, now=now, before_save=before_save)


def start_cases_in_transaction(
    repos: Repositories,
    row: m.DefinitionVersion,
    *,
    cases: list[tuple[m.Case, dict[str, Any]]],
    actor: str,
    now: dt.datetime,
) -> None:
    """Start one instance per (flushed) case with its data, linking each case to its instance: the instance rows go
    in with one flush, then every projection with the next (instead of a flush per instance)."""
    started: list[tuple[m.Case, m.ProcessInstance, ProcessRun]] = []
    for case, data in cases:
        run = ProcessRun.start(version_bundle(row), data, now=now)
        unit = data.get("unit") if isinstance(data.get("unit"), str) else None
        instance = new_instance(repos, row, run, business_key=case.case_no, unit_code=unit, actor=actor, now=now)
        case.instance_id = instance.id
        history.record(
            repos,
            kind="started",
            at=now,
            actor=actor,
            instance_id=instance.id,
            message=f"{row.process_key} version {row.version}",
            data=data,
        )
        started.append((case, instance, run))
    repos.flush()
    for case, instance, run in started:
        save_run(repos, instance, run, row, actor=actor, now=now, record=case, is_new=True)
    repos.flush()


def _start(
    repos: Repositories,
    row: m.DefinitionVersion,
    *,
    data: dict[str, Any],
    business_key: str | None,
    actor: str,
    now: dt.datetime,
    before_save: Callable[[str], None] | None = None,
) -> InstanceView:
    run = ProcessRun.start(version_bundle(row), data, now=now)
    unit = data.get("unit") if isinstance(data.get("unit"), str) else None
    instance = new_instance(repos, row, run, business_key=business_key, unit_code=unit, actor=actor, now=now)
    if before_save is not None:
        before_save(instance.id)
    history.record(
        repos,
        kind="started",
        at=now,
        actor=actor,
        instance_id=instance.id,
        message=f"{row.process_key} version {row.version}",
        data=data,
    )
    open_tasks = save_run(repos, instance, run, row, actor=actor, now=now)
    return instance_view(repos, instance, open_tasks=open_tasks, with_history=False)  # just started: "started"


def start_from_timer(repos: Repositories, row: m.DefinitionVersion, *, now: dt.datetime) -> InstanceView:
    """Start an instance because its timer start event fired (called inside the timer's transaction)."""
    return _start(repos, row, data={}, business_key=None, actor="scheduler", now=now)


def get_instance(uow: UnitOfWork, *, instance_id: str, actor: Actor) -> InstanceView:
    """An instance with its open tasks and full history, if the actor may see it."""
    with uow as repos:
        instance = _visible(repos, instance_id, actor)
        return instance_view(repos, instance)


def instance_diagram(uow: UnitOfWork, *, instance_id: str, actor: Actor) -> DiagramView:
    """Each element the instance has reached and how it stands, open human tasks with their time state."""
    with uow as repos:
        instance = _visible(repos, instance_id, actor)
        run, version = load_run(repos, instance)
        time_states: dict[str, list[str]] = {}
        for row in repos.open_human_tasks(instance.id):
            time_states.setdefault(row.bpmn_id, []).append(row.time_state)
        elements = []
        for element in run.element_states():
            worst = time_limits.worst(time_states.get(element.bpmn_id, [])) if element.state == "active" else None
            elements.append(
                ElementView(
                    bpmn_id=element.bpmn_id,
                    state=element.state,
                    process=element.process,
                    waits_for=element.waits_for,
                    time_state=worst.value if worst else None,
                )
            )
        called = tuple(CalledProcessView(c.activity, c.process, c.status) for c in run.called_processes())
        return DiagramView(
            instance_id=instance.id,
            process_key=instance.process_key,
            version=version.version,
            status=instance.status,
            elements=tuple(elements),
            called=called,
        )


def visible_variables(view: InstanceView, actor: Actor) -> dict[str, Any]:
    """The variables a person is shown (read-only): admins all of them, others all but the internal `_` ones."""
    if actor.is_admin:
        return dict(view.data)
    return {k: v for k, v in view.data.items() if not k.startswith("_")}


def list_instances(
    uow: UnitOfWork,
    *,
    actor: Actor,
    status: str | None = None,
    process_key: str | None = None,
    time_state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """A page of instances the actor may see, newest first."""
    if status is not None and status not in STATUSES:
        raise ValidationError({"status": [f"must be one of {', '.join(STATUSES)}"]})
    with uow as repos:
        return queries.instances_page(
            repos.session,
            actor=actor,
            status=status,
            process_key=process_key,
            time_state=time_state,
            limit=limit,
            offset=offset,
        )


def cancel_instance(
    uow: UnitOfWork, *, instance_id: str, actor: Actor, now: dt.datetime, reason: str = ""
) -> InstanceView:
    """Cancel a running (or failed) instance: its open tasks and timers end, history says who did it and why."""
    with uow as repos:
        instance = _visible(repos, instance_id, actor, for_update=True)
        if not (actor.is_admin or "supervisor" in actor.roles or instance.started_by == actor.username):
            raise PermissionDeniedError("only admins, supervisors and the person who started it may cancel")
        if instance.status not in ("running", "error"):
            raise InvalidStateError(f"the instance is {instance.status}; only running instances can be cancelled")
        run, version = load_run(repos, instance)
        run.cancel()
        open_tasks = save_run(
            repos, instance, run, version, actor=actor.username, now=now, status="cancelled", note=reason
        )
        return instance_view(repos, instance, open_tasks=open_tasks)


def retry_instance(
    uow: UnitOfWork,
    *,
    instance_id: str,
    actor: Actor,
    now: dt.datetime,
    data: dict[str, Any] | None = None,
    reason: str = "",
) -> InstanceView:
    """Admin: rerun the failed step of an instance in error, with corrected data merged in."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may retry a failed instance")
    data = clean_task_data(data)
    with uow as repos:
        instance = _visible(repos, instance_id, actor, for_update=True)
        if instance.status != "error":
            raise InvalidStateError(f"the instance is {instance.status}, not in error")
        run, version = load_run(repos, instance)
        history.record(
            repos,
            kind="retried",
            at=now,
            actor=actor.username,
            instance_id=instance.id,
            bpmn_id=instance.error_bpmn_id,
            message=reason,
            data=data,
        )
        instance.status = "running"  # so a repeated failure is recorded as a new error
        run.retry(data, now=now)
        open_tasks = save_run(repos, instance, run, version, actor=actor.username, now=now)
        return instance_view(repos, instance, open_tasks=open_tasks)


def deliver_message(
    uow: UnitOfWork,
    *,
    name: str,
    actor: Actor,
    now: dt.datetime,
    correlation_key: str | None = None,
    payload: Any = None,
) -> list[str]:
    """Deliver a BPMN message to the instances waiting for it that the caller may see (matched on business key)."""
    if not isinstance(name, str) or not name:
        raise ValidationError({"name": ["the message name is required"]})
    payload = clean_task_data({"payload": payload})["payload"]
    delivered = []
    with uow as repos:
        for instance_id in repos.instances_waiting_for(name, correlation_key):
            instance = repos.instance(instance_id, for_update=True)
            if instance is None or instance.status != "running":
                continue
            lanes = queries.instance_lanes(repos.session, instance.id)
            if not may_see_instance(actor, unit_code=instance.unit_code, lanes=lanes, started_by=instance.started_by):
                continue  # a caller reaches only the instances they may see (not every instance waiting anywhere)
            run, version = load_run(repos, instance)
            if run.deliver_message(name, payload, now=now):
                history.record(
                    repos,
                    kind="message_delivered",
                    at=now,
                    actor=actor.username,
                    instance_id=instance.id,
                    message=name,
                    data={"payload": payload},
                )
                save_run(repos, instance, run, version, actor=actor.username, now=now)
                delivered.append(instance.id)
    return delivered


def _visible(repos: Repositories, instance_id: str, actor: Actor, *, for_update: bool = False) -> m.ProcessInstance:
    instance = repos.instance(instance_id, for_update=for_update)
    if instance is None:
        raise NotFoundError(f"no instance {instance_id}")
    lanes = queries.instance_lanes(repos.session, instance.id)
    if not may_see_instance(actor, unit_code=instance.unit_code, lanes=lanes, started_by=instance.started_by):
        raise NotFoundError(f"no instance {instance_id}")  # 404, not 403: do not confirm it exists
    return instance
