"""Read side: the inbox and instance lists, from typed projection columns (never serialized JSON)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, distinct, func, literal, literal_column, or_, select, union_all, update
from sqlalchemy.orm import Session

from engine.domain.views import Actor, InstanceView, Page, TaskView
from engine.persistence import models as m

H = m.HumanTask
_STATE_RANK = case((H.time_state == "red", 0), (H.time_state == "yellow", 1), else_=2)


def instance_lanes(session: Session, instance_id: str) -> set[str | None]:
    return set(session.scalars(select(distinct(H.lane)).where(H.instance_id == instance_id)))


def _unit_filter(query: Select[Any], actor: Actor, column: Any) -> Select[Any]:
    if actor.is_admin or actor.units is None:
        return query
    return query.where(or_(column.is_(None), column.in_(sorted(actor.units))))


def _unit_branches(query: Select[Any], actor: Actor) -> list[Select[Any]]:
    """The query split by unit: tasks without a unit, and tasks in the actor's units (each an index range)."""
    if actor.is_admin or actor.units is None:
        return [query]
    return [query.where(H.unit_code.is_(None)), query.where(H.unit_code.in_(sorted(actor.units)))]


def task_branches(actor: Actor, scope: str, state: str) -> list[Select[Any]]:
    """The indexed branches whose UNION is the inbox (an OR over them defeats the partial indexes on SQLite)."""
    base = select(H.id).where(H.state == state)
    if state != "open":
        return [base.where(H.completed_by == actor.username)]
    mine = base.where(H.assignee == actor.username)
    if actor.is_admin and scope == "all":
        return [base]
    group = _unit_branches(base.where(H.assignee.is_(None), H.lane.in_(sorted(actor.roles))), actor)
    if scope == "mine":
        return [mine]
    if scope == "group":
        return group
    no_lane = _unit_branches(base.where(H.assignee.is_(None), H.lane.is_(None)), actor)
    return [mine, *group, *no_lane]


