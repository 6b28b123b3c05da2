"""B4: the inbox — first page (50) and total for a user in 3 groups, over a large human-task table."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, text

from bench import databases, process
from bench.report import Row, verdict
from bench.stats import summarize
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence import queries
from engine.services import definitions

SEED = 20_261_122
GROUPS = 200
USERS = 5000
ROLES_PER_USER = 3
TASKS_PER_INSTANCE = 5
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
PAGE = 50
TARGET_1_MS = 5.0
TARGET_8_MS = 30.0
PARTIAL_INDEXES = ("ix_human_tasks_open_assignee", "ix_human_tasks_open_lane")
BATCH = 50_000
DEPLOYER = Actor("bench_admin", frozenset({"admin"}))

# The shape of the data, shared by the Python (SQLite) and the SQL (PostgreSQL) generators.
NO_LANE_SHARE = 0.01  # open tasks in no lane: everyone sees them
ASSIGNED_SHARE = 0.2  # open tasks claimed by someone
NO_DUE_SHARE = 0.1
OPEN_AGE_DAYS = 30
CLOSED_AGE_DAYS = 365


@dataclass(frozen=True)
class Sizes:
    tasks: int
    open_tasks: int
    queries_1: int  # queries by the single reader
    queries_8: int  # queries per reader with 8 readers
    budget_s: float  # wall-clock cap per reader configuration


def sizes(smoke: bool) -> Sizes:
    return Sizes(100_000, 10_000, 300, 60, 6.0) if smoke else Sizes(1_000_000, 100_000, 2000, 250, 45.0)


def group(i: int) -> str:
    return f"group_{i:03d}"


def user(i: int) -> str:
    return f"user_{i:04d}"


def memberships() -> list[tuple[str, frozenset[str]]]:
    rng = random.Random(SEED)
    return [(user(u), frozenset(group(g) for g in rng.sample(range(GROUPS), ROLES_PER_USER))) for u in range(USERS)]


# -- data -----------------------------------------------------------------------------------------------------


def _sqlite_time(value: dt.datetime | None) -> str | None:
    """The text SQLAlchemy stores for a UtcDateTime on SQLite (naive UTC)."""
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _task_rows(size: Sizes, start: int, stop: int, rng: random.Random, key: str) -> list[tuple[Any, ...]]:
    rows = []
    step = size.tasks // size.open_tasks
    for g in range(start, stop):
        is_open = g % step == step - 1
        lane_null, lane, assign, who = rng.random(), rng.randrange(GROUPS), rng.random(), rng.randrange(USERS)
        created = NOW - dt.timedelta(days=rng.random() * (OPEN_AGE_DAYS if is_open else CLOSED_AGE_DAYS))
        due = None if rng.random() < NO_DUE_SHARE else created + dt.timedelta(days=2 + rng.randrange(9))
        warn = due - dt.timedelta(days=1) if due else None
        if is_open:
            state = "red" if due and due <= NOW else "yellow" if warn and warn <= NOW else "green"
            assignee, completed_at, completed_by = (user(who) if assign < ASSIGNED_SHARE else None), None, None
        else:
            state, assignee = "green", None
            completed_at, completed_by = created + dt.timedelta(hours=1 + rng.randrange(96)), user(who)
        rows.append(
            (
                f"t{g:09d}",
                f"i{g // TASKS_PER_INSTANCE:08d}",
                key,
                f"BK-{g // TASKS_PER_INSTANCE}",
                "Task_review",
                "Review the case",
                None if is_open and lane_null < NO_LANE_SHARE else group(lane),
                assignee,
                None,
                None,
                "open" if is_open else "completed",
                state,
                _sqlite_time(created),
                _sqlite_time(due),
                _sqlite_time(warn),
                _sqlite_time(completed_at),
                completed_by,
            )
        )
    return rows


TASK_COLUMNS = (
    "id, instance_id, process_key, business_key, bpmn_id, name, lane, assignee, unit_code, form_key, state, "
    "time_state, created_at, due_at, warn_at, completed_at, completed_by"
)
INSTANCE_COLUMNS = (
    "id, definition_version_id, process_key, business_key, status, time_state, unit_code, state_json, data_json, "
    "started_by, created_at, updated_at, version"
)


def _fill_sqlite(engine: Engine, size: Sizes, version_id: int, key: str, *, analyze: bool) -> None:
    rng = random.Random(SEED + 1)
    n_instances = size.tasks // TASKS_PER_INSTANCE
    step = size.tasks // size.open_tasks
    when = _sqlite_time(NOW - dt.timedelta(days=OPEN_AGE_DAYS))
    with engine.db.begin() as conn:
        for lo in range(0, n_instances, BATCH):
            rows = [
                (
                    f"i{i:08d}",
                    version_id,
                    key,
                    f"BK-{i}",
                    "running"
                    if any((i * TASKS_PER_INSTANCE + k) % step == step - 1 for k in range(TASKS_PER_INSTANCE))
                    else "completed",
                    None,
                    None,
                    "{}",
                    "{}",
                    user(rng.randrange(USERS)),
                    when,
                    when,
                    1,
                )
                for i in range(lo, min(lo + BATCH, n_instances))
            ]
            conn.exec_driver_sql(
                f"INSERT INTO process_instances ({INSTANCE_COLUMNS}) VALUES ({', '.join('?' * 13)})", rows
            )
        for lo in range(0, size.tasks, BATCH):
            rows = _task_rows(size, lo, min(lo + BATCH, size.tasks), rng, key)
            conn.exec_driver_sql(f"INSERT INTO human_tasks ({TASK_COLUMNS}) VALUES ({', '.join('?' * 17)})", rows)
    if analyze:
        with engine.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def _fill_postgresql(engine: Engine, size: Sizes, version_id: int, key: str, *, analyze: bool) -> None:
    step = size.tasks // size.open_tasks
    params = {
        "n": size.tasks,
        "per": TASKS_PER_INSTANCE,
        "step": step,
        "now": NOW,
        "vid": version_id,
        "key": key,
        "groups": GROUPS,
        "users": USERS,
        "no_lane": NO_LANE_SHARE,
        "assigned": ASSIGNED_SHARE,
        "no_due": NO_DUE_SHARE,
        "open_age": OPEN_AGE_DAYS,
        "closed_age": CLOSED_AGE_DAYS,
    }
    with engine.db.begin() as conn:
        conn.execute(text("SELECT setseed(:seed)"), {"seed": random.Random(SEED).random() * 2 - 1})
        conn.execute(
            text(f"""
            INSERT INTO process_instances ({INSTANCE_COLUMNS})
            SELECT 'i' || lpad(i::text, 8, '0'), :vid, :key, 'BK-' || i,
                   CASE WHEN EXISTS (SELECT 1 FROM generate_series(i * :per, i * :per + :per - 1) t
                                     WHERE t % :step = :step - 1) THEN 'running' ELSE 'completed' END,
                   NULL, NULL, '{{}}', '{{}}', 'user_' || lpad(floor(random() * :users)::int::text, 4, '0'),
                   :now - make_interval(days => :open_age), :now - make_interval(days => :open_age), 1
            FROM generate_series(0, :n / :per - 1) AS i
        """),
            params,
        )
        conn.execute(
            text(f"""
            INSERT INTO human_tasks ({TASK_COLUMNS})
            SELECT 't' || lpad(g::text, 9, '0'), 'i' || lpad((g / :per)::text, 8, '0'), :key, 'BK-' || (g / :per),
                   'Task_review', 'Review the case',
                   CASE WHEN is_open AND lane_null < :no_lane THEN NULL
                        ELSE 'group_' || lpad(lane::text, 3, '0') END,
                   CASE WHEN is_open AND assign < :assigned THEN 'user_' || lpad(who::text, 4, '0') END,
                   NULL, NULL, CASE WHEN is_open THEN 'open' ELSE 'completed' END,
                   CASE WHEN NOT is_open THEN 'green' WHEN due <= :now THEN 'red'
                        WHEN due - interval '1 day' <= :now THEN 'yellow' ELSE 'green' END,
                   created, due, due - interval '1 day',
                   CASE WHEN NOT is_open THEN created + make_interval(hours => 1 + hours) END,
                   CASE WHEN NOT is_open THEN 'user_' || lpad(who::text, 4, '0') END
            FROM (
                SELECT *, CASE WHEN no_due < :no_due THEN NULL ELSE created + make_interval(days => 2 + days) END AS due
                FROM (
                    SELECT g, g % :step = :step - 1 AS is_open, random() AS lane_null,
                           floor(random() * :groups)::int AS lane, random() AS assign,
                           floor(random() * :users)::int AS who,
                           :now - make_interval(secs => random() * 86400 *
                               CASE WHEN g % :step = :step - 1 THEN :open_age ELSE :closed_age END) AS created,
                           random() AS no_due, floor(random() * 9)::int AS days, floor(random() * 96)::int AS hours
                    FROM generate_series(0, :n - 1) AS g
                ) AS drawn
            ) AS shaped
        """),
            params,
        )
    if analyze:
        with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def fill(engine: Engine, size: Sizes, proc: process.BenchProcess, *, analyze: bool = True) -> dict[str, Any]:
    """Users, groups, instances and human tasks; deterministic; set-based. Returns counts as stored."""
    deployed = definitions.deploy_definition(engine.uow(), files=proc.files, forms=proc.forms, actor=DEPLOYER, now=NOW)
    version_id = deployed[0].id
    people = memberships()
    with engine.db.begin() as conn:
        conn.execute(
            insert(m.User),
            [
                {
                    "id": i + 1,
                    "username": name,
                    "display_name": name,
                    "password_hash": None,
                    "unit_code": None,
                    "is_active": True,
                    "created_at": NOW,
                }
                for i, (name, _) in enumerate(people)
            ],
        )
        conn.execute(
            insert(m.UserRole),
            [{"user_id": i + 1, "role": r} for i, (_, roles) in enumerate(people) for r in sorted(roles)],
        )
    t0 = time.perf_counter()
    if engine.is_sqlite:
        _fill_sqlite(engine, size, version_id, proc.key, analyze=analyze)
    else:
        _fill_postgresql(engine, size, version_id, proc.key, analyze=analyze)
    seconds = time.perf_counter() - t0
    with engine.db.connect() as conn:
        counts = dict(conn.execute(text("SELECT state, count(*) FROM human_tasks GROUP BY state")).tuples().all())
        no_lane = conn.execute(
            text("SELECT count(*) FROM human_tasks WHERE state = 'open' AND lane IS NULL AND assignee IS NULL")
        ).scalar_one()
    return {"seconds": seconds, "tasks_by_state": counts, "open_without_lane": no_lane}


# -- the plan ---------------------------------------------------------------------------------------------------


def captured_statements(engine: Engine, actor: Actor) -> list[databases.Statement]:
    log = databases.StatementLog()
    with engine.uow(readonly=True) as repos, log.listening(engine.db):
        queries.tasks_page(repos.session, actor=actor, scope="all", limit=PAGE)
    return [s for s in log.statements if s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def explain(engine: Engine, statements: list[databases.Statement]) -> list[str]:
    prefix = "EXPLAIN QUERY PLAN " if engine.is_sqlite else "EXPLAIN "
    plans = []
    with engine.db.connect() as conn:
        for s in statements:
            rows = conn.exec_driver_sql(prefix + s.sql, s.parameters).all()
            if engine.is_sqlite:
                plans.append("\n".join(f"{r[0]:>3} {r[1]:>3}  {r[3]}" for r in rows))
            else:
                plans.append("\n".join(r[0] for r in rows))
    return plans


def check_plans(engine: Engine, statements: list[databases.Statement], plans: list[str]) -> None:
    """The one assertion of the suite: every inbox statement reaches human_tasks through the partial indexes."""
    problems = []
    for s, plan in zip(statements, plans, strict=True):
        if "human_tasks" not in s.sql:
            continue
        lines = plan.splitlines()
        if engine.is_sqlite:
            full = [ln for ln in lines if "SCAN human_tasks" in ln and "USING" not in ln]
        else:
            full = [ln for ln in lines if "Seq Scan on human_tasks" in ln]
        missing = [ix for ix in PARTIAL_INDEXES if ix not in plan]
        if full or missing:
            problems.append(
                f"statement:\n{s.sql}\nplan:\n{plan}\n"
                + (f"full scans of human_tasks: {full}\n" if full else "")
                + (f"partial indexes not used: {missing}\n" if missing else "")
            )
    if problems:
        raise AssertionError(
            f"B4 ({engine.db.dialect.name}): the inbox query does not use the partial indexes "
            f"{', '.join(PARTIAL_INDEXES)}:\n\n" + "\n".join(problems)
        )


# -- readers ----------------------------------------------------------------------------------------------------


def _reader(
    engine: Engine,
    people: list[tuple[str, frozenset[str]]],
    n: int,
    seed: int,
    out: list[tuple[float, float, int]],
    barrier: threading.Barrier,
    budget_s: float,
) -> None:
    rng = random.Random(seed)
    barrier.wait()
    deadline = time.perf_counter() + budget_s
    for _ in range(n):
        if time.perf_counter() > deadline:
            break  # a bad plan must not hold the whole suite for an hour; the sample count says it stopped
        name, roles = people[rng.randrange(len(people))]
        actor = Actor(name, roles)
        t0 = time.perf_counter()
        with engine.uow(readonly=True) as repos:
            t1 = time.perf_counter()
            page = queries.tasks_page(repos.session, actor=actor, scope="all", limit=PAGE)
            t2 = time.perf_counter()
        out.append((t2 - t1, time.perf_counter() - t0, page.total))


def read(
    engine: Engine, people: list[tuple[str, frozenset[str]]], readers: int, per_reader: int, budget_s: float
) -> dict[str, Any]:
    outs: list[list[tuple[float, float, int]]] = [[] for _ in range(readers)]
    barrier = threading.Barrier(readers + 1)
    threads = [
        threading.Thread(target=_reader, args=(engine, people, per_reader, SEED + 100 + i, outs[i], barrier, budget_s))
        for i in range(readers)
    ]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    samples = [x for out in outs for x in out]
    totals = sorted(s[2] for s in samples)
    return {
        "readers": readers,
        "queries": len(samples),
        "queries_planned": readers * per_reader,
        "time_budget_s": budget_s,
        "tasks_page": summarize([s[0] for s in samples]),
        "with_unit_of_work": summarize([s[1] for s in samples]),
        "queries_per_s": len(samples) / wall,
        "total_median": totals[len(totals) // 2],
        "total_max": totals[-1],
    }


def measure_database(kind: str, size: Sizes, proc: process.BenchProcess) -> tuple[dict[str, Any], list[Row]]:
    with databases.fresh_database(kind, "b4") as url:
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
        try:
            engine.create_schema()
            data = fill(engine, size, proc)
            people = memberships()
            probe = Actor(*people[0])
            statements = captured_statements(engine, probe)
            plans = explain(engine, statements)
            try:
                check_plans(engine, statements, plans)
                plan_problem = None
            except AssertionError as exc:  # measured anyway, then raised by bench.run after the table
                plan_problem = str(exc)
            for name, roles in people[:20]:  # warm the pool, the statement cache and the page cache
                with engine.uow(readonly=True) as repos:
                    queries.tasks_page(repos.session, actor=Actor(name, roles), scope="all", limit=PAGE)
            one = read(engine, people, 1, size.queries_1, size.budget_s)
            eight = read(engine, people, 8, size.queries_8, size.budget_s)
        finally:
            engine.dispose()
    rows = []
    for runs, target in ((one, TARGET_1_MS), (eight, TARGET_8_MS)):
        s = runs["tasks_page"]
        rows.append(
            Row(
                "B4",
                f"{kind}, {runs['readers']} reader{'s' if runs['readers'] > 1 else ''}",
                runs["queries"],
                s.median_ms,
                s.p95_ms,
                s.p99_ms,
                runs["queries_per_s"],
                f"incl. uow p95 {runs['with_unit_of_work'].p95_ms:.2f} ms; total ~{runs['total_median']}",
                "plan ok" if plan_problem is None else "PLAN FAIL",
                f"p95 <= {target:.0f} ms",
                verdict(s.p95_ms <= target and plan_problem is None),
            )
        )
    result = {
        "database": kind,
        "data": data,
        "plan_statements": [s.sql for s in statements],
        "plans": plans,
        "plan_uses_partial_indexes": plan_problem is None,
        "plan_problem": plan_problem,
        **{
            f"readers_{r['readers']}": {
                **{k: v for k, v in r.items() if k not in ("tasks_page", "with_unit_of_work")},
                "tasks_page": r["tasks_page"].as_dict(),
                "with_unit_of_work": r["with_unit_of_work"].as_dict(),
                "target_p95_ms": t,
                "meets": r["tasks_page"].p95_ms <= t,
            }
            for r, t in ((one, TARGET_1_MS), (eight, TARGET_8_MS))
        },
    }
    return result, rows


def run(*, smoke: bool, proc: process.BenchProcess) -> tuple[dict[str, Any], list[Row]]:
    size = sizes(smoke)
    cases, rows = [], []
    for kind in databases.available_kinds():
        case, case_rows = measure_database(kind, size, proc)
        cases.append(case)
        rows += case_rows
    result = {
        "benchmark": "B4",
        "what": "queries.tasks_page(scope='all'): first page of 50 + total, for a user in 3 groups",
        "sizes": {
            "tasks": size.tasks,
            "open_tasks": size.open_tasks,
            "groups": GROUPS,
            "users": USERS,
            "roles_per_user": ROLES_PER_USER,
            "queries_1_reader": size.queries_1,
            "queries_per_reader_8_readers": size.queries_8,
        },
        "data_shape": {
            "no_lane_share_of_open": NO_LANE_SHARE,
            "assigned_share_of_open": ASSIGNED_SHARE,
            "no_due_share": NO_DUE_SHARE,
            "seed": SEED,
            "statistics": "ANALYZE after loading",
        },
        "cases": cases,
    }
    return result, rows
