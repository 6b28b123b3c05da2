"""The modeler in a real browser: a process owner adds a user task to the case process, sees the validation problem
on it, fixes it in the properties panel and publishes version 2; new cases start on it. Diagrams exported by other
modelers (the MIWG reference files) open and render. Staff get 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.e2e.conftest import VENDOR, LiveServer

pytestmark = pytest.mark.slow
PASSWORD = "demo-password"
MIWG = Path(__file__).resolve().parents[1] / "fixtures" / "miwg"  # the MIWG reference diagrams (CC BY 3.0)
MIWG_FILES = ["A.1.0.bpmn", "A.2.0.bpmn", "C.1.0.bpmn", "C.2.0.bpmn"]
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


PAGE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def _bundle_built() -> Iterator[None]:
    if not (VENDOR / "modeler.bundle.js").is_file():
        pytest.skip("browser tests skipped: the modeler bundle is not built (make install: python -m webui.vendor)")
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == [], "script errors on the page"


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _page(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    page.goto(base + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/inbox"))
    return page


def _element(page: Any, element_id: str) -> Any:
    return page.locator(f'#modeler-canvas .djs-element[data-element-id="{element_id}"]')


def _new_ids(page: Any, before: set[str], type_: str) -> list[str]:
    ids: list[str] = page.evaluate(
        """(type) => window.auditloopModeler.get('elementRegistry')
             .filter((e) => e.type === type).map((e) => e.id)""",
        type_,
    )
    return [i for i in ids if i not in before]


def _click_empty_canvas(page: Any) -> None:
    """Click the canvas right of the pool (the palette is top left): ends label editing, selects nothing."""
    container = page.locator("#modeler-canvas .djs-container")
    box = container.bounding_box()
    container.click(position={"x": box["width"] - 25, "y": box["height"] / 2})


def _select(page: Any, element_id: str) -> None:
    _click_empty_canvas(page)
    _element(page, element_id).click()
    selected = page.evaluate("window.auditloopModeler.get('selection').get().map((e) => e.id)")
    assert selected == [element_id]


def _task_property(page: Any, name: str, value: str) -> None:
    field = page.locator(f"#bio-properties-panel-auditloop-{name}")
    if not field.is_visible():
        page.locator('[data-group-id="group-auditloop"] .bio-properties-panel-group-header').click()
    field.fill(value)
    field.press("Tab")
    page.wait_for_timeout(600)  # the panel writes after its debounce


def _validate(page: Any, expected: str) -> None:
    page.evaluate("document.getElementById('modeler').dataset.validated = ''")
    page.locator("#modeler-validate").click()
    _expect()(page.locator("#modeler")).to_have_attribute("data-validated", expected)


def test_owner_adds_a_user_task_fixes_it_and_publishes_version_two(
    browser: Any, live_server: LiveServer, screenshots: Path
) -> None:
    expect = _expect()
    page = _page(browser, live_server.base, "owner")
    page.goto(live_server.base + "/definitions")
    row = page.locator('[data-key="audit_case"] tr[data-version="1"]')
    expect(row.locator(".count-running")).to_have_text("2")
    row.locator('a[href*="/modeler?key=audit_case"]').click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    expect(_element(page, "archive")).to_be_visible()
    tasks_before = set(_new_ids(page, set(), "bpmn:Task")) | set(_new_ids(page, set(), "bpmn:UserTask"))
    ends_before = set(_new_ids(page, set(), "bpmn:EndEvent"))

    # Replace the closing end event by a new user task and a new end: context pad delete, append task, append end.
    _element(page, "end_closed").click()
    page.locator('.djs-context-pad [data-action="delete"]').click()
    expect(_element(page, "end_closed")).to_have_count(0)
    _element(page, "archive").click()
    page.locator('.djs-context-pad [data-action="append.append-task"]').click()
    page.keyboard.type("复核归档资料")
    _click_empty_canvas(page)
    [task_id] = _new_ids(page, tasks_before, "bpmn:Task")
    _element(page, task_id).click()
    page.locator('.djs-context-pad [data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    assert _new_ids(page, tasks_before, "bpmn:UserTask") == [task_id]
    _select(page, task_id)
    page.locator('.djs-context-pad [data-action="append.end-event"]').click()
    [end_id] = _new_ids(page, ends_before, "bpmn:EndEvent")
    connected = page.evaluate(
        """([task, end]) => {
             const bo = window.auditloopModeler.get('elementRegistry').get(task).businessObject;
             return [bo.incoming.map((f) => f.sourceRef.id), bo.outgoing.map((f) => f.targetRef.id)];
           }""",
        [task_id, end_id],
    )
    assert connected == [["archive"], [end_id]]

    # A time limit the engine refuses: marked on the task by the server's validation, then fixed in the panel.
    _select(page, task_id)
    _task_property(page, "timeLimit", "3天")
    expect(page.locator(".bjsl-button-error")).to_be_visible()  # bpmnlint's auditloop/time-limit, in the editor
    _validate(page, "invalid")
    expect(_element(page, task_id)).to_have_class(re.compile(r"\bal-problem\b"))
    problem = page.locator(f'#modeler-problems li.is-problem[data-element-id="{task_id}"]')
    expect(problem).to_contain_text("time limit")
    page.screenshot(path=str(screenshots / "modeler-problem.png"))
    _select(page, task_id)
    _task_property(page, "timeLimit", "P3D")
    _task_property(page, "requiredDocuments", "archive_dossier")
    expect(page.locator(".bjsl-button-success")).to_be_visible()
    _validate(page, "valid")
    expect(_element(page, task_id)).not_to_have_class(re.compile(r"\bal-problem\b"))
    expect(page.locator("#modeler-problems li")).to_have_count(0)

    # Save a draft half way (it is listed as mine), then publish from it: the draft goes away.
    page.once("dialog", lambda dialog: dialog.accept("复核归档草稿"))
    page.locator("#modeler-save").click()
    expect(page).to_have_url(re.compile(r"/modeler\?draft=\d+$"))
    draft_id = page.url.rsplit("=", 1)[1]
    drafts_page = page.context.new_page()
    drafts_page.goto(live_server.base + "/definitions")
    expect(drafts_page.locator(f'tr[data-draft="{draft_id}"]')).to_contain_text("复核归档草稿")
    page.locator("#publish-comment").fill("归档后增加复核 / review the archive")
    page.locator("#modeler-publish-button").click()
    expect(page.locator("#modeler")).to_have_attribute("data-published", "audit_case v2")
    page.screenshot(path=str(screenshots / "modeler-published.png"))

    expect(page).to_have_url(re.compile(r"/modeler\?key=audit_case&version=2$"))
    page.goto(live_server.base + "/definitions")
    expect(page.locator(f'tr[data-draft="{draft_id}"]')).to_have_count(0)
    v2 = page.locator('[data-key="audit_case"] tr[data-version="2"]')
    expect(v2.locator(".comment")).to_have_text("归档后增加复核 / review the archive")
    expect(v2.locator(".count-running")).to_have_text("0")
    page.screenshot(path=str(screenshots / "definitions.png"), full_page=True)
    v2.locator('a[href*="/modeler/compare"]').click()
    expect(page.locator("#compare")).to_have_attribute("data-ready", "true")
    expect(page.locator(f'#compare-changes li[data-element-id="{task_id}"][data-change="added"]')).to_have_count(1)
    expect(page.locator('#compare-changes li[data-element-id="end_closed"][data-change="removed"]')).to_have_count(1)
    expect(page.locator(f'#compare-newer .djs-element.al-added[data-element-id="{task_id}"]')).to_have_count(1)
    page.screenshot(path=str(screenshots / "compare.png"), full_page=True)
    page.context.close()

    _new_cases_start_on_version_two(live_server, task_id)


def _new_cases_start_on_version_two(live_server: LiveServer, task_id: str) -> None:
    from engine.bootstrap import build_engine
    from engine.bpmn import catalog
    from engine.config import Settings
    from engine.services import cases, definitions, instances, users

    engine = build_engine(Settings(database_url=live_server.database_url, scheduler_enabled=False))
    try:
        xml = definitions.get_version_xml(engine.uow(), key="audit_case", version=2).encode()
        library = [
            catalog.SourceFile(f"{key}.bpmn", definitions.get_version_xml(engine.uow(), key=key, version=1).encode())
            for key in ("rectification",)
        ]
        [compiled] = catalog.compile_definitions(
            [catalog.SourceFile("audit_case.bpmn", xml)], library=library, allow_scripts=False
        )
        props = compiled.human_tasks[task_id]
        assert (props.name, props.lane, props.time_limit, props.required_documents) == (
            "复核归档资料",
            "archive_collector",
            "P3D",
            ("archive_dossier",),
        )
        auditor = users.get_actor(engine.uow(), username="auditor")
        case = cases.raise_case(
            engine.uow(), target="M-v2", anomaly="倍率异常", risk_level=2, unit_code="JC", actor=auditor,
            now=engine.now(),
        )  # fmt: skip
        assert case.instance is not None and case.instance.version == 2
        admin = users.get_actor(engine.uow(), username="admin")
        running = instances.list_instances(engine.uow(), actor=admin, process_key="audit_case", status="running")
        assert sorted(i.version for i in running.items) == [1, 1, 2]
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", MIWG_FILES)
def test_a_diagram_from_another_modeler_opens_and_renders(
    browser: Any, live_server: LiveServer, screenshots: Path, name: str
) -> None:
    source = MIWG / name
    expect = _expect()
    root = etree.parse(str(source)).getroot()
    shapes = [s.get("bpmnElement") for s in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")]
    assert shapes
    page = _page(browser, live_server.base, "owner")
    page.goto(live_server.base + "/modeler")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    page.evaluate("document.getElementById('modeler').dataset.ready = ''")
    page.locator("#modeler-import").set_input_files(str(source))
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    for element_id in shapes:
        expect(_element(page, element_id)).to_have_count(1)
    expect(page.locator(".modeler-title")).to_have_text(name)
    page.screenshot(path=str(screenshots / f"modeler-{name}.png"))
    page.locator("#modeler-validate").click()  # the server answers with a report, whatever it finds
    expect(page.locator("#modeler")).to_have_attribute("data-validated", re.compile(r"^(valid|invalid)$"))
    page.context.close()


def test_staff_get_403_on_the_modeler(browser: Any, live_server: LiveServer) -> None:
    page = _page(browser, live_server.base, "auditor")
    for path in ("/modeler", "/definitions", "/modeler?key=audit_case&version=1"):
        assert page.goto(live_server.base + path).status == 403
    assert page.locator('a[href="/definitions"]').count() == 0
    from engine.bootstrap import build_engine
    from engine.config import Settings
    from engine.services import users

    engine = build_engine(Settings(database_url=live_server.database_url, scheduler_enabled=False))
    try:
        token = users.create_token(engine.uow(), username="auditor", now=engine.now())
    finally:
        engine.dispose()
    for method, path in (("post", "/api/v1/definitions/validate"), ("get", "/api/v1/drafts")):
        answer = getattr(page.request, method)(
            live_server.base + path,
            headers={"Authorization": f"Bearer {token}"},
            fail_on_status_code=False,
            **({"data": {"xml": "<x/>"}} if method == "post" else {}),
        )
        assert answer.status == 403, path
    page.context.close()
