"""Moving a running workflow onto another version's spec: what stands in the way, and the move itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import serializer
from engine.bpmn.clock import engine_time
from engine.bpmn.scripting import script_engine

# Where a token can stand: a step waiting for people or events, or an activity (call, sub-process) under way.
OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
NOT_REACHED = TaskState.PREDICTED_MASK | TaskState.FUTURE


@dataclass(frozen=True)
class Obstacle:
    """Why a workflow cannot move: a stable code, the element concerned and a sentence."""

    code: str
    element_id: str | None
    message: str


def obstacles(workflow: BpmnWorkflow, target: serializer.SpecBundle) -> list[Obstacle]:
    """Everything that keeps this workflow from moving onto `target` (empty: it can move)."""
    found: list[Obstacle] = []
    if workflow.spec.name != target.spec.name:
        found.append(Obstacle("other_process", None, f"the target is process {target.spec.name}"))
        return found
    top, subs = diff_workflow(serializer.registry(), workflow, target.spec, target.subprocess_specs)
    found.extend(_removed(top, None))
    for sp_id, diff in subs.items():
        called = workflow.subprocesses[sp_id].spec.name
        if diff is None:
            found.append(
                Obstacle("called_process_missing", called, f"called process {called} is not part of the target")
            )
        else:
            found.extend(_removed(diff, called))
    if not found:
        try:
            moved(workflow, target, now=dt.datetime.now(dt.UTC), trial=True)
        except Exception as exc:  # a move that cannot be stored and loaded again is refused, never half-done
            found.append(Obstacle("state_not_portable", None, f"the state cannot be carried over: {exc}"))
    return found


def moved(workflow: BpmnWorkflow, target: serializer.SpecBundle, *, now: dt.datetime, trial: bool = False) -> Any:
    """A copy of `workflow` moved onto `target`, proven by a store-and-load round trip (the original is untouched)."""
    copy = serializer.load_state(_bundle_of(workflow), serializer.dump_state(workflow))
    copy.script_engine = script_engine()  # a step made ready again may run its pre-script
    timers = _timer_values(copy)
    # migrate_workflow tests `last_task in workflow.tasks` (a dict keyed by id), so it always forgets the last task,
    # and with it the instance's current data; it is put back below.
    last = {sp_id: sub.last_task.id for sp_id, sub in copy.subprocesses.items() if sub.last_task is not None}
    top_last = copy.last_task.id if copy.last_task is not None else None
    with engine_time(now):
        top, subs = diff_workflow(serializer.registry(), copy, target.spec, target.subprocess_specs)
        for sp_id, diff in subs.items():
            sub = copy.subprocesses[sp_id]
            if diff is None:
                raise ValueError(f"called process {sub.spec.name} is not part of the target")
            migrate_workflow(diff, sub, target.subprocess_specs[sub.spec.name])
        migrate_workflow(top, copy, target.spec)
        for workflow_ in [copy, *copy.subprocesses.values()]:
            _predict_after_running_activities(workflow_)
        copy.last_task = copy.tasks.get(top_last) if top_last else None
        for sp_id, task_id in last.items():
            sub = copy.subprocesses[sp_id]
            sub.last_task = sub.tasks.get(task_id)
        copy.subprocess_specs = target.subprocess_specs
        _restore_timers(copy, timers)
    state = serializer.dump_state(copy)
    reloaded = serializer.load_state(target, state)
    missing = [t for t in reloaded.get_tasks() if t.task_spec is None]
    if missing:
        raise ValueError(f"{len(missing)} steps would lose their definition")
    return copy if trial else reloaded


def _removed(diff: WorkflowDiff, called: str | None) -> list[Obstacle]:
    where = f" (in called process {called})" if called else ""
    found = []
    # Spiff also pairs renamed elements by their position in the flow; a move goes by element id only.
    renamed = [t for t, spec in diff.alignment.items() if spec is not None and spec.name != t.task_spec.name]
    for task in [*diff.removed, *renamed]:
        element = task.task_spec.bpmn_id or task.task_spec.name
        if task.state & OPEN:
            found.append(Obstacle("open_step_missing", element, f"open step {element}{where} does not exist"))
        elif task.state & TaskState.FINISHED_MASK:
            found.append(Obstacle("done_step_missing", element, f"completed step {element}{where} does not exist"))
        # Predicted steps are dropped and predicted again from the target when the step before them is reset.
    return found


def _predict_after_running_activities(workflow: Any) -> None:
    """Predict again what follows a running call activity or sub-process, from the target's flow.

    migrate_workflow re-predicts only below ready and waiting steps; without this an activity that is under way
    would, when it ends, go on along the old version's path.
    """
    for task in list(workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True)):
        if not task.children or not all(c.has_state(NOT_REACHED) for c in task.children):
            continue
        for child in list(task.children):
            workflow._remove_task(child.id)
        task.task_spec._predict(task, mask=TaskState.STARTED | NOT_REACHED)


def _bundle_of(workflow: BpmnWorkflow) -> serializer.SpecBundle:
    return serializer.SpecBundle(key=workflow.spec.name, spec=workflow.spec, subprocess_specs=workflow.subprocess_specs)


def _timer_values(workflow: BpmnWorkflow) -> dict[Any, tuple[str, Any]]:
    """Armed timers by task id: a move re-arms waiting events, and a timer must keep its original due time."""
    found = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task.internal_data.get("event_value")
        if isinstance(definition, TimerEventDefinition) and value is not None:
            found[task.id] = (task.task_spec.bpmn_id, value)
    return found


def _restore_timers(workflow: BpmnWorkflow, timers: dict[Any, tuple[str, Any]]) -> None:
    for task in workflow.get_tasks(state=TaskState.WAITING):
        kept = timers.get(task.id)
        if kept is not None and kept[0] == task.task_spec.bpmn_id:
            task.internal_data["event_value"] = kept[1]
