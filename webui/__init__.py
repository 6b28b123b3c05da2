"""The web app: create_app(settings=None) builds it; nothing happens at import."""

from __future__ import annotations

import secrets

from flask import Flask, render_template

from engine.bootstrap import Engine, build_engine
from engine.config import Settings


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Flask:
    """A Flask app bound to an engine (built from settings or the AUDITLOOP_* environment)."""
    engine = engine or build_engine(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=engine.settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=engine.settings.max_request_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["auditloop"] = engine

    from webui.api import bp as api_bp
    from webui.errors import register_error_handlers

    app.register_blueprint(api_bp)
    register_error_handlers(app)

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
