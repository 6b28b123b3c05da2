"""Anomaly intake: take a batch of anomalies under a topic, then work it chunk by chunk into records, warnings and
cases (white list, deduplication, thresholds and the topic's dispatch rule applied to every item)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.domain import anomalies as rules
from engine.domain.errors import (
    ConflictError,
    EngineError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SourceError,
    ValidationError,
)
from engine.domain.units import subtree
from engine.domain.views import Actor, AnomalyBatchView, Page, RejectionView
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.secret_box import SecretBox
from engine.persistence.sql_sources import fetch_rows
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history
from engine.services.cases import RAISING_ROLES, NewCase, open_cases

CLOSED_CASE_STATUSES = ("closed", "whitelisted", "cancelled")
DEFAULT_LEASE_S = 120.0
INLINE_ITEMS = 1_000  # batches up to this size are worked in the request that sent them
SCHEDULER = "scheduler"
SOURCE_TIMEOUT_S = 60.0


def submit_batch(
    uow: UnitOfWork,
    *,
    topic_code: str,
    items: Any,
    source: str,
    actor: Actor,
    now: dt.datetime,
    owner: str | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> AnomalyBatchView:
    """Store a batch's rows as sent (checked in shape and size only) to be worked in chunks; `owner` leases it at
    once to the caller that will work it (in-process for small batches), otherwise the scheduler picks it up."""
    if not actor.roles & RAISING_ROLES:
        raise PermissionDeniedError("only auditors, dispatchers, supervisors and admins may send anomalies")
    if source not in rules.SOURCES:
        raise ValidationError({"source": [f"one of {', '.join(rules.SOURCES)}"]})
    if not isinstance(items, list):
        raise ValidationError({"items": ["a list of anomaly items"]})
    if len(items) > rules.MAX_ITEMS:
        raise PayloadTooLargeError(
            f"{len(items)} items is more than {rules.MAX_ITEMS} per batch; split them into several batches",
            {"fields": {"items": [f"at most {rules.MAX_ITEMS} items per batch"]}},
        )
    if not items:
        raise ValidationError({"items": ["the batch has no items"]})
    staged = [json.dumps(item, ensure_ascii=False, default=str) for item in items]
    with uow as repos:
        batch = _store_batch(repos, topic_code=topic_code, staged=staged, source=source, by=actor.username, now=now)
        if owner is not None:
            batch.lease_owner, batch.lease_until = owner, now + dt.timedelta(seconds=lease_s)
        return batch_view(batch)


def _store_batch(
    repos: Repositories, *, topic_code: str, staged: list[str], source: str, by: str, now: dt.datetime
) -> m.AnomalyBatch:
    """Insert a batch and its rows (as JSON text) in the caller's transaction; refused unless the topic is active."""
    topic = _active_topic(repos, topic_code)
    batch = m.AnomalyBatch(
        topic_code=topic_code,
        source=source,
        status="pending",
        submitted_by=by,
        submitted_at=now,
        next_row=1,
        received=len(staged),
        rejected=0,
        unchanged=0,
        recorded=0,
        warned=0,
        skipped=0,
        merged=0,
        raised=0,
    )
    repos.add(batch)
    repos.flush()
    repos.stage_rows(batch.id, staged)
    history.record(
        repos,
        kind="anomaly_batch_received",
        at=now,
        actor=by,
        instance_id=topic.instance_id,
        message=f"{topic_code}: batch {batch.id} with {len(staged)} item(s) from {source}",
        data={"batch": batch.id, "source": source, "received": len(staged)},
    )
    return batch


def _active_topic(repos: Repositories, code: str) -> m.Topic:
    active = repos.active_topics(code)
    if not active:
        known = repos.topic_versions(code)
        why = f"topic {code} is not active (it is {known[-1].status})" if known else f"no topic {code}"
        raise ValidationError({"topic": [why]})
    return max(active, key=lambda t: t.version)


def claim_batches(uow: UnitOfWork, *, now: dt.datetime, owner: str, lease_s: float, limit: int = 5) -> list[int]:
    """Lease unfinished batches nobody is working on (or whose worker stopped) for `owner`."""
    with uow as repos:
        return repos.claim_anomaly_batches(now=now, owner=owner, lease_s=lease_s, limit=limit)


