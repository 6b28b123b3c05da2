"""The supervisor's journey on the demo data in a real browser (issue 7's "Done when").

A supervisor signs in, sees the board with the counts the API gives, drills from the city to a station, selects
three red items and urges them; each assignee signs in and sees the reminder. Then the supervisor opens the
evaluation, downloads this month's Excel export from the page, and its numbers are the page's.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.e2e.conftest import serving

pytestmark = pytest.mark.slow
PASSWORD = "demo-password"


@pytest.fixture(scope="module")
def demo_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`auditloop demo`'s data served by `auditloop serve`; yields (base URL, the supervisor's API token)."""
    from cli import upgrade_database
    from cli.demo import load_demo
    from engine.bootstrap import build_engine
    from engine.config import Settings
    from engine.services import users

    folder = tmp_path_factory.mktemp("demo")
    url = "sqlite:///" + str(folder / "demo.db")
    documents = str(folder / "documents")
    engine = build_engine(Settings(database_url=url, scheduler_enabled=False, documents_dir=documents))
    try:
        upgrade_database(engine)
        load_demo(engine, Path(__file__).resolve().parents[2], echo=lambda _line: None)
        token = users.create_token(engine.uow(), username="supervisor", now=engine.now())
    finally:
        engine.dispose()
    with serving(url, documents, folder) as base:
        yield base, token


def _api(base: str, token: str, path: str) -> Any:
    request = urllib.request.Request(base + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _sign_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))
    return page


def _board_rows(page: Any) -> dict[str, dict[str, int]]:
    """The board table as {group name: {red, yellow, green, total}}."""
    found = {}
    for row in page.locator("table.board tbody tr").all():
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        found[row.locator("th").inner_text().strip()] = dict(
            zip(("red", "yellow", "green", "total"), map(int, cells), strict=True)
        )
    return found


def _api_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {r["label"]: {s: r[s] for s in ("red", "yellow", "green", "total")} for r in rows}


