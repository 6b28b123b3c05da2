"""Pure rules of uploads and reports: header guessing, mapping checks, items, report periods, defused cells."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain.anomaly_reports import LOCAL, periods_until
from engine.domain.anomaly_uploads import build_items, guess_mapping, mapping_problems
from engine.domain.spreadsheet import safe_cell


def test_headers_are_guessed_in_chinese_and_english_and_the_remembered_mapping_wins():
    headers = ["External_ID", "用户编号", "Unit Code", "值", "发现时间", "问题描述", "备注"]
    assert guess_mapping(headers) == {
        "external_id": "External_ID",
        "target": "用户编号",
        "unit": "Unit Code",
        "value": "值",
        "observed_at": "发现时间",
        "description": "问题描述",
        "data": [],
    }
    remembered = {"target": "备注", "description": "gone", "data": ["问题描述", "nope"]}
    guessed = guess_mapping(headers, remembered)
    assert guessed["target"] == "备注" and guessed["description"] == "问题描述" and guessed["data"] == []


def test_mapping_problems_name_the_field():
    headers = ["a", "b", "c", "d", "e"]
    ok = {"external_id": "a", "target": "b", "unit": "c", "observed_at": "d", "description": "e", "data": []}
    assert mapping_problems(ok, headers) == {}
    problems = mapping_problems({**ok, "unit": "a", "observed_at": "zz", "description": None, "data": ["q"]}, headers)
    assert set(problems) == {"unit", "observed_at", "description", "data"}


def test_items_leave_empty_cells_out_and_gather_data_columns():
    headers = ["id", "t", "u", "when", "what", "x", "y"]
    mapping = {"external_id": "id", "target": "t", "unit": "u", "observed_at": "when", "description": "what"}
    mapping["data"] = ["x", "y"]
    items = build_items(headers, [["1", "T", "U", "2026-11-20", "d", "", "9"], ["2", "", "U"]], mapping)
    assert items == [
        {
            "external_id": "1",
            "target": "T",
            "unit": "U",
            "observed_at": "2026-11-20",
            "description": "d",
            "data": {"y": "9"},
        },
        {"external_id": "2", "unit": "U"},
    ]


def test_periods_follow_the_local_calendar_across_years():
    days = periods_until("day", dt.date(2026, 1, 1), 2)
    assert [p.label for p in days] == ["2025-12-31", "2026-01-01"]
    assert days[1].start == dt.datetime(2026, 1, 1, tzinfo=LOCAL).astimezone(dt.UTC)
    assert days[0].end == days[1].start
    weeks = periods_until("week", dt.date(2026, 1, 1), 3)
    assert [p.label for p in weeks] == ["2025-W51", "2025-W52", "2026-W01"]  # W01 starts Monday 2025-12-29
    assert weeks[-1].start == dt.datetime(2025, 12, 29, tzinfo=LOCAL).astimezone(dt.UTC)
    assert weeks[-1].end - weeks[-1].start == dt.timedelta(days=7)
    months = periods_until("month", dt.date(2026, 2, 28), 3)
    assert [p.label for p in months] == ["2025-12", "2026-01", "2026-02"]
    assert months[-1].end == dt.datetime(2026, 3, 1, tzinfo=LOCAL).astimezone(dt.UTC)
    with pytest.raises(ValueError):
        periods_until("year", dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+86", "'+86"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("ok", "ok"),
     (-3, -3), (1.5, 1.5), (None, None)],
)  # fmt: skip
def test_cells_that_would_run_are_defused(value, expected):
    assert safe_cell(value) == expected
