"""Typed facade over a running SpiffWorkflow instance: start, load, advance, complete, timers, messages."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util import task as bpmn_task_util
from SpiffWorkflow.util import task as task_util
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import serializer, version_moves
from engine.bpmn.clock import engine_time
from engine.bpmn.errors import script_error
from engine.bpmn.scripting import script_engine
from engine.domain.errors import InvalidStateError, NotFoundError, ScriptError, ValidationError

# Gateway loops nest one level per pass; Spiff's iterators silently stop at depth 1000 (SPIFFWORKFLOW.md §7.1).
_MAX_DEPTH = 20_000
task_util.TaskIterator.__init__.__defaults__ = (None, _MAX_DEPTH, True, None)
bpmn_task_util.BpmnTaskIterator.__init__.__defaults__ = (None, _MAX_DEPTH, True, False, None)


_BUNDLES: OrderedDict[Hashable, serializer.SpecBundle] = OrderedDict()
_BUNDLES_LOCK = threading.Lock()
_BUNDLES_MAX = 256


def cached_bundle(key: Hashable, load_json: Callable[[], str]) -> serializer.SpecBundle:
    """The parsed spec under `key`, parsed from load_json() on a miss; cached per process (specs are read-only)."""
    with _BUNDLES_LOCK:
        found = _BUNDLES.get(key)
        if found is not None:
            _BUNDLES.move_to_end(key)
            return found
    bundle = serializer.load_spec(load_json())
    with _BUNDLES_LOCK:
        _BUNDLES[key] = bundle
        while len(_BUNDLES) > _BUNDLES_MAX:
            _BUNDLES.popitem(last=False)
    return bundle


def bundle_for(version_id: int, spec_json: str) -> serializer.SpecBundle:
    """The parsed spec of a definition version given its JSON (the hash guards against reused ids)."""
    return cached_bundle((version_id, hash(spec_json)), lambda: spec_json)


@dataclass(frozen=True)
class OpenTask:
    """A human task waiting for a person (user task, manual task or plain task)."""

    id: str
    bpmn_id: str
    name: str
    lane: str | None
    documentation: str | None


@dataclass(frozen=True)
class WaitingTimer:
    """A timer the instance waits on, with the moment it is due."""

    task_id: str
    bpmn_id: str
    due_at: dt.datetime
    attached_to: str | None  # the task id of the activity a boundary timer sits on


@dataclass(frozen=True)
class ElementState:
    """Where an element of the diagram stands: completed, active, waiting (timer, message, join) or error."""

    bpmn_id: str
    state: str
    process: str  # the process the element belongs to: the instance's own or a called one
    waits_for: str | None = None  # timer or message, for waiting events


@dataclass(frozen=True)
class CalledProcess:
    """A called process run inside this instance by a call activity (or an embedded sub-process)."""

    activity: str  # the bpmn id of the calling element
    process: str
    status: str  # running or completed


_STATE_RANK = {"completed": 0, "waiting": 1, "active": 2, "error": 3}


@dataclass(frozen=True)
class EngineEvent:
    """Something the engine did by itself while advancing (a timer fired, a message was caught)."""

    kind: str
    bpmn_id: str
    name: str


class ProcessRun:
    """One instance loaded in memory; the only handle services hold on a running workflow."""

    def __init__(self, workflow: BpmnWorkflow) -> None:
        self._wf = workflow
        # The script engine is not serialized: without this the unrestricted default comes back after a load.
        self._wf.script_engine = script_engine()
        self.events: list[EngineEvent] = []

    @classmethod
    def start(cls, bundle: serializer.SpecBundle, data: dict[str, Any], *, now: dt.datetime) -> ProcessRun:
        """Create an instance of `bundle` with start data and run it to its first wait state."""
        run = cls(BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine()))
        first = run._wf.get_next_task(state=TaskState.READY)
        if first is not None:
            first.data.update(data)
        run.advance(now=now)
        return run

    @classmethod
    def load(cls, bundle: serializer.SpecBundle, state_json: str) -> ProcessRun:
        """Rebuild an instance from its stored state against its pinned version's spec."""
        return cls(serializer.load_state(bundle, state_json))

    def dump(self) -> str:
        """The state JSON to store."""
        return serializer.dump_state(self._wf)

    # -- running -------------------------------------------------------------------------------------------

    def advance(self, *, now: dt.datetime) -> ScriptError | None:
        """Fire due timers and run engine steps until people or time must act; return the error that stopped it."""
        with engine_time(now):
            try:
                self._collapse_missed_cycles(now)
                # refresh_timers() first: do_engine_steps() only refreshes at its end, leaving fired timers unrun.
                self._wf.refresh_timers()
                self._wf.do_engine_steps(did_complete_task=self._record)
            except Exception as exc:  # any failure of a diagram's code becomes the instance's error state
                return self._failed(exc)
        return self.error

    def complete(self, task_id: str, data: dict[str, Any], *, now: dt.datetime) -> ScriptError | None:
        """Complete an open human task with `data`, then advance."""
        task = self._open_task(task_id)
        with engine_time(now):
            task.set_data(**data)
            try:
                task.run()
            except Exception as exc:  # a failing post-script puts the instance in error too
                return self._failed(exc)
        return self.advance(now=now)

    def retry(self, data: dict[str, Any], *, now: dt.datetime) -> ScriptError | None:
        """Reset the failed task (with corrected data merged in) and advance again."""
        failed = self._wf.get_next_task(state=TaskState.ERROR)
        if failed is None:
            raise InvalidStateError("the instance has no failed step to retry")
        self._wf.reset_from_task_id(failed.id)
        # Data passed to reset_from_task_id is overridden by the parent's; set it after the reset (§1).
        self._wf.get_task_from_id(failed.id).data.update(data)
        return self.advance(now=now)

    def cancel(self) -> None:
        """Cancel every open branch, subprocesses included."""
        self._wf.cancel()

    def deliver_message(self, name: str, payload: Any, *, now: dt.datetime) -> bool:
        """Deliver message `name` if this instance waits for it; False when it does not."""
        definition = next(
            (d for d in self._waiting_definitions() if isinstance(d, MessageEventDefinition) and d.name == name),
            None,
        )
        if definition is None:
            return False
        with engine_time(now):
            self._wf.send_event(BpmnEvent(definition, payload=payload))
        self.events.append(EngineEvent("message_received", name, name))
        self.advance(now=now)
        return True

    # -- reading -------------------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """running, completed or error."""
        if self._wf.get_next_task(state=TaskState.ERROR) is not None:
            return "error"
        return "completed" if self._wf.is_completed() else "running"

    @property
    def error(self) -> ScriptError | None:
        """The failed step, if any."""
        failed = self._wf.get_next_task(state=TaskState.ERROR)
        if failed is None:
            return None
        message = failed.internal_data.get("error") or "the step failed"
        return ScriptError(str(message), task_id=str(failed.id), bpmn_id=failed.task_spec.bpmn_id)

    @property
    def data(self) -> dict[str, Any]:
        """The instance's current data: the end data when completed, else the newest completed step's."""
        if self._wf.is_completed():
            return dict(self._wf.data)
        last = self._wf.last_task
        return dict(last.data) if last is not None else {}

    def open_tasks(self) -> list[OpenTask]:
        """Human tasks that wait for a person now."""
        return [
            OpenTask(
                id=str(t.id),
                bpmn_id=t.task_spec.bpmn_id,
                name=t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                lane=t.task_spec.lane,
                documentation=t.task_spec.documentation,
            )
            for t in self._wf.get_tasks(state=TaskState.READY, manual=True)
        ]

    def task_data(self, task_id: str) -> dict[str, Any]:
        """The data a human task sees (for its form)."""
        return dict(self._open_task(task_id).data)

    def timers(self) -> list[WaitingTimer]:
        """Timers this instance waits on, subprocesses included."""
        found = []
        for task in self._wf.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            defs = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
            value = task.internal_data.get("event_value")
            if value is None or not any(isinstance(d, TimerEventDefinition) for d in defs):
                continue
            raw = value["next"] if isinstance(value, dict) else value
            parsed = TimerEventDefinition.get_datetime(raw)
            due_at = dt.datetime.combine(parsed.date(), parsed.time(), parsed.tzinfo)  # a plain datetime
            found.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, due_at, _attached_to(task)))
        return found

    def element_states(self) -> list[ElementState]:
        """Each diagram element the instance has reached, by its most telling state (error > active > waiting)."""
        found: dict[tuple[str, str], ElementState] = {}
        # ANY_MASK: a plain COMPLETED filter misses finished tasks under unfinished parents (§7.2).
        for task in self._wf.get_tasks(state=TaskState.ANY_MASK):
            spec = task.task_spec
            state = _element_state(task.state)
            if spec.bpmn_id is None or state is None:
                continue
            waits_for = _waits_for(spec) if state == "waiting" else None
            element = ElementState(spec.bpmn_id, state, task.workflow.spec.name, waits_for)
            key = (element.process, element.bpmn_id)
            if key not in found or _STATE_RANK[state] > _STATE_RANK[found[key].state]:
                found[key] = element
        return sorted(found.values(), key=lambda e: (e.process != self._wf.spec.name, e.process, e.bpmn_id))

    def called_processes(self) -> list[CalledProcess]:
        """The processes this instance has called so far, running or finished."""
        called = []
        for task_id, sub in self._wf.subprocesses.items():
            caller = self._wf.get_task_from_id(task_id)
            activity = caller.task_spec.bpmn_id if caller is not None else None
            status = "completed" if sub.is_completed() else "running"
            called.append(CalledProcess(activity or "", sub.spec.name, status))
        return sorted(called, key=lambda c: (c.activity, c.process))

    def move_obstacles(self, target: serializer.SpecBundle) -> list[version_moves.Obstacle]:
        """Why this instance cannot move onto `target`'s version (empty when it can)."""
        return version_moves.obstacles(self._wf, target)

    def moved_to(self, target: serializer.SpecBundle, *, now: dt.datetime) -> ProcessRun:
        """This instance on `target`'s version: open steps keep their ids, armed timers their due times."""
        return ProcessRun(version_moves.moved(self._wf, target, now=now))

    def waiting_messages(self) -> list[str]:
        """Names of the messages this instance waits for."""
        return sorted({d.name for d in self._waiting_definitions() if isinstance(d, MessageEventDefinition)})

    # -- internals -----------------------------------------------------------------------------------------

    def _waiting_definitions(self) -> list[Any]:
        found: list[Any] = []
        for task in self._wf.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            if isinstance(definition, MultipleEventDefinition):
                found.extend(definition.event_definitions)
            else:
                found.append(definition)
        return found

    def _open_task(self, task_id: str) -> Any:
        try:
            task = self._wf.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError):
            raise ValidationError({"task_id": ["not a task id"]}) from None
        if task is None:
            raise NotFoundError(f"task {task_id} is not part of this instance")
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise InvalidStateError(f"task {task_id} is not open", {"state": TaskState.get_name(task.state)})
        return task

    def _collapse_missed_cycles(self, now: dt.datetime) -> None:
        """After downtime a cycle timer fires once for the slots it missed, not once per slot (§3: bursts)."""
        for task in self._wf.event_manager.tasks.values():
            if not isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                continue
            value = task.internal_data.get("event_value")
            if not isinstance(value, dict) or value.get("cycles") == 0 or not value.get("duration"):
                continue
            step = dt.timedelta(seconds=value["duration"])
            # Keep the newest slot that is strictly past (Spiff fires on next < now) and drop the older ones.
            missed = -(-(now - dt.datetime.fromisoformat(value["next"])) // step) - 1
            if missed >= 1:
                value["next"] = (dt.datetime.fromisoformat(value["next"]) + missed * step).isoformat()
                if value["cycles"] > 0:
                    value["cycles"] = max(value["cycles"] - missed, 1)

    def _failed(self, exc: Exception) -> ScriptError:
        error = script_error(exc)
        failed = self._wf.get_next_task(state=TaskState.ERROR)
        if failed is not None:
            # Kept in the task's state so the message survives save and load.
            failed.internal_data["error"] = error.message
        return error

    def _record(self, task: Any) -> None:
        definition = getattr(task.task_spec, "event_definition", None)
        defs = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        if any(isinstance(d, TimerEventDefinition) for d in defs) and not getattr(task.task_spec, "is_throwing", False):
            spec = task.task_spec
            self.events.append(EngineEvent("timer_fired", spec.bpmn_id, spec.bpmn_name or spec.bpmn_id))


def _element_state(state: int) -> str | None:
    if state == TaskState.ERROR:
        return "error"
    if state & (TaskState.READY | TaskState.STARTED):
        return "active"
    if state == TaskState.WAITING:
        return "waiting"
    if state == TaskState.COMPLETED:
        return "completed"
    return None  # predicted or cancelled branches are not where the instance has been


def _waits_for(spec: Any) -> str | None:
    definition = getattr(spec, "event_definition", None)
    defs = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    if any(isinstance(d, TimerEventDefinition) for d in defs):
        return "timer"
    if any(isinstance(d, MessageEventDefinition) for d in defs):
        return "message"
    return None


def _attached_to(task: Any) -> str | None:
    if not isinstance(task.task_spec, BoundaryEvent) or task.parent is None:
        return None
    main = [c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)]
    return str(main[0].id) if main else None
