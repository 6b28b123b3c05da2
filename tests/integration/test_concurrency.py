"""Races on a real database: one winner among four completions, and due timers fired exactly once by rival schedulers.

(a) threads, each with its own unit of work; (b) OS processes, each with its own Engine (spawn); (c) two
schedulers ticking at once over 50 due boundary timers; (d) a scheduler that died holding a lease.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import queue
import threading
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.errors import ConflictError
from engine.domain.views import Actor, InstanceView
from engine.scheduler import jobs
from engine.services import instances, tasks, timers
from tests.helpers import deploy_approval, task

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
REJECT = {"approved": False, "comment": "no receipt"}
MANAGER = Actor("bob", frozenset({"manager"}))


def _waiting_for_review(engine: Engine, admin: Actor, clerk: Actor, n: int = 1) -> list[InstanceView]:
    """`n` instances of the example process, each submitted: "Review expense" open, its PT48H timer armed."""
    deploy_approval(engine, admin)
    waiting = []
    for i in range(n):
        started = instances.start_instance(
            engine.uow(), process_key="expense_approval", business_key=f"EXP-{i}", actor=clerk, now=engine.now()
        )
        waiting.append(
            tasks.complete_task(
                engine.uow(),
                task_id=task(started, "Task_submit").id,
                data={"amount": 10 + i, "reason": "taxi"},
                actor=clerk,
                now=engine.now(),
            )
        )
    return waiting


def _rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def _assert_one_completion(engine: Engine, instance_id: str, review_id: str) -> None:
    """What a double completion would leave behind: two history events, two new tasks, a second loop."""
    completed = _rows(
        engine, "SELECT actor FROM history_events WHERE kind = 'task_completed' AND task_id = :t", t=review_id
    )
    assert completed == [("bob",)], f"task_completed events for the review task: {completed}"
    human = _rows(
        engine,
        "SELECT bpmn_id, state FROM human_tasks WHERE instance_id = :i ORDER BY created_at, bpmn_id",
        i=instance_id,
    )
    assert sorted(human) == sorted(
        [("Task_submit", "completed"), ("Task_review", "completed"), ("Task_submit", "open")]
    ), human
    assert _rows(engine, "SELECT status FROM process_instances WHERE id = :i", i=instance_id) == [("running",)]


# -- (a) four threads, one task --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_threads_complete_one_task_one_wins(backend, engine, admin, clerk):
    waiting = _waiting_for_review(engine, admin, clerk)[0]
    review = task(waiting, "Task_review")
    barrier = threading.Barrier(4)
    outcomes: list[Any] = [None] * 4

    def complete(i: int) -> None:
        uow = engine.uow()  # each thread its own unit of work (and connection)
        barrier.wait(timeout=30)
        try:
            outcomes[i] = tasks.complete_task(uow, task_id=review.id, data=REJECT, actor=MANAGER, now=engine.now())
        except Exception as exc:  # every outcome is asserted below
            outcomes[i] = exc

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a completion hung"

    wins = [o for o in outcomes if isinstance(o, InstanceView)]
    conflicts = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(wins), len(conflicts)) == (1, 3), f"outcomes: {[repr(o) for o in outcomes]}"
    assert [t.bpmn_id for t in wins[0].tasks] == ["Task_submit"]
    _assert_one_completion(engine, waiting.id, review.id)


# -- (b) four OS processes, one task ---------------------------------------------------------------------------


def _complete_in_process(url: str, task_id: str, now_iso: str, barrier: Any, results: Any) -> None:
    """Runs in a spawned process: its own Engine and connection pool, then one completion at the barrier."""
    engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
    try:
        with engine.db.connect():
            pass  # connected before the start line, so the race is the completion itself
        barrier.wait(timeout=60)
        try:
            view = tasks.complete_task(
                engine.uow(), task_id=task_id, data=REJECT, actor=MANAGER, now=dt.datetime.fromisoformat(now_iso)
            )
            results.put(("won", view.status, [t.bpmn_id for t in view.tasks]))
        except ConflictError as exc:
            results.put(("conflict", type(exc).__name__, exc.message))
        except Exception as exc:  # reported to the parent, which fails the test
            results.put(("error", type(exc).__name__, repr(exc)))
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_four_processes_complete_one_task_one_wins(backend, engine, admin, clerk, database_url):
    waiting = _waiting_for_review(engine, admin, clerk)[0]
    review = task(waiting, "Task_review")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_complete_in_process, args=(database_url, review.id, engine.now().isoformat(), barrier, results)
        )
        for _ in range(4)
    ]
    try:
        for p in procs:
            p.start()
        outcomes = []
        for _ in procs:
            try:
                outcomes.append(results.get(timeout=90))
            except queue.Empty:
                pytest.fail(f"a worker process gave no answer; so far: {outcomes}")
        for p in procs:
            p.join(timeout=30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=10)
        results.close()
    kinds = Counter(o[0] for o in outcomes)
    assert kinds == Counter({"won": 1, "conflict": 3}), f"outcomes: {outcomes}"
    assert next(o for o in outcomes if o[0] == "won")[1:] == ("running", ["Task_submit"])
    _assert_one_completion(engine, waiting.id, review.id)


# -- (c) two schedulers, 50 due timers ---------------------------------------------------------------------------


def _due_pending(engine: Engine) -> int:
    with engine.uow(readonly=True) as repos:
        return int(
            repos.session.scalar(
                sa.text("SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= :now"),
                {"now": engine.now()},
            )
            or 0
        )


def _assert_each_timer_fired_once(engine: Engine, instance_ids: list[str]) -> None:
    fired = dict(
        _rows(
            engine, "SELECT instance_id, count(*) FROM history_events WHERE kind = 'timer_fired' GROUP BY instance_id"
        )
    )
    assert {i: fired.get(i, 0) for i in instance_ids} == dict.fromkeys(instance_ids, 1)
    chase = Counter(i for (i,) in _rows(engine, "SELECT instance_id FROM human_tasks WHERE bpmn_id = 'Task_urge'"))
    assert {i: chase.get(i, 0) for i in instance_ids} == dict.fromkeys(instance_ids, 1), "Chase tasks per instance"
    open_tasks = Counter(_rows(engine, "SELECT bpmn_id, name FROM human_tasks WHERE state = 'open'"))
    n = len(instance_ids)
    # Non-interrupting: the review stays open beside the chase.
    assert open_tasks == Counter({("Task_review", "Review expense"): n, ("Task_urge", "Chase the overdue review"): n})


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_schedulers_fire_each_due_timer_exactly_once(backend, engine, admin, clerk, settings, clock):
    waiting = _waiting_for_review(engine, admin, clerk, n=50)
    ids = [w.id for w in waiting]
    assert _rows(engine, "SELECT count(*) FROM timers WHERE status = 'pending'") == [(50,)]
    clock.advance(hours=48, seconds=1)
    assert _due_pending(engine) == 50

    schedulers = {owner: build_engine(settings, clock=clock) for owner in ("scheduler-A", "scheduler-B")}
    barrier = threading.Barrier(2)
    reports: dict[str, list[Any]] = {owner: [] for owner in schedulers}

    def run(owner: str) -> None:
        eng = schedulers[owner]
        barrier.wait(timeout=30)
        try:
            for _ in range(200):
                reports[owner].append(jobs.tick(eng, owner=owner, batch=5))
                if _due_pending(eng) == 0:
                    return
        except Exception as exc:  # asserted below
            reports[owner].append(exc)

    threads = [threading.Thread(target=run, args=(owner,)) for owner in schedulers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for eng in schedulers.values():
            eng.dispose()
    assert not any(t.is_alive() for t in threads), "a scheduler hung"
    failures = [r for rs in reports.values() for r in rs if isinstance(r, Exception) or r.errors]
    assert failures == [], f"scheduler ticks failed: {failures}"
    fired = {owner: sum(r.timers_fired for r in rs) for owner, rs in reports.items()}
    assert sum(fired.values()) == 50, f"timers fired per scheduler: {fired}"
    assert _due_pending(engine) == 0
    _assert_each_timer_fired_once(engine, ids)


# -- (d) a lease whose owner died ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_expired_lease_is_taken_over_and_fires_once(backend, engine, admin, clerk, settings, clock):
    instance_id = _waiting_for_review(engine, admin, clerk)[0].id
    clock.advance(hours=48, seconds=1)
    lease_s = settings.timer_lease_s

    claimed = timers.claim_due_timers(engine.uow(), now=engine.now(), owner="A", lease_s=lease_s)
    assert len(claimed) == 1  # ... and A dies here, before firing.

    clock.advance(seconds=lease_s / 2)
    assert jobs.tick(engine, owner="B").timers_fired == 0, "B took a timer whose lease was still valid"
    assert _rows(engine, "SELECT count(*) FROM history_events WHERE kind = 'timer_fired'") == [(0,)]

    clock.advance(seconds=lease_s / 2 + 1)
    report = jobs.tick(engine, owner="B")
    assert (report.timers_fired, report.errors) == (1, 0), f"B did not take over the expired lease: {report}"
    assert _rows(engine, "SELECT lease_owner, status FROM timers WHERE id = :t", t=claimed[0]) == [("B", "done")]

    # A comes back to life and tries to fire what it had claimed: too late.
    assert timers.fire_timer(engine.uow(), timer_id=claimed[0], owner="A", now=engine.now()) is False
    assert jobs.tick(engine, owner="A").timers_fired == 0
    clock.advance(seconds=lease_s * 3)
    assert jobs.tick(engine, owner="B").timers_fired == 0
    _assert_each_timer_fired_once(engine, [instance_id])
