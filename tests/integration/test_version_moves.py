"""Moving running instances between versions: dry run, refusals with reasons, the move itself, history, races."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from engine.bpmn.runtime import ProcessRun
from engine.domain.errors import ConflictError, InvalidStateError, PermissionDeniedError
from engine.domain.views import Actor
from engine.services import instances, tasks, version_moves
from tests.conftest import BOTH_DATABASES
from tests.helpers import deploy_xml, linear_process, task

pytestmark = BOTH_DATABASES
OWNER = Actor("olga", frozenset({"process_owner"}))


def steps_process(key: str, steps: list[str], *, timer_on: str | None = None) -> str:
    """start -> user tasks in a row (lane clerk) -> end; optionally a 3-day boundary timer on one step."""
    nodes, flows = [], []
    previous = "Start_1"
    for i, step in enumerate(steps):
        nodes.append(f'<bpmn:userTask id="{step}" name="Step {step}" />')
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="{step}" />')
        previous = step
    flows.append(f'<bpmn:sequenceFlow id="f_end" sourceRef="{previous}" targetRef="End_1" />')
    if timer_on:
        nodes.append(
            f'<bpmn:boundaryEvent id="Timer_1" attachedToRef="{timer_on}" cancelActivity="false">'
            '<bpmn:timerEventDefinition><bpmn:timeDuration>"P3D"</bpmn:timeDuration>'
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            '<bpmn:endEvent id="End_timer" />'
        )
        flows.append('<bpmn:sequenceFlow id="f_timer" sourceRef="Timer_1" targetRef="End_timer" />')
    refs = "".join(f"<bpmn:flowNodeRef>{s}</bpmn:flowNodeRef>" for s in steps)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_{key}"
    targetNamespace="http://auditloop.example/test">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="Lane_1" name="clerk">{refs}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_1" />
    {"".join(nodes)}
    <bpmn:endEvent id="End_1" />
    {"".join(flows)}
  </bpmn:process>
</bpmn:definitions>
"""


def _history(engine, instance_id: str, kind: str) -> list[tuple]:
    with engine.db.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT actor, message, data_json FROM history_events WHERE instance_id = :i AND kind = :k"),
                {"i": instance_id, "k": kind},
            )
        ]


def _start(engine, clerk, key="moving"):
    return instances.start_instance(engine.uow(), process_key=key, actor=clerk, now=engine.now())


def _move(engine, actor, **kwargs):
    args = {"process_key": "moving", "from_version": 1, "to_version": 2, "actor": actor, "now": engine.now()}
    return version_moves.move_instances(engine.uow, **{**args, **kwargs})


