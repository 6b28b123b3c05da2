"""Saving an advanced instance: state, human-task projection, timers, message waits and history, together."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from engine.bpmn.runtime import ProcessRun, cached_bundle
from engine.bpmn.serializer import SpecBundle
from engine.domain import time_limits
from engine.domain.errors import NotFoundError, ScriptError
from engine.domain.views import InstanceView, TaskView
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.services import deadlines, history, recorders


def load_run(repos: Repositories, instance: m.ProcessInstance) -> tuple[ProcessRun, m.DefinitionVersion]:
    """The instance's workflow, loaded against the spec of the version it started on."""
    version = repos.version_by_id(instance.definition_version_id)
    if version is None:
        raise NotFoundError(f"definition version {instance.definition_version_id} is missing")
    return ProcessRun.load(version_bundle(version), instance.state_json), version


def version_bundle(version: m.DefinitionVersion) -> SpecBundle:
    """The version's parsed spec; its large JSON column is read from the database only on a cache miss."""
    return cached_bundle((version.id, version.content_hash), lambda: version.spec_json)


def new_instance(
    repos: Repositories,
    version: m.DefinitionVersion,
    run: ProcessRun,
    *,
    business_key: str | None,
    unit_code: str | None,
    actor: str,
    now: dt.datetime,
) -> m.ProcessInstance:
    """Insert the row for a just-started run (saved by save_run)."""
    instance = m.ProcessInstance(
        id=str(uuid.uuid4()),
        definition_version_id=version.id,
        process_key=version.process_key,
        business_key=business_key,
        status="running",
        unit_code=unit_code,
        state_json="{}",
        data_json="{}",
        started_by=actor,
        created_at=now,
        updated_at=now,
    )
    repos.add(instance)
    return instance


def save_run(
    repos: Repositories,
    instance: m.ProcessInstance,
    run: ProcessRun,
    version: m.DefinitionVersion,
    *,
    actor: str | None,
    now: dt.datetime,
    status: str | None = None,
    note: str = "",
    record: m.Case | None = None,
    is_new: bool = False,
) -> list[m.HumanTask]:
    """Store the run's state and bring every projection in line with it; returns the instance's open tasks.

    `note` goes with the history event of an instance that ends here (e.g. why it was cancelled). Starting many
    (anomaly intake), the caller passes the case the instance runs (saves looking it up) and says the instance is
    new though already flushed (it has no task or timer rows to compare with).
    """
    was_error = instance.status == "error"
    instance.state_json = run.dump()
    instance.data_json = json.dumps(run.data, ensure_ascii=False, default=str)
    instance.status = status or run.status
    instance.updated_at = now
    unit = run.data.get("unit")
    if isinstance(unit, str) and unit:
        instance.unit_code = unit  # the responsible unit can change along the way (e.g. at dispatch)
    error = run.error
    instance.error_message = error.message if error else None
    instance.error_bpmn_id = error.bpmn_id if error else None
    if instance.status in ("completed", "cancelled") and instance.completed_at is None:
        instance.completed_at = now
    if instance in repos.session.new:
        is_new = True
        repos.flush()  # a new instance goes in before the rows that point at it
    # Otherwise one flush at commit: the instance row is written once and the inserts go out together.
    with repos.session.no_autoflush:
        return _sync(
            repos,
            instance,
            run,
            version,
            error,
            was_error,
            actor=actor,
            now=now,
            note=note,
            is_new=is_new,
            record=record,
        )


def _sync(
    repos: Repositories,
    instance: m.ProcessInstance,
    run: ProcessRun,
    version: m.DefinitionVersion,
    error: ScriptError | None,
    was_error: bool,
    *,
    actor: str | None,
    now: dt.datetime,
    note: str = "",
    is_new: bool = False,
    record: m.Case | None = None,
) -> list[m.HumanTask]:
    for event in run.events:
        history.record(
            repos, kind=event.kind, at=now, instance_id=instance.id, bpmn_id=event.bpmn_id, message=event.name
        )
    run.events.clear()
    if error is not None and not was_error:
        history.record(
            repos,
            kind="error",
            at=now,
            actor=actor,
            instance_id=instance.id,
            task_id=error.task_id,
            bpmn_id=error.bpmn_id,
            message=error.message,
        )
    if instance.status in ("completed", "cancelled"):
        history.record(repos, kind=instance.status, at=now, actor=actor, instance_id=instance.id, message=note)

    _sync_timers(repos, instance, run, now, is_new=is_new)
    opened, open_rows = _sync_tasks(repos, instance, run, version, now, is_new=is_new)
    if version.messages_json != "[]":  # a version that catches no message never has waits to sync
        repos.replace_message_waits(instance, run.waiting_messages() if instance.status == "running" else [])
    properties = json.loads(version.task_properties_json)
    for row in opened:
        recorders.task_opened(repos, instance, row, properties.get(row.bpmn_id, {}), now=now)
    recorders.instance_saved(repos, instance, properties, open_rows, now=now, case=record)
    return open_rows


