"""The supervisors' board in the browser: counts by unit, topic, step or person, their items, bulk urging."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("monitor", __name__)

from webui.monitor import views  # noqa: E402,F401  - registers the routes on bp
