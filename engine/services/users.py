"""People: users with roles, signing in with a password, API tokens, the unit tree; admin changes are recorded."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import math
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.domain.errors import (
    AuthenticationError,
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from engine.domain.roles import KNOWN_ROLES
from engine.domain.units import LEVELS, child_level, depths_below, subtree
from engine.domain.views import Actor, Page, RoleView, TokenView, UnitView, UserView
from engine.persistence import models as m
from engine.persistence import queries
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
    actor: Actor | None = None,
) -> UserView:
    """Create a user with roles (free-form names; `admin` is the administrator role).

    `actor` is the admin doing it (pages, API); the CLI and the demo loader, trusted callers, may leave it out.
    """
    if actor is not None and not actor.is_admin:
        raise PermissionDeniedError("only admins may create users")
    problems = new_user_problems(
        username=username, roles=roles, email=email, display_name=display_name, password=password
    )
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
        repos.set_user_roles(user.id, roles)
        after = _snapshot(user, roles)
        _record(repos, "admin.user.created", actor, now, f"user:{username}", username, None, after)
        return _user_view(user, roles)


def new_user_problems(
    *, username: str, roles: list[str], email: str | None, display_name: str, password: str | None
) -> dict[str, list[str]]:
    """What is wrong with a new user's fields, each field with its messages (the database is not asked)."""
    problems = _user_problems(roles=roles, email=email, display_name=display_name)
    if not _NAME.match(username or ""):
        problems["username"] = ["use 1–80 letters, digits, _ . @ or -"]
    if password is not None:
        problems.update(_password_problems(password))
    return problems


def _user_problems(*, roles: list[str], email: str | None, display_name: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    bad_roles = [r for r in roles if not _ROLE.match(r)]
    if not roles or bad_roles:
        problems["role"] = ["give at least one role; a role name has no commas and no leading space"]
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        problems["email"] = ["an address like name@example.com"]
    if len(display_name or "") > 200:
        problems["display_name"] = ["at most 200 characters"]
    return problems


def _password_problems(password: str) -> dict[str, list[str]]:
    if len(password) < 8:
        return {"password": ["must be at least 8 characters"]}
    if len(password) > 1000:
        return {"password": ["must be at most 1000 characters"]}
    return {}


def _snapshot(user: m.User, roles: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """What the audit log keeps of a user before and after a change (never the password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "unit": user.unit_code,
        "roles": sorted(set(roles)),
        "is_active": user.is_active,
    }


def _user_view(user: m.User, roles: list[str] | tuple[str, ...]) -> UserView:
    return UserView(
        user.id,
        user.username,
        user.display_name,
        tuple(sorted(set(roles))),
        user.unit_code,
        user.is_active,
        user.email,
        user.created_at,
    )


def _record(
    repos: Repositories,
    kind: str,
    actor: Actor | None,
    now: dt.datetime,
    subject: str,
    message: str,
    before: Any,
    after: Any,
) -> None:
    """One admin change in the history: who, when, about what, before and after."""
    history.record(
        repos,
        kind=kind,
        at=now,
        actor=actor.username if actor else None,
        message=message,
        data={"before": before, "after": after},
        subject=subject,
    )


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
        user = _user(repos, username)
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


def create_token(
    uow: UnitOfWork, *, username: str, now: dt.datetime, name: str = "", actor: Actor | None = None
) -> str:
    """A new API token for the user; only its hash is stored, so this is the one time it is shown.

    `actor` is the admin doing it (pages, API); the CLI, a trusted caller, may leave it out.
    """
    if actor is not None and not actor.is_admin:
        raise PermissionDeniedError("only admins may create API tokens")
    if len(name or "") > 200:
        raise ValidationError({"name": ["at most 200 characters"]})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with uow as repos:
        user = repos.user_by_name(username)
        if user is None:
            if actor is not None:
                raise ValidationError({"username": [f"no user named {username}"]})
            raise NotFoundError(f"no user named {username}")
        if not user.is_active:
            raise ValidationError({"username": [f"{username} is deactivated; reactivate the user first"]})
        row = m.ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), created_at=now)
        repos.add(row)
        repos.flush()
        after = {"user": username, "name": name}
        _record(repos, "admin.token.created", actor, now, f"token:{row.id}", f"{username}: {name}", None, after)
    return token


def list_tokens(uow: UnitOfWork, *, actor: Actor, username: str | None = None) -> list[TokenView]:
    """Admin: API tokens (newest first), of one user or all; never their secrets."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may see API tokens")
    with uow as repos:
        user_id = None
        if username:
            user = _user(repos, username)
            user_id = user.id
        return [TokenView(t.id, u, t.name, t.created_at, t.revoked_at) for t, u in repos.api_tokens(user_id)]


def revoke_token(uow: UnitOfWork, *, token_id: int, actor: Actor, now: dt.datetime) -> TokenView:
    """Admin: the token stops working at once."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may revoke API tokens")
    with uow as repos:
        row = repos.api_token(token_id)
        if row is None:
            raise NotFoundError(f"no API token {token_id}")
        if row.revoked_at is not None:
            raise InvalidStateError(f"API token {token_id} is already revoked")
        user = repos.user(row.user_id)
        username = user.username if user else ""
        row.revoked_at = now
        before, after = {"revoked_at": None}, {"revoked_at": now.isoformat()}
        _record(repos, "admin.token.revoked", actor, now, f"token:{row.id}", f"{username}: {row.name}", before, after)
        return TokenView(row.id, username, row.name, row.created_at, row.revoked_at)


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
        after = {"code": code, "name": name, "level": level, "parent": parent_code}
        _record(repos, "admin.unit.created", actor, now, f"unit:{code}", f"{code} {name}", None, after)
        return UnitView(code, name, level, parent_code)


def rename_unit(uow: UnitOfWork, *, code: str, name: str, actor: Actor, now: dt.datetime) -> UnitView:
    """Admin: give a unit a new name (its code, which data refers to, stays)."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change the organisation")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": ["give a name of at most 200 characters"]})
    with uow as repos:
        unit = repos.unit(code)
        if unit is None:
            raise NotFoundError(f"no unit {code}")
        before = unit.name
        unit.name = name
        _record(
            repos,
            "admin.unit.renamed",
            actor,
            now,
            f"unit:{code}",
            f"{code}: {before} → {name}",
            {"name": before},
            {"name": name},
        )
        return UnitView(unit.code, unit.name, unit.level, unit.parent_code)


