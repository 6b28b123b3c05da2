"""Definitions: deploy BPMN/DMN files as immutable numbered versions, list them, read them back."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from engine.bpmn import catalog, timers
from engine.domain.errors import (
    InvalidProcessError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    ValidationError,
)
from engine.domain.forms import check_form_definition
from engine.domain.views import (
    Actor,
    DefinitionSummary,
    DefinitionView,
    DeployResult,
    ValidationReport,
    VersionSummary,
    VersionView,
)
from engine.persistence import models as m
from engine.persistence import queries
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history, recorders

DEPLOYER_ROLES = frozenset({"admin", "process_owner"})


def deploy_definition(
    uow: UnitOfWork,
    *,
    files: Sequence[tuple[str, bytes]],
    actor: Actor,
    now: dt.datetime,
    forms: Mapping[str, Any] | None = None,
    comment: str = "",
    max_bytes: int = 2_000_000,
) -> list[DeployResult]:
    """Validate and publish; same content as the latest version returns that version, changed content makes n+1."""
    if not actor.roles & DEPLOYER_ROLES:
        raise PermissionDeniedError("only process owners and admins may deploy diagrams")
    if not files:
        raise InvalidProcessError([Problem("no BPMN or DMN file was sent")])
    sources = [catalog.SourceFile(name, content) for name, content in files]
    with uow as repos:
        return _deploy(repos, sources, dict(forms or {}), actor=actor, now=now, comment=comment, max_bytes=max_bytes)


def _deploy(
    repos: Repositories,
    sources: Sequence[catalog.SourceFile],
    forms: Mapping[str, Any],
    *,
    actor: Actor,
    now: dt.datetime,
    comment: str,
    max_bytes: int,
) -> list[DeployResult]:
    compiled = _compile(repos, sources, forms, actor=actor, max_bytes=max_bytes)
    texts = {s.name: s.content.decode("utf-8") for s in sources}
    results = [
        _publish(repos, c, forms, source_xml=texts[c.source_name], actor=actor, now=now, comment=comment)
        for c in compiled
    ]
    for source in sources:
        if _is_dmn(source):
            _store_decision(repos, source, actor=actor, now=now)
    return results


def _compile(
    repos: Repositories,
    sources: Sequence[catalog.SourceFile],
    forms: Mapping[str, Any],
    *,
    actor: Actor,
    max_bytes: int,
) -> list[catalog.CompiledProcess]:
    """Every check of a deploy (forms, diagram, recorders); InvalidProcessError lists all problems found."""
    form_problems = [
        Problem(p, file=f"{name}.json") for name, f in forms.items() for p in check_form_definition(name, f)
    ]
    if form_problems:
        raise InvalidProcessError(form_problems)
    compiled = catalog.compile_definitions(
        sources, library=_library(repos), allow_scripts=actor.is_admin, max_bytes=max_bytes
    )
    unknown = [
        Problem(
            f"record {t.record!r} is not a recorder this engine has ({', '.join(sorted(recorders.RECORDERS))})",
            file=c.source_name,
            element_id=t.bpmn_id,
        )
        for c in compiled
        for t in c.human_tasks.values()
        if t.record and not recorders.known(t.record)
    ]
    if unknown:
        raise InvalidProcessError(unknown)
    return compiled


def _library(repos: Repositories) -> list[catalog.SourceFile]:
    versions = repos.latest_versions()
    seen: set[str] = set()
    library = []
    for v in versions:
        if v.source_name in seen:
            continue
        seen.add(v.source_name)
        library.append(catalog.SourceFile(v.source_name, v.source_xml.encode()))
    library += [catalog.SourceFile(d.name, d.content.encode()) for d in repos.latest_decision_files()]
    return library


def _is_dmn(source: catalog.SourceFile) -> bool:
    return source.name.lower().endswith(".dmn")


def _store_decision(repos: Repositories, source: catalog.SourceFile, *, actor: Actor, now: dt.datetime) -> None:
    digest = hashlib.sha256(source.content).hexdigest()
    latest = {d.name: d for d in repos.latest_decision_files()}.get(source.name)
    if latest is None or latest.content_hash != digest:
        repos.add(
            m.DecisionFile(
                name=source.name,
                content=source.content.decode(),
                content_hash=digest,
                created_by=actor.username,
                created_at=now,
            )
        )


def _publish(
    repos: Repositories,
    compiled: catalog.CompiledProcess,
    forms: Mapping[str, Any],
    *,
    source_xml: str,
    actor: Actor,
    now: dt.datetime,
    comment: str,
) -> DeployResult:
    used_forms = {t.form: forms[t.form] for t in compiled.human_tasks.values() if t.form and t.form in forms}
    forms_json = json.dumps(used_forms, sort_keys=True, ensure_ascii=False)
    content_hash = hashlib.sha256((compiled.content_hash + forms_json).encode()).hexdigest()
    latest = repos.latest_version(compiled.key)
    if latest is not None and latest.content_hash == content_hash:
        return DeployResult(compiled.key, latest.version, latest.id, is_new=False)
    row = m.DefinitionVersion(
        process_key=compiled.key,
        version=(latest.version + 1) if latest else 1,
        name=compiled.name,
        content_hash=content_hash,
        source_name=compiled.source_name,
        source_xml=source_xml,
        spec_json=compiled.spec_json,
        task_properties_json=json.dumps({k: asdict(v) for k, v in compiled.human_tasks.items()}, ensure_ascii=False),
        start_timer=compiled.start_timer,
        messages_json=json.dumps(list(compiled.messages)),
        forms_json=forms_json,
        has_scripts=compiled.has_scripts,
        comment=comment,
        created_by=actor.username,
        created_at=now,
    )
    repos.add(row)
    repos.flush()
    repos.cancel_start_timers(compiled.key)
    if compiled.start_timer:
        schedule = timers.first_start(compiled.start_timer, now=now)
        if schedule is not None:
            repos.add(
                m.Timer(
                    kind="start",
                    definition_version_id=row.id,
                    bpmn_id="start",
                    due_at=schedule.due_at,
                    repeats_left=schedule.repeats_left,
                    status="pending",
                )
            )
    history.record(
        repos,
        kind="definition_published",
        actor=actor.username,
        at=now,
        message=f"{compiled.key} version {row.version}",
        data={"key": compiled.key, "version": row.version, "comment": comment},
    )
    return DeployResult(compiled.key, row.version, row.id, is_new=True)


def list_definitions(uow: UnitOfWork) -> list[DefinitionView]:
    """Every definition with all its versions, newest version last."""
    with uow as repos:
        grouped: dict[str, list[VersionView]] = {}
        for row in repos.all_versions():
            grouped.setdefault(row.process_key, []).append(version_view(row))
    return [
        DefinitionView(key=key, name=versions[-1].name, latest_version=versions[-1].version, versions=tuple(versions))
        for key, versions in sorted(grouped.items())
    ]


def get_version(uow: UnitOfWork, *, key: str, version: int) -> VersionView:
    with uow as repos:
        return version_view(_version_row(repos, key, version))


def get_version_xml(uow: UnitOfWork, *, key: str, version: int) -> str:
    """The BPMN XML exactly as it was deployed."""
    with uow as repos:
        return _version_row(repos, key, version).source_xml


def _version_row(repos: Repositories, key: str, version: int) -> m.DefinitionVersion:
    row = repos.version(key, version)
    if row is None:
        raise NotFoundError(f"definition {key} has no version {version}")
    return row


def version_view(row: m.DefinitionVersion) -> VersionView:
    return VersionView(
        id=row.id,
        key=row.process_key,
        version=row.version,
        name=row.name,
        content_hash=row.content_hash,
        has_scripts=row.has_scripts,
        created_by=row.created_by,
        created_at=row.created_at,
        comment=row.comment,
        start_timer=row.start_timer,
    )


# -- the modeler -------------------------------------------------------------------------------------------------


def require_modeler(actor: Actor) -> None:
    """PermissionDeniedError unless the actor is a process owner or an admin."""
    if not actor.roles & DEPLOYER_ROLES:
        raise PermissionDeniedError("only process owners and admins may use the modeler")


def _diagram_source(repos: Repositories, xml: str, file_name: str | None) -> catalog.SourceFile:
    """The diagram as a deploy file; unnamed, it takes the file name its process was last published under."""
    if not xml.strip():
        raise ValidationError({"xml": ["the diagram is empty"]})
    content = xml.encode("utf-8")
    name = (file_name or "").strip().rsplit("/", 1)[-1]
    if not name.lower().endswith(".bpmn"):
        keys = catalog.process_ids(content)
        latest = repos.latest_version(keys[0]) if keys else None
        name = latest.source_name if latest is not None else f"{keys[0] if keys else 'diagram'}.bpmn"
    return catalog.SourceFile(name, content)


def _published_forms(repos: Repositories) -> dict[str, Any]:
    """Every form the latest versions carry: a diagram edited in the modeler keeps using the forms already deployed."""
    forms: dict[str, Any] = {}
    for row in repos.latest_versions():
        forms.update(json.loads(row.forms_json or "{}"))
    return forms


def validate_diagram(
    uow: UnitOfWork, *, xml: str, file_name: str | None = None, actor: Actor, max_bytes: int = 2_000_000
) -> ValidationReport:
    """Run every check of a deploy as this actor without storing anything; problems name element, line and message."""
    require_modeler(actor)
    with uow as repos:
        source = _diagram_source(repos, xml, file_name)
        forms = _published_forms(repos)
        try:
            compiled = _compile(repos, [source], {}, actor=actor, max_bytes=max_bytes)
        except InvalidProcessError as exc:
            return ValidationReport(problems=tuple(exc.problems), warnings=(), processes=())
    warnings = catalog.advise([source], compiled, known_forms=forms)
    return ValidationReport(problems=(), warnings=tuple(warnings), processes=tuple(c.key for c in compiled))


def publish_diagram(
    uow: UnitOfWork,
    *,
    xml: str,
    comment: str,
    actor: Actor,
    now: dt.datetime,
    file_name: str | None = None,
    draft_id: int | None = None,
    max_bytes: int = 2_000_000,
) -> list[DeployResult]:
    """Publish a diagram from the modeler as new versions (with the deployed forms); its draft, if any, goes away."""
    require_modeler(actor)
    if not comment.strip():
        raise ValidationError({"comment": ["say what changed in this version"]})
    with uow as repos:
        source = _diagram_source(repos, xml, file_name)
        draft = None
        if draft_id is not None:
            draft = repos.draft(draft_id)
            if draft is None or draft.owner != actor.username:
                raise NotFoundError(f"you have no draft {draft_id}")
        forms = _published_forms(repos)
        results = _deploy(repos, [source], forms, actor=actor, now=now, comment=comment.strip(), max_bytes=max_bytes)
        if draft is not None:
            repos.delete_draft(draft)
        return results


def definitions_overview(uow: UnitOfWork, *, actor: Actor) -> list[DefinitionSummary]:
    """Every definition with its versions (oldest first) and their running / completed instance counts."""
    require_modeler(actor)
    with uow as repos:
        counts = queries.version_instance_counts(repos.session)
        grouped: dict[str, list[VersionSummary]] = {}
        for row in repos.all_versions():
            by_status = counts.get(row.id, {})
            running, completed = by_status.get("running", 0), by_status.get("completed", 0)
            grouped.setdefault(row.process_key, []).append(
                VersionSummary(
                    version=version_view(row),
                    running=running,
                    completed=completed,
                    other=sum(by_status.values()) - running - completed,
                )
            )
    return [
        DefinitionSummary(
            key=key,
            name=versions[-1].version.name,
            latest_version=versions[-1].version.version,
            versions=tuple(versions),
        )
        for key, versions in sorted(grouped.items())
    ]
