"""The closed loop through the JSON API only, each step as the right person with their own token."""

from __future__ import annotations

import io

import pytest

from engine.services import users
from tests.helpers import build_org, deploy_processes, publish_topic
from tests.web.conftest import bearer


@pytest.fixture
def people(engine):
    deploy_processes(engine)
    org = build_org(engine)
    publish_topic(engine, org, "METER-02")
    return {name: bearer(users.create_token(engine.uow(), username=name, now=engine.now())) for name in org}


def _step(client, who, case_id, step):
    case = client.get(f"/api/v1/cases/{case_id}", headers=who).json
    [task] = [t for t in case["instance"]["tasks"] if t["bpmn_id"] == step]
    inbox = client.get("/api/v1/tasks", headers=who).json
    assert task["id"] in [t["id"] for t in inbox["items"]]
    return task["id"]


def _complete(client, who, case_id, step, data, status=200):
    response = client.post(
        f"/api/v1/tasks/{_step(client, who, case_id, step)}/complete", headers=who, json={"data": data}
    )
    assert response.status_code == status, response.json
    return response


def _upload(client, who, case_id, step, doc_type):
    response = client.post(
        f"/api/v1/cases/{case_id}/documents",
        headers=who,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"%PDF-1.4 test"), f"{doc_type}.pdf"), "doc_type": doc_type, "step": step},
    )
    assert response.status_code == 201, response.json
    return response.json


def test_one_case_through_the_loop_over_http(client, people):
    p = people
    assert {u["code"] for u in client.get("/api/v1/units", headers=p["h_dong1"]).json} >= {"JC", "JC-DONG-1"}
    assert [t["status"] for t in client.get("/api/v1/topics", headers=p["auditor"]).json] == ["active"]
    raised = client.post(
        "/api/v1/cases",
        headers=p["auditor"],
        json={"topic": "METER-02", "target": "M-778", "anomaly": "倍率异常", "risk_level": 1, "unit": "JC"},
    )
    assert raised.status_code == 201, raised.json
    case_id = raised.json["id"]
    assert raised.json["case_no"].startswith("JC-") and raised.json["status"] == "dispatching"
    _complete(client, p["dispatcher"], case_id, "dispatch", {"unit": "JC-BEI-2", "handler": "h_bei2"})
    assert client.get(f"/api/v1/cases/{case_id}", headers=p["h_dong1"]).status_code == 403
    handling = {"findings": "倍率错误", "cause": "装表错误", "is_false_positive": False, "needs_rectification": True}
    refused = _complete(client, p["h_bei2"], case_id, "handle", handling, status=422)
    assert "investigation_report" in str(refused.json["error"]["details"]["fields"]["documents"])
    doc = _upload(client, p["h_bei2"], case_id, "handle", "investigation_report")
    assert doc["doc_no"].startswith("DOC-") and doc["sha256"]
    svg = client.get(doc["barcode"], headers=p["h_bei2"])
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert client.get(doc["download"], headers=p["h_bei2"]).data == b"%PDF-1.4 test"
    _complete(client, p["h_bei2"], case_id, "handle", handling)
    _complete(client, p["reviewer"], case_id, "review_result", {"approved": True})
    _complete(client, p["reviewer"], case_id, "notice", {"notice": "更换互感器", "deadline_days": 5})
    for verdict in ("rejected", "accepted"):
        _upload(client, p["h_bei2"], case_id, "measures", "rectification_evidence")
        _complete(client, p["h_bei2"], case_id, "measures", {"measures": "已更换", "evidence": "照片"})
        _complete(client, p["reviewer"], case_id, "rectification_review", {"verdict": verdict})
    waived = client.post(
        f"/api/v1/instances/{raised.json['instance_id']}/waivers",
        headers=p["reviewer"],
        json={"step": "archive", "doc_type": "archive_dossier", "reason": "电子档案已在系统中"},
    )
    assert waived.status_code == 201
    _complete(client, p["archivist"], case_id, "archive", {"received": True})
    final = client.get(f"/api/v1/cases/{case_id}", headers=p["head_bei"]).json
    assert final["status"] == "closed" and [r["verdict"] for r in final["rounds"]] == ["rejected", "accepted"]
    kinds = [h["kind"] for h in final["instance"]["history"]]
    assert "document_waived" in kinds and kinds[-1] == "completed"


def test_loop_api_refuses_clearly(client, people):
    p = people
    bad = client.post(
        "/api/v1/cases", headers=p["auditor"], json={"target": "", "anomaly": "", "risk_level": 9, "unit": "NOPE"}
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]["fields"]) >= {"target", "anomaly", "risk_level"}
    assert (
        client.post(
            "/api/v1/cases",
            headers=p["h_dong1"],
            json={"target": "x", "anomaly": "y", "risk_level": 2, "unit": "JC-DONG-1"},
        ).status_code
        == 403
    )
    assert client.post("/api/v1/units", headers=p["auditor"], json={"code": "X", "name": "X"}).status_code == 403
    taken = client.post(
        "/api/v1/topics", headers=p["auditor"], json={"code": "METER-02", "name": "again", "business_area": "metering"}
    )
    assert taken.status_code == 409
    assert client.get("/api/v1/cases/999", headers=p["auditor"]).status_code == 404
