"""The API of instance diagrams and version moves: who may, dry run vs move, per-instance reports, 409s."""

from __future__ import annotations

from engine.domain.views import Actor
from engine.services import instances, tasks
from tests.helpers import deploy_xml, task
from tests.integration.test_version_moves import steps_process
from tests.web.conftest import bearer

ROOT = Actor("root", frozenset({"admin"}))
ALICE = Actor("alice", frozenset({"clerk"}))


def _two_versions(engine):
    deploy_xml(engine, ROOT, steps_process("moving", ["Task_a", "Task_b"]))
    on_a = instances.start_instance(engine.uow(), process_key="moving", actor=ALICE, now=engine.now())
    on_b = instances.start_instance(engine.uow(), process_key="moving", actor=ALICE, now=engine.now())
    tasks.complete_task(engine.uow(), task_id=task(on_b, "Task_a").id, data={}, actor=ALICE, now=engine.now())
    deploy_xml(engine, ROOT, steps_process("moving", ["Task_a", "Task_c"]))
    return on_a, on_b


def test_dry_run_reports_and_changes_nothing_then_the_move_moves_the_movable(client, engine, tokens):
    on_a, on_b = _two_versions(engine)
    url = "/api/v1/definitions/moving/migrations"
    dry = client.post(url, json={"from_version": 1, "to_version": 2}, headers=bearer(tokens["root"]))
    assert dry.status_code == 200
    body = dry.get_json()
    assert body["dry_run"] is True
    results = {r["instance_id"]: r for r in body["results"]}
    assert results[on_a.id]["result"] == "movable" and results[on_a.id]["open_steps"] == ["Task_a"]
    assert results[on_b.id]["result"] == "refused"
    assert results[on_b.id]["reasons"] == [
        {"code": "open_step_missing", "element_id": "Task_b", "message": "open step Task_b does not exist in version 2"}
    ]
    seen = client.get(f"/api/v1/instances/{on_a.id}", headers=bearer(tokens["root"])).get_json()
    assert seen["version"] == 1

    moved = client.post(
        url, json={"from_version": 1, "to_version": 2, "dry_run": False}, headers=bearer(tokens["root"])
    )
    assert {r["instance_id"]: r["result"] for r in moved.get_json()["results"]} == {
        on_a.id: "moved",
        on_b.id: "refused",
    }
    assert client.get(f"/api/v1/instances/{on_a.id}", headers=bearer(tokens["root"])).get_json()["version"] == 2


def test_moving_needs_the_role_and_valid_versions(client, engine, tokens):
    _two_versions(engine)
    url = "/api/v1/definitions/moving/migrations"
    assert (
        client.post(url, json={"from_version": 1, "to_version": 2}, headers=bearer(tokens["alice"])).status_code == 403
    )
    backwards = client.post(url, json={"from_version": 2, "to_version": 1}, headers=bearer(tokens["root"]))
    assert backwards.status_code == 422 and "to_version" in backwards.get_json()["error"]["details"]["fields"]
    unknown = client.post(url, json={"from_version": 1, "to_version": 9}, headers=bearer(tokens["root"]))
    assert unknown.status_code == 404
    extra = client.post(url, json={"from_version": 1, "to_version": 2, "bogus": 1}, headers=bearer(tokens["root"]))
    assert extra.status_code == 422


def test_one_instance_moves_or_gets_a_clear_409(client, engine, tokens):
    on_a, on_b = _two_versions(engine)
    refused = client.post(f"/api/v1/instances/{on_b.id}/move", json={"to_version": 2}, headers=bearer(tokens["root"]))
    assert refused.status_code == 409
    assert refused.get_json()["error"]["details"]["reasons"][0]["element_id"] == "Task_b"
    dry = client.post(
        f"/api/v1/instances/{on_a.id}/move", json={"to_version": 2, "dry_run": True}, headers=bearer(tokens["root"])
    ).get_json()
    assert dry["result"] == "movable"
    tasks.complete_task(engine.uow(), task_id=task(on_a, "Task_a").id, data={}, actor=ALICE, now=engine.now())
    stale = client.post(
        f"/api/v1/instances/{on_a.id}/move",
        json={"to_version": 2, "expected_lock": dry["lock"]},
        headers=bearer(tokens["root"]),
    )
    assert stale.status_code == 409 and "changed since the dry run" in stale.get_json()["error"]["message"]


def test_the_diagram_state_of_an_instance(client, engine, tokens):
    _on_a, on_b = _two_versions(engine)
    doc = client.get(f"/api/v1/instances/{on_b.id}/diagram", headers=bearer(tokens["root"])).get_json()
    states = {e["bpmn_id"]: (e["state"], e["time_state"]) for e in doc["elements"]}
    assert states["Start_1"] == ("completed", None)
    assert states["Task_a"] == ("completed", None)
    assert states["Task_b"] == ("active", "green")
    assert doc["version"] == 1 and doc["called"] == []
    assert client.get(f"/api/v1/instances/{on_b.id}/diagram", headers=bearer(tokens["bob"])).status_code == 404
