"""Runs the tick on APScheduler; on SQLite a file lock beside the database keeps it to one process."""

from __future__ import annotations

import logging
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from filelock import FileLock, Timeout

from engine.bootstrap import Engine
from engine.scheduler import jobs

log = logging.getLogger(__name__)


class SchedulerGuard:
    """Whether this process may run the sweeps: always on PostgreSQL, the lock holder on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self._lock: FileLock | None = None
        url = engine.settings.database_url
        if engine.is_sqlite and ":memory:" not in url:
            path = Path(url.split("///", 1)[-1])
            self._lock = FileLock(str(path) + ".scheduler.lock")

    def held(self) -> bool:
        if self._lock is None:
            return True
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        log.info("this process now runs the scheduler (lock %s)", self._lock.lock_file)
        return True

    def release(self) -> None:
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()


def _guarded_tick(engine: Engine, guard: SchedulerGuard) -> None:
    if not guard.held():
        return
    try:
        report = jobs.tick(engine)
        if report.timers_fired or report.time_states_changed or report.errors:
            log.info("tick: %s", report)
    except Exception:
        log.exception("scheduler tick failed; the next tick will retry")


def start_background(engine: Engine) -> BackgroundScheduler:
    """Start the in-process scheduler of `auditloop serve`."""
    guard = SchedulerGuard(engine)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        _guarded_tick,
        "interval",
        seconds=engine.settings.scheduler_tick_s,
        args=(engine, guard),
        id="tick",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


def run_blocking(engine: Engine) -> None:
    """Run the scheduler alone in the foreground (`auditloop scheduler`)."""
    guard = SchedulerGuard(engine)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        _guarded_tick,
        "interval",
        seconds=engine.settings.scheduler_tick_s,
        args=(engine, guard),
        id="tick",
        max_instances=1,
        coalesce=True,
    )
    try:
        scheduler.start()
    finally:
        guard.release()
