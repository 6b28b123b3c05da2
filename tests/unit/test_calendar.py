"""Working calendar: official 2026 tables, projected years, overrides and deadline arithmetic."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
HOUR = dt.timedelta(hours=1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def days(year: int, month: int, first: int, last: int) -> list[dt.date]:
    return [dt.date(year, month, d) for d in range(first, last + 1)]


def assert_instant(result: dt.datetime, expected: dt.datetime) -> None:
    assert result.tzinfo is dt.UTC
    assert result == expected, f"{result.astimezone(SH)} != {expected}"


# -- official 2026 ---------------------------------------------------------------------------------


def test_national_day_2026_follows_the_official_table():
    assert CAL.source(2026) == "official"
    assert CAL.is_workday(dt.date(2026, 9, 20))  # Sunday, make-up for Mid-Autumn / National Day
    assert not any(CAL.is_workday(d) for d in days(2026, 9, 25, 27))  # Mid-Autumn
    assert CAL.is_workday(dt.date(2026, 9, 30))
    assert not any(CAL.is_workday(d) for d in days(2026, 10, 1, 7))
    assert CAL.is_workday(dt.date(2026, 10, 8))
    assert CAL.is_workday(dt.date(2026, 10, 10))  # Saturday, make-up
    assert not CAL.is_workday(dt.date(2026, 10, 11))


def test_deadline_started_before_national_day_skips_it_and_counts_the_make_up_saturday():
    start = at(2026, 9, 30, 10)  # Wednesday, the last working day before the holiday
    assert_instant(CAL.add_working_days(start, 2), at(2026, 10, 9, 10))
    assert_instant(CAL.add_working_days(start, 3), at(2026, 10, 10, 10))  # Saturday make-up day
    assert_instant(CAL.add_working_days(start, 4), at(2026, 10, 12, 10))  # Sunday 11th is off
    assert_instant(CAL.add_working_days(at(2026, 9, 18, 15), 1), at(2026, 9, 20, 15))  # Friday → make-up Sunday


def test_spring_festival_2026():
    assert CAL.is_workday(dt.date(2026, 2, 14))  # Saturday, make-up
    assert not any(CAL.is_workday(d) for d in days(2026, 2, 15, 23))
    assert CAL.is_workday(dt.date(2026, 2, 28))  # Saturday, make-up
    start = at(2026, 2, 13, 10)  # Friday
    assert_instant(CAL.add_working_days(start, 1), at(2026, 2, 14, 10))
    assert_instant(CAL.add_working_days(start, 2), at(2026, 2, 24, 10))
    assert_instant(CAL.add_working_hours(at(2026, 2, 14, 16), 2), at(2026, 2, 24, 10))


# -- overrides -------------------------------------------------------------------------------------


def test_admin_overrides_win_both_ways():
    cal = WorkingCalendar({dt.date(2026, 10, 8): False, dt.date(2026, 10, 11): True})
    assert not cal.is_workday(dt.date(2026, 10, 8))
    assert cal.is_workday(dt.date(2026, 10, 11))
    start = at(2026, 9, 30, 10)
    assert_instant(cal.add_working_days(start, 1), at(2026, 10, 9, 10))
    assert_instant(cal.add_working_days(start, 3), at(2026, 10, 11, 10))
    assert_instant(cal.add_working_days(start, 4), at(2026, 10, 12, 10))
    assert cal.source(2026) == "official"
    assert CAL.is_workday(dt.date(2026, 10, 8))  # the shared default calendar is untouched


def test_override_keys_must_be_dates():
    with pytest.raises(ValueError, match="dates"):
        WorkingCalendar({dt.datetime(2026, 10, 8, tzinfo=SH): False})


# -- projected years -------------------------------------------------------------------------------


def test_2027_is_projected_from_statutory_holidays():
    assert CAL.source(2027) == "projected"
    assert not CAL.is_workday(dt.date(2027, 1, 1))  # New Year's Day, a Friday
    assert CAL.is_workday(dt.date(2027, 1, 4))
    assert not any(CAL.is_workday(d) for d in days(2027, 2, 5, 10))  # Spring Festival and its in-lieu days
    assert CAL.is_workday(dt.date(2027, 2, 11))
    year_2027 = [dt.date(2027, 1, 1) + dt.timedelta(n) for n in range(365)]
    assert not any(CAL.is_workday(d) for d in year_2027 if d.weekday() >= 5)  # no make-up days known yet
    assert_instant(CAL.add_working_days(at(2026, 12, 31, 10), 1), at(2027, 1, 4, 10))


def test_projected_years_use_make_up_workdays_the_holidays_package_knows():
    # chinese_calendar starts at 2004; holidays carries the 2003 State Council notice, make-up Saturday included.
    assert CAL.source(2003) == "projected"
    assert CAL.is_workday(dt.date(2003, 2, 8))
    assert not CAL.is_workday(dt.date(2003, 2, 15))


def test_missing_official_years_lists_projected_years_without_overrides():
    assert CAL.missing_official_years([2026, 2027]) == [2027]
    assert CAL.missing_official_years([2027, 2026, 2027]) == [2027]
    confirmed = WorkingCalendar({dt.date(2027, 2, 20): True})
    assert confirmed.missing_official_years([2026, 2027]) == []
    assert confirmed.is_workday(dt.date(2027, 2, 20))


# -- working hours and awkward starts --------------------------------------------------------------


def test_add_working_hours_across_a_night_and_a_weekend():
    assert_instant(CAL.add_working_hours(at(2026, 1, 13, 16), 2), at(2026, 1, 14, 10))  # Tue → Wed
    assert_instant(CAL.add_working_hours(at(2026, 1, 9, 15), 3), at(2026, 1, 12, 10))  # Fri → Mon
    assert_instant(CAL.add_working_hours(at(2026, 1, 12, 9), 8), at(2026, 1, 12, 17))  # ends at day_end
    assert_instant(CAL.add_working_hours(at(2026, 1, 12, 9), 40), at(2026, 1, 16, 17))
    assert_instant(CAL.add_working_hours(at(2026, 1, 12, 9, 30), 0), at(2026, 1, 12, 9, 30))


def test_start_on_a_holiday_counts_from_the_next_working_morning():
    assert_instant(CAL.add_working_days(at(2026, 10, 3, 11), 1), at(2026, 10, 9, 9))
    assert_instant(CAL.add_working_hours(at(2026, 10, 3, 11), 1), at(2026, 10, 8, 10))
    assert_instant(CAL.add_working_days(at(2026, 10, 3, 11), 0), at(2026, 10, 8, 9))


def test_start_at_20_00_counts_from_the_next_working_morning():
    assert_instant(CAL.add_working_days(at(2026, 1, 13, 20), 1), at(2026, 1, 15, 9))
    assert_instant(CAL.add_working_hours(at(2026, 1, 13, 20), 1), at(2026, 1, 14, 10))
    assert_instant(CAL.add_working_days(at(2026, 1, 13, 17), 1), at(2026, 1, 15, 9))  # day_end is outside
    assert_instant(CAL.add_working_days(at(2026, 1, 16, 20), 1), at(2026, 1, 20, 9))  # Friday evening


def test_start_at_07_00_counts_from_that_mornings_start():
    assert_instant(CAL.add_working_days(at(2026, 1, 13, 7), 1), at(2026, 1, 14, 9))
    assert_instant(CAL.add_working_hours(at(2026, 1, 13, 7), 1), at(2026, 1, 13, 10))


def test_fractional_days_are_a_share_of_the_working_day():
    assert_instant(CAL.add_working_days(at(2026, 1, 12, 9), 0.5), at(2026, 1, 12, 13))
    assert_instant(CAL.add_working_days(at(2026, 1, 12, 14), 0.5), at(2026, 1, 13, 10))
    assert_instant(CAL.add_working_days(at(2026, 1, 12, 14), 1.25), at(2026, 1, 13, 16))
    assert_instant(CAL.add_working_days(at(2026, 1, 16, 20), 0.25), at(2026, 1, 19, 11))
    assert_instant(CAL.add_working_days(at(2026, 9, 30, 16), 0.5), at(2026, 10, 8, 12))


def test_inputs_in_other_zones_are_read_as_shanghai_time():
    start = dt.datetime(2026, 1, 13, 1, tzinfo=dt.UTC)  # 09:00 in Shanghai
    assert_instant(CAL.add_working_hours(start, 8), at(2026, 1, 13, 17))


def test_custom_working_hours():
    cal = WorkingCalendar(day_start=dt.time(8, 30), day_end=dt.time(12))
    assert cal.working_day_length == dt.timedelta(hours=3, minutes=30)
    assert_instant(cal.add_working_hours(at(2026, 1, 13, 11), 1), at(2026, 1, 13, 12))
    assert_instant(cal.add_working_hours(at(2026, 1, 13, 11), 1.5), at(2026, 1, 14, 9))
    with pytest.raises(ValueError):
        WorkingCalendar(day_start=dt.time(17), day_end=dt.time(9))


# -- working time between --------------------------------------------------------------------------


def test_working_time_between_examples():
    assert CAL.working_time_between(at(2026, 9, 30, 13), at(2026, 10, 8, 11)) == 6 * HOUR
    assert CAL.working_time_between(at(2026, 10, 8, 11), at(2026, 9, 30, 13)) == -6 * HOUR
    assert CAL.working_time_between(at(2026, 10, 1, 10), at(2026, 10, 7, 23)) == dt.timedelta(0)
    assert CAL.working_time_between(at(2026, 12, 31, 20), at(2027, 1, 5, 8)) == 8 * HOUR


def test_working_time_between_is_consistent_with_the_adders():
    rng = random.Random(20260930)
    base = at(2025, 12, 1)
    for _ in range(400):
        start = base + dt.timedelta(minutes=rng.randrange(0, 500 * 24 * 60))  # spans official 2026 and projected 2027
        hours = rng.randrange(0, 4 * 300) / 4
        end = CAL.add_working_hours(start, hours)
        assert CAL.working_time_between(start, end) == dt.timedelta(hours=hours)
        if hours:
            assert CAL.working_time_between(start, end - dt.timedelta(microseconds=1)) < dt.timedelta(hours=hours)
        n_days = rng.randrange(0, 4 * 40) / 4
        due = CAL.add_working_days(start, n_days)
        assert CAL.working_time_between(start, due) == CAL.working_day_length * n_days
        middle = start + (due - start) / 3
        assert CAL.working_time_between(start, middle) + CAL.working_time_between(middle, due) == (
            CAL.working_time_between(start, due)
        )


# -- contract --------------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    naive = dt.datetime(2026, 1, 13, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_time_between(naive, at(2026, 1, 13, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_time_between(at(2026, 1, 13, 10), naive)


def test_negative_or_non_finite_amounts_are_rejected():
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            CAL.add_working_days(at(2026, 1, 13, 10), bad)
        with pytest.raises(ValueError):
            CAL.add_working_hours(at(2026, 1, 13, 10), bad)


def test_calendar_is_immutable():
    with pytest.raises(AttributeError):
        CAL._day_start = dt.time(8)  # type: ignore[misc]
    with pytest.raises(TypeError):
        CAL.overrides[dt.date(2026, 1, 1)] = True  # type: ignore[index]
