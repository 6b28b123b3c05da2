"""Evaluation (稽查评价) in the browser: KPI rates and scores per person, team or unit, exports, the report."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("evaluation", __name__)

from webui.evaluation import views  # noqa: E402,F401  - registers the routes on bp
