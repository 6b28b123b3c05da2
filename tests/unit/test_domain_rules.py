"""Pure rules: time states, durations, task-data cleaning, form validation, access."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain import time_limits
from engine.domain.access import may_see_instance, may_work_task
from engine.domain.errors import ValidationError
from engine.domain.forms import check_form_definition, validate_form_data
from engine.domain.task_data import clean_task_data
from engine.domain.units import child_level, subtree
from engine.domain.views import Actor

T0 = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)


def test_warn_at_is_when_75_percent_of_the_limit_is_used():
    assert time_limits.warn_at(T0, T0 + dt.timedelta(hours=8)) == T0 + dt.timedelta(hours=6)
    assert time_limits.warn_at(T0, T0 + dt.timedelta(days=10)) == T0 + dt.timedelta(days=7, hours=12)


def test_time_state_crosses_at_the_thresholds():
    warn, due = T0 + dt.timedelta(hours=6), T0 + dt.timedelta(hours=8)
    assert time_limits.time_state(warn - dt.timedelta(seconds=1), warn, due) == "green"
    assert time_limits.time_state(warn, warn, due) == "yellow"
    assert time_limits.time_state(due, warn, due) == "red"
    assert time_limits.time_state(due, None, None) == "green"
    assert time_limits.worst(["green", "red", "yellow"]) == "red" and time_limits.worst([]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT48H", dt.timedelta(hours=48)),
        ("P5D", dt.timedelta(days=5)),
        ("PT0.5M", dt.timedelta(seconds=30)),
        ("P1W", dt.timedelta(weeks=1)),
        ("P1DT2H30M", dt.timedelta(days=1, hours=2, minutes=30)),
    ],
)
def test_parse_duration(text, expected):
    assert time_limits.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["48h", "P", "PT", "P1DT", "", "PT-1H"])
def test_parse_duration_refuses_what_is_not_a_duration(text):
    with pytest.raises(ValueError, match="ISO 8601"):
        time_limits.parse_duration(text)


def test_clean_task_data_strips_typename_everywhere_and_refuses_unstorable():
    cleaned = clean_task_data({"a": {"typename": "UUID", "value": "x", "l": [{"typename": "t", "k": 1}]}})
    assert cleaned == {"a": {"value": "x", "l": [{"k": 1}]}}
    with pytest.raises(ValidationError) as nan:
        clean_task_data({"a": float("nan")})
    assert "data.a" in nan.value.fields
    with pytest.raises(ValidationError):
        clean_task_data({"a": b"bytes"})
    with pytest.raises(ValidationError):
        clean_task_data([1, 2])
    with pytest.raises(ValidationError):
        clean_task_data({"not a name": 1})


def test_form_validation_converts_and_reports_every_field():
    form = {
        "fields": [
            {"name": "amount", "type": "number", "required": True},
            {"name": "n", "type": "integer"},
            {"name": "ok", "type": "boolean"},
            {"name": "day", "type": "date"},
            {"name": "level", "type": "enum", "options": ["A", "B"]},
        ]
    }
    assert validate_form_data(form, {"amount": "2.5", "n": "3", "ok": "on", "day": "2026-12-01", "level": "A"}) == {
        "amount": 2.5,
        "n": 3,
        "ok": True,
        "day": "2026-12-01",
        "level": "A",
    }
    with pytest.raises(ValidationError) as bad:
        validate_form_data(form, {"n": 1.5, "ok": "maybe", "day": "tomorrow", "level": "C"})
    assert set(bad.value.fields) == {"amount", "n", "ok", "day", "level"}
    assert check_form_definition("f", {"fields": [{"name": "x", "type": "colour"}]})
    assert check_form_definition("f", form) == []


def test_access_rules():
    clerk = Actor("alice", frozenset({"clerk"}), unit_code="U1", units=frozenset({"U1"}))
    assert may_work_task(clerk, lane="clerk", assignee=None, unit_code="U1")
    assert not may_work_task(clerk, lane="clerk", assignee=None, unit_code="U2")
    assert not may_work_task(clerk, lane="manager", assignee=None, unit_code="U1")
    assert may_work_task(clerk, lane="manager", assignee="alice", unit_code="U1")
    assert may_work_task(Actor("root", frozenset({"admin"})), lane="x", assignee="bob", unit_code="U9")
    assert may_see_instance(clerk, unit_code="U1", lanes={"clerk"}, started_by=None)
    assert not may_see_instance(clerk, unit_code="U1", lanes={"manager"}, started_by=None)


def test_unit_subtree_and_levels():
    tree = [("city", None), ("d1", "city"), ("d2", "city"), ("s1", "d1"), ("s2", "d1"), ("s3", "d2")]
    assert subtree(tree, "city") == {"city", "d1", "d2", "s1", "s2", "s3"}
    assert subtree(tree, "d1") == {"d1", "s1", "s2"}
    assert subtree(tree, "s3") == {"s3"}
    assert child_level(None) == "city" and child_level("district") == "station" and child_level("station") is None
