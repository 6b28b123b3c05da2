"""Read side of the evaluation: per person or per unit, what happened in a period, counted with GROUP BY."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, and_, case, distinct, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from engine.domain.kpi import COUNT_FIELDS, KpiCounts
from engine.persistence import models as m

C = m.Case
H = m.HumanTask
O = m.ArchiveObligation  # noqa: E741 - the obligation model, as H is the task model
R = m.RectificationRound


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _scoped(query: Select[Any], unit_column: Any, units: frozenset[str] | None) -> Select[Any]:
    return query if units is None else query.where(unit_column.in_(sorted(units)))


def _open_at(moment: dt.datetime) -> Any:
    return and_(C.created_at < moment, or_(C.closed_at.is_(None), C.closed_at >= moment))


def kpi_counts(
    session: Session, *, by: str, start: dt.datetime, end: dt.datetime, units: frozenset[str] | None
) -> dict[str, KpiCounts]:
    """Counts per handler/responsible/completer (`by="person"`) or per unit code (`by="unit"`), rows in `units`.

    Four GROUP BY queries (cases, rectification rounds, archive obligations, completed tasks), and per unit a fifth
    (anomalies found), each reading an index range of the period rather than the whole history; rows without a
    person or unit are left out.
    """
    if by not in ("person", "unit"):
        raise ValueError(f"by person or unit, not {by!r}")
    found: dict[str, dict[str, int]] = {}

    def collect(query: Select[Any], names: tuple[str, ...]) -> None:
        for key, *values in session.execute(query).tuples():
            bucket = found.setdefault(str(key), {})
            for name, value in zip(names, values, strict=True):
                bucket[name] = bucket.get(name, 0) + int(value or 0)

    in_period = and_(C.created_at >= start, C.created_at < end)
    # 'red' written inline, not bound: both databases then answer the probe from ix_human_tasks_red_instance (a
    # partial index, which a bound value cannot be proven to match) instead of reading every task of the case;
    # selecting the key, not *, so that SQLite reads that index alone.
    overdue = (
        select(H.instance_id)
        .where(
            H.instance_id == C.instance_id, H.time_state == literal_column("'red'"), H.state.in_(("open", "completed"))
        )
        .exists()
    )
    case_key = C.handler if by == "person" else C.unit_code
    # Only cases still open at the start or closed since can count for the period (raised, completed, overdue,
    # open at either end): the two index ranges of ix_cases_closed_at, not every case ever raised.
    case_names = ("cases_raised", "cases_completed", "cases_overdue", "open_at_start", "open_at_end")
    flags = (
        case((in_period, 1), else_=0).label("raised"),
        case(
            (and_(C.status.in_(("closed", "whitelisted")), C.closed_at >= start, C.closed_at < end), 1), else_=0
        ).label("completed"),
        case((and_(in_period, C.instance_id.is_not(None), overdue), 1), else_=0).label("overdue"),
        case((_open_at(start), 1), else_=0).label("open_start"),
        case((_open_at(end), 1), else_=0).label("open_end"),
    )
    # Written as two index ranges (still open; closed since the start) joined by UNION ALL: SQLite would
    # otherwise walk every case ever raised for the OR.
    branches = [
        _scoped(
            select(case_key.label("key"), *flags).where(case_key.is_not(None), C.created_at < end, where),
            C.unit_code,
            units,
        )
        for where in (C.closed_at.is_(None), C.closed_at >= start)
    ]
    rows = union_all(*branches).subquery()
    cases = select(
        rows.c.key, *(func.sum(rows.c[name]) for name in ("raised", "completed", "overdue", "open_start", "open_end"))
    ).group_by(rows.c.key)
    collect(cases, case_names)

    # Rectification: the cases with a round created in the period, from the rounds of the period (indexed).
    verdicts = aliased(R)
    accepted = (
        exists()
        .where(verdicts.case_id == C.id, verdicts.verdict == "accepted", verdicts.reviewed_at < end)
        .correlate(C)
    )
    rounds = (
        select(
            case_key,
            func.count(distinct(C.id)),
            func.count(distinct(case((accepted, C.id), else_=None))),
        )
        .select_from(R)
        .join(C, C.id == R.case_id)
        .where(case_key.is_not(None), C.created_at < end, R.created_at >= start, R.created_at < end)
    )
    collect(_scoped(rounds, C.unit_code, units).group_by(case_key), ("rectification_cases", "rectification_accepted"))

    due = and_(O.due_at >= start, O.due_at < end)
    obligation_key = O.responsible if by == "person" else O.unit_code
    obligations = select(
        obligation_key,
        func.count(),
        _count_if(O.state == "received"),
        _count_if(and_(O.state == "received", O.is_on_time.is_(True))),
    ).where(obligation_key.is_not(None), due)
    collect(
        _scoped(obligations, O.unit_code, units).group_by(obligation_key),
        ("archives_due", "archives_received", "archives_on_time"),
    )

    task_key = H.completed_by if by == "person" else H.unit_code
    steps = select(task_key, func.count()).where(
        task_key.is_not(None), H.state == "completed", H.completed_at >= start, H.completed_at < end
    )
    collect(_scoped(steps, H.unit_code, units).group_by(task_key), ("step_completions",))

    if by == "unit":  # an anomaly names the unit it was found in; no person owns it before a case is raised
        A = m.Anomaly
        found_in_period = select(A.unit_code, func.count(), _count_if(A.outcome == "raised")).where(
            A.observed_at >= start, A.observed_at < end
        )
        collect(
            _scoped(found_in_period, A.unit_code, units).group_by(A.unit_code),
            ("anomalies_found", "anomalies_raised"),
        )

    return {
        key: KpiCounts(**{name: values.get(name, 0) for name in COUNT_FIELDS})
        for key, values in found.items()
        if any(values.values())
    }


def unit_tree(session: Session) -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, parent_code) of every unit."""
    query = select(m.Unit.code, m.Unit.name, m.Unit.level, m.Unit.parent_code).order_by(m.Unit.code)
    return [(c, n, lv, p) for c, n, lv, p in session.execute(query).tuples()]


