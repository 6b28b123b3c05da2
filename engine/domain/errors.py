"""The EngineError tree: every refusal the engine can give, mapped to HTTP by webui/errors.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class NotFoundError(EngineError):
    code = "not_found"


class AuthenticationError(EngineError):
    code = "unauthenticated"


class PermissionDeniedError(EngineError):
    code = "forbidden"


class ConflictError(EngineError):
    code = "conflict"


class ConcurrentUpdateError(ConflictError):
    code = "concurrent_update"


class InvalidStateError(ConflictError):
    code = "invalid_state"


class ValidationError(EngineError):
    """Bad input: `fields` maps each field name to its messages."""

    code = "validation_error"

    def __init__(self, fields: dict[str, list[str]], message: str | None = None) -> None:
        text = message or "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        super().__init__(text, {"fields": fields})
        self.fields = fields


class PayloadTooLargeError(EngineError):
    code = "payload_too_large"


@dataclass(frozen=True)
class Problem:
    """One problem found in a BPMN/DMN file: where it is and what a process owner should do."""

    message: str
    file: str | None = None
    line: int | None = None
    element_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "element_id": self.element_id, "message": self.message}

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        element = f" [{self.element_id}]" if self.element_id else ""
        return f"{where}{element} {self.message}".strip()


class InvalidProcessError(EngineError):
    """A diagram refused at deploy time; `problems` lists every problem found."""

    code = "invalid_process"

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0]) if problems else "invalid process"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more, {"problems": [p.as_dict() for p in problems]})
        self.problems = problems


class ScriptError(EngineError):
    """A script or expression failed while an instance ran."""

    code = "script_error"

    def __init__(self, message: str, task_id: str | None = None, bpmn_id: str | None = None) -> None:
        super().__init__(message, {"task_id": task_id, "bpmn_id": bpmn_id})
        self.task_id = task_id
        self.bpmn_id = bpmn_id


class SourceError(EngineError):
    """A topic's SQL source could not be read (connection, refused statement, timeout, too many rows)."""

    code = "source_error"
