"""The inbox: a person's tasks in three tabs, with filters, counts and the reminders panel."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from webui.inbox import views  # noqa: E402,F401  - registers the routes on bp
