"""An admin builds a unit and a user in the browser; that user sees only their unit's work and no admin pages.

In real Chromium against `auditloop serve`: the admin creates the unit 南区供电局 (JC-NAN) under the city company
and, from the unit's page, a dispatcher in it; signs out. Cases wait for dispatch in JC-NAN and in JC-XI (raised
through the services on the server's database). The new dispatcher signs in, finds only the JC-NAN case among
their groups' tasks, and is refused on an admin page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow
PASSWORD = "demo-password"
NEW_PASSWORD = "nan-dispatcher-1"


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))


def _raise_waiting_cases(database_url: str) -> dict[str, str]:
    """A case waiting for dispatch in each of two units, raised by the auditor; unit -> case number."""
    from engine.bootstrap import build_engine
    from engine.config import Settings
    from engine.services import cases, users

    engine = build_engine(Settings(database_url=database_url, scheduler_enabled=False))
    try:
        auditor = users.get_actor(engine.uow(), username="auditor")
        raised = {}
        for unit in ("JC-NAN", "JC-XI"):
            case = cases.raise_case(
                engine.uow(),
                target=f"M-{unit}",
                anomaly="电价执行异常 tariff anomaly",
                risk_level=3,
                unit_code=unit,
                actor=auditor,
                now=engine.now(),
            )
            raised[unit] = case.case_no
        return raised
    finally:
        engine.dispose()


def test_admin_creates_a_unit_and_a_user_who_sees_only_that_unit(browser, live_server: LiveServer, screenshots: Path):
    expect = _expect()
    base = live_server.base
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()

    # -- the admin: a unit, then a user in it -----------------------------------------------------------------
    _sign_in(page, base, "admin", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Units", exact=True).click()
    page.get_by_label("Code").fill("JC-NAN")
    page.get_by_label("Name").fill("南区供电局")
    page.get_by_label("Parent unit").select_option("JC")
    page.get_by_role("button", name="Create unit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("南区供电局")
    expect(page.locator(".alert-success")).to_contain_text("JC-NAN")

    page.get_by_role("link", name="Add a user to this unit").click()
    expect(page.get_by_label("Unit", exact=True)).to_have_value("JC-NAN")
    page.get_by_label("Username").fill("nan_disp")
    page.get_by_label("Display name").fill("南区派工员 钱进")
    page.get_by_label("dispatcher", exact=True).check()
    page.locator("#field-password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".field-error")).to_have_count(1)  # the second password was left empty
    page.locator("#field-password").fill(NEW_PASSWORD)
    page.locator("#field-password_again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(re.compile(r"/admin/users/nan_disp$"))
    expect(page.locator(".alert-success")).to_contain_text("nan_disp")
    page.screenshot(path=str(screenshots / "admin-user.png"), full_page=True)
    page.goto(base + "/admin/audit-log?kind=admin.user")
    expect(page.locator("tr.change-row", has_text="user:nan_disp")).to_have_count(1)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))

    # -- work waits in the new unit and in another one ----------------------------------------------------------
    raised = _raise_waiting_cases(live_server.database_url)

    # -- the new user: only their unit's case, and no admin pages --------------------------------------------
    _sign_in(page, base, "nan_disp", NEW_PASSWORD)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)
    page.get_by_role("link", name="My groups' tasks").click()
    rows = page.locator("tr.task-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(raised["JC-NAN"])
    expect(page.locator("tr.task-row", has_text=raised["JC-XI"])).to_have_count(0)
    page.screenshot(path=str(screenshots / "admin-new-user-inbox.png"), full_page=True)
    refused = page.goto(base + "/admin/users")
    assert refused is not None and refused.status == 403
    context.close()
