"""The roles AuditLoop knows: names held by users (no roles table) and what each one may do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoleInfo:
    """A known role: its name, its Chinese name, and what it may do (English; pages translate)."""

    name: str
    name_zh: str
    may: str


# Roles are free names on users (BPMN lanes name them too, so a process may bring its own); these are the ones
# the built-in processes, the pages and the services give meaning to.
KNOWN_ROLES: tuple[RoleInfo, ...] = (
    RoleInfo(
        "admin",
        "系统管理员",
        "Everything: users, units, roles, API tokens, time-limit rules, the calendar, audit topics and the audit "
        "log; sees every unit and may work any task.",
    ),
    RoleInfo("process_owner", "流程负责人", "Edits, validates and publishes process diagrams."),
    RoleInfo("auditor", "稽查员", "Drafts and revises audit topics, raises audit cases."),
    RoleInfo("dispatcher", "派工员", "Dispatches cases to a unit and a handler."),
    RoleInfo("handler", "业务人员", "Works the handling and rectification steps of cases in their unit."),
    RoleInfo("reviewer", "稽查审核员", "Reviews handling results and rectifications, waives documents."),
    RoleInfo("archive_collector", "档案收集员", "Checks and receives the archive documents of each step."),
    RoleInfo("supervisor", "稽查监控中心", "Watches the monitor board, urges, reassigns and reads KPIs."),
    RoleInfo("unit_head", "单位负责人", "Receives supervision orders for overdue rectifications of their unit."),
)
KNOWN_ROLE_NAMES = frozenset(r.name for r in KNOWN_ROLES)