def move_unit(uow: UnitOfWork, *, code: str, parent_code: str | None, actor: Actor, now: dt.datetime) -> UnitView:
    """Admin: put a unit (with the units below it) under another parent; levels follow the new place."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change the organisation")
    with uow as repos:
        unit = repos.unit(code)
        if unit is None:
            raise NotFoundError(f"no unit {code}")
        parent = repos.unit(parent_code) if parent_code else None
        if parent_code and parent is None:
            raise ValidationError({"parent": [f"no unit {parent_code}"]})
        depths = depths_below(repos.unit_parents(), code)
        if parent_code is not None and parent_code in depths:
            raise ValidationError(
                {"parent": [f"{parent_code} is {code} itself or lies below it: a unit cannot move under itself"]}
            )
        level = child_level(parent.level if parent else None)
        if level is None:
            raise ValidationError({"parent": [f"{parent_code} is a station; nothing goes below a station"]})
        start = LEVELS.index(level)
        deepest = max(depths.values())
        if start + deepest >= len(LEVELS):
            raise ValidationError(
                {
                    "parent": [
                        f"{code} has units {deepest} levels below it; under {parent_code or 'the top'} they "
                        "would fall below a station"
                    ]
                }
            )
        before = {"parent": unit.parent_code, "level": unit.level}
        for member_code, depth in depths.items():
            member = repos.unit(member_code)
            if member is not None:
                member.level = LEVELS[start + depth]
        unit.parent_code = parent_code
        after = {"parent": parent_code, "level": unit.level}
        message = f"{code}: {before['parent'] or '-'} → {parent_code or '-'}"
        _record(repos, "admin.unit.moved", actor, now, f"unit:{code}", message, before, after)
        return UnitView(unit.code, unit.name, unit.level, unit.parent_code)


def list_units(uow: UnitOfWork) -> list[UnitView]:
    """Every unit, for the tree (parents before children is up to the caller)."""
    with uow as repos:
        return [UnitView(u.code, u.name, u.level, u.parent_code) for u in repos.units()]


def deactivate_user(uow: UnitOfWork, *, username: str, actor: Actor, now: dt.datetime) -> UserView:
    """Admin: the user can no longer sign in or use tokens; their open sessions end at the next request."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may deactivate users")
    with uow as repos:
        user = _user(repos, username)
        if user.username == actor.username:
            raise ValidationError({"username": ["you cannot deactivate yourself"]})
        if not user.is_active:
            raise InvalidStateError(f"{username} is already deactivated")
        user.is_active = False
        roles = repos.user_roles(user.id)
        _record(
            repos,
            "admin.user.deactivated",
            actor,
            now,
            f"user:{username}",
            username,
            {"is_active": True},
            {"is_active": False},
        )
        return _user_view(user, roles)


