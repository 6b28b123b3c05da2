"""The modeler's pages, page JSON and API: roles checked server-side, drafts, validation, publishing, the list."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.services import users
from tests.helpers import ROOT
from tests.web.conftest import bearer
from tests.web.test_pages import (  # noqa: F401  - shared fixtures
    csrf_token,
    engine,
    raise_dispatched_case,
    seeded_database,
    signed_in,
)

CASE_XML = (ROOT / "processes" / "audit_case" / "audit_case.bpmn").read_text(encoding="utf-8")
LIMIT = '<spiffworkflow:property name="timeLimit" value="P1D" />'
BAD_LIMIT = CASE_XML.replace(LIMIT, '<spiffworkflow:property name="timeLimit" value="3 days" />')
TWO_DAYS = CASE_XML.replace(LIMIT, '<spiffworkflow:property name="timeLimit" value="P2D" />')
PAGES = ["/definitions", "/modeler", "/modeler?key=audit_case&version=1", "/modeler/compare?key=audit_case&a=1&b=1"]


def _json(client: FlaskClient, url: str, body: dict[str, Any], token: str) -> Any:
    return client.post(url, json=body, headers={"X-CSRFToken": token, "Accept": "application/json"})


def _page_token(client: FlaskClient) -> str:
    return csrf_token(client.get("/definitions").text)


@pytest.fixture
def owner(app: Any) -> FlaskClient:
    return signed_in(app, "owner")


def test_staff_get_403_on_every_modeler_page_and_json_route(app: Any) -> None:
    for staff in ("auditor", "supervisor", "dispatcher", "h_dong1"):
        client = signed_in(app, staff)
        assert 'href="/definitions"' not in client.get("/inbox").text
        for url in [*PAGES, "/definitions/audit_case/versions/1.bpmn"]:
            assert client.get(url).status_code == 403, (staff, url)
        token = csrf_token(client.get("/inbox").text)
        for url in ("/modeler/validate", "/modeler/drafts", "/modeler/publish"):
            answer = _json(client, url, {"xml": CASE_XML, "name": "x", "comment": "x"}, token)
            assert answer.status_code == 403, (staff, url)
        assert client.post("/modeler/drafts/1/discard", data={"csrf_token": token}).status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/modeler").status_code == 302


def test_owners_and_admins_open_the_pages(app: Any) -> None:
    for who in ("owner", "admin"):
        client = signed_in(app, who)
        assert 'href="/definitions"' in client.get("/inbox").text
        for url in PAGES:
            page = client.get(url)
            assert page.status_code == 200, (who, url)
            assert ("vendor/modeler.bundle.js" in page.text) == url.startswith("/modeler")
        xml = client.get("/definitions/audit_case/versions/1.bpmn")
        assert xml.status_code == 200 and xml.mimetype == "application/xml" and xml.text == CASE_XML
        assert "sandbox" in xml.headers["Content-Security-Policy"]
        assert (
            "attachment"
            in client.get("/definitions/audit_case/versions/1.bpmn?download=1").headers["Content-Disposition"]
        )
    assert signed_in(app, "owner").get("/modeler?key=nothing&version=1").status_code == 404


def test_validation_answers_problems_with_element_and_line_and_needs_the_csrf_header(owner: FlaskClient) -> None:
    token = _page_token(owner)
    refused = owner.post("/modeler/validate", json={"xml": BAD_LIMIT}, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    report = _json(owner, "/modeler/validate", {"xml": BAD_LIMIT}, token).get_json()
    assert report["is_valid"] is False
    [problem] = report["problems"]
    assert problem["element_id"] == "dispatch" and problem["line"] > 1 and "time limit" in problem["message"]
    assert _json(owner, "/modeler/validate", {"xml": CASE_XML}, token).get_json()["is_valid"] is True


def test_a_draft_is_saved_listed_resumed_and_discarded(owner: FlaskClient, app: Any) -> None:
    token = _page_token(owner)
    body = {"xml": TWO_DAYS, "name": "两天派工", "process_key": "audit_case", "base_version": 1}
    created = _json(owner, "/modeler/drafts", body, token)
    assert created.status_code == 201
    draft_id = created.get_json()["id"]
    updated = _json(owner, "/modeler/drafts", {**body, "draft_id": draft_id, "name": "两天派工 v2"}, token)
    assert updated.status_code == 200 and updated.get_json()["id"] == draft_id
    listing = owner.get("/definitions").text
    assert "两天派工 v2" in listing and f"/modeler?draft={draft_id}" in listing
    assert owner.get(f"/modeler?draft={draft_id}").status_code == 200
    assert owner.get(f"/modeler/drafts/{draft_id}.bpmn").text == TWO_DAYS
    assert signed_in(app, "admin").get(f"/modeler/drafts/{draft_id}.bpmn").status_code == 404
    gone = owner.post(f"/modeler/drafts/{draft_id}/discard", data={"csrf_token": token})
    assert gone.status_code == 302
    assert "两天派工" not in owner.get("/definitions").text


def test_publishing_shows_version_two_with_its_comment_and_counts(owner: FlaskClient, engine: Any) -> None:  # noqa: F811
    raise_dispatched_case(engine)  # a case runs on v1
    token = _page_token(owner)
    no_comment = _json(owner, "/modeler/publish", {"xml": TWO_DAYS, "comment": " "}, token)
    assert no_comment.status_code == 422
    refused = _json(owner, "/modeler/publish", {"xml": BAD_LIMIT, "comment": "bad"}, token)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"]["problems"][0]["element_id"] == "dispatch"
    published = _json(owner, "/modeler/publish", {"xml": TWO_DAYS, "comment": "派工时限改为两天"}, token)
    assert published.status_code == 201
    assert published.get_json()["published"] == [{"key": "audit_case", "version": 2, "is_new": True}]
    listing = owner.get("/definitions").text
    assert "派工时限改为两天" in listing and 'data-version="2"' in listing
    assert "/modeler/compare?key=audit_case&amp;a=1&amp;b=2" in listing
    # v1 still runs the seeded case: the list offers to move it onto v2 (the dry run comes first there).
    assert "/definitions/audit_case/migrations?from_version=1&amp;to_version=2" in listing
    assert "/definitions/audit_case/migrations?from_version=2" not in listing


def test_the_api_keeps_drafts_per_owner_and_publishes_them(app: Any, engine: Any) -> None:  # noqa: F811
    client = app.test_client()
    owner = bearer(users.create_token(engine.uow(), username="owner", now=engine.now()))
    staff = bearer(users.create_token(engine.uow(), username="auditor", now=engine.now()))
    admin = bearer(users.create_token(engine.uow(), username="admin", now=engine.now()))
    for method, url in (
        ("get", "/api/v1/drafts"),
        ("post", "/api/v1/drafts"),
        ("post", "/api/v1/definitions/validate"),
    ):
        assert getattr(client, method)(url, json={"xml": CASE_XML, "name": "x"}, headers=staff).status_code == 403

    report = client.post("/api/v1/definitions/validate", json={"xml": BAD_LIMIT}, headers=owner).get_json()
    assert [p["element_id"] for p in report["problems"]] == ["dispatch"]
    assert client.post("/api/v1/definitions/validate", json={"xml": 1}, headers=owner).status_code == 422

    created = client.post(
        "/api/v1/drafts", json={"xml": BAD_LIMIT, "name": "draft", "process_key": "audit_case"}, headers=owner
    )
    assert created.status_code == 201
    draft_id = created.get_json()["id"]
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=admin).status_code == 404
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=owner).get_json()["xml"] == BAD_LIMIT
    refused = client.post(f"/api/v1/drafts/{draft_id}/publish", json={"comment": "try"}, headers=owner)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_process"
    assert (
        client.put(f"/api/v1/drafts/{draft_id}", json={"xml": TWO_DAYS, "name": "d"}, headers=owner).status_code == 200
    )
    published = client.post(f"/api/v1/drafts/{draft_id}/publish", json={"comment": "two days"}, headers=owner)
    assert published.status_code == 201 and published.get_json()["version"] == 2
    assert client.get("/api/v1/drafts", headers=owner).get_json() == []
    version = client.get("/api/v1/definitions/audit_case/versions/2", headers=owner).get_json()
    assert version["comment"] == "two days"

    again = client.post("/api/v1/drafts", json={"xml": TWO_DAYS, "name": "gone"}, headers=owner).get_json()
    assert client.delete(f"/api/v1/drafts/{again['id']}", headers=owner).status_code == 204
    assert client.delete(f"/api/v1/drafts/{again['id']}", headers=owner).status_code == 404
