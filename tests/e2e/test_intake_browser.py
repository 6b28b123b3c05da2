"""An auditor uploads a CSV of anomalies in a real browser: preview, column mapping, the row check, sending, the
progress bar worked by the page itself (the server's scheduler is off) and the batch report with its cases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, _free_port

pytestmark = pytest.mark.slow
PASSWORD = "demo-password"
TOPIC = "DATA-03"
CSV = (
    "编号,cust_no,供电单位,发现时间,异常描述,台区\n"
    "E-1,C100,JC-DONG-1,2026-11-20 08:30,用户联系电话缺失,T1\n"
    "E-2,C101,JC-XI-1,2026-11-20,合同容量与档案容量不一致,T2\n"
    "E-3,C100,JC-DONG-1,2026-11-21,同一用户再次发现,T1\n"
    "E-4,C102,NO-SUCH-UNIT,2026-11-21,单位不存在,T3\n"
)


@pytest.fixture(scope="module")
def intake_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`auditloop serve` with the scheduler off, on a database with the demo organisation and an active topic."""
    from cli import upgrade_database
    from engine.bootstrap import build_engine
    from engine.config import Settings
    from tests.helpers import build_org, deploy_processes, publish_topic

    folder = tmp_path_factory.mktemp("intake-live")
    url = "sqlite:///" + str(folder / "ui.db")
    documents = str(folder / "documents")
    engine = build_engine(Settings(database_url=url, scheduler_enabled=False, documents_dir=documents))
    try:
        upgrade_database(engine)
        deploy_processes(engine)
        publish_topic(engine, build_org(engine), TOPIC)
    finally:
        engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOOP_")}
    env.update(
        AUDITLOOP_DATABASE_URL=url,
        AUDITLOOP_DOCUMENTS_DIR=documents,
        AUDITLOOP_SECRET_KEY="browser-test",
        AUDITLOOP_SCHEDULER="off",
    )
    exe = Path(sys.executable).parent / "auditloop"
    command = [str(exe)] if exe.exists() else [sys.executable, "-c", "from cli import main; main()"]
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer within 20 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_an_auditor_uploads_maps_checks_and_sends_a_csv(browser: Any, intake_server: str, screenshots: Path):
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    base = intake_server

    page.goto(base + "/login")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))
    page.get_by_role("link", name="Upload anomalies").click()
    page.wait_for_url(re.compile(r"/intake$"))

    page.get_by_label("Topic").select_option(TOPIC)
    page.get_by_label("File").set_input_files(
        {"name": "anomalies.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8-sig")}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/intake/uploads/\d+$"))
    preview = page.locator("#preview")
    expect(preview).to_contain_text("用户联系电话缺失")
    expect(preview.locator("tbody tr")).to_have_count(4)
    # Known headers are mapped already; the customer number column has an unknown name: map it by hand.
    expect(page.get_by_label(re.compile(r"^Unit code"))).to_have_value("供电单位")
    expect(page.get_by_label(re.compile(r"^Target"))).to_have_value("")
    page.get_by_label(re.compile(r"^Target")).select_option("cust_no")
    page.get_by_label(re.compile(r"^External ID")).select_option("编号")
    page.get_by_label("台区").check()
    page.screenshot(path=str(screenshots / "intake-1-mapping.png"), full_page=True)
    page.get_by_role("button", name="Check the rows").click()

    expect(page.locator('[data-count="valid"]')).to_have_text("3")
    expect(page.locator('[data-count="rejected"]')).to_have_text("1")
    report = page.locator("#row-report")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report).to_contain_text("NO-SUCH-UNIT")
    expect(report.locator("tbody tr td").first).to_have_text("5")  # the header is row 1
    page.screenshot(path=str(screenshots / "intake-2-check.png"), full_page=True)
    page.get_by_role("button", name="Send 4 rows").click()

    page.wait_for_url(re.compile(r"/intake/batches/\d+$"))
    done = page.locator("#batch-report")
    expect(done).to_be_visible(timeout=15_000)  # the page polls; each poll works a chunk
    expect(page.locator('#batch-counts [data-count="received"]')).to_have_text("4")
    expect(page.locator('#batch-counts [data-count="rejected"]')).to_have_text("1")
    expect(page.locator('#batch-counts [data-count="raised"]')).to_have_text("2")
    expect(page.locator('#batch-counts [data-count="merged"]')).to_have_text("1")
    expect(page.locator("#batch-rejections")).to_contain_text("NO-SUCH-UNIT")
    cases = page.locator("#batch-cases tbody tr")
    expect(cases).to_have_count(2)
    page.screenshot(path=str(screenshots / "intake-3-report.png"), full_page=True)

    page.locator("#batch-cases a").first.click()
    page.wait_for_url(re.compile(r"/intake/cases/\d+$"))
    expect(page.locator("#occurrences tbody tr").first).to_contain_text("E-")
    # Remembered: the next upload of the topic offers the same columns.
    page.get_by_role("link", name="Upload anomalies").click()
    page.get_by_label("Topic").select_option(TOPIC)
    page.get_by_label("File").set_input_files({"name": "again.csv", "mimeType": "text/csv", "buffer": CSV.encode()})
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_label(re.compile(r"^Target"))).to_have_value("cust_no")
    assert problems == []
    context.close()
