"""B-inbox-page: server time of the staff inbox page GET /inbox over 100k open tasks (Flask test client, no network).

    .venv/bin/python -m bench.b_inbox_page [--smoke] [--databases sqlite,postgresql] [--requests N]

One handler (role `handler`, unit station JC-D1-S1) signs in through POST /login and asks for the inbox again and
again: the first page (tab "mine"), the group tab, the group tab filtered to red, and the htmx fragments a tab
click and a "next page" click fetch. The database holds 100,000 open tasks (smoke: 10,000) and four times as
many completed ones, spread over 80 stations and 4 lanes, so the handler sees a realistic share: a few hundred
unclaimed tasks of their role in their station, a dozen claimed by them. The time is the WSGI call in
`app.test_client()` (routing, session, sign-in re-read, every query, the template), not the network.

Every statement one page sends is counted with a before_cursor_execute listener and printed with the service
call that sent it and its median time; the human_tasks statements' plans go to the JSON. Results:
bench/results/B-inbox-page.json (B-inbox-page-smoke.json with --smoke).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine as DbEngine
from sqlalchemy import event, insert, text

from bench import databases, machine, process, report
from bench.b4_inbox import explain
from bench.report import Row, verdict
from bench.stats import summarize
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.services import definitions, tasks, users
from webui import create_app

NAME = "B-inbox-page"
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
TARGET_MS = 100.0  # server time of one inbox page at 100k open tasks, judged on the p95
DEPLOYER = Actor("bench_admin", frozenset({"admin"}))

# The organisation: one city company, 10 district bureaus, 8 stations each (80 stations).
CITY = "JC"
DISTRICTS = 10
STATIONS_PER_DISTRICT = 8
STATIONS = DISTRICTS * STATIONS_PER_DISTRICT
USERS = 2000  # other people: assignees and completers of the generated tasks

# The person measured: a handler of the first station.
ME = "bench_handler"
MY_ROLE = "handler"
MY_UNIT = "JC-D1-S1"  # station index 0
PASSWORD = "bench-inbox-page-2026"
ASSIGNED_TO_ME = 12  # open tasks of my lane and station claimed by me (the "mine" tab)

# The shape of the data (the same rows on SQLite and PostgreSQL: drawn by integer hashing in SQL, not random()).
TASKS_PER_INSTANCE = 5  # the last task of every instance is open, the four before it completed
CLOSED_PER_OPEN = TASKS_PER_INSTANCE - 1
# (bpmn id, name, lane, unit level, share per mille) — the audit case's user tasks, plus a few tasks in no lane.
STEPS = (
    ("dispatch", "派工", "dispatcher", "district", 150),
    ("handle", "现场核查处理", "handler", "station", 450),
    ("review_result", "结果审核", "reviewer", "district", 250),
    ("archive", "归档", "archive_collector", "district", 140),
    ("supplement", "补充资料", None, "station", 10),  # no lane: everyone of the unit sees it
)
ASSIGNED_PERCENT = 20  # open tasks claimed by someone
NO_DUE_PERCENT = 10
OPEN_AGE_DAYS = 20  # open tasks were created up to this long ago ...
DUE_DAYS = (5, 19)  # ... and are due this many days after creation (warned one day before): about 40% red
CLOSED_AGE_DAYS = (5, 365)
MY_COMPLETED_ONE_IN = 8  # completed handler tasks of my station done by me

# Lehmer multipliers modulo the prime 2^31 - 1: one independent-looking draw per attribute.
PRIME = 2_147_483_647
MULTIPLIERS = {
    "step": 950_706_376,
    "station": 742_938_285,
    "assign": 1_226_874_159,
    "who": 62_089_911,
    "age": 1_343_714_438,
    "due": 630_360_016,
    "hours": 397_204_094,
}

HX = {"HX-Request": "true", "HX-Target": "inbox"}


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


CASES = (
    Case("first_page", "GET /inbox (first page, tab mine)", "/inbox"),
    Case("group", "GET /inbox?tab=group", "/inbox?tab=group"),
    Case("group_red", "GET /inbox?tab=group&state=red", "/inbox?tab=group&state=red"),
    Case("htmx_group", "htmx /inbox?tab=group", "/inbox?tab=group", HX),
    Case("htmx_group_page2", "htmx /inbox?tab=group&page=2", "/inbox?tab=group&page=2", HX),
)


@dataclass(frozen=True)
class Sizes:
    open_tasks: int
    requests: int  # timed requests per case
    profile_requests: int  # requests per case with the per-statement timer on
    budget_s: float  # wall-clock cap of the timed run per database (a bad plan must not hold the run for an hour)


def sizes(smoke: bool, requests: int | None = None) -> Sizes:
    base = Sizes(10_000, 200, 20, 120.0) if smoke else Sizes(100_000, 200, 30, 600.0)
    return base if requests is None else Sizes(base.open_tasks, requests, base.profile_requests, base.budget_s)


# -- data -------------------------------------------------------------------------------------------------------


def _draw(name: str) -> str:
    return f"((CAST(g AS BIGINT) + 1) * {MULTIPLIERS[name]} % {PRIME})"


def _seq(engine: Engine, count: str = "n") -> str:
    """A CTE `seq(g)` of 0 .. :count - 1."""
    if engine.is_sqlite:
        return f"WITH RECURSIVE seq(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM seq WHERE g < :{count} - 1)"
    return f"WITH seq(g) AS (SELECT generate_series(0, :{count} - 1))"


def _at(engine: Engine, seconds_before_now: str) -> str:
    """A UtcDateTime value `seconds_before_now` seconds before NOW, as the column stores it on this database."""
    if engine.is_sqlite:  # naive UTC text, the format SQLAlchemy writes
        return f"(strftime('%Y-%m-%d %H:%M:%S', :now, (-({seconds_before_now})) || ' seconds') || '.000000')"
    return f"(CAST(:now AS timestamptz) - make_interval(secs => ({seconds_before_now})))"


def _now_param(engine: Engine) -> Any:
    return NOW.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S") if engine.is_sqlite else NOW


def station_code(index: str) -> str:
    """SQL: the station code for a station index 0 .. STATIONS - 1 (JC-D1-S1 … JC-D10-S8)."""
    return f"'{CITY}-D' || ({index} / {STATIONS_PER_DISTRICT} + 1) || '-S' || ({index} % {STATIONS_PER_DISTRICT} + 1)"


def district_code(index: str) -> str:
    return f"'{CITY}-D' || ({index} / {STATIONS_PER_DISTRICT} + 1)"


def _step_case(column: int) -> str:
    """SQL CASE over the drawn step (per mille) giving one column of STEPS."""
    parts, bound = [], 0
    for step in STEPS:
        bound += step[4]
        value = step[column]
        if column == 3:
            rendered = station_code("station") if value == "station" else district_code("station")
        else:
            rendered = "NULL" if value is None else "'" + str(value) + "'"
        parts.append(f"WHEN step_r < {bound} THEN {rendered}")
    return "CASE " + " ".join(parts[:-1]) + " ELSE " + parts[-1].split(" THEN ", 1)[1] + " END"


def _fill_tasks(engine: Engine, open_tasks: int, version_id: int, key: str) -> None:
    n_tasks = open_tasks * TASKS_PER_INSTANCE
    day = 86_400
    params = {"n": n_tasks, "now": _now_param(engine), "key": key, "me": ME}
    open_age = OPEN_AGE_DAYS * day
    closed_lo, closed_hi = CLOSED_AGE_DAYS[0] * day, CLOSED_AGE_DAYS[1] * day
    drawn = f"""
        SELECT g, g / {TASKS_PER_INSTANCE} AS inst,
               CASE WHEN g % {TASKS_PER_INSTANCE} = {TASKS_PER_INSTANCE - 1} THEN 1 ELSE 0 END AS is_open,
               {_draw("step")} % 1000 AS step_r,
               {_draw("station")} % {STATIONS} AS station,
               {_draw("assign")} % 100 AS assign_r,
               {_draw("who")} % {USERS} AS who,
               {_draw("who")} / {USERS} % {MY_COMPLETED_ONE_IN} AS mine_r,
               CASE WHEN g % {TASKS_PER_INSTANCE} = {TASKS_PER_INSTANCE - 1} THEN {_draw("age")} % {open_age}
                    ELSE {closed_lo} + {_draw("age")} % {closed_hi - closed_lo} END AS age,
               {_draw("due")} % 100 AS due_r,
               {DUE_DAYS[0]} + {_draw("due")} / 100 % {DUE_DAYS[1] - DUE_DAYS[0] + 1} AS due_days,
               {_draw("hours")} % 96 AS hours
        FROM seq"""
    has_due = f"due_r >= {NO_DUE_PERCENT}"
    due_in = f"(due_days * {day} - age)"  # seconds from NOW until the task is due (<= 0: overdue)
    handle = "step_r >= 150 AND step_r < 600"  # the handler step (STEPS[1])
    with engine.db.begin() as conn:
        conn.execute(
            text(f"""
            {_seq(engine, "instances")}
            INSERT INTO process_instances (id, definition_version_id, process_key, business_key, status, time_state,
                                           unit_code, state_json, data_json, started_by, created_at, updated_at,
                                           version)
            SELECT 'i' || g, :vid, :key, 'BK-' || g, 'running', NULL, NULL, '{{}}', '{{}}', 'user_' || (g % {USERS}),
                   {_at(engine, str(open_age))}, {_at(engine, "0")}, 1
            FROM seq
            """),
            {**params, "instances": open_tasks, "vid": version_id},
        )
        conn.execute(
            text(f"""
            {_seq(engine)}
            INSERT INTO human_tasks (id, instance_id, process_key, business_key, bpmn_id, name, lane, assignee,
                                     unit_code, form_key, state, time_state, created_at, due_at, warn_at,
                                     completed_at, completed_by)
            SELECT 't' || g, 'i' || inst, :key, 'BK-' || inst, {_step_case(0)}, {_step_case(1)}, {_step_case(2)},
                   CASE WHEN is_open = 1 AND assign_r < {ASSIGNED_PERCENT} THEN 'user_' || who END,
                   {_step_case(3)}, NULL,
                   CASE WHEN is_open = 1 THEN 'open' ELSE 'completed' END,
                   CASE WHEN is_open = 0 OR NOT ({has_due}) THEN 'green'
                        WHEN {due_in} <= 0 THEN 'red' WHEN {due_in} <= {day} THEN 'yellow' ELSE 'green' END,
                   {_at(engine, "age")},
                   CASE WHEN {has_due} THEN {_at(engine, f"age - due_days * {day}")} END,
                   CASE WHEN {has_due} THEN {_at(engine, f"age - (due_days - 1) * {day}")} END,
                   CASE WHEN is_open = 0 THEN {_at(engine, "age - (1 + hours) * 3600")} END,
                   CASE WHEN is_open = 1 THEN NULL
                        WHEN {handle} AND station = 0 AND mine_r = 0 THEN :me ELSE 'user_' || who END
            FROM ({drawn}) AS drawn
            """),
            params,
        )
        # A few open tasks of my lane and station claimed by me: the "mine" tab, the default first page.
        conn.execute(
            text("""
            UPDATE human_tasks SET assignee = :me
            WHERE id IN (SELECT id FROM human_tasks
                         WHERE state = 'open' AND lane = :lane AND unit_code = :unit AND assignee IS NULL
                         ORDER BY id LIMIT :k)
            """),
            {"me": ME, "lane": MY_ROLE, "unit": MY_UNIT, "k": ASSIGNED_TO_ME},
        )
        # One open reminder per red task: to its assignee, else to me for my lane and station, else a lead.
        conn.execute(
            text("""
            INSERT INTO reminders (category, recipient, subject_type, subject_id, dedupe_key, title, body, created_at)
            SELECT 'time_limit_warning',
                   COALESCE(assignee, CASE WHEN lane = :lane AND unit_code = :unit THEN :me
                                           ELSE 'lead_' || COALESCE(unit_code, '-') || '_' || COALESCE(lane, '-')
                                      END),
                   'task', id, 'red:' || id, name || ' 已超期', '', due_at
            FROM human_tasks WHERE state = 'open' AND time_state = 'red'
            """),
            {"me": ME, "lane": MY_ROLE, "unit": MY_UNIT},
        )


def _organisation(engine: Engine) -> None:
    """Units, the measured handler (with a password, through the service) and USERS other people."""
    units = [{"code": CITY, "name": "江城供电公司", "level": "city", "parent_code": None, "created_at": NOW}]
    for d in range(1, DISTRICTS + 1):
        units.append(
            {
                "code": f"{CITY}-D{d}",
                "name": f"第{d}区供电局",
                "level": "district",
                "parent_code": CITY,
                "created_at": NOW,
            }
        )
        units += [
            {
                "code": f"{CITY}-D{d}-S{s}",
                "name": f"第{d}区第{s}供电所",
                "level": "station",
                "parent_code": f"{CITY}-D{d}",
                "created_at": NOW,
            }
            for s in range(1, STATIONS_PER_DISTRICT + 1)
        ]
    with engine.db.begin() as conn:
        conn.execute(insert(m.Unit), units)
    users.add_user(
        engine.uow(), username=ME, roles=[MY_ROLE], unit_code=MY_UNIT, password=PASSWORD, display_name="办理人", now=NOW
    )
    lanes = [s[2] for s in STEPS if s[2]]
    with engine.db.begin() as conn:
        first = 1 + (conn.execute(text("SELECT max(id) FROM users")).scalar_one() or 0)
        conn.execute(
            insert(m.User),
            [
                {
                    "id": first + i,
                    "username": f"user_{i}",
                    "display_name": f"user_{i}",
                    "password_hash": None,
                    "unit_code": f"{CITY}-D{i % DISTRICTS + 1}-S{i % STATIONS_PER_DISTRICT + 1}",
                    "is_active": True,
                    "created_at": NOW,
                }
                for i in range(USERS)
            ],
        )
        conn.execute(insert(m.UserRole), [{"user_id": first + i, "role": lanes[i % len(lanes)]} for i in range(USERS)])


def fill(engine: Engine, open_tasks: int, proc: process.BenchProcess) -> dict[str, Any]:
    """The organisation, every process of processes/ deployed, instances, tasks and reminders; deterministic."""
    t0 = time.perf_counter()
    deployed = definitions.deploy_definition(engine.uow(), files=proc.files, forms=proc.forms, actor=DEPLOYER, now=NOW)
    version_id = next(d.id for d in deployed if d.key == proc.key)
    _organisation(engine)
    _fill_tasks(engine, open_tasks, version_id, proc.key)
    if engine.is_sqlite:
        with engine.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    seconds = time.perf_counter() - t0
    with engine.db.connect() as conn:
        by_state = dict(conn.execute(text("SELECT state, count(*) FROM human_tasks GROUP BY state")).tuples().all())
        by_time = dict(
            conn.execute(text("SELECT time_state, count(*) FROM human_tasks WHERE state = 'open' GROUP BY time_state"))
            .tuples()
            .all()
        )
        reminders = conn.execute(text("SELECT count(*) FROM reminders")).scalar_one()
        versions = conn.execute(text("SELECT count(*) FROM definition_versions")).scalar_one()
    return {
        "seconds": round(seconds, 1),
        "tasks_by_state": by_state,
        "open_by_time_state": by_time,
        "reminders": reminders,
        "definition_versions": versions,
        "deployed": [d.key for d in deployed],
    }


# -- statements ---------------------------------------------------------------------------------------------------


@dataclass
class Captured:
    sql: str
    parameters: Any
    caller: str
    seconds: float = 0.0


class StatementTimer:
    """Every statement through the driver with its time (before → after cursor execute) and the service that sent it;
    plus the connection checkouts (each unit of work takes one; PostgreSQL pings it first: pool_pre_ping)."""

    def __init__(self, *, callers: bool) -> None:
        self.callers = callers
        self.statements: list[Captured] = []
        self.checkouts = 0

    def _before(self, conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        caller = _caller() if self.callers else ""
        conn.info.setdefault("bench_started", []).append(time.perf_counter())
        self.statements.append(Captured(statement, parameters, caller))

    def _after(self, conn: Any, _cursor: Any, _statement: str, _parameters: Any, _ctx: Any, _many: bool) -> None:
        started = conn.info["bench_started"].pop()
        self.statements[-1].seconds = time.perf_counter() - started

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1

    @contextlib.contextmanager
    def listening(self, db: DbEngine) -> Iterator[StatementTimer]:
        event.listen(db, "before_cursor_execute", self._before)
        event.listen(db, "after_cursor_execute", self._after)
        event.listen(db, "checkout", self._checkout)
        try:
            yield self
        finally:
            event.remove(db, "before_cursor_execute", self._before)
            event.remove(db, "after_cursor_execute", self._after)
            event.remove(db, "checkout", self._checkout)


def _caller() -> str:
    """The service function (engine/services/…) that sent the statement being executed."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if "/engine/services/" in path:
            return f"{Path(path).stem}.{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def is_query(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


