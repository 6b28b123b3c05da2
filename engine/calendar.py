"""Working days and working hours in mainland China: the arithmetic behind deadlines and time limits."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]
from holidays import country_holidays

Source = Literal["official", "projected"]

_ONE_DAY = dt.timedelta(days=1)


class _Year:
    """One year's working days as sorted ordinals, so counting and jumping are bisects, not day loops."""

    __slots__ = ("ordinals", "source")

    ordinals: tuple[int, ...]
    source: Source

    def __init__(self, ordinals: tuple[int, ...], source: Source) -> None:
        self.ordinals = ordinals
        self.source = source


def _official_days(year: int) -> dict[dt.date, bool] | None:
    """The State Council schedule as chinese_calendar has it, or None when the package lacks the year."""
    first = dt.date(year, 1, 1)
    try:
        chinese_calendar.is_workday(first)
    except NotImplementedError:
        return None
    # Same rule as chinese_calendar.is_workday, read from its tables: that function rescans them on every call.
    off, make_up = chinese_calendar.holidays, chinese_calendar.workdays
    days = (dt.date(year + 1, 1, 1) - first).days if year < dt.MAXYEAR else 365
    result: dict[dt.date, bool] = {}
    for n in range(days):
        day = first + n * _ONE_DAY
        result[day] = day in make_up or (day.weekday() < 5 and day not in off)
    return result


