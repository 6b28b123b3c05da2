"""Evaluation formulas and reporting periods (engine.domain.kpi)."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain import kpi
from engine.domain.kpi import KpiCounts


def test_rate_is_none_for_a_zero_denominator() -> None:
    assert kpi.rate(49, 50) == 0.98
    assert kpi.rate(0, 3) == 0.0
    assert kpi.rate(0, 0) is None
    assert kpi.rate(5, 0) is None


def test_change_and_cumulative_completion_rates() -> None:
    assert kpi.change_rate(80, 100) == 0.25
    assert kpi.change_rate(100, 80) == -0.2
    assert kpi.change_rate(0, 5) is None
    assert kpi.cumulative_completion_rate(10, 4) == 0.6
    assert kpi.cumulative_completion_rate(4, 6) == -0.5
    assert kpi.cumulative_completion_rate(0, 3) is None


def test_targets() -> None:
    assert kpi.STEP_COMPLETION_TARGET == 0.98 and kpi.ON_TIME_ARCHIVE_TARGET == 0.90
    assert kpi.meets_target(0.98, kpi.STEP_COMPLETION_TARGET) is True
    assert kpi.meets_target(0.979, kpi.STEP_COMPLETION_TARGET) is False
    assert kpi.meets_target(None, kpi.ON_TIME_ARCHIVE_TARGET) is None


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # Local midnight in Asia/Shanghai (UTC+8) is 16:00 UTC the day before.
        ("2026-11", _utc(2026, 10, 31, 16), _utc(2026, 11, 30, 16)),
        ("2026-12", _utc(2026, 11, 30, 16), _utc(2026, 12, 31, 16)),
        ("2026-W47", _utc(2026, 11, 15, 16), _utc(2026, 11, 22, 16)),
        ("2026-W01", _utc(2025, 12, 28, 16), _utc(2026, 1, 4, 16)),
        ("2026-Q4", _utc(2026, 9, 30, 16), _utc(2026, 12, 31, 16)),
        ("2026-Q1", _utc(2025, 12, 31, 16), _utc(2026, 3, 31, 16)),
        ("2026", _utc(2025, 12, 31, 16), _utc(2026, 12, 31, 16)),
        (" 2026-11 ", _utc(2026, 10, 31, 16), _utc(2026, 11, 30, 16)),
    ],
)
def test_periods_are_local_calendar_bounds_in_utc(text: str, start: dt.datetime, end: dt.datetime) -> None:
    period = kpi.parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert period.start.utcoffset() == dt.timedelta(0)
    assert period.name == text.strip()


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026-W54", "2026-W00", "2026-Q5", "26-11", "Nov 2026", "x"]
)
def test_bad_periods_name_the_accepted_formats(text: str) -> None:
    with pytest.raises(ValueError, match=r"2026-11 \(month\), 2026-W47 \(ISO week\)"):
        kpi.parse_period(text)


def test_a_row_with_nothing_has_no_rates() -> None:
    row = kpi.kpi_row("JC-BEI", "北县供电局", KpiCounts())
    assert all(getattr(row, name) is None for name in kpi.RATE_FIELDS)


def test_row_rates_follow_their_definitions() -> None:
    counts = KpiCounts(
        cases_raised=4,
        cases_completed=3,
        cases_overdue=1,
        rectification_cases=2,
        rectification_accepted=1,
        archives_due=10,
        archives_received=9,
        archives_on_time=8,
        step_completions=12,
        open_at_start=5,
        open_at_end=2,
    )
    row = kpi.kpi_row("h", "H", counts)
    assert row.completion_rate == 0.75
    assert row.overdue_rate == 0.25
    assert row.rectification_completion_rate == 0.5
    assert row.step_completion_rate == 0.9
    assert row.on_time_archive_rate == 0.8
    assert row.cumulative_completion_rate == 0.6
    assert row.audit_initiation_rate is None
    assert (counts + counts).cases_raised == 8 and (counts + KpiCounts()) == counts


def test_ancestor_at_walks_up_the_tree() -> None:
    parents = {"JC": None, "JC-DONG": "JC", "JC-DONG-1": "JC-DONG"}
    levels = {"JC": "city", "JC-DONG": "district", "JC-DONG-1": "station"}
    assert kpi.ancestor_at("JC-DONG-1", parents=parents, levels=levels, level="district") == "JC-DONG"
    assert kpi.ancestor_at("JC-DONG", parents=parents, levels=levels, level="district") == "JC-DONG"
    assert kpi.ancestor_at("JC", parents=parents, levels=levels, level="district") is None
    assert kpi.ancestor_at("JC-DONG", parents=parents, levels=levels, level="station") is None


def test_a_rate_reads_back_from_an_excel_cell_as_the_same_number() -> None:
    """openpyxl writes 16 significant digits: a rate of ten decimals survives the export unchanged."""
    import io

    from openpyxl import Workbook, load_workbook

    book = Workbook()
    values = [kpi.rate(1, 7), kpi.rate(2, 3), kpi.rate(5, 6)]
    for row, value in enumerate(values, start=1):
        book.active.cell(row=row, column=1, value=value)
    saved = io.BytesIO()
    book.save(saved)
    sheet = load_workbook(io.BytesIO(saved.getvalue())).active
    assert [sheet.cell(row=row, column=1).value for row in range(1, 4)] == values
    assert values[0] == pytest.approx(1 / 7, abs=1e-10)
