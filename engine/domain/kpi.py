"""Evaluation formulas (稽查评价): rates, change rates, targets, and the reporting periods they cover."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
LEVELS = ("person", "team", "unit")
# The level of the unit tree a row is rolled up to, per evaluation level (person rows are not rolled up).
UNIT_LEVEL_OF = {"team": "station", "unit": "district"}

STEP_COMPLETION_TARGET = 0.98  # 环节完成率 ≥ 98%
ON_TIME_ARCHIVE_TARGET = 0.90  # 归档及时率 ≥ 90%

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
PERIOD_FORMATS = "2026-11 (month), 2026-W47 (ISO week), 2026-Q4 (quarter) or 2026 (year)"


# Rates carry ten decimals: Excel keeps 15 significant digits, so a rate read back from an export is the very
# number the API and the page show (1/7 in full would come back one digit short).
RATE_DECIMALS = 10


def rate(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator to RATE_DECIMALS places, or None when there is nothing to divide by ("—")."""
    if not denominator:
        return None
    return round(numerator / denominator, RATE_DECIMALS)


def change_rate(start: int | float, end: int | float) -> float | None:
    """指标改变率 = (end − start) / start; None when start is zero."""
    return rate(end - start, start)


def cumulative_completion_rate(open_at_start: int, open_at_end: int) -> float | None:
    """累计完成率 = (open at start − open at end) / open at start; None when nothing was open at the start."""
    return rate(open_at_start - open_at_end, open_at_start)


def meets_target(value: float | None, target: float) -> bool | None:
    """Whether a rate reaches its target (None when the rate itself is None)."""
    return None if value is None else value >= target


@dataclass(frozen=True)
class Period:
    """A reporting period: [start, end) in UTC, from local (Asia/Shanghai) calendar boundaries."""

    name: str
    start: dt.datetime
    end: dt.datetime


