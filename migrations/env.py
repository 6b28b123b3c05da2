"""Alembic environment: migrates the database named by the config (set from AUDITLOOP_DATABASE_URL)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

from engine.persistence import models  # noqa: F401 - registers the tables on Base.metadata
from engine.persistence.base import Base

config = context.config
url = (
    os.environ.get("AUDITLOOP_DATABASE_URL")
    if config.get_main_option("sqlalchemy.url", "").startswith("sqlite:///instance")
    else None
)
if url:
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=connection.dialect.name == "sqlite"
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