def _sync_timers(
    repos: Repositories, instance: m.ProcessInstance, run: ProcessRun, now: dt.datetime, *, is_new: bool = False
) -> None:
    waiting = {t.task_id: t for t in run.timers()} if instance.status == "running" else {}
    for row in [] if is_new else repos.pending_timers(instance.id):  # a new instance has no rows yet
        timer = waiting.pop(row.task_id or "", None)
        if timer is None:
            row.status, row.fired_at = "done", now
        elif timer.due_at != row.due_at:
            row.due_at, row.lease_owner, row.lease_until = timer.due_at, None, None
    for timer in waiting.values():
        repos.add(
            m.Timer(
                kind="event",
                instance_id=instance.id,
                task_id=timer.task_id,
                bpmn_id=timer.bpmn_id,
                due_at=timer.due_at,
                status="pending",
            )
        )


def _sync_tasks(
    repos: Repositories,
    instance: m.ProcessInstance,
    run: ProcessRun,
    version: m.DefinitionVersion,
    now: dt.datetime,
    *,
    is_new: bool = False,
) -> tuple[list[m.HumanTask], list[m.HumanTask]]:
    """Cancel rows of tasks no longer open, insert rows for new ones; returns (the new rows, all open rows)."""
    open_now = {t.id: t for t in run.open_tasks()} if instance.status in ("running", "error") else {}
    still_open: list[m.HumanTask] = []
    for row in [] if is_new else repos.open_human_tasks(instance.id):
        if row.state != "open":
            continue  # completed in this transaction, not yet flushed
        if open_now.pop(row.id, None) is not None:
            still_open.append(row)
        else:
            row.state = "cancelled"
            repos.resolve_reminders("task", row.id, now)
            history.record(
                repos,
                kind="task_cancelled",
                at=now,
                instance_id=instance.id,
                task_id=row.id,
                bpmn_id=row.bpmn_id,
                message=row.name,
            )
    opened: list[m.HumanTask] = []
    if open_now:
        properties = json.loads(version.task_properties_json)
        boundary_due = {t.attached_to: t.due_at for t in run.timers() if t.attached_to}
        for task in open_now.values():
            props: dict[str, Any] = properties.get(task.bpmn_id, {})
            data = run.task_data(task.id)
            due_at, warn_at = deadlines.deadline(
                repos,
                process_key=instance.process_key,
                bpmn_id=task.bpmn_id,
                instance_id=instance.id,
                time_limit=props.get("time_limit"),
                boundary_due=boundary_due.get(task.id),
                now=now,
            )
            unit = data.get("unit")
            assignee = data.get(props["assignee_field"]) if props.get("assignee_field") else None
            row = m.HumanTask(
                id=task.id,
                instance_id=instance.id,
                process_key=instance.process_key,
                business_key=instance.business_key,
                bpmn_id=task.bpmn_id,
                name=task.name,
                lane=props.get("lane") or task.lane,
                assignee=assignee if isinstance(assignee, str) and assignee else None,
                unit_code=unit if isinstance(unit, str) and unit else instance.unit_code,
                form_key=props.get("form"),
                state="open",
                time_state=time_limits.time_state(now, warn_at, due_at).value,
                created_at=now,
                due_at=due_at,
                warn_at=warn_at,
            )
            repos.add(row)
            opened.append(row)
    open_rows = still_open + opened
    worst = time_limits.worst([t.time_state for t in open_rows])
    instance.time_state = worst.value if worst else None
    return opened, open_rows


def task_view(row: m.HumanTask, *, form: dict[str, Any] | None = None, documentation: str | None = None) -> TaskView:
    return TaskView(
        id=row.id,
        instance_id=row.instance_id,
        process_key=row.process_key,
        business_key=row.business_key,
        bpmn_id=row.bpmn_id,
        name=row.name,
        lane=row.lane,
        assignee=row.assignee,
        candidate_groups=(row.lane,) if row.lane else (),
        unit=row.unit_code,
        created_at=row.created_at,
        due_at=row.due_at,
        time_state=row.time_state,
        state=row.state,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        form=form,
        documentation=documentation,
    )


def instance_view(
    repos: Repositories,
    instance: m.ProcessInstance,
    *,
    with_history: bool = True,
    open_tasks: list[m.HumanTask] | None = None,
) -> InstanceView:
    version = repos.version_by_id(instance.definition_version_id)
    rows = open_tasks if open_tasks is not None else repos.open_human_tasks(instance.id)
    tasks = tuple(task_view(t) for t in rows)
    events = tuple(history.history_view(h) for h in repos.history(instance.id)) if with_history else ()
    error = (
        {"bpmn_id": instance.error_bpmn_id, "message": instance.error_message} if instance.status == "error" else None
    )
    return InstanceView(
        id=instance.id,
        process_key=instance.process_key,
        version=version.version if version else 0,
        business_key=instance.business_key,
        status=instance.status,
        time_state=instance.time_state,
        data=json.loads(instance.data_json),
        created_at=instance.created_at,
        updated_at=instance.updated_at,
        completed_at=instance.completed_at,
        error=error,
        tasks=tasks,
        history=events,
    )
