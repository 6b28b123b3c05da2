"""The board API as a supervisor: drill from the city to a station, pick red items, urge them; assignees see it."""

from __future__ import annotations

from engine.scheduler import jobs
from engine.services import cases, instances, tasks, users
from tests.helpers import build_org, deploy_processes
from tests.web.conftest import bearer


def test_supervisor_drills_down_and_urges_the_red_items(client, engine, clock):
    deploy_processes(engine)
    org = build_org(engine)
    for unit, handler in (("JC-DONG-1", "h_dong1"), ("JC-DONG-1", "h_dong1"), ("JC-DONG-2", "h_dong2")):
        case = cases.raise_case(
            engine.uow(),
            target=f"T{handler}{unit}",
            anomaly="a",
            risk_level=1,
            unit_code="JC",
            actor=org["auditor"],
            now=engine.now(),
        )
        view = instances.get_instance(engine.uow(), instance_id=case.instance_id, actor=org["admin"])
        tasks.complete_task(
            engine.uow(),
            task_id=view.tasks[0].id,
            data={"unit": unit, "handler": handler},
            actor=org["dispatcher"],
            now=engine.now(),
        )
        clock.advance(minutes=1)
    clock.advance(days=6)
    jobs.tick(engine)
    sup = bearer(users.create_token(engine.uow(), username="supervisor", now=engine.now()))
    handler = bearer(users.create_token(engine.uow(), username="h_dong1", now=engine.now()))
    assert client.get("/api/v1/board", headers=handler).status_code == 403
    city = client.get("/api/v1/board?group_by=unit&unit=JC", headers=sup).json
    assert city[0]["key"] == "JC-DONG" and city[0]["red"] == 3
    station = client.get("/api/v1/board?group_by=unit&unit=JC-DONG", headers=sup).json
    assert [(r["key"], r["red"]) for r in station] == [("JC-DONG-1", 2), ("JC-DONG-2", 1)]
    items = client.get("/api/v1/board/items?unit=JC-DONG&time_state=red", headers=sup).json
    ids = [t["id"] for t in items["items"]]
    assert items["total"] == 3
    report = client.post("/api/v1/bulk/urge", json={"task_ids": ids, "message": "今天处理"}, headers=sup).json
    assert [r["result"] for r in report["results"]] == ["urged"] * 3
    mine = client.get("/api/v1/reminders", headers=handler).json["items"]
    assert sum(r["title"].startswith("催办") for r in mine) == 2
    back = client.post("/api/v1/bulk/reassign", json={"task_ids": ids[:1], "to": None}, headers=sup).json
    assert back["results"][0]["result"] == "reassigned"
    assert client.get("/api/v1/board?group_by=colour", headers=sup).status_code == 422
