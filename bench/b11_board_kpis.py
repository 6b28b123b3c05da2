"""B11: the supervisors' board (each group_by, and a drill-down) and the evaluation KPIs (each level) over 1M
human tasks of history, with the cases, archive obligations and rectification rounds that go with them."""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from bench import databases
from bench.report import Row, verdict
from bench.stats import summarize
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.persistence import kpi_queries, queries
from engine.persistence import models as m
from engine.services import board, evaluation

SEED = 20_261_122
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
MONTH = "2026-11"
TARGET_MS = 200.0
TASKS_PER_CASE = 5
DISTRICTS = 10
STATIONS_PER_DISTRICT = 10
TOPICS = 20
OPEN_CASE_SHARE = 0.1  # the last task of one case in ten is still open
HISTORY_DAYS = 365
BATCH = 50_000
ADMIN = Actor("bench_admin", frozenset({"admin"}))
GROUPS = ("unit", "topic", "step", "person")
STEPS = ("dispatch", "handle", "review_result", "rectify", "archive")
# The indexes the board's and the KPI's statements must reach their tables through (no full scan of these).
BOARD_INDEX = "ix_human_tasks_open_board"


@dataclass(frozen=True)
class Sizes:
    tasks: int
    runs: int  # timed runs per query


def sizes(smoke: bool) -> Sizes:
    return Sizes(100_000, 10) if smoke else Sizes(1_000_000, 30)


def _district(d: int) -> str:
    return f"D{d:02d}"


def _station(d: int, s: int) -> str:
    return f"D{d:02d}-S{s:02d}"


def _handler(d: int, s: int) -> str:
    return f"h_{d:02d}_{s:02d}"


# -- data -----------------------------------------------------------------------------------------------------


def _rows(size: Sizes) -> dict[str, list[tuple[Any, ...]]]:
    """Every row, deterministic (random.Seed), as tuples in the column order of COLUMNS."""
    rng = random.Random(SEED)
    start = NOW - dt.timedelta(days=HISTORY_DAYS)
    units: list[tuple[Any, ...]] = [("CITY", "City", "city", None, start)]
    people: list[tuple[Any, ...]] = []
    stations = []
    for d in range(DISTRICTS):
        units.append((_district(d), f"District {d}", "district", "CITY", start))
        for s in range(STATIONS_PER_DISTRICT):
            units.append((_station(d, s), f"Station {d}-{s}", "station", _district(d), start))
            people.append((len(people) + 1, _handler(d, s), _handler(d, s), None, _station(d, s), True, start))
            stations.append((d, s))
    n_cases = size.tasks // TASKS_PER_CASE
    instances, cases, tasks, obligations, rounds = [], [], [], [], []
    for c in range(n_cases):
        d, s = stations[rng.randrange(len(stations))]
        unit, handler = _station(d, s), _handler(d, s)
        created = start + dt.timedelta(seconds=rng.random() * HISTORY_DAYS * 86400)
        is_open = rng.random() < OPEN_CASE_SHARE or created > NOW - dt.timedelta(days=3)
        closed = None if is_open else created + dt.timedelta(hours=24 + rng.randrange(24 * 20))
        if closed is not None and closed > NOW:
            closed, is_open = None, True
        iid = f"i{c:08d}"
        instances.append(
            (
                iid,
                1,
                "audit_case",
                f"JC-{c}",
                "running" if is_open else "completed",
                unit,
                "{}",
                "{}",
                created,
                created,
                1,
            )
        )
        status = "handling" if is_open else ("whitelisted" if rng.random() < 0.05 else "closed")
        cases.append(
            (
                c + 1,
                f"JC-{c:09d}",
                f"T{rng.randrange(TOPICS):02d}",
                "routine",
                f"M-{c}",
                "a",
                "",
                1 + rng.randrange(4),
                unit,
                handler,
                status,
                "",
                "",
                iid,
                "auditor",
                created,
                created,
                closed,
            )
        )
        at = created
        for k in range(TASKS_PER_CASE):
            is_last_open = is_open and k == TASKS_PER_CASE - 1
            due = at + dt.timedelta(days=2 + rng.randrange(5))
            done = None if is_last_open else at + dt.timedelta(hours=1 + rng.randrange(120))
            if is_last_open:
                state = "red" if due <= NOW else ("yellow" if due - dt.timedelta(days=1) <= NOW else "green")
            else:
                state = "red" if done is not None and done > due else "green"
            tasks.append(
                (
                    f"t{c * TASKS_PER_CASE + k:09d}",
                    iid,
                    "audit_case",
                    f"JC-{c:09d}",
                    STEPS[k],
                    STEPS[k].replace("_", " ").title(),
                    "handler",
                    handler if k % 2 or is_last_open else None,
                    unit,
                    "open" if is_last_open else "completed",
                    state,
                    at,
                    due,
                    due - dt.timedelta(days=1),
                    done,
                    None if done is None else handler,
                )
            )
            if k in (1, 3):  # handling and rectifying produce documents owed to the collector within 48 h
                ob_due = (done or at) + dt.timedelta(hours=48)
                roll = rng.random()
                ob_state = "open" if done is None or roll < 0.05 else ("returned" if roll < 0.1 else "received")
                ended = None if ob_state == "open" else ob_due + dt.timedelta(hours=rng.randrange(-40, 30))
                obligations.append(
                    (
                        iid,
                        f"t{c * TASKS_PER_CASE + k:09d}",
                        "audit_case",
                        STEPS[k],
                        STEPS[k],
                        handler,
                        unit,
                        ob_state,
                        "green",
                        done or at,
                        ob_due,
                        ob_due - dt.timedelta(hours=12),
                        ended,
                        None if ended is None else ended <= ob_due,
                    )
                )
            at = done or at
        if rng.random() < 0.2:
            made = created + dt.timedelta(days=2)
            verdict_ = None if is_open else "accepted"
            rounds.append(
                (c + 1, 1, "", "", "", verdict_, "", made, None if verdict_ is None else made + dt.timedelta(days=3))
            )
    return {
        "units": units,
        "users": people,
        "process_instances": instances,
        "cases": cases,
        "human_tasks": tasks,
        "archive_obligations": obligations,
        "rectification_rounds": rounds,
    }


