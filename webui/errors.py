"""One table from EngineError to HTTP status; JSON for the API, a small page for browsers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import HTTPException

from engine.domain import errors as e

STATUS: list[tuple[type[e.EngineError], int]] = [
    (e.NotFoundError, 404),
    (e.AuthenticationError, 401),
    (e.PermissionDeniedError, 403),
    (e.ConflictError, 409),
    (e.PayloadTooLargeError, 413),
    (e.InvalidProcessError, 422),
    (e.ValidationError, 422),
    (e.ScriptError, 422),
]


def status_of(error: e.EngineError) -> int:
    return next((code for cls, code in STATUS if isinstance(error, cls)), 500)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Any:
    if _wants_json():
        body = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
        body.status_code = status
        if status == 401:
            body.headers["WWW-Authenticate"] = 'Bearer realm="auditloop"'
        return body
    return render_template("error.html", status=status, message=message, details=details or {}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(e.EngineError)
    def _engine_error(error: e.EngineError) -> Response:
        return error_response(status_of(error), error.code, error.message, error.details)  # type: ignore[no-any-return]

    @app.errorhandler(SchemaError)
    def _schema_error(error: SchemaError) -> Response:
        fields = error.normalized_messages()  # type: ignore[no-untyped-call]
        message = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in fields.items())
        return error_response(422, "validation_error", message or "invalid input", {"fields": fields})  # type: ignore[no-any-return]

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)  # type: ignore[no-any-return]

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "an unexpected error happened; it has been logged")  # type: ignore[no-any-return]
