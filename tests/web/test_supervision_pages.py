"""The board's filters, wall screen and bulk supervision orders, the orders list, and the evaluation page."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook  # type: ignore[import-untyped]

from engine.scheduler import jobs
from engine.services import users
from tests.web import test_pages
from tests.web.conftest import bearer
from tests.web.test_pages import post, raise_dispatched_case, signed_in

seeded_database = test_pages.seeded_database
engine = test_pages.engine


def _red_cases(engine, clock, *targets: str, unit: str = "JC-DONG-1", handler: str = "h_dong1") -> list[str]:
    found = [raise_dispatched_case(engine, target=t, unit=unit, handler=handler) for t in targets]
    clock.advance(days=6)
    jobs.tick(engine)
    return [case.case_no for case, _task in found]


def test_board_filters_by_risk_level_topic_and_period(client, engine, clock):
    _red_cases(engine, clock, "M-1", "M-2")
    sup = bearer(users.create_token(engine.uow(), username="supervisor", now=engine.now()))
    everything = client.get("/api/v1/board?group_by=unit&unit=JC-DONG", headers=sup).json
    assert [(r["key"], r["red"]) for r in everything] == [("JC-DONG-1", 2), ("JC-DONG-2", 0)]
    # raise_dispatched_case raises at risk level 2, under no topic, in November 2026.
    assert client.get("/api/v1/board?group_by=unit&unit=JC-DONG&risk_level=2", headers=sup).json == everything
    assert [r["red"] for r in client.get("/api/v1/board?unit=JC-DONG&risk_level=1", headers=sup).json] == [0, 0]
    assert [r["total"] for r in client.get("/api/v1/board?unit=JC-DONG&topic=TARIFF-01", headers=sup).json] == [0, 0]
    assert client.get("/api/v1/board?unit=JC-DONG&period=2026-11", headers=sup).json == everything
    assert [r["total"] for r in client.get("/api/v1/board?unit=JC-DONG&period=2026-10", headers=sup).json] == [0, 0]
    items = client.get("/api/v1/board/items?unit=JC-DONG&time_state=red&risk_level=2&period=2026-11", headers=sup)
    assert items.json["total"] == 2
    assert client.get("/api/v1/board/items?risk_level=1", headers=sup).json["total"] == 0
    bad = client.get("/api/v1/board?period=November", headers=sup)
    assert bad.status_code == 422 and "period" in bad.json["error"]["details"]["fields"]
    assert client.get("/api/v1/board?risk_level=7", headers=sup).status_code == 422


def test_bulk_supervision_orders_report_each_item_through_the_api(client, engine, clock):
    _red_cases(engine, clock, "M-3", "M-4")
    sup = bearer(users.create_token(engine.uow(), username="supervisor", now=engine.now()))
    ids = [t["id"] for t in client.get("/api/v1/board/items?time_state=red", headers=sup).json["items"]]
    body = {"task_ids": [*ids, ids[0], "no-such-task"], "reason": "三天内办结"}
    report = client.post("/api/v1/bulk/supervision-orders", json=body, headers=sup).json["results"]
    assert [r["result"] for r in report] == ["raised", "raised", "refused", "refused"], report
    assert report[0]["addressed_to"] == "head_dong"
    assert report[2]["reason"].startswith("order ") and report[3]["reason"] == "no such task in your units"
    again = client.post("/api/v1/bulk/supervision-orders", json={"task_ids": ids[:1], "reason": "x"}, headers=sup)
    assert again.json["results"][0]["reason"] == f"order {report[0]['order_id']} is still open"
    orders = client.get("/api/v1/supervision-orders", headers=sup).json
    assert {o["case_no"] for o in orders} == {r["case_no"] for r in report[:2]}
    handler = bearer(users.create_token(engine.uow(), username="h_dong1", now=engine.now()))
    refused = client.post("/api/v1/bulk/supervision-orders", json={"task_ids": ids, "reason": "x"}, headers=handler)
    assert refused.status_code == 403
    empty = client.post("/api/v1/bulk/supervision-orders", json={"reason": "x"}, headers=sup)
    assert empty.status_code == 422 and "task_ids" in empty.json["error"]["details"]["fields"]
    assert client.post("/api/v1/bulk/supervision-orders", json={"task_ids": ids}, headers=sup).status_code == 422
    assert len(client.get("/api/v1/supervision-orders", headers=sup).json) == 2  # rejected input changed nothing


def test_a_supervisor_raises_orders_from_the_items_page_and_follows_them_until_closed(app, engine, clock):
    case_nos = _red_cases(engine, clock, "M-5", "M-6")
    client = signed_in(app, "supervisor")
    items = client.get("/monitor/items?time_state=red&unit=JC-DONG-1").text
    picked = re.findall(r'name="task_id" value="([0-9a-f-]{36})"', items)
    assert 'hx-trigger="every 30s"' in items and 'hx-preserve="true"' in items
    assert post(client, "/monitor/supervise", {"task_id": picked, "reason": ""}).status_code == 303
    assert "督办单必须写明原因" in client.get("/monitor/orders").text
    done = post(client, "/monitor/supervise", {"task_id": picked, "reason": "限期办结", "next": "/monitor/orders"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/monitor/orders")
    page = client.get("/monitor/orders").text
    assert "已为 2 项发出 2 张督办单" in page
    assert all(no in page for no in case_nos) and "限期办结" in page and "head_dong" in page
    order_id = re.findall(r'data-order="(\d+)"', page)[0]
    head = signed_in(app, "head_dong")
    assert "督办单 Supervision order on" in head.get("/inbox").text
    assert post(head, f"/monitor/orders/{order_id}/close", {"next": "/inbox"}).status_code == 303
    assert f'data-order="{order_id}"' not in client.get("/monitor/orders").text
    assert "已于" in client.get("/monitor/orders?state=all").text
    other = signed_in(app, "h_dong2")
    assert post(other, f"/monitor/orders/{order_id}/close").status_code in (403, 404)


def test_board_page_filters_refreshes_and_has_a_wall_screen(app, engine, clock):
    _red_cases(engine, clock, "M-7")
    client = signed_in(app, "supervisor")
    board = client.get("/monitor?unit=JC-DONG&risk_level=2&period=2026-11").text
    assert 'hx-trigger="every 30s"' in board and 'hx-select="#board-live"' in board
    assert "/monitor/items?time_state=red&amp;unit=JC-DONG-1&amp;period=2026-11&amp;risk_level=2" in board
    assert 'data-state="red">1<' in board
    assert 'data-state="red">0<' in client.get("/monitor?unit=JC-DONG&risk_level=1").text
    wall = client.get("/monitor/wall?unit=JC-DONG&refresh=10").text
    assert 'class="wall"' in wall and "site-nav" not in wall and 'hx-trigger="every 10s"' in wall
    assert re.search(r'class="wall-count" data-state="red">1<', wall)
    assert client.get("/monitor?risk_level=9").status_code == 422
    assert signed_in(app, "h_dong1").get("/monitor/wall").status_code == 403


def test_the_evaluation_page_shows_the_month_and_its_exports_match(app, engine, clock):
    _red_cases(engine, clock, "M-8", "M-9")
    assert signed_in(app, "h_dong1").get("/evaluation").status_code == 403
    client = signed_in(app, "supervisor")
    assert 'href="/evaluation"' in client.get("/inbox").text
    page = client.get("/evaluation?period=2026-11&level=team").text
    row = re.search(r'<tr data-key="JC-DONG-1">(.*?)</tr>', page, re.S)
    assert row is not None
    cells = dict(re.findall(r'data-field="(\w+)" data-value="([^"]*)"', row.group(1)))
    assert cells["cases_raised"] == "2" and cells["overdue_rate"] == "1.0" and cells["audit_initiation_rate"] == ""
    assert 'id="score-table"' in page
    book = load_workbook(io.BytesIO(client.get("/evaluation/export.xlsx?period=2026-11").data))
    assert book.sheetnames == ["person", "team", "unit"]
    sheet = {r[0]: r for r in book["team"].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in book["team"][1]]
    assert sheet["JC-DONG-1"][header.index("cases_raised")] == 2
    assert sheet["JC-DONG-1"][header.index("overdue_rate")] == 1.0
    text = client.get("/evaluation/export.csv?period=2026-11&level=unit").data.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text)))[:3] == ["key", "label", "cases_raised"]
    bad = client.get("/evaluation?period=Nov")
    assert bad.status_code == 422


def test_a_frozen_month_shows_its_snapshot_and_the_corrections_since(app, engine, clock):
    from engine.services import scoring, snapshots

    _red_cases(engine, clock, "M-10")
    clock.advance(days=10)  # into December
    admin = users.get_actor(engine.uow(), username="admin")
    snapshots.freeze_month(engine.uow(), period="2026-11", actor=admin, now=engine.now())
    client = signed_in(app, "supervisor")
    page = client.get("/evaluation?period=2026-11&level=team").text
    assert 'id="snapshot-note"' in page and 'id="score-corrections"' not in page
    scoring.add_adjustment(
        engine.uow(),
        period="2026-11",
        level="team",
        subject_key="JC-DONG-1",
        kind="bonus",
        value=3,
        reason="表彰",
        actor=users.get_actor(engine.uow(), username="supervisor"),
        now=engine.now(),
    )
    page = client.get("/evaluation?period=2026-11&level=team").text
    corrections = re.search(r'id="score-corrections".*?</table>', page, re.S)
    assert corrections is not None and 'data-key="JC-DONG-1" data-figure="bonus"' in corrections.group(0)
    assert re.search(
        r'data-figure="bonus">.*?<td class="num">0</td><td class="num">3</td><td class="num">3</td>', page, re.S
    )
    assert 'id="kpi-corrections"' not in page
    # the export is the frozen month, as the page shows it
    book = load_workbook(io.BytesIO(client.get("/evaluation/export.xlsx?period=2026-11").data))
    assert book.sheetnames == ["person", "team", "unit"]


def test_the_printable_report_has_every_level_trends_and_charts_from_the_vendored_library(app, engine, clock):
    _red_cases(engine, clock, "M-11")
    assert signed_in(app, "h_dong1").get("/evaluation/report?period=2026-11").status_code == 403
    client = signed_in(app, "supervisor")
    page = client.get("/evaluation/report?period=2026-11").text
    for level in ("person", "team", "unit"):
        assert f'id="kpi-table-{level}"' in page and f'id="score-table-{level}"' in page
    assert re.findall(r'<tr data-period="([\d-]+)">', page) == [f"2026-{m:02d}" for m in range(6, 12)]
    assert "/static/vendor/chart.js/chart.umd.min.js" in page and "cdn" not in page.lower()
    assert "data-chart='{" in page
    css = client.get("/static/css/app.css")
    assert "@media print" in css.text
    css.close()
    board = client.get("/monitor?unit=JC-DONG").text
    assert 'id="board-chart"' in board and "/static/vendor/chart.js/chart.umd.min.js" in board
