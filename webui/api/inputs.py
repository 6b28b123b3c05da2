"""What API views need from a request: its JSON body, loaded by a schema."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema

from engine.domain.errors import ValidationError


def json_body(schema: Schema) -> dict[str, Any]:
    """The request's JSON object loaded by `schema` (422 naming the fields otherwise)."""
    payload = request.get_json(silent=True)
    if payload is None:
        if request.data.strip() or request.mimetype not in ("", "application/json"):
            raise ValidationError({"body": ["send a JSON object with Content-Type: application/json"]})
        payload = {}
    if not isinstance(payload, dict):
        raise ValidationError({"body": ["must be a JSON object"]})
    loaded: dict[str, Any] = schema.load(payload)
    return loaded
