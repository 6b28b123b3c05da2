"""Timer start events scheduled by the engine, the single-scheduler lock on SQLite, DMN decisions deployed apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.errors import InvalidProcessError
from engine.scheduler import jobs
from engine.scheduler.runner import SchedulerGuard
from engine.services import definitions, instances, tasks
from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


def _deploy(engine, actor, *names):
    files = [(n, (FIXTURES / n).read_bytes()) for n in names]
    return definitions.deploy_definition(engine.uow(), files=files, actor=actor, now=engine.now())


def test_timer_start_event_starts_one_instance_per_cycle_without_bursts(engine, admin, clock):
    [result] = _deploy(engine, admin, "timer_start.bpmn")
    assert definitions.get_version(engine.uow(), key=result.key, version=1).start_timer == "R/P1D"
    assert jobs.tick(engine).timers_fired == 0
    clock.advance(days=1, seconds=1)
    assert jobs.tick(engine).timers_fired == 1
    assert jobs.tick(engine).timers_fired == 0
    started = instances.list_instances(engine.uow(), actor=admin, process_key="daily_check")
    assert started.total == 1
    [view] = started.items
    assert [t.bpmn_id for t in instances.get_instance(engine.uow(), instance_id=view.id, actor=admin).tasks] == [
        "check"
    ]
    clock.advance(days=5)  # downtime: one instance for the missed days, then back on the daily grid
    assert jobs.tick(engine).timers_fired == 1
    assert instances.list_instances(engine.uow(), actor=admin, process_key="daily_check").total == 2


def test_new_version_replaces_the_start_schedule(engine, admin, clock):
    _deploy(engine, admin, "timer_start.bpmn")
    changed = (FIXTURES / "timer_start.bpmn").read_bytes().replace(b"R/P1D", b"R/P7D")
    definitions.deploy_definition(engine.uow(), files=[("timer_start.bpmn", changed)], actor=admin, now=engine.now())
    clock.advance(days=1, seconds=1)
    assert jobs.tick(engine).timers_fired == 0  # the daily schedule of version 1 is gone
    clock.advance(days=6)
    assert jobs.tick(engine).timers_fired == 1


def test_decisions_deployed_first_resolve_business_rule_tasks_later(engine, admin, clerk):
    with pytest.raises(InvalidProcessError) as missing:
        _deploy(engine, admin, "business_rule.bpmn")
    assert "risk_level" in str(missing.value.problems)
    assert _deploy(engine, admin, "risk.dmn") == []
    [result] = _deploy(engine, admin, "business_rule.bpmn")
    inst = instances.start_instance(engine.uow(), process_key=result.key, actor=clerk, now=engine.now())
    inst = tasks.complete_task(
        engine.uow(), task_id=inst.tasks[0].id, data={"amount": 5000}, actor=admin, now=engine.now()
    )
    assert [t.bpmn_id for t in inst.tasks] == ["handle"]
    assert inst.data["level"] == "high"


def test_only_one_scheduler_per_sqlite_database(engine, settings):
    if not engine.is_sqlite:
        pytest.skip("PostgreSQL schedulers share work through SKIP LOCKED leases instead")
    first, second = SchedulerGuard(engine), SchedulerGuard(engine)
    try:
        assert first.held()
        assert not second.held()
        first.release()
        assert second.held()
    finally:
        first.release()
        second.release()


def test_a_lapsed_lease_lets_another_scheduler_fire_the_timer(engine, admin, clock):
    from engine.services import timers

    _deploy(engine, admin, "timer_start.bpmn")
    clock.advance(days=1, seconds=1)
    claimed = timers.claim_due_timers(engine.uow(), now=engine.now(), owner="a", lease_s=60)
    assert len(claimed) == 1
    assert timers.claim_due_timers(engine.uow(), now=engine.now(), owner="b", lease_s=60) == []
    assert not timers.fire_timer(engine.uow(), timer_id=claimed[0], owner="b", now=engine.now())
    clock.advance(seconds=61)  # "a" died holding it
    assert timers.claim_due_timers(engine.uow(), now=engine.now(), owner="b", lease_s=60) == claimed
    assert timers.fire_timer(engine.uow(), timer_id=claimed[0], owner="b", now=engine.now())
    assert not timers.fire_timer(engine.uow(), timer_id=claimed[0], owner="a", now=engine.now())
    assert instances.list_instances(engine.uow(), actor=admin).total == 1
