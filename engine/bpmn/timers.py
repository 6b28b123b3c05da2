"""Timer start events: when the engine itself must start the next instance of a definition."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn.clock import engine_time


@dataclass(frozen=True)
class StartSchedule:
    """The next firing of a timer start event and how many remain after it (None: forever)."""

    due_at: dt.datetime
    repeats_left: int | None
    interval: dt.timedelta | None


def _literal(expression: str) -> str:
    text = expression.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def first_start(expression: str, *, now: dt.datetime) -> StartSchedule | None:
    """The first firing of a start timer deployed at `now`; None when it lies in the past."""
    text = _literal(expression)
    if text.upper().startswith("R"):
        with engine_time(now):
            count, start, interval = TimerEventDefinition.parse_iso_recurring_interval(text)
        first = start if start > now else now + interval
        return StartSchedule(first, (count - 1) if count > 0 else None, interval)
    if text.upper().startswith("P"):
        return StartSchedule(
            now + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), now),
            0,
            None,
        )
    when = TimerEventDefinition.get_datetime(text)
    return StartSchedule(when, 0, None) if when > now else None


def next_start(
    expression: str, *, fired_due_at: dt.datetime, repeats_left: int | None, now: dt.datetime
) -> StartSchedule | None:
    """The firing after one that just happened; catch-up bursts collapse to the next future slot."""
    if repeats_left == 0:
        return None
    text = _literal(expression)
    if not text.upper().startswith("R"):
        return None
    with engine_time(now):
        _count, _start, interval = TimerEventDefinition.parse_iso_recurring_interval(text)
    due = fired_due_at + interval
    skipped = 0
    while due <= now:
        due += interval
        skipped += 1
    left = None if repeats_left is None else max(repeats_left - 1 - skipped, 0)
    return StartSchedule(due, left, interval)
