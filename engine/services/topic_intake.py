"""A topic's intake settings (thresholds, dispatch rule, SQL source) and its scheduled SQL checks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from engine.domain import anomalies as rules
from engine.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.views import Actor, TopicIntakeView
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.secret_box import SecretBox
from engine.persistence.sql_sources import check_url
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history

SETTING_ROLES = frozenset({"admin", "auditor"})
DEFAULT_EVERY_HOURS = 24.0
UNCHANGED = object()  # the SQL source URL is kept as it is


def get_intake(uow: UnitOfWork, *, topic_code: str, actor: Actor) -> TopicIntakeView:
    """The topic's intake settings (defaults when none were set); the source URL is never shown."""
    if not actor.roles & (SETTING_ROLES | {"dispatcher", "supervisor"}):
        raise PermissionDeniedError("only admins, auditors, dispatchers and supervisors see intake settings")
    with uow as repos:
        _topic(repos, topic_code)
        return _view(topic_code, repos.topic_intake(topic_code))


def set_intake(
    uow: UnitOfWork,
    *,
    topic_code: str,
    actor: Actor,
    now: dt.datetime,
    box: SecretBox,
    warn_at: float | None = None,
    raise_at: float | None = None,
    risk_level: int = 3,
    unit_map: dict[str, str] | None = None,
    assign_handler: bool = False,
    start_at_handle: bool = False,
    sql_url: Any = UNCHANGED,
    sql_query: str = "",
    check_every_hours: float = DEFAULT_EVERY_HOURS,
) -> TopicIntakeView:
    """Admins and auditors: replace the topic's intake settings; `sql_url` None removes the source."""
    if not actor.roles & SETTING_ROLES:
        raise PermissionDeniedError("only admins and auditors may change a topic's intake settings")
    problems: dict[str, list[str]] = {}
    for name, value in (("warn_at", warn_at), ("raise_at", raise_at)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems[name] = ["a number, or null when not used"]
    if not problems and warn_at is not None and raise_at is not None and warn_at > raise_at:
        problems["warn_at"] = ["must not be above raise_at"]
    if isinstance(risk_level, bool) or not isinstance(risk_level, int) or not 1 <= risk_level <= 4:
        problems["risk_level"] = ["1 (most serious) to 4"]
    if not isinstance(check_every_hours, int | float) or not 1 <= check_every_hours <= 24 * 31:
        problems["check_every_hours"] = ["1 to 744 hours"]
    if sql_url is not UNCHANGED and sql_url is not None:
        if not isinstance(sql_url, str) or not sql_url.strip():
            problems["sql_url"] = ["an SQLAlchemy URL, or null to remove the source"]
        else:
            problems.update({"sql_url": found} if (found := check_url(sql_url.strip())) else {})
    if sql_query:
        problems.update({"sql_query": found} if (found := rules.check_select(sql_query)) else {})
    with uow as repos:
        _topic(repos, topic_code)
        known = repos.unit_codes()
        bad = [f"{k} -> {v}" for k, v in (unit_map or {}).items() if not isinstance(v, str) or v not in known]
        if bad:
            problems["unit_map"] = [f"maps to no unit: {', '.join(bad)}"]
        row = repos.topic_intake(topic_code)
        has_source = (row is not None and row.sql_url_secret is not None) if sql_url is UNCHANGED else bool(sql_url)
        if has_source and not sql_query:
            problems["sql_query"] = ["a SQL source needs its SELECT query"]
        if problems:
            raise ValidationError(problems)
        before = _plain(_view(topic_code, row))
        if row is None:
            row = m.TopicIntake(topic_code=topic_code, updated_by=actor.username, updated_at=now)
            repos.add(row)
        row.warn_at = float(warn_at) if warn_at is not None else None
        row.raise_at = float(raise_at) if raise_at is not None else None
        row.risk_level = risk_level
        row.unit_map_json = json.dumps(unit_map or {}, ensure_ascii=False)
        row.assign_handler, row.start_at_handle = assign_handler, start_at_handle
        if sql_url is not UNCHANGED:
            row.sql_url_secret = box.seal(sql_url.strip()) if sql_url else None
        row.sql_query = sql_query.strip() if row.sql_url_secret else ""
        row.check_every_hours = float(check_every_hours)
        if row.sql_url_secret is None:
            row.next_check_at = None
        elif row.next_check_at is None or sql_url is not UNCHANGED:
            row.next_check_at = now  # a new source is checked at the next tick
        row.updated_by, row.updated_at = actor.username, now
        after = _view(topic_code, row)
        history.record(
            repos,
            kind="topic_intake_changed",
            at=now,
            actor=actor.username,
            instance_id=_topic(repos, topic_code).instance_id,
            message=topic_code,
            data={"before": before, "after": _plain(after)},  # the views hold no URL: nothing secret is logged
        )
        return after


def _topic(repos: Repositories, code: str) -> m.Topic:
    versions = repos.topic_versions(code)
    if not versions:
        raise NotFoundError(f"no topic {code}")
    active = [t for t in versions if t.status == "active"]
    return active[-1] if active else versions[-1]


def _view(code: str, row: m.TopicIntake | None) -> TopicIntakeView:
    if row is None:
        row = m.TopicIntake(
            topic_code=code,
            risk_level=3,
            unit_map_json="{}",
            assign_handler=False,
            start_at_handle=False,
            sql_query="",
            check_every_hours=DEFAULT_EVERY_HOURS,
        )  # not added to the session: the defaults as a row
    return TopicIntakeView(
        topic_code=code,
        warn_at=row.warn_at,
        raise_at=row.raise_at,
        risk_level=row.risk_level,
        unit_map=json.loads(row.unit_map_json),
        assign_handler=row.assign_handler,
        start_at_handle=row.start_at_handle,
        has_sql_source=row.sql_url_secret is not None,
        sql_query=row.sql_query,
        check_every_hours=row.check_every_hours,
        next_check_at=row.next_check_at,
        last_check_at=row.last_check_at,
        last_check_error=row.last_check_error,
        updated_by=row.updated_by or None,
        updated_at=row.updated_at,
    )


def _plain(view: TopicIntakeView) -> dict[str, Any]:
    return {
        "warn_at": view.warn_at,
        "raise_at": view.raise_at,
        "risk_level": view.risk_level,
        "unit_map": view.unit_map,
        "assign_handler": view.assign_handler,
        "start_at_handle": view.start_at_handle,
        "has_sql_source": view.has_sql_source,
        "sql_query": view.sql_query,
        "check_every_hours": view.check_every_hours,
    }
