"""Who is calling: bearer tokens for the API (browser sign-in arrives with the inbox)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from engine.domain.errors import AuthenticationError
from engine.domain.views import Actor
from engine.services import users

F = TypeVar("F", bound=Callable[..., Any])


def current_actor() -> Actor:
    """The authenticated actor of this request; AuthenticationError (401) when there is none."""
    actor: Actor | None = g.get("actor")
    if actor is not None:
        return actor
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("send an API token as 'Authorization: Bearer <token>' (auditloop token create NAME)")
    actor = users.actor_for_token(current_app.extensions["auditloop"].uow(readonly=True), token=token.strip())
    g.actor = actor
    return actor


def login_required(view: F) -> F:
    """Refuse the request with 401 before the view runs unless a valid token came with it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_actor()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
