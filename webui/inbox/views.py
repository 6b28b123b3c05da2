"""The inbox page and its htmx fragment: tabs, counts, filters, the task list, paging."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.domain.reminders import CATEGORIES
from engine.services import definitions, reminders, tasks, users
from webui import app_engine
from webui.auth import page_actor, safe_next, sign_in_required
from webui.inbox import bp
from webui.inbox.schemas import PAGE_SIZE, TABS, TIME_STATES, InboxArgs
from webui.tasks.names import label, process_name, step_name

FILTERS = ("tab", "state", "process", "unit", "q", "page")
REMINDERS_SHOWN = 8


@bp.post("/reminders/<int:reminder_id>/ack")
@sign_in_required
def acknowledge(reminder_id: int) -> ResponseReturnValue:
    """The person has seen a reminder: it leaves the panel (and its count)."""
    engine = app_engine()
    reminders.acknowledge(engine.uow(), reminder_id=reminder_id, actor=page_actor(), now=engine.now())
    return redirect(safe_next(request.form.get("next"), default=url_for("inbox.inbox")), 303)


@bp.get("/inbox")
@sign_in_required
def inbox() -> str:
    args = InboxArgs().load(request.args)
    actor, engine = page_actor(), app_engine()
    page = tasks.list_tasks(
        engine.uow(readonly=True),
        actor=actor,
        scope=args["scope"],
        state=args["task_state"],
        time_state=args["state"],
        process_key=args["process"],
        unit_code=args["unit"],
        search=args["q"],
        limit=PAGE_SIZE,
        offset=(args["page"] - 1) * PAGE_SIZE,
    )
    counts = tasks.inbox_counts(engine.uow(readonly=True), actor=actor)
    units = [u for u in users.list_units(engine.uow(readonly=True)) if actor.units is None or u.code in actor.units]
    processes = {d.key: process_name(d.key, d.name) for d in definitions.list_definitions(engine.uow(readonly=True))}
    reminder_counts = reminders.reminder_counts(engine.uow(readonly=True), actor=actor)
    open_reminders = reminders.list_reminders(engine.uow(readonly=True), actor=actor, limit=REMINDERS_SHOWN)
    filters = {k: args[k] for k in FILTERS if args.get(k) not in (None, "")}
    context: dict[str, Any] = {
        "args": args,
        "page": page,
        "rows": [_row(t, processes) for t in page.items],
        "counts": counts,
        "tabs": TABS,
        "time_states": TIME_STATES,
        "units": sorted(units, key=lambda u: u.code),
        "unit_names": {u.code: u.name for u in units},
        "processes": sorted(processes.items(), key=lambda kv: kv[1]),
        "pages": max(1, -(-page.total // PAGE_SIZE)),
        "link": lambda **changes: _link(filters, changes),
        "current_url": url_for("inbox.inbox", **filters),
        "reminders": [
            (label({"zh_CN": zh, "en": en}), reminder_counts.get(key, 0)) for key, (zh, en) in CATEGORIES.items()
        ],
        "open_reminders": open_reminders,
    }
    if request.headers.get("HX-Target") == "inbox" and not request.headers.get("HX-History-Restore-Request"):
        return render_template("inbox/_inbox.html", **context)
    return render_template("inbox/index.html", **context)


def _row(task: Any, processes: dict[str, str]) -> dict[str, Any]:
    return {
        "task": task,
        "step": step_name(task.name, task.bpmn_id),
        "process": processes.get(task.process_key) or process_name(task.process_key),
    }


def _link(filters: dict[str, Any], changes: dict[str, Any]) -> str:
    """The inbox URL with these filters changed; a new tab or filter starts again at page 1."""
    query = dict(filters)
    if "page" not in changes:
        query.pop("page", None)
    query.update(changes)
    query = {k: v for k, v in query.items() if v not in (None, "") and not (k == "page" and v == 1)}
    if query.get("tab") == "mine":
        query.pop("tab")
    return url_for("inbox.inbox", **query)