def test_supervisor_drills_down_urges_three_red_items_and_exports_the_month(
    browser: Any, demo_server: tuple[str, str], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    base, token = demo_server
    page = _sign_in(browser, base, "supervisor")

    # -- the board, city -> district -> station, each level's counts equal to the API's ------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Monitor").click()
    page.wait_for_url(re.compile(r"/monitor"))
    assert _board_rows(page) == _api_rows(_api(base, token, "/board?group_by=unit"))
    expect(page.locator("#board-chart")).to_have_attribute("data-ready", "true")  # Chart.js drew the counts
    page.locator("table.board tbody th a", has_text="江城供电公司").click()
    page.wait_for_url(re.compile(r"unit=JC$"))
    districts = _api(base, token, "/board?group_by=unit&unit=JC")
    assert _board_rows(page) == _api_rows(districts)
    district = districts[0]  # worst first
    page.locator("table.board tbody th a", has_text=district["label"]).click()
    page.wait_for_url(re.compile(r"unit=" + district["key"] + "$"))
    stations = _api(base, token, f"/board?group_by=unit&unit={district['key']}")
    assert _board_rows(page) == _api_rows(stations)
    station = stations[0]
    assert station["red"] >= 3, f"the demo should leave a station with three red items, got {stations}"
    page.screenshot(path=str(screenshots / "supervisor-board.png"), full_page=True)
    row = page.locator("table.board tbody tr", has_text=station["label"])
    row.locator("td").first.get_by_role("link").click()  # the red count
    page.wait_for_url(re.compile(r"/monitor/items"))

    # -- three red items selected and urged; the page reports who was reminded for each ------------------------
    items = page.locator("table.board-items tbody tr")
    expect(items).to_have_count(station["red"])
    picked = []
    for item in items.all()[:3]:
        item.locator("input[type=checkbox]").check()
        picked.append(item.locator("td").nth(1).inner_text().strip())
    page.get_by_label("Message").fill("请今天处理 please finish today")
    page.get_by_role("button", name="Urge the selected").click()
    flashes = page.locator(".flashes")
    expect(flashes).to_contain_text("Urged 3 of 3")
    page.screenshot(path=str(screenshots / "supervisor-urged.png"), full_page=True)
    reminded: dict[str, list[str]] = {}
    for case_no in picked:
        line = flashes.locator("p", has_text=f"{case_no}: urged, reminded ").first.inner_text()
        for person in line.split("reminded ", 1)[1].split(", "):
            reminded.setdefault(person.strip(), []).append(case_no)
    assert reminded, "each urged item names the people reminded"

    # -- each person reminded signs in and sees the reminder ------------------------------------------------
    for person, case_nos in sorted(reminded.items()):
        theirs = _sign_in(browser, base, person)
        panel = theirs.locator(".reminders")
        for case_no in case_nos:
            expect(panel).to_contain_text(f"Urged by supervisor: {case_no}")
        theirs.screenshot(path=str(screenshots / f"reminded-{person}.png"), full_page=True)
        theirs.context.close()

    # -- this month's evaluation, downloaded from the page, equals the page ---------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluation").click()
    page.wait_for_url(re.compile(r"/evaluation"))
    for level in ("unit", "team"):
        page.get_by_label("Level").select_option(level)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"level=" + level))
        shown = _kpi_table(page)
        assert shown, f"the {level} table has rows"
        assert shown == {r["key"]: r for r in _api(base, token, f"/kpis?period={_month(page)}&level={level}")["rows"]}
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Export to Excel").click()
        download = download_info.value
        assert download.suggested_filename == f"kpis-{_month(page)}.xlsx"
        saved = screenshots / f"{level}-{download.suggested_filename}"
        download.save_as(saved)
        book = load_workbook(saved)
        sheet = book[level]
        header = [c.value for c in sheet[1]]
        from_file = {}
        for values in sheet.iter_rows(min_row=2, values_only=True):
            record = dict(zip(header, values, strict=True))
            from_file[record["key"]] = {k: (None if v == "—" else v) for k, v in record.items()}
        assert from_file == shown
    expect(page.locator("#ranking-chart")).to_have_attribute("data-ready", "true")
    expect(page.locator("#trend-chart")).to_have_attribute("data-ready", "true")
    page.screenshot(path=str(screenshots / "supervisor-evaluation.png"), full_page=True)

    # -- the printable report: every level's tables, the trends; printed without the page's chrome ----------
    month = _month(page)
    page.get_by_role("link", name="Printable report").click()
    page.wait_for_url(re.compile(r"/evaluation/report"))
    for level in ("person", "team", "unit"):
        expect(page.locator(f"#kpi-table-{level}")).to_be_visible()
    trend = page.locator("#trend-table tbody tr")
    expect(trend.last).to_have_attribute("data-period", month)
    expect(page.locator("#trend-chart")).to_have_attribute("data-ready", "true")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    page.screenshot(path=str(screenshots / "supervisor-report-print.png"), full_page=True)
    page.context.close()


def _kpi_table(page: Any) -> dict[str, dict[str, Any]]:
    """The page's KPI table as {key: {key, label, field: exact value}} from the cells' data-value."""
    rows: dict[str, dict[str, Any]] = {}
    for row in page.locator("#kpi-table tbody tr[data-key]").all():
        key = row.get_attribute("data-key")
        record: dict[str, Any] = {"key": key, "label": row.locator("th").inner_text().strip()}
        for cell in row.locator("td[data-field]").all():
            raw = cell.get_attribute("data-value")
            text = cell.inner_text().strip()
            value = None if raw == "" else (int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw))
            if isinstance(value, float):
                assert text == f"{value * 100:.2f}%", "the shown percentage is the exact rate rounded"
            elif value is None:
                assert text == "—"
            record[cell.get_attribute("data-field")] = value
        rows[str(key)] = record
    return rows


def _month(page: Any) -> str:
    return str(page.get_by_label("Period").input_value())


def test_the_items_list_refreshes_itself_and_keeps_the_ticked_boxes(
    browser: Any, demo_server: tuple[str, str], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    base, _token = demo_server
    page = _sign_in(browser, base, "supervisor")
    page.goto(base + "/monitor/items?unit=JC&refresh=2")
    boxes = page.locator("#items-body input[type=checkbox]")
    expect(boxes.first).to_be_visible()
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.evaluate("document.body.addEventListener('htmx:afterSettle', () => { window.__refreshed = true })")
    with page.expect_response(lambda r: "/monitor/items" in r.url and r.request.headers.get("hx-request") == "true"):
        pass  # the poll after 2 s
    page.wait_for_function("window.__refreshed === true")
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).not_to_be_checked()
    expect(boxes.nth(2)).to_be_checked()
    page.context.close()
