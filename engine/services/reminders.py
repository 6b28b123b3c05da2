"""Reminders: a person's open notices, acknowledging them, and urging (催办) late work by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.connectors.mail import Mail, Mailer
from engine.domain.access import may_see_unit
from engine.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.reminders import CATEGORIES
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history

URGING_ROLES = frozenset({"admin", "supervisor"})


@dataclass(frozen=True)
class ReminderView:
    id: int
    category: str
    recipient: str
    subject_type: str
    subject_id: str
    title: str
    body: str
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None


def _view(r: m.Reminder) -> ReminderView:
    return ReminderView(
        r.id,
        r.category,
        r.recipient,
        r.subject_type,
        r.subject_id,
        r.title,
        r.body,
        r.created_at,
        r.acknowledged_at,
        r.resolved_at,
    )


@dataclass(frozen=True)
class SupervisionOrderView:
    id: int
    case_id: int
    round_no: int | None
    unit: str
    addressed_to: str | None
    reason: str
    is_open: bool
    created_at: dt.datetime
    closed_at: dt.datetime | None
    case_no: str | None = None


def raise_supervision_order(
    uow: UnitOfWork, *, case_id: int, reason: str, actor: Actor, now: dt.datetime
) -> SupervisionOrderView:
    """Supervisors: a supervision order (督办单) on a case to the head of its unit, tracked until closed."""
    reason = _order_reason(actor, reason)
    with uow as repos:
        case = repos.case(case_id)
        if case is None or not may_see_unit(actor, case.unit_code):
            raise NotFoundError(f"no case {case_id}")
        return _order_view(_raise_order(repos, case, reason, actor, now), case.case_no)


def raise_supervision_orders(
    uow: UnitOfWork,
    *,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    task_ids: list[str] | None = None,
    case_ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Supervisors, in bulk: one order per case of the selected tasks (or cases), each item reported raised or
    refused with why (not in your units, no case, case finished, an order already open)."""
    reason = _order_reason(actor, reason)
    if not task_ids and not case_ids:
        raise ValidationError({"task_ids": ["give task ids or case ids to raise supervision orders on"]})
    report: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = [{"task_id": t} for t in task_ids or []] + [{"case_id": c} for c in case_ids or []]
    with uow as repos:
        raised: dict[int, int] = {}
        for item in items:
            if "task_id" in item:
                task = repos.human_task(item["task_id"])
                if task is None or not may_see_unit(actor, task.unit_code):
                    report.append({**item, "result": "refused", "reason": "no such task in your units"})
                    continue
                case = repos.case_by_instance(task.instance_id)
                if case is None:
                    report.append({**item, "result": "refused", "reason": "the task belongs to no audit case"})
                    continue
            else:
                case = repos.case(item["case_id"])
            if case is None or not may_see_unit(actor, case.unit_code):
                report.append({**item, "result": "refused", "reason": "no such case in your units"})
                continue
            item = {**item, "case_id": case.id, "case_no": case.case_no}
            if case.id in raised:
                report.append({**item, "result": "refused", "reason": f"order {raised[case.id]} raised above"})
                continue
            if case.status in FINISHED_CASES:
                report.append({**item, "result": "refused", "reason": f"the case is {case.status}"})
                continue
            already = repos.open_supervision_orders(case.id)
            if already:
                report.append({**item, "result": "refused", "reason": f"order {already[0].id} is still open"})
                continue
            order = _raise_order(repos, case, reason, actor, now)
            raised[case.id] = order.id
            report.append({**item, "result": "raised", "order_id": order.id, "addressed_to": order.addressed_to})
    return report


FINISHED_CASES = frozenset({"closed", "whitelisted", "cancelled"})


def _order_reason(actor: Actor, reason: str) -> str:
    if not actor.roles & URGING_ROLES:
        raise PermissionDeniedError("only supervisors and admins raise supervision orders")
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["say what must be done"]})
    return reason.strip()