def process_batch_chunk(
    uow: UnitOfWork,
    *,
    batch_id: int,
    owner: str,
    now: dt.datetime,
    chunk_size: int = rules.CHUNK_ITEMS,
    lease_s: float = DEFAULT_LEASE_S,
) -> AnomalyBatchView:
    """Work the next chunk of a leased batch in one transaction: a crash loses the chunk, never half of it."""
    with uow as repos:
        batch = repos.anomaly_batch(batch_id, for_update=True)
        if batch is None:
            raise NotFoundError(f"no anomaly batch {batch_id}")
        if batch.status in ("done", "failed"):
            return batch_view(batch)
        if batch.lease_owner not in (None, owner) and batch.lease_until is not None and batch.lease_until > now:
            raise ConflictError(f"anomaly batch {batch_id} is being worked by {batch.lease_owner}")
        batch.lease_owner, batch.lease_until = owner, now + dt.timedelta(seconds=lease_s)
        if batch.status == "pending":
            batch.status, batch.started_at = "processing", now
        topics = repos.active_topics(batch.topic_code)
        if not topics:
            batch.status, batch.finished_at, batch.lease_owner, batch.lease_until = "failed", now, None, None
            batch.error = f"topic {batch.topic_code} is no longer active"
            return batch_view(batch)
        rows = repos.staged_rows(batch.id, batch.next_row, chunk_size)
        if rows:
            _work(repos, batch, topics[-1], rows, now)
            batch.next_row = rows[-1][0] + 1
            repos.drop_staged_rows(batch.id, batch.next_row)
        if batch.next_row > batch.received or not rows:
            _finish(repos, batch, topics[-1], now)
        return batch_view(batch)


def work_batch(
    new_uow: Callable[[], UnitOfWork],
    *,
    batch_id: int,
    owner: str,
    clock: Callable[[], dt.datetime],
    budget_s: float | None = None,
    chunk_size: int = rules.CHUNK_ITEMS,
    lease_s: float = DEFAULT_LEASE_S,
) -> AnomalyBatchView:
    """Work a leased batch chunk after chunk (each its own transaction) until it is finished or the time budget
    is spent; the lease is renewed with every chunk, so an unfinished batch stays with its worker."""
    started = time.monotonic()
    while True:
        try:
            view = process_batch_chunk(
                new_uow(), batch_id=batch_id, owner=owner, now=clock(), chunk_size=chunk_size, lease_s=lease_s
            )
        except ConflictError:
            # Another batch took in the same external ids at the same moment: the chunk rolled back, and the
            # scheduler redoes it (those ids are then unchanged). The batch itself is safe, so no error here.
            release_batch(new_uow(), batch_id=batch_id, owner=owner)
            with new_uow() as repos:
                batch = repos.anomaly_batch(batch_id)
                assert batch is not None
                return batch_view(batch)
        if view.status in ("done", "failed"):
            return view
        if budget_s is not None and time.monotonic() - started >= budget_s:
            return view


def release_batch(uow: UnitOfWork, *, batch_id: int, owner: str) -> None:
    """Give back the lease of a batch left unfinished, so any worker may go on with it at once."""
    with uow as repos:
        batch = repos.anomaly_batch(batch_id, for_update=True)
        if batch is not None and batch.lease_owner == owner:
            batch.lease_owner, batch.lease_until = None, None


def get_batch(uow: UnitOfWork, *, batch_id: int, actor: Actor, rejections_limit: int = 1000) -> AnomalyBatchView:
    """A batch with its report and (up to `rejections_limit` of) its refused rows."""
    if not actor.roles & RAISING_ROLES:
        raise PermissionDeniedError("only auditors, dispatchers, supervisors and admins see anomaly batches")
    with uow as repos:
        batch = repos.anomaly_batch(batch_id)
        if batch is None:
            raise NotFoundError(f"no anomaly batch {batch_id}")
        refused = queries.anomaly_rejections(repos.session, batch_id, limit=rejections_limit)
        return batch_view(
            batch,
            rejections=tuple(RejectionView(r.row_no, r.external_id, json.loads(r.problems_json)) for r in refused),
        )


def list_batches(
    uow: UnitOfWork, *, actor: Actor, topic_code: str | None = None, limit: int = 50, offset: int = 0
) -> Page:
    """Batches, newest first (of one topic when given)."""
    if not actor.roles & RAISING_ROLES:
        raise PermissionDeniedError("only auditors, dispatchers, supervisors and admins see anomaly batches")
    with uow as repos:
        rows, total = queries.anomaly_batches(repos.session, topic_code=topic_code, limit=limit, offset=offset)
        return Page(tuple(batch_view(b) for b in rows), total, limit, offset)