def shorten(sql: str, width: int = 150) -> str:
    """One line: long SELECT lists become …, then cut to `width`."""
    flat = " ".join(sql.split())
    flat = re.sub(
        r"SELECT ((?:(?!SELECT |FROM ).)*?) FROM",
        lambda mt: "SELECT " + ("…" if mt.group(1).count(",") >= 2 else mt.group(1)) + " FROM",
        flat,
    )
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- requests -----------------------------------------------------------------------------------------------------


def signed_in_client(engine: Engine) -> FlaskClient:
    app = create_app(engine=engine)
    app.config["WTF_CSRF_ENABLED"] = False  # the sign-in form posted without its token; everything else as served
    client = app.test_client()
    response = client.post("/login", data={"username": ME, "password": PASSWORD})
    if response.status_code != 302 or response.headers.get("Location", "").startswith("/login"):
        raise RuntimeError(f"{NAME}: signing in as {ME} failed ({response.status_code})")
    return client


def _get(client: FlaskClient, case: Case) -> tuple[float, int]:
    t0 = time.perf_counter()
    response = client.get(case.url, headers=case.headers)
    body = response.get_data()
    seconds = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"{NAME}: {case.url} answered {response.status_code}")
    return seconds, len(body)


def timed_run(client: FlaskClient, requests: int, budget_s: float) -> tuple[dict[str, list[float]], dict[str, int]]:
    """`requests` rounds over every case, interleaved so that drift hits all cases alike."""
    samples: dict[str, list[float]] = {c.key: [] for c in CASES}
    sizes_: dict[str, int] = {}
    deadline = time.perf_counter() + budget_s
    for _ in range(requests):
        if time.perf_counter() > deadline:
            break
        for case in CASES:
            seconds, size = _get(client, case)
            samples[case.key].append(seconds)
            sizes_[case.key] = size
    return samples, sizes_


