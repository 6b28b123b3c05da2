"""B6: exactly once under contention (PostgreSQL) — 4 processes complete the same tasks; 2 sweepers, one killed."""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing as mp
import os
import queue
import signal
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import insert, text

from bench import b5_deadlines, databases
from bench.report import Row, verdict
from bench.stats import summarize
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.errors import EngineError
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.scheduler import jobs
from engine.services import instances, tasks

COMPLETERS = 4
SWEEPERS = 2
LEASE_S = 2.0  # Settings(timer_lease_s=…): a dead sweeper's timers are taken over this long after its claim
SWEEP_TICK_S = 0.5
# The sweepers' clock: real time moved past the PT48H boundary timers and the generated deadlines.
OFFSET_S = 48 * 3600 + 120
MANAGERS = ("bench_manager_1", "bench_manager_2")  # the review lane: each crossing of a review task reminds both
KILL_AFTER_SHARE = 0.25  # kill once this share of the timers has fired and the victim holds unfired leases
KILL_AT_LATEST_S = 30.0
SETTLE_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Sizes:
    tasks: int  # contested Task_submit tasks; their Task_review then waits on a PT48H timer each
    deadlines: int  # generated open tasks (with assignees) that cross a threshold at the sweepers' first tick


def sizes(smoke: bool) -> Sizes:
    return Sizes(50, 500) if smoke else Sizes(500, 5000)


# -- worker processes -----------------------------------------------------------------------------------------


def _completer(url: str, task_ids: list[str], data: dict[str, Any], index: int, go: Any, results: Any) -> None:
    """Complete every task of the list, in the same order as the other completers; report each outcome."""
    try:
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
        actor = Actor(f"bench_clerk_{index}", frozenset({"clerk"}))
        with engine.uow(readonly=True) as repos:
            repos.session.execute(text("SELECT 1"))
        results.put({"index": index, "ready": True, "pid": os.getpid()})
        go.wait()
        began = time.monotonic()
        outcomes, latencies = [], []
        for task_id in task_ids:
            t0 = time.perf_counter()
            try:
                tasks.complete_task(engine.uow(), task_id=task_id, data=dict(data), actor=actor, now=engine.now())
                outcomes.append("ok")
                latencies.append(time.perf_counter() - t0)
            except EngineError as exc:
                outcomes.append(type(exc).__name__)
            except Exception as exc:  # a driver error that escaped the unit of work: reported, not hidden
                outcomes.append(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        ended = time.monotonic()
        results.put({"index": index, "began": began, "ended": ended, "outcomes": outcomes, "latencies": latencies})
        engine.dispose()
    except BaseException:
        results.put({"index": index, "error": traceback.format_exc()})


def _sweeper(url: str, index: int, go: Any, stop: Any, results: Any) -> None:
    """jobs.tick every SWEEP_TICK_S until told to stop (or killed)."""
    try:
        settings = Settings(database_url=url, scheduler_enabled=False, timer_lease_s=LEASE_S)
        engine = build_engine(settings, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=OFFSET_S))
        with engine.uow(readonly=True) as repos:
            repos.session.execute(text("SELECT 1"))
        results.put({"index": index, "ready": True, "pid": os.getpid()})
        go.wait()
        fired = ticks = tick_errors = 0
        raised: list[str] = []
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                report = jobs.tick(engine, owner=_owner(index))
                fired += report.timers_fired
                tick_errors += report.errors
            except Exception as exc:  # the runner logs and retries at the next tick; so do we, and count it
                raised.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            ticks += 1
            stop.wait(max(0.0, SWEEP_TICK_S - (time.monotonic() - t0)))
        results.put({"index": index, "fired": fired, "ticks": ticks, "timer_errors": tick_errors, "raised": raised})
        engine.dispose()
    except BaseException:
        results.put({"index": index, "error": traceback.format_exc()})


def _owner(index: int) -> str:
    return f"bench-sweeper-{index}"


# -- part A: completions ---------------------------------------------------------------------------------------


