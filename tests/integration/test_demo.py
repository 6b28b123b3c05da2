"""`auditloop demo` on an empty database gives the organisation, topics and cases the README promises."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from cli.demo import DEMO_PASSWORD, PEOPLE, load_demo
from engine.domain.views import Actor
from engine.services import cases, instances, tasks, topics, users

ROOT = Path(__file__).resolve().parent.parent.parent


def test_demo_builds_a_living_system_once(engine):
    lines: list[str] = []
    load_demo(engine, ROOT, echo=lines.append)
    units = users.list_units(engine.uow())
    assert [u.level for u in units].count("city") == 1
    assert [u.level for u in units].count("district") == 3 and [u.level for u in units].count("station") == 6
    assert len(PEOPLE) >= 15 and any(DEMO_PASSWORD in line for line in lines)
    assert [t.status for t in topics.list_topics(engine.uow())] == ["active"] * 3
    admin = Actor("root", frozenset({"admin"}))
    page = cases.list_cases(engine.uow(), actor=admin, limit=100)
    assert page.total == 34  # 30 driven through their steps, 4 raised by the anomaly batch
    intake = [c for c in page.items if c.source != "营销系统监控"]
    assert len(intake) == 4 and {c.topic_code for c in intake} == {"METER-02"}
    assert {c.status for c in intake} == {"handling"}  # dispatched by the topic's rule, straight to handling
    assert any("4 raised cases" in line and "1 rejected" in line for line in lines)
    assert {c.status for c in page.items} == {
        "dispatching",
        "handling",
        "reviewing",
        "rectifying",
        "archiving",
        "closed",
    }
    assert tasks.list_tasks(engine.uow(), actor=admin, time_state="red").total > 0  # some are overdue
    handler = users.authenticate(engine.uow(), username="h_dong1", password=DEMO_PASSWORD, now=engine.now())
    assert tasks.list_tasks(engine.uow(), actor=handler).total > 0
    with pytest.raises(click.ClickException, match="already has an organisation"):
        load_demo(engine, ROOT, echo=lines.append)


def test_the_demo_history_lies_in_the_past(engine):
    """Every step the demo completes happened before the moment it ran (no case was closed tomorrow)."""
    load_demo(engine, ROOT, echo=lambda _line: None)
    admin = Actor("root", frozenset({"admin"}))
    now = engine.now()
    for case in cases.list_cases(engine.uow(), actor=admin, limit=100).items:
        assert case.instance_id is not None
        view = instances.get_instance(engine.uow(), instance_id=case.instance_id, actor=admin)
        assert view.updated_at <= now, view.business_key
        assert all(event.at <= now for event in view.history), view.business_key
