"""Alembic: one head, and `upgrade head` on an empty database gives exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import cli
from engine.bootstrap import build_engine
from engine.config import Settings
from engine.persistence.base import Base


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(cli.MIGRATIONS_DIR))
    return config


def test_single_head():
    assert len(ScriptDirectory.from_config(_config()).get_heads()) == 1


def test_upgrade_head_matches_models(database_url):
    engine = build_engine(Settings(database_url=database_url, scheduler_enabled=False))
    cli.upgrade_database(engine)
    with engine.db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