def tasks_page(
    session: Session,
    *,
    actor: Actor,
    scope: str = "all",
    state: str = "open",
    time_state: str | None = None,
    process_key: str | None = None,
    unit_code: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """A page of the tasks an actor may work (or has completed), overdue first, and the total."""
    branches = task_branches(actor, scope, state)
    extra = []
    if time_state:
        extra.append(H.time_state == time_state)
    if process_key:
        extra.append(H.process_key == process_key)
    if unit_code:
        extra.append(H.unit_code == unit_code)
    if search:
        # Case numbers and customer numbers are business keys; a prefix search keeps the index usable.
        extra.append(H.business_key.like(search.replace("%", r"\%").replace("_", r"\_") + "%", escape="\\"))
    branches = [b.where(*extra) for b in branches]
    ids = branches[0] if len(branches) == 1 else union_all(*branches)
    ids_sq = ids.subquery()
    total = session.scalar(select(func.count()).select_from(ids_sq)) or 0
    order = [H.completed_at.desc()] if state != "open" else [_STATE_RANK, H.due_at.is_(None), H.due_at, H.created_at]
    rows = session.scalars(
        select(H).where(H.id.in_(select(ids_sq.c.id))).order_by(*order, H.id).limit(limit).offset(offset)
    ).all()
    return Page(items=tuple(_task_view(r) for r in rows), total=total, limit=limit, offset=offset)


def _task_view(row: m.HumanTask) -> TaskView:
    return TaskView(
        id=row.id,
        instance_id=row.instance_id,
        process_key=row.process_key,
        business_key=row.business_key,
        bpmn_id=row.bpmn_id,
        name=row.name,
        lane=row.lane,
        assignee=row.assignee,
        candidate_groups=(row.lane,) if row.lane else (),
        unit=row.unit_code,
        created_at=row.created_at,
        due_at=row.due_at,
        time_state=row.time_state,
        state=row.state,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
    )


def instances_page(
    session: Session,
    *,
    actor: Actor,
    status: str | None,
    process_key: str | None,
    time_state: str | None,
    limit: int,
    offset: int,
) -> Page:
    """Instances the actor may see (admins and supervisors: all in their units; others: those they started)."""
    query = select(m.ProcessInstance)
    if not (actor.is_admin or "supervisor" in actor.roles):
        worked = select(H.instance_id).where(
            or_(H.lane.in_(sorted(actor.roles)), H.assignee == actor.username, H.completed_by == actor.username)
        )
        query = query.where(or_(m.ProcessInstance.started_by == actor.username, m.ProcessInstance.id.in_(worked)))
    query = _unit_filter(query, actor, m.ProcessInstance.unit_code)
    if status:
        query = query.where(m.ProcessInstance.status == status)
    if process_key:
        query = query.where(m.ProcessInstance.process_key == process_key)
    if time_state:
        query = query.where(m.ProcessInstance.time_state == time_state)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(m.ProcessInstance.created_at.desc(), m.ProcessInstance.id).limit(limit).offset(offset)
    ).all()
    versions = dict(session.execute(select(m.DefinitionVersion.id, m.DefinitionVersion.version)).tuples().all())
    items = tuple(
        InstanceView(
            id=r.id,
            process_key=r.process_key,
            version=versions.get(r.definition_version_id, 0),
            business_key=r.business_key,
            status=r.status,
            time_state=r.time_state,
            data={},
            created_at=r.created_at,
            updated_at=r.updated_at,
            completed_at=r.completed_at,
            error={"bpmn_id": r.error_bpmn_id, "message": r.error_message} if r.status == "error" else None,
        )
        for r in rows
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@dataclass(frozen=True)
class Crossing:
    """An open item (task or archive obligation) that just crossed a threshold, with what a reminder needs."""

    id: str
    instance_id: str
    lane: str | None
    unit_code: str | None
    assignee: str | None
    business_key: str | None
    process_key: str
    name: str
    due_at: dt.datetime | None


def _crossing_columns(model: type[m.HumanTask] | type[m.ArchiveObligation]) -> tuple[Any, ...]:
    if model is m.HumanTask:
        return (H.id, H.instance_id, H.lane, H.unit_code, H.assignee, H.business_key, H.process_key, H.name, H.due_at)
    ob = m.ArchiveObligation
    return (
        ob.id,
        ob.instance_id,
        literal(None),
        ob.unit_code,
        ob.responsible,
        ob.business_key,
        ob.process_key,
        ob.name,
        ob.due_at,
    )


def cross_thresholds(
    session: Session,
    *,
    now: dt.datetime,
    repeat: dt.timedelta,
    escalate_after: dt.timedelta,
    model: type[m.HumanTask] | type[m.ArchiveObligation] = m.HumanTask,
    limit: int = 2000,
) -> dict[str, list[Crossing]]:
    """Apply every threshold `now` has passed in single UPDATE … RETURNING statements (indexed, exactly once).

    Concurrent sweepers cannot both win a row: the second one's WHERE no longer matches after the first commits.
    """
    T = model
    running = (T.state == "open", T.paused_at.is_(None))
    columns = _crossing_columns(model)

    def move(*where: Any, values: dict[str, Any]) -> list[Crossing]:
        # At most `limit` rows per statement, so a backlog is worked off in bounded transactions.
        chosen = select(T.id).where(*running, *where).limit(limit).scalar_subquery()
        statement = update(T).where(T.id.in_(chosen), *running, *where).values(**values).returning(*columns)
        rows = session.execute(statement.execution_options(synchronize_session=False)).all()
        return [Crossing(str(row[0]), *row[1:]) for row in rows]

    crossed = {
        "red": move(
            T.due_at <= now,
            T.time_state != "red",
            values={"time_state": "red", "next_reminder_at": now + repeat, "escalate_at": now + escalate_after},
        ),
        "yellow": move(T.warn_at <= now, T.time_state == "green", values={"time_state": "yellow"}),
        "red_again": move(T.next_reminder_at <= now, values={"next_reminder_at": now + repeat}),
        "escalate": move(T.escalate_at <= now, values={"escalate_at": None}),
    }
    instance_ids = {c.instance_id for c in crossed["red"] + crossed["yellow"]}
    if instance_ids and model is m.HumanTask:
        worst = (
            select(func.min(_STATE_RANK))
            .where(H.instance_id == m.ProcessInstance.id, H.state == "open")
            .scalar_subquery()
        )
        session.execute(
            update(m.ProcessInstance)
            .where(m.ProcessInstance.id.in_(sorted(instance_ids)), m.ProcessInstance.status == "running")
            .values(time_state=case({0: "red", 1: "yellow"}, value=worst, else_="green"))
            .execution_options(synchronize_session=False)
        )
    return crossed


def cases_page(
    session: Session,
    *,
    actor: Actor,
    status: str | None,
    topic_code: str | None,
    unit_code: str | None,
    limit: int,
    offset: int,
) -> Page:
    """Cases in the actor's units (rows, for the service to turn into views), newest first."""
    query = select(m.Case)
    if not actor.is_admin and actor.units is not None:
        query = query.where(m.Case.unit_code.in_(sorted(actor.units)))
    if status:
        query = query.where(m.Case.status == status)
    if topic_code:
        query = query.where(m.Case.topic_code == topic_code)
    if unit_code:
        query = query.where(m.Case.unit_code == unit_code)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(m.Case.id.desc()).limit(limit).offset(offset)).all()
    return Page(items=tuple(rows), total=total, limit=limit, offset=offset)


