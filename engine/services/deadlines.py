"""Deadlines: move open tasks and their instances to yellow and red as their thresholds pass."""

from __future__ import annotations

import datetime as dt

from engine.persistence import queries
from engine.persistence.unit_of_work import UnitOfWork


def refresh_time_states(uow: UnitOfWork, *, now: dt.datetime) -> int:
    """Apply every threshold crossed by `now`; returns how many tasks changed state."""
    with uow as repos:
        return queries.refresh_time_states(repos.session, now=now)
