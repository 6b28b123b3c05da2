"""The engine's clock inside SpiffWorkflow: timers read the `now` the service passed in, not the wall clock."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_NOW: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("auditloop_now", default=None)


class _EngineDatetime(dt.datetime):
    """datetime whose now() is the service's `now` while an engine call runs (wall clock otherwise)."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _EngineDatetime:  # type: ignore[override]
        fixed = _NOW.get()
        if fixed is None:
            return super().now(tz)  # type: ignore[return-value]
        value = fixed.astimezone(tz) if tz is not None else fixed.astimezone().replace(tzinfo=None)
        return cls.combine(value.date(), value.time(), value.tzinfo)  # type: ignore[return-value]


# Spiff's timer module calls datetime.now(timezone.utc) directly; services pass `now` so tests control time.
_timer_module.datetime = _EngineDatetime  # type: ignore[misc]


@contextlib.contextmanager
def engine_time(now: dt.datetime) -> Iterator[None]:
    """Run the enclosed SpiffWorkflow calls at `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("engine time must be timezone-aware")
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)
