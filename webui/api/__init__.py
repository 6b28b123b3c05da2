"""The JSON API under /api/v1 (contract: shared/API.md)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from webui.api import (  # noqa: E402,F401  - registers the routes on bp
    admin_views,
    anomaly_report_views,
    board_views,
    deadline_views,
    intake_views,
    kpi_views,
    loop_views,
    modeler_views,
    score_views,
    views,
)
