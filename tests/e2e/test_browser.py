"""The handler's and the reviewer's journey in a real browser, once in English and once in Chinese.

A handler signs in, finds the dispatched case in the inbox by its badge, opens it, submits with a required field
empty (the error shows and what was typed stays), fixes it, attaches the required document, completes; the
reviewer sends it back with a comment; the handler sees it again with the comment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow
PASSWORD = "demo-password"

TEXT = {
    "en": {
        "locale": "en-US",
        "sign_in": "Sign in",
        "username": "Username",
        "password": "Password",
        "on_time": "On time",
        "group_tab": "My groups' tasks",
        "findings": "Findings",
        "cause": "Cause",
        "false_positive": "False positive",
        "needs_rectification": "Needs rectification",
        "no": "No",
        "complete": "Complete and send on",
        "required": "Required: please fill this in.",
        "kind": "Kind of document",
        "report": "investigation report",
        "file": "File",
        "attach": "Attach",
        "attached": "attached",
        "done": "Done:",
        "approved": "Approved",
        "comment": "Comment",
        "sent_back": "Sent back with this comment",
        "sign_out": "Sign out",
    },
    "zh": {
        "locale": "zh-CN",
        "sign_in": "登录",
        "username": "用户名",
        "password": "密码",
        "on_time": "正常",
        "group_tab": "我所在组的任务",
        "findings": "核查结果",
        "cause": "原因分析",
        "false_positive": "是否误报",
        "needs_rectification": "是否需要整改",
        "no": "否",
        "complete": "提交并流转",
        "required": "必填项，请填写。",
        "kind": "文件类别",
        "report": "核查报告",
        "file": "文件",
        "attach": "上传",
        "attached": "已上传",
        "done": "已完成",
        "approved": "审核同意",
        "comment": "审核意见",
        "sent_back": "退回意见",
        "sign_out": "退出",
    },
}


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _sign_in(page: Any, t: dict[str, str], base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label(t["username"]).fill(username)
    page.get_by_label(t["password"]).fill(PASSWORD)
    page.get_by_role("button", name=t["sign_in"], exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))


def _row(page: Any, case_no: str) -> Any:
    return page.locator("tr.task-row", has_text=case_no)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_handler_and_reviewer_journey(browser, live_server: LiveServer, screenshots: Path, language: str):
    expect = _expect()
    t = TEXT[language]
    handler = "h_dong1" if language == "en" else "h_dong2"
    case_no = live_server.cases[handler]
    base = live_server.base

    # -- the handler: inbox, badge, the task, a refused form, the document, completion --------------------
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    _sign_in(page, TEXT["zh"], base, handler)
    if language == "en":  # the header switch, remembered for this person from now on
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    row = _row(page, case_no)
    expect(row.locator(".badge")).to_have_text(t["on_time"])
    page.evaluate("window.__notReloaded = true")
    page.locator("#filter-q").fill(case_no)
    page.locator("#filter-q").press("Enter")
    page.wait_for_url(re.compile(r"q=" + re.escape(case_no)))
    expect(page.locator("tr.task-row")).to_have_count(1)
    assert page.evaluate("window.__notReloaded === true"), "the filter should update the list without a reload"
    page.screenshot(path=str(screenshots / f"{language}-inbox.png"), full_page=True)

    row.get_by_role("link", name=case_no).click()
    expect(page.locator("#diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator(".djs-element.al-current")).to_have_count(1)
    page.screenshot(path=str(screenshots / f"{language}-task.png"), full_page=True)

    page.get_by_label(t["cause"]).fill("CT ratio 200/5 entered as 100/5")
    page.get_by_role("group", name=t["false_positive"]).get_by_label(t["no"]).check()
    page.get_by_role("group", name=t["needs_rectification"]).get_by_label(t["no"]).check()
    page.get_by_role("button", name=t["complete"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".field.has-error").first).to_contain_text(t["required"])
    expect(page.get_by_label(t["cause"])).to_have_value("CT ratio 200/5 entered as 100/5")
    expect(page.get_by_role("group", name=t["false_positive"]).get_by_label(t["no"])).to_be_checked()
    page.screenshot(path=str(screenshots / f"{language}-task-refused.png"), full_page=True)

    page.get_by_label(t["findings"]).fill("Meter multiplier wrong since 2026-10")
    page.get_by_label(t["kind"]).select_option(label=t["report"])
    page.get_by_label(t["file"], exact=True).set_input_files(
        files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 investigation report"}]
    )
    page.get_by_role("button", name=t["attach"], exact=True).click()
    expect(page.locator(".checklist li.done")).to_contain_text(t["attached"])
    expect(page.locator("img.barcode")).to_have_count(1)
    expect(page.get_by_label(t["findings"])).to_have_value("Meter multiplier wrong since 2026-10")
    page.get_by_role("button", name=t["complete"]).click()
    page.wait_for_url(re.compile(r"/inbox$"))
    expect(page.locator(".alert-success")).to_contain_text(t["done"])
    expect(_row(page, case_no)).to_have_count(0)
    context.close()

    # -- the reviewer sends it back with a comment ------------------------------------------------------
    context = browser.new_context(locale=t["locale"], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    _sign_in(page, t, base, "reviewer")
    page.get_by_role("link", name=t["group_tab"]).click()
    page.wait_for_url(re.compile(r"tab=group"))
    _row(page, case_no).get_by_role("link", name=case_no).click()
    page.get_by_role("group", name=t["approved"]).get_by_label(t["no"]).check()
    page.get_by_label(t["comment"]).fill("请补充现场照片 / add photos of the meter")
    page.get_by_role("button", name=t["complete"]).click()
    page.wait_for_url(re.compile(r"/inbox$"))
    context.close()

    # -- the handler sees it again, with the comment --------------------------------------------------------
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    _sign_in(page, TEXT["zh"], base, handler)
    expect(page.locator("html")).to_have_attribute("lang", "en" if language == "en" else "zh-CN")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "no horizontal scroll on a phone"
    page.screenshot(path=str(screenshots / f"{language}-inbox-phone.png"), full_page=True)
    _row(page, case_no).get_by_role("link", name=case_no).click()
    callout = page.locator(".callout")
    expect(callout).to_contain_text(t["sent_back"])
    expect(callout).to_contain_text("请补充现场照片 / add photos of the meter")
    expect(page.get_by_label(t["findings"])).to_have_value("Meter multiplier wrong since 2026-10")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(screenshots / f"{language}-task-sent-back-phone.png"), full_page=True)
    context.close()
