"""Timers: lease the due ones, then fire each in its own transaction (BPMN timers and timer start events)."""

from __future__ import annotations

import datetime as dt
import logging

from engine.bpmn import timers as start_timers
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history
from engine.services.instances import start_from_timer
from engine.services.runs import load_run, save_run

log = logging.getLogger(__name__)


def claim_due_timers(uow: UnitOfWork, *, now: dt.datetime, owner: str, lease_s: float, limit: int = 200) -> list[int]:
    """Lease due timers to `owner`; an expired lease (a dead scheduler) lets another owner take them."""
    with uow as repos:
        return [t.id for t in repos.claim_due_timers(now=now, owner=owner, lease_s=lease_s, limit=limit)]


def fire_timer(uow: UnitOfWork, *, timer_id: int, owner: str, now: dt.datetime) -> bool:
    """Fire one leased timer; False when it was already fired or is no longer ours (exactly once)."""
    with uow as repos:
        timer = repos.timer_for_update(timer_id)
        if timer is None or timer.status != "pending" or timer.lease_owner != owner:
            return False
        if timer.kind == "start":
            return _fire_start(repos, timer, now)
        return _fire_event(repos, timer, now)


def _fire_event(repos: Repositories, timer: m.Timer, now: dt.datetime) -> bool:
    instance = repos.instance(timer.instance_id or "", for_update=True)
    if instance is None or instance.status != "running":
        timer.status = "done"
        return False
    run, version = load_run(repos, instance)
    run.advance(now=now)
    save_run(repos, instance, run, version, actor="scheduler", now=now)
    if timer.status == "pending":  # still waiting (clock skew): release the lease so the next tick retries
        timer.lease_owner = timer.lease_until = None
    return True


def _fire_start(repos: Repositories, timer: m.Timer, now: dt.datetime) -> bool:
    version = repos.version_by_id(timer.definition_version_id or 0)
    timer.status, timer.fired_at = "fired", now
    if version is None:
        return False
    instance = start_from_timer(repos, version, now=now)
    history.record(
        repos,
        kind="timer_fired",
        at=now,
        instance_id=instance.id,
        bpmn_id=timer.bpmn_id,
        message=f"start timer of {version.process_key}",
    )
    following = start_timers.next_start(
        version.start_timer or "", fired_due_at=timer.due_at, repeats_left=timer.repeats_left, now=now
    )
    if following is not None:
        repos.add(
            m.Timer(
                kind="start",
                definition_version_id=version.id,
                bpmn_id=timer.bpmn_id,
                due_at=following.due_at,
                repeats_left=following.repeats_left,
                status="pending",
            )
        )
    return True
