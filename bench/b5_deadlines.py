"""B5: the deadline sweep — time states and reminders over 1M open deadlines, and timers fired by the tick."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import sessionmaker

from bench import databases, process
from bench.b4_inbox import explain
from bench.report import Row, verdict
from bench.stats import summarize
from cli import collect_files
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.reminders import DEFAULT_ESCALATE_AFTER
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.scheduler import jobs
from engine.services import deadlines, definitions, instances, tasks, timers

SEED = 20_261_205
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
TICK_S = Settings().scheduler_tick_s  # the default AUDITLOOP_SCHEDULER_TICK_S: 1% of the deadlines cross per tick
CROSS_TICKS = 3  # consecutive ticks measured, each with 1% of the tasks crossing
LATE_TICK_S = 1.0  # the tick interval of the lateness run
LATE_LEAD_S = 1.0  # the first lateness timer comes due this long after the loop starts
IDLE_TARGET_MS = 5.0
CROSS_TARGET_S = 2.0
FIRE_TARGET = 150.0
LATE_TARGET_MS = (LATE_TICK_S + 1.0) * 1000
BATCH = 50_000
DEPLOYER = Actor("bench_admin", frozenset({"admin"}))
CLERK = Actor("bench_clerk", frozenset({"clerk"}))
OWNER = "bench-b5"
WARMUP_TIMERS = 20

# The shape of the data, shared by the Python (SQLite) and the SQL (PostgreSQL) generators.
TASKS_PER_INSTANCE = 5
GROUPS = 200
USERS = 5000
UNITS = 20
ROOT = "B5-ROOT"  # one city with UNITS districts; the only unit head sits at the city (escalations walk up once)
HEAD = "bench_unit_head"
RED_SHARE = 0.10  # open tasks already overdue (red, reminded, most escalated)
YELLOW_SHARE = 0.15  # open tasks already past their warning (yellow)
# Of the tasks crossing in a tick (by (g // 100) % 20): 9 turn yellow, 8 turn red, 2 are reminded again, 1 escalates.
MIX = (("yellow", 9), ("red", 8), ("red_again", 2), ("escalate", 1))
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)

# The partial index each sweep statement must use, by the column its range is on (queries.cross_thresholds).
SWEEP_INDEXES = {
    "due_at": "ix_human_tasks_open_due",
    "warn_at": "ix_human_tasks_open_warn",
    "next_reminder_at": "ix_human_tasks_open_next_reminder",
    "escalate_at": "ix_human_tasks_open_escalate",
}
INSTANCE_INDEX_PREFIX = "ix_human_tasks_instance"  # the correlated subquery of the instance time-state update
# What-if (bench-only, never in the engine): indexes whose predicate carries the time state the sweep filters on.
WHATIF_INDEXES = (
    ("ix_bench_whatif_green_warn", "warn_at", "state = 'open' AND time_state = 'green'"),
    ("ix_bench_whatif_unred_due", "due_at", "state = 'open' AND time_state != 'red'"),
)
REMINDER_CHUNK = 1000  # the what-if of add_reminders when one multi-row INSERT exceeds the driver's parameters


@dataclass(frozen=True)
class Sizes:
    tasks: int  # open human tasks, all with deadlines
    idle_ticks: int
    budget_s: float  # wall-clock cap on the idle measurement
    timers: int  # due timers fired through jobs.tick (throughput)
    late_timers: int  # timers coming due one after another over late_window_s (lateness)
    late_window_s: float

    @property
    def crossings(self) -> int:
        return self.tasks // 100


def sizes(smoke: bool) -> Sizes:
    return Sizes(100_000, 100, 6.0, 200, 60, 5.0) if smoke else Sizes(1_000_000, 300, 30.0, 2000, 300, 15.0)


def group(i: int) -> str:
    return f"group_{i:03d}"


def user(i: int) -> str:
    return f"user_{i:04d}"


def unit(i: int) -> str:
    return f"B5-U{i:02d}"


def sqlite_time(value: dt.datetime | None) -> str | None:
    """The text SQLAlchemy stores for a UtcDateTime on SQLite (naive UTC)."""
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def crossing(g: int) -> tuple[str, dt.datetime] | None:
    """(kind, moment) when task g crosses a threshold in one of the measured ticks: tick g % 100, if < CROSS_TICKS."""
    r, j = g % 100, g // 100
    if r >= CROSS_TICKS:
        return None
    slot, kind = (j % 20), MIX[-1][0]
    for name, count in MIX:
        if slot < count:
            kind = name
            break
        slot -= count
    return kind, NOW + dt.timedelta(seconds=TICK_S * (r + ((j * 7919) % 997 + 0.5) / 997))


def expected_per_tick(size: Sizes) -> dict[str, int]:
    """Crossings per kind in one tick (exact: the kinds cycle every 20 crossings)."""
    per = size.crossings
    return {name: per * count // 20 for name, count in MIX}


# -- data -----------------------------------------------------------------------------------------------------


def _task_row(g: int, rng: random.Random, key: str) -> tuple[Any, ...]:
    x, y, z = rng.random(), rng.random(), rng.random()
    lane, who = rng.randrange(GROUPS), rng.randrange(USERS)
    nxt = esc = None
    crossed = crossing(g)
    if crossed is not None:
        kind, t = crossed
        days = dt.timedelta(days=1 + (g // 100) % 5)
        if kind == "yellow":
            state, warn, due = "green", t, t + days
        elif kind == "red":
            state, due, warn = "yellow", t, t - DAY
        elif kind == "red_again":
            state, due, nxt = "red", NOW - days, t
            warn = due - DAY
        else:
            state, due, nxt, esc = "red", t - DEFAULT_ESCALATE_AFTER, NOW + 12 * HOUR, t
            warn = due - DAY
    elif x < RED_SHARE:
        state, due = "red", NOW - dt.timedelta(seconds=60 + y * 20 * 86400)
        warn, nxt = due - DAY, NOW + dt.timedelta(hours=1 + z * 22)
        esc = due + DEFAULT_ESCALATE_AFTER if due + DEFAULT_ESCALATE_AFTER > NOW + HOUR else None
    elif x < RED_SHARE + YELLOW_SHARE:
        state, due = "yellow", NOW + dt.timedelta(hours=1 + y * 23)
        warn = due - DAY
    else:
        state, warn = "green", NOW + dt.timedelta(hours=1 + y * 8 * 24)
        due = warn + DAY
    created = min(warn, NOW) - 2 * DAY
    i = g // TASKS_PER_INSTANCE
    return (
        f"t{g:09d}",
        f"i{i:08d}",
        key,
        f"BK-{i}",
        "Task_review",
        "Review the case",
        group(lane),
        user(who),
        unit(g % UNITS),
        "open",
        state,
        sqlite_time(created),
        sqlite_time(due),
        sqlite_time(warn),
        sqlite_time(nxt),
        sqlite_time(esc),
    )


TASK_COLUMNS = (
    "id, instance_id, process_key, business_key, bpmn_id, name, lane, assignee, unit_code, state, time_state, "
    "created_at, due_at, warn_at, next_reminder_at, escalate_at"
)
INSTANCE_COLUMNS = (
    "id, definition_version_id, process_key, business_key, status, time_state, unit_code, state_json, data_json, "
    "started_by, created_at, updated_at, version"
)


def _fill_sqlite(engine: Engine, size: Sizes, version_id: int, key: str) -> None:
    rng = random.Random(SEED)
    n_instances = size.tasks // TASKS_PER_INSTANCE
    when = sqlite_time(NOW - 30 * DAY)
    with engine.db.begin() as conn:
        for lo in range(0, n_instances, BATCH):
            rows = [
                (f"i{i:08d}", version_id, key, f"BK-{i}", "running", None, None, "{}", "{}", "bench", when, when, 1)
                for i in range(lo, min(lo + BATCH, n_instances))
            ]
            conn.exec_driver_sql(
                f"INSERT INTO process_instances ({INSTANCE_COLUMNS}) VALUES ({', '.join('?' * 13)})", rows
            )
        for lo in range(0, size.tasks, BATCH):
            rows = [_task_row(g, rng, key) for g in range(lo, min(lo + BATCH, size.tasks))]
            conn.exec_driver_sql(f"INSERT INTO human_tasks ({TASK_COLUMNS}) VALUES ({', '.join('?' * 16)})", rows)
    with engine.db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


_MIX_SQL = " ".join(
    f"WHEN j % 20 < {sum(c for _, c in MIX[: i + 1])} THEN '{name}'" for i, (name, _) in enumerate(MIX[:-1])
)


def _fill_postgresql(engine: Engine, size: Sizes, version_id: int, key: str) -> None:
    params = {
        "n": size.tasks,
        "per": TASKS_PER_INSTANCE,
        "now": NOW,
        "vid": version_id,
        "key": key,
        "groups": GROUPS,
        "users": USERS,
        "units": UNITS,
        "ticks": CROSS_TICKS,
        "tick": TICK_S,
        "red": RED_SHARE,
        "yellow": YELLOW_SHARE,
        "esc_after": DEFAULT_ESCALATE_AFTER,
    }
    with engine.db.begin() as conn:
        conn.execute(text("SELECT setseed(:seed)"), {"seed": random.Random(SEED).random() * 2 - 1})
        conn.execute(
            text(f"""
            INSERT INTO process_instances ({INSTANCE_COLUMNS})
            SELECT 'i' || lpad(i::text, 8, '0'), :vid, :key, 'BK-' || i, 'running', NULL, NULL, '{{}}', '{{}}',
                   'bench', :now - interval '30 days', :now - interval '30 days', 1
            FROM generate_series(0, :n / :per - 1) AS i
        """),
            params,
        )
        conn.execute(
            text(f"""
            WITH drawn AS (
                SELECT g, g % 100 AS r, g / 100 AS j, random() AS x, random() AS y, random() AS z,
                       floor(random() * :groups)::int AS lane, floor(random() * :users)::int AS who
                FROM generate_series(0, :n - 1) AS g
            ), kinds AS (
                SELECT *, CASE WHEN r < :ticks THEN CASE {_MIX_SQL} ELSE '{MIX[-1][0]}' END
                               WHEN x < :red THEN 'r' WHEN x < :red + :yellow THEN 'y' ELSE 'g' END AS kind,
                          :now + make_interval(secs => :tick * (r + ((j * 7919) % 997 + 0.5) / 997.0)) AS t
                FROM drawn
            ), shaped AS (
                SELECT *,
                       CASE kind WHEN 'yellow' THEN t + make_interval(days => 1 + j % 5)
                                 WHEN 'red' THEN t
                                 WHEN 'red_again' THEN :now - make_interval(days => 1 + j % 5)
                                 WHEN 'escalate' THEN t - :esc_after
                                 WHEN 'r' THEN :now - make_interval(secs => 60 + y * 20 * 86400)
                                 WHEN 'y' THEN :now + make_interval(secs => 3600 + y * 23 * 3600)
                                 ELSE :now + make_interval(secs => 3600 + y * 8 * 86400) + interval '1 day'
                       END AS due
                FROM kinds
            )
            INSERT INTO human_tasks ({TASK_COLUMNS})
            SELECT 't' || lpad(g::text, 9, '0'), 'i' || lpad((g / :per)::text, 8, '0'), :key, 'BK-' || (g / :per),
                   'Task_review', 'Review the case', 'group_' || lpad(lane::text, 3, '0'),
                   'user_' || lpad(who::text, 4, '0'), 'B5-U' || lpad((g % :units)::text, 2, '0'), 'open',
                   CASE WHEN kind IN ('yellow', 'g') THEN 'green' WHEN kind IN ('red', 'y') THEN 'yellow'
                        ELSE 'red' END,
                   LEAST(CASE WHEN kind = 'yellow' THEN t ELSE due - interval '1 day' END, :now) - interval '2 days',
                   due,
                   CASE WHEN kind = 'yellow' THEN t ELSE due - interval '1 day' END,
                   CASE kind WHEN 'red_again' THEN t WHEN 'escalate' THEN :now + interval '12 hours'
                             WHEN 'r' THEN :now + make_interval(secs => 3600 + z * 22 * 3600) END,
                   CASE kind WHEN 'escalate' THEN t
                             WHEN 'r' THEN CASE WHEN due + :esc_after > :now + interval '1 hour'
                                                THEN due + :esc_after END END
            FROM shaped
        """),
            params,
        )
    with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def _organisation(engine: Engine) -> None:
    """One city, UNITS districts, one unit head at the city (escalations walk up to it)."""
    with engine.db.begin() as conn:
        conn.execute(
            insert(m.Unit),
            [{"code": ROOT, "name": "bench city", "level": "city", "parent_code": None, "created_at": NOW}]
            + [
                {"code": unit(i), "name": f"district {i}", "level": "district", "parent_code": ROOT, "created_at": NOW}
                for i in range(UNITS)
            ],
        )
        conn.execute(
            insert(m.User),
            [
                {
                    "id": 1,
                    "username": HEAD,
                    "display_name": HEAD,
                    "password_hash": None,
                    "unit_code": ROOT,
                    "is_active": True,
                    "created_at": NOW,
                }
            ],
        )
        conn.execute(insert(m.UserRole), [{"user_id": 1, "role": "unit_head"}])


def fill(engine: Engine, size: Sizes) -> dict[str, Any]:
    """The organisation, instances and open human tasks; deterministic; set-based. Returns counts as stored."""
    files, forms = collect_files([process.EXAMPLE])
    deployed = definitions.deploy_definition(engine.uow(), files=files, forms=forms, actor=DEPLOYER, now=NOW)
    _organisation(engine)
    t0 = time.perf_counter()
    if engine.is_sqlite:
        _fill_sqlite(engine, size, deployed[0].id, deployed[0].key)
    else:
        _fill_postgresql(engine, size, deployed[0].id, deployed[0].key)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "tasks_by_time_state": _time_states(engine)}


def _time_states(engine: Engine) -> dict[str, int]:
    with engine.db.connect() as conn:
        rows = conn.execute(text("SELECT time_state, count(*) FROM human_tasks WHERE state = 'open' GROUP BY 1"))
        return dict(rows.tuples().all())


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


# -- statements, plans and the bare reference ----------------------------------------------------------------


def _is_work(statement: databases.Statement) -> bool:
    return statement.sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")


def dry_run(engine: Engine, now: dt.datetime) -> tuple[list[databases.Statement], int]:
    """The statements refresh_time_states(now) sends, run inside a transaction that is rolled back."""
    log = databases.StatementLog()
    with engine.db.connect() as conn, log.listening(engine.db):
        outer = conn.begin()
        try:
            factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
            changed = deadlines.refresh_time_states(UnitOfWork(factory), now=now, batch=10**9).moved
        finally:
            outer.rollback()
    return [s for s in log.statements if _is_work(s)], changed


def replay(engine: Engine, statements: list[databases.Statement]) -> tuple[float, list[float]]:
    """R-sql: the same statements with the same parameters through the bare driver, in one rolled-back transaction."""
    per: list[float] = []
    with engine.db.connect() as conn:
        t0 = time.perf_counter()
        transaction = conn.begin()  # BEGIN IMMEDIATE on SQLite, as the engine's units of work
        for s in statements:
            t1 = time.perf_counter()
            result = conn.exec_driver_sql(s.sql, s.parameters)
            if result.returns_rows:
                result.all()
            per.append(time.perf_counter() - t1)
        transaction.rollback()
        total = time.perf_counter() - t0
    return total, per


def check_plans(engine: Engine, statements: list[databases.Statement], plans: list[str]) -> list[str]:
    """The assertion: each sweep statement reaches human_tasks through its partial index, with no full scan."""
    problems = []
    for s, plan in zip(statements, plans, strict=True):
        if "human_tasks" not in s.sql:
            continue
        lines = plan.splitlines()
        if engine.is_sqlite:
            full = [ln for ln in lines if re.search(r"\bSCAN human_tasks\b", ln) and "USING" not in ln]
        else:
            full = [ln for ln in lines if "Seq Scan on human_tasks" in ln]
        if s.sql.lstrip().upper().startswith("UPDATE HUMAN_TASKS"):
            columns = re.findall(r"\b(due_at|warn_at|next_reminder_at|escalate_at)\s*<=", s.sql)
            expected = [SWEEP_INDEXES[c] for c in columns]
        else:
            expected = [INSTANCE_INDEX_PREFIX]
        missing = [ix for ix in expected if ix not in plan]
        if full or missing:
            problems.append(
                f"statement:\n{s.sql}\nplan:\n{plan}\n"
                + (f"full scans of human_tasks: {full}\n" if full else "")
                + (f"indexes not used: {missing}\n" if missing else "")
            )
    return problems


def _statement_head(sql: str) -> str:
    found = re.search(r"\b(due_at|warn_at|next_reminder_at|escalate_at)\s*<=", sql)
    words = " ".join(sql.split()[:3])
    return f"{words} … {found.group(0)}" if found else words


@contextlib.contextmanager
def chunked_reminders(chunk: int = REMINDER_CHUNK) -> Iterator[None]:
    """What-if (bench process only): Repositories.add_reminders inserting at most `chunk` rows per statement."""
    original = Repositories.add_reminders

    def add_in_chunks(self: Repositories, rows: list[dict[str, object]]) -> int:
        return sum(original(self, rows[i : i + chunk]) for i in range(0, len(rows), chunk))

    Repositories.add_reminders = add_in_chunks  # type: ignore[method-assign]
    try:
        yield
    finally:
        Repositories.add_reminders = original  # type: ignore[method-assign]


# -- the sweep: idle and crossing ticks -----------------------------------------------------------------------


def measure_idle(engine: Engine, now: dt.datetime, size: Sizes) -> dict[str, Any]:
    for _ in range(5):  # warm the pool, the statement cache and the page cache
        deadlines.refresh_time_states(engine.uow(), now=now)
    samples, moved = [], 0
    deadline = time.perf_counter() + size.budget_s
    for _ in range(size.idle_ticks):
        if time.perf_counter() > deadline:
            break  # a bad plan must not hold the suite; the sample count says it stopped
        t0 = time.perf_counter()
        moved += deadlines.refresh_time_states(engine.uow(), now=now).moved
        samples.append(time.perf_counter() - t0)
    statements, _ = dry_run(engine, now)
    ref_total, ref_each = [], []
    for _ in range(max(5, min(50, len(samples)))):
        total, each = replay(engine, statements)
        ref_total.append(total)
        ref_each.append(each)
    plans = explain(engine, statements)
    return {
        "ticks": summarize(samples),
        "moved": moved,
        "time_budget_s": size.budget_s,
        "r_sql": summarize(ref_total),
        "statements": [
            {"statement": _statement_head(s.sql), "r_sql_median_ms": summarize([e[i] for e in ref_each]).median_ms}
            for i, s in enumerate(statements)
        ],
        "plan_statements": [s.sql for s in statements],
        "plans": plans,
        "plan_problems": check_plans(engine, statements, plans),
    }


def measure_crossings(engine: Engine, size: Sizes) -> dict[str, Any]:
    """CROSS_TICKS ticks, each with 1% of the tasks crossing; each preceded by its dry run and bare replay."""
    expected = expected_per_tick(size)
    broken: str | None = None  # the engine's own failure, when it cannot sweep this many at once
    ticks: list[dict[str, Any]] = []
    statements: list[databases.Statement] = []
    for k in range(CROSS_TICKS):
        now = NOW + dt.timedelta(seconds=TICK_S * (k + 1))
        if broken is None:
            try:
                statements, _ = dry_run(engine, now)
            except Exception as exc:  # measured: the sweep fails at this size; then the what-if is measured
                broken = _failure(engine, now, exc)
        patch = chunked_reminders() if broken else contextlib.nullcontext()
        with patch:
            if broken:
                statements, _ = dry_run(engine, now)
            ref_total, ref_each = replay(engine, statements)
            before = _count(engine, "SELECT count(*) FROM reminders")
            t0 = time.perf_counter()
            moved, more = 0, True
            while more:  # as the scheduler does: batch after batch, each its own transaction
                result = deadlines.refresh_time_states(engine.uow(), now=now)
                moved, more = moved + result.moved, result.has_more
            seconds = time.perf_counter() - t0
        reminded = _count(engine, "SELECT count(*) FROM reminders") - before
        ticks.append(
            {
                "now": now.isoformat(),
                "seconds": seconds,
                "r_sql_seconds": ref_total,
                "moved": moved,
                "reminders": reminded,
                "statements": len(statements),
                "r_sql_by_statement_kind": _by_kind(statements, ref_each),
                "as_expected": moved == expected["yellow"] + expected["red"] and reminded == size.crossings,
                "whatif_chunked_reminders": broken is not None,
            }
        )
    plans = explain(engine, statements)
    return {
        "crossings_per_tick": size.crossings,
        "expected_per_tick": expected,
        "ticks": ticks,
        "engine_failure": broken,
        "plan_statements": [s.sql for s in statements],
        "plans": plans,
        "plan_problems": check_plans(engine, statements, plans),
    }


def _failure(engine: Engine, now: dt.datetime, exc: Exception) -> str:
    """Confirm a dry-run failure with the real call (it rolls back), and say what failed."""
    t0 = time.perf_counter()
    try:
        deadlines.refresh_time_states(engine.uow(), now=now)
        again = "the real call succeeded"
    except Exception as real:
        again = f"the real call failed too after {time.perf_counter() - t0:.2f} s: {type(real).__name__}"
    first = str(exc).splitlines()[0][:300]
    return f"{type(exc).__name__}: {first} ({again}; nothing was committed, so every later tick fails the same way)"


def _by_kind(statements: list[databases.Statement], seconds: list[float]) -> dict[str, dict[str, float]]:
    """Count and bare time (ms) per statement kind and table, e.g. "SELECT users": the lookups of a crossing tick."""
    out: dict[str, dict[str, float]] = {}
    for s, took in zip(statements, seconds, strict=True):
        word = s.sql.lstrip().split(None, 1)[0].upper()
        table = re.search(r"\b(?:UPDATE|INTO|FROM)\s+(\w+)", s.sql, re.IGNORECASE)
        entry = out.setdefault(f"{word} {table.group(1) if table else '?'}", {"count": 0, "ms": 0.0})
        entry["count"] += 1
        entry["ms"] = round(entry["ms"] + took * 1000, 3)
    return out


def whatif_indexes(engine: Engine, now: dt.datetime, size: Sizes) -> dict[str, Any]:
    """Idle ticks again after creating WHATIF_INDEXES in this benchmark database only."""
    with engine.db.begin() as conn:
        for name, column, where in WHATIF_INDEXES:
            conn.exec_driver_sql(f"CREATE INDEX {name} ON human_tasks ({column}) WHERE {where}")
        conn.exec_driver_sql("ANALYZE human_tasks")
    idle = measure_idle(engine, now, size)
    idle["indexes"] = [f"CREATE INDEX {n} ON human_tasks ({c}) WHERE {w}" for n, c, w in WHATIF_INDEXES]
    idle["whatif_indexes_used"] = [n for n, _, _ in WHATIF_INDEXES if any(n in p for p in idle["plans"])]
    return idle


# -- timers ---------------------------------------------------------------------------------------------------


class Clock:
    """Simulated UTC time that runs at real speed from wherever it was last set."""

    def __init__(self, at: dt.datetime) -> None:
        self.set(at)

    def set(self, at: dt.datetime) -> None:
        self._at, self._t = at, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self._at + dt.timedelta(seconds=time.monotonic() - self._t)


@dataclass(frozen=True)
class TimerProcess:
    key: str
    submit_data: dict[str, Any]


def deploy_timer_process(engine: Engine) -> TimerProcess:
    """examples/two_lane_approval.bpmn: Task_submit, then Task_review with its PT48H boundary timer."""
    files, forms = collect_files([process.EXAMPLE])
    deployed = definitions.deploy_definition(engine.uow(), files=files, forms=forms, actor=DEPLOYER, now=engine.now())
    key = deployed[0].key
    probe = instances.start_instance(engine.uow(), process_key=key, actor=CLERK, now=engine.now(), data={})
    form = tasks.get_task(engine.uow(), task_id=probe.tasks[0].id, actor=CLERK).form
    return TimerProcess(key, process.form_sample(form))


def arm_timers(
    engine: Engine, clock: Clock, proc: TimerProcess, n: int, start: dt.datetime, spacing_s: float, actor: Actor = CLERK
) -> list[float]:
    """n instances brought to Task_review, the i-th at start + i × spacing; returns the complete_task durations."""
    durations = []
    for i in range(n):
        clock.set(start + dt.timedelta(seconds=i * spacing_s))
        started = instances.start_instance(engine.uow(), process_key=proc.key, actor=actor, now=engine.now(), data={})
        t0 = time.perf_counter()
        tasks.complete_task(
            engine.uow(), task_id=started.tasks[0].id, data=dict(proc.submit_data), actor=actor, now=engine.now()
        )
        durations.append(time.perf_counter() - t0)
    return durations


@contextlib.contextmanager
def timed_calls(module: Any, name: str, out: list[float]) -> Iterator[None]:
    """Instrumentation only: record how long each call of module.name takes (jobs.tick looks it up per call)."""
    original: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            out.append(time.perf_counter() - t0)

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, original)


def fire_all(engine: Engine, n: int) -> dict[str, Any]:
    """Tick (jobs.tick, default batch) until n timers have fired; every fire and every sweep is timed."""
    fires: list[float] = []
    sweeps: list[float] = []
    tick_s: list[float] = []
    fired = errors = 0
    with timed_calls(timers, "fire_timer", fires), timed_calls(deadlines, "refresh_time_states", sweeps):
        t0 = time.perf_counter()
        while fired < n:
            t1 = time.perf_counter()
            report = jobs.tick(engine, owner=OWNER)
            tick_s.append(time.perf_counter() - t1)
            fired += report.timers_fired
            errors += report.errors
            if report.timers_fired == 0:
                break
        wall = time.perf_counter() - t0
    return {
        "fired": fired,
        "errors": errors,
        "wall_s": wall,
        "per_s": fired / wall if wall else 0.0,
        "ticks": len(tick_s),
        "fire": summarize(fires),
        "sweep_in_tick": summarize(sweeps),
        "tick": summarize(tick_s),
    }


def run_lateness(engine: Engine, clock: Clock, first_due: dt.datetime, n: int, timeout_s: float) -> dict[str, Any]:
    """A fixed-rate tick loop (every LATE_TICK_S, coalescing missed ticks, like the scheduler's interval job)."""
    clock.set(first_due - dt.timedelta(seconds=LATE_LEAD_S))
    fired = ticks = 0
    next_at = began = time.monotonic()
    while fired < n and time.monotonic() - began < timeout_s:
        report = jobs.tick(engine, owner=OWNER)
        fired += report.timers_fired
        ticks += 1
        next_at += LATE_TICK_S
        now = time.monotonic()
        next_at = max(next_at, now)
        time.sleep(next_at - now)
    with engine.db.connect() as conn:
        rows = conn.execute(
            text("SELECT due_at, fired_at, status FROM timers WHERE due_at >= :first"),
            {"first": _bind(engine, first_due)},
        ).all()
    late = [(_aware(f) - _aware(d)).total_seconds() for d, f, s in rows if s == "done" and f is not None]
    return {"timers": len(rows), "fired": len(late), "ticks": ticks, "lateness": summarize(late)}


def _bind(engine: Engine, value: dt.datetime) -> Any:
    return sqlite_time(value) if engine.is_sqlite else value


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def measure_timers(kind: str, size: Sizes) -> dict[str, Any]:
    with databases.fresh_database(kind, "b5_timers") as url:
        clock = Clock(NOW)
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False), clock=clock)
        try:
            engine.create_schema()
            proc = deploy_timer_process(engine)
            arm_timers(engine, clock, proc, WARMUP_TIMERS, NOW - 5 * DAY, 1.0)  # warm-up, fired before measuring
            clock.set(NOW - 3 * DAY + dt.timedelta(minutes=5))
            fire_all(engine, WARMUP_TIMERS)
            completes = arm_timers(engine, clock, proc, size.timers, NOW, 0.01)
            clock.set(NOW + 2 * DAY + dt.timedelta(minutes=1) + dt.timedelta(seconds=size.timers * 0.01))
            throughput = fire_all(engine, size.timers)
            late_start = NOW + 10 * DAY
            spacing = size.late_window_s / size.late_timers
            arm_timers(engine, clock, proc, size.late_timers, late_start, spacing)
            first_due = _first_pending_due(engine)
            lateness = run_lateness(engine, clock, first_due, size.late_timers, size.late_window_s + 60)
        finally:
            engine.dispose()
    return {
        "process": str(process.EXAMPLE.relative_to(process.ROOT)),
        "timers": size.timers,
        "complete_task_reference": summarize(completes),
        "throughput": throughput,
        "lateness_run": {
            "timers": size.late_timers,
            "window_s": size.late_window_s,
            "tick_s": LATE_TICK_S,
            **lateness,
        },
    }


