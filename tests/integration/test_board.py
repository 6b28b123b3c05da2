"""The supervisors' board: counts by unit (drilled down the tree), topic, step and person; items; reassignment."""

from __future__ import annotations

import pytest

from cli.demo import complete_step
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.scheduler import jobs
from engine.services import board, cases, reminders, tasks
from tests.conftest import BOTH_DATABASES
from tests.helpers import build_org, deploy_processes, publish_topic

pytestmark = BOTH_DATABASES


@pytest.fixture
def org(engine):
    deploy_processes(engine)
    people = build_org(engine)
    publish_topic(engine, people, "METER-02")
    return people


def _dispatch(engine, org, unit, handler, topic=None):
    case = cases.raise_case(
        engine.uow(),
        topic_code=topic,
        target=f"T-{unit}-{handler}",
        anomaly="a",
        risk_level=2,
        unit_code="JC",
        actor=org["auditor"],
        now=engine.now(),
    )
    complete_step(
        engine, case.instance_id, "dispatch", org["dispatcher"], {"unit": unit, "handler": handler}, engine.now()
    )
    return case


def test_counts_drill_from_the_city_to_a_station(engine, org, clock):
    _dispatch(engine, org, "JC-DONG-1", "h_dong1", topic="METER-02")
    clock.advance(days=3)
    _dispatch(engine, org, "JC-DONG-2", "h_dong2")
    _dispatch(engine, org, "JC-XI-1", "h_xi1")
    clock.advance(days=3)  # the first handle step (5 days) is red now
    jobs.tick(engine)
    supervisor = org["supervisor"]
    city = {r["key"]: r for r in board.board(engine.uow(), actor=supervisor, group_by="unit")}
    assert list(city) == ["JC"] and city["JC"]["total"] == 3 and city["JC"]["red"] == 1
    districts = board.board(engine.uow(), actor=supervisor, group_by="unit", unit="JC")
    assert [(r["key"], r["red"], r["total"]) for r in districts][:2] == [("JC-DONG", 1, 2), ("JC-XI", 0, 1)]
    stations = board.board(engine.uow(), actor=supervisor, group_by="unit", unit="JC-DONG")
    assert [(r["key"], r["total"]) for r in stations] == [("JC-DONG-1", 1), ("JC-DONG-2", 1)]
    by_topic = {r["key"]: r["total"] for r in board.board(engine.uow(), actor=supervisor, group_by="topic")}
    assert by_topic == {"METER-02": 1, "": 2}
    by_person = {r["key"]: r["red"] for r in board.board(engine.uow(), actor=supervisor, group_by="person")}
    assert by_person == {"h_dong1": 1, "h_dong2": 0, "h_xi1": 0}
    [step] = board.board(engine.uow(), actor=supervisor, group_by="step")
    assert step["key"] == "handle" and step["total"] == 3
    red = board.board_items(engine.uow(), actor=supervisor, unit="JC-DONG", time_state="red")
    assert [t.assignee for t in red.items] == ["h_dong1"]
    with pytest.raises(PermissionDeniedError):
        board.board(engine.uow(), actor=org["h_dong1"], group_by="unit")
    with pytest.raises(ValidationError):
        board.board(engine.uow(), actor=supervisor, group_by="colour")


def test_bulk_urge_and_reassign_report_per_item(engine, org):
    _dispatch(engine, org, "JC-DONG-1", "h_dong1")
    _dispatch(engine, org, "JC-XI-1", "h_xi1")
    items = board.board_items(engine.uow(), actor=org["supervisor"]).items
    ids = [t.id for t in items]
    urged = reminders.urge(engine.uow(), actor=org["supervisor"], now=engine.now(), task_ids=ids)
    assert [r["result"] for r in urged] == ["urged", "urged"]
    dong = next(t for t in items if t.unit == "JC-DONG-1")
    results = tasks.reassign_tasks(
        engine.uow(),
        task_ids=[t.id for t in items],
        to_user="h_dong2",
        actor=org["supervisor"],
        now=engine.now(),
        reason="leave",
    )
    by_task = {r["task_id"]: r for r in results}
    assert by_task[dong.id]["result"] == "refused" and "outside unit JC-DONG-1" in by_task[dong.id]["reason"]
    # h_dong2 works in JC-DONG-2; a handler of the task's own station is needed
    ok = tasks.reassign_tasks(engine.uow(), task_ids=[dong.id], to_user=None, actor=org["supervisor"], now=engine.now())
    assert ok == [{"task_id": dong.id, "result": "reassigned", "to": None}]
    assert tasks.list_tasks(engine.uow(), actor=org["h_dong1"], scope="group").total == 1  # back in the group
    with pytest.raises(PermissionDeniedError):
        tasks.reassign_task(engine.uow(), task_id=dong.id, to_user="h_dong1", actor=org["h_dong1"], now=engine.now())
