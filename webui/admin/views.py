"""Admin pages: every route is for admins only (checked before any view runs, and again by the services)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from werkzeug.wrappers import Response

from engine.domain.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from engine.domain.roles import KNOWN_ROLE_NAMES
from engine.domain.views import UnitView
from engine.services import audit_log, deadlines, topics, users
from webui import app_engine
from webui.admin import bp
from webui.admin.messages import admin_field_messages, admin_message, change_kind_label, role_may
from webui.auth import page_actor, signed_in_user

T = TypeVar("T")
PAGE_SIZE = 50
Errors = dict[str, list[str]]


@bp.before_request
def admins_only() -> ResponseReturnValue | None:
    """Every admin page: visitors go to sign in, signed-in people who are not admins get 403."""
    user = signed_in_user()
    if user is None:
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            return Response("", 401, headers={"HX-Redirect": target})
        return redirect(target)
    if not user.is_admin:
        raise PermissionDeniedError("only admins may use the admin pages")
    return None


class _Form(Schema):
    class Meta:
        unknown = EXCLUDE


def _attempt(call: Callable[[], T]) -> tuple[T | None, Errors, int]:
    """Run one service call for a form: its result, or the refusal as messages per field (nothing was saved)."""
    try:
        return call(), {}, 200
    except ValidationError as refusal:
        return None, admin_field_messages(refusal.fields), 422
    except SchemaError as refusal:
        return None, admin_field_messages(refusal.normalized_messages()), 422  # type: ignore[no-untyped-call]
    except ConflictError as refusal:
        named = refusal.details.get("fields")
        return None, admin_field_messages(named) if named else {"_": [admin_message(refusal.message)]}, 409


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


def _units() -> list[UnitView]:
    return users.list_units(app_engine().uow(readonly=True))


def _tree(units: list[UnitView]) -> list[tuple[UnitView, int]]:
    """Units in tree order (parents first, children by code) with their depth."""
    children: dict[str | None, list[UnitView]] = {}
    codes = {u.code for u in units}
    for u in sorted(units, key=lambda x: x.code):
        children.setdefault(u.parent_code if u.parent_code in codes else None, []).append(u)
    out: list[tuple[UnitView, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for u in children.get(parent, []):
            out.append((u, depth))
            walk(u.code, depth + 1)

    walk(None, 0)
    return out


def _roles_from_form() -> list[str]:
    chosen = [r for r in request.form.getlist("roles") if r]
    others = [r for r in re.split(r"[,，\s]+", request.form.get("other_roles", "")) if r]
    return sorted(set(chosen + others))


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@bp.app_context_processor
def _admin_helpers() -> dict[str, Any]:
    return {"role_may": role_may, "change_kind_label": change_kind_label}


@bp.get("/")
def home() -> Response:
    return redirect(url_for("admin.user_list"))


# -- users -------------------------------------------------------------------------------------------------


class UserFilter(_Form):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    unit = fields.String(load_default="")
    role = fields.String(load_default="")
    state = fields.String(load_default="", validate=validate.OneOf(["", "active", "inactive"]))


@bp.get("/users")
def user_list() -> str:
    args = UserFilter().load(request.args)
    page_no = _page_number()
    page = users.list_users(
        app_engine().uow(readonly=True),
        actor=page_actor(),
        q=args["q"].strip() or None,
        unit_code=args["unit"] or None,
        role=args["role"] or None,
        is_active={"active": True, "inactive": False}.get(args["state"]),
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    units = {u.code: u for u in _units()}
    return render_template(
        "admin/users.html", page=page, args=args, page_no=page_no, units=units, tree=_tree(list(units.values()))
    )


def _user_form(values: dict[str, Any], errors: Errors, status: int = 200, *, user: Any = None) -> tuple[str, int]:
    return render_template(
        "admin/user_form.html",
        values=values,
        errors=errors,
        user=user,
        tree=_tree(_units()),
        known_roles=sorted(KNOWN_ROLE_NAMES),
    ), status


@bp.get("/users/new")
def user_new() -> tuple[str, int]:
    return _user_form({"roles": [], "unit": request.args.get("unit", "")}, {})


@bp.post("/users")
def user_create() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    roles = _roles_from_form()
    values: dict[str, Any] = {
        "username": request.form.get("username", "").strip(),
        "display_name": request.form.get("display_name", "").strip(),
        "email": request.form.get("email", "").strip(),
        "unit": request.form.get("unit", ""),
        "roles": roles,
        "other_roles": request.form.get("other_roles", ""),
    }
    password = request.form.get("password", "")
    # Every field's problem at once: the service's checks, and the two that only the page has.
    errors = admin_field_messages(
        users.new_user_problems(
            username=values["username"],
            roles=roles,
            email=_blank(values["email"]),
            display_name=values["display_name"],
            password=password or None,
        )
    )
    if not password:
        errors["password"] = [_("Give an initial password (at least 8 characters).")]
    if password != request.form.get("password_again", ""):
        errors["password_again"] = [_("The two passwords differ.")]
    if errors:
        return _user_form(values, errors, 422)
    made, errors, status = _attempt(
        lambda: users.add_user(
            engine.uow(),
            username=values["username"],
            display_name=values["display_name"],
            email=_blank(values["email"]),
            unit_code=_blank(values["unit"]),
            roles=roles,
            password=password,
            actor=actor,
            now=engine.now(),
        )
    )
    if made is None:
        return _user_form(values, errors, status)
    flash(_("User %(name)s created.", name=made.username), "success")
    return redirect(url_for("admin.user_detail", username=made.username), 303)


def _user_page(
    username: str, values: dict[str, Any] | None = None, errors: Errors | None = None, status: int = 200
) -> tuple[str, int]:
    engine, actor = app_engine(), page_actor()
    user = users.get_user(engine.uow(readonly=True), username=username, actor=actor)
    if values is None:
        values = {
            "display_name": user.display_name,
            "email": user.email or "",
            "unit": user.unit_code or "",
            "roles": list(user.roles),
            "other_roles": " ".join(r for r in user.roles if r not in KNOWN_ROLE_NAMES),
        }
    tokens = users.list_tokens(engine.uow(readonly=True), actor=actor, username=username)
    changes = audit_log.list_admin_changes(engine.uow(readonly=True), actor=actor, subject=f"user:{username}", limit=10)
    return render_template(
        "admin/user.html",
        user=user,
        values=values,
        errors=errors or {},
        tree=_tree(_units()),
        known_roles=sorted(KNOWN_ROLE_NAMES),
        tokens=tokens,
        changes=changes,
    ), status


@bp.get("/users/<username>")
def user_detail(username: str) -> ResponseReturnValue:
    return _user_page(username)


@bp.post("/users/<username>")
def user_update(username: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    roles = _roles_from_form()
    values: dict[str, Any] = {
        "display_name": request.form.get("display_name", "").strip(),
        "email": request.form.get("email", "").strip(),
        "unit": request.form.get("unit", ""),
        "roles": roles,
        "other_roles": request.form.get("other_roles", ""),
    }
    done, errors, status = _attempt(
        lambda: users.update_user(
            engine.uow(),
            username=username,
            display_name=values["display_name"],
            email=_blank(values["email"]),
            unit_code=_blank(values["unit"]),
            roles=roles,
            actor=actor,
            now=engine.now(),
        )
    )
    if done is None:
        return _user_page(username, values, errors, status)
    flash(_("Saved the changes to %(name)s.", name=username), "success")
    return redirect(url_for("admin.user_detail", username=username), 303)


@bp.post("/users/<username>/password")
def user_password(username: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        return _user_page(username, None, {"password_again": [_("The two passwords differ.")]}, 422)
    done, errors, status = _attempt(
        lambda: users.reset_password(engine.uow(), username=username, password=password, actor=actor, now=engine.now())
    )
    if done is None:
        return _user_page(username, None, errors, status)
    flash(_("New password set for %(name)s.", name=username), "success")
    return redirect(url_for("admin.user_detail", username=username), 303)


@bp.post("/users/<username>/deactivate")
def user_deactivate(username: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    done, errors, status = _attempt(
        lambda: users.deactivate_user(engine.uow(), username=username, actor=actor, now=engine.now())
    )
    if done is None:
        return _user_page(username, None, {"state": [m for ms in errors.values() for m in ms]}, status)
    flash(_("%(name)s is deactivated: no sign-in, no API tokens.", name=username), "success")
    return redirect(url_for("admin.user_detail", username=username), 303)


@bp.post("/users/<username>/reactivate")
def user_reactivate(username: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    done, errors, status = _attempt(
        lambda: users.reactivate_user(engine.uow(), username=username, actor=actor, now=engine.now())
    )
    if done is None:
        return _user_page(username, None, {"state": [m for ms in errors.values() for m in ms]}, status)
    flash(_("%(name)s is active again.", name=username), "success")
    return redirect(url_for("admin.user_detail", username=username), 303)


# -- units -------------------------------------------------------------------------------------------------


def _units_page(
    values: dict[str, Any] | None = None, errors: Errors | None = None, status: int = 200
) -> tuple[str, int]:
    units = _units()
    return render_template("admin/units.html", tree=_tree(units), values=values or {}, errors=errors or {}), status


@bp.get("/units")
def unit_list() -> ResponseReturnValue:
    return _units_page({"parent": request.args.get("parent", "")})


@bp.post("/units")
def unit_create() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    values = {k: request.form.get(k, "").strip() for k in ("code", "name", "parent")}
    made, errors, status = _attempt(
        lambda: users.add_unit(
            engine.uow(),
            code=values["code"],
            name=values["name"],
            parent_code=values["parent"] or None,
            actor=actor,
            now=engine.now(),
        )
    )
    if made is None:
        return _units_page(values, errors, status)
    flash(_("Unit %(code)s created.", code=made.code), "success")
    return redirect(url_for("admin.unit_detail", code=made.code), 303)


def _unit_page(
    code: str, values: dict[str, Any] | None = None, errors: Errors | None = None, status: int = 200
) -> tuple[str, int]:
    engine, actor = app_engine(), page_actor()
    units = _units()
    unit = next((u for u in units if u.code == code), None)
    if unit is None:
        raise NotFoundError(f"no unit {code}")
    members = users.list_users(engine.uow(readonly=True), actor=actor, unit_code=code, limit=500)
    by_code = {u.code: u for u in units}
    trail: list[UnitView] = []
    parent = unit.parent_code
    while parent is not None and parent in by_code and len(trail) < len(units):
        trail.insert(0, by_code[parent])
        parent = by_code[parent].parent_code
    return render_template(
        "admin/unit.html",
        unit=unit,
        trail=trail,
        children=[u for u in units if u.parent_code == code],
        members=members,
        tree=_tree(units),
        values=values or {"name": unit.name, "parent": unit.parent_code or ""},
        errors=errors or {},
    ), status


@bp.get("/units/<code>")
def unit_detail(code: str) -> ResponseReturnValue:
    return _unit_page(code)


@bp.post("/units/<code>/rename")
def unit_rename(code: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    name = request.form.get("name", "").strip()
    done, errors, status = _attempt(
        lambda: users.rename_unit(engine.uow(), code=code, name=name, actor=actor, now=engine.now())
    )
    if done is None:
        return _unit_page(code, {"name": name, "parent": request.form.get("parent", "")}, errors, status)
    flash(_("Unit %(code)s renamed.", code=code), "success")
    return redirect(url_for("admin.unit_detail", code=code), 303)


@bp.post("/units/<code>/move")
def unit_move(code: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    parent = request.form.get("parent", "").strip() or None
    done, errors, status = _attempt(
        lambda: users.move_unit(engine.uow(), code=code, parent_code=parent, actor=actor, now=engine.now())
    )
    if done is None:
        return _unit_page(code, {"name": request.form.get("name", ""), "parent": parent or ""}, errors, status)
    flash(_("Unit %(code)s moved.", code=code), "success")
    return redirect(url_for("admin.unit_detail", code=code), 303)


# -- roles -------------------------------------------------------------------------------------------------


@bp.get("/roles")
def role_list() -> str:
    return render_template(
        "admin/roles.html", roles=users.list_roles(app_engine().uow(readonly=True), actor=page_actor())
    )


# -- API tokens --------------------------------------------------------------------------------------------


def _tokens_page(
    values: dict[str, Any] | None = None, errors: Errors | None = None, status: int = 200, secret: str | None = None
) -> tuple[str, int]:
    engine, actor = app_engine(), page_actor()
    return render_template(
        "admin/tokens.html",
        tokens=users.list_tokens(engine.uow(readonly=True), actor=actor),
        people=users.list_users(engine.uow(readonly=True), actor=actor, is_active=True, limit=500).items,
        values=values or {"username": request.args.get("user", "")},
        errors=errors or {},
        secret=secret,
    ), status


@bp.get("/tokens")
def token_list() -> ResponseReturnValue:
    return _tokens_page()


@bp.post("/tokens")
def token_create() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    values = {"username": request.form.get("username", "").strip(), "name": request.form.get("name", "").strip()}
    secret, errors, status = _attempt(
        lambda: users.create_token(
            engine.uow(), username=values["username"], name=values["name"], actor=actor, now=engine.now()
        )
    )
    if secret is None:
        return _tokens_page(values, errors, status)
    # Shown in this answer only (never flashed into the session): only its hash is stored.
    return _tokens_page({"username": values["username"]}, secret=secret)


@bp.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    done, errors, status = _attempt(
        lambda: users.revoke_token(engine.uow(), token_id=token_id, actor=actor, now=engine.now())
    )
    if done is None:
        return _tokens_page(None, errors, status)
    flash(_("Token %(id)s revoked: it no longer works.", id=token_id), "success")
    return redirect(url_for("admin.token_list"), 303)


# -- time limits and the calendar --------------------------------------------------------------------------


class RuleForm(_Form):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    step = fields.String(required=True, validate=validate.Length(min=1, max=200))
    limit_value = fields.Float(required=True)
    limit_unit = fields.String(required=True)
    yellow_share = fields.Float(load_default=None, allow_none=True)
    yellow_left_minutes = fields.Float(load_default=None, allow_none=True)
    restart_on_sendback = fields.Boolean(load_default=False)


class OverrideForm(_Form):
    day = fields.Date(required=True)
    is_workday = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))


def _form_data(names: tuple[str, ...]) -> dict[str, str]:
    """Posted fields, empty ones left out (so optional numbers stay unset)."""
    return {k: request.form[k].strip() for k in names if request.form.get(k, "").strip()}


def _time_limits_page(
    rule_values: dict[str, Any] | None = None,
    rule_errors: Errors | None = None,
    day_values: dict[str, Any] | None = None,
    day_errors: Errors | None = None,
    status: int = 200,
) -> tuple[str, int]:
    engine = app_engine()
    return render_template(
        "admin/time_limits.html",
        rules=deadlines.list_rules(engine.uow(readonly=True)),
        calendar=deadlines.list_overrides(engine.uow(readonly=True)),
        warnings=deadlines.calendar_warnings(engine.uow(readonly=True), now=engine.now()),
        limit_units=deadlines.LIMIT_UNITS,
        rule_values=rule_values or {"restart_on_sendback": "true", "limit_unit": "working_days"},
        rule_errors=rule_errors or {},
        day_values=day_values or {},
        day_errors=day_errors or {},
    ), status


@bp.get("/time-limits")
def time_limits() -> ResponseReturnValue:
    return _time_limits_page()


@bp.post("/time-limits/rules")
def rule_set() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    names = ("process_key", "step", "limit_value", "limit_unit", "yellow_share", "yellow_left_minutes")
    raw = _form_data(names)
    raw["restart_on_sendback"] = "true" if request.form.get("restart_on_sendback") else "false"

    def save() -> dict[str, Any]:
        args = RuleForm().load(raw)
        return deadlines.put_rule(engine.uow(), actor=actor, now=engine.now(), **args)

    done, errors, status = _attempt(save)
    if done is None:
        return _time_limits_page(rule_values=raw, rule_errors=errors, status=status)
    flash(_("Time limit of %(step)s saved.", step=f"{done['process_key']}/{done['step']}"), "success")
    return redirect(url_for("admin.time_limits"), 303)


@bp.post("/time-limits/calendar")
def override_set() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    raw = _form_data(("day", "is_workday", "note"))

    def save() -> dict[str, Any]:
        args = OverrideForm().load(raw)
        return deadlines.set_override(engine.uow(), actor=actor, now=engine.now(), **args)

    done, errors, status = _attempt(save)
    if done is None:
        return _time_limits_page(day_values=raw, day_errors=errors, status=status)
    flash(_("Calendar day %(day)s saved.", day=done["day"]), "success")
    return redirect(url_for("admin.time_limits"), 303)


# -- audit topics ------------------------------------------------------------------------------------------


class TopicForm(_Form):
    code = fields.String(load_default="")
    name = fields.String(load_default="")
    business_area = fields.String(load_default="")
    criteria = fields.String(load_default="", validate=validate.Length(max=5000))
    data_source = fields.String(load_default="", validate=validate.Length(max=500))
    argument = fields.String(load_default="", validate=validate.Length(max=5000))
    effective_date = fields.Date(load_default=None, allow_none=True)


def _topics_page(errors: Errors | None = None, status: int = 200) -> tuple[str, int]:
    catalog: dict[str, list[Any]] = {}
    for t in topics.list_topics(app_engine().uow(readonly=True)):
        catalog.setdefault(t.code, []).append(t)
    return render_template("admin/topics.html", catalog=catalog, errors=errors or {}), status


@bp.get("/topics")
def topic_list() -> ResponseReturnValue:
    return _topics_page()


def _topic_form(values: dict[str, Any], errors: Errors, status: int = 200) -> tuple[str, int]:
    return render_template(
        "admin/topic_form.html", values=values, errors=errors, areas=topics.BUSINESS_AREAS, tree=_tree(_units())
    ), status


@bp.get("/topics/new")
def topic_new() -> tuple[str, int]:
    return _topic_form({"scope": []}, {})


@bp.post("/topics")
def topic_create() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    raw = _form_data(("code", "name", "business_area", "criteria", "data_source", "argument", "effective_date"))
    scope = [u for u in request.form.getlist("scope") if u]

    def save() -> Any:
        args = TopicForm().load(raw)
        return topics.create_topic(engine.uow(), actor=actor, now=engine.now(), scope=scope, **args)

    made, errors, status = _attempt(save)
    if made is None:
        return _topic_form({**raw, "scope": scope}, errors, status)
    flash(_("Topic %(code)s drafted; its approval has started in your inbox.", code=made.code), "success")
    return redirect(url_for("admin.topic_list"), 303)


@bp.post("/topics/<code>/revise")
def topic_revise(code: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    made = topics.revise_topic(engine.uow(), code=code, actor=actor, now=engine.now())
    flash(
        _("Version %(version)s of %(code)s drafted; its approval has started.", version=made.version, code=code),
        "success",
    )
    return redirect(url_for("admin.topic_list"), 303)


@bp.post("/topics/<code>/retire")
def topic_retire(code: str) -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    reason = request.form.get("reason", "").strip()
    done, errors, status = _attempt(
        lambda: topics.retire_topic(engine.uow(), code=code, reason=reason, actor=actor, now=engine.now())
    )
    if done is None:
        return _topics_page(
            {f"reason-{code}": errors.get("reason") or [m for ms in errors.values() for m in ms]}, status
        )
    flash(_("Topic %(code)s retired.", code=code), "success")
    return redirect(url_for("admin.topic_list"), 303)


# -- the audit log -----------------------------------------------------------------------------------------


class AuditFilter(_Form):
    who = fields.String(load_default="", validate=validate.Length(max=80))
    kind = fields.String(load_default="", validate=validate.Length(max=40))
    object = fields.String(load_default="", validate=validate.Length(max=200))
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)


@bp.get("/audit-log")
def audit() -> ResponseReturnValue:
    engine, actor = app_engine(), page_actor()
    raw = {k: v for k, v in request.args.items() if k in ("who", "kind", "object", "since", "until") and v.strip()}
    page_no = _page_number()

    def read() -> Any:
        args = AuditFilter().load(raw)
        since, until = audit_log.day_bounds(args["since"], args["until"], engine.settings.timezone)
        return audit_log.list_admin_changes(
            engine.uow(readonly=True),
            actor=actor,
            who=args["who"].strip() or None,
            kind=args["kind"] or None,
            subject=args["object"].strip() or None,
            since=since,
            until=until,
            limit=PAGE_SIZE,
            offset=(page_no - 1) * PAGE_SIZE,
        )

    page, errors, status = _attempt(read)
    return render_template(
        "admin/audit_log.html", page=page, args=raw, errors=errors, kinds=audit_log.KINDS, page_no=page_no
    ), status
