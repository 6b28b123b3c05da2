"""Anomaly intake rules: what a valid item is, what its value decides, and what an SQL check may run."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

SOURCES = ("api", "upload", "sql")
OUTCOMES = ("recorded", "warned", "skipped", "merged", "raised")
BATCH_STATUSES = ("pending", "processing", "done", "failed")
MAX_ITEMS = 100_000
CHUNK_ITEMS = 1_000
MAX_DATA_CHARS = 4_000
MAX_DESCRIPTION = 2_000
FIELDS = ("external_id", "target", "unit", "value", "observed_at", "description", "data")
LOCAL_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")  # a time without offset is local time, as in the marketing system
FUTURE_SLACK = dt.timedelta(days=1)


@dataclass(frozen=True)
class Item:
    """One valid anomaly as it entered, ready for the rules."""

    row_no: int
    external_id: str
    target: str
    unit: str
    value: float | None
    observed_at: dt.datetime
    description: str
    data: dict[str, Any] | None


@dataclass(frozen=True)
class Rejection:
    """Why one row was refused: its row number, its external id if it had one, and field -> reasons."""

    row_no: int
    external_id: str | None
    problems: dict[str, list[str]]


@dataclass(frozen=True)
class Thresholds:
    """A topic's numeric thresholds; None means that level is not used."""

    warn_at: float | None = None
    raise_at: float | None = None

    @property
    def is_numeric(self) -> bool:
        return self.warn_at is not None or self.raise_at is not None


def _text(raw: dict[str, Any], name: str, limit: int, problems: dict[str, list[str]], what: str) -> str:
    value = raw.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and name != "description":
        value = str(value)  # spreadsheets and SQL hand over numeric customer numbers
    if not isinstance(value, str) or not value.strip():
        problems[name] = [f"{what} is required"]
        return ""
    value = value.strip()
    if len(value) > limit:
        problems[name] = [f"{what} is longer than {limit} characters"]
    return value


def parse_observed_at(value: Any) -> dt.datetime | None:
    """An ISO 8601 date or datetime (a datetime from a driver too); without offset it is local time."""
    if isinstance(value, dt.datetime):
        found = value
    elif isinstance(value, dt.date):
        found = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and value.strip():
        try:
            found = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=LOCAL_ZONE)
    return found.astimezone(dt.UTC)


def validate_item(
    raw: Any,
    *,
    row_no: int,
    now: dt.datetime,
    units: frozenset[str] | set[str],
    thresholds: Thresholds = Thresholds(),
) -> Item | Rejection:
    """Check one row; `units` are the unit codes the row may name (known and, for people, within their units)."""
    if not isinstance(raw, dict):
        return Rejection(row_no, None, {"item": ["each item must be an object with the item fields"]})
    problems: dict[str, list[str]] = {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        problems["item"] = [f"unknown field(s) {', '.join(unknown)}; put extra values under data"]
    external_id = _text(raw, "external_id", 100, problems, "the external id (unique per topic)")
    target = _text(raw, "target", 100, problems, "the target (customer, meter or process number)")
    unit = _text(raw, "unit", 64, problems, "the unit code")
    if unit and "unit" not in problems and unit not in units:
        problems["unit"] = [f"no unit {unit} (or it is outside your units)"]
    description = _text(raw, "description", MAX_DESCRIPTION, problems, "the description")
    value: float | None = None
    given = raw.get("value")
    if isinstance(given, str) and given.strip():
        try:
            given = float(given)
        except ValueError:
            problems["value"] = ["must be a number"]
    if isinstance(given, bool) or (given is not None and given != "" and not isinstance(given, int | float)):
        problems.setdefault("value", ["must be a number"])
    elif isinstance(given, int | float):
        if not math.isfinite(given):
            problems["value"] = ["must be a finite number"]
        else:
            value = float(given)
    if value is None and thresholds.is_numeric and "value" not in problems:
        problems["value"] = ["this topic has numeric thresholds: give the measured value"]
    observed_at = parse_observed_at(raw.get("observed_at"))
    if observed_at is None:
        problems["observed_at"] = ["an ISO 8601 date or time, e.g. 2026-11-20T08:30:00+08:00"]
    elif observed_at > now + FUTURE_SLACK:
        problems["observed_at"] = ["lies in the future"]
    data = raw.get("data")
    if data is not None and not isinstance(data, dict):
        problems["data"] = ["must be an object"]
    elif data is not None and len(json.dumps(data, ensure_ascii=False, default=str)) > MAX_DATA_CHARS:
        problems["data"] = [f"is larger than {MAX_DATA_CHARS} characters as JSON"]
    if problems:
        return Rejection(row_no, external_id or None, problems)
    assert observed_at is not None
    return Item(row_no, external_id, target, unit, value, observed_at, description, data or None)


def level(value: float | None, thresholds: Thresholds) -> str:
    """What an item's value decides: 'raise', 'warn' or 'record'; every item raises without numeric thresholds."""
    if not thresholds.is_numeric:
        return "raise"
    assert value is not None
    if thresholds.raise_at is not None and value >= thresholds.raise_at:
        return "raise"
    if thresholds.warn_at is not None and value >= thresholds.warn_at:
        return "warn"
    return "record"


WRITING_WORDS = re.compile(
    r"\b(insert|update|delete|merge|upsert|drop|alter|create|truncate|grant|revoke|copy|into|call|execute|exec|"
    r"attach|detach|pragma|vacuum|reindex|begin|commit|rollback|savepoint|prepare)\b",
    re.IGNORECASE,
)


def check_select(query: str) -> list[str]:
    """Reasons an SQL source query is refused (empty when it is one plain SELECT); the connection is read-only too."""
    text = (query or "").strip().rstrip(";").strip()
    if not text:
        return ["give a SELECT statement"]
    if len(text) > 10_000:
        return ["is longer than 10000 characters"]
    problems = []
    bare = re.sub(r"'(?:[^']|'')*'", "''", text)  # words inside string literals do not count
    if ";" in bare:
        problems.append("only one statement (no ';' inside)")
    if "--" in bare or "/*" in bare:
        problems.append("no comments")
    if not re.match(r"^(select|with)\b", bare, re.IGNORECASE):
        problems.append("must start with SELECT or WITH")
    found = sorted({w.lower() for w in WRITING_WORDS.findall(bare)})
    if found:
        problems.append(f"only reads: {', '.join(found)} is not allowed")
    return problems
