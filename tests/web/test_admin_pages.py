"""Admin pages through the Flask test client: admins only, CSRF on, per-field messages, nothing half-saved."""

from __future__ import annotations

import re

from engine.domain.views import SYSTEM
from engine.services import audit_log, users
from tests.web import test_pages
from tests.web.test_pages import csrf_token, signed_in

seeded_database = test_pages.seeded_database
engine = test_pages.engine


def _post(client, url, data):
    token = csrf_token(client.get("/admin/users").text)
    return client.post(url, data={"csrf_token": token, **data})


def test_visitors_sign_in_first_and_staff_are_refused(app):
    anonymous = app.test_client()
    answer = anonymous.get("/admin/users")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=/admin/users")
    handler = signed_in(app, "h_dong1")
    assert handler.get("/admin/users").status_code == 403
    assert "/admin/" not in handler.get("/inbox").text  # no admin link in the nav either
    token = csrf_token(handler.get("/inbox").text)
    refused = handler.post("/admin/units", data={"csrf_token": token, "code": "X-1", "name": "x"})
    assert refused.status_code == 403


def test_posts_without_the_csrf_token_are_refused(app, engine):
    admin = signed_in(app, "admin")
    answer = admin.post("/admin/units", data={"code": "JC-NAN", "name": "南区"})
    assert answer.status_code == 400
    assert "JC-NAN" not in {u.code for u in users.list_units(engine.uow())}


def test_admin_creates_a_user_with_field_messages_first(app, engine):
    admin = signed_in(app, "admin")
    assert "h_dong1" in admin.get("/admin/users?q=dong").text
    form = admin.get("/admin/users/new")
    assert form.status_code == 200 and 'name="roles" value="handler"' in form.text
    bad = _post(
        admin,
        "/admin/users",
        {"username": "bad name", "email": "nope", "unit": "JC-DONG-1", "password": "x", "password_again": "x"},
    )
    assert bad.status_code == 422
    for field in ("username", "role", "email", "password"):
        assert f'id="field-{field}-error-1"' in bad.text, field
    mismatch = _post(admin, "/admin/users", {"username": "b b", "password": "long-enough-1", "password_again": "x"})
    assert mismatch.status_code == 422  # every problem at once: the form's and the service's
    for field in ("username", "role", "password_again"):
        assert f'id="field-{field}-error-1"' in mismatch.text, field
    assert 'value="nope"' in bad.text  # what was typed stays
    assert users.list_users(engine.uow(), actor=SYSTEM, q="bad").total == 0
    made = _post(
        admin,
        "/admin/users",
        {
            "username": "li_na",
            "display_name": "李娜",
            "unit": "JC-DONG-1",
            "roles": "handler",
            "other_roles": "clerk",
            "password": "li-na-password",
            "password_again": "li-na-password",
        },
    )
    assert made.status_code == 303 and made.headers["Location"] == "/admin/users/li_na"
    view = users.get_user(engine.uow(), username="li_na", actor=SYSTEM)
    assert view.roles == ("clerk", "handler") and view.unit_code == "JC-DONG-1"
    taken = _post(
        admin,
        "/admin/users",
        {"username": "li_na", "roles": "handler", "password": "li-na-password", "password_again": "li-na-password"},
    )
    assert taken.status_code == 409 and 'id="field-username-error-1"' in taken.text


def test_admin_changes_roles_resets_password_and_deactivates(app, engine):
    admin = signed_in(app, "admin")
    page = admin.get("/admin/users/h_xi1")
    assert page.status_code == 200 and "h_xi1" in page.text
    changed = _post(admin, "/admin/users/h_xi1", {"unit": "JC-XI-2", "roles": ["handler", "reviewer"]})
    assert changed.status_code == 303
    assert users.get_actor(engine.uow(), username="h_xi1").roles == {"handler", "reviewer"}
    bad = _post(admin, "/admin/users/h_xi1", {"unit": "JC-XI-2", "roles": []})
    assert bad.status_code == 422 and 'id="field-role-error-1"' in bad.text
    assert users.get_actor(engine.uow(), username="h_xi1").roles == {"handler", "reviewer"}  # nothing half-saved
    differ = _post(admin, "/admin/users/h_xi1/password", {"password": "new-password-1", "password_again": "other"})
    assert differ.status_code == 422
    assert (
        _post(
            admin, "/admin/users/h_xi1/password", {"password": "new-password-1", "password_again": "new-password-1"}
        ).status_code
        == 303
    )
    assert users.authenticate(engine.uow(), username="h_xi1", password="new-password-1", now=engine.now())
    assert _post(admin, "/admin/users/h_xi1/deactivate", {}).status_code == 303
    assert not users.get_user(engine.uow(), username="h_xi1", actor=SYSTEM).is_active
    myself = _post(admin, "/admin/users/admin/deactivate", {})
    assert myself.status_code == 422
    log = admin.get("/admin/audit-log?object=user:h_xi1")
    assert (
        log.status_code == 200 and log.text.count('class="change-row"') == 4
    )  # created by the seed, changed, password, deactivated