def profile(engine: Engine, client: FlaskClient, case: Case, rounds: int) -> dict[str, Any]:
    """The statements of one page with their callers, then `rounds` pages with per-statement times."""
    with StatementTimer(callers=True).listening(engine.db) as first:
        _get(client, case)
    per_round: list[StatementTimer] = []
    walls = []
    for _ in range(rounds):
        with StatementTimer(callers=False).listening(engine.db) as timer:
            walls.append(_get(client, case)[0])
        per_round.append(timer)
    same = [t for t in per_round if len(t.statements) == len(first.statements)]
    statements = []
    for i, s in enumerate(first.statements):
        times = [t.statements[i].seconds * 1000 for t in same]
        statements.append(
            {
                "caller": s.caller,
                "sql": s.sql,
                "short": shorten(s.sql),
                "median_ms": round(statistics.median(times), 3) if times else None,
                "parameters": repr(s.parameters)[:300],
            }
        )
    sql_ms = [sum(x.seconds for x in t.statements) * 1000 for t in per_round]
    return {
        "statements": statements,
        "count": len(first.statements),
        "queries": sum(is_query(s.sql) for s in first.statements),
        "checkouts": first.checkouts,
        "sql_median_ms": round(statistics.median(sql_ms), 3),
        "page_median_ms_while_profiling": round(statistics.median(walls) * 1000, 3),
        "_captured": first.statements,
    }


