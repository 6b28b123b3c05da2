"""The web app: create_app(settings=None) builds it; nothing happens at import; app_engine() is what it runs on."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from typing import Any

from babel import Locale, dates
from flask import Flask, Response, current_app, g, redirect, render_template, request, url_for
from flask_babel import Babel, get_locale, get_timezone
from flask_wtf.csrf import CSRFError, CSRFProtect

from engine.bootstrap import Engine, build_engine
from engine.config import Settings

# Scripts only from this origin (htmx and bpmn-js are served from static/vendor); bpmn-js sets inline SVG styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def app_engine() -> Engine:
    """The engine the current app was built with (pages and API alike)."""
    engine: Engine = current_app.extensions["auditloop"]
    return engine


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Flask:
    """A Flask app bound to an engine (built from settings or the AUDITLOOP_* environment)."""
    from webui.admin import bp as admin_bp
    from webui.api import bp as api_bp
    from webui.auth import REMEMBER_DAYS, load_signed_in_user, select_locale, signed_in_user
    from webui.auth import bp as auth_bp
    from webui.errors import register_error_handlers
    from webui.evaluation import bp as evaluation_bp
    from webui.inbox import bp as inbox_bp
    from webui.instances import bp as instances_bp
    from webui.intake import bp as intake_bp
    from webui.modeler import bp as modeler_bp
    from webui.monitor import bp as monitor_bp
    from webui.tasks import bp as tasks_bp

    engine = engine or build_engine(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=engine.settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=engine.settings.max_request_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_NAME="auditloop_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("AUDITLOOP_SECURE_COOKIES", "").lower() in ("1", "on", "true", "yes"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=REMEMBER_DAYS),
        # A form left open for an afternoon must still submit: the token lives as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE=engine.settings.timezone,
    )
    if not engine.settings.secret_key:
        app.logger.warning("AUDITLOOP_SECRET_KEY is not set: every sign-in ends when this process restarts")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["auditloop"] = engine

    # The person is loaded before the CSRF check so that a refused form still renders for them.
    app.before_request(load_signed_in_user)
    csrf = CSRFProtect(app)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never with the session cookie
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(evaluation_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(instances_bp)
    app.register_blueprint(modeler_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(monitor_bp)
    app.register_blueprint(tasks_bp)
    register_error_handlers(app)
    app.after_request(_page_headers)
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.globals["html_lang"] = html_lang

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template("csrf_error.html", reason=error.description), 400

    @app.get("/")
    def index() -> Any:
        if signed_in_user() is not None:
            return redirect(url_for("inbox.inbox"))
        return render_template("index.html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _page_headers(response: Response) -> Response:
    """Pages carry a CSP and are never cached (they show one person's work); the API keeps its own headers."""
    if request.path.startswith("/api/") or response.mimetype != "text/html":
        return response
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if g.get("user") is not None:
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    response.vary.add("Cookie")
    return response


def format_when(value: dt.datetime | None, *, seconds: bool = False) -> str:
    """A moment in the display time zone, in the locale's own format: medium date and short (or medium) time."""
    if value is None:
        return ""
    locale = get_locale() or Locale.parse("zh_CN")
    zone = get_timezone()
    date = dates.format_date(value.astimezone(zone), "medium", locale=locale)
    time = dates.format_time(value, "medium" if seconds else "short", tzinfo=zone, locale=locale)
    return str(locale.datetime_formats["medium"]).format(time, date)


def html_lang() -> str:
    """The BCP 47 tag of the page's language for <html lang>."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh-CN"
