"""In a real browser: new cases start on version 2 while running ones stay on 1, an admin's dry run lists them and
migrating moves them; an admin retries and cancels a failed instance from its page."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
PASSWORD = "demo-password"


def _token(live_server: LiveServer, username: str) -> str:
    from engine.bootstrap import build_engine
    from engine.config import Settings
    from engine.services import users

    engine = build_engine(Settings(database_url=live_server.database_url, scheduler_enabled=False))
    try:
        return users.create_token(engine.uow(), username=username, now=engine.now())
    finally:
        engine.dispose()


def _call(live_server: LiveServer, token: str, method: str, path: str, body: bytes | None, content_type: str) -> Any:
    request = urllib.request.Request(
        live_server.base + "/api/v1" + path,
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _multipart(files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for field, name, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def moved_world(live_server: LiveServer) -> Iterator[dict[str, Any]]:
    """Version 2 of the case process deployed through the API, a new case on it, and a failed instance."""
    admin = _token(live_server, "admin")
    folder = ROOT / "processes" / "audit_case"
    bpmn = (
        (folder / "audit_case.bpmn")
        .read_bytes()
        .replace('name="稽查工单" isExecutable'.encode(), 'name="稽查工单 v2" isExecutable'.encode())
    )
    files = [("file", "audit_case.bpmn", bpmn)]
    files += [("forms", p.name, p.read_bytes()) for p in sorted((folder / "forms").glob("*.json"))]
    body, content_type = _multipart(files)
    deployed = _call(live_server, admin, "POST", "/definitions?comment=v2", body, content_type)
    assert deployed["key"] == "audit_case" and deployed["version"] == 2
    auditor = _token(live_server, "auditor")
    case = _call(
        live_server,
        auditor,
        "POST",
        "/cases",
        json.dumps({"target": "M-NEW", "anomaly": "new on v2", "risk_level": 3, "unit": "JC"}).encode(),
        "application/json",
    )
    xml = (ROOT / "tests" / "fixtures" / "bpmn" / "failing_script.bpmn").read_bytes()
    _call(live_server, admin, "POST", "/definitions?filename=failing.bpmn", xml, "application/xml")
    failed = _call(
        live_server, admin, "POST", "/instances", json.dumps({"process_key": "failing"}).encode(), "application/json"
    )
    assert failed["status"] == "error"
    yield {"admin": admin, "new_case": case, "failed": failed["id"]}


def _signed_in_page(browser: Any, live_server: LiveServer, username: str) -> Any:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(live_server.base + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/inbox"))
    page.get_by_role("button", name="English").click()
    return page


def test_new_cases_start_on_v2_and_a_dry_run_then_migration_moves_the_running_ones(
    browser, live_server: LiveServer, moved_world: dict[str, Any], screenshots: Path
):
    from playwright.sync_api import expect

    new_instance = moved_world["new_case"]["instance_id"]
    seen = _call(live_server, moved_world["admin"], "GET", f"/instances/{new_instance}", None, "application/json")
    assert seen["version"] == 2

    page = _signed_in_page(browser, live_server, "admin")
    page.goto(live_server.base + "/definitions/audit_case/migrations")
    page.locator("#from_version").select_option("1")
    page.locator("#to_version").select_option("2")
    page.get_by_role("button", name="Dry run").click()
    page.wait_for_url(re.compile(r"from_version=1"))
    rows = page.locator("#move-report tbody tr[data-result]")
    expect(rows).to_have_count(2)  # the two dispatched v1 cases; the v2 case is not listed
    expect(page.locator('#move-report tr[data-result="movable"]')).to_have_count(2)
    expect(page.locator("#move-report")).to_contain_text("handle")
    assert page.locator(f'#move-report tr[data-instance="{new_instance}"]').count() == 0
    page.screenshot(path=str(screenshots / "moves-dry-run.png"), full_page=True)

    page.get_by_label(re.compile("I confirm: move the selected instances to version 2")).check()
    page.get_by_role("button", name="Migrate these").click()
    expect(page.locator('#move-report tr[data-result="moved"]')).to_have_count(2)
    expect(page.locator(".alert-success")).to_contain_text("2 of 2 instances moved to version 2")
    page.screenshot(path=str(screenshots / "moves-done.png"), full_page=True)

    page.locator('#move-report tr[data-result="moved"] a').first.click()
    expect(page.locator("#instance-version")).to_have_text("2")
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator(".djs-element.al-current")).to_have_count(1)
    expect(page.locator(".djs-overlay [data-token]")).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("from version 1 to version 2")
    expect(page.locator("#variables")).to_contain_text("JC-2026-")  # the variables came along
    page.screenshot(path=str(screenshots / "instance-on-v2.png"), full_page=True)
    page.context.close()


def test_an_admin_retries_then_cancels_a_failed_instance_from_its_page(
    browser, live_server: LiveServer, moved_world: dict[str, Any], screenshots: Path
):
    from playwright.sync_api import expect

    page = _signed_in_page(browser, live_server, "admin")
    page.get_by_role("link", name="Instances").click()
    page.locator("#status").select_option("error")
    page.get_by_role("button", name="Show").click()
    page.locator(f'#instance-list a[href="/instances/{moved_world["failed"]}"]').click()
    expect(page.locator("#instance-status")).to_have_text("failed")
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator(".djs-element.al-error")).to_have_count(1)
    page.screenshot(path=str(screenshots / "instance-failed.png"), full_page=True)

    retry = page.locator("#retry-form")
    retry.get_by_label("Reason").fill("z was missing from the start data")
    retry.get_by_label("Corrected variables (JSON, optional)").fill('{"z": 41}')
    retry.get_by_label("I confirm that the cause of the failure was fixed.").check()
    retry.get_by_role("button", name="Retry").click()
    expect(page.locator(".alert-success")).to_contain_text("The failed step was run again")
    expect(page.locator("#instance-status")).to_have_text("running")
    expect(page.locator("#variables")).to_contain_text("42")
    expect(page.locator(".djs-element.al-current")).to_have_count(1)

    cancel = page.locator("#cancel-form")
    cancel.get_by_label("Reason").fill("test instance, no longer needed")
    cancel.get_by_label(re.compile("I confirm: its open tasks end")).check()
    cancel.get_by_role("button", name="Cancel the instance").click()
    expect(page.locator("#instance-status")).to_have_text("cancelled")
    expect(page.locator("#history")).to_contain_text("test instance, no longer needed")
    expect(page.locator("#history")).to_contain_text("z was missing from the start data")
    expect(page.locator("#cancel-form")).to_have_count(0)
    page.screenshot(path=str(screenshots / "instance-cancelled.png"), full_page=True)
    page.context.close()
