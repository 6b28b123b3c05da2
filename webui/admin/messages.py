"""The engine's refusals on admin forms in the person's language (known sentences; others as the engine wrote them)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_RULES: list[_Rule] = [
    (re.compile(r"use 1–80 letters, digits, _ \. @ or -"), lambda m: _("Use 1–80 letters, digits, _ . @ or -.")),
    (re.compile(r"give at least one role.*"), lambda m: _("Give at least one role; a role name has no commas.")),
    (re.compile(r"an address like name@example\.com"), lambda m: _("An address like name@example.com.")),
    (re.compile(r"must be at least 8 characters"), lambda m: _("At least 8 characters.")),
    (re.compile(r"at most (\d+) characters"), lambda m: _("At most %(n)s characters.", n=m.group(1))),
    (re.compile(r"already taken"), lambda m: _("Already taken: choose another.")),
    (
        re.compile(r"no unit (\S+?);.*|no unit (\S+)$"),
        lambda m: _("There is no unit %(code)s.", code=m.group(1) or m.group(2)),
    ),
    (
        re.compile(r"(\S+) is \S+ itself or lies below it: a unit cannot move under itself"),
        lambda m: _("%(parent)s is this unit or lies below it: a unit cannot move under itself.", parent=m.group(1)),
    ),
    (
        re.compile(r"(\S+) is a station; nothing goes below a station"),
        lambda m: _("%(parent)s is a station; nothing goes below a station.", parent=m.group(1)),
    ),
    (
        re.compile(r"\S+ has units (\d+) levels below it; under \S+ they would fall below a station"),
        lambda m: _("This unit has units %(n)s levels below it; there they would fall below a station.", n=m.group(1)),
    ),
    (re.compile(r"give a name of at most 200 characters"), lambda m: _("Give a name of at most 200 characters.")),
    (
        re.compile(r"you cannot take the admin role from yourself.*"),
        lambda m: _("You cannot take the admin role from yourself; ask another admin."),
    ),
    (re.compile(r"you cannot deactivate yourself"), lambda m: _("You cannot deactivate yourself.")),
    (re.compile(r"no user named (\S+)"), lambda m: _("There is no user %(name)s.", name=m.group(1))),
    (
        re.compile(r"(\S+) is deactivated; reactivate the user first"),
        lambda m: _("%(name)s is deactivated; reactivate the user first.", name=m.group(1)),
    ),
    (re.compile(r"one of (minutes, hours.*)"), lambda m: _("Choose a unit of time.")),
    (re.compile(r"a positive number of minutes"), lambda m: _("A positive number of minutes.")),
    (re.compile(r"a positive number.*"), lambda m: _("A positive number (decimals allowed).")),
    (re.compile(r"a share of the limit between 0 and 1.*"), lambda m: _("A share between 0 and 1, e.g. 0.75.")),
    (re.compile(r"the process key and the step's BPMN id.*"), lambda m: _("The process key and the step's id (or *).")),
    (re.compile(r"2–64 capitals, digits.*"), lambda m: _("2–64 capitals, digits, _ or -, starting with a letter.")),
    (re.compile(r"a name of at most 200 characters"), lambda m: _("A name of at most 200 characters.")),
    (re.compile(r"one of tariff, .*"), lambda m: _("Choose a business area.")),
    (re.compile(r"say why the topic is retired"), lambda m: _("Say why the topic is retired.")),
    (re.compile(r"Missing data for required field\.|Field may not be null\."), lambda m: _("Required.")),
    (re.compile(r"Not a valid number\."), lambda m: _("Enter a number.")),
    (re.compile(r"Not a valid date\."), lambda m: _("Enter a date, like 2026-10-01.")),
]


def admin_message(message: str) -> str:
    """One refusal in the person's language."""
    for pattern, render in _RULES:
        found = pattern.fullmatch(message)
        if found:
            return str(render(found))
    return message


def admin_field_messages(fields: dict[str, list[str]] | dict[str, object]) -> dict[str, list[str]]:
    """A service's or schema's field -> messages, translated."""
    out: dict[str, list[str]] = {}
    for name, messages in fields.items():
        items = messages if isinstance(messages, list) else [str(messages)]
        out[name] = [admin_message(str(m)) for m in items]
    return out


def role_may(name: str) -> str | None:
    """What a known role may do, in the person's language (None for roles AuditLoop does not know)."""
    texts: dict[str, Callable[[], str]] = {
        "admin": lambda: _(
            "Everything: users, units, roles, API tokens, time-limit rules, the calendar, audit topics and the audit "
            "log; sees every unit and may work any task."
        ),
        "process_owner": lambda: _("Edits, validates and publishes process diagrams."),
        "auditor": lambda: _("Drafts and revises audit topics, raises audit cases."),
        "dispatcher": lambda: _("Dispatches cases to a unit and a handler."),
        "handler": lambda: _("Works the handling and rectification steps of cases in their unit."),
        "reviewer": lambda: _("Reviews handling results and rectifications, waives documents."),
        "archive_collector": lambda: _("Checks and receives the archive documents of each step."),
        "supervisor": lambda: _("Watches the monitor board, urges, reassigns and reads KPIs."),
        "unit_head": lambda: _("Receives supervision orders for overdue rectifications of their unit."),
    }
    text = texts.get(name)
    return str(text()) if text else None


def change_kind_label(kind: str) -> str:
    """An admin change kind in words."""
    labels: dict[str, Callable[[], str]] = {
        "admin.user.created": lambda: _("User created"),
        "admin.user.updated": lambda: _("User changed"),
        "admin.user.password_reset": lambda: _("Password reset"),
        "admin.user.deactivated": lambda: _("User deactivated"),
        "admin.user.reactivated": lambda: _("User reactivated"),
        "admin.unit.created": lambda: _("Unit created"),
        "admin.unit.renamed": lambda: _("Unit renamed"),
        "admin.unit.moved": lambda: _("Unit moved"),
        "admin.token.created": lambda: _("API token created"),
        "admin.token.revoked": lambda: _("API token revoked"),
        "admin.rule.set": lambda: _("Time-limit rule set"),
        "admin.calendar.set": lambda: _("Calendar day set"),
        "admin.topic.drafted": lambda: _("Topic drafted"),
        "admin.topic.revised": lambda: _("Topic revision started"),
        "admin.topic.retired": lambda: _("Topic retired"),
    }
    label = labels.get(kind)
    return str(label()) if label else kind
