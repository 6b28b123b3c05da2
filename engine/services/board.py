"""The supervisors' board: green/yellow/red counts of open tasks by unit, topic, step or person, and their items."""

from __future__ import annotations

from typing import Any

from engine.domain import kpi
from engine.domain.access import may_see_unit
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.units import subtree
from engine.domain.views import Actor, Page
from engine.persistence import queries
from engine.persistence.unit_of_work import UnitOfWork
from engine.services.runs import task_view

GROUPS = ("unit", "topic", "step", "person")
BOARD_ROLES = frozenset({"admin", "supervisor"})


def board_filters(
    *, topic: str | None = None, risk_level: int | None = None, period: str | None = None
) -> dict[str, Any]:
    """The board's filters checked: topic code, risk level 1–4, period (tasks begun in it) -> query arguments."""
    problems: dict[str, list[str]] = {}
    filters: dict[str, Any] = {"topic": topic or None, "risk_level": risk_level}
    if risk_level is not None and not 1 <= risk_level <= 4:
        problems["risk_level"] = ["1 (most serious) to 4"]
    if period:
        try:
            parsed = kpi.parse_period(period)
            filters.update(since=parsed.start, until=parsed.end)
        except ValueError as err:
            problems["period"] = [str(err)]
    if problems:
        raise ValidationError(problems)
    return filters


def board(
    uow: UnitOfWork,
    *,
    actor: Actor,
    group_by: str,
    unit: str | None = None,
    topic: str | None = None,
    risk_level: int | None = None,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """Counts per group and time state; by unit, the children of `unit` (or of the top) each with everything below.

    Filters: the case's topic and risk level, and the period in which the open step began."""
    if not actor.roles & BOARD_ROLES:
        raise PermissionDeniedError("the board is for supervisors and admins")
    if group_by not in GROUPS:
        raise ValidationError({"group_by": [f"one of {', '.join(GROUPS)}"]})
    filters = board_filters(topic=topic, risk_level=risk_level, period=period)
    with uow as repos:
        parents = repos.unit_parents()
        names = {u.code: u.name for u in repos.units()}
        if unit is not None and (unit not in names or not may_see_unit(actor, unit)):
            raise ValidationError({"unit": [f"no unit {unit} among yours"]})
        scope = subtree(parents, unit) if unit else actor.units
        rows = queries.board_counts(repos.session, group_by=group_by, units=scope, **filters)
    if group_by != "unit":
        return [_entry(key, label, counts) for (key, label), counts in sorted(rows.items(), key=_worst_first)]
    # Roll each unit's counts up into the child of `unit` (or top-level unit) it lies under: drill-down.
    tops = [code for code, parent in parents if parent == unit] if unit else [c for c, p in parents if p is None]
    rolled: dict[tuple[str, str], dict[str, int]] = {}
    for top in tops:
        below = subtree(parents, top)
        total = {"green": 0, "yellow": 0, "red": 0}
        for (code, _label), counts in rows.items():
            if code in below:
                for state in total:
                    total[state] += counts.get(state, 0)
        rolled[(top, names.get(top, top))] = total
    if unit is not None:
        own = rows.get((unit, unit), {})
        if any(own.values()):
            rolled[(unit, names.get(unit, unit))] = {s: own.get(s, 0) for s in ("green", "yellow", "red")}
    return [_entry(key, label, counts) for (key, label), counts in sorted(rolled.items(), key=_worst_first)]


def board_items(
    uow: UnitOfWork,
    *,
    actor: Actor,
    unit: str | None = None,
    topic: str | None = None,
    step: str | None = None,
    person: str | None = None,
    time_state: str | None = None,
    risk_level: int | None = None,
    period: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """The open tasks behind one count of the board (with the board's filters), worst first."""
    if not actor.roles & BOARD_ROLES:
        raise PermissionDeniedError("the board is for supervisors and admins")
    filters = board_filters(topic=topic, risk_level=risk_level, period=period)
    with uow as repos:
        scope = subtree(repos.unit_parents(), unit) if unit else actor.units
        if unit is not None and not may_see_unit(actor, unit):
            raise ValidationError({"unit": [f"no unit {unit} among yours"]})
        rows, total = queries.board_items(
            repos.session,
            units=scope,
            step=step,
            person=person,
            time_state=time_state,
            limit=limit,
            offset=offset,
            **filters,
        )
        return Page(tuple(task_view(r) for r in rows), total, limit, offset)


def _entry(key: str, label: str, counts: dict[str, int]) -> dict[str, Any]:
    green, yellow, red = (counts.get(s, 0) for s in ("green", "yellow", "red"))
    return {"key": key, "label": label, "green": green, "yellow": yellow, "red": red, "total": green + yellow + red}


def _worst_first(item: tuple[tuple[str, str], dict[str, int]]) -> tuple[int, int, int, str]:
    (key, _label), counts = item
    return (-counts.get("red", 0), -counts.get("yellow", 0), -sum(counts.values()), key)
