"""Who may see and work what: the authorisation rules every entry point relies on."""

from __future__ import annotations

from engine.domain.views import Actor

SUPERVISING_ROLES = frozenset({"admin", "supervisor"})


def may_see_unit(actor: Actor, unit_code: str | None) -> bool:
    """A person sees items of their unit and the units below it; admins and people without a unit see all."""
    if actor.is_admin or actor.units is None or unit_code is None:
        return True
    return unit_code in actor.units


def may_work_task(actor: Actor, *, lane: str | None, assignee: str | None, unit_code: str | None) -> bool:
    """Members of the lane's role within the task's unit (or above it), the assignee, and admins."""
    if actor.is_admin or assignee == actor.username:
        return True
    if not may_see_unit(actor, unit_code):
        return False
    return lane is None or lane in actor.roles


def may_see_instance(actor: Actor, *, unit_code: str | None, lanes: set[str | None], started_by: str | None) -> bool:
    """Admins and supervisors, whoever started it, and anyone who may work one of its lanes, within their unit."""
    if actor.is_admin or actor.roles & SUPERVISING_ROLES or started_by == actor.username:
        return may_see_unit(actor, unit_code) or actor.is_admin
    return may_see_unit(actor, unit_code) and (None in lanes or bool(actor.roles & {x for x in lanes if x}))
