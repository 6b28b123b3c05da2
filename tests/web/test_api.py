"""The JSON API contract through the Flask test client: auth, deploy, start, inbox, complete, errors."""

from __future__ import annotations

import io

from tests.helpers import APPROVAL, linear_process
from tests.web.conftest import bearer


def _deploy(client, token, xml: bytes, **query):
    return client.post(
        "/api/v1/definitions",
        data=xml,
        headers={**bearer(token), "Content-Type": "application/xml"},
        query_string=query,
    )


def test_requests_without_a_valid_token_get_401_json(client, tokens):
    for response in (
        client.get("/api/v1/tasks"),
        client.get("/api/v1/tasks", headers=bearer("al_not-a-token")),
        client.get("/api/v1/tasks", headers={"Authorization": "Basic abc"}),
    ):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthenticated"
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_deploy_xml_body_and_multipart_then_same_content_is_same_version(client, tokens):
    first = _deploy(client, tokens["root"], APPROVAL.read_bytes())
    assert first.status_code == 201
    assert (first.json["key"], first.json["version"]) == ("expense_approval", 1)
    again = client.post(
        "/api/v1/definitions",
        headers=bearer(tokens["root"]),
        data={"file": (io.BytesIO(APPROVAL.read_bytes()), "two_lane_approval.bpmn")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 200 and again.json["version"] == 1
    listed = client.get("/api/v1/definitions", headers=bearer(tokens["alice"])).json
    assert listed[0]["key"] == "expense_approval" and listed[0]["latest_version"] == 1
    xml = client.get("/api/v1/definitions/expense_approval/versions/1/xml", headers=bearer(tokens["alice"]))
    assert xml.status_code == 200 and xml.data == APPROVAL.read_bytes()
    missing = client.get("/api/v1/definitions/expense_approval/versions/9", headers=bearer(tokens["alice"]))
    assert missing.status_code == 404


def test_invalid_diagram_is_refused_with_problems_and_nothing_stored(client, tokens):
    broken = APPROVAL.read_bytes().replace(b'targetRef="Task_review" />', b'targetRef="Task_missing" />')
    response = _deploy(client, tokens["root"], broken)
    assert response.status_code == 422
    problems = response.json["error"]["details"]["problems"]
    assert problems and all({"element_id", "line", "message"} <= set(p) for p in problems)
    assert client.get("/api/v1/definitions", headers=bearer(tokens["root"])).json == []
    not_xml = _deploy(client, tokens["root"], b"<bpmn:definitions")
    assert not_xml.status_code == 422 and not_xml.json["error"]["details"]["problems"][0]["line"] == 1


def test_clerk_may_not_deploy_and_condition_with_import_is_refused(client, tokens, tmp_path):
    assert _deploy(client, tokens["alice"], APPROVAL.read_bytes()).status_code == 403
    marker = tmp_path / "pwned"
    evil = linear_process("evil", condition=f"__import__('os').system('touch {marker}') == 0")
    response = _deploy(client, tokens["root"], evil.encode())
    assert response.status_code == 422
    assert any(p["element_id"] == "f_yes" for p in response.json["error"]["details"]["problems"])
    assert not marker.exists()


def test_the_whole_flow_through_the_api(client, tokens):
    forms = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted((APPROVAL.parent / "forms").glob("*.json"))]
    deployed = client.post(
        "/api/v1/definitions",
        headers=bearer(tokens["root"]),
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(APPROVAL.read_bytes()), APPROVAL.name), "forms": forms},
    )
    assert deployed.status_code == 201, deployed.json
    started = client.post(
        "/api/v1/instances",
        headers=bearer(tokens["alice"]),
        json={"process_key": "expense_approval", "business_key": "EXP-7", "data": {"n": 1}},
    )
    assert started.status_code == 201, started.json
    body = started.json
    assert body["status"] == "running" and body["version"] == 1
    [submit] = body["tasks"]
    assert submit["lane"] == "clerk" and submit["candidate_groups"] == ["clerk"] and submit["time_state"] == "green"
    assert submit["due_at"].endswith("+00:00")
    alice_inbox = client.get("/api/v1/tasks?scope=all", headers=bearer(tokens["alice"])).json
    bob_inbox = client.get("/api/v1/tasks", headers=bearer(tokens["bob"])).json
    assert [t["id"] for t in alice_inbox["items"]] == [submit["id"]] and bob_inbox["total"] == 0
    detail = client.get(f"/api/v1/tasks/{submit['id']}", headers=bearer(tokens["alice"])).json
    assert [f["name"] for f in detail["form"]["fields"]] == ["amount", "reason"]
    assert detail["documentation"] == "Enter the amount and the reason of the expense."
    url = f"/api/v1/tasks/{submit['id']}/complete"
    assert client.post(url, headers=bearer(tokens["bob"]), json={"data": {}}).status_code == 403
    invalid = client.post(url, headers=bearer(tokens["alice"]), json={"data": {"amount": "x"}})
    assert invalid.status_code == 422
    assert set(invalid.json["error"]["details"]["fields"]) == {"amount", "reason"}
    done = client.post(url, headers=bearer(tokens["alice"]), json={"data": {"amount": 3, "reason": "taxi"}})
    assert done.status_code == 200, done.json
    assert [t["bpmn_id"] for t in done.json["instance"]["tasks"]] == ["Task_review"]
    twice = client.post(url, headers=bearer(tokens["alice"]), json={"data": {"amount": 3, "reason": "taxi"}})
    assert twice.status_code == 409 and "already completed" in twice.json["error"]["message"]
    instance = client.get(f"/api/v1/instances/{body['id']}", headers=bearer(tokens["bob"])).json
    assert [h["kind"] for h in instance["history"]] == ["started", "task_completed"]
    page = client.get("/api/v1/instances?status=running", headers=bearer(tokens["root"])).json
    assert page["total"] == 1 and page["items"][0]["id"] == body["id"]


def test_bad_input_gets_clear_422_and_unknown_ids_404(client, tokens):
    headers = bearer(tokens["alice"])
    missing = client.post("/api/v1/instances", headers=headers, json={})
    assert missing.status_code == 422 and "process_key" in missing.json["error"]["details"]["fields"]
    unknown = client.post("/api/v1/instances", headers=headers, json={"process_key": "p", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json["error"]["details"]["fields"]
    not_json = client.post("/api/v1/instances", headers=headers, data="x", content_type="text/plain")
    assert not_json.status_code == 422
    assert client.post("/api/v1/instances", headers=headers, json={"process_key": "nope"}).status_code == 404
    assert client.get("/api/v1/tasks?scope=everything", headers=headers).status_code == 422
    assert client.get("/api/v1/tasks/does-not-exist", headers=headers).status_code == 404
    assert client.post("/api/v1/tasks/does-not-exist/complete", headers=headers, json={}).status_code == 404


def test_oversized_upload_is_413(client, tokens, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = _deploy(client, tokens["root"], b"<x>" + b" " * 2000 + b"</x>")
    assert response.status_code == 413 and response.json["error"]["code"]


def test_messages_endpoint_validates_and_reports_deliveries(client, tokens):
    response = client.post("/api/v1/messages", headers=bearer(tokens["root"]), json={"name": "nothing"})
    assert response.status_code == 200 and response.json == {"delivered_to": []}
    assert client.post("/api/v1/messages", headers=bearer(tokens["root"]), json={}).status_code == 422