def _plans(engine: Engine, captured: list[Captured]) -> list[dict[str, str]]:
    chosen = [s for s in captured if is_query(s.sql) and "human_tasks" in s.sql]
    plans = explain(engine, [databases.Statement(s.sql, s.parameters, False) for s in chosen])
    return [{"caller": s.caller, "sql": s.sql, "plan": p} for s, p in zip(chosen, plans, strict=True)]


def visible(engine: Engine) -> dict[str, Any]:
    """What the inbox shows the handler: counts per tab and time state (through the service, as the page does)."""
    actor = users.get_actor(engine.uow(readonly=True), username=ME)
    return tasks.inbox_counts(engine.uow(readonly=True), actor=actor)


def measure_database(kind: str, size: Sizes, proc: process.BenchProcess) -> tuple[dict[str, Any], list[Row]]:
    with databases.fresh_database(kind, "inbox_page") as url, tempfile.TemporaryDirectory() as documents:
        engine = build_engine(
            Settings(database_url=url, scheduler_enabled=False, secret_key="bench", documents_dir=documents)
        )
        try:
            engine.create_schema()
            data = fill(engine, size.open_tasks, proc)
            counts = visible(engine)
            client = signed_in_client(engine)
            for _ in range(10):  # warm the pool, the statement caches and the templates
                for case in CASES:
                    _get(client, case)
            t0 = time.perf_counter()
            samples, body_sizes = timed_run(client, size.requests, size.budget_s)
            wall = time.perf_counter() - t0
            profiles = {c.key: profile(engine, client, c, size.profile_requests) for c in CASES}
            plans = _plans(engine, profiles["group_red"]["_captured"])
        finally:
            engine.dispose()
    rows, results = [], {}
    for case in CASES:
        s = summarize(samples[case.key])
        prof = profiles[case.key]
        ok = s.p95_ms < TARGET_MS
        rows.append(
            Row(
                NAME,
                f"{kind}, {case.label}",
                s.n,
                s.median_ms,
                s.p95_ms,
                s.p99_ms,
                1000 / s.mean_ms if s.mean_ms else None,
                f"SQL {prof['sql_median_ms']:.1f} ms in {prof['queries']} queries",
                f"{prof['count']} stmts",
                f"p95 < {TARGET_MS:.0f} ms",
                verdict(ok),
            )
        )
        results[case.key] = {
            "label": case.label,
            "url": case.url,
            "headers": case.headers,
            "server_time": s.as_dict(),
            "response_bytes": body_sizes.get(case.key),
            "target_p95_ms": TARGET_MS,
            "meets": ok,
            "statements_per_page": prof["count"],
            "queries_per_page": prof["queries"],
            "connection_checkouts_per_page": prof["checkouts"],
            "sql_median_ms": prof["sql_median_ms"],
            "page_median_ms_while_profiling": prof["page_median_ms_while_profiling"],
            "statements": prof["statements"],
        }
    result = {
        "database": kind,
        "data": data,
        "handler_sees": counts,
        "timed_wall_s": round(wall, 1),
        "time_budget_s": size.budget_s,
        "cases": results,
        "plans_group_red": plans,
    }
    return result, rows


