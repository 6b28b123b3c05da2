"""The admin audit log: every admin change (history events of kind admin.*), filtered and paged for admins."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.views import Actor, Page
from engine.persistence import queries
from engine.persistence.unit_of_work import UnitOfWork
from engine.services.history import history_view

# The kinds admin changes are recorded under (the filter offers them; any admin.* kind is shown).
KINDS = (
    "admin.user.created",
    "admin.user.updated",
    "admin.user.password_reset",
    "admin.user.deactivated",
    "admin.user.reactivated",
    "admin.unit.created",
    "admin.unit.renamed",
    "admin.unit.moved",
    "admin.token.created",
    "admin.token.revoked",
    "admin.rule.set",
    "admin.calendar.set",
    "admin.topic.drafted",
    "admin.topic.revised",
    "admin.topic.retired",
)


def list_admin_changes(
    uow: UnitOfWork,
    *,
    actor: Actor,
    who: str | None = None,
    kind: str | None = None,
    subject: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Admin: admin changes newest first, by who made them, kind (or kind prefix like admin.user), object, period."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may read the audit log")
    if kind and not kind.startswith(queries.ADMIN_KIND_PREFIX.rstrip(".")):
        raise ValidationError(
            {"kind": ["an admin change kind such as admin.user.created, or a prefix like admin.user"]}
        )
    if since is not None and until is not None and until <= since:
        raise ValidationError({"until": ["must be after the start of the period"]})
    with uow as repos:
        rows, total = queries.admin_events(
            repos.session,
            actor=who,
            kind=kind,
            subject=subject,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        return Page(items=tuple(history_view(r) for r in rows), total=total, limit=limit, offset=offset)


def day_bounds(
    from_day: dt.date | None, to_day: dt.date | None, timezone: str
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[since, until) in UTC for whole local days from_day..to_day (both included) in `timezone`."""
    zone = ZoneInfo(timezone)
    since = dt.datetime.combine(from_day, dt.time(), zone).astimezone(dt.UTC) if from_day else None
    until = dt.datetime.combine(to_day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC) if to_day else None
    return since, until