def _raise_order(repos: Repositories, case: m.Case, reason: str, actor: Actor, now: dt.datetime) -> m.SupervisionOrder:
    head = repos.unit_head(case.unit_code)
    order = m.SupervisionOrder(
        case_id=case.id,
        round_no=repos.last_round_no(case.id) or None,
        unit_code=case.unit_code,
        addressed_to=head,
        reason=reason,
        is_open=True,
        created_at=now,
    )
    repos.add(order)
    repos.flush()
    if head:
        repos.add_reminders(
            [
                {
                    "category": "time_limit_warning",
                    "recipient": head,
                    "subject_type": "case",
                    "subject_id": str(case.id),
                    "dedupe_key": f"supervision:{order.id}",
                    "title": f"督办单 Supervision order on {case.case_no}: {order.reason}",
                    "body": "",
                    "created_at": now,
                }
            ]
        )
    history.record(
        repos,
        kind="supervision_raised",
        at=now,
        actor=actor.username,
        instance_id=case.instance_id,
        message=order.reason,
        data={"order": order.id, "to": head},
    )
    return order


def close_supervision_order(uow: UnitOfWork, *, order_id: int, actor: Actor, now: dt.datetime) -> SupervisionOrderView:
    """The unit head (or a supervisor/admin) closes an order once it is dealt with."""
    with uow as repos:
        order = repos.supervision_order(order_id)
        if order is None or not may_see_unit(actor, order.unit_code):
            raise NotFoundError(f"no supervision order {order_id}")
        if not (actor.roles & URGING_ROLES or actor.username == order.addressed_to):
            raise PermissionDeniedError("only its addressee, supervisors and admins close a supervision order")
        if order.is_open:
            order.is_open, order.closed_at = False, now
            repos.resolve_reminders("case", str(order.case_id), now)
        return _order_view(order)


def list_supervision_orders(uow: UnitOfWork, *, actor: Actor, only_open: bool = True) -> list[SupervisionOrderView]:
    with uow as repos:
        rows = queries.supervision_orders(
            repos.session, units=None if actor.is_admin else actor.units, only_open=only_open
        )
        return [_order_view(o, case_no) for o, case_no in rows]


def _order_view(o: m.SupervisionOrder, case_no: str | None = None) -> SupervisionOrderView:
    return SupervisionOrderView(
        o.id,
        o.case_id,
        o.round_no,
        o.unit_code,
        o.addressed_to,
        o.reason,
        o.is_open,
        o.created_at,
        o.closed_at,
        case_no,
    )


def list_reminders(
    uow: UnitOfWork, *, actor: Actor, include_done: bool = False, limit: int = 100
) -> list[ReminderView]:
    """The actor's reminders, newest first; by default only those neither acknowledged nor resolved."""
    with uow as repos:
        return [_view(r) for r in queries.reminders_of(repos.session, actor.username, include_done, limit)]


def reminder_counts(uow: UnitOfWork, *, actor: Actor) -> dict[str, int]:
    """Open reminders per category (all six categories, zeros included)."""
    with uow as repos:
        counts = queries.reminder_counts(repos.session, actor.username)
    return {category: counts.get(category, 0) for category in CATEGORIES}


def acknowledge(uow: UnitOfWork, *, reminder_id: int, actor: Actor, now: dt.datetime) -> ReminderView:
    """The recipient has seen it; it leaves their open list."""
    with uow as repos:
        row = repos.reminder(reminder_id)
        if row is None or row.recipient != actor.username:
            raise NotFoundError(f"no reminder {reminder_id}")
        if row.acknowledged_at is None:
            row.acknowledged_at = now
        return _view(row)


