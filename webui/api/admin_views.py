"""API routes of administration: users, unit rename and move, roles, API tokens and the admin audit log."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from engine.domain.views import HistoryView, RoleView, TokenView, UserView
from engine.services import audit_log, users
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.loop_views import unit_json
from webui.api.serialize import page_json, plain
from webui.auth import current_actor, login_required


def user_json(u: UserView) -> dict[str, Any]:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "email": u.email,
        "unit": u.unit_code,
        "roles": list(u.roles),
        "is_active": u.is_active,
        "created_at": u.created_at.isoformat() if u.created_at else None,
    }


def token_json(t: TokenView) -> dict[str, Any]:
    return plain(t)


def role_json(r: RoleView) -> dict[str, Any]:
    return plain(r)


def change_json(e: HistoryView) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "who": e.actor,
        "kind": e.kind,
        "object": e.subject,
        "message": e.message,
        "before": (e.data or {}).get("before"),
        "after": (e.data or {}).get("after"),
    }


@bp.get("/users")
@login_required
def list_users() -> dict[str, Any]:
    args = schemas.UserListArgs().load(request.args)
    page = users.list_users(
        app_engine().uow(readonly=True),
        actor=current_actor(),
        q=args["q"],
        unit_code=args["unit"],
        role=args["role"],
        is_active=args["active"],
        limit=args["limit"],
        offset=args["offset"],
    )
    return page_json(page, user_json)


@bp.post("/users")
@login_required
def create_user() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.NewUserSchema())
    view = users.add_user(
        engine.uow(),
        username=args["username"],
        display_name=args["display_name"],
        email=args["email"],
        unit_code=args["unit"],
        roles=args["roles"],
        password=args["password"],
        actor=current_actor(),
        now=engine.now(),
    )
    return user_json(view), 201


@bp.get("/users/<username>")
@login_required
def get_user(username: str) -> dict[str, Any]:
    return user_json(users.get_user(app_engine().uow(readonly=True), username=username, actor=current_actor()))


@bp.patch("/users/<username>")
@login_required
def change_user(username: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.UserChangeSchema())
    changes: dict[str, Any] = {k: args[k] for k in ("display_name", "email", "roles") if k in args}
    if "unit" in args:
        changes["unit_code"] = args["unit"]
    view = users.update_user(engine.uow(), username=username, actor=current_actor(), now=engine.now(), **changes)
    return user_json(view)


@bp.post("/users/<username>/password")
@login_required
def reset_password(username: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.PasswordSchema())
    view = users.reset_password(
        engine.uow(), username=username, password=args["password"], actor=current_actor(), now=engine.now()
    )
    return user_json(view)


@bp.post("/users/<username>/deactivate")
@login_required
def deactivate_user(username: str) -> dict[str, Any]:
    engine = app_engine()
    return user_json(users.deactivate_user(engine.uow(), username=username, actor=current_actor(), now=engine.now()))


@bp.post("/users/<username>/reactivate")
@login_required
def reactivate_user(username: str) -> dict[str, Any]:
    engine = app_engine()
    return user_json(users.reactivate_user(engine.uow(), username=username, actor=current_actor(), now=engine.now()))


@bp.post("/units/<code>/rename")
@login_required
def rename_unit(code: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.UnitNameSchema())
    view = users.rename_unit(engine.uow(), code=code, name=args["name"], actor=current_actor(), now=engine.now())
    return unit_json(view)


@bp.post("/units/<code>/move")
@login_required
def move_unit(code: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.UnitMoveSchema())
    view = users.move_unit(engine.uow(), code=code, parent_code=args["parent"], actor=current_actor(), now=engine.now())
    return unit_json(view)


@bp.get("/roles")
@login_required
def list_roles() -> Response:
    return jsonify([role_json(r) for r in users.list_roles(app_engine().uow(readonly=True), actor=current_actor())])


@bp.get("/tokens")
@login_required
def list_tokens() -> Response:
    views = users.list_tokens(
        app_engine().uow(readonly=True), actor=current_actor(), username=request.args.get("user") or None
    )
    return jsonify([token_json(t) for t in views])


@bp.post("/tokens")
@login_required
def create_token() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    args = json_body(schemas.NewTokenSchema())
    secret = users.create_token(
        engine.uow(), username=args["username"], name=args["name"], actor=current_actor(), now=engine.now()
    )
    return {"username": args["username"], "name": args["name"], "token": secret}, 201


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> dict[str, Any]:
    engine = app_engine()
    return token_json(users.revoke_token(engine.uow(), token_id=token_id, actor=current_actor(), now=engine.now()))


@bp.get("/audit-log")
@login_required
def read_audit_log() -> dict[str, Any]:
    engine = app_engine()
    args = schemas.AuditLogArgs().load(request.args)
    since, until = audit_log.day_bounds(args["since"], args["until"], engine.settings.timezone)
    page = audit_log.list_admin_changes(
        engine.uow(readonly=True),
        actor=current_actor(),
        who=args["who"],
        kind=args["kind"],
        subject=args["object"],
        since=since,
        until=until,
        limit=args["limit"],
        offset=args["offset"],
    )
    return page_json(page, change_json)