def inbox_counts(session: Session, *, actor: Actor) -> dict[str, dict[str, int]]:
    """Open tasks per inbox tab (mine, group) and time state, plus what the actor completed."""
    counts: dict[str, dict[str, int]] = {}
    for scope in ("mine", "group"):
        branches = task_branches(actor, scope, "open")
        sq = (branches[0] if len(branches) == 1 else union_all(*branches)).subquery()
        rows = session.execute(
            select(H.time_state, func.count()).where(H.id.in_(select(sq.c.id))).group_by(H.time_state)
        ).tuples()
        by_state = {state: 0 for state in ("red", "yellow", "green")}
        by_state.update({state: int(n) for state, n in rows})
        by_state["total"] = sum(by_state.values())
        counts[scope] = by_state
    completed = task_branches(actor, "mine", "completed")[0].subquery()
    counts["completed"] = {"total": session.scalar(select(func.count()).select_from(completed)) or 0}
    return counts


def reminders_of(session: Session, recipient: str, include_done: bool, limit: int) -> list[m.Reminder]:
    query = select(m.Reminder).where(m.Reminder.recipient == recipient)
    if not include_done:
        query = query.where(m.Reminder.acknowledged_at.is_(None), m.Reminder.resolved_at.is_(None))
    return list(session.scalars(query.order_by(m.Reminder.id.desc()).limit(limit)))


def reminder_counts(session: Session, recipient: str) -> dict[str, int]:
    rows = session.execute(
        select(m.Reminder.category, func.count())
        .where(
            m.Reminder.recipient == recipient, m.Reminder.acknowledged_at.is_(None), m.Reminder.resolved_at.is_(None)
        )
        .group_by(m.Reminder.category)
    ).tuples()
    return {category: int(n) for category, n in rows}


def contracts_of(session: Session, *, units: frozenset[str] | None) -> list[m.Contract]:
    query = select(m.Contract)
    if units is not None:
        query = query.where(m.Contract.unit_code.in_(sorted(units)))
    return list(session.scalars(query.order_by(m.Contract.expires_on, m.Contract.id)))


