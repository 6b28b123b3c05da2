"""Modeler drafts: a process owner's unpublished diagram, kept per owner until published or discarded."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UtcDateTime


class DefinitionDraft(Base):
    """One owner's draft; it never affects running work (only publishing makes a definition version)."""

    __tablename__ = "definition_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(500))
    process_key: Mapped[str | None] = mapped_column(String(200))  # the definition it was opened from, if any
    base_version: Mapped[int | None] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(500))
    # Large and rarely needed when listing: loaded on first access only.
    source_xml: Mapped[str] = mapped_column(Text, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
