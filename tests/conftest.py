"""Shared fixtures: settings, a migrated engine per test (SQLite, or PostgreSQL when marked), a clock, the app."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import Actor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
POSTGRES_URL = os.environ.get("AUDITLOOP_TEST_POSTGRES_URL")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> dt.datetime:
        self.now += dt.timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC))


def _postgres_database() -> str:
    """A fresh database on the test server for one test."""
    import sqlalchemy as sa

    name = f"auditloop_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return (POSTGRES_URL or "").rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_URL or "", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite in a temp folder, or a fresh PostgreSQL database for tests marked `postgres` (or given "postgres")."""
    wanted = getattr(request, "param", None)
    if wanted == "postgres" or (wanted is None and request.node.get_closest_marker("postgres")):
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests skipped: set AUDITLOOP_TEST_POSTGRES_URL (make test does when it finds one)")
        url = _postgres_database()
        yield url
        _drop_postgres_database(url)
    else:
        yield "sqlite:///" + str(tmp_path / "auditloop.db")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        scheduler_enabled=False,
        documents_dir=str(tmp_path / "documents"),
    )


@pytest.fixture
def engine(settings: Settings, clock: FakeClock) -> Iterator[Engine]:
    eng = build_engine(settings, clock=clock)
    eng.create_schema()
    yield eng
    eng.dispose()


@pytest.fixture
def admin() -> Actor:
    return Actor("root", frozenset({"admin"}))


@pytest.fixture
def clerk() -> Actor:
    return Actor("alice", frozenset({"clerk"}))


@pytest.fixture
def manager() -> Actor:
    return Actor("bob", frozenset({"manager"}))


# Integration modules run on both databases: `pytestmark = BOTH_DATABASES`.
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