def _wait_ready(procs: list[Any], results: Any, count: int) -> dict[int, int]:
    pids: dict[int, int] = {}
    while len(pids) < count:
        try:
            message = results.get(timeout=2)
        except queue.Empty:
            dead = [i for i, p in enumerate(procs) if not p.is_alive()]
            if dead:
                raise RuntimeError(
                    f"B6 worker {dead[0]} exited ({procs[dead[0]].exitcode}) before it was ready"
                ) from None
            continue
        if "error" in message:
            raise RuntimeError("a B6 worker failed:\n" + message["error"])
        pids[message["index"]] = message["pid"]
    return pids


def contested_completions(url: str, task_ids: list[str], data: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_completer, args=(url, task_ids, data, i, go, results)) for i in range(COMPLETERS)]
    for p in procs:
        p.start()
    outcomes: dict[int, dict[str, Any]] = {}
    try:
        _wait_ready(procs, results, COMPLETERS)
        go.set()
        while len(outcomes) < COMPLETERS:
            try:
                message = results.get(timeout=2)
            except queue.Empty:
                lost = [i for i, p in enumerate(procs) if not p.is_alive() and i not in outcomes]
                if lost:
                    raise RuntimeError(f"B6 completer {lost[0]} exited without a result; see stderr") from None
                continue
            if "error" in message:
                raise RuntimeError("a B6 completer failed:\n" + message["error"])
            outcomes[message["index"]] = message
    finally:
        for p in procs:
            if p.is_alive() and len(outcomes) < COMPLETERS:
                p.terminate()
            p.join()
    wins = [sum(outcomes[w]["outcomes"][i] == "ok" for w in outcomes) for i in range(len(task_ids))]
    kinds = Counter(o for w in outcomes.values() for o in w["outcomes"])
    latencies = [x for w in outcomes.values() for x in w["latencies"]]
    wall = max(w["ended"] for w in outcomes.values()) - min(w["began"] for w in outcomes.values())
    return {
        "processes": COMPLETERS,
        "tasks": len(task_ids),
        "wins_per_task": dict(Counter(wins)),
        "duplicate_completions": sum(1 for w in wins if w > 1),
        "tasks_never_completed": sum(1 for w in wins if w == 0),
        "outcomes": dict(kinds),
        "unexpected": sorted({k for k in kinds if k.startswith("unexpected")}),
        "wall_s": wall,
        "completions_per_s": sum(wins) / wall if wall else 0.0,
        "successful_complete_task": summarize(latencies),
        "attempts_per_process": len(task_ids),
    }


def check_completions(engine: Engine, instance_ids: list[str]) -> dict[str, Any]:
    """What the database says: one task_completed event per task, one review task and one timer per instance."""
    with engine.db.connect() as conn:
        completed = conn.execute(
            text(
                "SELECT h.task_id, count(*) FROM history_events h WHERE h.kind = 'task_completed' "
                "AND h.instance_id = ANY(:ids) GROUP BY h.task_id"
            ),
            {"ids": instance_ids},
        ).all()
        reviews = conn.execute(
            text(
                "SELECT instance_id, count(*) FROM human_tasks WHERE bpmn_id = 'Task_review' "
                "AND instance_id = ANY(:ids) GROUP BY instance_id"
            ),
            {"ids": instance_ids},
        ).all()
        armed = conn.execute(
            text("SELECT instance_id, count(*) FROM timers WHERE instance_id = ANY(:ids) GROUP BY instance_id"),
            {"ids": instance_ids},
        ).all()
    return {
        "task_completed_events": len(completed),
        "tasks_with_several_completed_events": sum(1 for _, n in completed if n > 1),
        "instances_with_one_review_task": sum(1 for _, n in reviews if n == 1),
        "instances_with_several_review_tasks": sum(1 for _, n in reviews if n > 1),
        "instances_with_one_timer": sum(1 for _, n in armed if n == 1),
        "instances_with_several_timers": sum(1 for _, n in armed if n > 1),
        "instances": len(instance_ids),
    }


# -- part B: sweepers -------------------------------------------------------------------------------------------


