"""The instance page (diagram state, variables, history), its admin actions, and the version-move page."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from cli import collect_files
from engine.domain.views import Actor
from engine.services import definitions, instances
from tests.helpers import ROOT, deploy_xml, linear_process
from tests.web import test_pages
from tests.web.test_pages import post, raise_dispatched_case, signed_in

seeded_database = test_pages.seeded_database
engine = test_pages.engine
ADMIN = Actor("admin", frozenset({"admin"}))


def deploy_case_v2(engine) -> int:
    """Version 2 of the case process: the same steps under a new name (a new content, so a new version)."""
    files, forms = collect_files([ROOT / "processes" / "audit_case"])
    changed = [
        (name, content.replace('name="稽查工单" isExecutable'.encode(), 'name="稽查工单 v2" isExecutable'.encode()))
        for name, content in files
    ]
    [result] = definitions.deploy_definition(engine.uow(), files=changed, forms=forms, actor=ADMIN, now=engine.now())
    assert result.is_new
    return result.version


def _markers(html: str) -> dict:
    found = re.search(r"data-markers='([^']*)'", html)
    assert found, "the page has no diagram markers"
    return json.loads(found.group(1).replace("&#34;", '"').replace("&quot;", '"'))


def _history(engine, instance_id: str, kind: str) -> list[tuple]:
    with engine.db.connect() as conn:
        query = sa.text("SELECT actor, message FROM history_events WHERE instance_id = :i AND kind = :k")
        return [tuple(r) for r in conn.execute(query, {"i": instance_id, "k": kind})]


def test_the_instance_page_shows_the_diagram_state_variables_and_history(app, engine):
    case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    page = client.get(f"/instances/{handle.instance_id}")
    assert page.status_code == 200
    markers = _markers(page.text)
    states = {e["id"]: (e["state"], e["time_state"]) for e in markers["elements"]}
    assert states["dispatch"] == ("completed", None)
    assert states["handle"] == ("active", "green")
    assert 'data-element="handle" data-state="active"' in page.text
    assert case.case_no in page.text and "M-778" in page.text  # variables, read-only
    assert 'id="cancel-form"' not in page.text and "reassign-form" not in page.text  # no admin actions
    assert f'href="/instances/{handle.instance_id}"' in client.get(f"/tasks/{handle.id}").text  # from the task page

    assert signed_in(app, "h_xi1").get(f"/instances/{handle.instance_id}").status_code == 404  # not theirs
    supervisor = signed_in(app, "supervisor")
    items = supervisor.get("/monitor/items").text
    assert f'href="/instances/{handle.instance_id}"' in items  # from the board's items

    api = app.test_client().get(f"/api/v1/instances/{handle.instance_id}/diagram")
    assert api.status_code == 401


def test_admins_cancel_with_a_reason_and_others_may_not(app, engine):
    _case, handle = raise_dispatched_case(engine)
    url = f"/instances/{handle.instance_id}/cancel"
    supervisor = signed_in(app, "supervisor")
    assert post(supervisor, url, {"reason": "duplicate", "confirm": "yes"}).status_code == 403
    admin = signed_in(app, "admin")
    page = admin.get(f"/instances/{handle.instance_id}").text
    assert 'id="cancel-form"' in page
    refused = post(admin, url, {"reason": "", "confirm": "yes"})
    assert refused.status_code == 422
    assert post(admin, url, {"reason": "duplicate"}).status_code == 422  # not confirmed
    assert instances.get_instance(engine.uow(), instance_id=handle.instance_id, actor=ADMIN).status == "running"
    done = post(admin, url, {"reason": "duplicate of another case", "confirm": "yes"})
    assert done.status_code == 303
    assert instances.get_instance(engine.uow(), instance_id=handle.instance_id, actor=ADMIN).status == "cancelled"
    assert _history(engine, handle.instance_id, "cancelled") == [("admin", "duplicate of another case")]


def test_admins_retry_a_failed_instance_with_corrected_variables(app, engine):
    deploy_xml(engine, ADMIN, linear_process("failing", script="y = z + 1"))
    failed = instances.start_instance(engine.uow(), process_key="failing", actor=ADMIN, now=engine.now())
    assert failed.status == "error"
    admin = signed_in(app, "admin")
    listed = admin.get("/instances?status=error").text
    assert f'href="/instances/{failed.id}"' in listed
    page = admin.get(f"/instances/{failed.id}").text
    assert 'id="retry-form"' in page and 'data-element="Script_1" data-state="error"' in page
    url = f"/instances/{failed.id}/retry"
    assert post(admin, url, {"reason": "z was missing", "confirm": "yes", "data": "[1]"}).status_code == 422
    done = post(admin, url, {"reason": "z was missing", "confirm": "yes", "data": '{"z": 41}'})
    assert done.status_code == 303
    view = instances.get_instance(engine.uow(), instance_id=failed.id, actor=ADMIN)
    assert view.status == "running" and view.data["y"] == 42
    assert _history(engine, failed.id, "retried") == [("admin", "z was missing")]


def test_admins_reassign_a_task_to_the_group_and_to_a_person(app, engine):
    _case, handle = raise_dispatched_case(engine)
    admin = signed_in(app, "admin")
    page = admin.get(f"/instances/{handle.instance_id}").text
    assert f'action="/instances/{handle.instance_id}/tasks/{handle.id}/reassign"' in page
    assert '<option value="h_dong1" selected>' in page and "h_xi1" not in page  # only people of its unit
    url = f"/instances/{handle.instance_id}/tasks/{handle.id}/reassign"
    assert post(admin, url, {"to": "", "reason": "on leave", "confirm": "yes"}).status_code == 303
    assert instances.get_instance(engine.uow(), instance_id=handle.instance_id, actor=ADMIN).tasks[0].assignee is None
    assert post(admin, url, {"to": "h_xi1", "reason": "x", "confirm": "yes"}).status_code == 422  # another unit
    assert post(admin, url, {"to": "h_dong1", "reason": "back", "confirm": "yes"}).status_code == 303
    assert _history(engine, handle.instance_id, "task_reassigned") == [("admin", "on leave"), ("admin", "back")]
    assert post(signed_in(app, "h_dong1"), url, {"to": "", "reason": "x", "confirm": "yes"}).status_code == 403


def test_the_move_page_lists_running_v1_instances_and_moves_them(app, engine):
    _case, handle = raise_dispatched_case(engine)
    assert deploy_case_v2(engine) == 2
    assert signed_in(app, "h_dong1").get("/definitions/audit_case/migrations").status_code == 403
    owner = signed_in(app, "owner")
    dry = owner.get("/definitions/audit_case/migrations?from_version=1&to_version=2")
    assert dry.status_code == 200
    assert f'data-instance="{handle.instance_id}" data-result="movable"' in dry.text
    lock = re.search(rf'name="lock-{handle.instance_id}" value="(\d+)"', dry.text)
    assert lock
    assert instances.get_instance(engine.uow(), instance_id=handle.instance_id, actor=ADMIN).version == 1
    form = {"from_version": "1", "to_version": "2", "instance_id": handle.instance_id, "confirm": "yes"}
    moved = post(owner, "/definitions/audit_case/migrations", {**form, f"lock-{handle.instance_id}": lock.group(1)})
    assert moved.status_code == 200
    assert f'data-instance="{handle.instance_id}" data-result="moved"' in moved.text
    page = signed_in(app, "h_dong1").get(f"/instances/{handle.instance_id}").text
    assert '<dd id="instance-version">2</dd>' in page
    assert _history(engine, handle.instance_id, "version_moved") == [("owner", "version 1 → 2")]
