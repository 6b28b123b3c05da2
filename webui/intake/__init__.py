"""Anomaly intake in the browser: upload a CSV/Excel file, map and check its rows, follow its batch; the reports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("intake", __name__)

from webui.intake import views  # noqa: E402,F401  - registers the routes on bp
