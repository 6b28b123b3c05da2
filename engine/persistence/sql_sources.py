"""Reading a topic's SQL source: one checked SELECT on a read-only connection, with a time limit and a row cap."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from engine.domain.anomalies import check_select
from engine.domain.errors import SourceError

BACKENDS = ("sqlite", "postgresql")


def check_url(url: str) -> list[str]:
    """Reasons a source URL is refused (empty when it names a supported database)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return ["not an SQLAlchemy URL, e.g. postgresql+psycopg://reader:…@host/marketing"]
    if parsed.get_backend_name() not in BACKENDS:
        return [f"only {', '.join(BACKENDS)} sources are supported"]
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return ["an SQLite source must name a database file"]
    return []


def fetch_rows(url: str, query: str, *, timeout_s: float, max_rows: int) -> list[dict[str, Any]]:
    """The rows of `query` as dicts; refuses anything but one SELECT and never writes (read-only transaction)."""
    problems = check_url(url) + check_select(query)
    if problems:
        raise SourceError("; ".join(problems))
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            # mode=ro: the file is opened read-only by SQLite itself, whatever the statement tries.
            ro = parsed.set(database=f"file:{parsed.database}?mode=ro", query={"uri": "true"})
            db = create_engine(ro, poolclass=NullPool)
        else:
            ms = int(timeout_s * 1000)
            db = create_engine(
                parsed,
                poolclass=NullPool,
                connect_args={
                    "connect_timeout": max(1, int(timeout_s)),
                    "options": f"-c default_transaction_read_only=on -c statement_timeout={ms}",
                },
            )
    except (ArgumentError, SQLAlchemyError, ImportError) as err:
        raise SourceError(f"cannot open the source: {err}") from err
    try:
        with db.connect() as conn:
            if db.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
            else:
                deadline = time.monotonic() + timeout_s
                raw = conn.connection.driver_connection
                # SQLite has no statement timeout: a progress handler aborts the statement past the deadline.
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)  # type: ignore[union-attr]
                conn.exec_driver_sql("PRAGMA query_only = ON")
            result = conn.execute(text(query.strip().rstrip(";")))
            rows = [dict(r) for r in result.mappings().fetchmany(max_rows + 1)]
            # Leaving the block ends the (read-only) transaction without committing anything.
    except SQLAlchemyError as err:
        message = str(getattr(err, "orig", err) or err).strip().splitlines()[0]
        raise SourceError(f"the source query failed: {message}") from err
    finally:
        db.dispose()
    if len(rows) > max_rows:
        raise SourceError(f"the source query returned more than {max_rows} rows; narrow it")
    return rows
