"""Deadlines: time-limit rules, the working-day calendar, time states that move at their thresholds, reminders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.calendar import WorkingCalendar
from engine.domain import time_limits
from engine.domain.errors import InvalidStateError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.reminders import DEFAULT_ESCALATE_AFTER, RED_REPEAT
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history

LIMIT_UNITS = ("minutes", "hours", "working_days", "working_hours")
SWEEP_BATCH = 2000


def deadline(
    repos: Repositories,
    *,
    process_key: str,
    bpmn_id: str,
    instance_id: str,
    time_limit: str | None,
    boundary_due: dt.datetime | None,
    now: dt.datetime,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(due_at, warn_at) of a task opening now: an admin rule first, then the diagram's timeLimit or boundary timer."""
    rule = repos.time_limit_rule(process_key, bpmn_id)
    if rule is not None:
        if not rule.restart_on_sendback:
            first = repos.first_task_of_step(instance_id, bpmn_id)
            if first is not None and first.due_at is not None:
                return first.due_at, first.warn_at  # a sent-back step keeps its original deadline
        calendar = WorkingCalendar(repos.calendar_overrides())
        by_rule = _apply(rule.limit_unit, rule.limit_value, now, calendar)
        return by_rule, _warn(rule, now, by_rule, calendar)
    due = now + time_limits.parse_duration(time_limit) if time_limit else boundary_due
    return due, (time_limits.warn_at(now, due) if due else None)