def display_names(session: Session, usernames: list[str]) -> dict[str, str]:
    """Display names of the given people (their username where they have none)."""
    if not usernames:
        return {}
    query = select(m.User.username, m.User.display_name).where(m.User.username.in_(sorted(usernames)))
    return {u: (d or u) for u, d in session.execute(query).tuples()}


def kpi_indicators(session: Session) -> list[m.KpiIndicator]:
    """Every indicator, by key."""
    return list(session.scalars(select(m.KpiIndicator).order_by(m.KpiIndicator.key)))


def kpi_adjustments(session: Session, *, period: str, level: str) -> list[m.KpiAdjustment]:
    """The adjustments of one period and level, oldest first."""
    query = select(m.KpiAdjustment).where(m.KpiAdjustment.period == period, m.KpiAdjustment.level == level)
    return list(session.scalars(query.order_by(m.KpiAdjustment.id)))


def kpi_snapshot(session: Session, period: str) -> m.KpiSnapshot | None:
    """The snapshot of a month, if it was frozen."""
    return session.get(m.KpiSnapshot, period)


def kpi_snapshots(session: Session) -> list[m.KpiSnapshot]:
    """Every frozen month, latest first."""
    return list(session.scalars(select(m.KpiSnapshot).order_by(m.KpiSnapshot.period.desc())))


def snapshot_figures(session: Session, *, period: str, level: str) -> dict[str, tuple[str, dict[str, float | None]]]:
    """The frozen figures of one month and level: subject key -> (label, figure -> value)."""
    F = m.KpiSnapshotFigure
    query = select(F.subject_key, F.label, F.figure, F.value).where(F.period == period, F.level == level)
    found: dict[str, tuple[str, dict[str, float | None]]] = {}
    for key, label, figure, value in session.execute(query).tuples():
        found.setdefault(key, (label, {}))[1][figure] = value
    return found


def snapshot_series(
    session: Session, *, level: str, periods: list[str], figures: list[str]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Frozen figures of the given months: period -> subject key -> figure -> value (one indexed read)."""
    F = m.KpiSnapshotFigure
    query = select(F.period, F.subject_key, F.figure, F.value).where(
        F.level == level, F.period.in_(periods), F.figure.in_(figures)
    )
    found: dict[str, dict[str, dict[str, float | None]]] = {}
    for period, key, figure, value in session.execute(query).tuples():
        found.setdefault(period, {}).setdefault(key, {})[figure] = value
    return found


def user_units(session: Session, usernames: list[str]) -> dict[str, str | None]:
    """The unit of each given person."""
    if not usernames:
        return {}
    query = select(m.User.username, m.User.unit_code).where(m.User.username.in_(sorted(usernames)))
    return dict(session.execute(query).tuples().all())
