"""What clients may put into instance data: JSON values only, never keys the serializer would misread."""

from __future__ import annotations

import math
from typing import Any

from engine.domain.errors import ValidationError

# SpiffWorkflow's serializer "restores" any dict with this key as that type; a user could poison an instance.
RESERVED_KEYS = frozenset({"typename"})
MAX_DEPTH = 32


def clean_task_data(data: Any, *, field: str = "data") -> dict[str, Any]:
    """A copy of `data` without reserved keys; ValidationError naming the field for anything unstorable."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError({field: ["must be a JSON object"]})
    cleaned = _clean(data, field, 0)
    for key in cleaned:
        if not key.isidentifier() or key.startswith("_"):
            raise ValidationError({f"{field}.{key}": ["a field name must be a name like amount or is_approved"]})
    assert isinstance(cleaned, dict)
    return cleaned


def _clean(value: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValidationError({path: [f"nested deeper than {MAX_DEPTH} levels"]})
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError({path: ["must be a finite number"]})
        return value
    if isinstance(value, list):
        return [_clean(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError({path: ["object keys must be strings"]})
            if key in RESERVED_KEYS:
                continue
            out[key] = _clean(item, f"{path}.{key}", depth + 1)
        return out
    raise ValidationError({path: [f"a {type(value).__name__} cannot be stored; send JSON values"]})
