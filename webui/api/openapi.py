"""The OpenAPI 3.1 document of the JSON API under /api/v1, built once from small helpers."""

from __future__ import annotations

import functools
from typing import Any

Json = dict[str, Any]

TIME_STATES = ["green", "yellow", "red"]
TASK_STATES = ["open", "completed", "cancelled"]
INSTANCE_STATUSES = ["running", "completed", "cancelled", "error"]
FORM_FIELD_TYPES = ["string", "text", "number", "integer", "boolean", "date", "enum"]
# Mirrors of engine constants (tests/unit/test_openapi.py checks they stay equal).
UNIT_LEVELS = ["city", "district", "station"]
BUSINESS_AREAS = ["tariff", "new_connection", "metering", "inspection", "customer_service", "data_quality", "other"]
CASE_KINDS = ["routine", "special", "online"]
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
}
MAX_DOCUMENT_MB = 20
TOPIC_CODE = r"^[A-Z][A-Z0-9_-]{1,63}$"
DOC_TYPE = r"^[a-z][a-z0-9_]{0,99}$"
BARCODE_NUMBER = r"^[A-Z]{2,4}-\d{4}-\d{6}$"
REMINDER_CATEGORIES = [
    "pending_add",
    "pending_send",
    "pending_transfer",
    "pending_dossier_transfer",
    "contract_warning",
    "time_limit_warning",
    "anomaly_warning",
]
LIMIT_UNITS = ["minutes", "hours", "working_days", "working_hours"]
SCORE_DIRECTIONS = ["higher", "lower"]
ADJUSTMENT_KINDS = ["process_score", "business_score", "deduction", "bonus"]
CONTRACT_STATES = ["ok", "reminder", "warning", "expired"]
DOCUMENT_TOO_LARGE = (
    f"The file is larger than {MAX_DOCUMENT_MB} MB, or the request is larger than the server's request size limit."
)

# One shared response per error status; routes reference these and may say why in their own words.
ERRORS: dict[int, tuple[str, str]] = {
    401: ("Unauthorized", "No valid API token: send `Authorization: Bearer <token>`."),
    403: ("Forbidden", "The caller's roles do not allow this."),
    404: ("NotFound", "No such object, or the caller may not see it."),
    409: ("Conflict", "The object is not in a state that allows this, or someone else changed it first."),
    413: ("PayloadTooLarge", "The request body is larger than the server accepts."),
    422: ("Unprocessable", "The input was understood but is invalid; `details` names the fields or BPMN elements."),
}


# -- schema helpers ------------------------------------------------------------------------------------------


def ref(name: str) -> Json:
    """A reference to a schema in components.schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(type_: str, **extra: Any) -> Json:
    """A scalar schema that may also be null."""
    return {"type": [type_, "null"], **extra}


def text(description: str | None = None, **extra: Any) -> Json:
    return _described({"type": "string", **extra}, description)


def integer(description: str | None = None, **extra: Any) -> Json:
    return _described({"type": "integer", **extra}, description)


def number(description: str | None = None, **extra: Any) -> Json:
    """A JSON number; decimals allowed."""
    return _described({"type": "number", **extra}, description)


def boolean(description: str | None = None, **extra: Any) -> Json:
    return _described({"type": "boolean", **extra}, description)


def date(description: str | None = None) -> Json:
    """An ISO 8601 calendar date, e.g. 2026-10-01."""
    return text(description, format="date")


def timestamp(description: str, *, optional: bool = False) -> Json:
    """An ISO 8601 datetime with offset (null when optional and unset)."""
    schema = nullable("string") if optional else {"type": "string"}
    return {**schema, "format": "date-time", "description": description}


def array(items: Json, description: str | None = None) -> Json:
    return _described({"type": "array", "items": items}, description)


def free_object(description: str | None = None) -> Json:
    """A JSON object with any keys (process data, form data)."""
    return _described({"type": "object", "additionalProperties": True}, description)


def obj(
    properties: Json, *, required: list[str] | None = None, description: str | None = None, closed: bool = False
) -> Json:
    """An object schema; `required` defaults to every property, `closed` refuses unknown keys."""
    schema: Json = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    return _described(schema, description)


def _described(schema: Json, description: str | None) -> Json:
    return {**schema, "description": description} if description else schema


# -- components.schemas --------------------------------------------------------------------------------------


def _schemas() -> Json:
    problem = obj(
        {
            "element_id": nullable("string", description="The BPMN element the problem is on, when there is one."),
            "line": nullable("integer", description="Line in the file, when known."),
            "message": text("What is wrong and what to change."),
            "file": nullable("string", description="The uploaded file the problem is in."),
        },
        description="One problem found in an uploaded BPMN, DMN or form file.",
    )
    error = obj(
        {
            "error": obj(
                {
                    "code": text(
                        "Stable machine-readable code, e.g. `not_found`, `invalid_state`, "
                        "`validation_error`, `invalid_process`."
                    ),
                    "message": text("A sentence for people."),
                    "details": {
                        "type": "object",
                        "description": "Extra facts; which keys appear depends on the error.",
                        "properties": {
                            "problems": array(ref("Problem"), "Deploy refusals (422 invalid_process)."),
                            "fields": {
                                "type": "object",
                                "description": "Invalid input (422 validation_error): field name to messages; "
                                "`documents` lists required documents missing on task completion. Some 409s "
                                "name the field too (a taken unit `code` or contract `number`, a white-listed "
                                "`target`).",
                                "additionalProperties": array(text()),
                            },
                            "assignee": text("Who holds the task (409 on claim or complete)."),
                            "state": text("The task's state when it is no longer open (409)."),
                        },
                        "additionalProperties": True,
                    },
                }
            )
        },
        description="Every error response has this shape.",
    )
    task = obj(
        {
            "id": text("Task id."),
            "instance_id": text("The instance the task belongs to."),
            "process_key": text("Key of the process definition."),
            "business_key": nullable("string", description="The instance's business key, if it has one."),
            "bpmn_id": text("Id of the user task in the BPMN diagram."),
            "name": text("Task name from the diagram."),
            "lane": nullable("string", description="Lane (role) whose members may work the task."),
            "assignee": nullable("string", description="User who claimed the task, if anyone."),
            "candidate_groups": array(text(), "Roles that may work the task."),
            "unit": nullable("string", description="Organisational unit of the case, if any."),
            "created_at": timestamp("When the task was created."),
            "due_at": timestamp("When the task is due, if it has a deadline.", optional=True),
            "time_state": text("Deadline traffic light.", enum=TIME_STATES),
            "state": text("Task state.", enum=TASK_STATES),
            "completed_at": timestamp("When it was completed.", optional=True),
            "completed_by": nullable("string", description="Who completed it."),
        },
        description="A human task.",
    )
    form_field = {
        "type": "object",
        "description": "One field of a task form.",
        "properties": {
            "name": text("Key of the value in the submitted data."),
            "type": text("Value type.", enum=FORM_FIELD_TYPES, default="string"),
            "required": {"type": "boolean", "default": False},
            "options": array({}, "Allowed values of an enum field."),
            "max_length": integer("Longest accepted text.", default=10_000),
        },
        "required": ["name"],
        "additionalProperties": True,
    }
    task_detail = {
        "description": "A task with its form definition, instructions, data and the documents of its step.",
        "allOf": [
            ref("Task"),
            obj(
                {
                    "form": {
                        "anyOf": [
                            {
                                "type": "object",
                                "properties": {"fields": array(ref("FormField"))},
                                "additionalProperties": True,
                            },
                            {"type": "null"},
                        ],
                        "description": "The form to fill in; null when the task has none.",
                    },
                    "documentation": nullable("string", description="Instructions from the diagram."),
                    "data": {
                        "anyOf": [free_object(), {"type": "null"}],
                        "description": "The process data the task sees (prefills its form); null when there is none.",
                    },
                    "required_documents": array(
                        text(pattern=DOC_TYPE), "Document types the step requires before the task can complete."
                    ),
                    "waived_documents": array(
                        text(pattern=DOC_TYPE), "Required document types waived for this step (POST .../waivers)."
                    ),
                    "documents": array(ref("DocumentSummary"), "Documents attached to this step so far."),
                }
            ),
        ],
    }
    history_event = obj(
        {
            "id": integer(),
            "kind": text(
                "What happened, e.g. started, task_claimed, task_completed, message_delivered, error, "
                "retried, timer_fired."
            ),
            "at": timestamp("When it happened."),
            "actor": nullable("string", description="Who did it (`scheduler` for timers)."),
            "task_id": nullable("string"),
            "bpmn_id": nullable("string"),
            "message": text("Short description."),
            "data": {"anyOf": [free_object(), {"type": "null"}], "description": "Data recorded with the event."},
        },
        description="One entry of an instance's audit history.",
    )
    instance = obj(
        {
            "id": text("Instance id."),
            "process_key": text(),
            "version": integer("Definition version the instance runs."),
            "business_key": nullable("string"),
            "status": text("Instance status.", enum=INSTANCE_STATUSES),
            "time_state": {
                "anyOf": [{"type": "string", "enum": TIME_STATES}, {"type": "null"}],
                "description": "Worst deadline state of its open tasks.",
            },
            "data": free_object("Current process data."),
            "error": {
                "anyOf": [obj({"bpmn_id": nullable("string"), "message": text()}), {"type": "null"}],
                "description": "The failed step when status is `error`.",
            },
            "created_at": timestamp("When it started."),
            "updated_at": timestamp("Last change."),
            "completed_at": timestamp("When it ended.", optional=True),
            "tasks": array(ref("Task"), "Open tasks."),
            "history": array(ref("HistoryEvent"), "Audit history, oldest first."),
        },
        description="A process instance (a case).",
    )
    version = obj(
        {
            "id": integer("Version id."),
            "key": text("Process key."),
            "version": integer("Version number, from 1."),
            "name": text(),
            "content_hash": text("Hash of the deployed content."),
            "has_scripts": {"type": "boolean", "description": "Whether the diagram contains scripts."},
            "created_by": text(),
            "created_at": timestamp("When it was deployed."),
            "comment": text("Deploy comment."),
            "start_timer": nullable("string", description="Timer that starts instances, if any."),
        },
        description="One immutable deployed version of a process.",
    )
    definition = obj(
        {
            "key": text(),
            "name": text(),
            "latest_version": integer(),
            "versions": array(ref("Version")),
        },
        description="A process definition and its versions.",
    )
    deployed = obj(
        {
            "key": text(),
            "version": integer(),
            "id": integer(),
            "is_new": {"type": "boolean", "description": "False when the content equals the latest version."},
        },
        description="One process published by a deploy.",
    )
    deploy_result = obj(
        {
            "key": nullable("string", description="Key of the first process (null when only DMN was sent)."),
            "version": nullable("integer"),
            "id": nullable("integer"),
            "is_new": {"type": "boolean"},
            "definitions": array(ref("DeployedProcess"), "Every process, when the upload held several."),
            "decisions": array(text(), "Names of the DMN files stored, when no process was sent."),
        },
        required=["key", "version", "id"],
        description="What a deploy published.",
    )
    return {
        "Problem": problem,
        "Error": error,
        "Task": task,
        "FormField": form_field,
        "TaskDetail": task_detail,
        "HistoryEvent": history_event,
        "Instance": instance,
        "Version": version,
        "Definition": definition,
        "DeployedProcess": deployed,
        "DeployResult": deploy_result,
        "TaskPage": _page("Task"),
        "InstancePage": _page("Instance"),
        "CompleteResult": obj({"instance": ref("Instance")}, description="The instance after the completion."),
        "MessageResult": obj({"delivered_to": array(text(), "Ids of the instances that received it.")}),
        **_loop_schemas(),
        "CasePage": _page("Case"),
        **_deadline_schemas(),
        **_request_schemas(),
        **_loop_request_schemas(),
        **_deadline_request_schemas(),
        **_score_schemas(),
        **_move_schemas(),
        **_admin_schemas(),
        **_modeler_schemas(),
        **_intake_schemas(),
        "AnomalyBatchPage": _page("AnomalyBatch"),
        **_anomaly_report_schemas(),
    }


def _page(item: str) -> Json:
    return obj(
        {
            "items": array(ref(item)),
            "total": integer("Matches in all pages."),
            "limit": integer(),
            "offset": integer(),
        },
        description=f"One page of {item.lower()}s.",
    )


def _modeler_schemas() -> Json:
    draft = {
        "id": integer(),
        "owner": text("Username of the process owner it belongs to."),
        "name": text(),
        "process_key": nullable("string", description="The definition it was opened from, if any."),
        "base_version": nullable("integer", description="The version it was opened from, if any."),
        "source_name": text("File name it will be published under (empty: from its process id)."),
        "created_at": timestamp("When it was first saved."),
        "updated_at": timestamp("When it was last saved."),
    }
    diagram = {
        "xml": text("The BPMN 2.0 XML."),
        "file_name": nullable(
            "string", maxLength=500, default=None, description="File name (.bpmn) to publish under; optional."
        ),
    }
    return {
        "ValidationReport": obj(
            {
                "is_valid": boolean("True when deploy would accept the diagram."),
                "problems": array(ref("Problem"), "What deploy refuses, each with element id and line."),
                "warnings": array(ref("Problem"), "Advice: accepted, but probably not meant (no role, unknown form)."),
                "processes": array(text(), "The executable process keys it would publish."),
            },
            description="What deploy would say about a diagram; nothing is stored.",
        ),
        "Draft": obj(draft, description="A process owner's unpublished diagram (only its owner sees it)."),
        "DraftWithXml": obj({**draft, "xml": text("The BPMN 2.0 XML.")}, description="A draft with its diagram."),
        "ValidateDiagram": obj(diagram, required=["xml"], closed=True),
        "CreateDraft": obj(
            {
                **diagram,
                "name": text("A name for the draft.", minLength=1, maxLength=500),
                "process_key": nullable("string", maxLength=200, default=None, description="Opened from."),
                "base_version": nullable("integer", minimum=1, default=None, description="Opened from."),
            },
            required=["xml", "name"],
            closed=True,
        ),
        "UpdateDraft": obj({"xml": text("The BPMN 2.0 XML."), "name": text(minLength=1, maxLength=500)}, closed=True),
        "PublishDraft": obj(
            {"comment": text("What changed in this version (stored with it).", minLength=1, maxLength=2000)},
            closed=True,
        ),
    }


def _request_schemas() -> Json:
    data = free_object("Values keyed by name.")
    return {
        "StartInstance": obj(
            {
                "process_key": text("Key of a deployed process.", minLength=1, maxLength=200),
                "version": nullable(
                    "integer", minimum=1, default=None, description="Version to start; the latest when omitted."
                ),
                "business_key": nullable(
                    "string", minLength=1, maxLength=200, default=None, description="Your own reference for the case."
                ),
                "data": {**data, "default": {}},
            },
            required=["process_key"],
            closed=True,
        ),
        "CompleteTask": obj(
            {"data": {**data, "description": "The form values.", "default": {}}}, required=[], closed=True
        ),
        "Retry": obj(
            {
                "data": {**data, "description": "Corrected data merged in before the rerun.", "default": {}},
                "reason": text("Why, recorded in the history.", maxLength=500, default=""),
            },
            required=[],
            closed=True,
        ),
        "Message": obj(
            {
                "name": text("BPMN message name.", minLength=1, maxLength=200),
                "correlation_key": nullable(
                    "string",
                    maxLength=200,
                    default=None,
                    description="Deliver only to instances with this business key.",
                ),
                "payload": {"description": "Any JSON value handed to the receiving instances.", "default": None},
            },
            required=["name"],
            closed=True,
        ),
    }


def _loop_schemas() -> Json:
    """Responses of the closed loop: units, topics, cases with their rectification rounds, documents."""
    unit = obj(
        {
            "code": text("Unit code."),
            "name": text(),
            "level": text("Place in the tree, from its parent.", enum=UNIT_LEVELS),
            "parent": nullable("string", description="Code of the parent unit; null for a city."),
        },
        description="An organisational unit (city, district/county or station).",
    )
    topic = obj(
        {
            "id": integer("Id of this version."),
            "code": text("Topic code, shared by all its versions."),
            "version": integer("Version number, from 1."),
            "name": text(),
            "business_area": text(enum=BUSINESS_AREAS),
            "criteria": text("What counts as an anomaly."),
            "thresholds": free_object("Thresholds of the criteria."),
            "data_source": text("Where the data comes from."),
            "scope": array(text(), "Codes of the units it applies to (empty: all)."),
            "argument": text("Why the topic is needed."),
            "effective_date": nullable("string", format="date", description="When it takes effect, if set."),
            "status": text(
                "Follows its topic_approval process (draft, in_review, approving, publishing; published until "
                "its effective date), then active; later superseded (a newer version is active) or retired; "
                "cancelled or error when its process is."
            ),
            "owner": text("Who drafted this version."),
            "instance_id": nullable("string", description="The topic_approval instance of this version."),
            "created_at": timestamp("When this version was drafted."),
            "published_at": timestamp("When it was published.", optional=True),
        },
        description="One version of an audit topic.",
    )
    round_ = obj(
        {
            "round_no": integer("Round number, from 1."),
            "notice": text("The rectification notice."),
            "deadline_at": timestamp("When the rectification is due.", optional=True),
            "measures": text("What the unit did."),
            "evidence": text("Evidence of the measures."),
            "verdict": nullable("string", description="`accepted` or `rejected` once reviewed."),
            "reviewer": nullable("string"),
            "comment": text("The reviewer's comment."),
            "submitted_at": timestamp("When the unit submitted.", optional=True),
            "reviewed_at": timestamp("When it was reviewed.", optional=True),
        },
        description="One rectification round of a case; a rejected round is followed by a new one.",
    )
    document = obj(
        {
            "id": integer("Document id."),
            "doc_no": text("Document number, e.g. DOC-2026-000001.", pattern=BARCODE_NUMBER),
            "instance_id": text("The instance it is filed under."),
            "step": text("BPMN id of the step it belongs to."),
            "doc_type": text("Document type, e.g. investigation_report.", pattern=DOC_TYPE),
            "filename": text("The uploaded file name."),
            "content_type": text("Media type, from the file suffix.", enum=sorted(set(DOCUMENT_TYPES.values()))),
            "size_bytes": integer(),
            "sha256": text("SHA-256 of the content, hex."),
            "uploaded_by": text(),
            "uploaded_at": timestamp("When it was uploaded."),
            "barcode": text("URL of its barcode SVG (GET /barcodes/{number}.svg)."),
            "download": text("URL of its content (GET /documents/{document_id})."),
        },
        description="A file attached to a step of an instance.",
    )
    case = obj(
        {
            "id": integer("Case id."),
            "case_no": text("Case number, e.g. JC-2026-000123.", pattern=BARCODE_NUMBER),
            "topic": nullable("string", description="Code of the topic it was raised under, if any."),
            "kind": text(enum=CASE_KINDS),
            "target": text("Customer, meter or process number."),
            "anomaly": text(),
            "source": text("Where the anomaly was found."),
            "risk_level": integer("1 (most serious) to 4.", minimum=1, maximum=4),
            "unit": text("Code of the unit the case belongs to."),
            "handler": nullable("string", description="Who handles it, once dispatched."),
            "status": text(
                "raised, then follows its audit_case process (e.g. dispatching, handling, reviewing, "
                "rectifying, archiving); finally closed, whitelisted (a false positive), cancelled or error."
            ),
            "findings": text(),
            "cause": text(),
            "instance_id": nullable("string", description="Its audit_case instance."),
            "created_by": text(),
            "created_at": timestamp("When it was raised."),
            "closed_at": timestamp("When it was closed.", optional=True),
            "barcode": text("URL of its barcode SVG (GET /barcodes/{number}.svg)."),
            "rounds": array(ref("RectificationRound"), "Rectification rounds, oldest first."),
            "documents": array(ref("Document"), "Documents filed under its instance."),
            "instance": {
                "anyOf": [ref("Instance"), {"type": "null"}],
                "description": "Its instance with tasks and history: on GET /cases/{case_id} and right after "
                "raising it; null in lists.",
            },
        },
        description="An audit case.",
    )
    waiver = obj(
        {
            "instance_id": text(),
            "step": text("BPMN id of the step."),
            "doc_type": text("The document type no longer required there."),
            "reason": text(),
        },
        description="A recorded waiver of a required document.",
    )
    document_summary = obj(
        {
            "id": integer("Document id (GET /documents/{document_id})."),
            "doc_no": text("Document number, e.g. DOC-2026-000001.", pattern=BARCODE_NUMBER),
            "doc_type": text("Document type, e.g. investigation_report.", pattern=DOC_TYPE),
            "filename": text("The uploaded file name."),
        },
        description="A document attached to a task's step, in brief.",
    )
    return {
        "Unit": unit,
        "Topic": topic,
        "RectificationRound": round_,
        "Document": document,
        "DocumentSummary": document_summary,
        "Case": case,
        "Waiver": waiver,
    }


def _deadline_schemas() -> Json:
    """Responses of time limits: reminders, urging, rules, the calendar, paused clocks and contracts."""
    reminder = obj(
        {
            "id": integer("Reminder id."),
            "category": text("Which inbox count it belongs to.", enum=REMINDER_CATEGORIES),
            "recipient": text("Username of the person reminded."),
            "subject_type": text("What it is about: `task` or `contract`."),
            "subject_id": text("Id of the task or contract."),
            "title": text("One line for people."),
            "body": text("More words, possibly empty (e.g. the urging message)."),
            "created_at": timestamp("When it was raised."),
            "acknowledged_at": timestamp("When the recipient acknowledged it.", optional=True),
            "resolved_at": timestamp("When its cause went away (e.g. the task was completed).", optional=True),
        },
        description="One notice to one person: a deadline crossing, an urge or a contract expiry.",
    )
    reminders = obj(
        {
            "items": array(ref("Reminder"), "The caller's reminders, newest first (at most 100)."),
            "counts": obj(
                {category: integer(minimum=0) for category in REMINDER_CATEGORIES},
                description="Open (neither acknowledged nor resolved) reminders per category, zeros included.",
                closed=True,
            ),
        },
        description="The caller's reminders and the open ones counted per category.",
    )
    urge_result = obj(
        {
            "task_id": text("The task urged (or refused); absent for a refused case."),
            "case_id": integer("The case refused as a whole (no such case in your units, or no open task)."),
            "result": text("`urged`, `already urged this hour` (nobody reminded again) or `refused`."),
            "reason": text("Why it was refused."),
            "recipients": array(text(), "Who holds the task: its assignee, or its role's members in its unit."),
        },
        required=["result"],
        description="The outcome for one task (or one refused case); each open task of an urged case is listed.",
    )
    rule = obj(
        {
            "process_key": text(),
            "step": text("BPMN id of the step, or `*` for every step of the process."),
            "limit_value": number("How many units the step may take.", exclusiveMinimum=0),
            "limit_unit": text(enum=LIMIT_UNITS),
            "yellow_share": nullable(
                "number", description="Share of the limit after which the task turns yellow (default 0.75)."
            ),
            "yellow_left_minutes": nullable(
                "number", description="Or: minutes before the deadline at which it turns yellow (wins over the share)."
            ),
            "restart_on_sendback": boolean("Whether a sent-back step gets a fresh deadline."),
            "updated_by": text(),
            "updated_at": timestamp("Last change."),
        },
        description="An admin's time limit of a step; applies to tasks opened after it was set.",
    )
    override = obj(
        {
            "day": date("The date."),
            "is_workday": boolean("True: a working day; false: a day off."),
            "note": text("Why, e.g. the name of the holiday."),
        },
        description="An admin's correction of the working-day calendar.",
    )
    overrides = obj(
        {
            "overrides": array(ref("CalendarOverride"), "Every override, by date."),
            "missing_official_years": array(
                integer(),
                "This year or next without an official holiday table: their holidays are projected, so check them.",
            ),
        },
        description="The calendar's overrides and the years whose holidays are guessed.",
    )
    clock = obj(
        {
            "task_id": text(),
            "paused": boolean("Whether the task's clock is now stopped."),
        },
        description="A task's clock after a pause or resume.",
    )
    contract = obj(
        {
            "id": integer("Contract id."),
            "number": text("Contract number."),
            "customer": text("Customer name or number."),
            "unit": text("Code of the unit it belongs to."),
            "owner": nullable("string", description="Who is reminded of its expiry (else the unit head)."),
            "signed_on": date("When it was signed."),
            "expires_on": date("When it expires (moved on by each automatic renewal)."),
            "auto_renew": boolean("Whether it renews itself by `term_months` once expired."),
            "term_months": integer("Renewal term.", minimum=1, maximum=120),
            "state": text(
                "Today (Asia/Shanghai) against its expiry: `reminder` within 30 days, `warning` within 7, "
                "`expired` after it.",
                enum=CONTRACT_STATES,
            ),
        },
        description="A supply contract whose expiry is watched.",
    )
    return {
        "Reminder": reminder,
        "ReminderList": reminders,
        "UrgeResult": urge_result,
        "UrgeReport": obj({"results": array(ref("UrgeResult"), "One entry per task or refused case.")}),
        "TimeLimitRule": rule,
        "CalendarOverride": override,
        "CalendarOverrides": overrides,
        "ClockState": clock,
        "Contract": contract,
        "SupervisionOrder": obj(
            {
                "id": integer("Order id."),
                "case_id": integer("The case it is about."),
                "round_no": nullable("integer", description="The rectification round, when it is about one."),
                "unit": text("The case's responsible unit."),
                "addressed_to": nullable("string", description="The unit head it goes to."),
                "reason": text("What must be done."),
                "is_open": boolean("Open until its addressee (or a supervisor) closes it."),
                "created_at": timestamp("When it was raised."),
                "closed_at": timestamp("When it was closed.", optional=True),
                "case_no": nullable("string", description="The case's number."),
            },
            description="A supervision order (督办单) tracked until closed.",
        ),
        "ArchiveObligation": obj(
            {
                "id": integer("Obligation id."),
                "instance_id": text("The instance whose step produced the documents."),
                "business_key": nullable("string", description="Case number or business key."),
                "step": text("BPMN id of the completed step."),
                "name": text("Name of the step."),
                "responsible": text("Who owes the documents (who completed the step)."),
                "unit": nullable("string", description="Unit of the step."),
                "state": text("open, received or returned.", enum=["open", "received", "returned"]),
                "time_state": text("green, yellow or red against its deadline.", enum=["green", "yellow", "red"]),
                "created_at": timestamp("When the step completed."),
                "due_at": timestamp("When the documents are due at the collector (48 h unless a rule says else)."),
                "ended_at": timestamp("When the collector received or returned them.", optional=True),
                "ended_by": nullable("string", description="The collector."),
                "is_on_time": nullable("boolean", description="Whether they arrived by due_at (once ended)."),
            },
            description="Documents of a completed step owed to the archive collector.",
        ),
    }


def _loop_request_schemas() -> Json:
    return {
        "AddUnit": obj(
            {
                "code": text("New unit code: letters, digits, _ . @ or -.", minLength=1, maxLength=64),
                "name": text(minLength=1, maxLength=200),
                "parent": nullable(
                    "string", default=None, description="Parent unit code; omit for a city. Not below a station."
                ),
            },
            required=["code", "name"],
            closed=True,
        ),
        "CreateTopic": obj(
            {
                "code": text("Topic code, e.g. TARIFF-01.", pattern=TOPIC_CODE),
                "name": text(minLength=1, maxLength=200),
                "business_area": text(enum=BUSINESS_AREAS),
                "criteria": text(default=""),
                "thresholds": {**free_object("Thresholds of the criteria."), "default": {}},
                "data_source": text(default=""),
                "scope": {**array(text(), "Codes of existing units it applies to."), "default": []},
                "argument": text(default=""),
                "effective_date": nullable("string", format="date", default=None),
            },
            required=["code", "name", "business_area"],
            closed=True,
        ),
        "RetireTopic": obj({"reason": text("Why it is retired.", minLength=1, maxLength=2000)}, closed=True),
        "RaiseCase": obj(
            {
                "topic": nullable(
                    "string", default=None, description="Code of an active topic; omit for a case without one."
                ),
                "target": text("Customer, meter or process number.", minLength=1, maxLength=100),
                "anomaly": text("What is wrong.", minLength=1),
                "risk_level": integer("1 (most serious) to 4.", minimum=1, maximum=4),
                "unit": text("Code of an existing unit within the caller's units."),
                "kind": text(enum=CASE_KINDS, default="routine"),
                "source": text(maxLength=200, default=""),
            },
            required=["target", "anomaly", "risk_level", "unit"],
            closed=True,
        ),
        "DocumentUpload": obj(
            {
                "doc_type": text("Document type, e.g. investigation_report.", pattern=DOC_TYPE),
                "step": text("BPMN id of the step the document belongs to.", minLength=1),
                "file": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                    "description": f"The file ({', '.join(DOCUMENT_TYPES)}; at most {MAX_DOCUMENT_MB} MB, "
                    "and within the server's request size limit).",
                },
            },
            description="Multipart form fields of a document upload.",
        ),
        "WaiveDocument": obj(
            {
                "step": text("BPMN id of the step."),
                "doc_type": text("The required document type to waive."),
                "reason": text("Why it is not needed.", minLength=1),
            },
            closed=True,
        ),
    }


def _deadline_request_schemas() -> Json:
    return {
        "RaiseSupervisionOrder": obj(
            {"case_id": integer("The case."), "reason": text("What must be done.", minLength=1, maxLength=2000)},
            closed=True,
        ),
        "Urge": obj(
            {
                "task_ids": {**array(text(), "Open tasks to urge."), "default": []},
                "case_ids": {
                    **array(integer(), "Cases whose open tasks to urge."),
                    "default": [],
                },
                "message": text("Sent with the reminder.", maxLength=500, default=""),
            },
            required=[],
            description="Give task ids, case ids or both (at least one).",
            closed=True,
        ),
        "SetTimeLimitRule": obj(
            {
                "process_key": text("Key of the process.", minLength=1, maxLength=200),
                "step": text("BPMN id of the step, or `*` for every step.", minLength=1, maxLength=200),
                "limit_value": number("Positive; decimals allowed, e.g. 0.1 minutes.", exclusiveMinimum=0),
                "limit_unit": text(enum=LIMIT_UNITS),
                "yellow_share": nullable(
                    "number",
                    exclusiveMinimum=0,
                    exclusiveMaximum=1,
                    default=None,
                    description="Share of the limit after which the task turns yellow, e.g. 0.75 (the default).",
                ),
                "yellow_left_minutes": nullable(
                    "number",
                    exclusiveMinimum=0,
                    default=None,
                    description="Or: minutes before the deadline at which it turns yellow (wins over the share).",
                ),
                "restart_on_sendback": boolean(
                    "False: a sent-back step keeps the deadline it had the first time.", default=True
                ),
            },
            required=["process_key", "step", "limit_value", "limit_unit"],
            closed=True,
        ),
        "SetCalendarOverride": obj(
            {
                "day": date("The date to correct."),
                "is_workday": boolean("True: a working day; false: a day off."),
                "note": text("Why, e.g. the name of the holiday.", maxLength=200, default=""),
            },
            required=["day", "is_workday"],
            closed=True,
        ),
        "PauseClock": obj(
            {"reason": text("What the case waits for.", minLength=1, maxLength=500)},
            closed=True,
        ),
        "AddContract": obj(
            {
                "number": text("Contract number, unique.", minLength=1, maxLength=64),
                "customer": text("Customer name or number.", minLength=1),
                "unit": text("Code of an existing unit within the caller's units."),
                "signed_on": date("When it was signed."),
                "expires_on": date("When it expires; after `signed_on`."),
                "auto_renew": boolean("Renew by `term_months` once expired.", default=False),
                "term_months": integer("Renewal term.", minimum=1, maximum=120, default=12),
                "owner": nullable(
                    "string", default=None, description="Who is reminded of its expiry; the caller when omitted."
                ),
            },
            required=["number", "customer", "unit", "signed_on", "expires_on"],
            closed=True,
        ),
    }


# -- parameters, bodies, responses ---------------------------------------------------------------------------


def path_param(name: str, description: str, schema: Json | None = None) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def query_param(name: str, description: str, schema: Json) -> Json:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def param_ref(name: str) -> Json:
    return {"$ref": f"#/components/parameters/{name}"}


def _parameters() -> Json:
    return {
        "Limit": query_param("limit", "Page size.", integer(minimum=1, maximum=500, default=50)),
        "Offset": query_param("offset", "Items to skip.", integer(minimum=0, default=0)),
        "TimeState": query_param("time_state", "Only this deadline state.", text(enum=TIME_STATES)),
        "ProcessKey": query_param("process_key", "Only this process.", text()),
        "DefinitionKey": path_param("key", "Process key."),
        "VersionNumber": path_param("version", "Version number.", integer(minimum=1)),
        "DraftId": path_param("draft_id", "Draft id.", integer(minimum=1)),
        "InstanceId": path_param("instance_id", "Instance id."),
        "TaskId": path_param("task_id", "Task id."),
        "TopicId": path_param("topic_id", "Id of one topic version.", integer(minimum=0)),
        "TopicCode": path_param("code", "Topic code.", text(pattern=TOPIC_CODE)),
        "CaseId": path_param("case_id", "Case id.", integer(minimum=0)),
        "DocumentId": path_param("document_id", "Document id.", integer(minimum=0)),
        "ReminderId": path_param("reminder_id", "Reminder id.", integer(minimum=0)),
        "BatchId": path_param("batch_id", "Anomaly batch id.", integer(minimum=0)),
    }


def json_body(schema: str, description: str) -> Json:
    return {"required": False, "description": description, "content": {"application/json": {"schema": ref(schema)}}}


def ok(schema: Json, description: str, media_type: str = "application/json") -> Json:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def error(status: int, why: str | None = None) -> Json:
    """A reference to the shared error response of `status`, with this route's reason when given."""
    reference: Json = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    return {**reference, "description": why} if why else reference


def _error_responses() -> Json:
    responses = {name: ok(ref("Error"), description) for name, description in ERRORS.values()}
    responses[ERRORS[401][0]]["headers"] = {
        "WWW-Authenticate": {"description": 'Always `Bearer realm="auditloop"`.', "schema": {"type": "string"}},
    }
    return responses


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[int, Json],
    *,
    errors: dict[int, str | None] | None = None,
    parameters: list[Json] | None = None,
    body: Json | None = None,
    public: bool = False,
) -> Json:
    """One operation; every non-public one may answer 401, and `errors` adds the route's other refusals."""
    refusals: dict[int, str | None] = {} if public else {401: None}
    refusals.update(errors or {})
    op: Json = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = body
    op["responses"] = {str(status): response for status, response in sorted(responses.items())}
    op["responses"].update({str(status): error(status, why) for status, why in sorted(refusals.items())})
    if public:
        op["security"] = []
    return op


# -- paths ---------------------------------------------------------------------------------------------------


def _definition_paths() -> Json:
    upload = {
        "required": True,
        "description": "The BPMN (or DMN) XML as the body, or a multipart form with one or more `file` "
        "fields and optional `forms` JSON files (a form named `x` comes from `x.json`).",
        "content": {
            "application/xml": {"schema": {"type": "string", "contentMediaType": "application/xml"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": array(
                            {"type": "string", "contentMediaType": "application/octet-stream"}, "BPMN or DMN files."
                        ),
                        "forms": array(
                            {"type": "string", "contentMediaType": "application/json"},
                            "Form definitions, one JSON file per form key.",
                        ),
                    },
                    "required": ["file"],
                },
                "encoding": {
                    "file": {"contentType": "application/xml, text/xml, application/octet-stream"},
                    "forms": {"contentType": "application/json"},
                },
            },
        },
    }
    key_version = [param_ref("DefinitionKey"), param_ref("VersionNumber")]
    return {
        "/definitions": {
            "post": operation(
                "deploy",
                "definitions",
                "Validate and publish BPMN/DMN files; changed content becomes a new version.",
                {
                    201: ok(ref("DeployResult"), "Published; at least one new version."),
                    200: ok(ref("DeployResult"), "Nothing changed: the content equals the latest version."),
                },
                errors={
                    403: "Only process owners and admins may deploy.",
                    413: "The upload is too large.",
                    422: "The files were refused: `details.problems` lists each problem, or `details.fields` "
                    "names a missing file, unreadable form JSON or bad query argument.",
                },
                parameters=[
                    query_param("comment", "Note stored with the new version.", text(maxLength=2000, default="")),
                    query_param(
                        "filename",
                        "File name of an XML body (not multipart); decides BPMN vs DMN.",
                        text(examples=["leave_request.bpmn"]),
                    ),
                ],
                body=upload,
            ),
            "get": operation(
                "list_definitions",
                "definitions",
                "All process definitions with their versions.",
                {200: ok(array(ref("Definition")), "The definitions.")},
            ),
        },
        "/definitions/{key}/versions/{version}": {
            "get": operation(
                "get_version",
                "definitions",
                "Metadata of one version.",
                {200: ok(ref("Version"), "The version.")},
                errors={404: "No such process or version."},
                parameters=key_version,
            ),
        },
        "/definitions/{key}/versions/{version}/xml": {
            "get": operation(
                "get_version_xml",
                "definitions",
                "The deployed BPMN XML of one version.",
                {200: ok({"type": "string"}, "The XML.", "application/xml")},
                errors={404: "No such process or version."},
                parameters=key_version,
            ),
        },
    }


def _modeler_paths() -> Json:
    draft_id = [param_ref("DraftId")]
    modelers_only = "Only process owners and admins use the modeler."
    return {
        "/definitions/validate": {
            "post": operation(
                "validate_diagram",
                "definitions",
                "Run every check of a deploy on a diagram as the caller (scripts only for admins); stores nothing.",
                {200: ok(ref("ValidationReport"), "The problems (deploy would refuse) and warnings (advice).")},
                errors={403: modelers_only, 422: "No XML, or a bad body (`details.fields`)."},
                body=json_body("ValidateDiagram", "The diagram."),
            ),
        },
        "/drafts": {
            "get": operation(
                "list_drafts",
                "definitions",
                "The caller's own drafts, most recently saved first.",
                {200: ok(array(ref("Draft")), "The drafts.")},
                errors={403: modelers_only},
            ),
            "post": operation(
                "create_draft",
                "definitions",
                "Save a new draft; it is never checked and never affects running work.",
                {201: ok(ref("Draft"), "The draft.")},
                errors={403: modelers_only, 422: "Empty or too large XML, no name, or too many drafts."},
                body=json_body("CreateDraft", "The diagram and its name."),
            ),
        },
        "/drafts/{draft_id}": {
            "get": operation(
                "get_draft",
                "definitions",
                "One of the caller's drafts with its XML.",
                {200: ok(ref("DraftWithXml"), "The draft.")},
                errors={403: modelers_only, 404: "The caller has no such draft (other people's drafts are hidden)."},
                parameters=draft_id,
            ),
            "put": operation(
                "update_draft",
                "definitions",
                "Overwrite one of the caller's drafts.",
                {200: ok(ref("Draft"), "The draft.")},
                errors={403: modelers_only, 404: "The caller has no such draft.", 422: "Empty XML or no name."},
                parameters=draft_id,
                body=json_body("UpdateDraft", "The diagram and its name."),
            ),
            "delete": operation(
                "discard_draft",
                "definitions",
                "Discard one of the caller's drafts; published versions are untouched.",
                {204: {"description": "Discarded."}},
                errors={403: modelers_only, 404: "The caller has no such draft."},
                parameters=draft_id,
            ),
        },
        "/drafts/{draft_id}/publish": {
            "post": operation(
                "publish_draft",
                "definitions",
                "Publish a draft as new versions with a comment, with the forms the latest versions carry; the "
                "draft goes away. Only admins may publish script or service tasks.",
                {
                    201: ok(ref("DeployResult"), "Published; at least one new version."),
                    200: ok(ref("DeployResult"), "Nothing changed: the content equals the latest version."),
                },
                errors={
                    403: modelers_only,
                    404: "The caller has no such draft.",
                    422: "No comment (`details.fields`), or the diagram was refused: `details.problems` lists each "
                    "problem with its element id and line.",
                },
                parameters=draft_id,
                body=json_body("PublishDraft", "The comment stored with the new version."),
            ),
        },
    }


def _instance_paths() -> Json:
    instance_id = [param_ref("InstanceId")]
    return {
        "/instances": {
            "post": operation(
                "start_instance",
                "instances",
                "Start a process; it runs to its first wait state before the answer. A failing script leaves "
                "the instance in status `error` rather than failing the request.",
                {201: ok(ref("Instance"), "The started instance with its first tasks.")},
                errors={404: "The process (or that version) is not deployed.", 422: "Invalid body."},
                body=json_body("StartInstance", "What to start and with which data."),
            ),
            "get": operation(
                "list_instances",
                "instances",
                "A page of instances the caller may see, newest first.",
                {200: ok(ref("InstancePage"), "The page.")},
                errors={422: "Invalid query argument."},
                parameters=[
                    query_param("status", "Only this status.", text(enum=INSTANCE_STATUSES)),
                    param_ref("ProcessKey"),
                    param_ref("TimeState"),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
        },
        "/instances/{instance_id}": {
            "get": operation(
                "get_instance",
                "instances",
                "An instance with its open tasks and full history.",
                {200: ok(ref("Instance"), "The instance.")},
                errors={404: "No such instance, or the caller may not see it."},
                parameters=instance_id,
            ),
        },
        "/instances/{instance_id}/cancel": {
            "post": operation(
                "cancel_instance",
                "instances",
                "Cancel a running or failed instance and its open tasks; the optional reason goes into the history.",
                {200: ok(ref("Instance"), "The cancelled instance.")},
                errors={
                    403: "Only admins, supervisors and the person who started it may cancel.",
                    404: "No such instance, or the caller may not see it.",
                    409: "The instance already ended, or someone changed it at the same time.",
                    422: "Invalid body.",
                },
                parameters=instance_id,
                body=json_body("Cancel", "Why (optional; the body may be empty)."),
            ),
        },
        "/instances/{instance_id}/retry": {
            "post": operation(
                "retry_instance",
                "instances",
                "Admins: rerun the failed step of an instance in error.",
                {200: ok(ref("Instance"), "The instance after the retry.")},
                errors={
                    403: "Only admins may retry.",
                    404: "No such instance, or the caller may not see it.",
                    409: "The instance is not in error, or someone changed it at the same time.",
                    422: "Invalid body.",
                },
                parameters=instance_id,
                body=json_body("Retry", "Corrected data (optional)."),
            ),
        },
        "/messages": {
            "post": operation(
                "deliver_message",
                "instances",
                "Deliver a BPMN message to the instances waiting for it.",
                {200: ok(ref("MessageResult"), "Who received it (possibly nobody).")},
                errors={409: "A receiving instance was changed at the same time; retry.", 422: "Invalid body."},
                body=json_body("Message", "The message."),
            ),
        },
    }


def _task_paths() -> Json:
    task_id = [param_ref("TaskId")]
    not_found = "No such task, or the caller may not see it."
    return {
        "/tasks": {
            "get": operation(
                "list_tasks",
                "tasks",
                "A page of tasks visible to the caller (the inbox).",
                {200: ok(ref("TaskPage"), "The page.")},
                errors={422: "Invalid query argument."},
                parameters=[
                    query_param(
                        "scope",
                        "`mine`: assigned to me; `group`: unclaimed tasks of my roles; `all`: both.",
                        text(enum=["mine", "group", "all"], default="all"),
                    ),
                    query_param(
                        "state",
                        "Open tasks, or those the caller completed.",
                        text(enum=["open", "completed"], default="open"),
                    ),
                    param_ref("TimeState"),
                    param_ref("ProcessKey"),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
        },
        "/tasks/{task_id}": {
            "get": operation(
                "get_task",
                "tasks",
                "One task with its form definition, the data it sees, and the documents its step requires, "
                "waives and has.",
                {200: ok(ref("TaskDetail"), "The task.")},
                errors={404: not_found},
                parameters=task_id,
            ),
        },
        "/tasks/{task_id}/claim": {
            "post": operation(
                "claim_task",
                "tasks",
                "Take a task of one of your roles for yourself.",
                {200: ok(ref("Task"), "The task, now assigned to the caller.")},
                errors={
                    403: "The task belongs to a role the caller does not have.",
                    404: not_found,
                    409: "Claimed by someone else, or no longer open.",
                },
                parameters=task_id,
            ),
        },
        "/tasks/{task_id}/unclaim": {
            "post": operation(
                "unclaim_task",
                "tasks",
                "Give a claimed task back to its role.",
                {200: ok(ref("Task"), "The task, now unassigned.")},
                errors={
                    403: "Only the assignee or an admin may release it.",
                    404: not_found,
                    409: "The task is no longer open.",
                },
                parameters=task_id,
            ),
        },
        "/tasks/{task_id}/complete": {
            "post": operation(
                "complete_task",
                "tasks",
                "Complete a task with its form data and advance the instance; exactly one completion wins. "
                "Documents the step requires must be attached (or waived) first.",
                {200: ok(ref("CompleteResult"), "The instance after the completion.")},
                errors={
                    403: "The caller may not work this task (not a member of its role).",
                    404: not_found,
                    409: "Already completed, lost a race with another completion, or claimed by someone else.",
                    422: "Invalid form data: `details.fields` names each field; when required documents of "
                    "the step are neither attached nor waived, `details.fields.documents` lists each missing one.",
                },
                parameters=task_id,
                body=json_body("CompleteTask", "The form values."),
            ),
        },
    }


def _unit_paths() -> Json:
    return {
        "/units": {
            "get": operation(
                "list_units",
                "units",
                "Every organisational unit (parents are not guaranteed to come before their children).",
                {200: ok(array(ref("Unit")), "The units.")},
            ),
            "post": operation(
                "add_unit",
                "units",
                "Admins: add a unit under its parent; its level follows from the parent.",
                {201: ok(ref("Unit"), "The new unit.")},
                errors={
                    403: "Only admins may change the organisation.",
                    409: "The unit code is taken (`details.fields.code`).",
                    422: "Invalid body, an unknown parent, or a parent that is a station.",
                },
                body=json_body("AddUnit", "The unit."),
            ),
        },
    }


def _topic_paths() -> Json:
    code = [param_ref("TopicCode")]
    not_deployed = "The topic_approval process is not deployed."
    return {
        "/topics": {
            "get": operation(
                "list_topics",
                "topics",
                "Every version of every topic, the newest version of a code last.",
                {200: ok(array(ref("Topic")), "The topic versions.")},
                parameters=[query_param("status", "Only versions in this status, e.g. `active`.", text())],
            ),
            "post": operation(
                "create_topic",
                "topics",
                "Auditors and admins: draft a new topic (version 1) and start its topic_approval process.",
                {201: ok(ref("Topic"), "The draft.")},
                errors={
                    403: "Only auditors and admins may draft topics.",
                    404: not_deployed,
                    409: "The topic code is taken (`details.fields.code`); revise the topic instead.",
                    422: "Invalid body, or `scope` names an unknown unit.",
                },
                body=json_body("CreateTopic", "The topic."),
            ),
        },
        "/topics/{topic_id}": {
            "get": operation(
                "get_topic",
                "topics",
                "One topic version.",
                {200: ok(ref("Topic"), "The topic version.")},
                errors={404: "No such topic version."},
                parameters=[param_ref("TopicId")],
            ),
        },
        "/topics/{code}/revise": {
            "post": operation(
                "revise_topic",
                "topics",
                "Auditors and admins: draft the next version of a topic through the same approval; the active "
                "version stays active until the new one is.",
                {201: ok(ref("Topic"), "The new draft version.")},
                errors={
                    403: "Only auditors and admins may revise topics.",
                    404: "No topic with this code, or the topic_approval process is not deployed.",
                    409: "The latest version is still in its approval (not active, superseded or retired).",
                },
                parameters=code,
            ),
        },
        "/topics/{code}/retire": {
            "post": operation(
                "retire_topic",
                "topics",
                "Admins: retire the active version of a topic; it raises no more cases.",
                {200: ok(ref("Topic"), "The retired version.")},
                errors={
                    403: "Only admins may retire a topic.",
                    409: "The topic has no active version (or no such topic).",
                    422: "Invalid body or an empty reason.",
                },
                parameters=code,
                body=json_body("RetireTopic", "Why it is retired."),
            ),
        },
    }


def _case_paths() -> Json:
    case_id = [param_ref("CaseId")]
    return {
        "/cases": {
            "get": operation(
                "list_cases",
                "cases",
                "A page of cases in the caller's units, newest first (without their instances).",
                {200: ok(ref("CasePage"), "The page.")},
                errors={422: "Invalid or unknown query argument."},
                parameters=[
                    query_param("status", "Only this status, e.g. `handling` or `closed`.", text()),
                    query_param("topic", "Only cases raised under this topic code.", text()),
                    query_param("unit", "Only cases of this unit.", text()),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
            "post": operation(
                "raise_case",
                "cases",
                "Auditors, dispatchers, supervisors and admins: raise a case in a unit and start its audit_case "
                "process.",
                {201: ok(ref("Case"), "The case with its instance and first tasks.")},
                errors={
                    403: "The caller's roles may not raise cases, or the unit is outside the caller's units.",
                    404: "The audit_case process is not deployed.",
                    409: "The target is white-listed (frozen) under this topic (`details.fields.target`).",
                    422: "Invalid body, an unknown unit, or a topic that does not exist or is not active.",
                },
                body=json_body("RaiseCase", "The case."),
            ),
        },
        "/cases/{case_id}": {
            "get": operation(
                "get_case",
                "cases",
                "A case with its rectification rounds, documents, instance and history.",
                {200: ok(ref("Case"), "The case.")},
                errors={403: "The case belongs to a unit outside the caller's units.", 404: "No such case."},
                parameters=case_id,
            ),
        },
        "/cases/{case_id}/documents": {
            "post": operation(
                "attach_case_document",
                "documents",
                "Attach a file to a step of the case's process (multipart); it gets a number and a barcode.",
                {201: ok(ref("Document"), "The stored document.")},
                errors={
                    403: "The case belongs to a unit outside the caller's units, or the caller is not working "
                    "that step (only admins, reviewers and archive collectors file to any step).",
                    404: "No such case.",
                    413: DOCUMENT_TOO_LARGE,
                    422: "The case has no process, the `file` field is missing or empty, its type is not "
                    "allowed, or `doc_type`/`step` is invalid.",
                },
                parameters=case_id,
                body=_upload_body(),
            ),
        },
    }


def _upload_body() -> Json:
    types = sorted(set(DOCUMENT_TYPES.values()))
    return {
        "required": True,
        "description": "A multipart form with the fields `doc_type` and `step` and the file in `file`.",
        "content": {
            "multipart/form-data": {
                "schema": ref("DocumentUpload"),
                "encoding": {"file": {"contentType": ", ".join([*types, "application/octet-stream"])}},
            },
        },
    }


def _document_paths() -> Json:
    instance_id = [param_ref("InstanceId")]
    types = sorted(set(DOCUMENT_TYPES.values()))
    return {
        "/instances/{instance_id}/documents": {
            "post": operation(
                "attach_instance_document",
                "documents",
                "Attach a file to a step of an instance (multipart); it gets a number and a barcode.",
                {201: ok(ref("Document"), "The stored document.")},
                errors={
                    403: "The caller is not working that step (only admins, reviewers and archive collectors "
                    "file to any step).",
                    404: "No such instance, or the caller may not see it.",
                    413: DOCUMENT_TOO_LARGE,
                    422: "The `file` field is missing or empty, its type is not allowed, or `doc_type`/`step` "
                    "is invalid.",
                },
                parameters=instance_id,
                body=_upload_body(),
            ),
        },
        "/instances/{instance_id}/waivers": {
            "post": operation(
                "waive_document",
                "documents",
                "Reviewers and admins: declare a required document not needed for a step, with a reason; the "
                "step's task can then complete without it.",
                {201: ok(ref("Waiver"), "The recorded waiver.")},
                errors={
                    403: "Only reviewers and admins may waive a required document.",
                    404: "No such instance, or the caller may not see it.",
                    422: "Invalid body or an empty reason.",
                },
                parameters=instance_id,
                body=json_body("WaiveDocument", "What to waive and why."),
            ),
        },
        "/documents/{document_id}": {
            "get": operation(
                "download_document",
                "documents",
                "The content of a document, as an attachment with its stored content type.",
                {
                    200: {
                        "description": "The file bytes; `Content-Type` is the document's `content_type`.",
                        "headers": {
                            "Content-Disposition": {
                                "description": "`attachment; filename*=UTF-8''<file name>`.",
                                "schema": {"type": "string"},
                            },
                            "X-Content-Type-Options": {
                                "description": "Always `nosniff`.",
                                "schema": {"type": "string"},
                            },
                        },
                        "content": {t: {"schema": {"type": "string", "contentMediaType": t}} for t in types},
                    },
                },
                errors={404: "No such document, or it belongs to a unit outside the caller's units."},
                parameters=[param_ref("DocumentId")],
            ),
        },
        "/barcodes/{number}.svg": {
            "get": operation(
                "barcode",
                "documents",
                "The barcode of a document or case number, as SVG.",
                {200: ok({"type": "string", "contentMediaType": "image/svg+xml"}, "The barcode.", "image/svg+xml")},
                errors={422: "Not a number like DOC-2026-000001 or JC-2026-000123."},
                parameters=[
                    path_param("number", "Document or case number.", text(pattern=BARCODE_NUMBER)),
                ],
            ),
        },
    }


def _reminder_paths() -> Json:
    return {
        "/reminders": {
            "get": operation(
                "list_reminders",
                "reminders",
                "The caller's reminders, newest first, with the open ones counted per category.",
                {200: ok(ref("ReminderList"), "The reminders and counts.")},
                errors={422: "Invalid `scope`."},
                parameters=[
                    query_param(
                        "scope",
                        "`mine`: open reminders only; `all_mine`: acknowledged and resolved ones too.",
                        text(enum=["mine", "all_mine"], default="mine"),
                    ),
                ],
            ),
        },
        "/reminders/{reminder_id}/ack": {
            "post": operation(
                "acknowledge_reminder",
                "reminders",
                "Acknowledge one of your reminders; it leaves your open list (acknowledging twice is harmless).",
                {200: ok(ref("Reminder"), "The reminder, acknowledged.")},
                errors={404: "No such reminder, or it is someone else's."},
                parameters=[param_ref("ReminderId")],
            ),
        },
        "/urge": {
            "post": operation(
                "urge",
                "reminders",
                "Supervisors and admins: remind whoever holds each open task (or each open task of the cases) "
                "now; at most one new reminder per task and person per hour. Tasks and cases outside the "
                "caller's units are refused one by one, not the whole request.",
                {200: ok(ref("UrgeReport"), "The outcome per task.")},
                errors={
                    403: "Only supervisors and admins may urge.",
                    422: "Invalid body, or neither `task_ids` nor `case_ids` given.",
                },
                body=json_body("Urge", "What to urge and an optional message."),
            ),
        },
    }


def _deadline_paths() -> Json:
    task_id = [param_ref("TaskId")]
    return {
        "/time-limit-rules": {
            "get": operation(
                "list_rules",
                "deadlines",
                "Every admin time-limit rule.",
                {200: ok(array(ref("TimeLimitRule")), "The rules.")},
            ),
            "put": operation(
                "put_rule",
                "deadlines",
                "Admins: set (create or replace) the time limit of a step; tasks opened from now on use it, "
                "open tasks keep their deadlines.",
                {200: ok(ref("TimeLimitRule"), "The rule as stored.")},
                errors={
                    403: "Only admins may change time-limit rules.",
                    422: "Invalid body: a non-positive limit, an unknown unit or a yellow share outside 0..1 "
                    "(`details.fields`).",
                },
                body=json_body("SetTimeLimitRule", "The rule."),
            ),
        },
        "/calendar/overrides": {
            "get": operation(
                "list_overrides",
                "deadlines",
                "The working-day calendar's overrides, and the years (this and next) whose holidays are "
                "projected because their official table is missing.",
                {200: ok(ref("CalendarOverrides"), "The overrides.")},
            ),
            "post": operation(
                "set_override",
                "deadlines",
                "Admins: declare a date a working day or a day off (replacing an earlier override of that "
                "date); new deadlines use it at once.",
                {201: ok(ref("CalendarOverride"), "The override as stored.")},
                errors={403: "Only admins may change the calendar.", 422: "Invalid body."},
                body=json_body("SetCalendarOverride", "The date and what it is."),
            ),
        },
        "/tasks/{task_id}/pause": {
            "post": operation(
                "pause_task",
                "deadlines",
                "Stop a task's clock while the case waits on the audited party; it neither turns yellow nor red "
                "meanwhile.",
                {200: ok(ref("ClockState"), "The clock is paused.")},
                errors={
                    403: "Only the people who may work the task, supervisors and admins may pause its clock.",
                    404: "No such task.",
                    409: "The clock is already paused, or the task is no longer open.",
                    422: "Invalid body or an empty reason.",
                },
                parameters=task_id,
                body=json_body("PauseClock", "Why the clock stops."),
            ),
        },
        "/tasks/{task_id}/resume": {
            "post": operation(
                "resume_task",
                "deadlines",
                "Restart a paused clock; the deadline and its thresholds move on by the time it was paused.",
                {200: ok(ref("ClockState"), "The clock runs again.")},
                errors={
                    403: "Only the people who may work the task, supervisors and admins may resume its clock.",
                    404: "No such task.",
                    409: "The clock is not paused, or the task is no longer open.",
                },
                parameters=task_id,
            ),
        },
    }


def _contract_paths() -> Json:
    return {
        "/contracts": {
            "get": operation(
                "list_contracts",
                "contracts",
                "Contracts in the caller's units (every unit for admins), soonest expiry first.",
                {200: ok(array(ref("Contract")), "The contracts.")},
                errors={422: "Invalid `state`."},
                parameters=[query_param("state", "Only contracts in this state.", text(enum=CONTRACT_STATES))],
            ),
            "post": operation(
                "add_contract",
                "contracts",
                "Handlers, supervisors and admins: record a contract confirmed at signing; its expiry is then "
                "watched (reminder at 30 days, warning at 7, and automatic renewal when `auto_renew`).",
                {201: ok(ref("Contract"), "The recorded contract.")},
                errors={
                    403: "The caller's roles may not record contracts, or the unit is outside the caller's units.",
                    409: "The contract number is already recorded (`details.fields.number`).",
                    422: "Invalid body, an unknown unit, `expires_on` not after `signed_on`, or `term_months` "
                    "outside 1..120.",
                },
                body=json_body("AddContract", "The contract."),
            ),
        },
    }


def _archive_paths() -> Json:
    def end(name: str, summary: str, body: Json | None = None, extra: dict[int, str] | None = None) -> Json:
        return {
            "post": operation(
                name,
                "documents",
                summary,
                {200: ok(ref("ArchiveObligation"), "The ended obligation.")},
                errors={
                    403: "Only archive collectors and admins.",
                    404: "No such obligation in the caller's units.",
                    409: "Already received or returned.",
                    **(extra or {}),
                },
                parameters=[path_param("obligation_id", "The obligation.", integer())],
                body=body,
            ),
        }

    return {
        "/archive-obligations": {
            "get": operation(
                "list_obligations",
                "documents",
                "Archive obligations: what the caller owes (`scope=mine`) or, for collectors, what is to be "
                "collected in their units (`scope=collect`), soonest due first.",
                {200: ok(array(ref("ArchiveObligation")), "The obligations.")},
                errors={403: "`scope=collect` is for archive collectors.", 422: "Invalid `scope` or `state`."},
                parameters=[
                    query_param("scope", "mine or collect.", text(enum=["mine", "collect"], default="mine")),
                    query_param(
                        "state",
                        "open, received or returned.",
                        text(enum=["open", "received", "returned"], default="open"),
                    ),
                ],
            ),
        },
        "/archive-obligations/{obligation_id}/receive": end(
            "receive_documents", "The collector received the documents: the obligation ends (on time or late)."
        ),
        "/archive-obligations/{obligation_id}/return": end(
            "return_documents",
            "The collector returned the documents with a reason: the obligation ends.",
            body=json_body("RetireTopic", "Why the documents are returned."),
            extra={422: "No reason given."},
        ),
    }


def _supervision_paths() -> Json:
    return {
        "/supervision-orders": {
            "get": operation(
                "list_supervision_orders",
                "reminders",
                "Supervision orders in the caller's units, newest first (`state=all` includes closed ones).",
                {200: ok(array(ref("SupervisionOrder")), "The orders.")},
                parameters=[query_param("state", "open (default) or all.", text(enum=["open", "all"]))],
            ),
            "post": operation(
                "raise_supervision_order",
                "reminders",
                "Supervisors and admins: raise a supervision order on a case to the head of its unit.",
                {201: ok(ref("SupervisionOrder"), "The new order.")},
                errors={
                    403: "Only supervisors and admins.",
                    404: "No such case in the caller's units.",
                    422: "Missing case_id or reason.",
                },
                body=json_body("RaiseSupervisionOrder", "The case and what must be done."),
            ),
        },
        "/supervision-orders/{order_id}/close": {
            "post": operation(
                "close_supervision_order",
                "reminders",
                "Its addressee, a supervisor or an admin closes the order once it is dealt with.",
                {200: ok(ref("SupervisionOrder"), "The closed order.")},
                errors={
                    403: "Not the addressee, a supervisor or an admin.",
                    404: "No such order in the caller's units.",
                },
                parameters=[path_param("order_id", "The order.", integer())],
            ),
        },
    }


def _board_paths() -> Json:
    groups = ["unit", "topic", "step", "person"]
    per_item = obj(
        {
            "task_id": text(),
            "business_key": nullable("string", description="The case number of an urged task."),
            "name": text("The urged task's step name."),
            "result": text("urged / reassigned, already urged this hour, or refused."),
            "reason": text("Why it was refused."),
            "recipients": array(text(), "Who was urged."),
            "to": nullable("string", description="The new assignee (null: back to the role)."),
        },
        required=["task_id", "result"],
    )
    results = obj({"results": array(per_item, "One entry per task.")})
    reassign_body = obj(
        {
            "to": nullable("string", description="Username, or null to give it back to its role."),
            "reason": text("Recorded in the history.", maxLength=500),
        },
        required=["to"],
        closed=True,
    )
    filters = [
        query_param("topic", "Only tasks of cases under this topic code.", text()),
        query_param("risk_level", "Only tasks of cases at this risk level (1 most serious to 4).", integer()),
        query_param("period", "Only tasks begun in this period (2026-11, 2026-W47, 2026-Q4, 2026).", text()),
    ]
    return {
        "/board": {
            "get": operation(
                "get_board",
                "board",
                "Supervisors: open tasks counted green/yellow/red per unit (the children of `unit`, each with "
                "everything below it), topic, step or person; worst first.",
                {
                    200: ok(
                        array(
                            obj(
                                {
                                    "key": text(),
                                    "label": text(),
                                    "green": integer(),
                                    "yellow": integer(),
                                    "red": integer(),
                                    "total": integer(),
                                }
                            )
                        ),
                        "One row per group.",
                    )
                },
                errors={
                    403: "Only supervisors and admins.",
                    422: "Unknown group_by, a unit outside yours, a bad risk level or period.",
                },
                parameters=[
                    query_param("group_by", "unit, topic, step or person.", text(enum=groups)),
                    query_param("unit", "Drill into this unit.", text()),
                    *filters,
                ],
            ),
        },
        "/board/items": {
            "get": operation(
                "get_board_items",
                "board",
                "The open tasks behind a count of the board, worst first.",
                {200: ok(ref("TaskPage"), "A page of tasks.")},
                errors={403: "Only supervisors and admins.", 422: "Invalid filters."},
                parameters=[query_param(n, f"Only this {n}.", text()) for n in ("unit", "step", "person")]
                + [
                    *filters,
                    query_param("time_state", "green, yellow or red.", text(enum=["green", "yellow", "red"])),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
        },
        "/tasks/{task_id}/reassign": {
            "post": operation(
                "reassign_task",
                "board",
                "Supervisors and admins: give an open task to a person of its role in its unit, or back to the role.",
                {200: ok(ref("Task"), "The task.")},
                errors={
                    403: "Only supervisors and admins.",
                    404: "No such task in the caller's units.",
                    409: "The task is no longer open.",
                    422: "The person lacks the role or works elsewhere.",
                },
                parameters=[param_ref("TaskId")],
                body={"required": True, "content": {"application/json": {"schema": reassign_body}}},
            ),
        },
        "/bulk/urge": {
            "post": operation(
                "bulk_urge",
                "board",
                "Supervisors and admins: urge the holders of many tasks; one report entry per task.",
                {200: ok(results, "What happened to each task.")},
                errors={403: "Only supervisors and admins.", 422: "No task ids."},
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": obj(
                                {"task_ids": array(text()), "message": text(maxLength=500)},
                                required=["task_ids"],
                                closed=True,
                            )
                        }
                    },
                },
            ),
        },
        "/bulk/supervision-orders": {
            "post": operation(
                "bulk_raise_supervision_orders",
                "board",
                "Supervisors and admins: raise one supervision order (督办单) per case of the selected tasks or "
                "cases; each item is reported raised (with the order id and its addressee) or refused with why "
                "(outside your units, no case, case finished, an order still open, the same case listed twice).",
                {
                    200: ok(
                        obj(
                            {
                                "results": array(
                                    obj(
                                        {
                                            "task_id": text(),
                                            "case_id": integer(),
                                            "case_no": text(),
                                            "result": text("raised or refused."),
                                            "reason": text("Why it was refused."),
                                            "order_id": integer("The new order."),
                                            "addressed_to": nullable("string", description="The unit head."),
                                        },
                                        required=["result"],
                                    ),
                                    "One entry per task or case given.",
                                )
                            }
                        ),
                        "What happened to each item.",
                    )
                },
                errors={403: "Only supervisors and admins.", 422: "No ids, or no reason."},
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": obj(
                                {
                                    "task_ids": array(text()),
                                    "case_ids": array(integer()),
                                    "reason": text("What must be done.", minLength=1, maxLength=2000),
                                },
                                required=["reason"],
                                closed=True,
                            )
                        }
                    },
                },
            ),
        },
        "/bulk/reassign": {
            "post": operation(
                "bulk_reassign",
                "board",
                "Supervisors and admins: reassign many tasks; each is checked and refusals say why.",
                {200: ok(results, "What happened to each task.")},
                errors={403: "Only supervisors and admins.", 422: "No task ids."},
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": obj(
                                {"task_ids": array(text()), "to": nullable("string"), "reason": text(maxLength=500)},
                                required=["task_ids", "to"],
                                closed=True,
                            )
                        }
                    },
                },
            ),
        },
    }


KPI_LEVELS = ["person", "team", "unit"]
KPI_COUNTS = [
    "cases_raised",
    "cases_completed",
    "cases_overdue",
    "rectification_cases",
    "rectification_accepted",
    "archives_due",
    "archives_received",
    "archives_on_time",
    "step_completions",
    "open_at_start",
    "open_at_end",
    "anomalies_found",
    "anomalies_raised",
]
KPI_RATES = [
    "step_completion_rate",
    "on_time_archive_rate",
    "completion_rate",
    "rectification_completion_rate",
    "overdue_rate",
    "cumulative_completion_rate",
    "audit_initiation_rate",
]


def _frozen_parts() -> Json:
    """`snapshot` and `corrections` of a KPI or score report (a frozen month)."""
    return {
        "snapshot": {
            **obj(
                {"period": text(), "frozen_at": timestamp("When the month was frozen."), "frozen_by": text()},
                description="Null while the month is live; set once it was frozen (the rows are then the frozen "
                "figures).",
            ),
            "type": ["object", "null"],
        },
        "corrections": array(
            obj(
                {
                    "key": text("The person, team or unit."),
                    "label": text(),
                    "figure": text("A count, rate or score part (indicator scores as indicator:<rate>)."),
                    "snapshot": nullable("number", description="The frozen value."),
                    "live": nullable("number", description="The value computed now."),
                    "difference": nullable("number", description="live − snapshot (null when either is null)."),
                }
            ),
            "Figures that changed after the month was frozen (empty while live).",
        ),
    }


def _kpi_paths() -> Json:
    period = {
        **query_param(
            "period", "2026-11 (month), 2026-W47 (ISO week), 2026-Q4 (quarter) or 2026 (year), Asia/Shanghai.", text()
        ),
        "required": True,
    }
    level = query_param("level", "person, team (station) or unit (district); default unit.", text(enum=KPI_LEVELS))
    row = obj(
        {
            "key": text("Username, or unit code."),
            "label": text("Display name, or unit name."),
            **{name: integer() for name in KPI_COUNTS},
            **{
                name: nullable("number", description="A fraction (0.98 = 98%); null: zero denominator.")
                for name in KPI_RATES
            },
        },
        description="One person, team or unit; definitions in docs/kpi.md.",
    )
    refusals: dict[int, str | None] = {403: "Only supervisors and admins.", 422: "Unknown period or level."}

    def download(content_type: str, what: str) -> Json:
        return {
            "description": what,
            "headers": {
                "Content-Disposition": {
                    "description": '`attachment; filename="kpis-<period>….<ext>"`.',
                    "schema": {"type": "string"},
                },
            },
            "content": {content_type: {"schema": {"type": "string", "contentMediaType": content_type}}},
        }

    return {
        "/kpis": {
            "get": operation(
                "get_kpis",
                "evaluation",
                "Supervisors and admins: counts and rates per person, team or unit for a period, in their units.",
                {
                    200: ok(
                        obj(
                            {
                                "period": text(),
                                "level": text(enum=KPI_LEVELS),
                                "rows": array(row),
                                **_frozen_parts(),
                            }
                        ),
                        "One row per person, team or unit; a frozen month's snapshot with its corrections.",
                    )
                },
                errors=refusals,
                parameters=[period, level],
            ),
        },
        "/kpis/trends": {
            "get": operation(
                "get_kpi_trends",
                "evaluation",
                "Supervisors and admins: month by month, the counts and the step completion, on-time archive, "
                "completion and overdue rates of one person/team/unit (`subject`) or of all the level's rows in "
                "their units together; frozen months read their snapshot (`is_frozen`), the others are live.",
                {
                    200: ok(
                        obj(
                            {
                                "level": text(enum=KPI_LEVELS),
                                "subject": nullable("string"),
                                "from": text(),
                                "to": text(),
                                "points": array(
                                    obj(
                                        {
                                            "period": text("A month."),
                                            "is_frozen": boolean("Read from the month's snapshot."),
                                            **{name: integer() for name in KPI_COUNTS},
                                            **{
                                                name: nullable("number", description="A fraction; null: no rate.")
                                                for name in (
                                                    "step_completion_rate",
                                                    "on_time_archive_rate",
                                                    "completion_rate",
                                                    "overdue_rate",
                                                )
                                            },
                                        }
                                    )
                                ),
                            }
                        ),
                        "One point per month.",
                    )
                },
                errors={
                    403: "Only supervisors and admins.",
                    422: "Not months, from after to, more than 36 months, or an unknown subject.",
                },
                parameters=[
                    level,
                    query_param("subject", "A username (person) or unit code; all together when absent.", text()),
                    query_param("from", "First month, e.g. 2026-06 (default: five months before `to`).", text()),
                    query_param("to", "Last month, e.g. 2026-11 (default: this month).", text()),
                ],
            ),
        },
        "/kpis/snapshots": {
            "get": operation(
                "list_kpi_snapshots",
                "evaluation",
                "Supervisors and admins: the frozen months, latest first.",
                {
                    200: ok(
                        array(obj({"period": text(), "frozen_at": timestamp("When."), "frozen_by": text()})),
                        "The frozen months.",
                    )
                },
                errors={403: "Only supervisors and admins."},
            ),
            "post": operation(
                "freeze_kpi_month",
                "evaluation",
                "Admins: freeze an ended month's counts, rates and scores (every level, the whole organisation). "
                "The month-end job does this by itself; later changes then show as corrections.",
                {
                    201: ok(
                        obj(
                            {
                                "period": text(),
                                "frozen_at": timestamp("When."),
                                "frozen_by": text(),
                                "figures": integer("Figures frozen."),
                            }
                        ),
                        "The snapshot.",
                    )
                },
                errors={
                    403: "Only admins.",
                    409: "The month is frozen already.",
                    422: "Not a month, or the month has not ended.",
                },
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": obj({"period": text("A month, e.g. 2026-11.")}, required=["period"], closed=True)
                        }
                    },
                },
            ),
        },
        "/kpis/export.xlsx": {
            "get": operation(
                "export_kpis_xlsx",
                "evaluation",
                "The KPIs of a period as an Excel workbook: one sheet per level, rates as percentages.",
                {200: download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "The workbook.")},
                errors=refusals,
                parameters=[period],
            ),
        },
        "/kpis/export.csv": {
            "get": operation(
                "export_kpis_csv",
                "evaluation",
                "The KPIs of one level as CSV (UTF-8 with BOM): rates as fractions, empty where there is none.",
                {200: download("text/csv", "The CSV file.")},
                errors=refusals,
                parameters=[period, level],
            ),
        },
    }


def _score_schemas() -> Json:
    indicator = obj(
        {
            "key": text("A rate of the evaluation (docs/kpi.md), e.g. `step_completion_rate`."),
            "label": text("Name shown in reports."),
            "base_value": number("The rate that earns the full score (higher) or above which points go (lower)."),
            "full_score": number("Score of a rate that meets its base value."),
            "direction": text("Whether a higher or a lower rate is better.", enum=SCORE_DIRECTIONS),
            "weight": number("Relative weight in the indicator score."),
            "is_enabled": boolean("Switched off indicators are not scored."),
            "updated_by": nullable("string", description="Admin who last changed it; null for a default."),
            "updated_at": timestamp("When it was last changed.", optional=True),
        },
        description="How one rate is scored in the composite quality score (综合得分).",
    )
    adjustment = obj(
        {
            "id": integer(),
            "period": text("The period, e.g. 2026-11."),
            "level": text(enum=KPI_LEVELS),
            "subject_key": text("Username, or unit code."),
            "kind": text(enum=ADJUSTMENT_KINDS),
            "value": number(),
            "reason": text(),
            "created_by": text(),
            "created_at": timestamp("When it was given."),
        },
        description="A process score, business score, deduction or bonus of one person, team or unit.",
    )
    part = "null: none given (counts as 0)."
    score = obj(
        {
            "key": text("Username, or unit code."),
            "label": text("Display name, or unit name."),
            "indicators": {
                "type": "object",
                "description": "Each enabled indicator's score (0..full_score); null: no rate.",
                "additionalProperties": nullable("number"),
            },
            "indicator_score": nullable(
                "number", description="Weighted mean of the indicator scores, out of 100; null: no rate at all."
            ),
            "process_score": nullable("number", description=f"Process indicator score (0..100); {part}"),
            "business_score": nullable("number", description=f"Business evaluation score (0..100); {part}"),
            "deductions": number("Sum of the direct deductions."),
            "bonus": number("Sum of the bonus points."),
            "total": number("indicator × 50% + (process × 10% + business × 40%) − deductions + bonus."),
            "rank": integer("Dense rank by total, 1 = best; equal totals share a rank.", minimum=1),
        },
        description="One person, team or unit's composite quality score; definitions in docs/kpi.md.",
    )
    return {
        "KpiIndicator": indicator,
        "KpiAdjustment": adjustment,
        "KpiScore": score,
        "SetKpiIndicator": obj(
            {
                "label": nullable("string", minLength=1, maxLength=200, default=None, description="Keep it: null."),
                "base_value": number("Above 0 when higher is better; from 0 to below 1 when lower is better."),
                "full_score": number("Positive, e.g. 100.", exclusiveMinimum=0),
                "direction": text(enum=SCORE_DIRECTIONS),
                "weight": number("Relative weight, ≥ 0.", minimum=0),
                "is_enabled": boolean(default=True),
            },
            required=["base_value", "full_score", "direction", "weight"],
            closed=True,
        ),
        "AddKpiAdjustment": obj(
            {
                "period": text("2026-11, 2026-W47, 2026-Q4 or 2026.", minLength=4, maxLength=16),
                "level": text(enum=KPI_LEVELS),
                "subject_key": text("Username (person) or station / district code (team / unit).", maxLength=80),
                "kind": text(
                    "Process and business scores: the latest counts; deductions and bonuses add up.",
                    enum=ADJUSTMENT_KINDS,
                ),
                "value": number("0..100 for a score, ≥ 0 for a deduction or bonus."),
                "reason": text("Why.", minLength=1, maxLength=2000),
            },
            closed=True,
        ),
    }


def _score_paths() -> Json:
    period = {**query_param("period", "2026-11, 2026-W47, 2026-Q4 or 2026, Asia/Shanghai.", text()), "required": True}
    level = query_param("level", "person, team (station) or unit (district); default unit.", text(enum=KPI_LEVELS))
    return {
        "/kpi-indicators": {
            "get": operation(
                "list_indicators",
                "evaluation",
                "How each rate is scored (the defaults until an admin changes one).",
                {200: ok(array(ref("KpiIndicator")), "The indicators, by key.")},
            ),
        },
        "/kpi-indicators/{key}": {
            "put": operation(
                "put_indicator",
                "evaluation",
                "Admins: set the base value, full score, direction, weight and switch of one indicator; recorded "
                "in the history with its before and after.",
                {200: ok(ref("KpiIndicator"), "The indicator as stored.")},
                errors={
                    403: "Only admins may change indicators.",
                    422: "Not a rate of the evaluation (`key`), or an invalid value (`details.fields`).",
                },
                parameters=[path_param("key", "A rate of the evaluation, e.g. `overdue_rate`.")],
                body=json_body("SetKpiIndicator", "The indicator."),
            ),
        },
        "/kpi-adjustments": {
            "post": operation(
                "add_adjustment",
                "evaluation",
                "Supervisors and admins: give a process score, business score, deduction or bonus, with a reason, "
                "to a person, team or unit of their units for a period.",
                {201: ok(ref("KpiAdjustment"), "The adjustment as stored.")},
                errors={
                    403: "Only supervisors and admins, for their own units.",
                    422: "Invalid body, a value out of bounds, an empty reason or an unknown subject.",
                },
                body=json_body("AddKpiAdjustment", "The adjustment."),
            ),
        },
        "/kpis/scores": {
            "get": operation(
                "get_scores",
                "evaluation",
                "Supervisors and admins: the composite quality score (综合得分) and rank of each person, team or "
                "unit for a period, in their units, best first.",
                {
                    200: ok(
                        obj(
                            {
                                "period": text(),
                                "level": text(enum=KPI_LEVELS),
                                "rows": array(ref("KpiScore")),
                                **_frozen_parts(),
                            }
                        ),
                        "One row per person, team or unit; a frozen month's snapshot with its corrections.",
                    )
                },
                errors={403: "Only supervisors and admins.", 422: "Unknown period or level."},
                parameters=[period, level],
            ),
        },
    }


def _meta_paths() -> Json:
    return {
        "/openapi.json": {
            "get": operation(
                "openapi",
                "meta",
                "This document.",
                {200: ok({"type": "object"}, "The OpenAPI document.")},
                public=True,
            ),
        },
    }


def _move_schemas() -> Json:
    reason = obj(
        {
            "code": text(
                "Stable code: open_step_missing, done_step_missing, called_process_missing, not_running, "
                "other_version, other_process, state_not_portable, not_found, changed, refused."
            ),
            "element_id": nullable("string", description="The BPMN element concerned, when there is one."),
            "message": text("The reason in a sentence."),
        },
        description="Why an instance cannot move.",
    )
    report = obj(
        {
            "instance_id": text(),
            "business_key": nullable("string"),
            "unit": nullable("string"),
            "status": text("The instance's status.", enum=[*INSTANCE_STATUSES, "unknown"]),
            "from_version": integer(),
            "to_version": integer(),
            "open_steps": array(text(), "Element ids the instance stands on (open, waiting, running, failed)."),
            "result": text(
                "`movable` (dry run), `moved`, `refused` (see reasons) or `conflict` (changed since the dry run).",
                enum=["movable", "moved", "refused", "conflict"],
            ),
            "reasons": array(ref("MoveReason")),
            "lock": integer(
                "The instance's lock version when read; pass it back in `expected` to move only "
                "instances unchanged since the dry run."
            ),
        },
        description="One instance in a version move.",
    )
    element = obj(
        {
            "bpmn_id": text("Element id in the diagram."),
            "state": text("Where the element stands.", enum=["completed", "active", "waiting", "error"]),
            "process": text("The instance's process key, or that of a called process."),
            "waits_for": nullable("string", enum=["timer", "message", None], description="For waiting events."),
            "time_state": nullable(
                "string", enum=[*TIME_STATES, None], description="For an open human task: its time state."
            ),
        },
        description="The state of one diagram element of an instance.",
    )
    called = obj(
        {
            "activity": text("The calling element (call activity or sub-process)."),
            "process": text("The called process."),
            "status": text(enum=["running", "completed"]),
        },
        description="A process the instance called; it runs inside the instance.",
    )
    return {
        "MoveReason": reason,
        "MoveReport": report,
        "MoveResult": obj({"dry_run": boolean(), "results": array(ref("MoveReport"))}),
        "ElementState": element,
        "CalledProcess": called,
        "InstanceDiagram": obj(
            {
                "instance_id": text(),
                "process_key": text(),
                "version": integer(),
                "status": text(enum=INSTANCE_STATUSES),
                "elements": array(ref("ElementState")),
                "called": array(ref("CalledProcess")),
            },
            description="Element id -> state, for colouring the instance's diagram.",
        ),
        "Cancel": obj(
            {"reason": text("Why, recorded in the history.", maxLength=500, default="")}, required=[], closed=True
        ),
        "MoveInstances": obj(
            {
                "from_version": integer("The version the instances run on.", minimum=1),
                "to_version": integer("A newer version of the same definition.", minimum=1),
                "dry_run": boolean("Only report (the default); false moves.", default=True),
                "instance_ids": nullable(
                    "array", items=text(), minItems=1, maxItems=500, description="These instances only."
                ),
                "unit": nullable("string", maxLength=64, description="Instances of this unit and those below it."),
                "topic": nullable("string", maxLength=64, description="Instances of cases under this audit topic."),
                "status": nullable(
                    "string",
                    enum=[*INSTANCE_STATUSES, None],
                    description="Instances in this status (default: running and error).",
                ),
                "expected": nullable(
                    "object",
                    additionalProperties={"type": "integer"},
                    description="Instance id -> `lock` from the dry run: an instance changed since is not moved.",
                ),
            },
            required=["from_version", "to_version"],
            closed=True,
        ),
        "MoveInstance": obj(
            {
                "to_version": integer("A newer version of the instance's definition.", minimum=1),
                "dry_run": boolean("Only report.", default=False),
                "expected_lock": nullable("integer", description="The `lock` a dry run showed; 409 if it changed."),
            },
            required=["to_version"],
            closed=True,
        ),
    }


def _move_paths() -> Json:
    return {
        "/instances/{instance_id}/diagram": {
            "get": operation(
                "get_instance_diagram",
                "instances",
                "The state of each element the instance reached (completed, active, waiting, error), open human "
                "tasks with their time state, and the processes it called.",
                {200: ok(ref("InstanceDiagram"), "The diagram state.")},
                errors={404: "No such instance, or the caller may not see it."},
                parameters=[param_ref("InstanceId")],
            ),
        },
        "/instances/{instance_id}/move": {
            "post": operation(
                "move_instance",
                "instances",
                "Admins and process owners: move one running instance onto a newer version of its definition "
                "(every step it stands on must exist there by element id). Recorded in the history.",
                {200: ok(ref("MoveReport"), "Moved (or, with dry_run, movable).")},
                errors={
                    403: "Only admins and process owners may move instances.",
                    404: "No such instance or version, or the caller may not see it.",
                    409: "The instance cannot move (`details.reasons`), or it changed since `expected_lock`.",
                    422: "Invalid body, or `to_version` is not newer.",
                },
                parameters=[param_ref("InstanceId")],
                body=json_body("MoveInstance", "Where to move it."),
            ),
        },
        "/definitions/{key}/migrations": {
            "post": operation(
                "move_instances",
                "definitions",
                "Admins and process owners: move the instances of one version onto a newer one, chosen by ids or "
                "by filter. `dry_run` (the default) only reports which can move and why others cannot; a real "
                "move is one transaction per instance and is recorded in each instance's history.",
                {200: ok(ref("MoveResult"), "One line per instance.")},
                errors={
                    403: "Only admins and process owners may move instances.",
                    404: "No such definition or version.",
                    422: "Invalid body, or `to_version` is not newer than `from_version`.",
                },
                parameters=[path_param("key", "Key of the process definition.")],
                body=json_body("MoveInstances", "Which instances, and from/to which version."),
            ),
        },
    }


# -- administration ------------------------------------------------------------------------------------------


def _admin_schemas() -> Json:
    role_name = text("A role name (no commas, no leading space).", minLength=1, maxLength=80)
    return {
        "User": obj(
            {
                "username": text(),
                "display_name": text(),
                "email": nullable("string"),
                "unit": nullable("string", description="Unit code; null: no unit (sees every unit)."),
                "roles": array(text()),
                "is_active": boolean("False once deactivated: no sign-in, no tokens."),
                "created_at": timestamp("When the account was made.", optional=True),
            }
        ),
        "UserPage": _page("User"),
        "NewUser": obj(
            {
                "username": text("1–80 letters, digits, _ . @ or -.", minLength=1, maxLength=80),
                "display_name": text(maxLength=200, default=""),
                "email": nullable("string", maxLength=200, default=None),
                "unit": nullable("string", default=None, description="An existing unit code."),
                "roles": array(role_name, "At least one role."),
                "password": nullable(
                    "string", default=None, description="At least 8 characters; omit for a token-only account."
                ),
            },
            required=["username", "roles"],
            closed=True,
        ),
        "UserChange": obj(
            {
                "display_name": text(maxLength=200),
                "email": nullable("string", maxLength=200),
                "unit": nullable("string", description="An existing unit code, or null for none."),
                "roles": array(role_name, "The whole new set of roles (at least one)."),
            },
            required=[],
            closed=True,
            description="Only the keys sent change.",
        ),
        "NewPassword": obj({"password": text("At least 8 characters.", minLength=1, maxLength=1000)}, closed=True),
        "RenameUnit": obj({"name": text(minLength=1, maxLength=200)}, closed=True),
        "MoveUnit": obj(
            {"parent": nullable("string", description="The new parent unit's code; null: a top-level unit.")},
            closed=True,
        ),
        "Role": obj(
            {
                "name": text(),
                "name_zh": text("Chinese name (empty for roles AuditLoop does not know)."),
                "may": text("What the role may do (empty for roles AuditLoop does not know)."),
                "is_known": boolean("A role the built-in processes and pages give meaning to."),
                "holders": array(text(), "Usernames of the active users holding it."),
            }
        ),
        "Token": obj(
            {
                "id": integer(),
                "username": text(),
                "name": text("What the token is for."),
                "created_at": timestamp("When it was made."),
                "revoked_at": timestamp("When it was revoked.", optional=True),
            }
        ),
        "NewToken": obj(
            {"username": text(minLength=1, maxLength=80), "name": text("What it is for.", maxLength=200, default="")},
            required=["username"],
            closed=True,
        ),
        "TokenSecret": obj(
            {
                "username": text(),
                "name": text(),
                "token": text("The secret: shown this once, only its hash is stored."),
            }
        ),
        "AdminChange": obj(
            {
                "id": integer(),
                "at": timestamp("When."),
                "who": nullable("string", description="The admin's username (null: the system or the CLI)."),
                "kind": text("admin.user.created, admin.unit.moved, admin.token.revoked …"),
                "object": nullable("string", description="What it was about: user:NAME, unit:CODE, token:ID …"),
                "message": text(),
                "before": {"description": "The object before (null when created)."},
                "after": {"description": "The object after."},
            }
        ),
        "AdminChangePage": _page("AdminChange"),
    }


def _admin_paths() -> Json:
    username = [path_param("username", "Username.")]
    unit_code = [path_param("code", "Unit code.")]
    admins = "Only admins."
    return {
        "/users": {
            "get": operation(
                "list_users",
                "admin",
                "Admins: users by search text (username, display name, email), unit, role and state.",
                {200: ok(ref("UserPage"), "A page of users, by username.")},
                errors={403: admins, 422: "Invalid query parameters."},
                parameters=[
                    query_param("q", "Text in the username, display name or email.", text()),
                    query_param("unit", "Only users of this unit (not the units below).", text()),
                    query_param("role", "Only holders of this role.", text()),
                    query_param("active", "true: active users only; false: deactivated only.", boolean()),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
            "post": operation(
                "create_user",
                "admin",
                "Admins: create a user with roles, a unit and an initial password.",
                {201: ok(ref("User"), "The new user.")},
                errors={
                    403: admins,
                    409: "The username is taken (`details.fields.username`).",
                    422: "Invalid fields (`details.fields`): username, role, email, password or unit.",
                },
                body=json_body("NewUser", "The user."),
            ),
        },
        "/users/{username}": {
            "get": operation(
                "get_user",
                "admin",
                "Admins: one user.",
                {200: ok(ref("User"), "The user.")},
                errors={403: admins, 404: "No such user."},
                parameters=username,
            ),
            "patch": operation(
                "change_user",
                "admin",
                "Admins: change display name, email, unit and/or roles; all or nothing, recorded before and after.",
                {200: ok(ref("User"), "The user as changed.")},
                errors={
                    403: admins,
                    404: "No such user.",
                    422: "Invalid fields, an unknown unit, or an admin taking the admin role from themselves.",
                },
                parameters=username,
                body=json_body("UserChange", "The fields to change."),
            ),
        },
        "/users/{username}/password": {
            "post": operation(
                "reset_password",
                "admin",
                "Admins: set a new password and lift any sign-in lock (the audit log never holds the password).",
                {200: ok(ref("User"), "The user.")},
                errors={403: admins, 404: "No such user.", 422: "Too short (fewer than 8 characters)."},
                parameters=username,
                body=json_body("NewPassword", "The new password."),
            ),
        },
        "/users/{username}/deactivate": {
            "post": operation(
                "deactivate_user",
                "admin",
                "Admins: the user can no longer sign in or use tokens; their sessions end at the next request.",
                {200: ok(ref("User"), "The user.")},
                errors={
                    403: admins,
                    404: "No such user.",
                    409: "Already deactivated.",
                    422: "Admins cannot deactivate themselves.",
                },
                parameters=username,
            ),
        },
        "/users/{username}/reactivate": {
            "post": operation(
                "reactivate_user",
                "admin",
                "Admins: a deactivated user may sign in again.",
                {200: ok(ref("User"), "The user.")},
                errors={403: admins, 404: "No such user.", 409: "Already active."},
                parameters=username,
            ),
        },
        "/units/{code}/rename": {
            "post": operation(
                "rename_unit",
                "units",
                "Admins: a new name for a unit (its code stays).",
                {200: ok(ref("Unit"), "The unit.")},
                errors={403: admins, 404: "No such unit.", 422: "Empty or too long a name."},
                parameters=unit_code,
                body=json_body("RenameUnit", "The new name."),
            ),
        },
        "/units/{code}/move": {
            "post": operation(
                "move_unit",
                "units",
                "Admins: put a unit, with the units below it, under another parent; levels follow the new place.",
                {200: ok(ref("Unit"), "The unit in its new place.")},
                errors={
                    403: admins,
                    404: "No such unit.",
                    422: "An unknown parent, the unit itself or one below it (a cycle), or a place where units "
                    "would fall below a station (`details.fields.parent`).",
                },
                parameters=unit_code,
                body=json_body("MoveUnit", "The new parent."),
            ),
        },
        "/roles": {
            "get": operation(
                "list_roles",
                "admin",
                "Admins: the known roles with what each may do, and every other role held, with their holders.",
                {200: ok(array(ref("Role")), "The roles.")},
                errors={403: admins},
            ),
        },
        "/tokens": {
            "get": operation(
                "list_tokens",
                "admin",
                "Admins: API tokens, newest first (never their secrets).",
                {200: ok(array(ref("Token")), "The tokens.")},
                errors={403: admins, 404: "No such user."},
                parameters=[query_param("user", "Only this user's tokens.", text())],
            ),
            "post": operation(
                "create_token",
                "admin",
                "Admins: a new API token for an active user; the secret is in this answer only.",
                {201: ok(ref("TokenSecret"), "The token and its secret.")},
                errors={403: admins, 422: "An unknown or deactivated user, or too long a name."},
                body=json_body("NewToken", "Whose token and what for."),
            ),
        },
        "/tokens/{token_id}/revoke": {
            "post": operation(
                "revoke_token",
                "admin",
                "Admins: the token stops working at once.",
                {200: ok(ref("Token"), "The revoked token.")},
                errors={403: admins, 404: "No such token.", 409: "Already revoked."},
                parameters=[path_param("token_id", "Token id.", integer(minimum=0))],
            ),
        },
        "/audit-log": {
            "get": operation(
                "read_audit_log",
                "admin",
                "Admins: every admin change (users, units, tokens, time-limit rules, calendar, topics), newest "
                "first, with who, when, what and the object before and after.",
                {200: ok(ref("AdminChangePage"), "A page of changes.")},
                errors={403: admins, 422: "Invalid filters: a kind outside admin.*, a bad date, until before since."},
                parameters=[
                    query_param("who", "Only changes by this username.", text()),
                    query_param("kind", "A kind (admin.user.created) or a prefix (admin.user).", text()),
                    query_param("object", "Only changes of this object, e.g. user:alice or unit:JC-DONG.", text()),
                    query_param("since", "From this day (configured time zone), included.", date()),
                    query_param("until", "To this day (configured time zone), included.", date()),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
        },
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built on first call, then shared: do not mutate it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AuditLoop API",
            "version": "1",
            "description": "Deploy BPMN processes, start and follow instances, work human tasks, and run the "
            "audit loop: units, topics, cases and their documents; watch time limits with reminders, urging, "
            "working-day rules, paused clocks and contract expiries. "
            'Errors are JSON `{"error": {"code", "message", "details"}}`; '
            "datetimes are ISO 8601 with offset.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "definitions", "description": "Deployed BPMN/DMN processes and their versions."},
            {"name": "instances", "description": "Running and finished cases, and messages to them."},
            {"name": "tasks", "description": "Human tasks: the inbox, claiming and completing."},
            {"name": "units", "description": "The organisational tree: city, district/county, station."},
            {"name": "topics", "description": "Audit topics: drafting, approval, revision and retirement."},
            {"name": "cases", "description": "Audit cases with their rectification rounds."},
            {"name": "documents", "description": "Files attached to process steps, waivers and barcodes."},
            {"name": "reminders", "description": "A person's notices and urging late work."},
            {"name": "deadlines", "description": "Time-limit rules, the working-day calendar and paused clocks."},
            {"name": "contracts", "description": "Supply contracts and their expiry."},
            {"name": "board", "description": "Supervisors: time-state counts, their items, bulk actions."},
            {"name": "evaluation", "description": "Supervisors: KPIs per person, team and unit, and exports."},
            {"name": "admin", "description": "Admins: users, roles, API tokens and the audit log of admin changes."},
            {"name": "intake", "description": "Anomaly batches under a topic and each topic's intake rules."},
            {"name": "reports", "description": "Daily, weekly and monthly anomaly reports (三报) and exports."},
            {"name": "meta", "description": "About the API itself."},
        ],
        "paths": {
            **_definition_paths(),
            **_modeler_paths(),
            **_instance_paths(),
            **_task_paths(),
            **_unit_paths(),
            **_topic_paths(),
            **_case_paths(),
            **_document_paths(),
            **_reminder_paths(),
            **_deadline_paths(),
            **_contract_paths(),
            **_archive_paths(),
            **_supervision_paths(),
            **_board_paths(),
            **_kpi_paths(),
            **_score_paths(),
            **_move_paths(),
            **_admin_paths(),
            **_intake_paths(),
            **_anomaly_report_paths(),
            **_meta_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Send `Authorization: Bearer <token>`; create a token with "
                    "`auditloop token create NAME`.",
                },
            },
            "schemas": _schemas(),
            "parameters": _parameters(),
            "responses": _error_responses(),
        },
    }


# -- anomaly intake ------------------------------------------------------------------------------------------

MAX_BATCH_ITEMS = 100_000
INTAKE_SOURCES = ["api", "upload", "sql"]
BATCH_STATUSES = ["pending", "processing", "done", "failed"]


def _intake_schemas() -> Json:
    """Anomaly items, batches with their reports, and a topic's intake settings."""
    item = obj(
        {
            "external_id": text("The sending system's id of this anomaly; unique per topic (resending is a no-op)."),
            "target": text("Customer, meter or business process number (at most 100 characters)."),
            "unit": text("Code of the unit it belongs to (or a code of the topic's unit map)."),
            "value": nullable("number", description="The measured value; required when the topic has thresholds."),
            "observed_at": text("When it was found: ISO 8601 date or datetime; without offset it is Beijing time."),
            "description": text("What is wrong (becomes the case's anomaly text)."),
            "data": {"anyOf": [free_object(), {"type": "null"}], "description": "Any further values (≤ 4000 chars)."},
        },
        required=["external_id", "target", "unit", "observed_at", "description"],
        description="One anomaly. Invalid items are refused row by row in the batch report, never the whole batch.",
        closed=True,
    )
    rejection = obj(
        {
            "row_no": integer("Row number in the batch, from 1."),
            "external_id": nullable("string", description="The row's external id, when it had one."),
            "problems": {
                "type": "object",
                "description": "Field name (or `item`) to the reasons it was refused.",
                "additionalProperties": array(text()),
            },
        },
        description="A refused row of a batch.",
    )
    counts = {
        "received": integer("Items in the batch."),
        "processed": integer("Items worked so far."),
        "rejected": integer("Items refused (see `rejections`)."),
        "unchanged": integer("Items whose external id was already taken in (idempotent resend): nothing changed."),
        "recorded": integer("Items below the warning threshold: recorded only."),
        "warned": integer("Items at or above the warning threshold: recorded, the unit's head reminded."),
        "skipped": integer("Items whose target is white-listed (frozen) under the topic."),
        "merged": integer("Items attached to an open case of the same topic and target."),
        "raised": integer("Cases created."),
    }
    batch = obj(
        {
            "id": integer("Batch id."),
            "topic_code": text("The topic it was sent under."),
            "source": text("How it came in.", enum=INTAKE_SOURCES),
            "status": text("pending until a worker takes it, processing, then done (or failed).", enum=BATCH_STATUSES),
            "submitted_by": text("Who sent it (`scheduler` for SQL checks)."),
            "submitted_at": timestamp("When it was sent."),
            "started_at": timestamp("When work on it began.", optional=True),
            "finished_at": timestamp("When it was done.", optional=True),
            **counts,
            "error": nullable("string", description="Why it failed, when it did."),
            "rejections": array(ref("AnomalyRejection"), "Refused rows by row number (GET of one batch only)."),
            "url": text("Where to follow it."),
        },
        description="An anomaly batch and its report.",
    )
    settings = obj(
        {
            "topic_code": text(),
            "warn_at": nullable("number", description="Value at or above which an item warns; null: not used."),
            "raise_at": nullable(
                "number",
                description="Value at or above which an item raises a case; null: not used. "
                "Without thresholds every item raises a case.",
            ),
            "risk_level": integer("Risk level of the cases raised (1 most serious … 4).", minimum=1, maximum=4),
            "unit_map": {
                "type": "object",
                "description": "Item unit code to responsible unit code; codes not in it are used as they are.",
                "additionalProperties": text(),
            },
            "assign_handler": boolean("With start_at_handle: the handler with least open work in the unit."),
            "start_at_handle": boolean("Cases start straight at handling in their unit instead of at dispatch."),
            "has_sql_source": boolean("Whether a SQL source is set (its URL is never shown)."),
            "sql_query": text("The SELECT returning the item fields."),
            "check_every_hours": number("How often the SQL check runs (default daily)."),
            "next_check_at": timestamp("When the SQL check runs next.", optional=True),
            "last_check_at": timestamp("When it last ran.", optional=True),
            "last_check_error": nullable("string", description="Why the last check failed, if it did."),
            "updated_by": nullable("string"),
            "updated_at": timestamp("When the settings last changed.", optional=True),
        },
        description="How a topic takes in anomalies.",
    )
    send = obj(
        {
            "topic": text("Code of an active topic.", pattern=TOPIC_CODE),
            "items": array(ref("AnomalyItem"), f"1 to {MAX_BATCH_ITEMS} items.") | {"maxItems": MAX_BATCH_ITEMS},
        },
        description="A batch of anomalies.",
        closed=True,
    )
    put = obj(
        {
            "warn_at": nullable("number"),
            "raise_at": nullable("number"),
            "risk_level": integer(minimum=1, maximum=4, default=3),
            "unit_map": {"type": "object", "additionalProperties": text()},
            "assign_handler": boolean(default=False),
            "start_at_handle": boolean(default=False),
            "sql_url": nullable(
                "string",
                description="SQLAlchemy URL of a read-only source (postgresql or sqlite); stored encrypted and "
                "never shown. Absent: kept; null: removed.",
            ),
            "sql_query": text("One SELECT (or WITH … SELECT) returning the item fields as columns."),
            "check_every_hours": number(minimum=1, maximum=744, default=24),
        },
        required=[],
        description="A topic's intake settings (replaces them all; absent fields take their defaults).",
        closed=True,
    )
    return {
        "AnomalyItem": item,
        "AnomalyRejection": rejection,
        "AnomalyBatch": batch,
        "TopicIntake": settings,
        "SendAnomalies": send,
        "SetTopicIntake": put,
    }


def _intake_paths() -> Json:
    senders = "Only auditors, dispatchers, supervisors and admins."
    return {
        "/anomalies": {
            "post": operation(
                "submit_anomalies",
                "intake",
                "Send a batch of anomalies under a topic. The batch is stored and answered with 202; up to 1,000 "
                "items are worked before the answer (it holds the report), larger batches by the scheduler in "
                "chunks of 1,000 (follow GET /anomaly-batches/{batch_id}). Every item goes through validation, "
                "the white list, deduplication (external id per topic; open case per target), the topic's "
                "thresholds and dispatch rule.",
                {202: ok(ref("AnomalyBatch"), "The batch (done already when it was small).")},
                errors={
                    403: senders,
                    413: f"More than {MAX_BATCH_ITEMS} items, or a body over 64 MB: split the batch.",
                    422: "No topic, a topic that is not active, or `items` is not a non-empty list.",
                },
                body=json_body("SendAnomalies", "The topic and its items."),
            ),
        },
        "/anomaly-batches": {
            "get": operation(
                "list_anomaly_batches",
                "intake",
                "Anomaly batches, newest first.",
                {200: ok(ref("AnomalyBatchPage"), "The page (without refused rows).")},
                errors={403: senders, 422: "Invalid query argument."},
                parameters=[
                    query_param("topic", "Only batches of this topic code.", text()),
                    param_ref("Limit"),
                    param_ref("Offset"),
                ],
            ),
        },
        "/anomaly-batches/{batch_id}": {
            "get": operation(
                "get_anomaly_batch",
                "intake",
                "One batch: status, counts and its refused rows with their reasons.",
                {200: ok(ref("AnomalyBatch"), "The batch and its report.")},
                errors={403: senders, 404: "No such batch.", 422: "Invalid query argument."},
                parameters=[
                    param_ref("BatchId"),
                    query_param(
                        "rejections_limit", "At most this many refused rows.", integer(minimum=0, default=1000)
                    ),
                ],
            ),
        },
        "/topics/{code}/intake": {
            "get": operation(
                "get_topic_intake",
                "intake",
                "A topic's intake settings (defaults when none were set).",
                {200: ok(ref("TopicIntake"), "The settings.")},
                errors={403: "Only admins, auditors, dispatchers and supervisors.", 404: "No such topic."},
                parameters=[param_ref("TopicCode")],
            ),
            "put": operation(
                "set_topic_intake",
                "intake",
                "Admins and auditors: set a topic's thresholds, dispatch rule and SQL source (checked: one "
                "SELECT; run read-only with a time limit on the topic's cadence).",
                {200: ok(ref("TopicIntake"), "The settings.")},
                errors={
                    403: "Only admins and auditors.",
                    404: "No such topic.",
                    422: "Invalid settings, e.g. warn_at above raise_at, a unit map to no unit, a query that "
                    "writes, or an unsupported source URL.",
                },
                parameters=[param_ref("TopicCode")],
                body=json_body("SetTopicIntake", "The settings."),
            ),
        },
    }


# -- anomaly reports (三报) ------------------------------------------------------------------------------------

REPORT_PERIODS = ["day", "week", "month"]
REPORT_GROUPINGS = ["topic", "unit", "topic_unit"]
REPORT_MEASURES = ["found", "raised", "merged", "skipped", "recorded", "warned", "completed", "overdue"]


def _anomaly_report_schemas() -> Json:
    """A report's counts, rows per grouping and trend."""
    counts = obj(
        {
            "found": integer("Anomalies taken in that were observed in the period (every outcome)."),
            "raised": integer("Of those, anomalies that raised a case."),
            "merged": integer("Of those, anomalies attached to an open case of the same target."),
            "skipped": integer("Of those, anomalies whose target was white-listed."),
            "recorded": integer("Of those, anomalies below the warning threshold (recorded only)."),
            "warned": integer("Of those, anomalies at or above the warning threshold."),
            "completed": integer("Cases of the topic closed (or white-listed) in the period."),
            "overdue": integer("Cases of the topic with a step that fell due in the period and was not done in time."),
        },
        description="What happened in one period.",
    )
    trend_point = {"allOf": [ref("AnomalyReportCounts"), obj({"period": text("Period label.")})]}
    row = {
        "allOf": [
            ref("AnomalyReportCounts"),
            obj(
                {
                    "topic": nullable("string", description="Topic code (null in the by-unit grouping)."),
                    "topic_name": nullable("string"),
                    "unit": nullable("string", description="Unit code (null in the by-topic grouping)."),
                    "unit_name": nullable("string"),
                    "previous": {
                        "anyOf": [ref("AnomalyReportCounts"), {"type": "null"}],
                        "description": "The counts of the period before.",
                    },
                    "trend": array(trend_point, "The counts per period, oldest first; the last is the one asked."),
                }
            ),
        ],
        "description": "One line of a report; its own counts are those of the period asked.",
    }
    report = obj(
        {
            "period": text("day, week or month.", enum=REPORT_PERIODS),
            "date": text("The day whose period is reported (local calendar), ISO 8601."),
            "topic": nullable("string", description="The topic filter, if any."),
            "unit": nullable("string", description="The unit filter (the unit and the units below it), if any."),
            "periods": array(
                obj(
                    {
                        "label": text("2026-11-20 (day), 2026-W47 (ISO week) or 2026-11 (month)."),
                        "start": timestamp("Start (local midnight, as UTC)."),
                        "end": timestamp("End, exclusive."),
                    }
                ),
                "The periods of the trend, oldest first.",
            ),
            "measures": array(text(enum=REPORT_MEASURES), "The counts in each row, in order."),
            "totals": ref("AnomalyReportCounts"),
            "trend": array(trend_point, "The totals per period, oldest first."),
            "rows": obj(
                {grouping: array(ref("AnomalyReportRow")) for grouping in REPORT_GROUPINGS},
                description="Rows by topic (every active topic), by unit and by topic and unit.",
            ),
        },
        description="A daily, weekly or monthly anomaly report (三报) within the caller's units.",
    )
    return {"AnomalyReportCounts": counts, "AnomalyReportRow": row, "AnomalyReport": report}


def _anomaly_report_paths() -> Json:
    refusals: dict[int, str | None] = {
        403: "Only auditors, supervisors and admins; a unit outside the caller's units.",
        422: "Unknown period, grouping, topic or unit, a malformed date, or a trend outside 1–24.",
    }
    parameters = [
        query_param("period", "day, week or month (required).", text(enum=REPORT_PERIODS)),
        query_param("date", "A day of the period (YYYY-MM-DD, local); default today.", text(format="date")),
        query_param("topic", "Only this topic code.", text()),
        query_param("unit", "Only this unit and the units below it.", text()),
        query_param("trend", "How many periods, the asked one included.", integer(minimum=1, maximum=24, default=7)),
    ]

    def download(content_type: str, what: str) -> Json:
        return {
            "description": what,
            "headers": {
                "Content-Disposition": {
                    "description": '`attachment; filename="anomalies-<period>-<date>….<ext>"`.',
                    "schema": {"type": "string"},
                },
            },
            "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
        }

    return {
        "/anomaly-reports": {
            "get": operation(
                "get_anomaly_report",
                "reports",
                "Daily, weekly or monthly anomaly report: found, raised, merged, skipped, recorded, warned, "
                "completed and overdue per topic, per unit and per topic and unit, with the periods before.",
                {200: ok(ref("AnomalyReport"), "The report.")},
                errors=refusals,
                parameters=parameters,
            ),
        },
        "/anomaly-reports/export.xlsx": {
            "get": operation(
                "export_anomaly_report_xlsx",
                "reports",
                "The report as an Excel workbook: a sheet of parameters, one sheet per grouping (the period "
                "asked) and the trend of the totals; text that starts like a formula is prefixed with '.",
                {200: download(XLSX_TYPE, "The workbook.")},
                errors=refusals,
                parameters=parameters,
            ),
        },
        "/anomaly-reports/export.csv": {
            "get": operation(
                "export_anomaly_report_csv",
                "reports",
                "One grouping of the report (or the trend) as CSV, UTF-8 with BOM, neutralised like the workbook.",
                {200: download("text/csv", "The CSV file.")},
                errors=refusals,
                parameters=[
                    *parameters,
                    query_param(
                        "grouping", "Which table.", text(enum=[*REPORT_GROUPINGS, "trend"], default="topic_unit")
                    ),
                ],
            ),
        },
    }


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
