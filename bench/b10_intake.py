"""B10: anomaly intake — a 100k-item batch worked in 1,000-item chunks (a realistic mix), raising throughput, resend.

The mix (per 100k items): 2% rejected, 3% white-listed, 20% recorded, 5% warned, 68% merged into open cases and 2%
raising new cases. A daily check of ~290k customers mostly finds the same targets again (their open cases take the
new occurrence) or values under the raise threshold; new cases are the few per cent an audit centre can work. Every
new case starts a BPMN instance, so the raising rate is measured on its own too (cases/s) and an all-raising 100k
batch is extrapolated from it in the report, never hidden.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from bench import databases
from bench.report import Row, verdict
from bench.stats import summarize
from cli import collect_files
from cli.demo import PEOPLE, TOPICS, UNITS, _publish_topic
from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import SYSTEM, Actor
from engine.persistence import models as m
from engine.services import anomalies, definitions, topic_intake, users

SEED = 20_261_122
NOW = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)
TARGET_S = 60.0
TOPIC = "METER-02"
OWNER = "bench-b10"
STATIONS = [code for code, _, _ in UNITS if code.count("-") == 2]
MIX = {"rejected": 0.02, "skipped": 0.03, "recorded": 0.20, "warned": 0.05, "merged": 0.68, "raised": 0.02}


@dataclass(frozen=True)
class Size:
    items: int
    open_cases: int  # targets with an open case before the batch (the merged items go to them)

    @property
    def counts(self) -> dict[str, int]:
        found = {k: int(self.items * share) for k, share in MIX.items()}
        found["merged"] += self.items - sum(found.values())
        return found


def sizes(smoke: bool) -> Size:
    return Size(10_000, 200) if smoke else Size(100_000, 2_000)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def _item(n: int, who: str, reading: float, **extra: Any) -> dict[str, Any]:
    item = {
        "external_id": f"B10-{n:07d}",
        "target": who,
        "unit": STATIONS[n % len(STATIONS)],
        "value": reading,
        "observed_at": "2026-11-21T23:00:00+08:00",
        "description": "电能表倍率档案与现场不一致",
    }
    return {**item, **extra}


def build_items(size: Size, rng: random.Random) -> list[dict[str, Any]]:
    """The batch in the MIX, shuffled, from known targets (open cases, white list) and new ones."""
    counts = size.counts
    items: list[dict[str, Any]] = []
    n = 0
    for _ in range(counts["rejected"]):
        bad = rng.choice([{"target": ""}, {"unit": "NOWHERE"}, {"observed_at": "yesterday"}, {"value": "high"}])
        items.append(_item(n, f"R{n}", 5.0, **bad))
        n += 1
    for _ in range(counts["skipped"]):
        items.append(_item(n, f"W{n % 300:05d}", 5.0))
        n += 1
    for _ in range(counts["recorded"]):
        items.append(_item(n, f"N{n:07d}", 0.5))
        n += 1
    for _ in range(counts["warned"]):
        items.append(_item(n, f"A{n % 500:05d}", 1.5))
        n += 1
    for _ in range(counts["merged"]):
        items.append(_item(n, f"O{rng.randrange(size.open_cases):06d}", 5.0))
        n += 1
    for _ in range(counts["raised"]):
        items.append(_item(n, f"NEW{n:07d}", 5.0))
        n += 1
    rng.shuffle(items)
    return items


def prepare(engine: Engine, size: Size) -> dict[str, Actor]:
    """Processes, the demo organisation, an active topic with thresholds, its white list."""
    files, forms = collect_files([databases_root() / "processes"])
    definitions.deploy_definition(engine.uow(), files=files, forms=forms, actor=SYSTEM, now=NOW)
    for code, name, parent in UNITS:
        users.add_unit(engine.uow(), code=code, name=name, parent_code=parent, actor=SYSTEM, now=NOW)
    people: dict[str, Actor] = {}
    for username, display, roles, unit in PEOPLE:
        users.add_user(engine.uow(), username=username, display_name=display, roles=roles, unit_code=unit, now=NOW)
        people[username] = users.get_actor(engine.uow(), username=username)
    _, name, area, criteria, thresholds = next(t for t in TOPICS if t[0] == TOPIC)
    _publish_topic(
        engine, people, code=TOPIC, name=name, area=area, criteria=criteria, thresholds=thresholds,
        at=NOW - dt.timedelta(days=2),
    )  # fmt: skip
    topic_intake.set_intake(
        engine.uow(), topic_code=TOPIC, actor=people["auditor"], now=NOW, box=engine.secret_box,
        warn_at=1.0, raise_at=2.0, start_at_handle=True, assign_handler=True,
    )  # fmt: skip
    with engine.db.begin() as conn:
        conn.execute(
            insert(m.WhitelistEntry),
            [
                {
                    "topic_code": TOPIC,
                    "target": f"W{k:05d}",
                    "reason": "bench",
                    "frozen_until": NOW + dt.timedelta(days=90),
                    "approved_by": "reviewer",
                    "created_at": NOW,
                }
                for k in range(300)
            ],
        )
    return people


def databases_root() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def run_batch(engine: Engine, actor: Actor, items: list[dict[str, Any]]) -> tuple[Any, float, list[float]]:
    """Submit and work a batch chunk by chunk as the scheduler does; (view, seconds, per-chunk seconds)."""
    began = time.perf_counter()
    view = anomalies.submit_batch(
        engine.uow(), topic_code=TOPIC, items=items, source="api", actor=actor, now=engine.now(), owner=OWNER
    )
    chunks: list[float] = []
    while view.status not in ("done", "failed"):
        t0 = time.perf_counter()
        view = anomalies.process_batch_chunk(engine.uow(), batch_id=view.id, owner=OWNER, now=engine.now())
        chunks.append(time.perf_counter() - t0)
    return view, time.perf_counter() - began, chunks


def measure_database(kind: str, size: Size) -> tuple[dict[str, Any], list[Row]]:
    rng = random.Random(SEED)
    with databases.fresh_database(kind, "b10") as url:
        clock = Clock()
        engine = build_engine(
            Settings(
                database_url=url,
                secret_key="bench",
                scheduler_enabled=False,
                documents_dir=f"/tmp/auditloop_b10_{kind}",
            ),
            clock=clock,
        )
        try:
            engine.create_schema()
            people = prepare(engine, size)
            auditor = people["auditor"]
            opening = [_item(9_000_000 + k, f"O{k:06d}", 5.0) for k in range(size.open_cases)]
            raised, raise_s, raise_chunks = run_batch(engine, auditor, opening)
            items = build_items(size, rng)
            clock.now += dt.timedelta(minutes=5)
            view, total_s, chunks = run_batch(engine, auditor, items)
            clock.now += dt.timedelta(minutes=5)
            again, again_s, again_chunks = run_batch(engine, auditor, items)
        finally:
            engine.dispose()
    rate = raised.raised / raise_s
    report = {k: getattr(view, k) for k in ("received", "rejected", "unchanged", "recorded", "warned", "skipped",
                                             "merged", "raised")}  # fmt: skip
    case = {
        "database": kind,
        "batch": {
            "items": size.items,
            "seconds": round(total_s, 2),
            "items_per_s": round(size.items / total_s),
            "report": report,
            "chunks": summarize(chunks).as_dict(),
        },
        "raising": {
            "cases": raised.raised,
            "seconds": round(raise_s, 2),
            "cases_per_s": round(rate, 1),
            "all_raising_100k_s_extrapolated": round(100_000 / rate),
        },
        "resend": {"seconds": round(again_s, 2), "unchanged": again.unchanged, "raised": again.raised},
    }
    c, r, a = summarize(chunks), summarize(raise_chunks), summarize(again_chunks)
    is_target = kind == "sqlite" and size.items == 100_000
    rows = [
        Row("B10", f"{kind}, {size.items:,} items (mix), per chunk", c.n, c.median_ms, c.p95_ms, c.p99_ms,
            size.items / total_s, f"total {total_s:.1f} s", "", f"< {TARGET_S:.0f} s" if is_target else "",
            verdict(total_s < TARGET_S) if is_target else ""),
        Row("B10", f"{kind}, raising {raised.raised:,} cases, per chunk", r.n, r.median_ms, r.p95_ms, r.p99_ms,
            rate, f"100k all raising ~{100_000 / rate:.0f} s", "", "", ""),
        Row("B10", f"{kind}, same batch again (unchanged)", a.n, a.median_ms, a.p95_ms, a.p99_ms,
            size.items / again_s, f"raised {again.raised}", "", "", ""),
    ]  # fmt: skip
    return case, rows


def run(*, smoke: bool) -> tuple[dict[str, Any], list[Row]]:
    size = sizes(smoke)
    cases, rows = [], []
    for kind in databases.available_kinds():
        case, case_rows = measure_database(kind, size)
        cases.append(case)
        rows += case_rows
    result = {
        "benchmark": "B10",
        "what": "anomalies.submit_batch + process_batch_chunk (1,000 items per transaction) over a mixed batch",
        "load_average_at_end": os.getloadavg(),
        "mix": MIX,
        "sizes": {"items": size.items, "open_cases_before": size.open_cases},
        "target": f"a {size.items:,}-item batch done in < {TARGET_S:.0f} s on SQLite (full size)",
        "cases": cases,
    }
    return result, rows
