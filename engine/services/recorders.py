"""Recorders: named by a task's `record` property, they check and file a step's data into the audit records.

A diagram says *which* recorder a step uses; the engine owns *what* it does (processes/ holds no Python).
`on_complete` runs inside the completing transaction before the engine moves on: raising refuses the step.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.domain.errors import ValidationError
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.services import history

LOCAL_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")  # effective dates are local calendar days
DEFAULT_FREEZE_DAYS = 90

Data = dict[str, Any]
Complete = Callable[[Repositories, m.ProcessInstance, Data, str, dt.datetime], Data | None]
Open = Callable[[Repositories, m.ProcessInstance, m.HumanTask, dt.datetime], None]


@dataclass(frozen=True)
class Recorder:
    on_complete: Complete | None = None
    on_open: Open | None = None


# -- audit cases -------------------------------------------------------------------------------------------


def _case_dispatched(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> None:
    unit, handler = data.get("unit"), data.get("handler")
    problems: dict[str, list[str]] = {}
    if not isinstance(unit, str) or repos.unit(unit) is None:
        problems["unit"] = [f"no unit {unit!r}: give the code of the responsible unit"]
    elif not any(u.username == handler for u in repos.users_in_role("handler", unit)):
        problems["handler"] = [f"{handler!r} is not an active handler of unit {unit}"]
    if problems:
        raise ValidationError(problems)
    case = repos.case_by_instance(instance.id)
    if case is not None:
        case.unit_code, case.handler, case.updated_at = str(unit), str(handler), now


def _case_handled(repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime) -> None:
    case = repos.case_by_instance(instance.id)
    if case is not None:
        case.findings, case.cause = str(data.get("findings") or ""), str(data.get("cause") or "")
        case.updated_at = now


def _result_reviewed(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> None:
    case = repos.case_by_instance(instance.id)
    if case is None or not (data.get("approved") and data.get("is_false_positive")):
        return
    days = data.get("freeze_days") or DEFAULT_FREEZE_DAYS
    if not isinstance(days, int) or not 1 <= days <= 3650:
        raise ValidationError({"freeze_days": ["a freeze period of 1 to 3650 days"]})
    repos.add(
        m.WhitelistEntry(
            topic_code=case.topic_code or "",
            target=case.target,
            reason=case.findings or "false positive",
            frozen_until=now + dt.timedelta(days=days),
            case_id=case.id,
            approved_by=actor,
            created_at=now,
        )
    )
    case.status, case.closed_at, case.updated_at = "whitelisted", now, now


def _round(repos: Repositories, case: m.Case, data: Data) -> m.RectificationRound | None:
    number = data.get("rectification_round") or 1
    return repos.rectification_round(case.id, int(number))


def _rectification_noticed(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> Data | None:
    case = repos.case_by_instance(instance.id)
    days = data.get("deadline_days")
    if not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationError({"deadline_days": ["a deadline of 1 to 365 days"]})
    if case is None:
        return {"rectification_round": 1}
    number = repos.last_round_no(case.id) + 1
    repos.add(
        m.RectificationRound(
            case_id=case.id,
            round_no=number,
            notice=str(data.get("notice") or ""),
            deadline_at=now + dt.timedelta(days=days),
            created_at=now,
        )
    )
    return {"rectification_round": number}


def _rectification_submitted(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> None:
    case = repos.case_by_instance(instance.id)
    current = _round(repos, case, data) if case else None
    if current is not None:
        current.measures, current.evidence = str(data.get("measures") or ""), str(data.get("evidence") or "")
        current.submitted_at = now


def _rectification_reviewed(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> Data | None:
    case = repos.case_by_instance(instance.id)
    current = _round(repos, case, data) if case else None
    number = int(data.get("rectification_round") or 1)
    if current is not None:
        current.verdict, current.reviewer, current.reviewed_at = str(data.get("verdict")), actor, now
        current.comment = str(data.get("comment") or "")
    if data.get("verdict") != "rejected":
        return None
    if case is not None and current is not None:
        repos.add(
            m.RectificationRound(
                case_id=case.id,
                round_no=number + 1,
                notice=current.notice,
                deadline_at=current.deadline_at,
                created_at=now,
            )
        )
    return {"rectification_round": number + 1}


def _supervision_raised(repos: Repositories, instance: m.ProcessInstance, task: m.HumanTask, now: dt.datetime) -> None:
    case = repos.case_by_instance(instance.id)
    if case is None:
        return
    unit = task.unit_code or case.unit_code
    heads = repos.users_in_role("unit_head", unit)
    order = m.SupervisionOrder(
        case_id=case.id,
        round_no=repos.last_round_no(case.id) or None,
        unit_code=unit,
        addressed_to=heads[0].username if heads else None,
        reason=f"rectification of {case.case_no} is overdue",
        is_open=True,
        created_at=now,
    )
    repos.add(order)
    if heads and task.assignee is None:
        task.assignee = heads[0].username
    history.record(
        repos,
        kind="supervision_raised",
        at=now,
        instance_id=instance.id,
        task_id=task.id,
        bpmn_id=task.bpmn_id,
        message=order.reason,
        data={"unit": unit, "to": order.addressed_to},
    )


def _supervision_answered(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> None:
    case = repos.case_by_instance(instance.id)
    for order in repos.open_supervision_orders(case.id) if case else []:
        order.is_open, order.closed_at = False, now


# -- audit topics ------------------------------------------------------------------------------------------


def _topic_drafted(repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime) -> None:
    topic = repos.topic_by_instance(instance.id)
    if topic is None:
        return
    topic.criteria = str(data.get("criteria") or topic.criteria)
    topic.argument = str(data.get("argument") or topic.argument)
    topic.data_source = str(data.get("data_source") or topic.data_source)
    if data.get("thresholds"):
        topic.thresholds_json = json.dumps({"text": str(data["thresholds"])}, ensure_ascii=False)
    if data.get("effective_date"):
        topic.effective_date = dt.date.fromisoformat(str(data["effective_date"]))
    topic.updated_at = now


def _topic_published(
    repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime
) -> Data | None:
    topic = repos.topic_by_instance(instance.id)
    day = data.get("effective_date") or (topic.effective_date.isoformat() if topic and topic.effective_date else None)
    if not day:
        raise ValidationError({"effective_date": ["the topic has no effective date"]})
    local_midnight = dt.datetime.combine(dt.date.fromisoformat(str(day)), dt.time(), LOCAL_ZONE)
    effective_at = max(local_midnight.astimezone(dt.UTC), now + dt.timedelta(seconds=1))
    if topic is not None:
        topic.status, topic.published_at, topic.updated_at = "published", now, now
    return {"effective_at": effective_at.isoformat()}


def _nothing(repos: Repositories, instance: m.ProcessInstance, data: Data, actor: str, now: dt.datetime) -> None:
    """A step whose data only goes to the history (opinions, confirmations)."""


RECORDERS: dict[str, Recorder] = {
    "case_dispatched": Recorder(_case_dispatched),
    "case_handled": Recorder(_case_handled),
    "result_reviewed": Recorder(_result_reviewed),
    "case_archived": Recorder(_nothing),
    "rectification_noticed": Recorder(_rectification_noticed),
    "rectification_submitted": Recorder(_rectification_submitted),
    "rectification_reviewed": Recorder(_rectification_reviewed),
    "supervision_answered": Recorder(_supervision_answered, _supervision_raised),
    "topic_drafted": Recorder(_topic_drafted),
    "topic_business_reviewed": Recorder(_nothing),
    "topic_system_reviewed": Recorder(_nothing),
    "topic_approved": Recorder(_nothing),
    "topic_published": Recorder(_topic_published),
}


def task_completing(
    repos: Repositories,
    instance: m.ProcessInstance,
    props: Data,
    data: Data,
    *,
    task_data: Data,
    actor: str,
    now: dt.datetime,
) -> Data:
    """Run the step's recorder on the task's data with the submitted data over it; returns what to complete with."""
    recorder = RECORDERS.get(props.get("record") or "")
    if recorder is None or recorder.on_complete is None:
        return data
    extra = recorder.on_complete(repos, instance, {**task_data, **data}, actor, now)
    return {**data, **(extra or {})}


def task_opened(
    repos: Repositories, instance: m.ProcessInstance, task: m.HumanTask, props: Data, *, now: dt.datetime
) -> None:
    """Run the on-open part of the step's recorder, if it has one."""
    recorder = RECORDERS.get(props.get("record") or "")
    if recorder is not None and recorder.on_open is not None:
        recorder.on_open(repos, instance, task, now)


