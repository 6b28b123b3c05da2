"""What the pages' charts show, as small JSON specs that webui/static/js/charts.js draws with Chart.js."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _

from engine.domain.kpi import TrendPoint


def board_chart(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stacked bars of the board's rows: overdue, due soon, on time."""
    return {
        "type": "bar",
        "stacked": True,
        "horizontal": True,
        "title": _("Open tasks by time state"),
        "labels": [r["label"] for r in rows],
        "series": [
            {"label": _("Overdue"), "color": "red", "data": [r["red"] for r in rows]},
            {"label": _("Due soon"), "color": "yellow", "data": [r["yellow"] for r in rows]},
            {"label": _("On time"), "color": "green", "data": [r["green"] for r in rows]},
        ],
    }


def ranking_chart(scores: Sequence[Any]) -> dict[str, Any]:
    """Bars of the composite totals, best first (the ranking)."""
    return {
        "type": "bar",
        "horizontal": True,
        "title": _("Ranking by composite score"),
        "labels": [f"{s.rank}. {s.label}" for s in scores],
        "series": [{"label": _("Total"), "color": "blue", "data": [round(s.total, 2) for s in scores]}],
    }


def trend_chart(points: Sequence[TrendPoint]) -> dict[str, Any]:
    """Lines of the on-time archive rate and the overdue rate, month by month (gaps where there is no rate)."""
    return {
        "type": "line",
        "percent": True,
        "title": _("On-time archive rate and overdue rate by month"),
        "labels": [p.period + (" *" if p.is_frozen else "") for p in points],
        "series": [
            {"label": _("On-time archive rate"), "color": "blue", "data": [p.on_time_archive_rate for p in points]},
            {"label": _("Overdue rate"), "color": "red", "data": [p.overdue_rate for p in points]},
        ],
    }
