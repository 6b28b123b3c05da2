"""Form definitions of human tasks and the validation of submitted data against them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.domain.errors import ValidationError

FIELD_TYPES = ("string", "text", "number", "integer", "boolean", "date", "enum")


def check_form_definition(name: str, form: Any) -> list[str]:
    """Problems with a form definition file (empty when it is usable)."""
    problems: list[str] = []
    if not isinstance(form, dict) or not isinstance(form.get("fields"), list):
        return [f"form {name}: must be an object with a list of fields"]
    for i, spec in enumerate(form["fields"]):
        where = f"form {name}, field {i + 1}"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].isidentifier():
            problems.append(f"{where}: needs a name like amount or is_approved")
            continue
        if spec.get("type", "string") not in FIELD_TYPES:
            problems.append(f"{where} ({spec['name']}): type must be one of {', '.join(FIELD_TYPES)}")
        if spec.get("type") == "enum" and not isinstance(spec.get("options"), list):
            problems.append(f"{where} ({spec['name']}): an enum field needs a list of options")
    return problems


def validate_form_data(form: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """The data converted to the form's types; ValidationError with every field's messages otherwise."""
    if not form:
        return data
    errors: dict[str, list[str]] = {}
    out = dict(data)
    for spec in form.get("fields", []):
        name, kind = spec["name"], spec.get("type", "string")
        value = data.get(name)
        if value is None or value == "":
            if spec.get("required"):
                errors.setdefault(name, []).append("is required")
            continue
        try:
            out[name] = _convert(kind, value, spec)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    return out


def _convert(kind: str, value: Any, spec: dict[str, Any]) -> Any:
    if kind in ("string", "text"):
        if not isinstance(value, str):
            raise ValueError("must be text")
        if len(value) > int(spec.get("max_length", 10_000)):
            raise ValueError(f"must be at most {spec.get('max_length', 10_000)} characters")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "on", "1", "yes"):
            return True
        if value in ("false", "off", "0", "no"):
            return False
        raise ValueError("must be true or false")
    if kind in ("number", "integer"):
        try:
            number = int(value) if kind == "integer" else float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a whole number" if kind == "integer" else "must be a number") from None
        if isinstance(value, bool) or (kind == "integer" and isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be a whole number" if kind == "integer" else "must be a number")
        return number
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("must be a date like 2026-11-30") from None
    if kind == "enum":
        if value not in spec.get("options", []):
            raise ValueError(f"must be one of {', '.join(map(str, spec.get('options', [])))}")
        return value
    return value