def test_instances_on_a_step_present_in_v2_move_and_complete_on_v2(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    first = _start(engine, clerk)
    second = instances.start_instance(engine.uow(), process_key="moving", actor=clerk, now=engine.now())
    second = tasks.complete_task(
        engine.uow(), task_id=task(second, "Task_a").id, data={"x": 1}, actor=clerk, now=engine.now()
    )
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b", "Task_c"]))
    newer = _start(engine, clerk)
    assert newer.version == 2  # new cases start on v2 while the running ones stay on v1
    assert instances.get_instance(engine.uow(), instance_id=first.id, actor=admin).version == 1

    dry = _move(engine, admin, dry_run=True)
    assert {(r.instance_id, r.result) for r in dry} == {(first.id, "movable"), (second.id, "movable")}
    assert {r.instance_id: r.open_steps for r in dry} == {first.id: ("Task_a",), second.id: ("Task_b",)}
    assert instances.get_instance(engine.uow(), instance_id=first.id, actor=admin).version == 1  # nothing moved

    moved = _move(engine, admin, dry_run=False, expected={r.instance_id: r.lock for r in dry})
    assert {(r.instance_id, r.result, r.from_version, r.to_version) for r in moved} == {
        (first.id, "moved", 1, 2),
        (second.id, "moved", 1, 2),
    }
    view = instances.get_instance(engine.uow(), instance_id=second.id, actor=admin)
    assert view.version == 2
    assert view.data == second.data == {"x": 1}  # the variables come along
    assert [t.id for t in view.tasks] == [task(second, "Task_b").id]  # the open task keeps its id
    actor, message, data = _history(engine, second.id, "version_moved")[0]
    assert (actor, message) == ("root", "version 1 → 2")
    assert '"from_version": 1' in data and '"to_version": 2' in data

    # It goes on along v2: Task_b now leads to the new Task_c, then ends.
    view = tasks.complete_task(engine.uow(), task_id=view.tasks[0].id, data={}, actor=clerk, now=engine.now())
    assert [t.bpmn_id for t in view.tasks] == ["Task_c"]
    view = tasks.complete_task(engine.uow(), task_id=view.tasks[0].id, data={}, actor=clerk, now=engine.now())
    assert view.status == "completed"
    assert view.data["x"] == 1


def test_an_instance_whose_open_step_was_removed_is_refused_with_the_reason(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    on_a = _start(engine, clerk)
    on_b = _start(engine, clerk)
    tasks.complete_task(engine.uow(), task_id=task(on_b, "Task_a").id, data={}, actor=clerk, now=engine.now())
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_new"]))

    dry = {r.instance_id: r for r in _move(engine, admin, dry_run=True)}
    assert dry[on_a.id].result == "movable"
    assert dry[on_b.id].result == "refused"
    assert [(r["code"], r["element_id"]) for r in dry[on_b.id].reasons] == [("open_step_missing", "Task_b")]
    assert dry[on_b.id].reasons[0]["message"] == "open step Task_b does not exist in version 2"

    moved = {r.instance_id: r for r in _move(engine, admin, dry_run=False)}
    assert moved[on_a.id].result == "moved"
    assert moved[on_b.id].result == "refused"
    assert instances.get_instance(engine.uow(), instance_id=on_b.id, actor=admin).version == 1
    assert _history(engine, on_b.id, "version_moved") == []
    with pytest.raises(InvalidStateError, match="open step Task_b does not exist in version 2"):
        version_moves.move_instance(
            engine.uow(),
            instance_id=on_b.id,
            process_key="moving",
            from_version=1,
            to_version=2,
            actor=admin,
            now=engine.now(),
        )


def test_ended_and_failed_instances_are_refused_and_only_owners_may_move(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a"]))
    done = _start(engine, clerk)
    tasks.complete_task(engine.uow(), task_id=task(done, "Task_a").id, data={}, actor=clerk, now=engine.now())
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    report = _move(engine, OWNER, dry_run=True, instance_ids=[done.id])
    assert report[0].result == "refused"
    assert report[0].reasons[0]["message"] == "the instance is completed"
    assert _move(engine, OWNER, dry_run=True) == []  # ended instances are not listed by default
    with pytest.raises(PermissionDeniedError):
        _move(engine, clerk, dry_run=True)


def test_a_waiting_timer_keeps_its_due_time_across_the_move(engine, admin, clerk, clock):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a"], timer_on="Task_a"))
    started = _start(engine, clerk)
    with engine.db.connect() as conn:
        due = conn.execute(
            sa.text("SELECT due_at, task_id FROM timers WHERE instance_id = :i"), {"i": started.id}
        ).one()
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"], timer_on="Task_a"))
    clock.advance(days=1)
    assert [r.result for r in _move(engine, admin, dry_run=False)] == ["moved"]
    with engine.db.connect() as conn:
        after = conn.execute(
            sa.text("SELECT due_at, task_id FROM timers WHERE instance_id = :i AND status = 'pending'"),
            {"i": started.id},
        ).all()
    assert [tuple(r) for r in after] == [tuple(due)]


def test_a_completion_after_the_dry_run_wins_and_the_move_reports_a_conflict(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    started = _start(engine, clerk)
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b", "Task_c"]))
    dry = _move(engine, admin, dry_run=True)
    tasks.complete_task(engine.uow(), task_id=task(started, "Task_a").id, data={}, actor=clerk, now=engine.now())

    moved = _move(engine, admin, dry_run=False, expected={r.instance_id: r.lock for r in dry})
    assert [(r.result, r.reasons[0]["code"]) for r in moved] == [("conflict", "changed")]
    assert "changed since the dry run" in moved[0].reasons[0]["message"]
    with pytest.raises(ConflictError) as refused:
        version_moves.move_instance(
            engine.uow(),
            instance_id=started.id,
            process_key="moving",
            from_version=1,
            to_version=2,
            actor=admin,
            now=engine.now(),
            expected_lock=dry[0].lock,
        )
    assert type(refused.value).__name__ == "ConcurrentUpdateError"  # HTTP 409
    assert instances.get_instance(engine.uow(), instance_id=started.id, actor=admin).version == 1
    assert _history(engine, started.id, "version_moved") == []


def caller_process(key: str, after: list[str]) -> str:
    """start -> call activity (child_process) -> user tasks in a row -> end."""
    flows = ['<bpmn:sequenceFlow id="c0" sourceRef="Start_1" targetRef="Call_1" />']
    previous = "Call_1"
    for i, step in enumerate(after):
        flows.append(f'<bpmn:sequenceFlow id="c{i + 1}" sourceRef="{previous}" targetRef="{step}" />')
        previous = step
    flows.append(f'<bpmn:sequenceFlow id="c_end" sourceRef="{previous}" targetRef="End_1" />')
    tasks_xml = "".join(f'<bpmn:userTask id="{s}" name="Step {s}" />' for s in after)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_{key}"
    targetNamespace="http://auditloop.example/test">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:startEvent id="Start_1" />
    <bpmn:callActivity id="Call_1" name="Call the child" calledElement="child_process" />
    {tasks_xml}
    <bpmn:endEvent id="End_1" />
    {"".join(flows)}
  </bpmn:process>
</bpmn:definitions>
"""


def test_called_processes_move_with_their_caller_when_their_open_steps_remain(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("child_process", ["child_task"]), name="child.bpmn")
    deploy_xml(engine, admin, caller_process("moving", []), name="caller.bpmn")
    started = _start(engine, clerk)
    assert [t.bpmn_id for t in started.tasks] == ["child_task"]
    called = instances.instance_diagram(engine.uow(), instance_id=started.id, actor=admin).called
    assert [(c.activity, c.process, c.status) for c in called] == [("Call_1", "child_process", "running")]
    deploy_xml(engine, admin, caller_process("moving", ["Task_after"]), name="caller.bpmn")

    assert [r.result for r in _move(engine, admin, dry_run=False)] == ["moved"]
    view = instances.get_instance(engine.uow(), instance_id=started.id, actor=admin)
    view = tasks.complete_task(engine.uow(), task_id=view.tasks[0].id, data={}, actor=clerk, now=engine.now())
    assert [t.bpmn_id for t in view.tasks] == ["Task_after"]  # back in the caller, on v2's new step
    view = tasks.complete_task(engine.uow(), task_id=view.tasks[0].id, data={}, actor=clerk, now=engine.now())
    assert view.status == "completed"


def test_a_called_process_whose_open_step_was_removed_keeps_its_caller_from_moving(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("child_process", ["child_task"]), name="child.bpmn")
    deploy_xml(engine, admin, caller_process("moving", []), name="caller.bpmn")
    started = _start(engine, clerk)
    deploy_xml(engine, admin, steps_process("child_process", ["child_task_v2"]), name="child.bpmn")
    deploy_xml(engine, admin, caller_process("moving", ["Task_after"]), name="caller.bpmn")

    [report] = _move(engine, admin, dry_run=True)
    assert report.result == "refused"
    assert [(r["code"], r["element_id"], r["message"]) for r in report.reasons] == [
        (
            "open_step_missing",
            "child_task",
            "open step child_task (in called process child_process) does not exist in version 2",
        )
    ]
    assert [r.result for r in _move(engine, admin, dry_run=False)] == ["refused"]
    assert instances.get_instance(engine.uow(), instance_id=started.id, actor=admin).version == 1


def test_a_dry_run_changes_nothing(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a"]))
    started = _start(engine, clerk)
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    query = sa.text("SELECT state_json, version, definition_version_id, updated_at FROM process_instances")
    with engine.db.connect() as conn:
        before = [tuple(r) for r in conn.execute(query)]
        events = conn.execute(sa.text("SELECT count(*) FROM history_events")).scalar()
    assert [r.result for r in _move(engine, admin, dry_run=True)] == ["movable"]
    version_moves.move_instance(
        engine.uow(), instance_id=started.id, to_version=2, actor=admin, now=engine.now(), dry_run=True
    )
    with engine.db.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == before
        assert conn.execute(sa.text("SELECT count(*) FROM history_events")).scalar() == events


def test_a_completion_while_the_move_runs_wins_and_the_move_gets_a_409(engine, admin, clerk, monkeypatch):
    """A real overlap; on SQLite writers queue on BEGIN IMMEDIATE, so the two can never overlap there."""
    if engine.is_sqlite:
        pytest.skip("SQLite serialises writers: a move and a completion cannot overlap")
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    started = _start(engine, clerk)
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b", "Task_c"]))
    completed: list[object] = []
    original = ProcessRun.moved_to

    def complete_meanwhile(self, target, *, now):
        # The move has read the instance; a person completes its open step in another transaction right now.
        def complete() -> None:
            completed.append(
                tasks.complete_task(
                    engine.uow(), task_id=task(started, "Task_a").id, data={}, actor=clerk, now=engine.now()
                )
            )

        worker = threading.Thread(target=complete)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "the completion waited for the move: the move must not hold the row lock"
        return original(self, target, now=now)

    monkeypatch.setattr(ProcessRun, "moved_to", complete_meanwhile)
    with pytest.raises(ConflictError) as lost:
        version_moves.move_instance(engine.uow(), instance_id=started.id, to_version=2, actor=admin, now=engine.now())
    assert type(lost.value).__name__ == "ConcurrentUpdateError"
    assert [t.bpmn_id for t in completed[0].tasks] == ["Task_b"]  # type: ignore[attr-defined]
    view = instances.get_instance(engine.uow(), instance_id=started.id, actor=admin)
    assert (view.version, [t.bpmn_id for t in view.tasks]) == (1, ["Task_b"])
    assert _history(engine, started.id, "version_moved") == []


def test_a_removed_completed_step_a_failed_instance_and_another_version_are_named(engine, admin, clerk):
    deploy_xml(engine, admin, steps_process("moving", ["Task_a", "Task_b"]))
    past_a = _start(engine, clerk)
    tasks.complete_task(engine.uow(), task_id=task(past_a, "Task_a").id, data={}, actor=clerk, now=engine.now())
    deploy_xml(engine, admin, linear_process("moving", script="y = z + 1"))
    failed = _start(engine, clerk)
    assert failed.status == "error" and failed.version == 2
    deploy_xml(engine, admin, steps_process("moving", ["Task_x", "Task_b"]))

    report = {r.instance_id: r for r in _move(engine, admin, from_version=1, to_version=3, dry_run=True)}
    assert [(r["code"], r["element_id"]) for r in report[past_a.id].reasons] == [("done_step_missing", "Task_a")]
    on_two = _move(engine, admin, from_version=2, to_version=3, dry_run=True)
    assert [(r.instance_id, r.reasons[0]["message"]) for r in on_two] == [
        (failed.id, "the instance is error; retry or cancel it first")
    ]
    other = _move(engine, admin, from_version=1, to_version=3, dry_run=True, instance_ids=[failed.id])
    assert other[0].reasons[0]["code"] == "other_version"