def urge(
    uow: UnitOfWork,
    *,
    actor: Actor,
    now: dt.datetime,
    task_ids: list[str] | None = None,
    case_ids: list[int] | None = None,
    message: str = "",
) -> list[dict[str, Any]]:
    """Supervisors: remind whoever holds each open task (of the cases) now; at most one urge per task per hour."""
    if not actor.roles & URGING_ROLES:
        raise PermissionDeniedError("only supervisors and admins may urge")
    if not task_ids and not case_ids:
        raise ValidationError({"task_ids": ["give task ids or case ids to urge"]})
    report: list[dict[str, Any]] = []
    with uow as repos:
        targets: list[tuple[str, m.HumanTask | None]] = [(t, repos.human_task(t)) for t in task_ids or []]
        for case_id in case_ids or []:
            case = repos.case(case_id)
            if case is None or case.instance_id is None or not may_see_unit(actor, case.unit_code):
                report.append({"case_id": case_id, "result": "refused", "reason": "no such case in your units"})
                continue
            open_tasks = repos.open_human_tasks(case.instance_id)
            if not open_tasks:
                report.append({"case_id": case_id, "result": "refused", "reason": f"case is {case.status}"})
            targets += [(t.id, t) for t in open_tasks]
        hour = now.strftime("%Y%m%d%H")
        for task_id, row in targets:
            if row is None or not may_see_unit(actor, row.unit_code):
                report.append({"task_id": task_id, "result": "refused", "reason": "no such task in your units"})
                continue
            if row.state != "open":
                report.append({"task_id": task_id, "result": "refused", "reason": f"the task is {row.state}"})
                continue
            people = repos.responsible_people([row])[row.id]
            if not people and row.lane:
                # Nobody of the role in the task's unit (a station's review is the city's reviewers' work):
                # urging reaches the role in the nearest unit above, who may work it.
                people = repos.role_members_above(row.lane, row.unit_code)
            if not people:
                report.append({"task_id": task_id, "result": "refused", "reason": "nobody holds the task to remind"})
                continue
            title = f"催办 Urged by {actor.username}: {row.business_key or row.process_key} · {row.name}"
            added = repos.add_reminders(
                [
                    {
                        "category": "time_limit_warning",
                        "recipient": p,
                        "subject_type": "task",
                        "subject_id": row.id,
                        "dedupe_key": f"task:{row.id}:urge:{hour}",
                        "title": title,
                        "body": message,
                        "created_at": now,
                    }
                    for p in people
                ]
            )
            history.record(
                repos,
                kind="urged",
                at=now,
                actor=actor.username,
                instance_id=row.instance_id,
                task_id=row.id,
                bpmn_id=row.bpmn_id,
                message=message or row.name,
                data={"recipients": people, "new_reminders": added},
            )
            report.append(
                {
                    "task_id": row.id,
                    "business_key": row.business_key,
                    "name": row.name,
                    "result": "urged" if added else "already urged this hour",
                    "recipients": people,
                }
            )
    return report


def send_digests(uow: UnitOfWork, *, mailer: Mailer, now: dt.datetime, warnings: list[str] | None = None) -> int:
    """One mail per person with the open reminders not yet mailed (each reminder is mailed once); admins also get
    the system's warnings (e.g. a year without an official holiday table). Returns the mails sent."""
    sent = 0
    with uow as repos:
        if not repos.try_global_lock("digest"):
            return 0
        pending = queries.unmailed_reminders(repos.session)
        by_person: dict[str, list[m.Reminder]] = {}
        for row in pending:
            by_person.setdefault(row.recipient, []).append(row)
        admins = {u.username for u in repos.users_in_role("admin")} if warnings else set()
        for person in sorted(set(by_person) | admins):
            address = repos.user_email(person)
            rows = by_person.get(person, [])
            lines = [f"- [{CATEGORIES[r.category][0]}] {r.title}" for r in rows]
            if person in admins:
                lines += [f"! {w}" for w in warnings or []]
            if address and lines:
                mailer.send(
                    Mail(to=address, subject=f"AuditLoop 待办提醒 {len(rows)} reminder(s)", body="\n".join(lines))
                )
                sent += 1
            for row in rows:
                row.emailed_at = now  # also when the person has no address: the digest is not retried forever
    return sent
