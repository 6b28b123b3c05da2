"""Modeler drafts: a process owner saves, lists, resumes and discards unpublished diagrams (their own only)."""

from __future__ import annotations

import datetime as dt

from engine.domain.errors import NotFoundError, ValidationError
from engine.domain.views import Actor, DraftView
from engine.persistence import models as m
from engine.persistence.repositories import Repositories
from engine.persistence.unit_of_work import UnitOfWork
from engine.services import history
from engine.services.definitions import require_modeler

MAX_DRAFTS = 50


def save_draft(
    uow: UnitOfWork,
    *,
    xml: str,
    name: str,
    actor: Actor,
    now: dt.datetime,
    draft_id: int | None = None,
    process_key: str | None = None,
    base_version: int | None = None,
    source_name: str | None = None,
    max_bytes: int = 2_000_000,
) -> DraftView:
    """Create a draft, or overwrite one of the actor's own; a draft is never checked (it may be half done)."""
    require_modeler(actor)
    errors: dict[str, list[str]] = {}
    if not xml.strip():
        errors["xml"] = ["the diagram is empty"]
    elif len(xml.encode("utf-8")) > max_bytes:
        errors["xml"] = [f"the diagram is larger than {max_bytes:,} bytes"]
    if not name.strip():
        errors["name"] = ["give the draft a name"]
    if errors:
        raise ValidationError(errors)
    with uow as repos:
        if draft_id is None:
            if len(repos.drafts_of(actor.username)) >= MAX_DRAFTS:
                raise ValidationError({"draft": [f"you have {MAX_DRAFTS} drafts; publish or discard some first"]})
            row = m.DefinitionDraft(
                owner=actor.username,
                name=name.strip(),
                process_key=process_key,
                base_version=base_version,
                source_name=source_name or "",
                source_xml=xml,
                created_at=now,
                updated_at=now,
            )
            repos.add(row)
            repos.flush()
            history.record(
                repos,
                kind="draft_created",
                at=now,
                actor=actor.username,
                message=f"draft {row.id} {row.name}",
                data={"draft_id": row.id, "key": process_key, "base_version": base_version},
            )
        else:
            row = _own_draft(repos, draft_id, actor)
            row.name = name.strip()
            row.source_xml = xml
            row.updated_at = now
        return _view(row)


def list_drafts(uow: UnitOfWork, *, actor: Actor) -> list[DraftView]:
    """The actor's own drafts, the most recently saved first."""
    require_modeler(actor)
    with uow as repos:
        return [_view(row) for row in repos.drafts_of(actor.username)]


def get_draft(uow: UnitOfWork, *, draft_id: int, actor: Actor) -> DraftView:
    require_modeler(actor)
    with uow as repos:
        return _view(_own_draft(repos, draft_id, actor))


def get_draft_xml(uow: UnitOfWork, *, draft_id: int, actor: Actor) -> str:
    """The diagram of one of the actor's drafts."""
    require_modeler(actor)
    with uow as repos:
        return _own_draft(repos, draft_id, actor).source_xml


def discard_draft(uow: UnitOfWork, *, draft_id: int, actor: Actor, now: dt.datetime) -> None:
    """Delete one of the actor's drafts; published versions are untouched."""
    require_modeler(actor)
    with uow as repos:
        row = _own_draft(repos, draft_id, actor)
        history.record(
            repos,
            kind="draft_discarded",
            at=now,
            actor=actor.username,
            message=f"draft {row.id} {row.name}",
            data={"draft_id": row.id, "key": row.process_key, "base_version": row.base_version},
        )
        repos.delete_draft(row)


def _own_draft(repos: Repositories, draft_id: int, actor: Actor) -> m.DefinitionDraft:
    row = repos.draft(draft_id)
    # Someone else's draft is reported as missing: drafts are private, even their existence.
    if row is None or row.owner != actor.username:
        raise NotFoundError(f"you have no draft {draft_id}")
    return row


def _view(row: m.DefinitionDraft) -> DraftView:
    return DraftView(
        id=row.id,
        owner=row.owner,
        name=row.name,
        process_key=row.process_key,
        base_version=row.base_version,
        source_name=row.source_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