def test_units_are_created_renamed_and_moved_but_never_into_a_cycle(app, engine):
    admin = signed_in(app, "admin")
    assert "JC-DONG-1" in admin.get("/admin/units").text
    made = _post(admin, "/admin/units", {"code": "JC-NAN", "name": "南区供电局", "parent": "JC"})
    assert made.status_code == 303
    dup = _post(admin, "/admin/units", {"code": "JC-NAN", "name": "again", "parent": "JC"})
    assert dup.status_code == 409 and 'id="field-code-error-1"' in dup.text
    assert _post(admin, "/admin/units/JC-NAN/rename", {"name": "南区局"}).status_code == 303
    cycle = _post(admin, "/admin/units/JC-DONG/move", {"parent": "JC-DONG-1"})
    assert cycle.status_code == 422 and "单位不能移到自身之下" in cycle.text and "field-parent-error-1" in cycle.text
    assert _post(admin, "/admin/units/JC-DONG-2/move", {"parent": "JC-NAN"}).status_code == 303
    units = {u.code: u for u in users.list_units(engine.uow())}
    assert units["JC-NAN"].name == "南区局" and units["JC-DONG-2"].parent_code == "JC-NAN"
    page = admin.get("/admin/units/JC-DONG-1")
    assert "h_dong1" in page.text  # its members


def test_roles_tokens_time_limits_and_topics_pages(app, engine):
    admin = signed_in(app, "admin")
    roles = admin.get("/admin/roles")
    assert roles.status_code == 200 and re.search(r'id="role-handler".*?h_dong1', roles.text, re.S)
    made = _post(admin, "/admin/tokens", {"username": "h_bei1", "name": "报表导出"})
    secret = re.search(r'<code id="new-token">(al_[^<]+)</code>', made.text)
    assert made.status_code == 200 and secret
    assert users.actor_for_token(engine.uow(), token=secret.group(1)).username == "h_bei1"
    assert secret.group(1) not in admin.get("/admin/tokens").text  # shown once
    [token] = users.list_tokens(engine.uow(), actor=SYSTEM, username="h_bei1")
    assert _post(admin, f"/admin/tokens/{token.id}/revoke", {}).status_code == 303
    assert _post(admin, f"/admin/tokens/{token.id}/revoke", {}).status_code == 409
    bad_rule = _post(
        admin,
        "/admin/time-limits/rules",
        {"process_key": "audit_case", "step": "handle", "limit_value": "-1", "limit_unit": "hours"},
    )
    assert bad_rule.status_code == 422 and 'id="field-limit_value-error-1"' in bad_rule.text
    rule = {"process_key": "audit_case", "step": "handle", "limit_value": "3", "limit_unit": "working_days"}
    assert _post(admin, "/admin/time-limits/rules", rule).status_code == 303
    assert _post(admin, "/admin/time-limits/calendar", {"day": "2026-12-31", "is_workday": "false"}).status_code == 303
    no_day = _post(admin, "/admin/time-limits/calendar", {"is_workday": "false"})
    assert no_day.status_code == 422 and 'id="field-day-error-1"' in no_day.text
    assert "2026-12-31" in admin.get("/admin/time-limits").text
    topics_page = admin.get("/admin/topics")
    assert topics_page.status_code == 200
    bad_topic = _post(admin, "/admin/topics", {"code": "lower", "name": "", "business_area": "nope"})
    assert bad_topic.status_code == 422
    for field in ("code", "name", "business_area"):
        assert f'id="field-{field}-error-1"' in bad_topic.text, field
    drafted = _post(admin, "/admin/topics", {"code": "TARIFF-09", "name": "电价测试", "business_area": "tariff"})
    assert drafted.status_code == 303 and "TARIFF-09" in admin.get("/admin/topics").text
    kinds = [c.kind for c in audit_log.list_admin_changes(engine.uow(), actor=SYSTEM, limit=10).items]
    assert kinds[:5] == [
        "admin.topic.drafted",
        "admin.calendar.set",
        "admin.rule.set",
        "admin.token.revoked",
        "admin.token.created",
    ]


def test_audit_log_page_filters_and_reports_bad_dates(app, engine):
    admin = signed_in(app, "admin")
    _post(admin, "/admin/units", {"code": "JC-NAN", "name": "南区供电局", "parent": "JC"})
    page = admin.get("/admin/audit-log?kind=admin.unit&who=admin")
    assert page.status_code == 200 and "unit:JC-NAN" in page.text and "user:h_dong1" not in page.text
    assert "unit:JC-NAN" not in admin.get("/admin/audit-log?who=nobody").text
    bad = admin.get("/admin/audit-log?since=2026-13-01")
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "unit:JC-NAN" in admin.get("/admin/audit-log?since=2026-11-23&until=2026-11-23").text
