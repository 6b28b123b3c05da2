"""Audit cases: raise one (starting its audit_case process), read it with rounds and documents, list them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.domain.access import may_see_unit
from engine.domain.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.views import Actor, CaseView, InstanceView, Page, RoundView
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services.documents import document_view
from engine.services.instances import start_cases_in_transaction
from engine.services.runs import instance_view

CASE_PROCESS = "audit_case"
KINDS = ("routine", "special", "online")
RAISING_ROLES = frozenset({"auditor", "dispatcher", "admin", "supervisor"})


def raise_case(
    uow: UnitOfWork,
    *,
    target: str,
    anomaly: str,
    risk_level: int,
    unit_code: str,
    actor: Actor,
    now: dt.datetime,
    topic_code: str | None = None,
    kind: str = "routine",
    source: str = "",
) -> CaseView:
    """Raise a case in a unit and start its process at dispatch; refused while the target is white-listed."""
    if not actor.roles & RAISING_ROLES:
        raise PermissionDeniedError("only auditors, dispatchers, supervisors and admins may raise cases")
    problems: dict[str, list[str]] = {}
    if not target or len(target) > 100:
        problems["target"] = ["the customer, meter or process number (at most 100 characters)"]
    if not anomaly or not anomaly.strip():
        problems["anomaly"] = ["describe the anomaly"]
    if not isinstance(risk_level, int) or not 1 <= risk_level <= 4:
        problems["risk_level"] = ["1 (most serious) to 4"]
    if kind not in KINDS:
        problems["kind"] = [f"one of {', '.join(KINDS)}"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        unit = repos.unit(unit_code)
        if unit is None:
            raise ValidationError({"unit": [f"no unit {unit_code}"]})
        if not may_see_unit(actor, unit_code):
            raise PermissionDeniedError(f"unit {unit_code} is outside your units")
        topic = _active_topic(repos, topic_code) if topic_code else None
        if topic_code:
            frozen = repos.frozen_until(topic_code, target, now)
            if frozen is not None:
                raise ConflictError(
                    f"{target} is on the white list of {topic_code} until {frozen.date().isoformat()}",
                    {"fields": {"target": ["white-listed (frozen) under this topic"]}},
                )
        number = repos.next_number("JC", now.year)
        case, instance = open_case(
            repos,
            case_no=f"JC-{now.year}-{number:06d}",
            topic=topic,
            target=target,
            anomaly=anomaly.strip(),
            risk_level=risk_level,
            unit_code=unit_code,
            kind=kind,
            source=source,
            created_by=actor.username,
            now=now,
        )
        return _case_view(repos, case, with_instance=False, instance=instance)


@dataclass(frozen=True)
class NewCase:
    """What a case is opened with (the number is handed out by the caller)."""

    case_no: str
    target: str
    anomaly: str
    risk_level: int
    unit_code: str
    kind: str
    source: str
    handler: str | None = None
    is_dispatched: bool = False


def open_case(
    repos: Repositories,
    *,
    case_no: str,
    topic: m.Topic | None,
    target: str,
    anomaly: str,
    risk_level: int,
    unit_code: str,
    kind: str,
    source: str,
    created_by: str,
    now: dt.datetime,
) -> tuple[m.Case, InstanceView]:
    """Insert a checked case and start its audit_case process at dispatch, in the caller's transaction."""
    new = NewCase(case_no, target, anomaly, risk_level, unit_code, kind, source)
    case = open_cases(repos, cases=[new], topic=topic, created_by=created_by, now=now)[0]
    found = repos.instance(case.instance_id or "")
    assert found is not None
    return case, instance_view(repos, found, with_history=False)


