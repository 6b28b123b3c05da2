"""The composition root: build_engine(settings) wires the database and hands out units of work."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.bpmn import scripting
from engine.config import Settings
from engine.connectors.mail import LogMailer, Mailer, SmtpMailer
from engine.persistence.database import create_db_engine, create_schema, create_session_factory
from engine.persistence.file_store import FileStore
from engine.persistence.secret_box import SecretBox
from engine.persistence.unit_of_work import UnitOfWork


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Engine:
    """What the web app, the CLI and the scheduler hold: settings, the database and the clock."""

    settings: Settings
    clock: Callable[[], dt.datetime] = field(default=utc_now)

    def __post_init__(self) -> None:
        scripting.set_time_limit(self.settings.script_time_limit_s)
        self.db = create_db_engine(self.settings.database_url)
        self._sessions = create_session_factory(self.db)
        self.file_store = FileStore(self.settings.documents_dir)
        self.mailer: Mailer = (
            SmtpMailer(self.settings.smtp_host, self.settings.smtp_port, self.settings.smtp_sender)
            if self.settings.smtp_host
            else LogMailer()
        )

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        """A fresh unit of work: one transaction for one service call."""
        return UnitOfWork(self._sessions, readonly=readonly)

    @functools.cached_property
    def secret_box(self) -> SecretBox:
        """Seals SQL source URLs: under AUDITLOOP_SECRET_KEY, else under a key file made beside the documents."""
        if self.settings.secret_key:
            return SecretBox(self.settings.secret_key)
        return SecretBox.from_key_file(Path(self.settings.documents_dir).parent / "source.key")

    def now(self) -> dt.datetime:
        return self.clock()

    def create_schema(self) -> None:
        """Create all tables directly (tests, benchmarks); deployments use `auditloop db upgrade`."""
        create_schema(self.db)

    @property
    def is_sqlite(self) -> bool:
        return self.db.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.db.dispose()


def build_engine(settings: Settings | None = None, *, clock: Callable[[], dt.datetime] | None = None) -> Engine:
    """Build the engine from settings (default: the AUDITLOOP_* environment)."""
    return Engine(settings or Settings.from_env(), clock=clock or utc_now)