def obligations(
    session: Session, *, responsible: str | None, units: frozenset[str] | None, state: str
) -> list[m.ArchiveObligation]:
    query = select(m.ArchiveObligation).where(m.ArchiveObligation.state == state)
    if responsible is not None:
        query = query.where(m.ArchiveObligation.responsible == responsible)
    if units is not None:
        query = query.where(
            or_(m.ArchiveObligation.unit_code.is_(None), m.ArchiveObligation.unit_code.in_(sorted(units)))
        )
    return list(session.scalars(query.order_by(m.ArchiveObligation.due_at).limit(500)))


def unmailed_reminders(session: Session) -> list[m.Reminder]:
    return list(
        session.scalars(
            select(m.Reminder)
            .where(
                m.Reminder.emailed_at.is_(None), m.Reminder.acknowledged_at.is_(None), m.Reminder.resolved_at.is_(None)
            )
            .order_by(m.Reminder.recipient, m.Reminder.id)
            .with_for_update(skip_locked=True)
        )
    )


def supervision_orders(
    session: Session, *, units: frozenset[str] | None, only_open: bool
) -> list[tuple[m.SupervisionOrder, str | None]]:
    """Supervision orders in `units`, newest first, each with its case number."""
    query = select(m.SupervisionOrder, m.Case.case_no).outerjoin(m.Case, m.Case.id == m.SupervisionOrder.case_id)
    if only_open:
        query = query.where(m.SupervisionOrder.is_open)
    if units is not None:
        query = query.where(m.SupervisionOrder.unit_code.in_(sorted(units)))
    rows = session.execute(query.order_by(m.SupervisionOrder.id.desc()).limit(500)).tuples()
    return [(order, case_no) for order, case_no in rows]


