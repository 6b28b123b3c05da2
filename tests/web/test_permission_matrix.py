"""Who may call what: every Flask route (pages and API, every method) as every role, against an explicit table.

The table is the intended access. A route missing from it fails the test (a new route must say who may use it),
and so does a route whose answer differs. Each role works on its own copy of a seeded organisation (the built-in
processes, the demo people, an active topic, a case at its handling step with a document, a reminder, a
supervision order, a token), with real path parameters, and sends well-formed bodies, so that an allowed route
is really exercised and a refusal comes from the authorisation, not from bad input.

Outcomes: A = done (2xx, or a redirect other than to sign in), C = allowed but not now (409 for the object's state,
422 for its input: nothing changed), H = 404 (the object is not this person's to see, or the id is made up),
R = refused (401, 403, or a redirect to sign in). Never a 5xx. Allowed means A, C or H, never R.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import build_engine
from engine.config import Settings
from engine.domain.views import SYSTEM
from engine.services import documents, reminders, users
from tests.conftest import FakeClock
from tests.helpers import build_org, deploy_processes, deploy_xml, linear_process, publish_topic
from tests.web.test_pages import HANDLING, START, csrf_token, raise_dispatched_case
from webui import create_app

ROLES = ("anonymous", "handler", "reviewer", "supervisor", "process_owner", "auditor", "admin")
USERS = {
    "handler": "h_dong1",
    "reviewer": "reviewer",
    "supervisor": "supervisor",
    "process_owner": "owner",
    "auditor": "auditor",
    "admin": "admin",
}
PASSWORD = "demo-password"
FAKE_ID = 999_999

# fmt: off
# Intended access, one letter per role in the order of ROLES:
#   anonymous handler reviewer supervisor process_owner auditor admin
MATRIX: dict[tuple[str, str], str] = {
    # -- pages and the public routes -------------------------------------------------------------------------
    ("GET", "/"): "AAAAAAA",  # the start page, or a redirect to the inbox
    ("GET", "/documents/<doc_no>/barcode.svg"): "RAAAAAA",
    ("GET", "/documents/<int:document_id>"): "RAAAAAA",
    ("GET", "/healthz"): "AAAAAAA",
    ("GET", "/inbox"): "RAAAAAA",
    ("GET", "/instances/<instance_id>/diagram.xml"): "RAHAHAA",
    ("POST", "/language"): "AAAAAAA",
    ("GET", "/login"): "AAAAAAA",
    ("POST", "/login"): "AAAAAAA",
    ("POST", "/logout"): "AAAAAAA",
    ("GET", "/monitor"): "RRRARRA",
    ("GET", "/monitor/items"): "RRRARRA",
    ("POST", "/monitor/urge"): "RRRARRA",
    ("POST", "/reminders/<int:reminder_id>/ack"): "RAHHHHH",
    ("GET", "/static/<path:filename>"): "AAAAAAA",
    ("GET", "/tasks/<task_id>"): "RAHAHHA",
    ("POST", "/tasks/<task_id>/claim"): "RARRRRA",
    ("GET", "/tasks/<task_id>/complete"): "RAAAAAA",
    ("POST", "/tasks/<task_id>/complete"): "RCHRHHC",  # the API completed the task first: 409 for those who may work it
    ("GET", "/tasks/<task_id>/documents"): "RAAAAAA",
    ("POST", "/tasks/<task_id>/documents"): "RAHRHHA",
    ("POST", "/tasks/<task_id>/unclaim"): "RARRRRA",
    # -- admin pages: admins only ----------------------------------------------------------------------------
    ("GET", "/admin/"): "RRRRRRA",
    ("GET", "/admin/audit-log"): "RRRRRRA",
    ("GET", "/admin/roles"): "RRRRRRA",
    ("GET", "/admin/time-limits"): "RRRRRRA",
    ("POST", "/admin/time-limits/calendar"): "RRRRRRA",
    ("POST", "/admin/time-limits/rules"): "RRRRRRA",
    ("GET", "/admin/tokens"): "RRRRRRA",
    ("POST", "/admin/tokens"): "RRRRRRA",
    ("POST", "/admin/tokens/<int:token_id>/revoke"): "RRRRRRA",
    ("GET", "/admin/topics"): "RRRRRRA",
    ("POST", "/admin/topics"): "RRRRRRA",
    ("POST", "/admin/topics/<code>/retire"): "RRRRRRA",
    ("POST", "/admin/topics/<code>/revise"): "RRRRRRA",
    ("GET", "/admin/topics/new"): "RRRRRRA",
    ("GET", "/admin/units"): "RRRRRRA",
    ("POST", "/admin/units"): "RRRRRRA",
    ("GET", "/admin/units/<code>"): "RRRRRRA",
    ("POST", "/admin/units/<code>/move"): "RRRRRRA",
    ("POST", "/admin/units/<code>/rename"): "RRRRRRA",
    ("GET", "/admin/users"): "RRRRRRA",
    ("POST", "/admin/users"): "RRRRRRA",
    ("GET", "/admin/users/<username>"): "RRRRRRA",
    ("POST", "/admin/users/<username>"): "RRRRRRA",
    ("POST", "/admin/users/<username>/deactivate"): "RRRRRRA",
    ("POST", "/admin/users/<username>/password"): "RRRRRRA",
    ("POST", "/admin/users/<username>/reactivate"): "RRRRRRC",
    ("GET", "/admin/users/new"): "RRRRRRA",
    # -- the JSON API (bearer tokens) ------------------------------------------------------------------------
    ("GET", "/api/v1/archive-obligations"): "RAAAAAA",
    ("POST", "/api/v1/archive-obligations/<int:obligation_id>/receive"): "RRRRRRH",
    ("POST", "/api/v1/archive-obligations/<int:obligation_id>/return"): "RRRRRRH",
    ("GET", "/api/v1/audit-log"): "RRRRRRA",
    ("GET", "/api/v1/barcodes/<number>.svg"): "RAAAAAA",
    ("GET", "/api/v1/board"): "RRRARRA",
    ("GET", "/api/v1/board/items"): "RRRARRA",
    ("POST", "/api/v1/bulk/reassign"): "RRRARRA",
    ("POST", "/api/v1/bulk/urge"): "RRRARRA",
    ("GET", "/api/v1/calendar/overrides"): "RAAAAAA",
    ("POST", "/api/v1/calendar/overrides"): "RRRRRRA",
    ("GET", "/api/v1/cases"): "RAAAAAA",
    ("POST", "/api/v1/cases"): "RRRARAA",
    ("GET", "/api/v1/cases/<int:case_id>"): "RAAAAAA",
    # whoever works the step, and the filing roles (reviewer)
    ("POST", "/api/v1/cases/<int:case_id>/documents"): "RAARRRA",
    ("GET", "/api/v1/contracts"): "RAAAAAA",
    ("POST", "/api/v1/contracts"): "RARARRA",  # handlers, supervisors and admins record contracts
    ("GET", "/api/v1/definitions"): "RAAAAAA",
    ("POST", "/api/v1/definitions"): "RRRRARA",  # process owners and admins publish diagrams
    ("GET", "/api/v1/definitions/<key>/versions/<int:version>"): "RAAAAAA",
    ("GET", "/api/v1/definitions/<key>/versions/<int:version>/xml"): "RAAAAAA",
    ("GET", "/api/v1/documents/<int:document_id>"): "RAAAAAA",
    ("GET", "/api/v1/instances"): "RAAAAAA",
    # any signed-in person may start a process (no start rule in the design yet)
    ("POST", "/api/v1/instances"): "RAAAAAA",
    # the handler works it, the auditor started it; others are not told it exists
    ("GET", "/api/v1/instances/<instance_id>"): "RAHAHAA",
    ("POST", "/api/v1/instances/<instance_id>/cancel"): "RRHAHAA",  # admins, supervisors and whoever started it
    ("POST", "/api/v1/instances/<instance_id>/documents"): "RAARRRA",
    ("POST", "/api/v1/instances/<instance_id>/retry"): "RRRRRRC",
    ("POST", "/api/v1/instances/<instance_id>/waivers"): "RRARRRA",  # reviewers waive documents
    ("POST", "/api/v1/kpi-adjustments"): "RRRARRA",
    ("GET", "/api/v1/kpi-indicators"): "RAAAAAA",
    ("PUT", "/api/v1/kpi-indicators/<key>"): "RRRRRRA",
    ("GET", "/api/v1/kpis"): "RRRARRA",
    ("GET", "/api/v1/kpis/export.csv"): "RRRARRA",
    ("GET", "/api/v1/kpis/export.xlsx"): "RRRARRA",
    ("GET", "/api/v1/kpis/scores"): "RRRARRA",
    ("POST", "/api/v1/messages"): "RAAAAAA",  # answered for all; a message reaches only instances the caller may see
    ("GET", "/api/v1/openapi.json"): "AAAAAAA",
    ("GET", "/api/v1/reminders"): "RAAAAAA",
    ("POST", "/api/v1/reminders/<int:reminder_id>/ack"): "RAHHHHH",  # only its recipient (the handler was urged)
    ("GET", "/api/v1/roles"): "RRRRRRA",
    ("GET", "/api/v1/supervision-orders"): "RAAAAAA",
    ("POST", "/api/v1/supervision-orders"): "RRRARRA",
    ("POST", "/api/v1/supervision-orders/<int:order_id>/close"): "RRRARRA",
    ("GET", "/api/v1/tasks"): "RAAAAAA",
    ("GET", "/api/v1/tasks/<task_id>"): "RAHAHHA",  # the assignee, supervisors and admins
    ("POST", "/api/v1/tasks/<task_id>/claim"): "RARRRRC",
    ("POST", "/api/v1/tasks/<task_id>/complete"): "RARRRRA",
    ("POST", "/api/v1/tasks/<task_id>/pause"): "RARARRA",
    ("POST", "/api/v1/tasks/<task_id>/reassign"): "RRRCRRC",
    ("POST", "/api/v1/tasks/<task_id>/resume"): "RARARRA",
    ("POST", "/api/v1/tasks/<task_id>/unclaim"): "RARRRRA",
    ("GET", "/api/v1/time-limit-rules"): "RAAAAAA",
    ("PUT", "/api/v1/time-limit-rules"): "RRRRRRA",
    ("GET", "/api/v1/tokens"): "RRRRRRA",
    ("POST", "/api/v1/tokens"): "RRRRRRA",
    ("POST", "/api/v1/tokens/<int:token_id>/revoke"): "RRRRRRC",
    ("GET", "/api/v1/topics"): "RAAAAAA",
    ("POST", "/api/v1/topics"): "RRRRRAA",  # auditors and admins draft topics
    ("POST", "/api/v1/topics/<code>/retire"): "RRRRRRC",
    ("POST", "/api/v1/topics/<code>/revise"): "RRRRRAC",
    ("GET", "/api/v1/topics/<int:topic_id>"): "RAAAAAA",
    ("GET", "/api/v1/units"): "RAAAAAA",
    ("POST", "/api/v1/units"): "RRRRRRA",
    ("POST", "/api/v1/units/<code>/move"): "RRRRRRA",
    ("POST", "/api/v1/units/<code>/rename"): "RRRRRRA",
    ("POST", "/api/v1/urge"): "RRRARRA",
    ("GET", "/api/v1/users"): "RRRRRRA",
    ("POST", "/api/v1/users"): "RRRRRRA",
    ("GET", "/api/v1/users/<username>"): "RRRRRRA",
    ("PATCH", "/api/v1/users/<username>"): "RRRRRRA",
    ("POST", "/api/v1/users/<username>/deactivate"): "RRRRRRC",
    ("POST", "/api/v1/users/<username>/password"): "RRRRRRA",
    ("POST", "/api/v1/users/<username>/reactivate"): "RRRRRRC",
}
# fmt: on


@dataclass(frozen=True)
class Seed:
    """The ids of the seeded objects the routes are called with."""

    database: Path
    task_id: str
    instance_id: str
    case_id: int
    document_id: int
    doc_no: str
    reminder_id: int
    order_id: int
    token_id: int


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    path = tmp_path_factory.mktemp("matrix") / "seed.db"
    engine = build_engine(
        Settings(
            database_url=f"sqlite:///{path}",
            scheduler_enabled=False,
            secret_key="seed",
            documents_dir=str(path.parent / "documents"),
        ),
        clock=FakeClock(START),
    )
    engine.create_schema()
    deploy_processes(engine)
    deploy_xml(engine, SYSTEM, linear_process("probe", lane="handler"))
    people = build_org(engine)
    publish_topic(engine, people, "TARIFF-01")
    case, handle = raise_dispatched_case(engine)
    document = documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=handle.instance_id,
        step="handle",
        doc_type="investigation_report",
        filename="report.pdf",
        content=b"%PDF-1.4 report",
        actor=people["h_dong1"],
        now=engine.now(),
    )
    reminders.urge(engine.uow(), actor=people["supervisor"], now=engine.now(), task_ids=[handle.id])
    [reminder] = reminders.list_reminders(engine.uow(), actor=people["h_dong1"])
    order = reminders.raise_supervision_order(
        engine.uow(), case_id=case.id, reason="限期整改", actor=people["supervisor"], now=engine.now()
    )
    users.create_token(engine.uow(), username="h_bei2", name="to revoke", now=engine.now())
    [token] = users.list_tokens(engine.uow(), actor=SYSTEM, username="h_bei2")
    engine.dispose()
    return Seed(
        path, handle.id, handle.instance_id, case.id, document.id, document.doc_no, reminder.id, order.id, token.id
    )


def _value(name: str, rule: str, seed: Seed) -> str:
    """The real value of a path parameter for this rule (an id of the seeded organisation)."""
    if name == "code":
        return "JC-DONG-2" if "/units/" in rule else "TARIFF-01"
    if name == "key":
        return "audit_case" if "/definitions/" in rule else "step_completion_rate"
    values: dict[str, Any] = {
        "task_id": seed.task_id,
        "instance_id": seed.instance_id,
        "case_id": seed.case_id,
        "document_id": seed.document_id,
        "doc_no": seed.doc_no,
        "number": seed.doc_no,
        "reminder_id": seed.reminder_id,
        "order_id": seed.order_id,
        "token_id": seed.token_id,
        "topic_id": 1,
        "version": 1,
        "obligation_id": FAKE_ID,
        "username": "h_xi2",
        "filename": "css/app.css",
    }
    # A parameter of a route added later gets a made-up id (H for those allowed) until a real one is seeded here.
    return str(values.get(name, FAKE_ID))


def concrete_url(rule: str, seed: Seed) -> str:
    import re

    url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: _value(m.group(1), rule, seed), rule)
    queries = {
        "/api/v1/kpis": "period=2026-11",
        "/api/v1/kpis/export.csv": "period=2026-11",
        "/api/v1/kpis/export.xlsx": "period=2026-11",
        "/api/v1/kpis/scores": "period=2026-11",
    }
    return url + ("?" + queries[rule] if rule in queries else "")


def _upload() -> dict[str, Any]:
    return {"doc_type": "supporting_document", "step": "handle", "file": (io.BytesIO(b"%PDF-1.4 matrix"), "m.pdf")}


def body(method: str, rule: str, seed: Seed) -> dict[str, Any]:
    """Keyword arguments for the test client: a well-formed body for the route."""
    json_bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/instances"): {"process_key": "probe"},
        ("POST", "/api/v1/instances/<instance_id>/retry"): {"data": {}},
        ("POST", "/api/v1/instances/<instance_id>/waivers"): {
            "step": "handle",
            "doc_type": "investigation_report",
            "reason": "现场无法取得",
        },
        ("POST", "/api/v1/messages"): {"name": "nobody_waits_for_this"},
        ("POST", "/api/v1/tasks/<task_id>/complete"): {
            "data": {
                "findings": "倍率错误",
                "cause": "录入错误",
                "is_false_positive": False,
                "needs_rectification": False,
            }
        },
        ("POST", "/api/v1/tasks/<task_id>/pause"): {"reason": "等待用户配合"},
        ("POST", "/api/v1/tasks/<task_id>/reassign"): {"to": "h_dong2", "reason": "休假"},
        ("POST", "/api/v1/bulk/urge"): {"task_ids": [seed.task_id]},
        ("POST", "/api/v1/bulk/reassign"): {"task_ids": [seed.task_id], "to": "h_dong2"},
        ("POST", "/api/v1/urge"): {"task_ids": [seed.task_id]},
        ("POST", "/api/v1/units"): {"code": "JC-MX", "name": "矩阵", "parent": "JC"},
        ("POST", "/api/v1/units/<code>/rename"): {"name": "东湖二所"},
        ("POST", "/api/v1/units/<code>/move"): {"parent": "JC-XI"},
        ("POST", "/api/v1/topics"): {"code": "MX-01", "name": "矩阵主题", "business_area": "tariff"},
        ("POST", "/api/v1/topics/<code>/retire"): {"reason": "不再需要"},
        ("POST", "/api/v1/cases"): {"target": "M-9", "anomaly": "倍率异常", "risk_level": 3, "unit": "JC-DONG-1"},
        ("PUT", "/api/v1/time-limit-rules"): {
            "process_key": "audit_case",
            "step": "handle",
            "limit_value": 2,
            "limit_unit": "working_days",
        },
        ("POST", "/api/v1/calendar/overrides"): {"day": "2026-12-31", "is_workday": False},
        ("POST", "/api/v1/contracts"): {
            "number": "HT-MX-1",
            "customer": "某公司",
            "unit": "JC-DONG-1",
            "signed_on": "2026-01-01",
            "expires_on": "2027-01-01",
        },
        ("POST", "/api/v1/archive-obligations/<int:obligation_id>/return"): {"reason": "缺页"},
        ("POST", "/api/v1/supervision-orders"): {"case_id": seed.case_id, "reason": "限期整改"},
        ("PUT", "/api/v1/kpi-indicators/<key>"): {
            "base_value": 0.9,
            "full_score": 10,
            "direction": "higher",
            "weight": 1,
        },
        ("POST", "/api/v1/kpi-adjustments"): {
            "period": "2026-11",
            "level": "unit",
            "subject_key": "JC-DONG",
            "kind": "bonus",
            "value": 1,
            "reason": "表彰",
        },
        ("POST", "/api/v1/users"): {
            "username": "mx_user",
            "roles": ["handler"],
            "unit": "JC-XI-1",
            "password": "matrix-password",
        },
        ("PATCH", "/api/v1/users/<username>"): {"roles": ["handler", "reviewer"]},
        ("POST", "/api/v1/users/<username>/password"): {"password": "matrix-password-2"},
        ("POST", "/api/v1/tokens"): {"username": "h_xi1", "name": "矩阵"},
    }
    form_bodies: dict[tuple[str, str], Any] = {
        ("POST", "/login"): {"username": "nobody", "password": "wrong-password"},
        ("POST", "/language"): {"locale": "zh_CN"},
        ("POST", "/monitor/urge"): {"task_id": seed.task_id, "message": "请尽快处理"},
        ("POST", "/tasks/<task_id>/complete"): HANDLING,
        ("POST", "/admin/users"): {
            "username": "mx_page",
            "roles": "handler",
            "unit": "JC-XI-1",
            "password": "matrix-password",
            "password_again": "matrix-password",
        },
        ("POST", "/admin/users/<username>"): {"unit": "JC-XI-2", "roles": ["handler"]},
        ("POST", "/admin/users/<username>/password"): {
            "password": "matrix-password-3",
            "password_again": "matrix-password-3",
        },
        ("POST", "/admin/units"): {"code": "JC-MP", "name": "页面", "parent": "JC"},
        ("POST", "/admin/units/<code>/rename"): {"name": "东湖二所"},
        ("POST", "/admin/units/<code>/move"): {"parent": "JC-XI"},
        ("POST", "/admin/tokens"): {"username": "h_xi1", "name": "页面"},
        ("POST", "/admin/time-limits/rules"): {
            "process_key": "audit_case",
            "step": "review_result",
            "limit_value": "1",
            "limit_unit": "working_days",
        },
        ("POST", "/admin/time-limits/calendar"): {"day": "2026-12-30", "is_workday": "true"},
        ("POST", "/admin/topics"): {"code": "MP-01", "name": "页面主题", "business_area": "metering"},
        ("POST", "/admin/topics/<code>/retire"): {"reason": "不再需要"},
    }
    key = (method, rule)
    if key in (("POST", "/api/v1/definitions"),):
        return {"data": linear_process("probe_mx", lane="handler"), "content_type": "application/xml"}
    if rule.endswith("/documents") and method == "POST":
        return {"data": _upload(), "content_type": "multipart/form-data"}
    if rule.startswith("/api/"):
        return {"json": json_bodies[key]} if key in json_bodies else {}
    return {"data": form_bodies.get(key, {})}


def outcome(status: int, location: str | None) -> str:
    if status in (401, 403):
        return "R"
    if status in (301, 302, 303) and location:
        parts = urlsplit(location)
        if parts.path == "/login" and "next" in parse_qs(parts.query):
            return "R"
    if status == 404:
        return "H"
    if status in (409, 422):
        return "C"
    if status >= 500:
        return "E"
    return "A"


def routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, rule) the app serves (HEAD and OPTIONS are Flask's own)."""
    found = set()
    for rule in app.url_map.iter_rules():
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule))
    return sorted(found, key=_order)


