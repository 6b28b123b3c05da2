"""Working one task: its page (instructions, form, documents, the case and its diagram), claiming, completing."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tasks", __name__)

from webui.tasks import views  # noqa: E402,F401  - registers the routes on bp
