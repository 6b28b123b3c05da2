"""The pages through the Flask test client: inbox tabs, counts, filters, htmx fragments; the task page and its form.

The demo organisation and the built-in processes are built once per module and copied for each test, and CSRF
stays on, so every form is posted with the token a page gave out, as a browser would.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.scheduler import jobs
from engine.services import cases, deadlines, documents, tasks, users
from tests.conftest import FakeClock
from tests.helpers import build_org, deploy_processes
from tests.helpers import task as open_task

PASSWORD = "demo-password"
START = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # 09:00 in Asia/Shanghai
HANDLING = {
    "findings": "表计倍率设置错误",
    "cause": "装表时录入错误",
    "is_false_positive": "false",
    "needs_rectification": "false",
}


# -- fixtures and helpers (test_auth*.py imports them) ----------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in processes and the demo organisation, built once and copied for each test."""
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    seed = build_engine(
        Settings(database_url=f"sqlite:///{path}", scheduler_enabled=False, secret_key="seed"),
        clock=FakeClock(START),
    )
    seed.create_schema()
    deploy_processes(seed)
    build_org(seed)
    seed.dispose()
    return path


@pytest.fixture
def engine(seeded_database: Path, tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    database = tmp_path / "auditloop.db"
    shutil.copyfile(seeded_database, database)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        secret_key="test-secret",
        scheduler_enabled=False,
        documents_dir=str(tmp_path / "documents"),
    )
    built = build_engine(settings, clock=clock)
    yield built
    built.dispose()


@pytest.fixture
def people(engine: Engine) -> dict[str, Actor]:
    from cli.demo import PEOPLE

    return {name: users.get_actor(engine.uow(), username=name) for name, *_ in PEOPLE}


def actor(engine: Engine, name: str) -> Actor:
    return users.get_actor(engine.uow(), username=name)


def raise_dispatched_case(engine: Engine, *, handler: str = "h_dong1", unit: str = "JC-DONG-1", target: str = "M-778"):
    """A case raised by the auditor and dispatched to a handler; returns (case, the handle task)."""
    case = cases.raise_case(
        engine.uow(),
        target=target,
        anomaly="倍率异常",
        risk_level=2,
        unit_code="JC",
        actor=actor(engine, "auditor"),
        now=engine.now(),
    )
    assert case.instance is not None
    dispatched = tasks.complete_task(
        engine.uow(),
        task_id=open_task(case.instance, "dispatch").id,
        data={"unit": unit, "handler": handler},
        actor=actor(engine, "dispatcher"),
        now=engine.now(),
    )
    return case, open_task(dispatched, "handle")


def attach_report(engine: Engine, instance_id: str, who: str = "h_dong1") -> None:
    documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=instance_id,
        step="handle",
        doc_type="investigation_report",
        filename="report.pdf",
        content=b"%PDF-1.4 report",
        actor=actor(engine, who),
        now=engine.now(),
    )


