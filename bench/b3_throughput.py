"""B3: service-layer throughput — start_instance + complete_task of the first human task, 1 and 2 OS processes."""

from __future__ import annotations

import multiprocessing as mp
import queue
import random
import sqlite3
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench import b1_runtime, databases, process
from bench.report import Row, verdict
from bench.stats import summarize
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.services import definitions, instances, tasks

THROUGHPUT_TARGET = 250.0  # lifecycles/s with 2 processes
CEILING_TARGET = 0.60
WARMUP = 30
DEPLOYER = Actor("bench_admin", frozenset({"admin"}))
FLOOR_ROWS = 1000


@dataclass(frozen=True)
class Job:
    """What one worker process needs (picklable: spawned processes import everything afresh)."""

    url: str
    process_key: str
    lifecycles: int
    start_data: dict[str, Any]
    task_data: dict[str, Any]
    starter: Actor
    worker: Actor


def _lifecycle(engine: Engine, job: Job) -> None:
    started = instances.start_instance(
        engine.uow(), process_key=job.process_key, actor=job.starter, now=engine.now(), data=dict(job.start_data)
    )
    tasks.complete_task(
        engine.uow(), task_id=started.tasks[0].id, data=dict(job.task_data), actor=job.worker, now=engine.now()
    )


def _timed(step: Callable[[], None], n: int, index: int, go: Any, results: Any) -> None:
    """Warm up, say ready, wait for the common start, then time n steps and report them."""
    for _ in range(WARMUP):
        step()
    results.put({"index": index, "ready": True})
    go.wait()
    began = time.monotonic()
    latencies = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        latencies.append(time.perf_counter() - t0)
    results.put({"index": index, "began": began, "ended": time.monotonic(), "latencies": latencies})


def _engine_worker(job: Job, go: Any, results: Any, index: int) -> None:
    try:
        engine = build_engine(Settings(database_url=job.url, scheduler_enabled=False))
        _timed(lambda: _lifecycle(engine, job), job.lifecycles, index, go, results)
        engine.dispose()
    except BaseException:  # reported, so the parent stops instead of waiting
        results.put({"index": index, "error": traceback.format_exc()})


# -- R-sql: the same statements, bare, through the same driver ------------------------------------------------


@dataclass(frozen=True)
class TracedStatement:
    kind: str  # BEGIN, SELECT, INSERT, UPDATE, DELETE or OTHER
    payload_bytes: int  # text bound to the statement (the state JSON of an UPDATE, say)
    is_returning: bool


def trace_lifecycle(engine: Engine, job: Job) -> tuple[list[list[TracedStatement]], dict[str, int]]:
    """The statements one service-layer lifecycle sends, per transaction, and their count per kind."""
    for _ in range(3):
        _lifecycle(engine, job)
    log = databases.StatementLog()
    with log.listening(engine.db):
        _lifecycle(engine, job)
    transactions = [[_traced(s) for s in tx] for tx in log.transactions]
    counts: dict[str, int] = {}
    for tx in transactions:
        for s in tx:
            counts[s.kind] = counts.get(s.kind, 0) + 1
    counts["total"] = sum(len(tx) for tx in transactions)
    counts["transactions"] = len(transactions)
    return transactions, counts


def _traced(statement: databases.Statement) -> TracedStatement:
    words = statement.sql.lstrip().split(None, 1)
    kind = words[0].upper() if words else "OTHER"
    if kind not in ("BEGIN", "SELECT", "INSERT", "UPDATE", "DELETE"):
        kind = "OTHER"
    rows = statement.parameters if statement.is_many else [statement.parameters]
    size = 0
    for row in rows or []:
        values = row.values() if isinstance(row, dict) else (row or ())
        size += sum(len(v) for v in values if isinstance(v, str))
    return TracedStatement(kind, size, " RETURNING " in statement.sql.upper())