def generate_deadlines(engine: Engine, n: int, version_id: int, key: str) -> list[tuple[str, str]]:
    """n open tasks (5 per generated instance), each with an assignee; half turn yellow, half turn red at once.

    Returns the (recipient, dedupe_key) of the one reminder each must get."""
    threshold = dt.datetime.now(dt.UTC) + dt.timedelta(hours=48)  # passed by the sweepers' clock at their first tick
    params = {"n": n, "vid": version_id, "key": key, "at": threshold, "users": b5_deadlines.USERS}
    with engine.db.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO process_instances (id, definition_version_id, process_key, business_key, status, state_json,
                                           data_json, started_by, created_at, updated_at, version)
            SELECT 'b6i' || i, :vid, :key, 'B6-' || i, 'running', '{}', '{}', 'bench', :at - interval '3 days',
                   :at - interval '3 days', 1
            FROM generate_series(0, (:n - 1) / 5) AS i
        """),
            params,
        )
        conn.execute(
            text("""
            INSERT INTO human_tasks (id, instance_id, process_key, business_key, bpmn_id, name, lane, assignee,
                                     state, time_state, created_at, due_at, warn_at)
            SELECT 'b6t' || g, 'b6i' || (g / 5), :key, 'B6-' || (g / 5), 'Task_review', 'Review the case',
                   'group_' || (g % 200), 'user_' || lpad((g % :users)::text, 4, '0'), 'open',
                   CASE WHEN g % 2 = 0 THEN 'green' ELSE 'yellow' END, :at - interval '3 days',
                   CASE WHEN g % 2 = 0 THEN :at + interval '5 days' ELSE :at END,
                   CASE WHEN g % 2 = 0 THEN :at ELSE :at - interval '1 day' END
            FROM generate_series(0, :n - 1) AS g
        """),
            params,
        )
    return [
        (f"user_{g % b5_deadlines.USERS:04d}", f"task:b6t{g}:{'yellow' if g % 2 == 0 else 'red'}") for g in range(n)
    ]


def sweep_with_a_kill(url: str, engine: Engine, expected_timers: int, expected_reminders: int) -> dict[str, Any]:
    """Two sweepers; SIGKILL one while it holds leased, unfired timers; the survivor must finish exactly once."""
    ctx = mp.get_context("spawn")
    go, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_sweeper, args=(url, i, go, stop, results)) for i in range(SWEEPERS)]
    for p in procs:
        p.start()
    reports: dict[int, dict[str, Any]] = {}
    kill: dict[str, Any] = {}
    try:
        pids = _wait_ready(procs, results, SWEEPERS)
        go.set()
        began = time.monotonic()
        with psycopg.connect(databases.conninfo(url), autocommit=True) as watch:
            while not kill:
                fired, leases = _progress(watch)
                holder = max(range(SWEEPERS), key=lambda i: leases.get(_owner(i), 0))
                late = time.monotonic() - began > KILL_AT_LATEST_S
                if (fired >= expected_timers * KILL_AFTER_SHARE and leases.get(_owner(holder), 0) >= 3) or late:
                    os.kill(pids[holder], signal.SIGKILL)
                    procs[holder].join()
                    fired_at_kill, leases_after = _progress(watch)
                    kill = {
                        "victim": _owner(holder),
                        "after_s": time.monotonic() - began,
                        "timers_fired_before": fired_at_kill,
                        "victim_leased_unfired": leases_after.get(_owner(holder), 0),
                        "mid_batch": leases_after.get(_owner(holder), 0) > 0,
                        "forced_by_time_limit": late,
                        "sim_time": (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=OFFSET_S)).isoformat(),
                    }
                    break
                time.sleep(0.02)
            killed_at = time.monotonic()
            settled = False
            while time.monotonic() - killed_at < SETTLE_TIMEOUT_S:
                pending = watch.execute("SELECT count(*) FROM timers WHERE status = 'pending'").fetchone()[0]
                reminded = watch.execute("SELECT count(*) FROM reminders").fetchone()[0]
                if pending == 0 and reminded >= expected_reminders:
                    settled = True
                    break
                time.sleep(0.05)
            kill["settled_s_after_kill"] = time.monotonic() - killed_at if settled else None
            kill["total_s"] = time.monotonic() - began
        time.sleep(2 * SWEEP_TICK_S)  # one more tick each: nothing must happen any more
        stop.set()
        survivors = [i for i, p in enumerate(procs) if p.is_alive()]
        deadline = time.monotonic() + 30
        while len(reports) < len(survivors) and time.monotonic() < deadline:
            try:
                message = results.get(timeout=2)
            except queue.Empty:
                continue
            if "error" in message:
                raise RuntimeError("a B6 sweeper failed:\n" + message["error"])
            if not message.get("ready"):
                reports[message["index"]] = message
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join()
    return {
        "kill": kill,
        "survivors": {_owner(i): r for i, r in reports.items()},
        "settled": kill.get("settled_s_after_kill") is not None,
    }


def _progress(watch: psycopg.Connection[Any]) -> tuple[int, dict[str, int]]:
    fired = watch.execute("SELECT count(*) FROM history_events WHERE kind = 'timer_fired'").fetchone()
    leases = watch.execute(
        "SELECT lease_owner, count(*) FROM timers WHERE status = 'pending' AND lease_owner IS NOT NULL GROUP BY 1"
    ).fetchall()
    return int(fired[0] if fired else 0), {str(o): int(n) for o, n in leases}


def check_sweep(
    engine: Engine, instance_ids: list[str], review_task_ids: list[str], expected: list[tuple[str, str]]
) -> dict[str, Any]:
    """Timer fires per instance and reminders per (recipient, dedupe_key), against what must exist."""
    with engine.db.connect() as conn:
        fires = dict(
            conn.execute(
                text(
                    "SELECT instance_id, count(*) FROM history_events WHERE kind = 'timer_fired' "
                    "AND instance_id = ANY(:ids) GROUP BY instance_id"
                ),
                {"ids": instance_ids},
            )
            .tuples()
            .all()
        )
        pending = conn.execute(text("SELECT count(*) FROM timers WHERE status = 'pending'")).scalar_one()
        found = Counter(
            {
                (r, k): n
                for r, k, n in conn.execute(
                    text("SELECT recipient, dedupe_key, count(*) FROM reminders GROUP BY recipient, dedupe_key")
                ).all()
            }
        )
    wanted = set(expected) | {(who, f"task:{t}:red") for t in review_task_ids for who in MANAGERS}
    return {
        "timers": len(instance_ids),
        "timer_fired_duplicates": sum(1 for i in instance_ids if fires.get(i, 0) > 1),
        "timer_fired_lost": sum(1 for i in instance_ids if fires.get(i, 0) == 0),
        "timers_still_pending": int(pending),
        "reminders_expected": len(wanted),
        "reminder_duplicates": sum(1 for key, n in found.items() if n > 1),
        "reminders_lost": len(wanted - set(found)),
        "reminders_unexpected": len(set(found) - wanted),
        "unexpected_examples": sorted(set(found) - wanted)[:5],
    }


# -- the whole benchmark ------------------------------------------------------------------------------------------


def _managers(engine: Engine) -> None:
    with engine.db.begin() as conn:
        conn.execute(
            insert(m.User),
            [
                {
                    "username": name,
                    "display_name": name,
                    "password_hash": None,
                    "unit_code": None,
                    "is_active": True,
                    "created_at": dt.datetime.now(dt.UTC),
                }
                for name in MANAGERS
            ],
        )
        ids = conn.execute(text("SELECT id FROM users WHERE username = ANY(:n)"), {"n": list(MANAGERS)}).scalars()
        conn.execute(insert(m.UserRole), [{"user_id": i, "role": "manager"} for i in ids])


def measure(size: Sizes) -> tuple[dict[str, Any], list[Row]]:
    with databases.fresh_database("postgresql", "b6") as url:
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
        try:
            engine.create_schema()
            proc = b5_deadlines.deploy_timer_process(engine)
            _managers(engine)
            started = [
                instances.start_instance(
                    engine.uow(), process_key=proc.key, actor=b5_deadlines.CLERK, now=engine.now(), data={}
                )
                for _ in range(size.tasks)
            ]
            instance_ids = [s.id for s in started]
            task_ids = [s.tasks[0].id for s in started]
            completions = contested_completions(url, task_ids, proc.submit_data)
            completions["database"] = check_completions(engine, instance_ids)
            with engine.db.connect() as conn:
                review_ids = list(
                    conn.execute(
                        text("SELECT id FROM human_tasks WHERE bpmn_id = 'Task_review' AND instance_id = ANY(:ids)"),
                        {"ids": instance_ids},
                    ).scalars()
                )
                version_id = conn.execute(text("SELECT max(id) FROM definition_versions")).scalar_one()
            expected = generate_deadlines(engine, size.deadlines, version_id, proc.key)
            expected_reminders = len(expected) + len(review_ids) * len(MANAGERS)
            sweep = sweep_with_a_kill(url, engine, len(instance_ids), expected_reminders)
            sweep["database"] = check_sweep(engine, instance_ids, review_ids, expected)
        finally:
            engine.dispose()
    return _result(size, completions, sweep)


def _result(size: Sizes, completions: dict[str, Any], sweep: dict[str, Any]) -> tuple[dict[str, Any], list[Row]]:
    db_a, db_b, kill = completions["database"], sweep["database"], sweep["kill"]
    dup_a = completions["duplicate_completions"] + db_a["tasks_with_several_completed_events"]
    lost_a = completions["tasks_never_completed"]
    side = db_a["instances_with_several_review_tasks"] + db_a["instances_with_several_timers"]
    ok_a = dup_a == 0 and lost_a == 0 and side == 0 and not completions["unexpected"]
    lat = completions["successful_complete_task"]
    outcomes = completions["outcomes"]
    others = sum(n for k, n in outcomes.items() if k not in ("ok", "InvalidStateError"))
    rows = [
        Row(
            "B6",
            f"postgresql, {COMPLETERS} processes complete the same {size.tasks} tasks",
            size.tasks,
            lat.median_ms,
            lat.p95_ms,
            lat.p99_ms,
            completions["completions_per_s"],
            f"ok {outcomes.get('ok', 0)}, already done {outcomes.get('InvalidStateError', 0)}, other {others}",
            f"dup {dup_a}, lost {lost_a}, side {side}",
            "1 success per task",
            verdict(ok_a),
        )
    ]
    dup_t, lost_t = db_b["timer_fired_duplicates"], db_b["timer_fired_lost"] + db_b["timers_still_pending"]
    dup_r, lost_r = db_b["reminder_duplicates"], db_b["reminders_lost"]
    ok_b = dup_t == 0 and lost_t == 0 and dup_r == 0 and lost_r == 0 and sweep["settled"]
    settled = kill.get("settled_s_after_kill")
    rows.append(
        Row(
            "B6",
            f"postgresql, {SWEEPERS} sweepers, one SIGKILLed mid-batch",
            db_b["timers"] + db_b["reminders_expected"],
            math.nan,
            math.nan,
            math.nan,
            db_b["timers"] / kill["total_s"] if kill.get("total_s") else None,
            f"victim held {kill.get('victim_leased_unfired', 0)} leases; done "
            + (f"{settled:.1f} s after kill (lease {LEASE_S:.0f} s)" if settled is not None else "NOT settled"),
            f"timers dup {dup_t}/lost {lost_t}; reminders dup {dup_r}/lost {lost_r}",
            "0 dup, 0 lost",
            verdict(ok_b),
        )
    )
    result = {
        "benchmark": "B6",
        "what": "4 processes completing the same tasks; 2 sweepers (jobs.tick loops) with one SIGKILLed mid-batch",
        "sizes": {"contested_tasks": size.tasks, "timers": size.tasks, "generated_deadlines": size.deadlines},
        "settings": {"timer_lease_s": LEASE_S, "sweep_tick_s": SWEEP_TICK_S, "sweeper_clock_offset_s": OFFSET_S},
        "completions": _jsonable(completions),
        "sweep": _jsonable(sweep),
        "meets": {"completions_exactly_once": ok_a, "sweep_exactly_once": ok_b},
    }
    return result, rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value.as_dict() if hasattr(value, "as_dict") else value


def run(*, smoke: bool) -> tuple[dict[str, Any], list[Row]]:
    if databases.postgres_version() is None:
        message = f"PostgreSQL not reachable at {databases.PG_ADMIN_URL} (set AUDITLOOP_BENCH_PG)"
        row = Row("B6", "postgresql", 0, math.nan, math.nan, math.nan, None, f"skipped: {message}", "-", "-", "")
        return {"benchmark": "B6", "skipped": message}, [row]
    return measure(sizes(smoke))
