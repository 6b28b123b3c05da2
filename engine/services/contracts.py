"""Supply contracts: record them, list them by expiry state, and the daily sweep that reminds, warns and renews."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from engine.domain.access import may_see_unit
from engine.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from engine.domain.reminders import CONTRACT_REMINDER_DAYS, contract_state
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history

LOCAL_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")  # expiry dates are local calendar days
STATES = ("ok", "reminder", "warning", "expired")
RECORDING_ROLES = frozenset({"admin", "handler", "supervisor"})


@dataclass(frozen=True)
class ContractView:
    id: int
    number: str
    customer: str
    unit: str
    owner: str | None
    signed_on: dt.date
    expires_on: dt.date
    auto_renew: bool
    term_months: int
    state: str


def _view(c: m.Contract, today: dt.date) -> ContractView:
    return ContractView(
        c.id,
        c.number,
        c.customer,
        c.unit_code,
        c.owner,
        c.signed_on,
        c.expires_on,
        c.auto_renew,
        c.term_months,
        contract_state(c.expires_on, today),
    )


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(LOCAL_ZONE).date()


def add_contract(
    uow: UnitOfWork,
    *,
    number: str,
    customer: str,
    unit_code: str,
    signed_on: dt.date,
    expires_on: dt.date,
    actor: Actor,
    now: dt.datetime,
    auto_renew: bool = False,
    term_months: int = 12,
    owner: str | None = None,
) -> ContractView:
    """Record a contract confirmed at signing."""
    if not actor.roles & RECORDING_ROLES:
        raise PermissionDeniedError("only handlers, supervisors and admins record contracts")
    problems: dict[str, list[str]] = {}
    if not number or len(number) > 64:
        problems["number"] = ["the contract number (at most 64 characters)"]
    if not customer:
        problems["customer"] = ["the customer's name or number"]
    if expires_on <= signed_on:
        problems["expires_on"] = ["must be after the signing date"]
    if not 1 <= term_months <= 120:
        problems["term_months"] = ["the renewal term in months, 1 to 120"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        if repos.unit(unit_code) is None:
            raise ValidationError({"unit": [f"no unit {unit_code}"]})
        if not may_see_unit(actor, unit_code):
            raise PermissionDeniedError(f"unit {unit_code} is outside your units")
        if repos.contract_by_number(number) is not None:
            raise ConflictError(f"contract {number} is already recorded", {"fields": {"number": ["already recorded"]}})
        row = m.Contract(
            number=number,
            customer=customer,
            unit_code=unit_code,
            owner=owner or actor.username,
            signed_on=signed_on,
            expires_on=expires_on,
            auto_renew=auto_renew,
            term_months=term_months,
            created_at=now,
            updated_at=now,
        )
        repos.add(row)
        repos.flush()
        return _view(row, local_today(now))


def list_contracts(uow: UnitOfWork, *, actor: Actor, now: dt.datetime, state: str | None = None) -> list[ContractView]:
    """Contracts in the actor's units, soonest expiry first, optionally in one state."""
    if state is not None and state not in STATES:
        raise ValidationError({"state": [f"one of {', '.join(STATES)}"]})
    today = local_today(now)
    with uow as repos:
        rows = queries.contracts_of(repos.session, units=actor.units if not actor.is_admin else None)
        views = [_view(c, today) for c in rows]
    return [v for v in views if state is None or v.state == state]


def sweep_contracts(uow: UnitOfWork, *, now: dt.datetime) -> dict[str, int]:
    """Roll auto-renewing contracts forward, then notify each threshold once (reminder, warning, expired)."""
    today = local_today(now)
    done = {"renewed": 0, "notified": 0}
    with uow as repos:
        if not repos.try_global_lock("contract-sweep"):
            return done  # another scheduler is sweeping right now
        reminders: list[dict[str, Any]] = []
        for contract in repos.contracts_expiring_by(today + dt.timedelta(days=CONTRACT_REMINDER_DAYS)):
            if contract.auto_renew and contract.expires_on < today:
                _renew(repos, contract, today, now)
                done["renewed"] += 1
            state = contract_state(contract.expires_on, today)
            if state == "ok":
                continue
            recipient = contract.owner or repos.unit_head(contract.unit_code)
            if recipient is None:
                continue
            reminders.append(
                {
                    "category": "contract_warning",
                    "recipient": recipient,
                    "subject_type": "contract",
                    "subject_id": str(contract.id),
                    "dedupe_key": f"contract:{contract.id}:{contract.expires_on}:{state}",
                    "title": _title(contract, state, today),
                    "body": contract.customer,
                    "created_at": now,
                }
            )
        done["notified"] = repos.add_reminders(reminders)
    return done


def _renew(repos: Repositories, contract: m.Contract, today: dt.date, now: dt.datetime) -> None:
    before = contract.expires_on
    while contract.expires_on < today:
        contract.expires_on = _add_months(contract.expires_on, contract.term_months)
    contract.updated_at = now
    history.record(
        repos,
        kind="contract_renewed",
        at=now,
        actor="scheduler",
        message=contract.number,
        data={"from": before.isoformat(), "to": contract.expires_on.isoformat()},
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def _title(contract: m.Contract, state: str, today: dt.date) -> str:
    left = (contract.expires_on - today).days
    if state == "expired":
        return f"合同已到期 Contract expired: {contract.number} ({contract.customer})"
    label = "合同到期预警 Contract expires" if state == "warning" else "合同到期提醒 Contract expires"
    return f"{label} in {left} days: {contract.number} ({contract.customer})"
