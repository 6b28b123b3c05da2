"""Scheduled SQL checks: a topic's read-only source feeds batches on its cadence (SQLite file and PostgreSQL table)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa

from engine.domain.errors import SourceError
from engine.persistence.sql_sources import fetch_rows
from engine.scheduler import jobs
from engine.services import anomalies, cases, topic_intake
from tests.conftest import BOTH_DATABASES, POSTGRES_URL, _drop_postgres_database, _postgres_database
from tests.helpers import build_org, deploy_processes, publish_topic

TOPIC = "TARIFF-01"
QUERY = "SELECT external_id, target, unit, observed_at, description FROM findings ORDER BY external_id"


@pytest.fixture
def org(engine: Any) -> dict[str, Any]:
    deploy_processes(engine)
    people = build_org(engine)
    publish_topic(engine, people, TOPIC)
    return people


@pytest.fixture
def pg_source() -> Any:
    """A PostgreSQL database with a findings table, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("the PostgreSQL source test needs AUDITLOOP_TEST_POSTGRES_URL (make test sets it when found)")
    url = _postgres_database()
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE findings (external_id text, target text, unit text, observed_at timestamptz, "
            "description text)"
        )
        conn.exec_driver_sql("CREATE SEQUENCE s")
    yield url, db
    db.dispose()
    _drop_postgres_database(url)


def _add(db: Any, rows: list[tuple[str, str, str]]) -> None:
    with db.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO findings VALUES (:e, :t, :u, '2026-11-22T08:00:00+08:00', '电价执行错误')"),
            [{"e": e, "t": t, "u": u} for e, t, u in rows],
        )


def _cases(engine: Any, org: dict[str, Any]) -> list[str]:
    page = cases.list_cases(engine.uow(), actor=org["admin"], topic_code=TOPIC, limit=100)
    return sorted(c.target for c in page.items)


@BOTH_DATABASES
def test_a_postgresql_check_raises_cases_on_its_cadence(engine, org, clock, pg_source):
    url, db = pg_source
    _add(db, [("E1", "T-1", "JC-DONG-1"), ("E2", "T-2", "JC-XI-1")])
    topic_intake.set_intake(
        engine.uow(), topic_code=TOPIC, actor=org["auditor"], now=engine.now(), box=engine.secret_box,
        sql_url=url, sql_query=QUERY, check_every_hours=24,
    )  # fmt: skip
    jobs.tick(engine)
    assert _cases(engine, org) == ["T-1", "T-2"]
    _add(db, [("E3", "T-3", "JC-BEI-1")])
    clock.advance(hours=23)
    jobs.tick(engine)
    assert _cases(engine, org) == ["T-1", "T-2"]  # not due yet
    clock.advance(hours=1)
    jobs.tick(engine)
    assert _cases(engine, org) == ["T-1", "T-2", "T-3"]  # E1 and E2 came again: unchanged
    batches = anomalies.list_batches(engine.uow(), actor=org["auditor"], topic_code=TOPIC).items
    assert [(b.source, b.submitted_by, b.received, b.raised, b.unchanged) for b in batches] == [
        ("sql", "scheduler", 3, 1, 2),
        ("sql", "scheduler", 2, 2, 0),
    ]
    setting = topic_intake.get_intake(engine.uow(), topic_code=TOPIC, actor=org["auditor"])
    assert setting.last_check_error is None and setting.next_check_at == engine.now() + dt.timedelta(hours=24)


def test_a_postgresql_source_is_read_in_a_read_only_transaction(pg_source):
    url, db = pg_source
    _add(db, [("E1", "T-1", "JC")])
    assert fetch_rows(url, QUERY, timeout_s=5, max_rows=10)[0]["external_id"] == "E1"
    with pytest.raises(SourceError, match="read-only"):
        fetch_rows(url, "SELECT nextval('s') AS n", timeout_s=5, max_rows=10)  # passes the checks, still refused
    with pytest.raises(SourceError, match=r"statement timeout|canceling"):
        fetch_rows(url, "SELECT pg_sleep(3)", timeout_s=1, max_rows=10)
    with pytest.raises(SourceError, match="more than 0 rows"):
        fetch_rows(url, QUERY, timeout_s=5, max_rows=0)


@BOTH_DATABASES
def test_a_sqlite_file_source_feeds_a_batch(engine, org, tmp_path):
    path = tmp_path / "marketing.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE findings (external_id, target, unit, observed_at, description)")
        conn.execute("INSERT INTO findings VALUES ('E9', 'T-9', 'JC-DONG-2', '2026-11-22', '计量倍率异常')")
    topic_intake.set_intake(
        engine.uow(), topic_code=TOPIC, actor=org["auditor"], now=engine.now(), box=engine.secret_box,
        sql_url=f"sqlite:///{path}", sql_query=QUERY,
    )  # fmt: skip
    jobs.tick(engine)
    assert _cases(engine, org) == ["T-9"]
    with pytest.raises(SourceError, match="only reads"):
        fetch_rows(f"sqlite:///{path}", "SELECT 1; DELETE FROM findings", timeout_s=5, max_rows=10)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM findings").fetchone() == (1,)