def preview_items(
    uow: UnitOfWork, *, topic_code: str, items: list[Any], actor: Actor, now: dt.datetime
) -> list[rules.Item | rules.Rejection]:
    """Check rows as processing would (fields, units, thresholds) without storing anything: an upload's preview."""
    if not actor.roles & RAISING_ROLES:
        raise PermissionDeniedError("only auditors, dispatchers, supervisors and admins may send anomalies")
    with uow as repos:
        _active_topic(repos, topic_code)
        setting = _Setting.of(repos.topic_intake(topic_code))
        units = _allowed_units(repos, actor.username, setting)
        return [
            rules.validate_item(raw, row_no=n, now=now, units=units, thresholds=setting.thresholds)
            for n, raw in enumerate(items, start=1)
        ]


# -- working a chunk -------------------------------------------------------------------------------------------


@dataclass
class _Setting:
    """A topic's intake settings as the rules use them (defaults when the topic has none)."""

    thresholds: rules.Thresholds = field(default_factory=rules.Thresholds)
    risk_level: int = 3
    unit_map: dict[str, str] = field(default_factory=dict)
    assign_handler: bool = False
    start_at_handle: bool = False

    @classmethod
    def of(cls, row: m.TopicIntake | None) -> _Setting:
        if row is None:
            return cls()
        return cls(
            rules.Thresholds(row.warn_at, row.raise_at),
            row.risk_level,
            json.loads(row.unit_map_json),
            row.assign_handler,
            row.start_at_handle,
        )


def _allowed_units(repos: Repositories, username: str, setting: _Setting) -> set[str]:
    """Unit codes an item may name: known units (and mapped codes) within the sender's units."""
    known = repos.unit_codes()
    user = repos.user_by_name(username)
    if user is not None and user.unit_code and "admin" not in repos.user_roles(user.id):
        visible = subtree(repos.unit_parents(), user.unit_code)
        known &= visible
        mapped = {code for code, unit in setting.unit_map.items() if unit in visible}
    else:
        mapped = set(setting.unit_map)
    return known | mapped


def _work(
    repos: Repositories, batch: m.AnomalyBatch, topic: m.Topic, rows: list[tuple[int, str]], now: dt.datetime
) -> None:
    setting = _Setting.of(repos.topic_intake(batch.topic_code))
    units = _allowed_units(repos, batch.submitted_by, setting)
    valid: list[rules.Item] = []
    refused: list[dict[str, object]] = []
    for row_no, raw in rows:
        checked = rules.validate_item(
            json.loads(raw), row_no=row_no, now=now, units=units, thresholds=setting.thresholds
        )
        if isinstance(checked, rules.Rejection):
            refused.append(
                {
                    "batch_id": batch.id,
                    "row_no": row_no,
                    "external_id": checked.external_id[:100] if checked.external_id else None,
                    "problems_json": json.dumps(checked.problems, ensure_ascii=False),
                }
            )
        else:
            valid.append(checked)
    repos.add_rejections(refused)
    batch.rejected += len(refused)
    if not valid:
        return
    code = batch.topic_code
    known = repos.known_external_ids(code, sorted({i.external_id for i in valid}))
    fresh: list[rules.Item] = []
    for item in valid:
        if item.external_id in known:
            batch.unchanged += 1  # sent before (or twice in this batch): idempotent
        else:
            known.add(item.external_id)
            fresh.append(item)
    targets = sorted({i.target for i in fresh})
    frozen = repos.frozen_targets(code, targets, now) if targets else {}
    levels = {i.row_no: rules.level(i.value, setting.thresholds) for i in fresh}
    raising = sorted({i.target for i in fresh if levels[i.row_no] == "raise" and i.target not in frozen})
    open_cases = repos.open_cases_by_target(code, raising, CLOSED_CASE_STATUSES) if raising else {}
    to_raise: dict[str, rules.Item] = {}
    for item in fresh:
        if item.target not in frozen and levels[item.row_no] == "raise" and item.target not in open_cases:
            to_raise.setdefault(item.target, item)  # the first item of a target raises, later ones merge into it
    open_cases.update(_raise_cases(repos, batch, topic, setting, list(to_raise.values()), now))
    anomalies: list[dict[str, object]] = []
    warnings: list[tuple[rules.Item, str]] = []
    merged: dict[int, list[str]] = {}
    for item in fresh:
        unit = setting.unit_map.get(item.unit, item.unit)
        case_id: int | None = None
        reason = ""
        if item.target in frozen:
            outcome, reason = "skipped", f"white-listed until {frozen[item.target].date().isoformat()}"
        elif levels[item.row_no] == "record":
            outcome = "recorded"
        elif levels[item.row_no] == "warn":
            outcome = "warned"
            warnings.append((item, unit))
        elif to_raise.get(item.target) is item:
            outcome, case_id = "raised", open_cases[item.target]
        else:
            outcome, case_id = "merged", open_cases[item.target]
            merged.setdefault(case_id, []).append(item.external_id)
        setattr(batch, outcome, getattr(batch, outcome) + 1)
        anomalies.append(
            {
                "topic_code": code,
                "external_id": item.external_id,
                "batch_id": batch.id,
                "row_no": item.row_no,
                "target": item.target,
                "unit_code": unit,
                "value": item.value,
                "observed_at": item.observed_at,
                "description": item.description,
                "data_json": json.dumps(item.data, ensure_ascii=False, default=str) if item.data else None,
                "outcome": outcome,
                "case_id": case_id,
                "reason": reason,
                "created_at": now,
            }
        )
    repos.add_anomalies(anomalies)
    _warn(repos, batch, warnings, now)
    _note_merges(repos, batch, merged, now)