def _board_query(
    select_from: Select[Any],
    units: frozenset[str] | None,
    *,
    topic: str | None = None,
    risk_level: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[Any]:
    """Open tasks in `units`, of cases under `topic` / at `risk_level`, begun in [since, until) where given."""
    # 'open' written inline, not bound: SQLite then knows the partial indexes on open tasks answer the WHERE
    # by themselves and reads ix_human_tasks_open_board alone (bench B11).
    query = select_from.where(H.state == literal_column("'open'"))
    if units is not None:
        query = query.where(H.unit_code.in_(sorted(units)))
    if topic is not None or risk_level is not None:
        cases = select(m.Case.instance_id).where(m.Case.instance_id.is_not(None))
        if topic is not None:
            cases = cases.where(m.Case.topic_code == topic)
        if risk_level is not None:
            cases = cases.where(m.Case.risk_level == risk_level)
        query = query.where(H.instance_id.in_(cases))
    if since is not None:
        query = query.where(H.created_at >= since)
    if until is not None:
        query = query.where(H.created_at < until)
    return query


def board_counts(
    session: Session, *, group_by: str, units: frozenset[str] | None, **filters: Any
) -> dict[tuple[str, str], dict[str, int]]:
    """Open tasks per (group key, label) and time state, in one GROUP BY."""
    if group_by == "topic":
        key: Any = func.coalesce(m.Case.topic_code, "")
        label: Any = key
        base = (
            select(key, label, H.time_state, func.count())
            .select_from(H)
            .outerjoin(m.Case, m.Case.instance_id == H.instance_id)
        )
    else:
        # Grouped by the bare column (no task without one is lost: None becomes "" below), so that SQLite reads
        # the open tasks in the order of ix_human_tasks_open_board, from the index alone (bench B11).
        key = {"unit": H.unit_code, "step": H.bpmn_id, "person": H.assignee}[group_by]
        label = func.min(H.name) if group_by == "step" else key
        base = select(key, label, H.time_state, func.count()).select_from(H)
    query = _board_query(base, units, **filters).group_by(key, H.time_state)
    found: dict[tuple[str, str], dict[str, int]] = {}
    for group, name, state, count in session.execute(query).tuples():
        bucket = found.setdefault((str(group or ""), str(name or "")), {})
        bucket[str(state)] = bucket.get(str(state), 0) + int(count)
    if group_by == "step":  # one label per step, not per (step, state)
        merged: dict[tuple[str, str], dict[str, int]] = {}
        for (group, name), counts in found.items():
            target = next((k for k in merged if k[0] == group), (group, name))
            bucket = merged.setdefault(target, {})
            for state, n in counts.items():
                bucket[state] = bucket.get(state, 0) + n
        return merged
    return found


def board_items(
    session: Session,
    *,
    units: frozenset[str] | None,
    topic: str | None,
    step: str | None,
    person: str | None,
    time_state: str | None,
    limit: int,
    offset: int,
    **filters: Any,
) -> tuple[list[m.HumanTask], int]:
    query = _board_query(select(H), units, topic=topic, **filters)
    if step is not None:
        query = query.where(H.bpmn_id == step)
    if person is not None:
        query = query.where(H.assignee == person) if person else query.where(H.assignee.is_(None))
    if time_state is not None:
        query = query.where(H.time_state == time_state)
    # The count reads the index alone; with one time state the rank is constant, so the page follows
    # ix_human_tasks_open_time (time state, due) instead of sorting every open task (bench B11).
    total = session.scalar(query.with_only_columns(func.count())) or 0
    order = (H.due_at, H.id) if time_state is not None else (_STATE_RANK, H.due_at, H.id)
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def version_instance_counts(session: Session) -> dict[int, dict[str, int]]:
    """Instances per definition version and status, counted by the database."""
    P = m.ProcessInstance
    rows = session.execute(
        select(P.definition_version_id, P.status, func.count()).group_by(P.definition_version_id, P.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for version_id, status, count in rows:
        counts.setdefault(version_id, {})[status] = count
    return counts


def users_matching(
    session: Session,
    *,
    q: str | None,
    unit_code: str | None,
    role: str | None,
    is_active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[m.User], int]:
    """Users whose username, display name or email contains `q`, in a unit or role, by username."""
    query = select(m.User)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                m.User.username.ilike(pattern, escape="\\"),
                m.User.display_name.ilike(pattern, escape="\\"),
                m.User.email.ilike(pattern, escape="\\"),
            )
        )
    if unit_code:
        query = query.where(m.User.unit_code == unit_code)
    if role:
        query = query.where(m.User.id.in_(select(m.UserRole.user_id).where(m.UserRole.role == role)))
    if is_active is not None:
        query = query.where(m.User.is_active.is_(is_active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(m.User.username).limit(limit).offset(offset)).all()
    return list(rows), total


ADMIN_KIND_PREFIX = "admin."


def admin_events(
    session: Session,
    *,
    actor: str | None,
    kind: str | None,
    subject: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[m.HistoryEvent], int]:
    """Admin changes (kinds admin.*), newest first; `kind` may be a whole kind or a prefix like admin.user."""
    H_ = m.HistoryEvent
    query = select(H_).where(H_.kind.startswith(ADMIN_KIND_PREFIX, autoescape=True))
    if actor:
        query = query.where(H_.actor == actor)
    if kind:
        query = query.where(or_(H_.kind == kind, H_.kind.startswith(kind.rstrip(".") + ".", autoescape=True)))
    if subject:
        query = query.where(H_.subject == subject)
    if since is not None:
        query = query.where(H_.at >= since)
    if until is not None:
        query = query.where(H_.at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(H_.at.desc(), H_.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def anomaly_rejections(session: Session, batch_id: int, *, limit: int) -> list[m.AnomalyRejection]:
    return list(
        session.scalars(
            select(m.AnomalyRejection)
            .where(m.AnomalyRejection.batch_id == batch_id)
            .order_by(m.AnomalyRejection.row_no)
            .limit(limit)
        )
    )


def anomaly_batches(
    session: Session, *, topic_code: str | None, limit: int, offset: int
) -> tuple[list[m.AnomalyBatch], int]:
    """A page of batches, newest first, and how many there are."""
    query = select(m.AnomalyBatch)
    if topic_code is not None:
        query = query.where(m.AnomalyBatch.topic_code == topic_code)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(m.AnomalyBatch.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)