COLUMNS = {
    "units": "code, name, level, parent_code, created_at",
    "users": "id, username, display_name, password_hash, unit_code, is_active, created_at",
    "process_instances": "id, definition_version_id, process_key, business_key, status, unit_code, state_json, "
    "data_json, created_at, updated_at, version",
    "cases": "id, case_no, topic_code, kind, target, anomaly, source, risk_level, unit_code, handler, status, "
    "findings, cause, instance_id, created_by, created_at, updated_at, closed_at",
    "human_tasks": "id, instance_id, process_key, business_key, bpmn_id, name, lane, assignee, unit_code, state, "
    "time_state, created_at, due_at, warn_at, completed_at, completed_by",
    "archive_obligations": "instance_id, task_id, process_key, step, name, responsible, unit_code, state, "
    "time_state, created_at, due_at, warn_at, ended_at, is_on_time",
    "rectification_rounds": "case_id, round_no, notice, measures, evidence, verdict, comment, created_at, reviewed_at",
}


def _definition(engine: Engine) -> None:
    """The one process version every instance runs (the ORM fills the columns' defaults)."""
    with engine.uow() as repos:
        repos.add(
            m.DefinitionVersion(
                id=1,
                process_key="audit_case",
                version=1,
                name="Audit case",
                content_hash="x" * 64,
                source_name="audit_case.bpmn",
                source_xml="",
                spec_json="{}",
                task_properties_json="{}",
                created_by="bench",
                created_at=NOW,
            )
        )


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy stores for a UtcDateTime on SQLite (naive UTC text); other values as they are."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def fill(engine: Engine, size: Sizes) -> dict[str, Any]:
    """Insert every row in batches (executemany on SQLite, COPY on PostgreSQL), then ANALYZE."""
    t0 = time.perf_counter()
    rows = _rows(size)
    generated_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    _definition(engine)
    if engine.is_sqlite:
        with engine.db.begin() as conn:
            for table, batch in rows.items():
                marks = ", ".join("?" * len(COLUMNS[table].split(",")))
                for lo in range(0, len(batch), BATCH):
                    conn.exec_driver_sql(
                        f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})",
                        [tuple(_sqlite_value(v) for v in row) for row in batch[lo : lo + BATCH]],
                    )
        with engine.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.db.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            for table, batch in rows.items():
                with cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
        with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    inserted_s = time.perf_counter() - t1
    with engine.db.connect() as conn:
        open_tasks = conn.execute(text("SELECT count(*) FROM human_tasks WHERE state = 'open'")).scalar_one()
    return {
        "rows": {table: len(batch) for table, batch in rows.items()},
        "open_tasks": open_tasks,
        "generate_s": round(generated_s, 1),
        "insert_s": round(inserted_s, 1),
        "rows_per_s": round(sum(len(b) for b in rows.values()) / inserted_s),
    }


# -- the cases measured -----------------------------------------------------------------------------------------


