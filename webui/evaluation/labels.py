"""What the evaluation's counts, rates, levels and score parts are called on the pages (translated)."""

from __future__ import annotations

from flask_babel import gettext as _


def field_labels() -> dict[str, str]:
    """Column headings of the KPI and score tables, in the page's language."""
    return {
        "cases_raised": _("Cases raised"),
        "cases_completed": _("Cases completed"),
        "cases_overdue": _("Cases overdue"),
        "rectification_cases": _("Cases in rectification"),
        "rectification_accepted": _("Rectifications accepted"),
        "archives_due": _("Archives due"),
        "archives_received": _("Archives received"),
        "archives_on_time": _("Archives on time"),
        "step_completions": _("Steps completed"),
        "open_at_start": _("Open at start"),
        "open_at_end": _("Open at end"),
        "anomalies_found": _("Anomalies found"),
        "anomalies_raised": _("Anomalies raising a case"),
        "step_completion_rate": _("Step completion rate"),
        "on_time_archive_rate": _("On-time archive rate"),
        "completion_rate": _("Completion rate"),
        "rectification_completion_rate": _("Rectification completion rate"),
        "overdue_rate": _("Overdue rate"),
        "cumulative_completion_rate": _("Cumulative completion rate"),
        "audit_initiation_rate": _("Audit initiation rate"),
        "indicator_score": _("Indicator score"),
        "process_score": _("Process score"),
        "business_score": _("Business score"),
        "deductions": _("Deductions"),
        "bonus": _("Bonus"),
        "total": _("Total"),
        "rank": _("Rank"),
    }


def level_labels() -> dict[str, str]:
    """person / team / unit, in the page's language."""
    return {"person": _("Person"), "team": _("Team (station)"), "unit": _("Unit (district)")}
