"""The modeler for process owners and admins: edit, validate, save drafts, publish and compare BPMN diagrams."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("modeler", __name__)

from webui.modeler import views  # noqa: E402,F401  - registers the routes on bp
