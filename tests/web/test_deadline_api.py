"""Time-limit API: rules, a task crossing its thresholds with one reminder each, acks, urging, calendar, contracts."""

from __future__ import annotations

from engine.scheduler import jobs
from engine.services import users
from tests.helpers import APPROVAL
from tests.web.conftest import bearer


def test_a_seconds_long_rule_moves_a_task_through_its_states_with_one_reminder_each(client, engine, tokens, clock):
    root, alice, bob = (bearer(tokens[n]) for n in ("root", "alice", "bob"))
    client.post("/api/v1/definitions", data=APPROVAL.read_bytes(), headers={**root, "Content-Type": "application/xml"})
    rule = {"process_key": "expense_approval", "step": "Task_submit", "limit_value": 0.1, "limit_unit": "minutes"}
    assert client.put("/api/v1/time-limit-rules", json=rule, headers=alice).status_code == 403
    assert client.put("/api/v1/time-limit-rules", json=rule, headers=root).status_code == 200
    assert client.get("/api/v1/time-limit-rules", headers=alice).json[0]["limit_value"] == 0.1
    task = client.post("/api/v1/instances", json={"process_key": "expense_approval"}, headers=alice).json["tasks"][0]
    assert task["time_state"] == "green"
    states = []
    for seconds in (4.6, 1.5, 30):
        clock.advance(seconds=seconds)
        jobs.tick(engine)
        states.append(client.get(f"/api/v1/tasks/{task['id']}", headers=alice).json["time_state"])
    assert states == ["yellow", "red", "red"]
    mine = client.get("/api/v1/reminders?scope=mine", headers=alice).json
    assert len(mine["items"]) == 2 and mine["counts"]["time_limit_warning"] == 2
    ack = client.post(f"/api/v1/reminders/{mine['items'][0]['id']}/ack", headers=alice)
    assert ack.status_code == 200 and ack.json["acknowledged_at"]
    assert client.post(f"/api/v1/reminders/{mine['items'][1]['id']}/ack", headers=bob).status_code == 404
    assert len(client.get("/api/v1/reminders", headers=alice).json["items"]) == 1


def test_urge_calendar_and_contracts_over_http(client, engine, tokens):
    root, alice = bearer(tokens["root"]), bearer(tokens["alice"])
    assert client.post("/api/v1/urge", json={"task_ids": ["x"]}, headers=alice).status_code == 403
    urged = client.post("/api/v1/urge", json={"task_ids": ["x"]}, headers=root).json["results"]
    assert urged == [{"task_id": "x", "result": "refused", "reason": "no such task in your units"}]
    day = {"day": "2027-02-13", "is_workday": True, "note": "调休上班"}
    assert client.post("/api/v1/calendar/overrides", json=day, headers=alice).status_code == 403
    assert client.post("/api/v1/calendar/overrides", json=day, headers=root).status_code == 201
    overrides = client.get("/api/v1/calendar/overrides", headers=alice).json
    assert overrides["overrides"] == [day]
    users.add_unit(
        engine.uow(), code="C", name="City", actor=users.get_actor(engine.uow(), username="root"), now=engine.now()
    )
    contract = {
        "number": "HT-1",
        "customer": "张三",
        "unit": "C",
        "signed_on": "2025-11-30",
        "expires_on": "2026-12-13",
    }
    created = client.post("/api/v1/contracts", json=contract, headers=root)
    assert created.status_code == 201 and created.json["state"] == "reminder"
    assert client.post("/api/v1/contracts", json=contract, headers=root).status_code == 409
    assert [c["number"] for c in client.get("/api/v1/contracts?state=reminder", headers=root).json] == ["HT-1"]
    assert client.get("/api/v1/contracts?state=soon", headers=root).status_code == 422
