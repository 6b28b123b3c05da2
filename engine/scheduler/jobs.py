"""Each job claims its work, makes one service call per item, logs, and goes on."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from zoneinfo import ZoneInfo

from engine.bootstrap import Engine
from engine.domain.errors import ConflictError, EngineError
from engine.domain.views import SweepReport
from engine.services import anomalies, contracts, deadlines, reminders, snapshots, timers

log = logging.getLogger(__name__)

OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
CONTRACT_SWEEP_EVERY = dt.timedelta(hours=1)  # expiry is counted in days; hourly catches the local midnight
SNAPSHOT_CHECK_EVERY = dt.timedelta(hours=1)  # the month-end snapshot is due once a month; hourly is soon enough
_last_contract_sweep: dt.datetime | None = None
_last_digest_day: dt.date | None = None
_last_snapshot_check: dt.datetime | None = None
ANOMALY_BUDGET_S = 10.0  # per tick: a 100k batch is worked over several ticks, the timers still fire between them
ANOMALY_LEASE_S = 120.0


def tick(engine: Engine, *, owner: str = OWNER, batch: int = 200) -> SweepReport:
    """One sweep: fire due timers (each in its own transaction), then refresh time states."""
    now = engine.now()
    fired = errors = 0
    timer_ids = timers.claim_due_timers(
        engine.uow(), now=now, owner=owner, lease_s=engine.settings.timer_lease_s, limit=batch
    )
    for timer_id in timer_ids:
        try:
            if timers.fire_timer(engine.uow(), timer_id=timer_id, owner=owner, now=engine.now()):
                fired += 1
        except ConflictError:
            log.info("timer %s: instance changed meanwhile; it will be retried when the lease ends", timer_id)
        except EngineError as exc:
            errors += 1
            log.warning("timer %s failed: %s", timer_id, exc)
        except Exception:
            errors += 1
            log.exception("timer %s failed unexpectedly", timer_id)
    changed = 0
    while True:  # a backlog (after downtime, a rule change) is worked off batch by batch, each committed
        result = deadlines.refresh_time_states(engine.uow(), now=engine.now())
        changed += result.moved
        if not result.has_more:
            break
    _sweep_contracts(engine)
    _send_digest(engine)
    freeze_month_end(engine)
    _run_sql_checks(engine)
    _work_anomaly_batches(engine, owner)
    return SweepReport(timers_fired=fired, time_states_changed=changed, errors=errors)


def _sweep_contracts(engine: Engine) -> None:
    global _last_contract_sweep
    now = engine.now()
    if _last_contract_sweep is not None and _last_contract_sweep <= now < _last_contract_sweep + CONTRACT_SWEEP_EVERY:
        return
    try:
        report = contracts.sweep_contracts(engine.uow(), now=now)
        _last_contract_sweep = now
        if report["renewed"] or report["notified"]:
            log.info("contracts: %s", report)
    except EngineError as exc:
        log.warning("contract sweep failed: %s", exc)


def _send_digest(engine: Engine) -> None:
    """Once a day after the digest hour (local time): each person's new reminders in one mail."""
    global _last_digest_day
    now = engine.now()
    local = now.astimezone(ZoneInfo(engine.settings.timezone))
    if local.hour < engine.settings.digest_hour or _last_digest_day == local.date():
        return
    try:
        warnings = deadlines.calendar_warnings(engine.uow(readonly=True), now=now)
        for warning in warnings:
            log.warning(warning)
        sent = reminders.send_digests(engine.uow(), mailer=engine.mailer, now=now, warnings=warnings)
        _last_digest_day = local.date()
        log.info("daily digest: %s mail(s)", sent)
    except EngineError as exc:
        log.warning("daily digest failed: %s", exc)


def freeze_month_end(engine: Engine, *, force: bool = False) -> str | None:
    """After a month ends, freeze its evaluation once (idempotent: a frozen month is left as it is); checked hourly.
    Returns the month frozen now, if any."""
    global _last_snapshot_check
    now = engine.now()
    if (
        not force
        and _last_snapshot_check is not None
        and _last_snapshot_check <= now < _last_snapshot_check + SNAPSHOT_CHECK_EVERY
    ):
        return None
    try:
        frozen = snapshots.freeze_previous_month(engine.uow(), now=now)
        _last_snapshot_check = now
    except EngineError as exc:
        log.warning("month-end KPI snapshot failed: %s", exc)
        return None
    if frozen is None:
        return None
    log.info("KPI snapshot of %s frozen: %s figures", frozen.period, frozen.figures)
    return frozen.period


def _run_sql_checks(engine: Engine) -> None:
    """Topics whose SQL check is due: each check feeds a batch; a failing source is reported, never raised."""
    try:
        due = anomalies.due_sql_checks(engine.uow(readonly=True), now=engine.now())
    except EngineError as exc:
        log.warning("SQL checks: %s", exc)
        return
    for code in due:
        try:
            batch = anomalies.run_sql_check(engine.uow, topic_code=code, box=engine.secret_box, now=engine.now())
            log.info(
                "SQL check of %s: %s", code, f"batch {batch.id} with {batch.received} rows" if batch else "no batch"
            )
        except Exception:
            log.exception("SQL check of %s failed unexpectedly", code)


def _work_anomaly_batches(engine: Engine, owner: str, budget_s: float = ANOMALY_BUDGET_S) -> None:
    """Claim unfinished anomaly batches (a stopped worker's too, once its lease ends) and work them in chunks."""
    started = time.monotonic()
    try:
        claimed = anomalies.claim_batches(engine.uow(), now=engine.now(), owner=owner, lease_s=ANOMALY_LEASE_S)
    except EngineError as exc:
        log.warning("anomaly batches: %s", exc)
        return
    for batch_id in claimed:
        left = budget_s - (time.monotonic() - started)
        try:
            if left <= 0:
                anomalies.release_batch(engine.uow(), batch_id=batch_id, owner=owner)
                continue
            view = anomalies.work_batch(
                engine.uow, batch_id=batch_id, owner=owner, clock=engine.now, budget_s=left, lease_s=ANOMALY_LEASE_S
            )
            log.info("anomaly batch %s: %s, %s of %s rows", view.id, view.status, view.processed, view.received)
        except ConflictError:
            log.info("anomaly batch %s: changed meanwhile; it is retried when its lease ends", batch_id)
        except Exception:
            log.exception("anomaly batch %s failed; it is retried when its lease ends", batch_id)