def _raise_cases(
    repos: Repositories,
    batch: m.AnomalyBatch,
    topic: m.Topic,
    setting: _Setting,
    items: list[rules.Item],
    now: dt.datetime,
) -> dict[str, int]:
    """One case per item (one target each), numbers reserved together; returns target -> case id."""
    if not items:
        return {}
    units = sorted({setting.unit_map.get(i.unit, i.unit) for i in items})
    handlers = repos.handlers_of_units(units) if setting.assign_handler and setting.start_at_handle else {}
    load = repos.open_task_counts(sorted({h for hs in handlers.values() for h in hs})) if handlers else {}
    first = repos.reserve_numbers("JC", now.year, len(items))
    wanted: list[NewCase] = []
    for offset, item in enumerate(items):
        unit = setting.unit_map.get(item.unit, item.unit)
        handler = None
        if handlers.get(unit):
            # Least open work first; ties go to the first by name so the rule is predictable.
            handler = min(handlers[unit], key=lambda h: (load.get(h, 0), h))
            load[handler] = load.get(handler, 0) + 1
        wanted.append(
            NewCase(
                case_no=f"JC-{now.year}-{first + offset:06d}",
                target=item.target,
                anomaly=item.description,
                risk_level=setting.risk_level,
                unit_code=unit,
                kind="online",
                source=f"anomaly {item.external_id} (batch {batch.id}, {batch.source})"[:200],
                handler=handler,
                is_dispatched=setting.start_at_handle,
            )
        )
    opened = open_cases(repos, cases=wanted, topic=topic, created_by=batch.submitted_by, now=now)
    raised = {case.target: case.id for case in opened}
    return raised


def _warn(repos: Repositories, batch: m.AnomalyBatch, warnings: list[tuple[rules.Item, str]], now: dt.datetime) -> None:
    """A reminder to the head of the item's unit (or the nearest one above); once per topic, target and day."""
    if not warnings:
        return
    parents = dict(repos.unit_parents())
    heads = repos.unit_heads()
    rows: list[dict[str, object]] = []
    for item, unit in warnings:
        code: str | None = unit
        while code is not None and code not in heads:
            code = parents.get(code)
        head = heads.get(code) if code is not None else None
        if head is None:
            continue
        rows.append(
            {
                "category": "anomaly_warning",
                "recipient": head,
                "subject_type": "anomaly",
                "subject_id": f"{batch.topic_code}:{item.target}"[:64],
                "dedupe_key": f"anomaly:{batch.topic_code}:{item.target}:{item.observed_at.date().isoformat()}"[:200],
                "title": f"异常预警 {batch.topic_code} · {item.target} ({unit}): {item.description}"[:500],
                "body": f"value {item.value:g}" if item.value is not None else "",
                "created_at": now,
            }
        )
    repos.add_reminders(rows)


def _note_merges(repos: Repositories, batch: m.AnomalyBatch, merged: dict[int, list[str]], now: dt.datetime) -> None:
    """One history event per case and chunk naming the occurrences attached to it (one insert for them all)."""
    if not merged:
        return
    instances = repos.case_instances(sorted(merged))
    history.record_many(
        repos,
        [
            {
                "kind": "anomalies_merged",
                "instance_id": instances.get(case_id),
                "message": f"{len(external_ids)} further occurrence(s) from batch {batch.id}",
                "data": {"batch": batch.id, "external_ids": external_ids[:100], "count": len(external_ids)},
            }
            for case_id, external_ids in merged.items()
        ],
        at=now,
        actor=batch.submitted_by,
    )