def cases() -> list[tuple[str, Any]]:
    """(name, a call through the service layer) — what the API does for each request."""
    found: list[tuple[str, Any]] = []
    for group in GROUPS:
        found.append(
            (f"board by {group}", lambda e, g=group: board.board(e.uow(readonly=True), actor=ADMIN, group_by=g))
        )
    found.append(
        (
            "board by unit, district",
            lambda e: board.board(e.uow(readonly=True), actor=ADMIN, group_by="unit", unit="D03"),
        )
    )
    found.append(
        (
            "board items, red, 100",
            lambda e: board.board_items(e.uow(readonly=True), actor=ADMIN, time_state="red", limit=100),
        )
    )
    for level in ("person", "team", "unit"):
        found.append(
            (
                f"kpis {level} {MONTH}",
                lambda e, lv=level: evaluation.kpis(e.uow(readonly=True), actor=ADMIN, period=MONTH, level=lv),
            )
        )
    return found


def measure(engine: Engine, size: Sizes) -> list[dict[str, Any]]:
    results = []
    for name, call in cases():
        call(engine)  # warm the statement cache and the pages
        samples = []
        for _ in range(size.runs):
            t0 = time.perf_counter()
            call(engine)
            samples.append(time.perf_counter() - t0)
        results.append({"case": name, "timing": summarize(samples)})
    return results


# -- the plans --------------------------------------------------------------------------------------------------


def plan_statements(engine: Engine) -> list[databases.Statement]:
    """The SELECTs of one board count (by unit) and one KPI count (per unit), as sent."""
    log = databases.StatementLog()
    with engine.uow(readonly=True) as repos, log.listening(engine.db):
        queries.board_counts(repos.session, group_by="unit", units=None)
        kpi_queries.kpi_counts(repos.session, by="unit", start=NOW - dt.timedelta(days=30), end=NOW, units=None)
    return [s for s in log.statements if s.sql.lstrip().upper().startswith("SELECT")]


def check_plans(engine: Engine, statements: list[databases.Statement]) -> tuple[list[str], str | None]:
    """The board reads open tasks through the partial index, never the whole task table; problems as text."""
    prefix = "EXPLAIN QUERY PLAN " if engine.is_sqlite else "EXPLAIN "
    plans, problems = [], []
    with engine.db.connect() as conn:
        for s in statements:
            rows = conn.exec_driver_sql(prefix + s.sql, s.parameters).all()
            plan = "\n".join(str(r[3] if engine.is_sqlite else r[0]) for r in rows)
            plans.append(plan)
            if "human_tasks" in s.sql:
                if engine.is_sqlite:
                    full = [ln for ln in plan.splitlines() if "SCAN human_tasks" in ln and "USING" not in ln]
                else:
                    full = [ln for ln in plan.splitlines() if "Seq Scan on human_tasks" in ln]
                is_board = "human_tasks.state = 'open'" in s.sql
                if full or (is_board and BOARD_INDEX not in plan):
                    problems.append(f"statement:\n{s.sql}\nplan:\n{plan}")
    problem = None
    if problems:
        problem = f"B11 ({engine.db.dialect.name}): a board or KPI statement scans human_tasks:\n\n" + "\n\n".join(
            problems
        )
    return plans, problem


def measure_database(kind: str, size: Sizes) -> tuple[dict[str, Any], list[Row]]:
    with databases.fresh_database(kind, "b11") as url:
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
        try:
            engine.create_schema()
            data = fill(engine, size)
            statements = plan_statements(engine)
            plans, plan_problem = check_plans(engine, statements)
            results = measure(engine, size)
        finally:
            engine.dispose()
    rows = [
        Row(
            "B11",
            f"{kind}, {r['case']}",
            r["timing"].n,
            r["timing"].median_ms,
            r["timing"].p95_ms,
            r["timing"].p99_ms,
            1000 / r["timing"].median_ms if r["timing"].median_ms else None,
            f"{data['rows']['human_tasks']:,} tasks, {data['open_tasks']:,} open",
            "plan ok" if plan_problem is None else "PLAN FAIL",
            f"p95 <= {TARGET_MS:.0f} ms",
            verdict(r["timing"].p95_ms <= TARGET_MS and plan_problem is None),
        )
        for r in results
    ]
    result = {
        "database": kind,
        "data": data,
        "cases": [{"case": r["case"], **r["timing"].as_dict()} for r in results],
        "plan_statements": [s.sql for s in statements],
        "plans": plans,
        "plan_problem": plan_problem,
    }
    return result, rows


def run(*, smoke: bool) -> tuple[dict[str, Any], list[Row]]:
    size = sizes(smoke)
    results, rows = [], []
    for kind in databases.available_kinds():
        result, case_rows = measure_database(kind, size)
        results.append(result)
        rows.extend(case_rows)
    return {
        "benchmark": "B11",
        "what": "board (each group_by, a drill-down, its items) and KPIs (each level, one month) through the services",
        "sizes": {"tasks": size.tasks, "runs_per_case": size.runs},
        "target_p95_ms": TARGET_MS,
        "results": results,
    }, rows
