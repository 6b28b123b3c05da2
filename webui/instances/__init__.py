"""Following one instance: its live diagram, variables and history; admin actions; moving instances between versions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("instances", __name__)

from webui.instances import views  # noqa: E402,F401  - registers the routes on bp
