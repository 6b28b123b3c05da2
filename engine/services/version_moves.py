"""Moving running instances from one version of a definition to a newer one: a dry run, then one transaction each.

An instance can move when every step it stands on (open human tasks, waiting timers and messages, running call
activities) exists in the target version under the same element id. Admins and process owners may move instances
(process owners within their units); every move is recorded in the instance's history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence

from engine.bpmn.runtime import ProcessRun
from engine.domain.access import may_see_unit
from engine.domain.errors import (
    ConcurrentUpdateError,
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from engine.domain.units import subtree
from engine.domain.views import Actor, MoveReport
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history
from engine.services.runs import load_run, save_run, version_bundle

MAY_MOVE = frozenset({"admin", "process_owner"})
LISTED_STATUSES = ("running", "error")  # what a filter lists by default: the instances that have not ended
STATUSES = ("running", "error", "completed", "cancelled")
MAX_INSTANCES = 500


def may_move(actor: Actor) -> bool:
    """Admins and process owners move instances between versions."""
    return bool(actor.roles & MAY_MOVE)


def move_instances(
    units: Callable[..., UnitOfWork],
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    now: dt.datetime,
    dry_run: bool = True,
    instance_ids: Sequence[str] | None = None,
    unit_code: str | None = None,
    topic_code: str | None = None,
    status: str | None = None,
    expected: dict[str, int] | None = None,
) -> list[MoveReport]:
    """Report (dry run) or move the selected instances; a real move is one transaction per instance.

    `units` hands out a fresh unit of work per call (Engine.uow). `expected` maps instance ids to the lock
    version a dry run showed: an instance changed since then is not moved and reports a conflict.
    """
    _check(actor, from_version=from_version, to_version=to_version, status=status)
    with units(readonly=True) as repos:
        source, target = _versions(repos, process_key, from_version, to_version)
        if instance_ids is not None:
            ids = list(dict.fromkeys(instance_ids))
        else:
            scope = None
            if unit_code is not None:
                scope = subtree(repos.unit_parents(), unit_code)
            if not actor.is_admin and actor.units is not None:
                scope = actor.units if scope is None else scope & actor.units
            ids = repos.instance_ids_on_version(
                source.id,
                statuses=(status,) if status else LISTED_STATUSES,
                unit_codes=sorted(scope) if scope is not None else None,
                topic_code=topic_code,
                limit=MAX_INSTANCES,
            )
        if dry_run:
            return [_plan(repos, instance_id, source, target, actor)[0] for instance_id in ids]
    reports = []
    for instance_id in ids:
        lock = (expected or {}).get(instance_id)
        try:
            reports.append(
                move_instance(
                    units(),
                    instance_id=instance_id,
                    process_key=process_key,
                    from_version=from_version,
                    to_version=to_version,
                    actor=actor,
                    now=now,
                    expected_lock=lock,
                )
            )
        except (ConflictError, NotFoundError) as exc:
            reports.append(_refusal(units, instance_id, source_version=from_version, to_version=to_version, exc=exc))
    return reports


def move_instance(
    uow: UnitOfWork,
    *,
    instance_id: str,
    to_version: int,
    actor: Actor,
    now: dt.datetime,
    process_key: str | None = None,
    from_version: int | None = None,
    expected_lock: int | None = None,
    dry_run: bool = False,
) -> MoveReport:
    """Move one instance (or report whether it could): 409 when it cannot, or when it changed since `expected_lock`.

    Without `process_key` and `from_version` the instance moves from the version it runs on.
    """
    if not may_move(actor):
        raise PermissionDeniedError("only admins and process owners may move instances between versions")
    with uow as repos:
        found = repos.instance(instance_id)
        if found is None or not (actor.is_admin or may_see_unit(actor, found.unit_code)):
            raise NotFoundError(f"no instance {instance_id}")
        if from_version is None:
            current = repos.version_by_id(found.definition_version_id)
            from_version = current.version if current else 0
        process_key = process_key or found.process_key
        _check(actor, from_version=from_version, to_version=to_version, status=None)
        source, target = _versions(repos, process_key, from_version, to_version)
        report, run = _plan(repos, instance_id, source, target, actor)
        if expected_lock is not None and expected_lock != report.lock:
            raise ConcurrentUpdateError(
                "the instance changed since the dry run; run the dry run again",
                {"instance_id": instance_id, "expected": expected_lock, "found": report.lock},
            )
        if report.result != "movable" or run is None:
            reasons = "; ".join(r["message"] for r in report.reasons)
            raise InvalidStateError(f"the instance cannot move: {reasons}", {"reasons": list(report.reasons)})
        if dry_run:
            return report
        instance = repos.instance(instance_id)
        assert instance is not None  # _plan found it
        moved = run.moved_to(version_bundle(target), now=now)
        instance.definition_version_id = target.id
        repos.flush()  # the optimistic lock first: a change made since the read is a 409 before anything else
        history.record(
            repos,
            kind="version_moved",
            at=now,
            actor=actor.username,
            instance_id=instance.id,
            message=f"version {source.version} → {target.version}",
            data={"from_version": source.version, "to_version": target.version, "open_steps": report.open_steps},
        )
        moved.advance(now=now)  # a step the target version made ready runs now, as after any other change
        open_rows = save_run(repos, instance, moved, target, actor=actor.username, now=now)
        _follow_target(repos, instance, moved, target, open_rows)
        return _report(instance, source.version, target, moved, "moved", ())


def _check(actor: Actor, *, from_version: int, to_version: int, status: str | None) -> None:
    if not may_move(actor):
        raise PermissionDeniedError("only admins and process owners may move instances between versions")
    problems: dict[str, list[str]] = {}
    if to_version <= from_version:
        problems["to_version"] = ["must be newer than from_version"]
    if status is not None and status not in STATUSES:
        problems["status"] = [f"must be one of {', '.join(STATUSES)}"]
    if problems:
        raise ValidationError(problems)


def _versions(
    repos: Repositories, process_key: str, from_version: int, to_version: int
) -> tuple[m.DefinitionVersion, m.DefinitionVersion]:
    source = repos.version(process_key, from_version)
    target = repos.version(process_key, to_version)
    if source is None or target is None:
        missing = "from_version" if source is None else "to_version"
        which = from_version if source is None else to_version
        raise NotFoundError(f"no version {which} of {process_key}", {"fields": {missing: ["not deployed"]}})
    return source, target


def _plan(
    repos: Repositories, instance_id: str, source: m.DefinitionVersion, target: m.DefinitionVersion, actor: Actor
) -> tuple[MoveReport, ProcessRun | None]:
    """The dry-run line of one instance, and its loaded run when it can move."""
    instance = repos.instance(instance_id)
    if instance is None or not (actor.is_admin or may_see_unit(actor, instance.unit_code)):
        reason = {"code": "not_found", "element_id": None, "message": f"no instance {instance_id}"}
        empty = MoveReport(instance_id, None, None, "unknown", source.version, target.version, (), "refused", (reason,))
        return empty, None
    if instance.definition_version_id != source.id:
        current = repos.version_by_id(instance.definition_version_id)
        label = f"{current.process_key} version {current.version}" if current else "another version"
        why = _reason("other_version", None, f"the instance runs {label}, not version {source.version}")
        return _report(instance, source.version, target, None, "refused", (why,)), None
    if instance.status != "running":
        advice = "; retry or cancel it first" if instance.status == "error" else ""
        why = _reason("not_running", None, f"the instance is {instance.status}{advice}")
        run = load_run(repos, instance)[0] if instance.status == "error" else None
        return _report(instance, source.version, target, run, "refused", (why,)), None
    run = load_run(repos, instance)[0]
    reasons = tuple(
        _reason(o.code, o.element_id, f"{o.message} in version {target.version}")
        if o.code.endswith("_missing")
        else _reason(o.code, o.element_id, o.message)
        for o in run.move_obstacles(version_bundle(target))
    )
    result = "refused" if reasons else "movable"
    return _report(instance, source.version, target, run, result, reasons), (None if reasons else run)


def _reason(code: str, element_id: str | None, message: str) -> dict[str, str | None]:
    return {"code": code, "element_id": element_id, "message": message}


def _report(
    instance: m.ProcessInstance,
    from_version: int,
    target: m.DefinitionVersion,
    run: ProcessRun | None,
    result: str,
    reasons: tuple[dict[str, str | None], ...],
) -> MoveReport:
    steps = tuple(e.bpmn_id for e in run.element_states() if e.state != "completed") if run is not None else ()
    return MoveReport(
        instance_id=instance.id,
        business_key=instance.business_key,
        unit=instance.unit_code,
        status=instance.status,
        from_version=from_version,
        to_version=target.version,
        open_steps=steps,
        result=result,
        reasons=reasons,
        lock=instance.version,
    )


def _refusal(
    units: Callable[..., UnitOfWork],
    instance_id: str,
    *,
    source_version: int,
    to_version: int,
    exc: ConflictError | NotFoundError,
) -> MoveReport:
    """The report line of an instance a real move refused (re-read after its transaction rolled back)."""
    code = "changed" if isinstance(exc, ConcurrentUpdateError) else "refused"
    reasons = tuple(exc.details.get("reasons") or [_reason(code, None, exc.message)])
    with units(readonly=True) as repos:
        instance = repos.instance(instance_id)
        if instance is None:
            return MoveReport(instance_id, None, None, "unknown", source_version, to_version, (), "refused", reasons)
        return MoveReport(
            instance_id=instance.id,
            business_key=instance.business_key,
            unit=instance.unit_code,
            status=instance.status,
            from_version=source_version,
            to_version=to_version,
            open_steps=(),
            result="conflict" if code == "changed" else "refused",
            reasons=reasons,
            lock=instance.version,
        )


def _follow_target(
    repos: Repositories,
    instance: m.ProcessInstance,
    run: ProcessRun,
    target: m.DefinitionVersion,
    open_rows: list[m.HumanTask],
) -> None:
    """Open tasks keep their ids, people and deadlines, and take the target version's name, lane and form."""
    properties = json.loads(target.task_properties_json)
    names = {t.id: t for t in run.open_tasks()}
    for row in open_rows:
        props = properties.get(row.bpmn_id, {})
        spec = names.get(row.id)
        if spec is not None:
            row.name = spec.name
            row.lane = props.get("lane") or spec.lane
        row.form_key = props.get("form")
    if target.messages_json == "[]":
        repos.replace_message_waits(instance, [])  # save_run leaves waits alone for versions without messages