class _FloorConnection:
    """One raw DB-API connection replaying traced transactions against a one-table schema."""

    def __init__(self, url: str) -> None:
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # The same driver and settings the engine uses (database.py): WAL, synchronous=NORMAL, BEGIN IMMEDIATE.
            self.conn: Any = sqlite3.connect(
                make_url(url).database, timeout=30, isolation_level=None, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.mark = "?"
        else:
            self.conn = psycopg.connect(databases.conninfo(url))
            self.mark = "%s"
        self.rng = random.Random(7)

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def replay(self, transactions: list[list[TracedStatement]]) -> None:
        cur = self.conn.cursor()
        last_id = 1
        for tx in transactions:
            for s in tx:
                if s.kind == "BEGIN":
                    cur.execute("BEGIN IMMEDIATE" if self.is_sqlite else "BEGIN")
                elif s.kind == "INSERT":
                    tail = " RETURNING id" if s.is_returning else ""
                    cur.execute(
                        self.sql("INSERT INTO bench_floor (k, v) VALUES (?, ?)" + tail), ("k", "x" * s.payload_bytes)
                    )
                    last_id = cur.fetchone()[0] if s.is_returning else (getattr(cur, "lastrowid", None) or last_id)
                elif s.kind == "UPDATE":
                    cur.execute(self.sql("UPDATE bench_floor SET v = ? WHERE id = ?"), ("x" * s.payload_bytes, last_id))
                elif s.kind == "DELETE":
                    cur.execute(self.sql("DELETE FROM bench_floor WHERE id = ?"), (-1,))
                else:
                    cur.execute(
                        self.sql("SELECT id, k, v FROM bench_floor WHERE id = ?"), (self.rng.randint(1, FLOOR_ROWS),)
                    )
                    cur.fetchall()
            self.conn.commit()
        cur.close()

    def close(self) -> None:
        self.conn.close()


def prepare_floor(url: str) -> None:
    floor = _FloorConnection(url)
    key = "INTEGER PRIMARY KEY" if floor.is_sqlite else "BIGSERIAL PRIMARY KEY"
    cur = floor.conn.cursor()
    if floor.is_sqlite:
        cur.execute("BEGIN")
    cur.execute(f"CREATE TABLE bench_floor (id {key}, k TEXT, v TEXT)")
    cur.executemany(floor.sql("INSERT INTO bench_floor (k, v) VALUES (?, ?)"), [("k", "v" * 200)] * FLOOR_ROWS)
    floor.conn.commit()
    floor.close()


def _floor_worker(
    url: str, transactions: list[list[TracedStatement]], n: int, go: Any, results: Any, index: int
) -> None:
    try:
        floor = _FloorConnection(url)
        _timed(lambda: floor.replay(transactions), n, index, go, results)
        floor.close()
    except BaseException:
        results.put({"index": index, "error": traceback.format_exc()})


def _in_processes(target: Any, args_for: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Run target in len(args_for) spawned processes that start together; wall time, throughput, latencies."""
    ctx = mp.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, go, results, i)) for i, args in enumerate(args_for)]
    for p in procs:
        p.start()
    ready: set[int] = set()
    outcomes: dict[int, dict[str, Any]] = {}
    try:
        while len(outcomes) < len(procs):
            try:
                message = results.get(timeout=2)
            except queue.Empty:
                # A worker that dies outside its own try (an import error, a kill) must not hang the run.
                lost = [i for i, p in enumerate(procs) if not p.is_alive() and i not in outcomes]
                if lost:
                    code = procs[lost[0]].exitcode
                    raise RuntimeError(
                        f"benchmark worker {lost[0]} exited ({code}) without a result; see stderr"
                    ) from None
                continue
            if "error" in message:
                raise RuntimeError("a benchmark worker failed:\n" + message["error"])
            if message.get("ready"):
                ready.add(message["index"])
                if len(ready) == len(procs):
                    go.set()
            else:
                outcomes[message["index"]] = message
    finally:
        for p in procs:
            if p.is_alive() and len(outcomes) < len(procs):
                p.terminate()
            p.join()
    latencies = [x for o in outcomes.values() for x in o["latencies"]]
    wall = max(o["ended"] for o in outcomes.values()) - min(o["began"] for o in outcomes.values())
    return {"wall_s": wall, "count": len(latencies), "per_s": len(latencies) / wall, "latencies": latencies}


def measure_case(
    kind: str, workers: int, *, lifecycles: int, proc: process.BenchProcess, r_spiff_s: float
) -> tuple[dict[str, Any], Row]:
    with databases.fresh_database(kind, f"b3_{workers}p") as url:
        engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
        engine.create_schema()
        definitions.deploy_definition(
            engine.uow(), files=proc.files, forms=proc.forms, actor=DEPLOYER, now=engine.now()
        )
        starter, worker = process.sign_in(engine, proc)
        job = Job(url, proc.key, lifecycles // workers, proc.start_data, proc.task_data, starter, worker)
        transactions, counts = trace_lifecycle(engine, job)
        engine.dispose()

        prepare_floor(url)
        floor_n = max(200, lifecycles // 4) // workers
        floor = _in_processes(_floor_worker, [(url, transactions, floor_n)] * workers)
        measured = _in_processes(_engine_worker, [(job,)] * workers)

    latency = summarize(measured["latencies"])
    r_sql = summarize(floor["latencies"])
    ceiling = workers / (r_spiff_s + r_sql.mean_ms / 1000)
    pct = measured["per_s"] / ceiling
    ok_pct = pct >= CEILING_TARGET
    ok_tp = measured["per_s"] >= THROUGHPUT_TARGET if workers == 2 else None
    result = {
        "database": kind,
        "processes": workers,
        "lifecycles": measured["count"],
        "wall_s": measured["wall_s"],
        "throughput_per_s": measured["per_s"],
        "lifecycle_latency": latency.as_dict(),
        "statements_per_lifecycle": counts,
        "reference": {
            "r_spiff_ms": r_spiff_s * 1000,
            "r_sql": r_sql.as_dict(),
            "r_sql_note": f"{counts['total']} bare statements in {counts['transactions']} transactions per lifecycle, "
            f"replayed through the same driver by {workers} process(es) at once ({floor['count']} lifecycles)",
            "r_sql_throughput_per_s": floor["per_s"],
            "ceiling_per_s": ceiling,
            "ceiling_formula": "processes / (R-spiff mean + R-sql mean per lifecycle)",
        },
        "pct_of_ceiling": pct,
        "targets": {"throughput_per_s_with_2_processes": THROUGHPUT_TARGET, "pct_of_ceiling": CEILING_TARGET},
        "meets": {"pct_of_ceiling": ok_pct, **({"throughput": ok_tp} if ok_tp is not None else {})},
    }
    target = f">= {THROUGHPUT_TARGET:.0f}/s, >= {CEILING_TARGET:.0%}" if workers == 2 else f">= {CEILING_TARGET:.0%}"
    row = Row(
        "B3",
        f"{kind}, {workers} process{'es' if workers > 1 else ''}",
        measured["count"],
        latency.median_ms,
        latency.p95_ms,
        latency.p99_ms,
        measured["per_s"],
        f"ceiling {ceiling:.0f}/s (spiff {r_spiff_s * 1000:.2f} + sql {r_sql.mean_ms:.2f} ms, {counts['total']} st)",
        f"{pct:.0%}",
        target,
        verdict(ok_pct and ok_tp is not False),
    )
    return result, row


def run(*, smoke: bool, proc: process.BenchProcess, r_spiff_s: float | None) -> tuple[dict[str, Any], list[Row]]:
    lifecycles = 600 if smoke else 10_000  # smoke: about a tenth, trimmed to keep the suite under two minutes
    r_spiff_origin = "B1 of this run (mean)"
    if r_spiff_s is None:
        bare = b1_runtime.measure_bare(proc, 200 if smoke else 1000)
        r_spiff_s = summarize([b.total for b in bare]).mean_ms / 1000
        r_spiff_origin = f"measured here ({len(bare)} bare lifecycles, mean)"
    cases, rows = [], []
    for kind in databases.available_kinds():
        for workers in (1, 2):
            case, row = measure_case(kind, workers, lifecycles=lifecycles, proc=proc, r_spiff_s=r_spiff_s)
            cases.append(case)
            rows.append(row)
    result = {
        "benchmark": "B3",
        "what": "start_instance + complete_task of the first human task through the service layer",
        "process": proc.label,
        "process_key": proc.key,
        "sizes": {"lifecycles_per_case": lifecycles, "warmup_per_process": WARMUP},
        "r_spiff_ms": r_spiff_s * 1000,
        "r_spiff_origin": r_spiff_origin,
        "postgresql": "measured" if "postgresql" in databases.available_kinds() else "not reachable, skipped",
        "cases": cases,
    }
    return result, rows