LAST = ("/complete", "/cancel", "/deactivate", "/language", "/logout")


def _order(route: tuple[str, str]) -> tuple[int, str, str]:
    """Reads first, then writes, the ones that end something (a session, an account, an instance) last."""
    method, rule = route
    ending = next((i for i, end in enumerate(LAST) if rule.endswith(end)), None)
    rank = 0 if method == "GET" else 1 if ending is None else 2 + ending
    return rank, rule, method


def walk(role: str, seed: Seed, tmp_path: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """Call every route as `role` on a fresh copy of the seed; (outcome, status) per route."""
    database = tmp_path / f"{role}.db"
    shutil.copyfile(seed.database, database)
    shutil.copytree(seed.database.parent / "documents", tmp_path / f"{role}-documents")
    engine = build_engine(
        Settings(
            database_url=f"sqlite:///{database}",
            scheduler_enabled=False,
            secret_key="matrix",
            documents_dir=str(tmp_path / f"{role}-documents"),
        ),
        clock=FakeClock(START + dt.timedelta(hours=2)),
    )
    app = create_app(engine=engine)
    app.config["TESTING"] = True
    client: FlaskClient = app.test_client()
    headers: dict[str, str] = {}
    if role != "anonymous":
        username = USERS[role]
        login = client.get("/login")
        signed = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(login.text)}
        )
        assert signed.status_code == 302, f"{username} could not sign in"
        headers["Authorization"] = "Bearer " + users.create_token(engine.uow(), username=username, now=engine.now())
    token = csrf_token(client.get("/login" if role == "anonymous" else "/inbox").text)
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    try:
        for method, rule in routes(app):
            kwargs = body(method, rule, seed)
            if method != "GET" and not rule.startswith("/api/"):
                kwargs.setdefault("data", {})
                kwargs["data"] = {**kwargs["data"], "csrf_token": token}
            answer = client.open(concrete_url(rule, seed), method=method, headers=headers, **kwargs)
            seen[(method, rule)] = (outcome(answer.status_code, answer.headers.get("Location")), answer.status_code)
            answer.close()  # files (static, documents) are streamed
    finally:
        engine.dispose()
    return seen


