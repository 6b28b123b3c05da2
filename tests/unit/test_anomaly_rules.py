"""The pure intake rules: one item's validation, what a value decides, which SQL a source may run."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain.anomalies import Item, Rejection, Thresholds, check_select, level, validate_item

NOW = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)
UNITS = frozenset({"JC-DONG-1"})
GOOD = {
    "external_id": "E1",
    "target": 3301234567,
    "unit": "JC-DONG-1",
    "observed_at": "2026-11-21 08:00",
    "description": "电价异常",
}


def test_a_valid_item_is_normalised():
    found = validate_item({**GOOD, "value": "12.5", "data": {"k": 1}}, row_no=3, now=NOW, units=UNITS)
    assert isinstance(found, Item)
    assert (found.row_no, found.target, found.value, found.data) == (3, "3301234567", 12.5, {"k": 1})
    assert found.observed_at == dt.datetime(2026, 11, 21, 0, 0, tzinfo=dt.UTC)  # 08:00 Beijing time


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_id": " "}, "external_id"),
        ({"target": "x" * 101}, "target"),
        ({"unit": "JC-XI-1"}, "unit"),
        ({"observed_at": "2026-13-01"}, "observed_at"),
        ({"observed_at": "2026-11-25"}, "observed_at"),
        ({"description": None}, "description"),
        ({"value": True}, "value"),
        ({"value": float("nan")}, "value"),
        ({"data": [1]}, "data"),
        ({"data": {"x": "y" * 5000}}, "data"),
        ({"extra": 1}, "item"),
    ],
)
def test_each_bad_field_is_named(change, field):
    found = validate_item({**GOOD, **change}, row_no=7, now=NOW, units=UNITS)
    assert isinstance(found, Rejection) and found.row_no == 7 and field in found.problems


def test_numeric_thresholds_need_a_value_and_decide_the_level():
    limits = Thresholds(warn_at=10, raise_at=100)
    assert "value" in validate_item(GOOD, row_no=1, now=NOW, units=UNITS, thresholds=limits).problems  # type: ignore[union-attr]
    assert [level(v, limits) for v in (9.9, 10, 99, 100)] == ["record", "warn", "warn", "raise"]
    assert level(None, Thresholds()) == "raise"
    assert level(50, Thresholds(raise_at=100)) == "record"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM t",
        "with x as (select 1 as a) select a from x;",
        "SELECT 'drop table t; --' AS note FROM t",
        "SELECT created_at, updated_at FROM t",
    ],
)
def test_plain_selects_pass(query):
    assert check_select(query) == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "DELETE FROM t",
        "SELECT 1; DROP TABLE t",
        "SELECT * INTO copy FROM t",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "SELECT 1 -- comment",
        "PRAGMA table_info(t)",
    ],
)
def test_anything_else_is_refused(query):
    assert check_select(query)
