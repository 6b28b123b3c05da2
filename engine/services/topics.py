"""Audit topics: draft one (starting topic_approval), revise an active one as a new version, retire, read, list."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from engine.domain.errors import ConflictError, InvalidStateError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.views import Actor, TopicView
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history
from engine.services.instances import start_in_transaction

TOPIC_PROCESS = "topic_approval"
BUSINESS_AREAS = ("tariff", "new_connection", "metering", "inspection", "customer_service", "data_quality", "other")
CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,63}$")
DRAFTING_ROLES = frozenset({"auditor", "admin"})


def create_topic(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    business_area: str,
    actor: Actor,
    now: dt.datetime,
    criteria: str = "",
    thresholds: dict[str, Any] | None = None,
    data_source: str = "",
    scope: list[str] | None = None,
    argument: str = "",
    effective_date: dt.date | None = None,
) -> TopicView:
    """Draft a new topic (version 1) and start its approval; the drafter works the first step."""
    if not actor.roles & DRAFTING_ROLES:
        raise PermissionDeniedError("only auditors and admins may draft audit topics")
    problems: dict[str, list[str]] = {}
    if not CODE.match(code or ""):
        problems["code"] = ["2–64 capitals, digits, _ or -, starting with a letter (e.g. TARIFF-01)"]
    if not name or len(name) > 200:
        problems["name"] = ["a name of at most 200 characters"]
    if business_area not in BUSINESS_AREAS:
        problems["business_area"] = [f"one of {', '.join(BUSINESS_AREAS)}"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        if repos.topic_versions(code):
            raise ConflictError(f"topic {code} exists; revise it instead", {"fields": {"code": ["already taken"]}})
        bad_units = [u for u in scope or [] if repos.unit(u) is None]
        if bad_units:
            raise ValidationError({"scope": [f"no unit {u}" for u in bad_units]})
        topic = _new_version(
            repos,
            code=code,
            version=1,
            name=name,
            business_area=business_area,
            criteria=criteria,
            thresholds=thresholds or {},
            data_source=data_source,
            scope=scope or [],
            argument=argument,
            effective_date=effective_date,
            actor=actor,
            now=now,
        )
        return topic_view(topic)


def revise_topic(uow: UnitOfWork, *, code: str, actor: Actor, now: dt.datetime) -> TopicView:
    """Start version n+1 of an active topic, through the same approval; n stays active until n+1 is."""
    if not actor.roles & DRAFTING_ROLES:
        raise PermissionDeniedError("only auditors and admins may revise audit topics")
    with uow as repos:
        versions = repos.topic_versions(code)
        if not versions:
            raise NotFoundError(f"no topic {code}")
        latest = versions[-1]
        if latest.status not in ("active", "retired", "superseded"):
            raise InvalidStateError(f"version {latest.version} of {code} is still {latest.status}")
        topic = _new_version(
            repos,
            code=code,
            version=latest.version + 1,
            name=latest.name,
            business_area=latest.business_area,
            criteria=latest.criteria,
            thresholds=json.loads(latest.thresholds_json),
            data_source=latest.data_source,
            scope=json.loads(latest.scope_json),
            argument=latest.argument,
            effective_date=None,
            actor=actor,
            now=now,
        )
        return topic_view(topic)


def retire_topic(uow: UnitOfWork, *, code: str, actor: Actor, now: dt.datetime, reason: str) -> TopicView:
    """Admin: an active topic stops raising cases."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may retire a topic")
    if not reason or not reason.strip():
        raise ValidationError({"reason": ["say why the topic is retired"]})
    with uow as repos:
        active = repos.active_topics(code)
        if not active:
            raise InvalidStateError(f"topic {code} has no active version")
        for topic in active:
            topic.status, topic.updated_at = "retired", now
        history.record(
            repos,
            kind="admin.topic.retired",
            at=now,
            actor=actor.username,
            message=f"{code}: {reason}",
            data={"before": {"status": "active"}, "after": {"status": "retired", "reason": reason}},
            subject=f"topic:{code}",
        )
        return topic_view(active[-1])


def get_topic(uow: UnitOfWork, *, topic_id: int) -> TopicView:
    with uow as repos:
        topic = repos.topic(topic_id)
        if topic is None:
            raise NotFoundError(f"no topic {topic_id}")
        return topic_view(topic)


def list_topics(uow: UnitOfWork, *, status: str | None = None) -> list[TopicView]:
    """Every version of every topic (newest version last per code)."""
    with uow as repos:
        return [topic_view(t) for t in repos.all_topics() if status is None or t.status == status]


def _new_version(
    repos: Repositories,
    *,
    code: str,
    version: int,
    name: str,
    business_area: str,
    criteria: str,
    thresholds: dict[str, Any],
    data_source: str,
    scope: list[str],
    argument: str,
    effective_date: dt.date | None,
    actor: Actor,
    now: dt.datetime,
) -> m.Topic:
    topic = m.Topic(
        code=code,
        version=version,
        name=name,
        business_area=business_area,
        criteria=criteria,
        thresholds_json=json.dumps(thresholds, ensure_ascii=False),
        data_source=data_source,
        scope_json=json.dumps(scope),
        argument=argument,
        effective_date=effective_date,
        status="draft",
        owner=actor.username,
        created_at=now,
        updated_at=now,
    )
    repos.add(topic)
    repos.flush()
    history.record(
        repos,
        kind="admin.topic.drafted" if version == 1 else "admin.topic.revised",
        at=now,
        actor=actor.username,
        message=f"{code} v{version}: {name}",
        data={"before": None, "after": {"version": version, "name": name, "status": "draft"}},
        subject=f"topic:{code}",
    )
    data = {
        "topic_id": topic.id,
        "topic_code": code,
        "name": name,
        "owner": actor.username,
        "unit": actor.unit_code or "",
    }
    if not data["unit"]:
        del data["unit"]
    start_in_transaction(
        repos,
        process_key=TOPIC_PROCESS,
        data=data,
        business_key=f"{code} v{version}",
        actor=actor.username,
        now=now,
        before_save=lambda instance_id: setattr(topic, "instance_id", instance_id),
    )
    return topic


def topic_view(t: m.Topic) -> TopicView:
    return TopicView(
        id=t.id,
        code=t.code,
        version=t.version,
        name=t.name,
        business_area=t.business_area,
        criteria=t.criteria,
        thresholds=json.loads(t.thresholds_json),
        data_source=t.data_source,
        scope=tuple(json.loads(t.scope_json)),
        argument=t.argument,
        effective_date=t.effective_date,
        status=t.status,
        owner=t.owner,
        instance_id=t.instance_id,
        created_at=t.created_at,
        published_at=t.published_at,
    )
