"""Admin pages: users, units, roles, API tokens, time limits and the calendar, audit topics, the audit log."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webui.admin import views  # noqa: E402,F401  - registers the routes on bp