def run(
    *,
    smoke: bool,
    proc: process.BenchProcess | None = None,
    kinds: list[str] | None = None,
    requests: int | None = None,
) -> tuple[dict[str, Any], list[Row]]:
    size = sizes(smoke, requests)
    proc = proc or process.load()
    cases, rows = [], []
    available = databases.available_kinds()
    wanted = kinds or available
    for kind in wanted:
        if kind not in available:
            print(f"{NAME}: {kind} not reachable, skipped", file=sys.stderr, flush=True)
            continue
        print(f"{NAME}: {kind}: generating {size.open_tasks:,} open tasks …", file=sys.stderr, flush=True)
        case, case_rows = measure_database(kind, size, proc)
        cases.append(case)
        rows += case_rows
    result = {
        "benchmark": NAME,
        "what": (
            "server time of GET /inbox (Flask test client: routing, session, sign-in re-read, queries, template) "
            f"for a {MY_ROLE} of station {MY_UNIT}"
        ),
        "target": f"p95 < {TARGET_MS:.0f} ms at 100k open tasks",
        "sizes": {
            "open_tasks": size.open_tasks,
            "completed_tasks": size.open_tasks * CLOSED_PER_OPEN,
            "instances": size.open_tasks,
            "units": 1 + DISTRICTS + STATIONS,
            "users": USERS + 1,
            "requests_per_case": size.requests,
            "profile_requests_per_case": size.profile_requests,
        },
        "data_shape": {
            "steps": [{"bpmn_id": s[0], "lane": s[2], "unit_level": s[3], "per_mille": s[4]} for s in STEPS],
            "assigned_percent_of_open": ASSIGNED_PERCENT,
            "assigned_to_me": ASSIGNED_TO_ME,
            "no_due_percent": NO_DUE_PERCENT,
            "open_age_days": OPEN_AGE_DAYS,
            "due_days_after_creation": DUE_DAYS,
            "reminders": "one per red open task (assignee, else me for my lane and station, else a lead)",
            "statistics": "ANALYZE after loading",
            "process": proc.label,
        },
        "cases": cases,
        "skipped": [k for k in wanted if k not in available],
    }
    return result, rows


