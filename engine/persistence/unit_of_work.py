"""The unit of work: one database transaction per service call; the only place that commits or rolls back."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.domain.errors import ConcurrentUpdateError, ConflictError
from engine.persistence.repositories import Repositories


class UnitOfWork:
    """`with uow:` opens a transaction, commits when the block succeeds, rolls back when it raises."""

    def __init__(self, session_factory: sessionmaker[Session], *, readonly: bool = False) -> None:
        self._session_factory = session_factory
        self._readonly = readonly
        self._session: Session | None = None

    @property
    def repos(self) -> Repositories:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `with uow:`")
        return Repositories(self._session)

    def __enter__(self) -> Repositories:
        if self._session is not None:
            raise RuntimeError("a unit of work is one transaction; it cannot be nested or reused")
        session = self._session_factory()
        if self._readonly:
            session.connection(execution_options={"auditloop_readonly": True})
        self._session = session
        return Repositories(session)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self._session
        assert session is not None
        try:
            if exc_type is None and not self._readonly:
                try:
                    session.commit()
                except StaleDataError as err:
                    session.rollback()
                    raise ConcurrentUpdateError("someone else changed this instance at the same time") from err
                except OperationalError as err:
                    session.rollback()
                    if _is_lock_conflict(err):
                        raise ConcurrentUpdateError("the database was busy with a conflicting change") from err
                    raise
            else:
                session.rollback()
                if isinstance(exc, StaleDataError):
                    raise ConcurrentUpdateError("someone else changed this instance at the same time") from exc
                if isinstance(exc, IntegrityError):
                    raise ConflictError("a conflicting record was saved at the same time; try again") from exc
        finally:
            session.close()


def _is_lock_conflict(err: OperationalError) -> bool:
    text = str(err.orig).lower()
    return "database is locked" in text or "could not serialize" in text or "deadlock" in text
