"""The runtime facade in memory: state round-trips, the injected clock drives timers, start timers schedule."""

from __future__ import annotations

import datetime as dt

from engine.bpmn import catalog, timers
from engine.bpmn.runtime import ProcessRun, bundle_for
from tests.helpers import APPROVAL

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)


def _bundle():
    [compiled] = catalog.compile_definitions(
        [catalog.SourceFile(APPROVAL.name, APPROVAL.read_bytes())], allow_scripts=False
    )
    return bundle_for(1, compiled.spec_json)


def test_state_round_trips_and_timer_follows_the_given_clock():
    bundle = _bundle()
    run = ProcessRun.start(bundle, {"x": 1}, now=T0)
    [submit] = run.open_tasks()
    run = ProcessRun.load(bundle, run.dump())
    run.complete(submit.id, {"amount": 1}, now=T0)
    run = ProcessRun.load(bundle, run.dump())
    [timer] = run.timers()
    assert timer.due_at == T0 + dt.timedelta(hours=48)
    assert timer.attached_to == run.open_tasks()[0].id
    run.advance(now=T0 + dt.timedelta(hours=47))
    assert [t.bpmn_id for t in run.open_tasks()] == ["Task_review"]
    run = ProcessRun.load(bundle, run.dump())
    run.advance(now=T0 + dt.timedelta(hours=48, seconds=1))
    assert sorted(t.bpmn_id for t in run.open_tasks()) == ["Task_review", "Task_urge"]
    assert [e.kind for e in run.events] == ["timer_fired"]
    assert len(run.dump()) < 16_000


def test_start_timer_schedules():
    once = timers.first_start("2026-12-01T09:00:00+08:00", now=T0)
    assert once is not None and once.due_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    assert timers.first_start("2020-01-01T00:00:00+00:00", now=T0) is None
    cycle = timers.first_start("R3/PT1H", now=T0)
    assert cycle is not None and cycle.due_at == T0 + dt.timedelta(hours=1) and cycle.repeats_left == 2
    following = timers.next_start("R3/PT1H", fired_due_at=cycle.due_at, repeats_left=2, now=cycle.due_at)
    assert following is not None and following.due_at == T0 + dt.timedelta(hours=2) and following.repeats_left == 1
    # After downtime the missed slots collapse into the next future one (no burst).
    late = timers.next_start(
        "R/PT1H", fired_due_at=cycle.due_at, repeats_left=None, now=cycle.due_at + dt.timedelta(hours=5, minutes=30)
    )
    assert late is not None and late.due_at == T0 + dt.timedelta(hours=7) and late.repeats_left is None
    assert timers.next_start("R3/PT1H", fired_due_at=T0, repeats_left=0, now=T0) is None


def test_cycle_timer_after_downtime_fires_once_not_once_per_missed_slot():
    from SpiffWorkflow.util.task import TaskState

    source = APPROVAL.parent.parent / "tests" / "fixtures" / "bpmn" / "timers.bpmn"
    compiled = catalog.compile_definitions([catalog.SourceFile(source.name, source.read_bytes())], allow_scripts=False)
    run = ProcessRun.start(bundle_for(2, compiled[0].spec_json), {}, now=T0)
    run.advance(now=T0 + dt.timedelta(days=30))

    def fired(spec_name: str) -> int:
        # get_tasks(state=COMPLETED) misses branches under a waiting cycle timer (SPIFFWORKFLOW.md §7.2).
        tasks = run._wf.get_tasks(spec_name=spec_name, state=TaskState.ANY_MASK)
        return sum(t.state == TaskState.COMPLETED for t in tasks)

    assert fired("end_r") == 1  # the endless hourly cycle: one firing for 720 missed hours
    assert fired("end_r3") == 1
    [endless] = [t for t in run.timers() if t.bpmn_id == "every_hour"]
    assert T0 + dt.timedelta(days=30) <= endless.due_at < T0 + dt.timedelta(days=30, hours=1)  # on its hourly grid