def csrf_token(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD, **extra: str) -> Any:
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_token(page.text), **extra}
    return client.post("/login", data=data)


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST a form with the CSRF token of the session (read from the inbox, as a page would carry it)."""
    token = csrf_token(client.get("/inbox").text)
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def signed_in(app: Any, username: str) -> FlaskClient:
    client: FlaskClient = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def fragment(client: FlaskClient, url: str) -> Any:
    return client.get(url, headers={"HX-Request": "true", "HX-Target": "inbox"})


def task_ids(html: str) -> list[str]:
    return re.findall(r'href="/tasks/([0-9a-f-]{36})"', html)


# -- inbox ------------------------------------------------------------------------------------------------------


def test_the_inbox_shows_the_dispatched_case_with_its_badge_and_counts(app, engine):
    case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    page = client.get("/inbox")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert handle.id in task_ids(html) and case.case_no in html
    assert "现场核查处理" in html and "稽查工单" in html and "东湖供电所" in html
    assert 'class="badge badge-green"' in html and "正常" in html  # a word beside the colour
    assert re.search(r"我的任务\s*<span class=\"count\">1</span>", html)
    assert "2026年11月23日 09:00" in html  # received, in Asia/Shanghai and the locale's format
    assert "2026年11月28日 09:00" in html  # due five days later
    for category in ("待添加", "待发送", "待移交", "待移交卷宗", "合同预警", "业扩时限预警"):
        assert category in html


def test_tabs_split_mine_group_and_completed(app, engine):
    _case, handle = raise_dispatched_case(engine)
    reviewer = signed_in(app, "reviewer")
    assert task_ids(reviewer.get("/inbox").text) == []
    handler = signed_in(app, "h_dong1")
    attach_report(engine, handle.instance_id)
    completed = post(handler, f"/tasks/{handle.id}/complete", HANDLING)
    assert completed.status_code == 303 and completed.headers["Location"] == "/inbox"
    assert handle.id in task_ids(handler.get("/inbox?tab=completed").text)
    assert task_ids(handler.get("/inbox").text) == []
    group = reviewer.get("/inbox?tab=group").text
    [review_id] = task_ids(group)
    assert "结果审核" in group and "领取" in group
    counts = tasks.inbox_counts(engine.uow(), actor=actor(engine, "reviewer"))
    assert counts["group"]["total"] == 1
    assert re.search(r"我所在组的任务\s*<span class=\"count\">1</span>", group)

    claimed = post(reviewer, f"/tasks/{review_id}/claim", {"next": "/inbox?tab=group"})
    assert claimed.status_code == 303 and claimed.headers["Location"] == "/inbox?tab=group"
    mine = reviewer.get("/inbox").text
    assert task_ids(mine) == [review_id] and "放回组内" in mine
    released = post(reviewer, f"/tasks/{review_id}/unclaim", {"next": "/inbox"})
    assert released.status_code == 303
    assert task_ids(reviewer.get("/inbox?tab=group").text) == [review_id]


def test_filters_and_search_narrow_the_list(app, engine, clock):
    _first, handle_1 = raise_dispatched_case(engine, target="M-1")
    clock.advance(days=3)
    second, handle_2 = raise_dispatched_case(engine, target="M-2")
    clock.advance(days=3)  # the first is overdue now (5 days), the second still green
    deadlines.refresh_time_states(engine.uow(), now=engine.now())
    client = signed_in(app, "h_dong1")
    everything = client.get("/inbox").text
    assert task_ids(everything) == [handle_1.id, handle_2.id]  # overdue first
    assert task_ids(client.get("/inbox?state=red").text) == [handle_1.id]
    assert task_ids(client.get("/inbox?state=green").text) == [handle_2.id]  # 3 of 5 days used
    assert task_ids(client.get("/inbox?state=yellow").text) == []
    assert task_ids(client.get(f"/inbox?q={second.case_no}").text) == [handle_2.id]
    assert task_ids(client.get("/inbox?q=JC-2026-").text) == [handle_1.id, handle_2.id]
    assert task_ids(client.get("/inbox?process=topic_approval").text) == []
    assert task_ids(client.get("/inbox?process=audit_case&unit=JC-DONG-1").text) == [handle_1.id, handle_2.id]
    assert task_ids(client.get("/inbox?unit=JC-XI-1").text) == []
    assert "没有符合筛选条件的任务" in client.get("/inbox?unit=JC-XI-1").text
    red = client.get("/inbox").text
    assert re.search(r'badge-red.*?超期</span> <span class="chip-count">1</span>', red, re.S)
    assert re.search(r'<span>业扩时限预警</span> <span class="count">[1-9]', red)  # the reminders panel
    assert client.get("/inbox?state=purple").status_code == 422


def test_htmx_gets_the_inbox_fragment_and_browsers_the_whole_page(app, engine):
    _case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    part = fragment(client, "/inbox?tab=mine")
    assert part.status_code == 200
    assert "<html" not in part.text and "<table" in part.text and handle.id in part.text
    assert "data-announce" in part.text
    assert "HX-Request" in part.headers.get("Vary", "")
    whole = client.get("/inbox?tab=mine", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in whole.text
    # Without JS the same links and forms work: tabs are links, filters a GET form.
    assert 'href="/inbox?tab=group"' in whole.text and '<form class="filters" role="search" method="get"' in whole.text


def test_paging_fifty_a_page(app, engine):
    for n in range(51):
        cases.raise_case(
            engine.uow(),
            target=f"M-{n}",
            anomaly="倍率异常",
            risk_level=3,
            unit_code="JC",
            actor=actor(engine, "auditor"),
            now=engine.now(),
        )
    client = signed_in(app, "dispatcher")
    first = client.get("/inbox?tab=group").text
    assert len(task_ids(first)) == 50 and "第 1 页，共 2 页" in first and "1–50，共 51 个任务" in first
    second = fragment(client, "/inbox?tab=group&page=2").text
    assert len(task_ids(second)) == 1 and 'rel="prev"' in second


# -- the task page ----------------------------------------------------------------------------------------------


def test_the_task_page_shows_instructions_form_case_and_history(app, engine):
    case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    page = client.get(f"/tasks/{handle.id}")
    assert page.status_code == 200
    html = page.text
    assert "到现场核查异常" in html and "Investigate the anomaly" not in html  # instructions in Chinese only
    assert '<label for="field-findings">核查结果' in html
    # A required boolean is a yes/no choice, never a checkbox (which could not answer "no").
    assert 'type="radio" name="is_false_positive" value="true"' in html
    assert 'type="radio" name="is_false_positive" value="false"' in html
    assert 'type="checkbox" name="is_false_positive"' not in html
    assert "核查报告" in html and "尚未上传" in html  # the checklist
    assert case.case_no in html and "M-778" in html and "倍率异常" in html and "JC-DONG-1" in html
    assert f'data-xml-url="/instances/{handle.instance_id}/diagram.xml"' in html
    assert '"done": ["dispatch"]' in html
    assert "派工" in html and "dispatcher" in html  # the history
    assert 'name="csrf_token"' in html


def test_english_labels_and_instructions(app, engine):
    _case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    post(client, "/language", {"locale": "en", "next": f"/tasks/{handle.id}"})
    html = client.get(f"/tasks/{handle.id}").text
    assert '<html lang="en">' in html
    assert '<label for="field-findings">Findings' in html and "Investigate the anomaly" in html
    assert "On-site investigation and handling" in html
    assert "Nov 23, 2026, 9:00\u202fAM" in html or "Nov 23, 2026, 9:00 AM" in html


def test_a_refused_form_keeps_what_was_typed(app, engine):
    _case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    typed = {"findings": "   ", "cause": "线路 <老化> & 受潮", "is_false_positive": "false", "freeze_days": "abc"}
    refused = post(client, f"/tasks/{handle.id}/complete", typed)
    assert refused.status_code == 422
    html = refused.text
    assert 'class="error-summary"' in html
    assert 'href="#field-findings">核查结果：必填项，请填写。' in html or "必填项，请填写" in html
    assert "线路 &lt;老化&gt; &amp; 受潮</textarea>" in html  # kept, and escaped
    assert 'value="false" id="field-is_false_positive-false" checked' in html
    assert 'value="abc"' in html and "请输入整数" in html
    assert 'aria-invalid="true"' in html
    assert f'name="next" value="/tasks/{handle.id}"' in html  # the language switch returns to the task
    assert client.get(f"/tasks/{handle.id}/complete").headers["Location"] == f"/tasks/{handle.id}"
    # Nothing was saved: the task is still open.
    assert tasks.get_task(engine.uow(), task_id=handle.id, actor=actor(engine, "h_dong1")).state == "open"


def test_completing_without_the_required_document_names_it(app, engine):
    _case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    refused = post(client, f"/tasks/{handle.id}/complete", HANDLING)
    assert refused.status_code == 422
    assert "请上传核查报告" in refused.text
    assert "表计倍率设置错误</textarea>" in refused.text  # the typed answer is still there


def test_attaching_a_document_ticks_the_checklist(app, engine):
    _case, handle = raise_dispatched_case(engine)
    client = signed_in(app, "h_dong1")
    token = csrf_token(client.get(f"/tasks/{handle.id}").text)
    upload = {
        "csrf_token": token,
        "doc_type": "investigation_report",
        "file": (__import__("io").BytesIO(b"%PDF-1.4 report"), "核查报告.pdf"),
        **HANDLING,
    }
    swapped = client.post(
        f"/tasks/{handle.id}/documents", data=upload, content_type="multipart/form-data", headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 200
    assert "<html" not in swapped.text and 'id="documents"' in swapped.text
    assert "已上传" in swapped.text and "DOC-2026-000001" in swapped.text
    assert 'src="/documents/DOC-2026-000001/barcode.svg"' in swapped.text
    barcode = client.get("/documents/DOC-2026-000001/barcode.svg")
    assert barcode.status_code == 200 and barcode.mimetype == "image/svg+xml"
    [doc_id] = re.findall(r'href="/documents/(\d+)"', swapped.text)
    download = client.get(f"/documents/{doc_id}")
    assert download.data == b"%PDF-1.4 report" and "attachment" in download.headers["Content-Disposition"]

    wrong = {"csrf_token": token, "doc_type": "investigation_report", "file": (__import__("io").BytesIO(b"x"), "a.exe")}
    refused = client.post(
        f"/tasks/{handle.id}/documents", data=wrong, content_type="multipart/form-data", headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422 and "允许的文件类型" in refused.text

    # Without JS the whole page comes back with the typed answers kept.
    plain = {**upload, "file": (__import__("io").BytesIO(b"%PDF-1.4 again"), "second.pdf")}
    page = client.post(f"/tasks/{handle.id}/documents", data=plain, content_type="multipart/form-data")
    assert page.status_code == 200 and "<html" in page.text and "表计倍率设置错误</textarea>" in page.text
    assert "DOC-2026-000002" in page.text

    done = post(client, f"/tasks/{handle.id}/complete", HANDLING)
    assert done.status_code == 303


def test_send_back_with_a_comment_reaches_the_handler(app, engine):
    _case, handle = raise_dispatched_case(engine)
    attach_report(engine, handle.instance_id)
    handler = signed_in(app, "h_dong1")
    assert post(handler, f"/tasks/{handle.id}/complete", HANDLING).status_code == 303
    reviewer = signed_in(app, "reviewer")
    [review_id] = task_ids(reviewer.get("/inbox?tab=group").text)
    review = reviewer.get(f"/tasks/{review_id}").text
    assert '<label for="field-comment">审核意见' in review and 'name="approved" value="false"' in review
    sent_back = post(reviewer, f"/tasks/{review_id}/complete", {"approved": "false", "comment": "请补充现场照片"})
    assert sent_back.status_code == 303
    [again] = task_ids(handler.get("/inbox").text)
    page = handler.get(f"/tasks/{again}").text
    assert "退回意见" in page and "请补充现场照片" in page
    assert "表计倍率设置错误</textarea>" in page  # the earlier answer is prefilled
    assert 'value="false" id="field-is_false_positive-false" checked' not in page  # yes/no asked again


def test_a_task_someone_else_completed_says_so(app, engine):
    _case, handle = raise_dispatched_case(engine)
    attach_report(engine, handle.instance_id)
    handler = signed_in(app, "h_dong1")
    reviewer = signed_in(app, "reviewer")
    assert post(handler, f"/tasks/{handle.id}/complete", HANDLING).status_code == 303
    [review_id] = task_ids(reviewer.get("/inbox?tab=group").text)
    token = csrf_token(reviewer.get(f"/tasks/{review_id}").text)
    tasks.complete_task(
        engine.uow(), task_id=review_id, data={"approved": False}, actor=actor(engine, "admin"), now=engine.now()
    )
    late = reviewer.post(f"/tasks/{review_id}/complete", data={"csrf_token": token, "approved": "true"})
    assert late.status_code == 409
    assert "admin 已经完成了这项任务" in late.text and "您填写的内容没有保存" in late.text
    assert "<h1>409</h1>" not in late.text
    reopened = reviewer.get(f"/tasks/{review_id}").text
    assert "admin 已于" in reopened and 'id="task-form"' not in reopened


def test_a_task_of_another_unit_or_role_is_not_found(app, engine):
    _case, handle = raise_dispatched_case(engine)
    other_unit = signed_in(app, "h_xi1")
    assert other_unit.get(f"/tasks/{handle.id}").status_code == 404
    assert other_unit.get(f"/instances/{handle.instance_id}/diagram.xml").status_code in (403, 404)
    assert post(other_unit, f"/tasks/{handle.id}/complete", HANDLING).status_code == 404
    archivist = signed_in(app, "archivist")
    assert archivist.get(f"/tasks/{handle.id}").status_code == 404
    owner = signed_in(app, "h_dong1")
    xml = owner.get(f"/instances/{handle.instance_id}/diagram.xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b'id="audit_case"' in xml.data
    assert owner.get("/tasks/no-such-task").status_code == 404


def test_pages_send_security_headers(app, engine):
    client = signed_in(app, "h_dong1")
    page = client.get("/inbox")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert "/static/vendor/htmx.min.js" in page.text and "unpkg" not in page.text and "cdn" not in page.text.lower()


def test_reminders_can_be_acknowledged_from_the_panel(app, engine, clock):
    raise_dispatched_case(engine, target="M-9")
    clock.advance(days=6)
    jobs.tick(engine)
    client = signed_in(app, "h_dong1")
    page = client.get("/inbox").text
    ids = re.findall(r'action="/reminders/(\d+)/ack"', page)
    assert ids, "the panel lists the open reminders"
    other = signed_in(app, "h_dong2")
    assert post(other, f"/reminders/{ids[0]}/ack").status_code == 404  # not theirs
    assert post(client, f"/reminders/{ids[0]}/ack", {"next": "/inbox"}).status_code == 303
    assert f'action="/reminders/{ids[0]}/ack"' not in client.get("/inbox").text


def test_a_supervisor_drills_down_the_board_and_urges_selected_items(app, engine, clock):
    raise_dispatched_case(engine, target="M-51")
    raise_dispatched_case(engine, target="M-52")
    clock.advance(days=6)
    jobs.tick(engine)
    assert signed_in(app, "h_dong1").get("/monitor").status_code == 403
    client = signed_in(app, "supervisor")
    city = client.get("/monitor").text
    assert "监控" in city and 'href="/monitor?unit=JC"' in city
    district = client.get("/monitor?unit=JC-DONG").text
    assert "东湖供电所" in district and "/monitor/items?time_state=red&amp;unit=JC-DONG-1" in district
    items = client.get("/monitor/items?time_state=red&unit=JC-DONG-1").text
    picked = re.findall(r'name="task_id" value="([0-9a-f-]{36})"', items)
    assert len(picked) == 2
    done = post(client, "/monitor/urge", {"task_id": picked, "message": "今天办结", "next": "/monitor"})
    assert done.status_code == 303
    assert "已催办 2 / 2 项" in client.get("/monitor").text
    handler_page = signed_in(app, "h_dong1").get("/inbox").text
    assert "催办 Urged by supervisor" in handler_page