def _projected_days(year: int) -> dict[dt.date, bool]:
    """Weekends and statutory holidays off, plus any make-up workdays the holidays package knows for the year."""
    # The next year is asked too because a New Year make-up Saturday can sit in late December.
    years = {year, year + 1} if year < dt.MAXYEAR else {year}
    china = country_holidays("CN", years=years)
    # holidays has no WORKDAY category for China; announced make-up weekends live in weekend_workdays.
    make_up = {day for day in china.weekend_workdays if day.year == year}
    first = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - first).days if year < dt.MAXYEAR else 365
    result: dict[dt.date, bool] = {}
    for n in range(days):
        day = first + n * _ONE_DAY
        result[day] = day in make_up or (day.weekday() < 5 and day not in china)
    return result


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def _require_amount(value: float, name: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


class WorkingCalendar:
    """Working days of mainland China (official tables, else a projection) with admin overrides on top.

    A working day's working period is [day_start, day_end) in local wall-clock time of `zone`.
    Working time is measured in that wall-clock time, so a DST jump inside working hours is not modelled
    (Asia/Shanghai has had none since 1991).
    """

    __slots__ = ("_day_end", "_day_start", "_length", "_override_years", "_overrides", "_years", "_zone")

    _overrides: Mapping[dt.date, bool]
    _override_years: frozenset[int]
    _zone: ZoneInfo
    _day_start: dt.time
    _day_end: dt.time
    _length: dt.timedelta
    _years: dict[int, _Year]

    def __init__(
        self,
        overrides: Mapping[dt.date, bool] | None = None,
        *,
        zone: str = "Asia/Shanghai",
        day_start: dt.time = dt.time(9),
        day_end: dt.time = dt.time(17),
    ) -> None:
        if day_start.tzinfo is not None or day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are local wall-clock times and must be naive")
        if not day_start < day_end:
            raise ValueError(f"day_start {day_start} must be before day_end {day_end}")
        frozen: dict[dt.date, bool] = {}
        for day, is_working in (overrides or {}).items():
            # A datetime key would never equal a date key and the override would silently do nothing.
            if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
                raise ValueError(f"override keys must be dates, got {day!r}")
            frozen[day] = bool(is_working)
        set_ = object.__setattr__
        set_(self, "_overrides", MappingProxyType(frozen))
        set_(self, "_override_years", frozenset(day.year for day in frozen))
        set_(self, "_zone", ZoneInfo(zone))
        set_(self, "_day_start", day_start)
        set_(self, "_day_end", day_end)
        reference = dt.date(2000, 1, 1)
        set_(self, "_length", dt.datetime.combine(reference, day_end) - dt.datetime.combine(reference, day_start))
        # Filled lazily: building a calendar must stay cheap, and a sweep touches only a few years.
        set_(self, "_years", {})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("WorkingCalendar is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("WorkingCalendar is immutable")

    @property
    def overrides(self) -> Mapping[dt.date, bool]:
        return self._overrides

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def day_start(self) -> dt.time:
        return self._day_start

    @property
    def day_end(self) -> dt.time:
        return self._day_end

    @property
    def working_day_length(self) -> dt.timedelta:
        """Working time in one working day (day_end - day_start)."""
        return self._length

    # -- days ---------------------------------------------------------------------------------------

    def source(self, year: int) -> Source:
        """Whether the year comes from the official tables or is projected from statutory holidays."""
        return self._year(year).source

    def missing_official_years(self, years: Iterable[int]) -> list[int]:
        """Projected years without a single admin override, sorted: the ones an admin should confirm."""
        return sorted({y for y in years if self.source(y) == "projected" and y not in self._override_years})

    def is_workday(self, day: dt.date) -> bool:
        """Whether the date is a working day; admin overrides win over both sources."""
        if isinstance(day, dt.datetime):
            raise ValueError("is_workday takes a date; convert the datetime to the local date first")
        ordinals = self._year(day.year).ordinals
        index = bisect.bisect_left(ordinals, day.toordinal())
        return index < len(ordinals) and ordinals[index] == day.toordinal()

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        official = _official_days(year)
        days = official if official is not None else _projected_days(year)
        for day, is_working in self._overrides.items():
            if day.year == year:
                days[day] = is_working
        built = _Year(
            tuple(sorted(d.toordinal() for d, w in days.items() if w)),
            "official" if official is not None else "projected",
        )
        # A racing thread builds the same value, so an unlocked dict write is harmless.
        self._years[year] = built
        return built

    def _count_workdays(self, first: int, stop: int) -> int:
        """Working days with ordinal in [first, stop)."""
        count = 0
        year = dt.date.fromordinal(first).year
        while first < stop:
            ordinals = self._year(year).ordinals
            count += bisect.bisect_left(ordinals, stop) - bisect.bisect_left(ordinals, first)
            year += 1
            if year > dt.MAXYEAR:
                break
            first = max(first, dt.date(year, 1, 1).toordinal())
        return count

    def _nth_workday_after(self, ordinal: int, n: int) -> int:
        """Ordinal of the n-th (n >= 1) working day strictly after the given day."""
        year = dt.date.fromordinal(ordinal).year
        while True:
            ordinals = self._year(year).ordinals
            index = bisect.bisect_right(ordinals, ordinal)
            available = len(ordinals) - index
            if n <= available:
                return ordinals[index + n - 1]
            n -= available
            year += 1
            if year > dt.MAXYEAR:
                raise OverflowError("working-day arithmetic ran past the year 9999")

    # -- instants -----------------------------------------------------------------------------------

    def _local(self, instant: dt.datetime) -> dt.datetime:
        return instant.astimezone(self._zone).replace(tzinfo=None)

    def _utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self._zone).astimezone(dt.UTC)

    def _position(self, local: dt.datetime) -> dt.timedelta:
        """Working time already elapsed on the local instant's own day (0 on days off)."""
        if not self.is_workday(local.date()):
            return dt.timedelta(0)
        elapsed = local - dt.datetime.combine(local.date(), self._day_start)
        return min(max(elapsed, dt.timedelta(0)), self._length)

    def _add_local(self, local: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """Earliest local instant reached after `amount` (> 0) of working time from `local`."""
        day = local.date()
        position = self._position(local)
        if self.is_workday(day) and position < self._length:
            left_today = self._length - position
            if amount <= left_today:
                return dt.datetime.combine(day, self._day_start) + position + amount
            amount -= left_today
        # Whole days are a jump; landing exactly on a day's end stays there (earliest instant), not next morning.
        whole, rest = divmod(amount, self._length)
        if rest:
            whole += 1
        else:
            rest = self._length
        target = dt.date.fromordinal(self._nth_workday_after(day.toordinal(), whole))
        return dt.datetime.combine(target, self._day_start) + rest

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """Earliest instant (UTC) by which `hours` of working time have elapsed since `start`.

        Only time inside [day_start, day_end) of working days counts; a result exactly at the end of a
        working period is that day's day_end, not the next day's day_start. 0 hours returns `start`.
        """
        _require_aware(start, "start")
        _require_amount(hours, "hours")
        amount = dt.timedelta(hours=hours)
        if not amount:
            return start.astimezone(dt.UTC)
        return self._utc(self._add_local(self._local(start), amount))

    def add_working_days(self, start: dt.datetime, days: float) -> dt.datetime:
        """Deadline `days` working days after `start`, as an aware UTC instant.

        In the local zone: if `start` is on a working day inside [day_start, day_end) it is used as is;
        before day_start on a working day it moves to that day's day_start; otherwise (after day_end,
        exactly at day_end, or on a day off) to day_start of the next working day. From that normalised
        start, the whole part N of `days` lands on the N-th following working day at the same local clock
        time; the fractional part is then added as that share of working_day_length in working hours
        (add_working_hours rules). 0 days returns the normalised start.
        """
        _require_aware(start, "start")
        _require_amount(days, "days")
        local = self._local(start)
        day = local.date()
        if self.is_workday(day) and local.time() < self._day_end:
            local = max(local, dt.datetime.combine(day, self._day_start))
        else:
            day = dt.date.fromordinal(self._nth_workday_after(day.toordinal(), 1))
            local = dt.datetime.combine(day, self._day_start)
        whole = math.floor(days)
        if whole:
            day = dt.date.fromordinal(self._nth_workday_after(local.date().toordinal(), whole))
            local = dt.datetime.combine(day, local.time())
        share = self._length * (days - whole)
        if share:
            local = self._add_local(local, share)
        return self._utc(local)

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Working time from `a` to `b`; negative when `b` is before `a`."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        local_a, local_b = self._local(a), self._local(b)
        first, last = local_a.date().toordinal(), local_b.date().toordinal()
        # Cumulative working time: whole working days from a's day up to b's day, then the two partial days.
        return self._length * self._count_workdays(first, last) + self._position(local_b) - self._position(local_a)
