"""People: create users with roles, sign in with a password, API tokens."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.domain.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from engine.domain.units import child_level, subtree
from engine.domain.views import Actor, UnitView, UserView
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history

_HASHER = PasswordHasher()
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,80}$")
_ROLE = re.compile(r"^[^\s,][^,]{0,79}$")
TOKEN_PREFIX = "al_"  # noqa: S105 - a prefix, not a secret


@functools.cache
def _dummy_hash() -> str:
    """Verifying against a dummy hash keeps the timing of "no such user" equal to "wrong password"."""
    return _HASHER.hash("auditloop-dummy-password")


def hash_token(token: str) -> str:
    """Tokens are 256-bit random: a fast hash is enough and lets us look them up."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    uow: UnitOfWork,
    *,
    username: str,
    roles: list[str],
    now: dt.datetime,
    password: str | None = None,
    unit_code: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> UserView:
    """Create a user with roles (free-form names; `admin` is the administrator role)."""
    problems: dict[str, list[str]] = {}
    if not _NAME.match(username or ""):
        problems["username"] = ["use 1–80 letters, digits, _ . @ or -"]
    bad_roles = [r for r in roles if not _ROLE.match(r)]
    if not roles or bad_roles:
        problems["role"] = ["give at least one role; a role name has no commas and no leading space"]
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        problems["email"] = ["an address like name@example.com"]
    if password is not None and len(password) < 8:
        problems["password"] = ["must be at least 8 characters"]
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        if unit_code is not None and repos.unit(unit_code) is None:
            raise ValidationError({"unit": [f"no unit {unit_code}; create it first (auditloop unit add)"]})
        if repos.user_by_name(username) is not None:
            raise ConflictError(f"user {username} already exists", {"fields": {"username": ["already taken"]}})
        user = m.User(
            username=username,
            display_name=display_name or username,
            password_hash=_HASHER.hash(password) if password else None,
            unit_code=unit_code,
            email=email,
            is_active=True,
            created_at=now,
        )
        repos.add(user)
        repos.flush()
        for role in sorted(set(roles)):
            repos.add(m.UserRole(user_id=user.id, role=role))
        return UserView(user.id, user.username, user.display_name, tuple(sorted(set(roles))), unit_code, True)


FREE_FAILURES = 5
MAX_LOCK = dt.timedelta(hours=1)
LOCALES = ("zh_CN", "en")


def authenticate(uow: UnitOfWork, *, username: str, password: str, now: dt.datetime) -> Actor:
    """The actor for a username and password; one message for every failure so it does not leak which part.

    After FREE_FAILURES failures in a row a username is locked for 1, 2, 4 … minutes (at most an hour),
    whether or not it exists.
    """
    refusal: AuthenticationError | None = None
    with uow as repos:
        throttle = repos.login_throttle(username[:80])
        if throttle.locked_until is not None and throttle.locked_until > now:
            wait = max(1, math.ceil((throttle.locked_until - now).total_seconds() / 60))
            raise AuthenticationError(f"too many failed sign-ins; try again in {wait} minutes")
        user = repos.user_by_name(username)
        try:
            _HASHER.verify(user.password_hash if user and user.password_hash else _dummy_hash(), password)
            if user is None or not user.password_hash or not user.is_active:
                raise VerificationError
        except (VerificationError, InvalidHashError):
            throttle.failures += 1
            if throttle.failures >= FREE_FAILURES:
                throttle.locked_until = now + min(
                    MAX_LOCK, dt.timedelta(minutes=2 ** (throttle.failures - FREE_FAILURES))
                )
            refusal = AuthenticationError("wrong username or password")
        else:
            throttle.failures, throttle.locked_until = 0, None
            actor = _actor(repos, user)
    # Raised after the block so the failure count is committed.
    if refusal is not None:
        raise refusal
    return actor


