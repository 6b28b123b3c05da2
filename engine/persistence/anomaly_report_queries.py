"""Read side of the anomaly reports and upload reports: counts per topic, unit and period with SQL GROUP BY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.domain.anomaly_reports import MEASURES, ReportCounts, ReportPeriod
from engine.persistence import models as m

A = m.Anomaly
C = m.Case
H = m.HumanTask
OUTCOME_MEASURES = ("raised", "merged", "skipped", "recorded", "warned")
DONE_CASE_STATUSES = ("closed", "whitelisted")

Key = tuple[str, str]  # (topic code, unit code)


def _bucket(column: Any, periods: Sequence[ReportPeriod]) -> Any:
    """The index of the period a moment falls in (rows outside every period are filtered out beforehand)."""
    return case(*((column < p.end, index) for index, p in enumerate(periods)), else_=len(periods) - 1)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _within(column: Any, periods: Sequence[ReportPeriod]) -> Any:
    return and_(column >= periods[0].start, column < periods[-1].end)


def _filtered(query: Select[Any], topic_column: Any, unit_column: Any, topic: str | None, units: Any) -> Select[Any]:
    if topic is not None:
        query = query.where(topic_column == topic)
    if units is not None:
        query = query.where(unit_column.in_(sorted(units)))
    return query


def report_counts(
    session: Session,
    *,
    periods: Sequence[ReportPeriod],
    now: Any,
    topic: str | None,
    units: frozenset[str] | None,
) -> dict[Key, list[ReportCounts]]:
    """(topic, unit) -> counts per period, oldest first; three GROUP BY queries (anomalies, closed cases, overdue).

    The period is computed in an inner query so that PostgreSQL groups by the column, not by a CASE with parameters.
    """
    found: dict[Key, list[dict[str, int]]] = {}

    def collect(query: Select[Any], names: tuple[str, ...]) -> None:
        for topic_code, unit_code, bucket, *values in session.execute(query).tuples():
            per_period = found.setdefault((str(topic_code), str(unit_code)), [{} for _ in periods])
            for name, value in zip(names, values, strict=True):
                per_period[int(bucket)][name] = int(value or 0)

    inner = _filtered(
        select(A.topic_code, A.unit_code, _bucket(A.observed_at, periods).label("bucket"), A.outcome).where(
            _within(A.observed_at, periods)
        ),
        A.topic_code,
        A.unit_code,
        topic,
        units,
    ).subquery()
    anomalies = select(
        inner.c.topic_code,
        inner.c.unit_code,
        inner.c.bucket,
        func.count(),
        *(_count_if(inner.c.outcome == outcome) for outcome in OUTCOME_MEASURES),
    ).group_by(inner.c.topic_code, inner.c.unit_code, inner.c.bucket)
    collect(anomalies, ("found", *OUTCOME_MEASURES))

    inner = _filtered(
        select(C.topic_code, C.unit_code, _bucket(C.closed_at, periods).label("bucket")).where(
            C.topic_code.is_not(None), C.status.in_(DONE_CASE_STATUSES), _within(C.closed_at, periods)
        ),
        C.topic_code,
        C.unit_code,
        topic,
        units,
    ).subquery()
    completed = select(inner.c.topic_code, inner.c.unit_code, inner.c.bucket, func.count()).group_by(
        inner.c.topic_code, inner.c.unit_code, inner.c.bucket
    )
    collect(completed, ("completed",))

    # A case went overdue in a period when one of its steps fell due then and was not done by its due time.
    inner = _filtered(
        select(C.id.label("case_id"), C.topic_code, C.unit_code, _bucket(H.due_at, periods).label("bucket"))
        .join(H, H.instance_id == C.instance_id)
        .where(
            C.topic_code.is_not(None),
            H.state.in_(("open", "completed")),
            _within(H.due_at, periods),
            H.due_at < now,
            or_(H.completed_at.is_(None), H.completed_at > H.due_at),
        ),
        C.topic_code,
        C.unit_code,
        topic,
        units,
    ).subquery()
    overdue = select(
        inner.c.topic_code, inner.c.unit_code, inner.c.bucket, func.count(func.distinct(inner.c.case_id))
    ).group_by(inner.c.topic_code, inner.c.unit_code, inner.c.bucket)
    collect(overdue, ("overdue",))

    return {
        key: [ReportCounts(**{name: values.get(name, 0) for name in MEASURES}) for values in per_period]
        for key, per_period in found.items()
    }


def topic_names(session: Session) -> dict[str, str]:
    """The name of every topic code (of its latest version)."""
    query = select(m.Topic.code, m.Topic.name).order_by(m.Topic.code, m.Topic.version)
    return {code: name for code, name in session.execute(query).tuples()}


def active_topic_names(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the active topics, by code."""
    query = select(m.Topic.code, m.Topic.name).where(m.Topic.status == "active").order_by(m.Topic.code)
    return [(code, name) for code, name in session.execute(query).tuples()]


def batch_cases(session: Session, batch_id: int, *, limit: int) -> list[tuple[int, str, str, str, str, str, int]]:
    """(case id, case number, target, unit, status, "raised" or "merged", items) of each case a batch raised or fed:
    raised when the batch raised it (its later items merged into it), merged when it was open before."""
    raised_here = func.max(case((A.outcome == "raised", 1), else_=0))
    query = (
        select(C.id, C.case_no, C.target, C.unit_code, C.status, raised_here, func.count())
        .join(C, C.id == A.case_id)
        .where(A.batch_id == batch_id, A.case_id.is_not(None))
        .group_by(C.id, C.case_no, C.target, C.unit_code, C.status)
        .order_by(raised_here.desc(), C.case_no)
        .limit(limit)
    )
    return [
        (i, n, t, u, s, "raised" if r else "merged", int(c)) for i, n, t, u, s, r, c in session.execute(query).tuples()
    ]


def case_anomalies(session: Session, case_id: int, *, limit: int) -> list[m.Anomaly]:
    """The occurrences attached to a case (the one that raised it first), oldest first."""
    query = select(A).where(A.case_id == case_id).order_by(A.observed_at, A.id).limit(limit)
    return list(session.scalars(query))


def upload_of_batch(session: Session, batch_id: int) -> m.AnomalyUpload | None:
    """The upload a batch was sent from, while it is kept."""
    return session.scalar(select(m.AnomalyUpload).where(m.AnomalyUpload.batch_id == batch_id).limit(1))
