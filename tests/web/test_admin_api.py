"""The admin API: users, unit rename and move, roles, tokens and the audit log; admins only, 422 naming fields."""

from __future__ import annotations

from engine.domain.views import SYSTEM
from engine.services import users
from tests.web.conftest import bearer


def _units(engine):
    for code, parent in (("JC", None), ("JC-DONG", "JC"), ("JC-DONG-1", "JC-DONG")):
        users.add_unit(engine.uow(), code=code, name=code, parent_code=parent, actor=SYSTEM, now=engine.now())


def test_admin_manages_a_user_through_the_api(client, tokens, engine):
    _units(engine)
    root = bearer(tokens["root"])
    body = {"username": "ann", "roles": ["handler"], "unit": "JC-DONG-1", "password": "ann-password-1"}
    made = client.post("/api/v1/users", json=body, headers=root)
    assert made.status_code == 201 and made.json["unit"] == "JC-DONG-1"
    assert client.post("/api/v1/users", json=body, headers=root).status_code == 409
    bad = client.post("/api/v1/users", json={**body, "username": "b b", "password": "x"}, headers=root)
    assert bad.status_code == 422 and set(bad.json["error"]["details"]["fields"]) == {"username", "password"}
    changed = client.patch("/api/v1/users/ann", json={"roles": ["reviewer"]}, headers=root)
    assert changed.status_code == 200 and changed.json["roles"] == ["reviewer"]
    assert changed.json["unit"] == "JC-DONG-1"  # fields not sent stay
    moved = client.patch("/api/v1/users/ann", json={"unit": None}, headers=root)
    assert moved.json["unit"] is None
    refused = client.patch("/api/v1/users/ann", json={"unit": "NOPE", "roles": ["x"]}, headers=root)
    assert refused.status_code == 422 and "unit" in refused.json["error"]["details"]["fields"]
    assert client.get("/api/v1/users/ann", headers=root).json["roles"] == ["reviewer"]
    assert (
        client.post("/api/v1/users/ann/password", json={"password": "new-password-2"}, headers=root).status_code == 200
    )
    assert client.post("/api/v1/users/ann/deactivate", headers=root).json["is_active"] is False
    assert client.post("/api/v1/users/ann/deactivate", headers=root).status_code == 409
    assert client.post("/api/v1/users/ann/reactivate", headers=root).json["is_active"] is True
    listed = client.get("/api/v1/users?q=an&active=true", headers=root).json
    assert [u["username"] for u in listed["items"]] == ["ann"]
    log = client.get("/api/v1/audit-log?object=user:ann", headers=root).json
    assert [c["kind"] for c in log["items"]][-2:] == ["admin.user.updated", "admin.user.created"]
    assert log["items"][-1]["who"] == "root" and log["items"][-1]["after"]["roles"] == ["handler"]


def test_non_admins_are_refused_and_nothing_changes(client, tokens, engine):
    alice = bearer(tokens["alice"])
    for method, path, body in (
        ("get", "/api/v1/users", None),
        ("post", "/api/v1/users", {"username": "eve", "roles": ["admin"]}),
        ("patch", "/api/v1/users/bob", {"roles": ["admin"]}),
        ("post", "/api/v1/users/bob/password", {"password": "taken-over-1"}),
        ("post", "/api/v1/users/bob/deactivate", None),
        ("get", "/api/v1/roles", None),
        ("get", "/api/v1/tokens", None),
        ("post", "/api/v1/tokens", {"username": "alice"}),
        ("get", "/api/v1/audit-log", None),
    ):
        answer = getattr(client, method)(path, json=body, headers=alice)
        assert answer.status_code == 403, (method, path, answer.status_code)
    assert client.get("/api/v1/users").status_code == 401
    assert users.get_user(engine.uow(), username="bob", actor=SYSTEM).roles == ("manager",)


def test_units_rename_and_move_refuse_cycles(client, tokens, engine):
    _units(engine)
    root = bearer(tokens["root"])
    assert client.post("/api/v1/units/JC-DONG/rename", json={"name": "东区"}, headers=root).json["name"] == "东区"
    cycle = client.post("/api/v1/units/JC-DONG/move", json={"parent": "JC-DONG-1"}, headers=root)
    assert (
        cycle.status_code == 422 and "cannot move under itself" in cycle.json["error"]["details"]["fields"]["parent"][0]
    )
    top = client.post("/api/v1/units/JC-DONG-1/move", json={"parent": None}, headers=root)
    assert top.json == {"code": "JC-DONG-1", "name": "JC-DONG-1", "level": "city", "parent": None}
    alice = bearer(tokens["alice"])
    assert client.post("/api/v1/units/JC/rename", json={"name": "x"}, headers=alice).status_code == 403


def test_tokens_are_created_once_listed_and_revoked(client, tokens):
    root = bearer(tokens["root"])
    made = client.post("/api/v1/tokens", json={"username": "bob", "name": "nightly export"}, headers=root)
    assert made.status_code == 201 and made.json["token"].startswith("al_")
    assert client.get("/api/v1/tasks", headers=bearer(made.json["token"])).status_code == 200
    listed = client.get("/api/v1/tokens?user=bob", headers=root).json
    assert [t["name"] for t in listed] == ["nightly export", ""] and "token" not in listed[0]
    assert client.post(f"/api/v1/tokens/{listed[0]['id']}/revoke", headers=root).json["revoked_at"]
    assert client.get("/api/v1/tasks", headers=bearer(made.json["token"])).status_code == 401
    assert client.post(f"/api/v1/tokens/{listed[0]['id']}/revoke", headers=root).status_code == 409
    unknown = client.post("/api/v1/tokens", json={"username": "nobody"}, headers=root)
    assert unknown.status_code == 422 and "username" in unknown.json["error"]["details"]["fields"]


def test_audit_log_filters_validate(client, tokens):
    root = bearer(tokens["root"])
    assert client.get("/api/v1/audit-log?kind=task_completed", headers=root).status_code == 422
    assert client.get("/api/v1/audit-log?since=yesterday", headers=root).status_code == 422
    assert client.get("/api/v1/audit-log?since=2026-11-24&until=2026-11-23", headers=root).status_code == 422
    day = "/api/v1/audit-log?since={0}&until={0}&kind=admin.token"
    assert client.get(day.format("2026-11-23"), headers=root).json["total"] == 3  # the fixture's three tokens
    assert client.get(day.format("2026-11-22"), headers=root).json["total"] == 0
    roles = {r["name"]: r for r in client.get("/api/v1/roles", headers=root).json}
    assert roles["admin"]["holders"] == ["root"] and roles["manager"]["holders"] == ["bob"]