def set_locale(uow: UnitOfWork, *, username: str, locale: str) -> None:
    """Remember the language a person chose."""
    if locale not in LOCALES:
        raise ValidationError({"locale": [f"one of {', '.join(LOCALES)}"]})
    with uow as repos:
        user = repos.user_by_name(username)
        if user is None:
            raise NotFoundError(f"no user named {username}")
        user.locale = locale


def get_actor(uow: UnitOfWork, *, username: str) -> Actor:
    """The current actor of an active user (sessions re-read it on every request so changes apply at once)."""
    with uow as repos:
        user = repos.user_by_name(username)
        if user is None or not user.is_active:
            raise AuthenticationError("your account is no longer active; sign in again")
        return _actor(repos, user)


def _actor(repos: Repositories, user: m.User) -> Actor:
    roles = frozenset(repos.user_roles(user.id))
    units = subtree(repos.unit_parents(), user.unit_code) if user.unit_code and "admin" not in roles else None
    return Actor(user.username, roles, user.unit_code, user.id, units, user.locale, user.display_name)


def create_token(uow: UnitOfWork, *, username: str, now: dt.datetime, name: str = "") -> str:
    """A new API token for the user; only its hash is stored, so this is the one time it is shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with uow as repos:
        user = repos.user_by_name(username)
        if user is None:
            raise NotFoundError(f"no user named {username}")
        repos.add(m.ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), created_at=now))
    return token


def actor_for_token(uow: UnitOfWork, *, token: str) -> Actor:
    """The active user behind a bearer token."""
    with uow as repos:
        row = repos.token_by_hash(hash_token(token))
        user = repos.user(row.user_id) if row is not None else None
        if row is None or user is None or not user.is_active:
            raise AuthenticationError("the API token is unknown, revoked or belongs to a deactivated user")
        return _actor(repos, user)


def add_unit(
    uow: UnitOfWork, *, code: str, name: str, actor: Actor, now: dt.datetime, parent_code: str | None = None
) -> UnitView:
    """Admin: add a unit under its parent; the level follows from the parent (city, district, station)."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change the organisation")
    if not _NAME.match(code or ""):
        raise ValidationError({"code": ["use 1–80 letters, digits, _ . @ or -"]})
    if not name or len(name) > 200:
        raise ValidationError({"name": ["give a name of at most 200 characters"]})
    with uow as repos:
        if repos.unit(code) is not None:
            raise ConflictError(f"unit {code} already exists", {"fields": {"code": ["already taken"]}})
        parent = repos.unit(parent_code) if parent_code else None
        if parent_code and parent is None:
            raise ValidationError({"parent": [f"no unit {parent_code}"]})
        level = child_level(parent.level if parent else None)
        if level is None:
            raise ValidationError({"parent": [f"{parent_code} is a station; nothing goes below a station"]})
        repos.add(m.Unit(code=code, name=name, level=level, parent_code=parent_code, created_at=now))
        return UnitView(code, name, level, parent_code)


def list_units(uow: UnitOfWork) -> list[UnitView]:
    """Every unit, for the tree (parents before children is up to the caller)."""
    with uow as repos:
        return [UnitView(u.code, u.name, u.level, u.parent_code) for u in repos.units()]


def deactivate_user(uow: UnitOfWork, *, username: str, actor: Actor, now: dt.datetime) -> UserView:
    """Admin: the user can no longer sign in or use tokens; their open sessions end at the next request."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may deactivate users")
    with uow as repos:
        user = repos.user_by_name(username)
        if user is None:
            raise NotFoundError(f"no user named {username}")
        if user.username == actor.username:
            raise ValidationError({"username": ["you cannot deactivate yourself"]})
        user.is_active = False
        history.record(repos, kind="user_deactivated", at=now, actor=actor.username, message=username)
        roles = tuple(sorted(repos.user_roles(user.id)))
        return UserView(user.id, user.username, user.display_name, roles, user.unit_code, False)
