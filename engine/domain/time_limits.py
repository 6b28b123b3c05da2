"""Time states (green/yellow/red) of tasks and instances, from their deadlines."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum


class TimeState(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


_RANK = {TimeState.GREEN: 0, TimeState.YELLOW: 1, TimeState.RED: 2}

# Until admin-editable rules exist: yellow once 75% of the time is used. ("Or under 24 h left" would
# make every limit of a day or less yellow from its first second, so it waits for per-step rules.)
DEFAULT_YELLOW_SHARE = 0.75


def warn_at(created_at: dt.datetime, due_at: dt.datetime) -> dt.datetime:
    """The moment a task turns yellow under the default rule."""
    return created_at + (due_at - created_at) * DEFAULT_YELLOW_SHARE


def time_state(now: dt.datetime, warn: dt.datetime | None, due: dt.datetime | None) -> TimeState:
    """The state at `now` of an item with these thresholds (no deadline means green)."""
    if due is not None and now >= due:
        return TimeState.RED
    if warn is not None and now >= warn:
        return TimeState.YELLOW
    return TimeState.GREEN


def worst(states: list[str]) -> TimeState | None:
    """The worst of several states, None when there are none."""
    ranked = [TimeState(s) for s in states]
    return max(ranked, key=_RANK.__getitem__) if ranked else None


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration of days/hours/minutes/seconds (PnDTnHnMnS, PnW) as a timedelta."""
    match = re.fullmatch(
        r"P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
        r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?",
        text.strip(),
    )
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT48H or P5D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return dt.timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )
