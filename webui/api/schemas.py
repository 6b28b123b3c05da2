"""marshmallow schemas: every API input is loaded here before a service sees it."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class StartInstanceSchema(_Strict):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    data = fields.Dict(keys=fields.String(), load_default=dict)


class CompleteTaskSchema(_Strict):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class RetrySchema(_Strict):
    data = fields.Dict(keys=fields.String(), load_default=dict)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class CancelSchema(_Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class MoveInstancesSchema(_Strict):
    from_version = fields.Integer(required=True, validate=validate.Range(min=1))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    dry_run = fields.Boolean(load_default=True)
    instance_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=36)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=500),
    )
    unit = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    status = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(["running", "error", "completed", "cancelled"])
    )
    expected = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=None, allow_none=True)


class MoveInstanceSchema(_Strict):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    dry_run = fields.Boolean(load_default=False)
    expected_lock = fields.Integer(load_default=None, allow_none=True)


class MessageSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    correlation_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    payload = fields.Raw(load_default=None, allow_none=True)


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class TaskListArgs(PageArgs):
    scope = fields.String(load_default="all", validate=validate.OneOf(["mine", "group", "all"]))
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "completed"]))
    time_state = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))
    process_key = fields.String(load_default=None)


class InstanceListArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(["running", "completed", "cancelled", "error"]))
    process_key = fields.String(load_default=None)
    time_state = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))


class DeployArgs(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    filename = fields.String(load_default=None, validate=validate.Regexp(r"^[\w.-]{1,200}\.(bpmn|dmn)$"))


class UnitSchema(_Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent = fields.String(load_default=None, allow_none=True)


class TopicSchema(_Strict):
    code = fields.String(required=True)
    name = fields.String(required=True)
    business_area = fields.String(required=True)
    criteria = fields.String(load_default="")
    thresholds = fields.Dict(keys=fields.String(), load_default=dict)
    data_source = fields.String(load_default="")
    scope = fields.List(fields.String(), load_default=list)
    argument = fields.String(load_default="")
    effective_date = fields.Date(load_default=None, allow_none=True)


class ReasonSchema(_Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CaseSchema(_Strict):
    topic = fields.String(load_default=None, allow_none=True)
    target = fields.String(required=True)
    anomaly = fields.String(required=True)
    risk_level = fields.Integer(required=True, strict=True)
    unit = fields.String(required=True)
    kind = fields.String(load_default="routine")
    source = fields.String(load_default="", validate=validate.Length(max=200))


class CaseListArgs(PageArgs):
    status = fields.String(load_default=None)
    topic = fields.String(load_default=None)
    unit = fields.String(load_default=None)


class DocumentForm(Schema):
    doc_type = fields.String(required=True)
    step = fields.String(required=True)


class WaiverSchema(_Strict):
    step = fields.String(required=True)
    doc_type = fields.String(required=True)
    reason = fields.String(required=True)


class RuleSchema(_Strict):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    step = fields.String(required=True, validate=validate.Length(min=1, max=200))
    limit_value = fields.Float(required=True)
    limit_unit = fields.String(required=True)
    yellow_share = fields.Float(load_default=None, allow_none=True)
    yellow_left_minutes = fields.Float(load_default=None, allow_none=True)
    restart_on_sendback = fields.Boolean(load_default=True)


class OverrideSchema(_Strict):
    day = fields.Date(required=True)
    is_workday = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))


class UrgeSchema(_Strict):
    task_ids = fields.List(fields.String(), load_default=list)
    case_ids = fields.List(fields.Integer(strict=True), load_default=list)
    message = fields.String(load_default="", validate=validate.Length(max=500))


class PauseSchema(_Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ContractSchema(_Strict):
    number = fields.String(required=True)
    customer = fields.String(required=True)
    unit = fields.String(required=True)
    signed_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)
    auto_renew = fields.Boolean(load_default=False)
    term_months = fields.Integer(load_default=12, strict=True)
    owner = fields.String(load_default=None, allow_none=True)


class ObligationListArgs(Schema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(["mine", "collect"]))
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "received", "returned"]))


class SupervisionOrderSchema(_Strict):
    case_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BoardFilterArgs(Schema):
    topic = fields.String(load_default=None)
    risk_level = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    period = fields.String(load_default=None, validate=validate.Length(min=4, max=16))


class BoardArgs(BoardFilterArgs):
    group_by = fields.String(load_default="unit", validate=validate.OneOf(["unit", "topic", "step", "person"]))
    unit = fields.String(load_default=None)


class BoardItemArgs(PageArgs, BoardFilterArgs):
    unit = fields.String(load_default=None)
    step = fields.String(load_default=None)
    person = fields.String(load_default=None)
    time_state = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))


class BulkSupervisionSchema(_Strict):
    task_ids = fields.List(fields.String(), load_default=None, validate=validate.Length(min=1, max=500))
    case_ids = fields.List(fields.Integer(strict=True), load_default=None, validate=validate.Length(min=1, max=500))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BulkUrgeSchema(_Strict):
    task_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))
    message = fields.String(load_default="", validate=validate.Length(max=500))


class ReassignSchema(_Strict):
    to = fields.String(required=True, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class BulkReassignSchema(ReassignSchema):
    task_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))


class UserListArgs(PageArgs):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    unit = fields.String(load_default=None)
    role = fields.String(load_default=None)
    active = fields.Boolean(load_default=None, allow_none=True)


class NewUserSchema(_Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    display_name = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    unit = fields.String(load_default=None, allow_none=True)
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=80)), required=True)
    password = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class UserChangeSchema(_Strict):
    """Only the fields sent change."""

    display_name = fields.String(validate=validate.Length(max=200))
    email = fields.String(allow_none=True, validate=validate.Length(max=200))
    unit = fields.String(allow_none=True)
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=80)))


class PasswordSchema(_Strict):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class UnitNameSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UnitMoveSchema(_Strict):
    parent = fields.String(required=True, allow_none=True)


class NewTokenSchema(_Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    name = fields.String(load_default="", validate=validate.Length(max=200))


class AuditLogArgs(PageArgs):
    who = fields.String(load_default=None, validate=validate.Length(max=80))
    kind = fields.String(load_default=None, validate=validate.Length(max=40))
    object = fields.String(load_default=None, validate=validate.Length(max=200))
    # Whole days in the configured time zone, both included.
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)


class ValidateDiagramSchema(_Strict):
    xml = fields.String(required=True)
    file_name = fields.String(load_default=None, validate=validate.Length(max=500))


class CreateDraftSchema(ValidateDiagramSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=500))
    process_key = fields.String(load_default=None, validate=validate.Length(max=200))
    base_version = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))


class UpdateDraftSchema(_Strict):
    xml = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PublishDraftSchema(_Strict):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AnomalyBatchSchema(_Strict):
    topic = fields.String(required=True, validate=validate.Length(min=1, max=64))
    # Each item is checked row by row while the batch is worked, so one bad row never refuses the whole batch.
    items = fields.Raw(required=True)


class AnomalyBatchListArgs(PageArgs):
    topic = fields.String(load_default=None)


class AnomalyBatchArgs(Schema):
    rejections_limit = fields.Integer(load_default=1000, validate=validate.Range(min=0, max=100_000))


class TopicIntakeSchema(_Strict):
    warn_at = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    raise_at = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    risk_level = fields.Integer(load_default=3, strict=True)
    unit_map = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), values=fields.String(),
                           load_default=dict)  # fmt: skip
    assign_handler = fields.Boolean(load_default=False)
    start_at_handle = fields.Boolean(load_default=False)
    sql_url = fields.String(allow_none=True, validate=validate.Length(max=2000))  # absent: kept as it is
    sql_query = fields.String(load_default="", validate=validate.Length(max=10_000))
    check_every_hours = fields.Float(load_default=24.0)
