"""Admin services: users, units, API tokens and roles; every change is in the audit log, refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain.errors import InvalidStateError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.views import SYSTEM, Actor
from engine.services import audit_log, deadlines, users
from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES

ROOT = Actor("root", frozenset({"admin"}))
CLERK = Actor("alice", frozenset({"clerk"}))


def _org(engine):
    for code, parent in (("JC", None), ("JC-DONG", "JC"), ("JC-XI", "JC"), ("JC-DONG-1", "JC-DONG")):
        users.add_unit(engine.uow(), code=code, name=code, parent_code=parent, actor=SYSTEM, now=engine.now())
    users.add_user(engine.uow(), username="root", roles=["admin"], password="root-password", now=engine.now())


def _changes(engine, **filters):
    return audit_log.list_admin_changes(engine.uow(readonly=True), actor=ROOT, **filters)


def test_user_lifecycle_is_recorded_with_before_and_after(engine, clock):
    _org(engine)
    made = users.add_user(
        engine.uow(),
        username="ann",
        display_name="Ann",
        email="ann@example.com",
        roles=["handler"],
        unit_code="JC-DONG-1",
        password="first-password",
        actor=ROOT,
        now=engine.now(),
    )
    assert made.roles == ("handler",) and made.unit_code == "JC-DONG-1" and made.email == "ann@example.com"
    clock.advance(minutes=1)
    users.update_user(
        engine.uow(),
        username="ann",
        display_name="Ann Li",
        email=None,
        unit_code="JC-XI",
        roles=["handler", "reviewer"],
        actor=ROOT,
        now=engine.now(),
    )
    assert users.get_actor(engine.uow(), username="ann").units == {"JC-XI"}
    users.reset_password(engine.uow(), username="ann", password="second-password", actor=ROOT, now=engine.now())
    assert users.authenticate(engine.uow(), username="ann", password="second-password", now=engine.now())
    users.deactivate_user(engine.uow(), username="ann", actor=ROOT, now=engine.now())
    with pytest.raises(InvalidStateError):
        users.deactivate_user(engine.uow(), username="ann", actor=ROOT, now=engine.now())
    users.reactivate_user(engine.uow(), username="ann", actor=ROOT, now=engine.now())

    page = _changes(engine, subject="user:ann")
    kinds = [e.kind for e in page.items]
    assert kinds == [
        "admin.user.reactivated",
        "admin.user.deactivated",
        "admin.user.password_reset",
        "admin.user.updated",
        "admin.user.created",
    ]
    updated = page.items[3]
    assert updated.actor == "root"
    assert updated.data["before"]["unit"] == "JC-DONG-1" and updated.data["after"]["unit"] == "JC-XI"
    assert updated.data["after"]["roles"] == ["handler", "reviewer"]
    assert "second-password" not in str([e.data for e in page.items])
    assert page.items[4].data == {"before": None, "after": made_snapshot(made)}


def made_snapshot(view):
    return {
        "username": view.username,
        "display_name": view.display_name,
        "email": view.email,
        "unit": view.unit_code,
        "roles": list(view.roles),
        "is_active": True,
    }


def test_refused_user_changes_name_each_field_and_change_nothing(engine):
    _org(engine)
    with pytest.raises(ValidationError) as bad:
        users.add_user(
            engine.uow(),
            username="bad name",
            roles=[],
            email="nope",
            password="short",
            actor=ROOT,
            now=engine.now(),
        )
    assert set(bad.value.fields) == {"username", "role", "email", "password"}
    users.add_user(engine.uow(), username="ann", roles=["handler"], actor=ROOT, now=engine.now())
    with pytest.raises(ValidationError) as bad:
        users.update_user(
            engine.uow(),
            username="ann",
            display_name="Ann",
            email=None,
            unit_code="NOWHERE",
            roles=["reviewer"],
            actor=ROOT,
            now=engine.now(),
        )
    assert set(bad.value.fields) == {"unit"}
    assert users.get_user(engine.uow(), username="ann", actor=ROOT).roles == ("handler",)
    with pytest.raises(ValidationError, match="admin role from yourself"):
        users.update_user(
            engine.uow(), username="root", display_name="", email=None, unit_code=None, roles=["handler"],
            actor=ROOT, now=engine.now(),
        )  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        users.add_user(engine.uow(), username="eve", roles=["admin"], actor=CLERK, now=engine.now())
    for call in (users.list_users, users.list_roles, audit_log.list_admin_changes):
        with pytest.raises(PermissionDeniedError):
            call(engine.uow(readonly=True), actor=CLERK)
    assert [e.kind for e in _changes(engine, subject="user:ann").items] == ["admin.user.created"]
    assert _changes(engine, subject="user:eve").total == 0


def test_search_users_by_text_unit_role_and_state(engine):
    _org(engine)
    for name, unit, role in (("ann", "JC-DONG-1", "handler"), ("bob", "JC-XI", "reviewer"), ("cy_x", "JC", "handler")):
        users.add_user(engine.uow(), username=name, roles=[role], unit_code=unit, actor=ROOT, now=engine.now())
    users.deactivate_user(engine.uow(), username="bob", actor=ROOT, now=engine.now())

    def names(**kw):
        return [u.username for u in users.list_users(engine.uow(readonly=True), actor=ROOT, **kw).items]

    assert names(q="an") == ["ann"]
    assert names(q="_") == ["cy_x"]  # LIKE wildcards are plain characters
    assert names(role="handler") == ["ann", "cy_x"]
    assert names(unit_code="JC-XI") == ["bob"]
    assert names(is_active=False) == ["bob"]
    page = users.list_users(engine.uow(readonly=True), actor=ROOT, limit=2, offset=2)
    assert page.total == 4 and [u.username for u in page.items] == ["cy_x", "root"]


def test_units_rename_and_move_with_levels_and_no_cycles(engine):
    _org(engine)
    users.rename_unit(engine.uow(), code="JC-XI", name="西区供电局", actor=ROOT, now=engine.now())
    with pytest.raises(ValidationError, match="cannot move under itself") as cycle:
        users.move_unit(engine.uow(), code="JC-DONG", parent_code="JC-DONG-1", actor=ROOT, now=engine.now())
    assert set(cycle.value.fields) == {"parent"}
    with pytest.raises(ValidationError, match="cannot move under itself"):
        users.move_unit(engine.uow(), code="JC-DONG", parent_code="JC-DONG", actor=ROOT, now=engine.now())
    with pytest.raises(ValidationError, match="below a station"):  # JC-DONG has a station below it
        users.move_unit(engine.uow(), code="JC-DONG", parent_code="JC-XI", actor=ROOT, now=engine.now())
    moved = users.move_unit(engine.uow(), code="JC-DONG-1", parent_code="JC-XI", actor=ROOT, now=engine.now())
    assert (moved.parent_code, moved.level) == ("JC-XI", "station")
    top = users.move_unit(engine.uow(), code="JC-XI", parent_code=None, actor=ROOT, now=engine.now())
    assert top.level == "city"
    units = {u.code: u for u in users.list_units(engine.uow(readonly=True))}
    assert units["JC-DONG-1"].level == "district" and units["JC-XI"].name == "西区供电局"
    with pytest.raises(NotFoundError):
        users.rename_unit(engine.uow(), code="NOPE", name="x", actor=ROOT, now=engine.now())
    with pytest.raises(PermissionDeniedError):
        users.move_unit(engine.uow(), code="JC-XI", parent_code="JC", actor=CLERK, now=engine.now())
    moves = _changes(engine, kind="admin.unit.moved").items
    assert [e.subject for e in moves] == ["unit:JC-XI", "unit:JC-DONG-1"]
    assert moves[1].data == {
        "before": {"parent": "JC-DONG", "level": "station"},
        "after": {"parent": "JC-XI", "level": "station"},
    }


def test_tokens_are_listed_without_secrets_and_revoked_at_once(engine):
    _org(engine)
    users.add_user(engine.uow(), username="ann", roles=["handler"], actor=ROOT, now=engine.now())
    secret = users.create_token(engine.uow(), username="ann", name="script", actor=ROOT, now=engine.now())
    assert users.actor_for_token(engine.uow(), token=secret).username == "ann"
    [listed] = users.list_tokens(engine.uow(readonly=True), actor=ROOT, username="ann")
    assert listed.name == "script" and listed.revoked_at is None and secret not in repr(listed)
    users.revoke_token(engine.uow(), token_id=listed.id, actor=ROOT, now=engine.now())
    with pytest.raises(InvalidStateError):
        users.revoke_token(engine.uow(), token_id=listed.id, actor=ROOT, now=engine.now())
    with pytest.raises(Exception, match="unknown, revoked"):
        users.actor_for_token(engine.uow(), token=secret)
    with pytest.raises(PermissionDeniedError):
        users.create_token(engine.uow(), username="ann", actor=CLERK, now=engine.now())
    kinds = [e.kind for e in _changes(engine, kind="admin.token").items]
    assert kinds == ["admin.token.revoked", "admin.token.created"]
    assert secret not in str([e.data for e in _changes(engine).items])


def test_roles_list_known_roles_and_others_in_use_with_holders(engine):
    _org(engine)
    users.add_user(engine.uow(), username="ann", roles=["handler", "clerk"], actor=ROOT, now=engine.now())
    roles = {r.name: r for r in users.list_roles(engine.uow(readonly=True), actor=ROOT)}
    assert roles["admin"].holders == ("root",) and roles["admin"].is_known
    assert roles["handler"].holders == ("ann",)
    assert roles["clerk"].holders == ("ann",) and not roles["clerk"].is_known
    assert roles["reviewer"].holders == ()


def test_audit_log_filters_by_who_kind_object_and_period(engine, clock):
    _org(engine)
    other = Actor("root2", frozenset({"admin"}))
    start = clock.advance(minutes=1)
    users.add_unit(engine.uow(), code="JC-NAN", name="南区", parent_code="JC", actor=ROOT, now=engine.now())
    clock.advance(days=1)
    deadlines.put_rule(
        engine.uow(), process_key="audit_case", step="handle", limit_value=3, limit_unit="working_days",
        actor=other, now=engine.now(),
    )  # fmt: skip
    deadlines.set_override(
        engine.uow(), day=dt.date(2026, 12, 31), is_workday=False, note="年末", actor=other, now=engine.now()
    )
    assert [e.kind for e in _changes(engine, who="root2").items] == ["admin.calendar.set", "admin.rule.set"]
    assert _changes(engine, subject="rule:audit_case/handle").items[0].data["before"] is None
    assert [e.subject for e in _changes(engine, since=start, until=start + dt.timedelta(hours=1)).items] == [
        "unit:JC-NAN"
    ]
    assert [e.subject for e in _changes(engine, since=start + dt.timedelta(hours=1)).items] == [
        "calendar:2026-12-31",
        "rule:audit_case/handle",
    ]
    assert _changes(engine, kind="admin.calendar.set").total == 1
    with pytest.raises(ValidationError):
        _changes(engine, kind="task_completed")
    paged = _changes(engine, since=start, limit=1, offset=1)
    assert paged.total == 3 and paged.items[0].kind == "admin.rule.set"
