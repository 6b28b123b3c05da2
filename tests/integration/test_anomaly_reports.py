"""Anomaly reports (三报) against a hand-computed fixture, on SQLite and PostgreSQL: the figures per topic, unit and
period, the trend, unit scope, and the Excel and CSV exports matching the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from cli.demo import SYSTEM, complete_step
from engine.domain.anomaly_reports import LOCAL, MEASURES
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.services import anomalies, anomaly_reports, cases, documents, topic_intake, users
from tests.conftest import BOTH_DATABASES
from tests.helpers import build_org, deploy_processes, publish_topic
from webui import create_app

pytestmark = BOTH_DATABASES
TARIFF, DATA = "TARIFF-01", "DATA-03"
PDF = b"%PDF-1.4\n%test\n"
EVIL_UNIT = '=HYPERLINK("http://x","y")'  # a unit name a spreadsheet would run


def item(n: str, target: str, unit: str, day: str, value: float | None = None) -> dict[str, Any]:
    found = {"external_id": n, "target": target, "unit": unit, "observed_at": day + "T10:00:00", "description": "异常"}
    return found if value is None else {**found, "value": value}


def send(engine: Any, who: Any, topic: str, items: list[dict[str, Any]]) -> Any:
    view = anomalies.submit_batch(
        engine.uow(), topic_code=topic, items=items, source="api", actor=who, now=engine.now(), owner="t"
    )
    return anomalies.work_batch(engine.uow, batch_id=view.id, owner="t", clock=engine.now)


@pytest.fixture
def org(engine: Any) -> dict[str, Any]:
    """Now is Monday 2026-11-23 09:00 in Beijing. The figures each test expects are worked out by hand below."""
    deploy_processes(engine)
    people = build_org(engine)
    publish_topic(engine, people, TARIFF)
    publish_topic(engine, people, DATA)
    users.add_unit(
        engine.uow(), code="JC-DONG-3", name=EVIL_UNIT, parent_code="JC-DONG", actor=SYSTEM, now=engine.now()
    )
    users.add_user(
        engine.uow(), username="sup_dong", roles=["supervisor"], unit_code="JC-DONG", password="pw-sup-dong-1",
        now=engine.now(),
    )  # fmt: skip
    # Actors carry the units they see: read them again now that JC-DONG-3 exists.
    people = {name: users.get_actor(engine.uow(), username=name) for name in [*people, "sup_dong"]}
    auditor = people["auditor"]
    topic_intake.set_intake(
        engine.uow(), topic_code=TARIFF, actor=auditor, now=engine.now(), box=engine.secret_box,
        warn_at=10, raise_at=100, start_at_handle=True, assign_handler=True,
    )  # fmt: skip
    first = send(
        engine,
        auditor,
        TARIFF,
        [
            item("a1", "T-1", "JC-DONG-1", "2026-11-22", 150),  # Sunday (last week): raises case 1
            item("a2", "T-2", "JC-XI-1", "2026-11-22", 5),  # recorded
            item("a3", "T-1", "JC-DONG-1", "2026-11-23", 200),  # today: merged into case 1
            item("a4", "T-3", "JC-DONG-1", "2026-11-23", 20),  # warned
            item("a5", "T-4", "JC-XI-1", "2026-11-23", 300),  # raises case 2
            item("a6", "T-5", "JC-BEI-1", "2026-11-16", 120),  # Monday last week: raises case 3
            item("a7", "T-6", "JC-DONG-2", "2026-10-31", 101),  # last month: raises case 4
            item("a8", "T-7", "JC-DONG-3", "2026-11-23", 1),  # recorded, in the unit with the formula name
        ],
    )
    assert (first.raised, first.merged, first.warned, first.recorded) == (4, 1, 1, 2)
    # Case 2 (T-4) turns out a false positive: white-listed today, which completes it.
    case_2 = next(c for c in cases.list_cases(engine.uow(), actor=people["admin"], topic_code=TARIFF).items
                  if c.target == "T-4")  # fmt: skip
    documents.attach_document(
        engine.uow(), store=engine.file_store, instance_id=case_2.instance_id, step="handle",
        doc_type="investigation_report", filename="r.pdf", content=PDF, actor=people["h_xi1"], now=engine.now(),
    )  # fmt: skip
    complete_step(
        engine, case_2.instance_id, "handle", people["h_xi1"],
        {"findings": "误报", "is_false_positive": True, "freeze_days": 30, "needs_rectification": False},
        engine.now(),
    )  # fmt: skip
    complete_step(engine, case_2.instance_id, "review_result", people["reviewer"], {"approved": True}, engine.now())
    second = send(engine, auditor, TARIFF, [item("a9", "T-4", "JC-XI-1", "2026-11-23", 500)])
    assert second.skipped == 1
    data = send(engine, auditor, DATA, [item("d1", "D-1", "JC-DONG-1", "2026-11-23")])
    assert data.raised == 1
    return people


def counts(row: dict[str, Any]) -> dict[str, int]:
    return {name: row[name] for name in MEASURES if row[name]}


def rows_by(report: dict[str, Any], grouping: str) -> dict[Any, dict[str, int]]:
    key = {"topic": ("topic",), "unit": ("unit",), "topic_unit": ("topic", "unit")}[grouping]
    found = {}
    for row in report["rows"][grouping]:
        name = row[key[0]] if len(key) == 1 else (row["topic"], row["unit"])
        found[name] = counts(row)
    return found


def report(engine: Any, who: Any, **args: Any) -> dict[str, Any]:
    args.setdefault("now", engine.now())
    return anomaly_reports.report_json(anomaly_reports.anomaly_report(engine.uow(), actor=who, **args))


def test_the_daily_report_counts_each_topic_and_unit_by_hand(engine, org):
    got = report(engine, org["supervisor"], period="day", date=dt.date(2026, 11, 23))
    assert got["periods"][-1]["label"] == "2026-11-23" and len(got["periods"]) == 7
    assert rows_by(got, "topic_unit") == {
        (TARIFF, "JC-DONG-1"): {"found": 2, "merged": 1, "warned": 1},
        (TARIFF, "JC-DONG-3"): {"found": 1, "recorded": 1},
        (TARIFF, "JC-XI-1"): {"found": 2, "raised": 1, "skipped": 1, "completed": 1},
        (DATA, "JC-DONG-1"): {"found": 1, "raised": 1},
    }
    assert rows_by(got, "topic") == {
        DATA: {"found": 1, "raised": 1},
        TARIFF: {"found": 5, "raised": 1, "merged": 1, "skipped": 1, "recorded": 1, "warned": 1, "completed": 1},
    }
    assert rows_by(got, "unit")["JC-DONG-1"] == {"found": 3, "raised": 1, "merged": 1, "warned": 1}
    assert counts(got["totals"]) == {
        "found": 6, "raised": 2, "merged": 1, "skipped": 1, "recorded": 1, "warned": 1, "completed": 1
    }  # fmt: skip
    # The trend: yesterday (Sunday) had a1 and a2.
    yesterday = next(t for t in got["trend"] if t["period"] == "2026-11-22")
    assert counts(yesterday) == {"found": 2, "raised": 1, "recorded": 1}
    dong = next(r for r in got["rows"]["topic_unit"] if (r["topic"], r["unit"]) == (TARIFF, "JC-DONG-1"))
    assert counts(dong["previous"]) == {"found": 1, "raised": 1}
    assert [t["found"] for t in dong["trend"]] == [0, 0, 0, 0, 0, 1, 2]


def test_weekly_and_monthly_reports_and_their_previous_periods(engine, org):
    week = report(engine, org["auditor"], period="week", date=dt.date(2026, 11, 25), trend=2)
    assert [p["label"] for p in week["periods"]] == ["2026-W47", "2026-W48"]
    assert counts(week["trend"][0]) == {"found": 3, "raised": 2, "recorded": 1}  # a6, a1, a2
    assert counts(week["totals"]) == {
        "found": 6, "raised": 2, "merged": 1, "skipped": 1, "recorded": 1, "warned": 1, "completed": 1
    }  # fmt: skip
    month = report(engine, org["auditor"], period="month", date=dt.date(2026, 11, 1), trend=3)
    assert [p["label"] for p in month["periods"]] == ["2026-09", "2026-10", "2026-11"]
    assert counts(month["trend"][1]) == {"found": 1, "raised": 1}  # a7
    assert counts(month["totals"]) == {
        "found": 9, "raised": 4, "merged": 1, "skipped": 1, "recorded": 2, "warned": 1, "completed": 1
    }  # fmt: skip
    assert rows_by(month, "topic_unit")[(TARIFF, "JC-DONG-2")] == {}
    # Local calendar: 2026-11-22T10:00 Beijing is 02:00 UTC, still the 22nd; periods start at Beijing midnight.
    assert month["periods"][2]["start"] == dt.datetime(2026, 11, 1, tzinfo=LOCAL).astimezone(dt.UTC).isoformat()


def test_overdue_counts_cases_whose_step_fell_due_in_the_period_unfinished(engine, org, clock):
    open_cases = cases.list_cases(engine.uow(), actor=org["admin"], limit=50).items
    expected: dict[tuple[str, str, dt.date], set[int]] = {}
    for c in open_cases:
        instance = cases.get_case(engine.uow(), case_id=c.id, actor=org["admin"]).instance
        assert instance is not None
        for task in instance.tasks:
            if task.state == "open" and task.due_at is not None:
                day = task.due_at.astimezone(LOCAL).date()
                expected.setdefault((c.topic_code or "", c.unit, day), set()).add(c.id)
    assert expected, "the fixture's cases have open steps with time limits"
    last_due = max(day for _t, _u, day in expected)
    # Before the time limits run out nothing is overdue, even in the periods they fall in.
    early = report(engine, org["admin"], period="month", date=last_due, trend=2)
    assert early["totals"]["overdue"] == 0
    clock.advance(days=60)
    for topic, unit, day in expected:
        got = report(engine, org["admin"], period="day", date=day, trend=1)
        row = next(r for r in got["rows"]["topic_unit"] if (r["topic"], r["unit"]) == (topic, unit))
        assert row["overdue"] == len(expected[(topic, unit, day)])
    whole = report(engine, org["admin"], period="month", date=last_due, trend=3)
    assert sum(t["overdue"] for t in whole["trend"]) == sum(len(ids) for ids in expected.values())


def test_units_see_their_subtree_only_and_filters_narrow_it(engine, org):
    dong = report(engine, org["sup_dong"], period="month", date=dt.date(2026, 11, 23))
    assert {r["unit"] for r in dong["rows"]["unit"]} == {"JC-DONG-1", "JC-DONG-2", "JC-DONG-3"}
    assert counts(dong["totals"]) == {"found": 5, "raised": 2, "merged": 1, "recorded": 1, "warned": 1}
    with pytest.raises(PermissionDeniedError):
        report(engine, org["sup_dong"], period="day", unit="JC-XI")
    xi = report(engine, org["admin"], period="day", date=dt.date(2026, 11, 23), unit="JC-XI", topic=TARIFF)
    assert rows_by(xi, "topic_unit") == {(TARIFF, "JC-XI-1"): {"found": 2, "raised": 1, "skipped": 1, "completed": 1}}
    for who in ("h_dong1", "dispatcher", "head_dong"):
        with pytest.raises(PermissionDeniedError):
            report(engine, org[who], period="day")
    with pytest.raises(ValidationError) as refused:
        report(engine, org["admin"], period="year")
    assert "period" in refused.value.fields
    with pytest.raises(ValidationError):
        report(engine, org["admin"], period="day", topic="NOPE-1")


def test_excel_and_csv_exports_match_the_api_and_defuse_formulas(engine, org):
    client = create_app(engine=engine).test_client()
    token = users.create_token(engine.uow(), username="supervisor", now=engine.now())
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    query = "period=week&date=2026-11-23"
    api = client.get(f"/api/v1/anomaly-reports?{query}")
    assert api.status_code == 200
    body = api.get_json()
    xlsx = client.get(f"/api/v1/anomaly-reports/export.xlsx?{query}")
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert book.sheetnames == ["report", "by topic", "by unit", "by topic and unit", "trend"]
    names = {"topic": "by topic", "unit": "by unit", "topic_unit": "by topic and unit"}
    keys = {"topic": ["topic", "topic_name"], "unit": ["unit", "unit_name"]}
    keys["topic_unit"] = keys["topic"] + keys["unit"]
    for grouping, sheet_name in names.items():
        lines = [list(r) for r in book[sheet_name].iter_rows(values_only=True)]
        assert lines[0] == keys[grouping] + list(MEASURES)
        expected = [
            [_defused(row[k]) for k in keys[grouping]] + [row[m] for m in MEASURES] for row in body["rows"][grouping]
        ]
        assert lines[1:] == expected
        assert all(isinstance(v, int) for line in lines[1:] for v in line[len(keys[grouping]) :])
    trend = [list(r) for r in book["trend"].iter_rows(values_only=True)]
    assert [line[0] for line in trend[1:]] == [p["label"] for p in body["periods"]]
    assert [line[3:] for line in trend[1:]] == [[t[m] for m in MEASURES] for t in body["trend"]]
    evil = [line for line in book["by unit"].iter_rows(values_only=True) if line[0] == "JC-DONG-3"]
    assert evil and evil[0][1] == "'" + EVIL_UNIT  # text, never a formula

    exported = client.get(f"/api/v1/anomaly-reports/export.csv?{query}&grouping=unit")
    assert exported.status_code == 200 and exported.data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert table[0] == ["unit", "unit_name", *MEASURES]
    assert table[1:] == [
        [row["unit"], _defused(row["unit_name"]), *(str(row[m]) for m in MEASURES)] for row in body["rows"]["unit"]
    ]
    assert client.get(f"/api/v1/anomaly-reports/export.csv?{query}&grouping=nope").status_code == 422
    assert client.get("/api/v1/anomaly-reports?period=day&date=2026-13-01").status_code == 422


def _defused(value: str | None) -> str | None:
    if value is None:
        return None
    return "'" + value if value.startswith(("=", "+", "-", "@")) else value
