"""The OpenAPI document covers every /api/v1 route, its references resolve, and it serialises to JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema

from engine.bootstrap import Engine
from engine.config import Settings
from engine.domain import reminders as reminder_rules
from engine.domain import units
from engine.domain.views import Actor, TaskView
from engine.services import cases, contracts, deadlines, documents, reminders, topics
from webui import create_app
from webui.api import openapi, schemas
from webui.api.openapi import openapi_document
from webui.api.serialize import task_json

PREFIX = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(Settings(database_url="sqlite:///" + str(tmp_path / "t.db"), scheduler_enabled=False))


def _flask_routes(app: Flask) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
        methods = {m.lower() for m in rule.methods or ()} & HTTP_METHODS
        routes.setdefault(path, set()).update(methods)
    return routes


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_registered_route_is_documented_with_its_methods(app: Flask) -> None:
    routes = _flask_routes(app)
    paths = openapi_document()["paths"]
    assert routes, "no /api/v1 routes registered"
    documented = {path: {m for m in ops if m in HTTP_METHODS} for path, ops in paths.items()}
    assert documented == routes


def test_operation_ids_are_the_flask_endpoints(app: Flask) -> None:
    rules = app.url_map.iter_rules()
    endpoints = {rule.endpoint.removeprefix("api.") for rule in rules if rule.endpoint.startswith("api.")}
    ids = [op["operationId"] for ops in openapi_document()["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert set(ids) == endpoints


def test_path_parameters_match_the_template() -> None:
    doc = openapi_document()
    for path, ops in doc["paths"].items():
        expected = set(re.findall(r"{([^}]+)}", path))
        for method, op in ops.items():
            params = [_resolve(doc, p) for p in op.get("parameters", [])]
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == expected, f"{method.upper()} {path}"
            assert all(p["required"] for p in params if p["in"] == "path")


def test_every_ref_resolves() -> None:
    doc = openapi_document()
    refs = set(_refs(doc))
    assert refs
    for reference in refs:
        assert reference.startswith("#/components/"), reference
        _resolve(doc, {"$ref": reference})


def test_required_components_exist() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name in (
        "Task",
        "Instance",
        "HistoryEvent",
        "Definition",
        "Version",
        "DeployResult",
        "TaskPage",
        "InstancePage",
        "Error",
        "StartInstance",
        "CompleteTask",
        "Message",
        "Retry",
        "Unit",
        "Topic",
        "Case",
        "CasePage",
        "RectificationRound",
        "Document",
        "Waiver",
        "AddUnit",
        "CreateTopic",
        "RetireTopic",
        "RaiseCase",
        "DocumentUpload",
        "WaiveDocument",
        "DocumentSummary",
        "Reminder",
        "ReminderList",
        "UrgeReport",
        "TimeLimitRule",
        "CalendarOverrides",
        "Contract",
        "Urge",
        "SetTimeLimitRule",
        "SetCalendarOverride",
        "PauseClock",
        "AddContract",
    ):
        assert name in schemas, name
    details = schemas["Error"]["properties"]["error"]["properties"]["details"]["properties"]
    assert {"problems", "fields"} <= set(details)
    assert set(schemas["Problem"]["properties"]) == {"element_id", "line", "message", "file"}


def test_security_is_global_except_for_the_document_itself() -> None:
    doc = openapi_document()
    assert doc["security"] == [{"bearerAuth": []}]
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, ops in doc["paths"].items():
        for op in ops.values():
            if path == "/openapi.json":
                assert op["security"] == []
                assert "401" not in op["responses"]
            else:
                assert "security" not in op
                assert "401" in op["responses"]


def test_complete_documents_its_refusals() -> None:
    responses = openapi_document()["paths"]["/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(responses)


def test_complete_names_missing_required_documents() -> None:
    responses = openapi_document()["paths"]["/tasks/{task_id}/complete"]["post"]["responses"]
    assert "details.fields.documents" in responses["422"]["description"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/units", "post", {"201", "401", "403", "409", "422"}),
        ("/topics", "post", {"201", "401", "403", "409", "422"}),
        ("/topics/{code}/revise", "post", {"201", "401", "403", "404", "409"}),
        ("/topics/{code}/retire", "post", {"200", "401", "403", "409", "422"}),
        ("/cases", "post", {"201", "401", "403", "409", "422"}),
        ("/cases/{case_id}", "get", {"200", "401", "403", "404"}),
        ("/cases/{case_id}/documents", "post", {"201", "401", "403", "404", "413", "422"}),
        ("/instances/{instance_id}/documents", "post", {"201", "401", "403", "404", "413", "422"}),
        ("/instances/{instance_id}/waivers", "post", {"201", "401", "403", "404", "422"}),
        ("/documents/{document_id}", "get", {"200", "401", "404"}),
        ("/barcodes/{number}.svg", "get", {"200", "401", "422"}),
        ("/reminders", "get", {"200", "401", "422"}),
        ("/reminders/{reminder_id}/ack", "post", {"200", "401", "404"}),
        ("/urge", "post", {"200", "401", "403", "422"}),
        ("/time-limit-rules", "put", {"200", "401", "403", "422"}),
        ("/calendar/overrides", "post", {"201", "401", "403", "422"}),
        ("/tasks/{task_id}/pause", "post", {"200", "401", "403", "404", "409", "422"}),
        ("/tasks/{task_id}/resume", "post", {"200", "401", "403", "404", "409"}),
        ("/contracts", "get", {"200", "401", "422"}),
        ("/contracts", "post", {"201", "401", "403", "409", "422"}),
    ],
)
def test_loop_routes_document_their_refusals(path: str, method: str, statuses: set[str]) -> None:
    assert statuses <= set(openapi_document()["paths"][path][method]["responses"])


def test_documents_upload_as_multipart_and_download_as_files() -> None:
    paths = openapi_document()["paths"]
    for path in ("/cases/{case_id}/documents", "/instances/{instance_id}/documents"):
        assert set(paths[path]["post"]["requestBody"]["content"]) == {"multipart/form-data"}
    upload = openapi_document()["components"]["schemas"]["DocumentUpload"]
    assert set(upload["properties"]) == {"doc_type", "step", "file"} == set(upload["required"])
    download = paths["/documents/{document_id}"]["get"]["responses"]["200"]
    assert set(download["content"]) == set(documents.ALLOWED_TYPES.values())
    assert "Content-Disposition" in download["headers"]
    assert set(paths["/barcodes/{number}.svg"]["get"]["responses"]["200"]["content"]) == {"image/svg+xml"}


def test_mirrored_engine_constants_are_equal() -> None:
    assert list(units.LEVELS) == openapi.UNIT_LEVELS
    assert list(topics.BUSINESS_AREAS) == openapi.BUSINESS_AREAS
    assert list(cases.KINDS) == openapi.CASE_KINDS
    assert openapi.DOCUMENT_TYPES == documents.ALLOWED_TYPES
    assert openapi.MAX_DOCUMENT_MB * 1024 * 1024 == documents.MAX_DOCUMENT_BYTES
    assert topics.CODE.pattern == openapi.TOPIC_CODE
    assert documents.DOC_TYPE.pattern == openapi.DOC_TYPE
    assert list(reminder_rules.CATEGORIES) == openapi.REMINDER_CATEGORIES
    assert list(deadlines.LIMIT_UNITS) == openapi.LIMIT_UNITS
    assert list(contracts.STATES) == openapi.CONTRACT_STATES


@pytest.mark.parametrize(
    ("component", "schema"),
    [
        ("StartInstance", schemas.StartInstanceSchema),
        ("CompleteTask", schemas.CompleteTaskSchema),
        ("Retry", schemas.RetrySchema),
        ("Cancel", schemas.CancelSchema),
        ("MoveInstances", schemas.MoveInstancesSchema),
        ("MoveInstance", schemas.MoveInstanceSchema),
        ("Message", schemas.MessageSchema),
        ("AddUnit", schemas.UnitSchema),
        ("CreateTopic", schemas.TopicSchema),
        ("RetireTopic", schemas.ReasonSchema),
        ("RaiseCase", schemas.CaseSchema),
        ("WaiveDocument", schemas.WaiverSchema),
        ("Urge", schemas.UrgeSchema),
        ("SetTimeLimitRule", schemas.RuleSchema),
        ("SetCalendarOverride", schemas.OverrideSchema),
        ("PauseClock", schemas.PauseSchema),
        ("AddContract", schemas.ContractSchema),
        ("NewUser", schemas.NewUserSchema),
        ("UserChange", schemas.UserChangeSchema),
        ("NewPassword", schemas.PasswordSchema),
        ("RenameUnit", schemas.UnitNameSchema),
        ("MoveUnit", schemas.UnitMoveSchema),
        ("NewToken", schemas.NewTokenSchema),
        ("SendAnomalies", schemas.AnomalyBatchSchema),
        ("SetTopicIntake", schemas.TopicIntakeSchema),
    ],
)
def test_request_bodies_match_their_marshmallow_schemas(component: str, schema: type[Schema]) -> None:
    documented = openapi_document()["components"]["schemas"][component]
    fields = schema().fields
    assert set(documented["properties"]) == set(fields)
    assert set(documented["required"]) == {name for name, field in fields.items() if field.required}
    assert documented["additionalProperties"] is False


def _properties(name: str) -> set[str]:
    return set(openapi_document()["components"]["schemas"][name]["properties"])


def test_task_detail_documents_every_key_of_a_full_task() -> None:
    doc = openapi_document()["components"]["schemas"]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    document = dataclasses.make_dataclass("Doc", ["id", "doc_no", "doc_type", "filename"])
    fields = dict.fromkeys(f.name for f in dataclasses.fields(TaskView) if f.default is dataclasses.MISSING)
    fields.update(candidate_groups=(), created_at=now, documents=(document(1, "DOC-2026-000001", "r", "a.pdf"),))
    view = TaskView(**fields)  # type: ignore[arg-type]
    full = task_json(view, full=True)
    extra = set(doc["TaskDetail"]["allOf"][1]["properties"])
    assert set(full) == _properties("Task") | extra
    assert {"data", "required_documents", "waived_documents", "documents"} <= extra
    assert set(full["documents"][0]) == _properties("DocumentSummary")


def test_time_limit_responses_document_every_key(engine: Engine, admin: Actor) -> None:
    assert _properties("Reminder") == {f.name for f in dataclasses.fields(reminders.ReminderView)}
    assert _properties("Contract") == {f.name for f in dataclasses.fields(contracts.ContractView)}
    counts = openapi_document()["components"]["schemas"]["ReminderList"]["properties"]["counts"]
    assert set(counts["properties"]) == set(counts["required"]) == set(reminder_rules.CATEGORIES)
    now = engine.now()
    rule = deadlines.put_rule(
        engine.uow(), process_key="p", step="*", limit_value=0.1, limit_unit="minutes", actor=admin, now=now
    )
    assert _properties("TimeLimitRule") == set(rule)
    assert [rule] == deadlines.list_rules(engine.uow())
    override = deadlines.set_override(
        engine.uow(), day=dt.date(2026, 10, 9), is_workday=False, note="", actor=admin, now=now
    )
    assert _properties("CalendarOverride") == set(override)
    overrides = deadlines.list_overrides(engine.uow())
    assert _properties("CalendarOverrides") == set(overrides)
    assert overrides["overrides"] == [override]


def test_document_is_json_and_cached() -> None:
    doc = openapi_document()
    assert doc is openapi_document()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "AuditLoop API"
    assert doc["servers"] == [{"url": "/api/v1"}]


def test_served_without_a_token(app: Flask) -> None:
    response = app.test_client().get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == openapi_document()


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> Any:
    reference = node.get("$ref")
    if reference is None:
        return node
    target: Any = doc
    for part in reference.removeprefix("#/").split("/"):
        assert isinstance(target, dict) and part in target, f"unresolved {reference}"
        target = target[part]
    return target
