"""Definitions: deploy BPMN/DMN files as immutable numbered versions, list them, read them back."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from engine.bpmn import catalog, timers
from engine.domain.errors import InvalidProcessError, NotFoundError, PermissionDeniedError, Problem
from engine.domain.forms import check_form_definition
from engine.domain.views import Actor, DefinitionView, DeployResult, VersionView
from engine.persistence import models as m
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
    forms = dict(forms or {})
    form_problems = [
        Problem(p, file=f"{name}.json") for name, f in forms.items() for p in check_form_definition(name, f)
    ]
    if form_problems:
        raise InvalidProcessError(form_problems)
    sources = [catalog.SourceFile(name, content) for name, content in files]
    with uow as repos:
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
        texts = {s.name: s.content.decode("utf-8") for s in sources}
        results = [
            _publish(repos, c, forms, source_xml=texts[c.source_name], actor=actor, now=now, comment=comment)
            for c in compiled
        ]
        for source in sources:
            if _is_dmn(source):
                _store_decision(repos, source, actor=actor, now=now)
        return results


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
