"""Signing in to the pages: the session cookie, one message for every failure, the growing lock, deactivation,
sign-in required everywhere, CSRF on every form (not on the bearer-token API), and the remembered language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.services import users
from tests.web import test_pages
from tests.web.test_pages import PASSWORD, csrf_token, post, raise_dispatched_case, sign_in, signed_in

# The seeded demo organisation of the page tests (one build per module, a copy per test).
seeded_database = test_pages.seeded_database
engine = test_pages.engine


def _deactivate(engine, username: str) -> None:
    # There is no service for this yet (an admin page will bring one); the test flips the flag directly.
    with engine.db.begin() as connection:
        connection.execute(
            sa.text("UPDATE users SET is_active = :no WHERE username = :name"), {"no": False, "name": username}
        )


def test_signing_in_opens_the_inbox_with_a_safe_session_cookie(app):
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    response = sign_in(client, "h_dong1")
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie  # not remembered: the session ends with the browser
    inbox = client.get("/inbox")
    assert inbox.status_code == 200 and "业务人员 何明" in inbox.text
    assert client.get("/").headers["Location"] == "/inbox"


def test_remember_me_keeps_the_session_for_two_weeks(app):
    client = app.test_client()
    response = sign_in(client, "h_dong1", remember="on")
    assert "Expires" in response.headers["Set-Cookie"]


def test_sessions_not_remembered_end_after_twelve_hours(app, clock):
    client = signed_in(app, "h_dong1")
    clock.advance(hours=11)
    assert client.get("/inbox").status_code == 200
    clock.advance(hours=2)
    ended = client.get("/inbox")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert "会话已结束" in client.get(ended.headers["Location"]).text


def test_secure_cookies_can_be_switched_on(engine, monkeypatch):
    from webui import create_app

    monkeypatch.setenv("AUDITLOOP_SECURE_COOKIES", "1")
    app = create_app(engine=engine)
    app.config["TESTING"] = True
    assert "Secure" in sign_in(app.test_client(), "h_dong1").headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_get_the_same_message(app):
    client = app.test_client()
    wrong = sign_in(client, "h_dong1", "not-the-password")
    unknown = sign_in(client, "nobody", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 200 and "用户名或密码错误" in response.text
        assert 'role="alert"' in response.text
    assert 'value="nobody"' in unknown.text  # the username stays, the password does not
    assert PASSWORD not in unknown.text
    assert client.get("/inbox").status_code == 302
    empty = sign_in(client, "", "")
    assert "请输入用户名和密码" in empty.text


def test_repeated_failures_show_the_growing_lock(app, clock):
    client = app.test_client()
    for _ in range(users.FREE_FAILURES):
        assert "用户名或密码错误" in sign_in(client, "h_dong1", "guess").text
    locked = sign_in(client, "h_dong1", PASSWORD)
    assert "登录失败次数过多，请 1 分钟后再试" in locked.text
    assert client.get("/inbox").status_code == 302
    clock.advance(minutes=2)
    assert sign_in(client, "h_dong1", PASSWORD).status_code == 302


def test_a_deactivated_user_cannot_sign_in_and_loses_the_session(app, engine):
    client = signed_in(app, "h_dong1")
    assert client.get("/inbox").status_code == 200
    _deactivate(engine, "h_dong1")
    ended = client.get("/inbox")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert "您的账号已停用" in client.get("/login").text
    assert "用户名或密码错误" in sign_in(app.test_client(), "h_dong1").text


@pytest.mark.parametrize(
    "path",
    [
        "/inbox",
        "/inbox?tab=group",
        "/tasks/8c32c161-23b4-49cf-b5ad-ffc24b0ce04b",
        "/instances/8c32c161-23b4-49cf-b5ad-ffc24b0ce04b/diagram.xml",
        "/documents/DOC-2026-000001/barcode.svg",
        "/documents/1",
    ],
)
def test_every_page_requires_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_after_sign_in_the_person_returns_to_the_page_asked_for(app):
    client = app.test_client()
    asked = client.get("/inbox?tab=group").headers["Location"]
    assert asked == "/login?next=/inbox?tab%3Dgroup"
    page = client.get(asked)
    response = client.post(
        "/login",
        data={
            "username": "reviewer",
            "password": PASSWORD,
            "next": "/inbox?tab=group",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.headers["Location"] == "/inbox?tab=group"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_must_be_a_path_on_this_site(app, target):
    client = app.test_client()
    response = sign_in(client, "h_dong1", next=target)
    assert response.headers["Location"] == "/inbox"


def test_htmx_requests_without_a_session_are_sent_to_sign_in(client):
    response = client.get("/inbox", headers={"HX-Request": "true", "HX-Target": "inbox"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login?next=")


def test_forms_without_the_csrf_token_are_refused(app, engine):
    _case, handle = raise_dispatched_case(engine)
    anonymous = app.test_client()
    assert anonymous.post("/login", data={"username": "h_dong1", "password": PASSWORD}).status_code == 400
    client = signed_in(app, "h_dong1")
    for url in (f"/tasks/{handle.id}/complete", f"/tasks/{handle.id}/claim", "/logout", "/language"):
        refused = client.post(url, data={"findings": "x", "locale": "en"})
        assert refused.status_code == 400, url
        assert "表单已过期" in refused.text
    forged = client.post(f"/tasks/{handle.id}/complete", data={"findings": "x", "csrf_token": "forged"})
    assert forged.status_code == 400
    # The header htmx sends works like the form field.
    token = csrf_token(client.get("/inbox").text)
    claimed = client.post(f"/tasks/{handle.id}/unclaim", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert claimed.status_code == 303


def test_the_api_uses_bearer_tokens_not_the_session(app, engine):
    client = signed_in(app, "h_dong1")
    assert client.get("/api/v1/tasks").status_code == 401  # a session cookie is no API credential
    token = users.create_token(engine.uow(), username="h_dong1", now=engine.now())
    listed = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    raised = client.post(  # no CSRF token needed with a bearer token
        "/api/v1/cases",
        headers={"Authorization": f"Bearer {users.create_token(engine.uow(), username='auditor', now=engine.now())}"},
        json={"target": "M-9", "anomaly": "倍率异常", "risk_level": 2, "unit": "JC"},
    )
    assert raised.status_code == 201


def test_sign_out_is_a_post_and_ends_the_session(app):
    client = signed_in(app, "h_dong1")
    assert client.get("/logout").status_code == 405
    response = post(client, "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "您已退出登录" in client.get("/login").text
    assert client.get("/inbox").status_code == 302


def test_the_language_choice_is_remembered_for_the_person(app, engine):
    client = signed_in(app, "h_dong1")
    assert '<html lang="zh-CN">' in client.get("/inbox").text
    switched = post(client, "/language", {"locale": "en", "next": "/inbox?tab=group"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/inbox?tab=group"
    assert users.get_actor(engine.uow(), username="h_dong1").locale == "en"
    assert '<html lang="en">' in client.get("/inbox").text and "My tasks" in client.get("/inbox").text
    # Another browser: English again as soon as the person signs in, whatever the browser prefers.
    other = app.test_client()
    assert '<html lang="zh-CN">' in other.get("/login", headers={"Accept-Language": "zh-CN"}).text
    sign_in(other, "h_dong1")
    assert '<html lang="en">' in other.get("/inbox", headers={"Accept-Language": "zh-CN"}).text
    assert post(client, "/language", {"locale": "fr"}).status_code == 422


def test_visitors_get_the_browser_language_or_their_choice(app):
    client = app.test_client()
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert '<html lang="zh-CN">' in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="zh-CN">' in client.get("/login").text  # no preference: Chinese
    page = client.get("/login")
    client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": csrf_token(page.text)})
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "zh-CN"}).text
    index = client.get("/")
    assert index.status_code == 200 and 'href="/login"' in index.text
