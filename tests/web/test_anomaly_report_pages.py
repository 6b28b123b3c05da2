"""The anomaly report page (三报) and its downloads in the browser: who sees it, its figures, Excel and CSV."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook  # type: ignore[import-untyped]

from engine.services import anomalies, users
from tests.web.test_intake_upload import TOPIC, engine, seeded_database  # noqa: F401 - fixtures
from tests.web.test_pages import signed_in


def send(engine, n: int) -> None:  # noqa: F811
    auditor = users.get_actor(engine.uow(), username="auditor")
    items = [
        {
            "external_id": f"R-{i}",
            "target": f"C{i % 2}",
            "unit": "JC-DONG-1",
            "observed_at": "2026-11-23T08:00:00+08:00",
            "description": "=cmd|' /C calc'!A0",
        }
        for i in range(n)
    ]
    view = anomalies.submit_batch(
        engine.uow(), topic_code=TOPIC, items=items, source="api", actor=auditor, now=engine.now(), owner="t"
    )
    anomalies.work_batch(engine.uow, batch_id=view.id, owner="t", clock=engine.now)


def cell(html: str, table: str, row_key: str) -> list[str]:
    found = re.search(rf'<table class="board" id="report-{table}">.*?</table>', html, re.S)
    assert found, f"no table {table}"
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S):
        if row_key in row:
            return [re.sub(r"<[^>]+>.*", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    raise AssertionError(f"no row {row_key} in {table}")


def test_supervisors_and_auditors_read_the_report_with_its_figures(app, engine):  # noqa: F811
    send(engine, 3)  # C0 raises and merges once, C1 raises
    for who in ("supervisor", "auditor", "admin"):
        client = signed_in(app, who)
        page = client.get("/reports/anomalies?period=day&date=2026-11-23")
        assert page.status_code == 200, who
        assert 'href="/reports/anomalies"' in client.get("/inbox").text
    html = page.text
    # found, raised, merged, skipped, recorded, warned, completed, overdue
    assert cell(html, "topic", TOPIC)[:3] == ["3", "2", "1"]
    assert cell(html, "unit", "东湖供电所")[:3] == ["3", "2", "1"]
    week = client.get("/reports/anomalies?period=week&date=2026-11-23")
    assert week.status_code == 200 and "2026-W48" in week.text


def test_the_page_downloads_excel_and_csv(app, engine):  # noqa: F811
    send(engine, 2)
    client = signed_in(app, "supervisor")
    xlsx = client.get("/reports/anomalies/export.xlsx?period=month&date=2026-11-23")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    lines = list(book["by topic"].iter_rows(values_only=True))
    row = next(r for r in lines if r[0] == TOPIC)
    assert row[2:4] == (2, 2)  # found, raised
    exported = client.get("/reports/anomalies/export.csv?period=month&date=2026-11-23&grouping=topic_unit")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert f"{TOPIC}," in exported.data.decode("utf-8-sig")


def test_other_roles_are_refused_and_bad_arguments_say_so(app, engine):  # noqa: F811
    for who in ("h_dong1", "dispatcher", "head_dong"):
        client = signed_in(app, who)
        assert client.get("/reports/anomalies").status_code == 403
        assert client.get("/reports/anomalies/export.xlsx?period=day").status_code == 403
        assert 'href="/reports/anomalies"' not in client.get("/inbox").text
    client = signed_in(app, "supervisor")
    assert client.get("/reports/anomalies?period=year").status_code == 422
    assert client.get("/reports/anomalies?date=yesterday").status_code == 422
