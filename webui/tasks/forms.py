"""A task's form on the page: its definition (engine/domain/forms.py) as inputs, and the posted inputs as task data.

The engine validates and converts; this module only carries strings both ways, so whatever a person typed is
shown again untouched when the engine refuses it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webui.tasks.names import _, label

TEXT_KINDS = ("string", "text")


@dataclass(frozen=True)
class FormField:
    """One input as the template draws it."""

    name: str
    kind: str
    label: str
    help: str
    is_required: bool
    max_length: int | None
    value: str
    options: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = field(default_factory=tuple)


def _specs(form: dict[str, Any] | None) -> list[dict[str, Any]]:
    specs = (form or {}).get("fields") or []
    return [s for s in specs if isinstance(s, dict) and isinstance(s.get("name"), str)]


def form_fields(
    form: dict[str, Any] | None, values: Mapping[str, str], errors: Mapping[str, list[str]] | None = None
) -> list[FormField]:
    """The form's fields with the values to show and the messages to show beside each."""
    out = []
    for spec in _specs(form):
        name, kind = spec["name"], spec.get("type", "string")
        options: tuple[tuple[str, str], ...] = ()
        if kind == "boolean":
            options = (("true", _("Yes")), ("false", _("No")))
        elif kind == "enum":
            names = spec.get("option_labels") or {}
            options = tuple((str(o), label(names.get(str(o)), str(o))) for o in spec.get("options") or [])
        max_length = spec.get("max_length") if kind in TEXT_KINDS else None
        out.append(
            FormField(
                name=name,
                kind=kind,
                label=label(spec.get("label"), name),
                help=label(spec.get("help"), ""),
                is_required=bool(spec.get("required")),
                max_length=int(max_length) if isinstance(max_length, int) else None,
                value=values.get(name, ""),
                options=options,
                errors=tuple((errors or {}).get(name, ())),
            )
        )
    return out


def prefill(form: dict[str, Any] | None, data: Mapping[str, Any] | None) -> dict[str, str]:
    """What the inputs show first: the task's data as text.

    Yes/no questions start unanswered even when the data holds an earlier answer (say, `approved` from the
    previous review round): a decision is made explicitly every time, never resubmitted by one careless click.
    """
    values: dict[str, str] = {}
    for spec in _specs(form):
        name, kind = spec["name"], spec.get("type", "string")
        value = (data or {}).get(name)
        if value is None or kind == "boolean" or isinstance(value, dict | list):
            continue
        if kind == "date" and isinstance(value, dt.date):
            values[name] = value.isoformat()
        else:
            values[name] = str(value)
    return values


def posted_values(form: dict[str, Any] | None, posted: Mapping[str, str]) -> dict[str, str]:
    """The posted inputs of the form's fields, exactly as typed."""
    return {spec["name"]: posted[spec["name"]] for spec in _specs(form) if spec["name"] in posted}


def task_data(form: dict[str, Any] | None, values: Mapping[str, str]) -> dict[str, Any]:
    """Posted inputs as task data: blank text is "", any other blank input is "not given" (None)."""
    data: dict[str, Any] = {}
    for spec in _specs(form):
        name, kind = spec["name"], spec.get("type", "string")
        raw = values.get(name, "")
        if kind in TEXT_KINDS:
            data[name] = raw if raw.strip() else ""
        else:
            data[name] = raw.strip() or None
    return data
