"""SpiffWorkflow exceptions turned into engine.domain errors at the package boundary."""

from __future__ import annotations

from engine.domain.errors import ScriptError


def script_error(exc: Exception) -> ScriptError:
    """A ScriptError naming the task and the line that failed."""
    task = getattr(exc, "task", None)
    bpmn_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    message = str(exc) or type(exc).__name__
    line = getattr(exc, "line_number", None)
    if line:
        message = f"{message} (line {line})"
    if bpmn_id:
        message = f"{bpmn_id}: {message}"
    return ScriptError(message, task_id=str(task.id) if task is not None else None, bpmn_id=bpmn_id)
