"""Time limits with a controlled clock: rules on working days, state crossings, reminders exactly once, pauses."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.views import Actor
from engine.scheduler import jobs
from engine.services import deadlines, instances, reminders, tasks, users
from tests.conftest import BOTH_DATABASES
from tests.helpers import deploy_approval

pytestmark = BOTH_DATABASES
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.UTC)


@pytest.fixture
def people(engine, admin):
    deploy_approval(engine, admin)
    for name, role in (("alice", "clerk"), ("carl", "clerk"), ("bob", "manager")):
        users.add_user(engine.uow(), username=name, roles=[role], now=engine.now())
    return {n: users.get_actor(engine.uow(), username=n) for n in ("alice", "carl", "bob")}


def _reminders(engine, who):
    return reminders.list_reminders(engine.uow(), actor=Actor(who, frozenset()), include_done=True)


def test_two_working_days_across_national_day_go_green_yellow_red_with_one_reminder_each(engine, admin, people, clock):
    deadlines.put_rule(
        engine.uow(),
        process_key="expense_approval",
        step="Task_submit",
        limit_value=2,
        limit_unit="working_days",
        actor=admin,
        now=engine.now(),
    )
    clock.now = local(2026, 9, 30, 10, 0)  # the last working day before the National Day holiday
    inst = instances.start_instance(
        engine.uow(), process_key="expense_approval", actor=people["alice"], now=engine.now()
    )
    [task] = inst.tasks
    assert task.due_at == local(2026, 10, 9, 10, 0)  # Oct 1–8 are days off; Oct 9 is the 2nd working day
    assert task.time_state == "green"
    clock.now = local(2026, 10, 9, 7, 0)
    jobs.tick(engine)
    jobs.tick(engine)
    assert tasks.get_task(engine.uow(), task_id=task.id, actor=admin).time_state == "yellow"
    titles = [r.title for r in _reminders(engine, "alice")]
    assert len(titles) == 1 and "Approaching" in titles[0]
    assert len(_reminders(engine, "carl")) == 1  # an unclaimed task reminds its role in its unit
    clock.now = local(2026, 10, 9, 10, 0)
    jobs.tick(engine)
    jobs.tick(engine)
    assert tasks.get_task(engine.uow(), task_id=task.id, actor=admin).time_state == "red"
    assert instances.get_instance(engine.uow(), instance_id=inst.id, actor=admin).time_state == "red"
    assert _reminders(engine, "alice")[0].title.startswith("已超期")  # newest first
    assert len(_reminders(engine, "alice")) == 2
    clock.advance(hours=24, seconds=1)
    jobs.tick(engine)
    jobs.tick(engine)
    assert len(_reminders(engine, "alice")) == 3  # the daily reminder while red
    tasks.complete_task(
        engine.uow(), task_id=task.id, data={"amount": 1, "reason": "x"}, actor=people["alice"], now=engine.now()
    )
    assert reminders.list_reminders(engine.uow(), actor=people["alice"]) == []  # resolved by the completion


def test_overdue_long_enough_tells_the_unit_head(engine, admin, clock):
    from tests.helpers import build_org, deploy_processes

    deploy_processes(engine)
    org = build_org(engine)
    deadlines.put_rule(
        engine.uow(),
        process_key="audit_case",
        step="dispatch",
        limit_value=1,
        limit_unit="hours",
        actor=admin,
        now=engine.now(),
    )
    from engine.services import cases

    case = cases.raise_case(
        engine.uow(),
        target="T1",
        anomaly="a",
        risk_level=2,
        unit_code="JC-DONG",
        actor=org["auditor"],
        now=engine.now(),
    )
    clock.advance(hours=1, minutes=1)
    jobs.tick(engine)
    assert [r.recipient for r in _reminders(engine, "dispatcher")] == []  # the city dispatcher is not in JC-DONG
    clock.advance(hours=48)
    jobs.tick(engine)
    jobs.tick(engine)
    escalated = [r for r in _reminders(engine, "head_dong") if "supervise" in r.title]
    assert len(escalated) == 1 and case.case_no in escalated[0].title


def test_sent_back_step_keeps_its_deadline_when_the_rule_says_so(engine, admin, people, clock):
    deadlines.put_rule(
        engine.uow(),
        process_key="expense_approval",
        step="Task_submit",
        limit_value=90,
        limit_unit="minutes",
        restart_on_sendback=False,
        actor=admin,
        now=engine.now(),
    )
    inst = instances.start_instance(
        engine.uow(), process_key="expense_approval", actor=people["alice"], now=engine.now()
    )
    first_due = inst.tasks[0].due_at
    clock.advance(minutes=30)
    inst = tasks.complete_task(
        engine.uow(),
        task_id=inst.tasks[0].id,
        data={"amount": 1, "reason": "x"},
        actor=people["alice"],
        now=engine.now(),
    )
    review = next(t for t in inst.tasks if t.bpmn_id == "Task_review")
    inst = tasks.complete_task(
        engine.uow(), task_id=review.id, data={"approved": False}, actor=people["bob"], now=engine.now()
    )
    again = next(t for t in inst.tasks if t.bpmn_id == "Task_submit")
    assert again.due_at == first_due


def test_a_paused_clock_pauses(engine, admin, people, clock):
    deadlines.put_rule(
        engine.uow(),
        process_key="expense_approval",
        step="*",
        limit_value=0.5,
        limit_unit="hours",
        yellow_left_minutes=10,
        actor=admin,
        now=engine.now(),
    )
    inst = instances.start_instance(
        engine.uow(), process_key="expense_approval", actor=people["alice"], now=engine.now()
    )
    task_id = inst.tasks[0].id
    deadlines.pause_task(
        engine.uow(), task_id=task_id, actor=people["alice"], now=engine.now(), reason="waiting for the customer"
    )
    clock.advance(hours=5)
    jobs.tick(engine)
    assert tasks.get_task(engine.uow(), task_id=task_id, actor=admin).time_state == "green"
    deadlines.resume_task(engine.uow(), task_id=task_id, actor=people["alice"], now=engine.now())
    task = tasks.get_task(engine.uow(), task_id=task_id, actor=admin)
    assert task.due_at == engine.now() + dt.timedelta(minutes=30) and task.time_state == "green"
    clock.advance(minutes=5)
    deadlines.pause_task(engine.uow(), task_id=task_id, actor=people["alice"], now=engine.now(), reason="again")
    clock.advance(minutes=30)  # paused past its old deadline: still green, and green again after resuming
    jobs.tick(engine)
    deadlines.resume_task(engine.uow(), task_id=task_id, actor=people["alice"], now=engine.now())
    assert tasks.get_task(engine.uow(), task_id=task_id, actor=admin).time_state == "green"
    clock.advance(minutes=21)
    jobs.tick(engine)
    assert tasks.get_task(engine.uow(), task_id=task_id, actor=admin).time_state == "yellow"


def test_rules_are_admin_only_and_validated(engine, people):
    with pytest.raises(PermissionDeniedError):
        deadlines.put_rule(
            engine.uow(),
            process_key="p",
            step="*",
            limit_value=1,
            limit_unit="hours",
            actor=people["alice"],
            now=engine.now(),
        )
    with pytest.raises(ValidationError) as bad:
        deadlines.put_rule(
            engine.uow(),
            process_key="p",
            step="*",
            limit_value=-1,
            limit_unit="fortnights",
            yellow_share=2,
            actor=Actor("root", frozenset({"admin"})),
            now=engine.now(),
        )
    assert set(bad.value.fields) == {"limit_value", "limit_unit", "yellow_share"}


def test_urging_reminds_once_per_hour_and_reports_per_item(engine, admin, people, clock):
    inst = instances.start_instance(
        engine.uow(), process_key="expense_approval", actor=people["alice"], now=engine.now()
    )
    supervisor = Actor("sue", frozenset({"supervisor"}))
    with pytest.raises(PermissionDeniedError):
        reminders.urge(engine.uow(), actor=people["bob"], now=engine.now(), task_ids=[inst.tasks[0].id])
    first = reminders.urge(engine.uow(), actor=supervisor, now=engine.now(), task_ids=[inst.tasks[0].id, "nope"])
    assert [r["result"] for r in first] == ["urged", "refused"]
    again = reminders.urge(engine.uow(), actor=supervisor, now=engine.now(), task_ids=[inst.tasks[0].id])
    assert again[0]["result"] == "already urged this hour"
    assert len(_reminders(engine, "alice")) == 1
    clock.advance(hours=1)
    reminders.urge(engine.uow(), actor=supervisor, now=engine.now(), task_ids=[inst.tasks[0].id])
    assert len(_reminders(engine, "alice")) == 2
    history = instances.get_instance(engine.uow(), instance_id=inst.id, actor=admin).history
    assert [h.kind for h in history].count("urged") == 3


def test_two_schedulers_never_duplicate_a_reminder(engine, admin, people, clock, settings):
    import threading

    if engine.is_sqlite:
        pytest.skip("on SQLite one scheduler runs (file lock); concurrent sweepers are a PostgreSQL setup")

    from engine.bootstrap import build_engine

    deadlines.put_rule(
        engine.uow(),
        process_key="expense_approval",
        step="*",
        limit_value=1,
        limit_unit="minutes",
        actor=admin,
        now=engine.now(),
    )
    for _ in range(40):
        instances.start_instance(engine.uow(), process_key="expense_approval", actor=people["alice"], now=engine.now())
    clock.advance(minutes=2)
    schedulers = [build_engine(settings, clock=clock) for _ in range(2)]
    moved: list[int] = []
    barrier = threading.Barrier(2)

    def sweep(eng):
        barrier.wait()
        for _ in range(3):
            moved.append(deadlines.refresh_time_states(eng.uow(), now=clock.now).moved)

    threads = [threading.Thread(target=sweep, args=(e,)) for e in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in schedulers:
        e.dispose()
    assert sum(moved) == 40
    red = [r for r in _reminders(engine, "alice") if r.title.startswith("已超期")]
    assert len(red) == 40 and len({r.subject_id for r in red}) == 40


def test_daily_digest_mails_each_reminder_once_and_warns_admins(engine, admin, people, clock):
    from engine.connectors.mail import FakeMailer

    users.add_user(engine.uow(), username="ops", roles=["admin"], email="ops@example.com", now=engine.now())
    users.add_user(engine.uow(), username="dana", roles=["clerk"], email="dana@example.com", now=engine.now())
    deadlines.put_rule(
        engine.uow(),
        process_key="expense_approval",
        step="*",
        limit_value=1,
        limit_unit="minutes",
        actor=admin,
        now=engine.now(),
    )
    instances.start_instance(engine.uow(), process_key="expense_approval", actor=people["alice"], now=engine.now())
    clock.advance(minutes=2)
    jobs.tick(engine)
    mailer = FakeMailer()
    warnings = ["no official holiday table for 2027"]
    assert reminders.send_digests(engine.uow(), mailer=mailer, now=engine.now(), warnings=warnings) == 2
    by_address = {m.to: m.body for m in mailer.sent}
    assert "已超期" in by_address["dana@example.com"] and "2027" in by_address["ops@example.com"]
    assert reminders.send_digests(engine.uow(), mailer=mailer, now=engine.now()) == 0  # nothing new to mail


def test_supervision_orders_are_tracked_to_closure(engine, clock):
    from engine.services import cases
    from tests.helpers import build_org, deploy_processes

    deploy_processes(engine)
    org = build_org(engine)
    case = cases.raise_case(
        engine.uow(), target="T", anomaly="a", risk_level=1, unit_code="JC-BEI", actor=org["auditor"], now=engine.now()
    )
    with pytest.raises(PermissionDeniedError):
        reminders.raise_supervision_order(
            engine.uow(), case_id=case.id, reason="x", actor=org["h_bei1"], now=engine.now()
        )
    order = reminders.raise_supervision_order(
        engine.uow(), case_id=case.id, reason="限期三日内派工", actor=org["supervisor"], now=engine.now()
    )
    assert order.addressed_to == "head_bei" and order.is_open
    assert reminders.list_reminders(engine.uow(), actor=org["head_bei"])[0].title.startswith("督办单")
    assert [o.id for o in reminders.list_supervision_orders(engine.uow(), actor=org["head_bei"])] == [order.id]
    closed = reminders.close_supervision_order(engine.uow(), order_id=order.id, actor=org["head_bei"], now=engine.now())
    assert not closed.is_open and reminders.list_supervision_orders(engine.uow(), actor=org["supervisor"]) == []