def _first_pending_due(engine: Engine) -> dt.datetime:
    with engine.db.connect() as conn:
        value = conn.execute(text("SELECT min(due_at) FROM timers WHERE status = 'pending'")).scalar_one()
    return _aware(value)


# -- one database ---------------------------------------------------------------------------------------------


def measure_database(kind: str, size: Sizes) -> tuple[dict[str, Any], list[Row]]:
    with databases.fresh_database(kind, "b5") as url:
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
        try:
            engine.create_schema()
            data = fill(engine, size)
            idle = measure_idle(engine, NOW, size)
            crossings = measure_crossings(engine, size)
            data["tasks_by_time_state_after"] = _time_states(engine)
            whatif = whatif_indexes(engine, NOW + dt.timedelta(seconds=TICK_S * CROSS_TICKS), size)
        finally:
            engine.dispose()
    timer_case = measure_timers(kind, size)
    problems = idle["plan_problems"] + crossings["plan_problems"]
    plan_problem = (
        f"B5 ({kind}): the deadline sweep does not reach human_tasks through its partial indexes:\n\n"
        + "\n".join(problems)
        if problems
        else None
    )
    rows = _rows(kind, size, idle, crossings, whatif, timer_case, plan_problem)
    result = {
        "database": kind,
        "data": data,
        "idle_tick": _jsonable(idle),
        "crossing_ticks": _jsonable(crossings),
        "whatif_indexes_idle_tick": _jsonable(whatif),
        "timers": _jsonable(timer_case),
        "plan_uses_partial_indexes": plan_problem is None,
        "plan_problem": plan_problem,
    }
    return result, rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.as_dict() if hasattr(value, "as_dict") else value


