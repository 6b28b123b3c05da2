"""What the inbox reads from the query string."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, pre_load, validate

TABS = ("mine", "group", "completed")
TIME_STATES = ("red", "yellow", "green")
PAGE_SIZE = 50


class InboxArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    tab = fields.String(load_default="mine", validate=validate.OneOf(TABS))
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TIME_STATES))
    process = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    unit = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))

    @pre_load
    def _blank_is_absent(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Empty filter inputs (a form submitted with "all") mean no filter."""
        return {k: v.strip() for k, v in data.items() if isinstance(v, str) and v.strip()}

    @post_load
    def _scope(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The tab as list_tasks arguments: completed is what I completed, the others are open tasks."""
        data["scope"] = "mine" if data["tab"] == "completed" else data["tab"]
        data["task_state"] = "completed" if data["tab"] == "completed" else "open"
        return data