@pytest.fixture(scope="module")
def observed(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[tuple[str, str], tuple[str, int]]]:
    folder = tmp_path_factory.mktemp("matrix-walk")
    return {role: walk(role, seed, folder) for role in ROLES}


def test_every_route_is_in_the_table(app: Any) -> None:
    served = set(routes(app))
    missing = sorted(served - set(MATRIX))
    stale = sorted(set(MATRIX) - served)
    assert not missing, "routes with no intended access in MATRIX (add them):\n" + "\n".join(
        f'    ("{m}", "{r}"): "???????",' for m, r in missing
    )
    assert not stale, f"MATRIX names routes the app no longer serves: {stale}"


def test_every_route_answers_every_role_as_intended(
    observed: dict[str, dict[tuple[str, str], tuple[str, int]]],
) -> None:
    differences = []
    for route in sorted(MATRIX, key=_order):
        expected = MATRIX[route]
        got = "".join(observed[role][route][0] if route in observed[role] else "?" for role in ROLES)
        if got != expected:
            statuses = " ".join(str(observed[role].get(route, ("?", "-"))[1]) for role in ROLES)
            differences.append(f'    ("{route[0]}", "{route[1]}"): "{got}",  # expected {expected}; {statuses}')
    assert not differences, "routes whose access differs from MATRIX:\n" + "\n".join(differences)