def _thousands(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def _rows(
    kind: str,
    size: Sizes,
    idle: dict[str, Any],
    crossings: dict[str, Any],
    whatif: dict[str, Any],
    timer_case: dict[str, Any],
    plan_problem: str | None,
) -> list[Row]:
    plan = "plan ok" if plan_problem is None else "PLAN FAIL"
    rows = []
    s, ref = idle["ticks"], idle["r_sql"]
    rows.append(
        Row(
            "B5",
            f"{kind}, idle tick ({_thousands(size.tasks)} open)",
            s.n,
            s.median_ms,
            s.p95_ms,
            s.p99_ms,
            None,
            f"R-sql {ref.median_ms:.2f} ms ({len(idle['plan_statements'])} st)",
            f"{s.median_ms / ref.median_ms:.1f}x, {plan}",
            f"median <= {IDLE_TARGET_MS:.0f} ms",
            verdict(s.median_ms <= IDLE_TARGET_MS and plan_problem is None),
        )
    )
    w, wref = whatif["ticks"], whatif["r_sql"]
    rows.append(
        Row(
            "B5",
            f"{kind}, idle tick, what-if time-state indexes",
            w.n,
            w.median_ms,
            w.p95_ms,
            w.p99_ms,
            None,
            f"R-sql {wref.median_ms:.2f} ms; used {len(whatif['whatif_indexes_used'])}/{len(WHATIF_INDEXES)}",
            f"{w.median_ms / wref.median_ms:.1f}x",
            "(what-if, bench db only)",
            "",
        )
    )
    ticks = crossings["ticks"]
    secs = summarize([t["seconds"] for t in ticks])
    ref_secs = summarize([t["r_sql_seconds"] for t in ticks])
    whatif_chunks = crossings["engine_failure"] is not None
    if whatif_chunks:
        rows.append(
            Row(
                "B5",
                f"{kind}, tick with {_thousands(size.crossings)} crossings",
                0,
                float("nan"),
                float("nan"),
                float("nan"),
                None,
                "FAILS: " + crossings["engine_failure"].split(":")[0],
                plan,
                f"<= {CROSS_TARGET_S:.0f} s",
                verdict(False),
            )
        )
    label = f"{kind}, tick with {_thousands(size.crossings)} crossings" + (
        f", what-if reminders in {REMINDER_CHUNK}s" if whatif_chunks else ""
    )
    ok = all(t["as_expected"] for t in ticks)
    rows.append(
        Row(
            "B5",
            label,
            len(ticks),
            secs.median_ms,
            secs.p95_ms,
            secs.p99_ms,
            size.crossings / (secs.median_ms / 1000),
            f"R-sql {ref_secs.median_ms:.0f} ms ({ticks[-1]['statements']} st)" + ("" if ok else "; COUNTS OFF"),
            f"{secs.median_ms / ref_secs.median_ms:.1f}x, {plan}",
            f"<= {CROSS_TARGET_S:.0f} s" if not whatif_chunks else "(what-if)",
            verdict(secs.median_ms <= CROSS_TARGET_S * 1000 and ok and plan_problem is None)
            if not whatif_chunks
            else "",
        )
    )
    tp = timer_case["throughput"]
    fire, complete = tp["fire"], timer_case["complete_task_reference"]
    rows.append(
        Row(
            "B5",
            f"{kind}, timer fire via jobs.tick",
            tp["fired"],
            fire.median_ms,
            fire.p95_ms,
            fire.p99_ms,
            tp["per_s"],
            f"complete_task {complete.median_ms:.2f} ms; sweep {tp['sweep_in_tick'].median_ms:.0f} ms/tick",
            f"{fire.median_ms / complete.median_ms:.2f}x",
            f">= {FIRE_TARGET:.0f}/s",
            verdict(tp["per_s"] >= FIRE_TARGET and tp["errors"] == 0),
        )
    )
    lr = timer_case["lateness_run"]
    late = lr["lateness"]
    rows.append(
        Row(
            "B5",
            f"{kind}, timer lateness (tick {LATE_TICK_S:.0f} s)",
            late.n,
            late.median_ms,
            late.p95_ms,
            late.p99_ms,
            lr["timers"] / lr["window_s"],
            f"{lr['timers']} due over {lr['window_s']:.0f} s; fired {lr['fired']}/{lr['timers']}",
            f"p99 {late.p99_ms / (LATE_TICK_S * 1000):.2f} ticks",
            f"p99 <= {LATE_TARGET_MS:.0f} ms",
            verdict(late.p99_ms <= LATE_TARGET_MS and lr["fired"] == lr["timers"]),
        )
    )
    return rows


def run(*, smoke: bool) -> tuple[dict[str, Any], list[Row]]:
    size = sizes(smoke)
    cases, rows = [], []
    for kind in databases.available_kinds():
        case, case_rows = measure_database(kind, size)
        cases.append(case)
        rows += case_rows
    result = {
        "benchmark": "B5",
        "what": "deadlines.refresh_time_states idle and with 1% crossing per tick; timers fired through jobs.tick",
        "sizes": {
            "open_tasks": size.tasks,
            "crossings_per_tick": size.crossings,
            "crossing_ticks": CROSS_TICKS,
            "tick_s": TICK_S,
            "idle_ticks": size.idle_ticks,
            "timers_throughput": size.timers,
            "timers_lateness": size.late_timers,
            "lateness_window_s": size.late_window_s,
            "lateness_tick_s": LATE_TICK_S,
        },
        "data_shape": {
            "red_share": RED_SHARE,
            "yellow_share": YELLOW_SHARE,
            "crossing_mix_per_20": dict(MIX),
            "every_task_has": "a lane, a unit and an assignee (reminders go to the assignee: no role lookups); "
            "escalations go to the unit head found by walking up from the task's unit",
            "seed": SEED,
            "statistics": "ANALYZE after loading",
        },
        "postgresql": "measured" if "postgresql" in databases.available_kinds() else "not reachable, skipped",
        "cases": cases,
    }
    return result, rows