def instance_saved(
    repos: Repositories,
    instance: m.ProcessInstance,
    properties: Data,
    open_tasks: list[m.HumanTask],
    *,
    now: dt.datetime,
    case: m.Case | None = None,
) -> None:
    """Keep the status of the case or topic run by this instance in step with where the instance stands
    (`case`: the case it runs, when the caller has it, else it is looked up)."""
    if not any(p.get("status") or p.get("record") for p in properties.values()):
        return  # a process that drives no business record
    case = case or repos.case_by_instance(instance.id)
    topic = repos.topic_by_instance(instance.id) if case is None else None
    record: m.Case | m.Topic | None = case or topic
    if record is None:
        return
    if instance.status == "running":
        open_statuses = [properties.get(t.bpmn_id, {}).get("status") for t in open_tasks]
        shown = next((s for s in open_statuses if s), None)
        if shown is None and topic is not None and topic.status == "published":
            return  # waiting for the effective date
        if shown is not None and record.status != shown:
            record.status, record.updated_at = shown, now
    elif instance.status == "completed":
        if case is not None and case.status != "whitelisted":
            case.status, case.closed_at, case.updated_at = "closed", now, now
        if topic is not None and topic.status != "active":
            for older in repos.active_topics(topic.code):
                older.status, older.updated_at = "superseded", now
            topic.status, topic.updated_at = "active", now
    elif instance.status in ("cancelled", "error") and record.status != instance.status:
        record.status, record.updated_at = instance.status, now


def known(name: str) -> bool:
    return name in RECORDERS
