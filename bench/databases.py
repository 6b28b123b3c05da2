"""Fresh benchmark databases (a SQLite file under /tmp, or auditloop_bench_* on PostgreSQL) and a statement log."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("AUDITLOOP_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KINDS = ("sqlite", "postgresql")


def conninfo(url: str) -> str:
    """The libpq connection string psycopg takes for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_version() -> str | None:
    """The server version, or None when PostgreSQL is not reachable."""
    try:
        with psycopg.connect(conninfo(PG_ADMIN_URL), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except psycopg.Error:
        return None


def available_kinds() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_version() else ["sqlite"]


@contextlib.contextmanager
def fresh_database(kind: str, tag: str) -> Iterator[str]:
    """A URL to an empty database, removed afterwards (the caller disposes its engines first)."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"auditloop_bench_{tag}_"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"auditloop_bench_{re.sub(r'[^a-z0-9_]', '_', tag.lower())}_{os.getpid()}"
    admin = conninfo(PG_ADMIN_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Statement:
    sql: str
    parameters: Any
    is_many: bool


@dataclass
class StatementLog:
    """Every statement sent through the driver (before_cursor_execute) and every commit, in order."""

    entries: list[Statement | None] = field(default_factory=list)  # None marks a commit

    @property
    def statements(self) -> list[Statement]:
        return [e for e in self.entries if e is not None]

    @property
    def transactions(self) -> list[list[Statement]]:
        """Statements grouped by the commit that ended them (a trailing open group is dropped)."""
        groups: list[list[Statement]] = []
        current: list[Statement] = []
        for entry in self.entries:
            if entry is None:
                groups.append(current)
                current = []
            else:
                current.append(entry)
        return groups

    @contextlib.contextmanager
    def listening(self, engine: Engine) -> Iterator[StatementLog]:
        def on_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool) -> None:
            self.entries.append(Statement(statement, parameters, many))

        def on_commit(_conn: Any) -> None:
            self.entries.append(None)

        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine, "commit", on_commit)
        try:
            yield self
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
            event.remove(engine, "commit", on_commit)
