"""The anomaly reports (三报): daily, weekly and monthly periods, what is counted in them, and their rows."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")  # periods follow the local calendar, as the audit centre reads them
PERIODS = ("day", "week", "month")
GROUPINGS = ("topic", "unit", "topic_unit")
MEASURES = ("found", "raised", "merged", "skipped", "recorded", "warned", "completed", "overdue")
TREND_PERIODS = 7  # the period asked for and the six before it
MAX_TREND_PERIODS = 24


@dataclass(frozen=True)
class ReportPeriod:
    """One period of a report: its label (2026-11-20, 2026-W47, 2026-11) and its bounds [start, end) in UTC."""

    label: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class ReportCounts:
    """What happened under a topic in a unit in one period (each counted in SQL)."""

    found: int = 0
    raised: int = 0
    merged: int = 0
    skipped: int = 0
    recorded: int = 0
    warned: int = 0
    completed: int = 0
    overdue: int = 0

    def __add__(self, other: ReportCounts) -> ReportCounts:
        return ReportCounts(*(getattr(self, n) + getattr(other, n) for n in MEASURES))


@dataclass(frozen=True)
class ReportRow:
    """One line of a report: a topic, a unit or both, with its counts per period, oldest first (the last is asked)."""

    topic: str | None
    topic_name: str | None
    unit: str | None
    unit_name: str | None
    trend: tuple[ReportCounts, ...]

    @property
    def current(self) -> ReportCounts:
        return self.trend[-1]

    @property
    def previous(self) -> ReportCounts | None:
        return self.trend[-2] if len(self.trend) > 1 else None


@dataclass(frozen=True)
class AnomalyReport:
    """A report for a period and the periods before it, its rows by grouping and its totals per period."""

    period: str
    date: dt.date
    periods: tuple[ReportPeriod, ...]
    totals: tuple[ReportCounts, ...]
    rows: dict[str, tuple[ReportRow, ...]]
    topic: str | None = None
    unit: str | None = None


def periods_until(period: str, day: dt.date, count: int = TREND_PERIODS) -> list[ReportPeriod]:
    """The `count` consecutive periods (day, ISO week or month) ending with the one that holds `day`, oldest first."""
    if period not in PERIODS:
        raise ValueError(f"one of {', '.join(PERIODS)}")
    if period == "day":
        firsts = [day - dt.timedelta(days=n) for n in range(count - 1, -1, -1)] + [day + dt.timedelta(days=1)]
    elif period == "week":
        monday = day - dt.timedelta(days=day.weekday())
        firsts = [monday - dt.timedelta(weeks=n) for n in range(count - 1, -1, -1)] + [monday + dt.timedelta(weeks=1)]
    else:
        month = day.year * 12 + day.month - 1
        firsts = [dt.date((month - n) // 12, (month - n) % 12 + 1, 1) for n in range(count - 1, -2, -1)]
    return [ReportPeriod(_label(period, a), _utc(a), _utc(b)) for a, b in itertools.pairwise(firsts)]


def _label(period: str, first: dt.date) -> str:
    if period == "day":
        return first.isoformat()
    if period == "week":
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{first.year}-{first.month:02d}"


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """The local calendar day of a moment (the report's default date is today's)."""
    return moment.astimezone(LOCAL).date()