def open_cases(
    repos: Repositories, *, cases: list[NewCase], topic: m.Topic | None, created_by: str, now: dt.datetime
) -> list[m.Case]:
    """Insert checked cases and start their audit_case processes in the caller's transaction (a few flushes for
    all of them); a dispatched case (unit and, if any, handler decided by a rule) starts straight at handling."""
    version = repos.latest_version(CASE_PROCESS)
    if version is None:
        raise NotFoundError(f"no deployed definition {CASE_PROCESS}", {"fields": {"process_key": ["not deployed"]}})
    rows = [
        m.Case(
            case_no=new.case_no,
            topic_id=topic.id if topic else None,
            topic_code=topic.code if topic else None,
            kind=new.kind,
            target=new.target,
            anomaly=new.anomaly,
            source=new.source,
            risk_level=new.risk_level,
            unit_code=new.unit_code,
            handler=new.handler if new.is_dispatched else None,
            status="raised",
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        for new in cases
    ]
    repos.session.add_all(rows)
    repos.flush()  # the case ids go into the process data
    starts: list[tuple[m.Case, dict[str, Any]]] = []
    for case, new in zip(rows, cases, strict=True):
        data: dict[str, Any] = {
            "case_id": case.id,
            "case_no": case.case_no,
            "topic_code": case.topic_code or "",
            "target": case.target,
            "anomaly": case.anomaly,
            "risk_level": case.risk_level,
            "unit": case.unit_code,
            "raised_by": created_by,
        }
        # The case process routes on it: straight to handling when intake dispatched by rule, else to dispatch.
        data["is_dispatched"] = bool(new.is_dispatched)
        if new.is_dispatched and new.handler:
            data["handler"] = new.handler
        starts.append((case, data))
    start_cases_in_transaction(repos, version, cases=starts, actor=created_by, now=now)
    return rows


def _active_topic(repos: Repositories, code: str) -> m.Topic:
    versions = repos.topic_versions(code)
    if not versions:
        raise ValidationError({"topic": [f"no topic {code}"]})
    active = [t for t in versions if t.status == "active"]
    if not active:
        raise ValidationError({"topic": [f"topic {code} is not active (it is {versions[-1].status})"]})
    return active[-1]


def get_case(uow: UnitOfWork, *, case_id: int, actor: Actor) -> CaseView:
    """A case with its rectification rounds, documents, instance and history; 403 outside one's units."""
    with uow as repos:
        case = repos.case(case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        if not may_see_unit(actor, case.unit_code):
            raise PermissionDeniedError(f"case {case.case_no} belongs to unit {case.unit_code}, outside your units")
        return _case_view(repos, case, with_instance=True)


def list_cases(
    uow: UnitOfWork,
    *,
    actor: Actor,
    status: str | None = None,
    topic_code: str | None = None,
    unit_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Cases in the actor's units, newest first."""
    with uow as repos:
        page = queries.cases_page(
            repos.session,
            actor=actor,
            status=status,
            topic_code=topic_code,
            unit_code=unit_code,
            limit=limit,
            offset=offset,
        )
        return Page(tuple(_case_view(repos, c, with_instance=False) for c in page.items), page.total, limit, offset)


def _case_view(
    repos: Repositories, case: m.Case, *, with_instance: bool, instance: InstanceView | None = None
) -> CaseView:
    rounds = tuple(
        RoundView(
            r.round_no,
            r.notice,
            r.deadline_at,
            r.measures,
            r.evidence,
            r.verdict,
            r.reviewer,
            r.comment,
            r.submitted_at,
            r.reviewed_at,
        )
        for r in repos.rounds(case.id)
    )
    documents = tuple(document_view(d) for d in repos.documents(case.instance_id)) if case.instance_id else ()
    found = repos.instance(case.instance_id) if with_instance and case.instance_id else None
    return CaseView(
        id=case.id,
        case_no=case.case_no,
        topic_code=case.topic_code,
        kind=case.kind,
        target=case.target,
        anomaly=case.anomaly,
        source=case.source,
        risk_level=case.risk_level,
        unit=case.unit_code,
        handler=case.handler,
        status=case.status,
        findings=case.findings,
        cause=case.cause,
        instance_id=case.instance_id,
        created_by=case.created_by,
        created_at=case.created_at,
        closed_at=case.closed_at,
        rounds=rounds,
        documents=documents,
        instance=instance_view(repos, found) if found else instance,
    )