def _apply(unit: str, value: float, start: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    if unit == "minutes":
        return start + dt.timedelta(minutes=value)
    if unit == "hours":
        return start + dt.timedelta(hours=value)
    if unit == "working_days":
        return calendar.add_working_days(start, value)
    return calendar.add_working_hours(start, value)


def _warn(rule: m.TimeLimitRule, start: dt.datetime, due: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    if rule.yellow_left_minutes is not None:
        return max(start, due - dt.timedelta(minutes=rule.yellow_left_minutes))
    share = rule.yellow_share if rule.yellow_share is not None else time_limits.DEFAULT_YELLOW_SHARE
    if rule.limit_unit.startswith("working"):
        used = calendar.working_time_between(start, due) * share
        return calendar.add_working_hours(start, used.total_seconds() / 3600)
    return start + (due - start) * share


# -- the sweep ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    moved: int  # tasks and obligations that turned yellow or red
    has_more: bool  # a threshold had more crossings than one batch: sweep again now


def refresh_time_states(
    uow: UnitOfWork,
    *,
    now: dt.datetime,
    escalate_after: dt.timedelta = DEFAULT_ESCALATE_AFTER,
    batch: int = SWEEP_BATCH,
) -> SweepResult:
    """Move open items across the thresholds `now` has passed (at most `batch` per threshold) and remind once
    per crossing."""
    moved, has_more = 0, False
    with uow as repos:
        reminders: list[dict[str, Any]] = []
        for model, subject in ((m.HumanTask, "task"), (m.ArchiveObligation, "obligation")):
            crossed = queries.cross_thresholds(
                repos.session, now=now, repeat=RED_REPEAT, escalate_after=escalate_after, model=model, limit=batch
            )
            heads = {u: repos.unit_head(u) for u in {r.unit_code for r in crossed["escalate"]}}
            for kind, rows in crossed.items():
                reminders += _reminders(repos, subject, kind, rows, now, heads)
            moved += len(crossed["yellow"]) + len(crossed["red"])
            has_more = has_more or any(len(rows) >= batch for rows in crossed.values())
        repos.add_reminders(reminders)
    return SweepResult(moved, has_more)


def _reminders(
    repos: Repositories,
    subject: str,
    kind: str,
    rows: list[queries.Crossing],
    now: dt.datetime,
    heads: dict[str | None, str | None],
) -> list[dict[str, Any]]:
    if not rows:
        return []
    if kind == "escalate":
        recipients = {r.id: [h] if (h := heads.get(r.unit_code)) else [] for r in rows}
    else:
        recipients = repos.responsible_people(rows)
    category = "time_limit_warning" if subject == "task" else "pending_transfer"
    out = []
    for row in rows:
        key, title = _reminder_text(subject, kind, row, now)
        out += [
            {
                "category": category,
                "recipient": person,
                "subject_type": subject,
                "subject_id": row.id,
                "dedupe_key": key,
                "title": title,
                "body": row.business_key or "",
                "created_at": now,
            }
            for person in recipients[row.id]
        ]
    return out


def _reminder_text(subject: str, kind: str, row: queries.Crossing, now: dt.datetime) -> tuple[str, str]:
    what = f"{row.business_key or row.process_key} · {row.name}"
    if subject == "obligation":
        what = f"归档资料 archive documents of {what}"
    key = f"{subject}:{row.id}:{kind}"
    if kind == "yellow":
        return key, f"即将超期 Approaching its deadline: {what}"
    if kind == "red":
        return key, f"已超期 Overdue: {what}"
    if kind == "escalate":
        return key, f"超期督办 Overdue, please supervise: {what}"
    days = max(1, int((now - (row.due_at or now)) / RED_REPEAT))
    return f"{subject}:{row.id}:red:{days}", f"超期 {days} 天仍未办理 Still overdue after {days} day(s): {what}"


# -- rules, calendar and pauses ----------------------------------------------------------------------------


def list_rules(uow: UnitOfWork) -> list[dict[str, Any]]:
    with uow as repos:
        return [_rule_dict(r) for r in repos.time_limit_rules()]


def put_rule(
    uow: UnitOfWork,
    *,
    process_key: str,
    step: str,
    limit_value: float,
    limit_unit: str,
    actor: Actor,
    now: dt.datetime,
    yellow_share: float | None = None,
    yellow_left_minutes: float | None = None,
    restart_on_sendback: bool = True,
) -> dict[str, Any]:
    """Admin: set the time limit of a step ("*": every step of the process); applies to tasks opened from now on."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change time-limit rules")
    problems: dict[str, list[str]] = {}
    if limit_unit not in LIMIT_UNITS:
        problems["limit_unit"] = [f"one of {', '.join(LIMIT_UNITS)}"]
    if not limit_value > 0:
        problems["limit_value"] = ["a positive number (decimals allowed, e.g. 0.1 minutes)"]
    if yellow_share is not None and not 0 < yellow_share < 1:
        problems["yellow_share"] = ["a share of the limit between 0 and 1, e.g. 0.75"]
    if yellow_left_minutes is not None and yellow_left_minutes <= 0:
        problems["yellow_left_minutes"] = ["a positive number of minutes"]
    if not process_key or not step:
        problems["step"] = ["the process key and the step's BPMN id (or *)"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        rule = next((r for r in repos.time_limit_rules() if (r.process_key, r.step) == (process_key, step)), None)
        before = _rule_dict(rule) if rule else None
        if rule is None:
            rule = m.TimeLimitRule(process_key=process_key, step=step)
            repos.add(rule)
        rule.limit_value, rule.limit_unit = float(limit_value), limit_unit
        rule.yellow_share, rule.yellow_left_minutes = yellow_share, yellow_left_minutes
        rule.restart_on_sendback, rule.updated_by, rule.updated_at = restart_on_sendback, actor.username, now
        repos.flush()
        history.record(
            repos,
            kind="admin.rule.set",
            at=now,
            actor=actor.username,
            message=f"{process_key}/{step}",
            data={"before": before, "after": _rule_dict(rule)},
            subject=f"rule:{process_key}/{step}",
        )
        return _rule_dict(rule)


def _rule_dict(rule: m.TimeLimitRule) -> dict[str, Any]:
    return {
        "process_key": rule.process_key,
        "step": rule.step,
        "limit_value": rule.limit_value,
        "limit_unit": rule.limit_unit,
        "yellow_share": rule.yellow_share,
        "yellow_left_minutes": rule.yellow_left_minutes,
        "restart_on_sendback": rule.restart_on_sendback,
        "updated_by": rule.updated_by,
        "updated_at": rule.updated_at.isoformat() if rule.updated_at else None,
    }


def list_overrides(uow: UnitOfWork) -> dict[str, Any]:
    """Admin overrides and the years whose official holiday table is missing (projected)."""
    with uow as repos:
        overrides = {r.day: (r.is_workday, r.note) for r in repos.calendar_override_rows()}
    calendar = WorkingCalendar({day: workday for day, (workday, _) in overrides.items()})
    this_year = dt.date.today().year
    return {
        "overrides": [{"day": d.isoformat(), "is_workday": w, "note": n} for d, (w, n) in sorted(overrides.items())],
        "missing_official_years": calendar.missing_official_years(range(this_year, this_year + 2)),
    }


def calendar_warnings(uow: UnitOfWork, *, now: dt.datetime) -> list[str]:
    """What admins must be told about the calendar: this or next year has no official holiday table."""
    years = list_overrides(uow)["missing_official_years"]
    return [
        f"{year} 年无官方节假日安排，已按法定节日推算；请核对并添加调休覆盖。 No official holiday table for {year}: "
        "holidays are projected; confirm them with calendar overrides or upgrade chinesecalendar."
        for year in years
        if year <= now.year + 1
    ]


def set_override(
    uow: UnitOfWork, *, day: dt.date, is_workday: bool, note: str, actor: Actor, now: dt.datetime
) -> dict[str, Any]:
    """Admin: declare a date a working day or a day off (new deadlines use it at once)."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change the calendar")
    with uow as repos:
        row = next((r for r in repos.calendar_override_rows() if r.day == day), None)
        before = {"is_workday": row.is_workday, "note": row.note} if row is not None else None
        if row is None:
            row = m.CalendarOverride(day=day)
            repos.add(row)
        row.is_workday, row.note, row.updated_by, row.updated_at = is_workday, note[:200], actor.username, now
        history.record(
            repos,
            kind="admin.calendar.set",
            at=now,
            actor=actor.username,
            message=f"{day.isoformat()} {'working day' if is_workday else 'day off'}",
            data={"before": before, "after": {"is_workday": is_workday, "note": row.note}},
            subject=f"calendar:{day.isoformat()}",
        )
        return {"day": day.isoformat(), "is_workday": is_workday, "note": row.note}


def pause_task(uow: UnitOfWork, *, task_id: str, actor: Actor, now: dt.datetime, reason: str) -> None:
    """Stop a task's clock while the case waits on the audited party."""
    with uow as repos:
        row = _pausable(repos, task_id, actor)
        if row.paused_at is not None:
            raise InvalidStateError("the clock of this task is already paused")
        if not reason.strip():
            raise ValidationError({"reason": ["say what the case waits for"]})
        row.paused_at = now
        history.record(
            repos,
            kind="clock_paused",
            at=now,
            actor=actor.username,
            instance_id=row.instance_id,
            task_id=row.id,
            bpmn_id=row.bpmn_id,
            message=reason.strip(),
        )


def resume_task(uow: UnitOfWork, *, task_id: str, actor: Actor, now: dt.datetime) -> None:
    """Restart a paused clock; the deadline moves by the time it was paused."""
    with uow as repos:
        row = _pausable(repos, task_id, actor)
        if row.paused_at is None:
            raise InvalidStateError("the clock of this task is running")
        paused = now - row.paused_at
        row.due_at = row.due_at + paused if row.due_at else None
        row.warn_at = row.warn_at + paused if row.warn_at else None
        row.next_reminder_at = row.next_reminder_at + paused if row.next_reminder_at else None
        row.escalate_at = row.escalate_at + paused if row.escalate_at else None
        row.paused_at = None
        # The deadline moved: the state follows it at once, backwards too (the sweep only moves forwards).
        row.time_state = time_limits.time_state(now, row.warn_at, row.due_at).value
        history.record(
            repos,
            kind="clock_resumed",
            at=now,
            actor=actor.username,
            instance_id=row.instance_id,
            task_id=row.id,
            bpmn_id=row.bpmn_id,
            data={"paused_s": paused.total_seconds()},
        )


def _pausable(repos: Repositories, task_id: str, actor: Actor) -> m.HumanTask:
    from engine.domain.access import may_work_task

    row = repos.human_task(task_id)
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    if row.state != "open":
        raise InvalidStateError(f"the task is {row.state}")
    if not (
        actor.roles & {"admin", "supervisor"}
        or may_work_task(actor, lane=row.lane, assignee=row.assignee, unit_code=row.unit_code)
    ):
        raise PermissionDeniedError("only the people working the task, supervisors and admins may pause its clock")
    return row