def print_statements(result: dict[str, Any]) -> None:
    for db in result["cases"]:
        print(f"\n{db['database']}: statements per page (before_cursor_execute), SQL median ms while profiling")
        for key, case in db["cases"].items():
            print(
                f"  {case['label']:<34} {case['statements_per_page']:>2} statements, {case['queries_per_page']:>2} "
                f"queries, {case['connection_checkouts_per_page']} connection checkouts, "
                f"SQL {case['sql_median_ms']:.2f} ms of {case['page_median_ms_while_profiling']:.2f} ms ({key})"
            )
        group = db["cases"]["group_red"]
        print(f"  the statements of {group['label']}:")
        for i, s in enumerate(group["statements"], 1):
            ms = "-" if s["median_ms"] is None else f"{s['median_ms']:.3f}"
            print(f"  {i:>3} {ms:>8} ms  {s['caller']:<30} {s['short']}")
        seen = db["handler_sees"]
        print(
            f"  {ME} sees: mine {seen['mine']['total']} (red {seen['mine']['red']}), group {seen['group']['total']} "
            f"(red {seen['group']['red']}), completed {seen['completed']['total']}; data {db['data']['tasks_by_state']}"
            f", generated in {db['data']['seconds']} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.b_inbox_page", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10k open tasks instead of 100k, 200 requests per case")
    parser.add_argument("--databases", default="", help="comma-separated subset of sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per case (default 200)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()] or None
    began = time.perf_counter()
    info = machine.describe()
    result, rows = run(smoke=args.smoke, kinds=kinds, requests=args.requests)
    result.update(mode="smoke" if args.smoke else "full", elapsed_s=round(time.perf_counter() - began, 1), machine=info)
    path = report.write(NAME, result, smoke=args.smoke)
    print(f"{NAME} ({result['mode']}) | {info['line']}")
    print(report.table(rows))
    print_statements(result)
    print(f"\nresults: {path} | total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
