"""The engine core through its services on a real database: deploy, start, inbox, complete, timers, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain.errors import (
    ConflictError,
    InvalidProcessError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from engine.domain.views import Actor
from engine.scheduler import jobs
from engine.services import definitions, instances, tasks
from tests.conftest import BOTH_DATABASES
from tests.helpers import deploy_approval, deploy_xml, linear_process, task

pytestmark = BOTH_DATABASES


def test_same_content_is_same_version_and_changed_content_is_next(engine, admin):
    first = deploy_approval(engine, admin)
    again = deploy_approval(engine, admin)
    assert (first.version, first.is_new) == (1, True)
    assert (again.version, again.is_new) == (1, False)
    changed = deploy_xml(engine, admin, linear_process("expense_approval"))
    assert changed.version == 2 and changed.is_new
    listed = definitions.list_definitions(engine.uow())
    assert [(d.key, d.latest_version, len(d.versions)) for d in listed] == [("expense_approval", 2, 2)]
    assert listed[0].versions[1].created_by == "root"


def test_running_instances_stay_on_their_version(engine, admin, clerk):
    deploy_approval(engine, admin)
    old = instances.start_instance(engine.uow(), process_key="expense_approval", actor=clerk, now=engine.now())
    deploy_xml(engine, admin, linear_process("expense_approval"))
    new = instances.start_instance(engine.uow(), process_key="expense_approval", actor=clerk, now=engine.now())
    assert (old.version, new.version) == (1, 2)
    assert [t.bpmn_id for t in old.tasks] == ["Task_submit"]
    done = tasks.complete_task(
        engine.uow(), task_id=old.tasks[0].id, data={"amount": 10, "reason": "r"}, actor=clerk, now=engine.now()
    )
    assert [t.bpmn_id for t in done.tasks] == ["Task_review"]  # still the version-1 diagram


def test_process_owner_may_deploy_but_not_scripts_and_clerk_may_not_deploy(engine, clerk):
    owner = Actor("olga", frozenset({"process_owner"}))
    assert deploy_xml(engine, owner, linear_process("p1")).version == 1
    with pytest.raises(InvalidProcessError) as refused:
        deploy_xml(engine, owner, linear_process("p2", script="x = 1"))
    assert any(p.element_id == "Script_1" for p in refused.value.problems)
    with pytest.raises(PermissionDeniedError):
        deploy_xml(engine, clerk, linear_process("p3"))
    assert [d.key for d in definitions.list_definitions(engine.uow())] == ["p1"]


def test_inbox_routing_authorisation_and_one_completion(engine, admin, clerk, manager):
    deploy_approval(engine, admin)
    inst = instances.start_instance(
        engine.uow(), process_key="expense_approval", business_key="EXP-1", actor=clerk, now=engine.now()
    )
    submit = task(inst, "Task_submit")
    assert submit.lane == "clerk" and submit.due_at == engine.now() + dt.timedelta(days=2)
    assert [t.id for t in tasks.list_tasks(engine.uow(), actor=clerk).items] == [submit.id]
    assert tasks.list_tasks(engine.uow(), actor=manager).total == 0
    with pytest.raises(PermissionDeniedError):
        tasks.complete_task(
            engine.uow(), task_id=submit.id, data={"amount": 1, "reason": "x"}, actor=manager, now=engine.now()
        )
    with pytest.raises(ValidationError) as invalid:
        tasks.complete_task(engine.uow(), task_id=submit.id, data={"amount": "lots"}, actor=clerk, now=engine.now())
    assert set(invalid.value.fields) == {"amount", "reason"}
    after = tasks.complete_task(
        engine.uow(), task_id=submit.id, data={"amount": 12.5, "reason": "taxi"}, actor=clerk, now=engine.now()
    )
    review = task(after, "Task_review")
    assert review.lane == "manager"
    assert [t.id for t in tasks.list_tasks(engine.uow(), actor=manager).items] == [review.id]
    with pytest.raises(InvalidStateError):
        tasks.complete_task(
            engine.uow(), task_id=submit.id, data={"amount": 1, "reason": "x"}, actor=clerk, now=engine.now()
        )
    completed = tasks.list_tasks(engine.uow(), actor=clerk, state="completed")
    assert [t.id for t in completed.items] == [submit.id]
    counts = tasks.inbox_counts(engine.uow(), actor=manager)
    assert counts["group"] == {"red": 0, "yellow": 0, "green": 1, "total": 1}
    assert counts["mine"]["total"] == 0 and tasks.inbox_counts(engine.uow(), actor=clerk)["completed"]["total"] == 1
    assert tasks.list_tasks(engine.uow(), actor=manager, search="EXP").total == 1
    assert tasks.list_tasks(engine.uow(), actor=manager, search="EXQ").total == 0
    assert tasks.list_tasks(engine.uow(), actor=manager, search="%").total == 0


def test_claim_is_exclusive_and_release_returns_it_to_the_group(engine, admin, clerk):
    deploy_approval(engine, admin)
    other = Actor("carol", frozenset({"clerk"}))
    inst = instances.start_instance(engine.uow(), process_key="expense_approval", actor=clerk, now=engine.now())
    submit = inst.tasks[0]
    tasks.claim_task(engine.uow(), task_id=submit.id, actor=clerk, now=engine.now())
    with pytest.raises(ConflictError):
        tasks.claim_task(engine.uow(), task_id=submit.id, actor=other, now=engine.now())
    with pytest.raises(ConflictError):
        tasks.complete_task(
            engine.uow(), task_id=submit.id, data={"amount": 1, "reason": "x"}, actor=other, now=engine.now()
        )
    assert tasks.list_tasks(engine.uow(), actor=clerk, scope="mine").total == 1
    assert tasks.list_tasks(engine.uow(), actor=other, scope="group").total == 0
    tasks.unclaim_task(engine.uow(), task_id=submit.id, actor=clerk, now=engine.now())
    assert tasks.list_tasks(engine.uow(), actor=other, scope="group").total == 1


def test_rejection_loop_boundary_timer_and_history(engine, admin, clerk, manager, clock):
    deploy_approval(engine, admin)
    inst = instances.start_instance(engine.uow(), process_key="expense_approval", actor=clerk, now=engine.now())
    inst = tasks.complete_task(
        engine.uow(), task_id=inst.tasks[0].id, data={"amount": 1, "reason": "a"}, actor=clerk, now=engine.now()
    )
    review = task(inst, "Task_review")
    assert review.due_at == engine.now() + dt.timedelta(hours=48)  # from the boundary timer
    clock.advance(hours=47)
    assert jobs.tick(engine).timers_fired == 0
    clock.advance(hours=2)
    report = jobs.tick(engine)
    assert report.timers_fired == 1
    inst = instances.get_instance(engine.uow(), instance_id=inst.id, actor=admin)
    assert {t.bpmn_id for t in inst.tasks} == {"Task_review", "Task_urge"}  # non-interrupting
    assert task(inst, "Task_review").time_state == "red" and inst.time_state == "red"
    assert jobs.tick(engine).timers_fired == 0  # fired once only
    inst = tasks.complete_task(
        engine.uow(), task_id=task(inst, "Task_review").id, data={"approved": False}, actor=manager, now=engine.now()
    )
    inst = tasks.complete_task(
        engine.uow(),
        task_id=task(inst, "Task_submit").id,
        data={"amount": 2, "reason": "b"},
        actor=clerk,
        now=engine.now(),
    )
    inst = tasks.complete_task(
        engine.uow(), task_id=task(inst, "Task_review").id, data={"approved": True}, actor=manager, now=engine.now()
    )
    inst = tasks.complete_task(
        engine.uow(), task_id=task(inst, "Task_urge").id, data={}, actor=manager, now=engine.now()
    )
    assert inst.status == "completed" and inst.tasks == ()
    kinds = [h.kind for h in inst.history]
    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert kinds.count("task_completed") == 5 and kinds.count("timer_fired") == 1
    completions = [h for h in inst.history if h.kind == "task_completed"]
    assert completions[0].actor == "alice" and completions[0].data == {"data": {"amount": 1.0, "reason": "a"}}


def test_failing_condition_puts_instance_in_error_and_admin_retry_fixes_it(engine, admin, clerk):
    deploy_xml(engine, admin, linear_process("calc", condition="ratio > 1"))
    inst = instances.start_instance(engine.uow(), process_key="calc", actor=clerk, now=engine.now())
    inst = tasks.complete_task(engine.uow(), task_id=inst.tasks[0].id, data={}, actor=clerk, now=engine.now())
    assert inst.status == "error"
    assert inst.error is not None and inst.error["bpmn_id"] == "Gw_1" and "ratio" in inst.error["message"]
    assert [h.kind for h in inst.history][-1] == "error"
    with pytest.raises(PermissionDeniedError):
        instances.retry_instance(engine.uow(), instance_id=inst.id, actor=clerk, now=engine.now(), data={})
    fixed = instances.retry_instance(
        engine.uow(), instance_id=inst.id, actor=admin, now=engine.now(), data={"ratio": 2}
    )
    assert fixed.status == "completed"
    assert "retried" in [h.kind for h in fixed.history]


def test_cancel_ends_open_tasks_and_timers(engine, admin, clerk, manager):
    deploy_approval(engine, admin)
    inst = instances.start_instance(engine.uow(), process_key="expense_approval", actor=clerk, now=engine.now())
    inst = tasks.complete_task(
        engine.uow(), task_id=inst.tasks[0].id, data={"amount": 1, "reason": "a"}, actor=clerk, now=engine.now()
    )
    with pytest.raises(PermissionDeniedError):
        instances.cancel_instance(engine.uow(), instance_id=inst.id, actor=manager, now=engine.now())
    cancelled = instances.cancel_instance(engine.uow(), instance_id=inst.id, actor=admin, now=engine.now())
    assert cancelled.status == "cancelled" and cancelled.tasks == ()
    assert tasks.list_tasks(engine.uow(), actor=manager).total == 0
    assert jobs.tick(engine).timers_fired == 0
    with pytest.raises(InvalidStateError):
        instances.cancel_instance(engine.uow(), instance_id=inst.id, actor=admin, now=engine.now())


def test_instances_are_invisible_to_unrelated_people(engine, admin, clerk):
    deploy_approval(engine, admin)
    inst = instances.start_instance(engine.uow(), process_key="expense_approval", actor=clerk, now=engine.now())
    stranger = Actor("sam", frozenset({"archivist"}))
    with pytest.raises(NotFoundError):
        instances.get_instance(engine.uow(), instance_id=inst.id, actor=stranger)
    assert instances.list_instances(engine.uow(), actor=stranger).total == 0
    assert instances.list_instances(engine.uow(), actor=clerk).total == 1


def test_poisoned_task_data_is_cleaned_and_instance_still_loads(engine, admin, clerk):
    deploy_xml(engine, admin, linear_process("p"))
    poison = {"typename": "datetime", "value": "x"}
    inst = instances.start_instance(
        engine.uow(), process_key="p", actor=clerk, now=engine.now(), data={"nested": poison}
    )
    done = tasks.complete_task(
        engine.uow(),
        task_id=inst.tasks[0].id,
        data={"v": {"typename": "UUID", "value": "1"}},
        actor=clerk,
        now=engine.now(),
    )
    assert done.status == "completed"
    assert done.data["nested"] == {"value": "x"} and done.data["v"] == {"value": "1"}
    with pytest.raises(ValidationError):
        instances.start_instance(engine.uow(), process_key="p", actor=clerk, now=engine.now(), data={"__x": 1})


def test_messages_reach_waiting_instances_by_business_key(engine, admin, clerk):
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:message id="Msg_paid" name="payment_received" />
  <bpmn:process id="pay" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md" messageRef="Msg_paid" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="b" sourceRef="wait" targetRef="e" />
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
    deploy_xml(engine, admin, xml)
    one = instances.start_instance(engine.uow(), process_key="pay", business_key="A", actor=clerk, now=engine.now())
    two = instances.start_instance(engine.uow(), process_key="pay", business_key="B", actor=clerk, now=engine.now())
    delivered = instances.deliver_message(
        engine.uow(), name="payment_received", correlation_key="B", payload={"amount": 3}, actor=admin, now=engine.now()
    )
    assert delivered == [two.id]
    assert instances.get_instance(engine.uow(), instance_id=two.id, actor=admin).status == "completed"
    assert instances.get_instance(engine.uow(), instance_id=one.id, actor=admin).status == "running"
    assert instances.deliver_message(engine.uow(), name="nobody_waits", actor=admin, now=engine.now()) == []


def test_messages_reach_only_instances_the_sender_may_see(engine, admin, clerk, manager):
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:message id="Msg_go" name="go" />
  <bpmn:process id="gate" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md" messageRef="Msg_go" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="b" sourceRef="wait" targetRef="e" />
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
    deploy_xml(engine, admin, xml)
    mine = instances.start_instance(engine.uow(), process_key="gate", actor=clerk, now=engine.now())
    # bob neither started it nor works a lane of it: his message must not move it
    assert instances.deliver_message(engine.uow(), name="go", actor=manager, now=engine.now()) == []
    assert instances.get_instance(engine.uow(), instance_id=mine.id, actor=admin).status == "running"
    assert instances.deliver_message(engine.uow(), name="go", actor=clerk, now=engine.now()) == [mine.id]