def reactivate_user(uow: UnitOfWork, *, username: str, actor: Actor, now: dt.datetime) -> UserView:
    """Admin: a deactivated user may sign in and use their (unrevoked) tokens again."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may reactivate users")
    with uow as repos:
        user = _user(repos, username)
        if user.is_active:
            raise InvalidStateError(f"{username} is already active")
        user.is_active = True
        roles = repos.user_roles(user.id)
        _record(
            repos,
            "admin.user.reactivated",
            actor,
            now,
            f"user:{username}",
            username,
            {"is_active": False},
            {"is_active": True},
        )
        return _user_view(user, roles)


def list_users(
    uow: UnitOfWork,
    *,
    actor: Actor,
    q: str | None = None,
    unit_code: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Admin: users matching a search (username, display name or email), a unit, a role, active or not."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may list users")
    with uow as repos:
        rows, total = queries.users_matching(
            repos.session, q=q, unit_code=unit_code, role=role, is_active=is_active, limit=limit, offset=offset
        )
        roles = repos.user_roles_by_id([u.id for u in rows])
        return Page(items=tuple(_user_view(u, roles[u.id]) for u in rows), total=total, limit=limit, offset=offset)


def get_user(uow: UnitOfWork, *, username: str, actor: Actor) -> UserView:
    """Admin: one user."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may see user accounts")
    with uow as repos:
        user = _user(repos, username)
        return _user_view(user, repos.user_roles(user.id))


class Keep(enum.Enum):
    """A field left as it is (None is a value: no email, no unit)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def update_user(
    uow: UnitOfWork,
    *,
    username: str,
    actor: Actor,
    now: dt.datetime,
    display_name: str | Keep = KEEP,
    email: str | Keep | None = KEEP,
    unit_code: str | Keep | None = KEEP,
    roles: list[str] | Keep = KEEP,
) -> UserView:
    """Admin: change a user's display name, email, unit and roles (those given; all or nothing)."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may change users")
    with uow as repos:
        user = _user(repos, username)
        current = repos.user_roles(user.id)
        before = _snapshot(user, current)
        roles = current if isinstance(roles, Keep) else roles
        display_name = user.display_name if isinstance(display_name, Keep) else display_name
        email = user.email if isinstance(email, Keep) else email
        unit_code = user.unit_code if isinstance(unit_code, Keep) else unit_code
        problems = _user_problems(roles=roles, email=email, display_name=display_name)
        if username == actor.username and "admin" not in roles:
            problems["role"] = ["you cannot take the admin role from yourself; ask another admin"]
        if unit_code is not None and repos.unit(unit_code) is None:
            problems["unit"] = [f"no unit {unit_code}"]
        if problems:
            raise ValidationError(problems)
        user.display_name, user.email, user.unit_code = display_name or username, email, unit_code
        repos.set_user_roles(user.id, roles)
        after = _snapshot(user, roles)
        if after != before:
            _record(repos, "admin.user.updated", actor, now, f"user:{username}", username, before, after)
        return _user_view(user, roles)


def reset_password(uow: UnitOfWork, *, username: str, password: str, actor: Actor, now: dt.datetime) -> UserView:
    """Admin: set a new password (and lift a sign-in lock); the audit log says it happened, never what it is."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may reset passwords")
    problems = _password_problems(password or "")
    if problems:
        raise ValidationError(problems)
    with uow as repos:
        user = _user(repos, username)
        had_password = user.password_hash is not None
        user.password_hash = _HASHER.hash(password)
        throttle = repos.login_throttle(username)
        throttle.failures, throttle.locked_until = 0, None
        _record(
            repos,
            "admin.user.password_reset",
            actor,
            now,
            f"user:{username}",
            username,
            {"has_password": had_password},
            {"has_password": True},
        )
        return _user_view(user, repos.user_roles(user.id))


def list_roles(uow: UnitOfWork, *, actor: Actor) -> list[RoleView]:
    """Admin: the known roles and any other role held by someone, each with its active holders."""
    if not actor.is_admin:
        raise PermissionDeniedError("only admins may see who holds which role")
    with uow as repos:
        holders: dict[str, list[str]] = {}
        for role, username in repos.role_holders():
            holders.setdefault(role, []).append(username)
    views = [RoleView(r.name, r.name_zh, r.may, True, tuple(holders.pop(r.name, []))) for r in KNOWN_ROLES]
    views += [RoleView(name, "", "", False, tuple(people)) for name, people in sorted(holders.items())]
    return views


def _user(repos: Repositories, username: str) -> m.User:
    """The user of that name, or NotFoundError naming it."""
    user = repos.user_by_name(username)
    if user is None:
        raise NotFoundError(f"no user named {username}")
    return user
