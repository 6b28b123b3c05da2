"""What every API view needs from the request: the engine it runs on and a JSON body loaded by a schema."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from marshmallow import Schema

from engine.bootstrap import Engine
from engine.domain.errors import ValidationError


def app_engine() -> Engine:
    """The engine this app was built with."""
    engine: Engine = current_app.extensions["auditloop"]
    return engine


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