def parse_period(text: str) -> Period:
    """ "2026-11", "2026-W47", "2026-Q4" or "2026" -> the period's UTC bounds (ValueError naming the formats)."""
    value = (text or "").strip()
    try:
        if match := _MONTH.match(value):
            year, month = int(match[1]), int(match[2])
            first = dt.date(year, month, 1)
            after = dt.date(year + month // 12, month % 12 + 1, 1)
        elif match := _WEEK.match(value):
            year, week = int(match[1]), int(match[2])
            first = dt.date.fromisocalendar(year, week, 1)
            after = first + dt.timedelta(days=7)
        elif match := _QUARTER.match(value):
            year, quarter = int(match[1]), int(match[2])
            first = dt.date(year, 3 * quarter - 2, 1)
            after = dt.date(year + quarter // 4, (3 * quarter) % 12 + 1, 1)
        elif match := _YEAR.match(value):
            first, after = dt.date(int(match[1]), 1, 1), dt.date(int(match[1]) + 1, 1, 1)
        else:
            raise ValueError(f"unknown period {text!r}: use {PERIOD_FORMATS}")
    except ValueError as err:
        if str(err).startswith("unknown period"):
            raise
        raise ValueError(f"no such period {text!r} ({err}): use {PERIOD_FORMATS}") from err
    if first.year < 1:
        raise ValueError(f"no such period {text!r}: use {PERIOD_FORMATS}")
    return Period(value, _utc(first), _utc(after))


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(dt.UTC)


def ancestor_at(code: str, *, parents: dict[str, str | None], levels: dict[str, str], level: str) -> str | None:
    """The unit at `level` that `code` is (or lies under); None when `code` sits above that level."""
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current not in seen:
        if levels.get(current) == level:
            return current
        seen.add(current)
        current = parents.get(current)
    return None


@dataclass(frozen=True)
class KpiCounts:
    """What one person, team or unit did in one period (counted in SQL)."""

    cases_raised: int = 0
    cases_completed: int = 0
    cases_overdue: int = 0
    rectification_cases: int = 0
    rectification_accepted: int = 0
    archives_due: int = 0
    archives_received: int = 0
    archives_on_time: int = 0
    step_completions: int = 0
    open_at_start: int = 0
    open_at_end: int = 0
    anomalies_found: int = 0  # valid anomalies of the unit observed in the period (anomaly intake)
    anomalies_raised: int = 0  # of those, the ones that raised a case of their own

    def __add__(self, other: KpiCounts) -> KpiCounts:
        return KpiCounts(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


COUNT_FIELDS = tuple(KpiCounts.__dataclass_fields__)


def _values(counts: KpiCounts) -> tuple[int, ...]:
    return tuple(getattr(counts, name) for name in COUNT_FIELDS)


@dataclass(frozen=True)
class KpiRow:
    """One line of the evaluation: who, the counts, and the rates (None where the denominator is zero)."""

    key: str
    label: str
    counts: KpiCounts
    step_completion_rate: float | None
    on_time_archive_rate: float | None
    completion_rate: float | None
    rectification_completion_rate: float | None
    overdue_rate: float | None
    cumulative_completion_rate: float | None
    audit_initiation_rate: float | None = None  # per unit only: an anomaly belongs to a unit, not to a person


RATE_FIELDS = (
    "step_completion_rate",
    "on_time_archive_rate",
    "completion_rate",
    "rectification_completion_rate",
    "overdue_rate",
    "cumulative_completion_rate",
    "audit_initiation_rate",
)


def kpi_row(key: str, label: str, counts: KpiCounts) -> KpiRow:
    """The rates of one row, each exactly as docs/kpi.md defines it."""
    c = counts
    return KpiRow(
        key=key,
        label=label,
        counts=c,
        step_completion_rate=rate(c.archives_received, c.archives_due),
        on_time_archive_rate=rate(c.archives_on_time, c.archives_due),
        completion_rate=rate(c.cases_completed, c.cases_raised),
        rectification_completion_rate=rate(c.rectification_accepted, c.rectification_cases),
        overdue_rate=rate(c.cases_overdue, c.cases_raised),
        cumulative_completion_rate=cumulative_completion_rate(c.open_at_start, c.open_at_end),
        audit_initiation_rate=rate(c.anomalies_raised, c.anomalies_found),
    )


# -- month-end snapshots: frozen figures and the corrections found since --------------------------------------

_MONTH_ONLY = _MONTH
CORRECTION_TOLERANCE = 1e-9  # rates are fractions stored as floats; anything closer is the same number


def is_month(period: str) -> bool:
    """Whether `period` names a month (only months are frozen)."""
    return bool(_MONTH_ONLY.match(period or ""))


def previous_month(moment: dt.datetime) -> str:
    """The month before the one `moment` falls in, in local (Asia/Shanghai) time, e.g. 2026-11."""
    local = moment.astimezone(LOCAL)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def row_figures(row: KpiRow) -> dict[str, float | None]:
    """Every count and rate of a row by name (what a snapshot stores)."""
    return {
        **{name: float(getattr(row.counts, name)) for name in COUNT_FIELDS},
        **{name: getattr(row, name) for name in RATE_FIELDS},
    }


def frozen_row(key: str, label: str, figures: dict[str, float | None]) -> KpiRow:
    """A row rebuilt from its frozen figures (counts back to integers, rates as frozen)."""
    counts = KpiCounts(**{name: int(figures.get(name) or 0) for name in COUNT_FIELDS})
    rates = {name: figures.get(name) for name in RATE_FIELDS}
    return KpiRow(key=key, label=label, counts=counts, **rates)


@dataclass(frozen=True)
class Correction:
    """A figure that changed after its month was frozen: the frozen value stays, this shows the change."""

    key: str
    label: str
    figure: str
    snapshot: float | None
    live: float | None
    difference: float | None  # live − snapshot, None when either is missing


@dataclass(frozen=True)
class FrozenState:
    """When and by whom a month was frozen, and what changed since (in the caller's view)."""

    period: str
    frozen_at: dt.datetime
    frozen_by: str
    corrections: tuple[Correction, ...]


def corrections(
    frozen: dict[str, tuple[str, dict[str, float | None]]],
    live: dict[str, tuple[str, dict[str, float | None]]],
    figures: tuple[str, ...],
    absent: dict[str, float | None] | None = None,
) -> tuple[Correction, ...]:
    """Per subject (key -> (label, figures)) and figure, where the live value differs from the frozen one; a
    subject missing on one side has the `absent` figures there (e.g. counts 0, no rates)."""
    absent = absent or {}
    found = []
    for key in sorted(set(frozen) | set(live)):
        label = (frozen.get(key) or live.get(key) or (key, {}))[0]
        then = frozen[key][1] if key in frozen else absent
        now = live[key][1] if key in live else absent
        for name in figures:
            a, b = then.get(name), now.get(name)
            if a is None and b is None:
                continue
            if a is not None and b is not None and abs(a - b) <= CORRECTION_TOLERANCE:
                continue
            diff = None if a is None or b is None else b - a
            found.append(Correction(key, label, name, a, b, diff))
    return tuple(found)


MAX_TREND_MONTHS = 36


def months_between(first: str, last: str) -> list[str]:
    """The months from `first` to `last` inclusive (both like 2026-11); ValueError when not months or reversed."""
    if not (is_month(first) and is_month(last)):
        raise ValueError("months like 2026-06")
    year, month = int(first[:4]), int(first[5:])
    end = (int(last[:4]), int(last[5:]))
    if not 1 <= month <= 12 or not 1 <= end[1] <= 12:
        raise ValueError("months like 2026-06")
    if (year, month) > end:
        raise ValueError("from must not be after to")
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        if len(months) > MAX_TREND_MONTHS:
            raise ValueError(f"at most {MAX_TREND_MONTHS} months")
    return months


def month_of(moment: dt.datetime, *, back: int = 0) -> str:
    """The local month of `moment`, or `back` months before it, e.g. 2026-11."""
    local = moment.astimezone(LOCAL)
    index = local.year * 12 + local.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class TrendPoint:
    """One month of a trend: the rates of one subject (or of every subject of the level together)."""

    period: str
    is_frozen: bool
    counts: KpiCounts
    step_completion_rate: float | None
    on_time_archive_rate: float | None
    completion_rate: float | None
    overdue_rate: float | None
