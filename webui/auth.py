"""Who is calling: bearer tokens for the API; for pages, a session cookie from signing in with a password.

The API never reads the session (so it can skip CSRF); pages never read bearer tokens. The signed-in person is
re-read from the database on every page request, so a deactivated account loses its session at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, ngettext
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.wrappers import Response

from engine.domain.errors import AuthenticationError
from engine.domain.views import Actor
from engine.services import users
from webui import app_engine

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)

# Sessions without "remember me" end with the browser and, at the latest, this long after sign-in.
SESSION_HOURS = 12
REMEMBER_DAYS = 14


# -- the API: bearer tokens ------------------------------------------------------------------------------------


def current_actor() -> Actor:
    """The authenticated actor of this request; AuthenticationError (401) when there is none."""
    actor: Actor | None = g.get("actor")
    if actor is not None:
        return actor
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("send an API token as 'Authorization: Bearer <token>' (auditloop token create NAME)")
    actor = users.actor_for_token(app_engine().uow(readonly=True), token=token.strip())
    g.actor = actor
    return actor


def login_required(view: F) -> F:
    """Refuse the request with 401 before the view runs unless a valid token came with it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_actor()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- pages: the session ----------------------------------------------------------------------------------------


def signed_in_user() -> Actor | None:
    """The person signed in to this browser session, if any."""
    user: Actor | None = g.get("user")
    return user


def page_actor() -> Actor:
    """The signed-in person of a page behind sign_in_required."""
    user = signed_in_user()
    if user is None:
        raise AuthenticationError("sign in first")
    return user


def load_signed_in_user() -> None:
    """Before each page request: the session's person, re-read so deactivation and role changes apply at once."""
    g.user = None
    if request.path.startswith(("/api/", "/static/")) or request.path == "/healthz":
        return
    username = session.get("user")
    if not isinstance(username, str):
        return
    engine = app_engine()
    signed_in_at = session.get("signed_in_at")
    limit_s = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() if session.permanent else None
    age_s = engine.now().timestamp() - float(signed_in_at) if isinstance(signed_in_at, int | float) else None
    if age_s is None or age_s > (limit_s or SESSION_HOURS * 3600):
        _end_session()
        flash(gettext("Your session has ended. Please sign in again."), "info")
        return
    try:
        g.user = users.get_actor(engine.uow(readonly=True), username=username)
    except AuthenticationError:
        _end_session()
        flash(gettext("Your account is no longer active, so you have been signed out."), "error")


def _end_session() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def sign_in_required(view: F) -> F:
    """Pages: send a visitor who is not signed in to the sign-in page, and back here afterwards."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signed_in_user() is None:
            target = url_for("auth.login", next=request.full_path.rstrip("?"))
            if request.headers.get("HX-Request"):
                # An htmx swap must not put the sign-in page inside a fragment: let the browser navigate.
                return Response("", 401, headers={"HX-Redirect": target})
            return redirect(target)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def safe_next(value: str | None, default: str | None = None) -> str:
    """A redirect target from the request only when it is a path on this site (no open redirects)."""
    fallback = default or url_for("inbox.inbox")
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return fallback
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return fallback
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return fallback
    return value


class LoginForm(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(load_default="", validate=validate.Length(max=200))
    password = fields.String(load_default="", validate=validate.Length(max=1000))
    remember = fields.Boolean(load_default=False)
    next = fields.String(load_default=None, allow_none=True)


class LanguageForm(Schema):
    class Meta:
        unknown = EXCLUDE

    locale = fields.String(required=True, validate=validate.OneOf(users.LOCALES))
    next = fields.String(load_default=None, allow_none=True)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if signed_in_user() is not None:
        return redirect(next_url)
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, username="", remember=False, error=None)
    form = LoginForm().load(request.form)
    username = form["username"].strip()
    if not username or not form["password"]:
        error = gettext("Enter your username and your password.")
        return render_template(
            "auth/login.html", next=next_url, username=username, remember=form["remember"], error=error
        )
    engine = app_engine()
    try:
        actor = users.authenticate(engine.uow(), username=username, password=form["password"], now=engine.now())
    except AuthenticationError as refusal:
        error = sign_in_message(refusal.message)
        return render_template(
            "auth/login.html", next=next_url, username=username, remember=form["remember"], error=error
        )
    _end_session()  # a fresh session (and CSRF token) for the signed-in person
    session["user"] = actor.username
    session["signed_in_at"] = engine.now().timestamp()
    session.permanent = bool(form["remember"])
    return redirect(next_url)


@bp.post("/logout")
def logout() -> Response:
    _end_session()
    flash(gettext("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> Response:
    form = LanguageForm().load(request.form)
    user = signed_in_user()
    if user is not None:
        users.set_locale(app_engine().uow(), username=user.username, locale=form["locale"])
    session["locale"] = form["locale"]
    return redirect(safe_next(form["next"], default=url_for("index")))


def select_locale() -> str:
    """The person's saved language, else the one chosen in this browser, else the browser's, else Chinese."""
    user = signed_in_user()
    if user is not None and user.locale in users.LOCALES:
        return user.locale
    chosen = session.get("locale")
    if chosen in users.LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(users.LOCALES) or "zh_CN"


_LOCKED = re.compile(r"too many failed sign-ins; try again in (\d+) minutes?")


def sign_in_message(message: str) -> str:
    """The service's refusal in the person's language (it never says whether the name or the password was wrong)."""
    if message == "wrong username or password":
        return str(gettext("Wrong username or password."))
    locked = _LOCKED.fullmatch(message)
    if locked:
        minutes = int(locked.group(1))
        return str(
            ngettext(
                "Too many failed sign-ins. Try again in %(num)d minute.",
                "Too many failed sign-ins. Try again in %(num)d minutes.",
                minutes,
            )
        )
    return message
