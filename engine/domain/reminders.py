"""Reminder categories (DOMAIN.md §7) and the rules for who is reminded of what, when."""

from __future__ import annotations

import datetime as dt

CATEGORIES: dict[str, tuple[str, str]] = {
    "pending_add": ("待添加", "Pending add"),
    "pending_send": ("待发送", "Pending send"),
    "pending_transfer": ("待移交", "Pending transfer"),
    "pending_dossier_transfer": ("待移交卷宗", "Pending dossier transfer"),
    "contract_warning": ("合同预警", "Contract warning"),
    "time_limit_warning": ("业扩时限预警", "Time-limit warning"),
    "anomaly_warning": ("异常预警", "Anomaly warning"),
}
RED_REPEAT = dt.timedelta(hours=24)  # while red, the responsible person is reminded again every 24 hours
DEFAULT_ESCALATE_AFTER = dt.timedelta(hours=48)  # overdue this long: the supervisor is told too
CONTRACT_REMINDER_DAYS = 30
CONTRACT_WARNING_DAYS = 7


def contract_state(expires_on: dt.date, today: dt.date) -> str:
    """ok, reminder (expiry within 30 days), warning (within 7) or expired."""
    left = (expires_on - today).days
    if left < 0:
        return "expired"
    if left <= CONTRACT_WARNING_DAYS:
        return "warning"
    if left <= CONTRACT_REMINDER_DAYS:
        return "reminder"
    return "ok"