def _finish(repos: Repositories, batch: m.AnomalyBatch, topic: m.Topic, now: dt.datetime) -> None:
    batch.status, batch.finished_at, batch.lease_owner, batch.lease_until = "done", now, None, None
    report = _report(batch)
    history.record(
        repos,
        kind="anomaly_batch_processed",
        at=now,
        actor=batch.submitted_by,
        instance_id=topic.instance_id,
        message=f"{batch.topic_code}: batch {batch.id} " + ", ".join(f"{k} {v}" for k, v in report.items()),
        data={"batch": batch.id, **report},
    )


def _report(batch: m.AnomalyBatch) -> dict[str, int]:
    return {
        "received": batch.received,
        "rejected": batch.rejected,
        "unchanged": batch.unchanged,
        "recorded": batch.recorded,
        "warned": batch.warned,
        "skipped": batch.skipped,
        "merged": batch.merged,
        "raised": batch.raised,
    }


def batch_view(b: m.AnomalyBatch, *, rejections: tuple[RejectionView, ...] = ()) -> AnomalyBatchView:
    return AnomalyBatchView(
        id=b.id,
        topic_code=b.topic_code,
        source=b.source,
        status=b.status,
        submitted_by=b.submitted_by,
        submitted_at=b.submitted_at,
        started_at=b.started_at,
        finished_at=b.finished_at,
        received=b.received,
        processed=min(b.next_row - 1, b.received),
        rejected=b.rejected,
        unchanged=b.unchanged,
        recorded=b.recorded,
        warned=b.warned,
        skipped=b.skipped,
        merged=b.merged,
        raised=b.raised,
        error=b.error,
        rejections=rejections,
    )


# -- scheduled SQL checks ----------------------------------------------------------------------------------


def due_sql_checks(uow: UnitOfWork, *, now: dt.datetime) -> list[str]:
    """Codes of topics whose SQL check is due."""
    with uow as repos:
        return repos.due_sql_checks(now)


def run_sql_check(
    new_uow: Callable[[], UnitOfWork],
    *,
    topic_code: str,
    box: SecretBox,
    now: dt.datetime,
    timeout_s: float = SOURCE_TIMEOUT_S,
) -> AnomalyBatchView | None:
    """Run a topic's SQL check and store its rows as a batch (source "sql"); a failure is recorded and the topic
    owner reminded, and the next check is scheduled either way. Returns the batch, or None when it failed."""
    with new_uow() as repos:
        row = repos.topic_intake(topic_code)
        if row is None or row.sql_url_secret is None:
            return None
        sealed, query, every = row.sql_url_secret, row.sql_query, row.check_every_hours
    try:
        rows = fetch_rows(box.open(sealed), query, timeout_s=timeout_s, max_rows=rules.MAX_ITEMS)
        staged = [json.dumps(r, ensure_ascii=False, default=str) for r in rows]
    except SourceError as err:
        _check_failed(new_uow(), topic_code=topic_code, message=err.message, every=every, now=now)
        return None
    try:
        with new_uow() as repos:
            row = repos.topic_intake(topic_code)
            assert row is not None
            row.last_check_at, row.last_check_error = now, None
            row.next_check_at = now + dt.timedelta(hours=every)
            if not staged:
                return None
            batch = _store_batch(repos, topic_code=topic_code, staged=staged, source="sql", by=SCHEDULER, now=now)
            return batch_view(batch)
    except EngineError as err:  # e.g. the topic is no longer active
        _check_failed(new_uow(), topic_code=topic_code, message=err.message, every=every, now=now)
        return None


def _check_failed(uow: UnitOfWork, *, topic_code: str, message: str, every: float, now: dt.datetime) -> None:
    with uow as repos:
        row = repos.topic_intake(topic_code)
        if row is not None:
            row.last_check_at, row.last_check_error = now, message[:2000]
            row.next_check_at = now + dt.timedelta(hours=every)
        versions = repos.topic_versions(topic_code)
        owner = versions[-1].owner if versions else None
        if owner:
            repos.add_reminders(
                [
                    {
                        "category": "anomaly_warning",
                        "recipient": owner,
                        "subject_type": "topic",
                        "subject_id": topic_code,
                        "dedupe_key": f"sql-check:{topic_code}:{now.date().isoformat()}",
                        "title": f"异常接入失败 The SQL check of {topic_code} failed: {message}"[:500],
                        "body": message,
                        "created_at": now,
                    }
                ]
            )
        history.record(
            repos,
            kind="sql_check_failed",
            at=now,
            actor=SCHEDULER,
            instance_id=versions[-1].instance_id if versions else None,
            message=f"{topic_code}: {message}"[:2000],
        )
