"""Frozen dataclasses the services return: what callers may see of definitions, instances, tasks and people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.domain.errors import Problem


@dataclass(frozen=True)
class Actor:
    """The signed-in person a service acts for."""

    username: str
    roles: frozenset[str]
    unit_code: str | None = None
    user_id: int | None = None
    # The units this person sees: their unit and those below it; None = every unit (no unit, or admin).
    units: frozenset[str] | None = None
    locale: str | None = None
    display_name: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


SYSTEM = Actor(username="system", roles=frozenset({"admin"}))


@dataclass(frozen=True)
class UnitView:
    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    unit_code: str | None
    is_active: bool
    email: str | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class TokenView:
    """An API token as admins see it: never its secret (only a hash is stored)."""

    id: int
    username: str
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class RoleView:
    """A role: what it may do (known roles) and who holds it."""

    name: str
    name_zh: str
    may: str
    is_known: bool
    holders: tuple[str, ...]


@dataclass(frozen=True)
class VersionView:
    id: int
    key: str
    version: int
    name: str
    content_hash: str
    has_scripts: bool
    created_by: str
    created_at: dt.datetime
    comment: str
    start_timer: str | None


@dataclass(frozen=True)
class DeployResult:
    """One process of a deploy: its version and whether that version is new."""

    key: str
    version: int
    id: int
    is_new: bool


@dataclass(frozen=True)
class DefinitionView:
    key: str
    name: str
    latest_version: int
    versions: tuple[VersionView, ...]


@dataclass(frozen=True)
class VersionSummary:
    """A version in the definitions list, with how many of its instances run and have completed."""

    version: VersionView
    running: int
    completed: int
    other: int  # cancelled or in error


@dataclass(frozen=True)
class DefinitionSummary:
    key: str
    name: str
    latest_version: int
    versions: tuple[VersionSummary, ...]


@dataclass(frozen=True)
class DraftView:
    """A process owner's unpublished diagram (the XML is read separately)."""

    id: int
    owner: str
    name: str
    process_key: str | None
    base_version: int | None
    source_name: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ValidationReport:
    """What deploy would say about a diagram: problems refuse it, warnings are advice; nothing is stored."""

    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    processes: tuple[str, ...]  # the executable process keys it would publish

    @property
    def is_valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TaskView:
    id: str
    instance_id: str
    process_key: str
    business_key: str | None
    bpmn_id: str
    name: str
    lane: str | None
    assignee: str | None
    candidate_groups: tuple[str, ...]
    unit: str | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    time_state: str
    state: str
    completed_at: dt.datetime | None = None
    completed_by: str | None = None
    form: dict[str, Any] | None = None
    documentation: str | None = None
    data: dict[str, Any] | None = None  # what the task sees (prefills its form), on single-task reads
    required_documents: tuple[str, ...] = ()
    documents: tuple[Any, ...] = ()  # documents attached to this step
    waived_documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryView:
    id: int
    kind: str
    at: dt.datetime
    actor: str | None
    task_id: str | None
    bpmn_id: str | None
    message: str
    data: dict[str, Any] | None
    subject: str | None = None  # what an admin change was about, e.g. "user:alice", "unit:JC-DONG"


@dataclass(frozen=True)
class InstanceView:
    id: str
    process_key: str
    version: int
    business_key: str | None
    status: str
    time_state: str | None
    data: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    error: dict[str, Any] | None
    tasks: tuple[TaskView, ...] = field(default_factory=tuple)
    history: tuple[HistoryView, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Page:
    """One page of a list and the total behind it."""

    items: tuple[Any, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class SweepReport:
    """What one scheduler sweep did."""

    timers_fired: int = 0
    instances_started: int = 0
    time_states_changed: int = 0
    errors: int = 0


@dataclass(frozen=True)
class TopicView:
    id: int
    code: str
    version: int
    name: str
    business_area: str
    criteria: str
    thresholds: dict[str, Any]
    data_source: str
    scope: tuple[str, ...]
    argument: str
    effective_date: dt.date | None
    status: str
    owner: str
    instance_id: str | None
    created_at: dt.datetime
    published_at: dt.datetime | None


@dataclass(frozen=True)
class RoundView:
    round_no: int
    notice: str
    deadline_at: dt.datetime | None
    measures: str
    evidence: str
    verdict: str | None
    reviewer: str | None
    comment: str
    submitted_at: dt.datetime | None
    reviewed_at: dt.datetime | None


@dataclass(frozen=True)
class CaseView:
    id: int
    case_no: str
    topic_code: str | None
    kind: str
    target: str
    anomaly: str
    source: str
    risk_level: int
    unit: str
    handler: str | None
    status: str
    findings: str
    cause: str
    instance_id: str | None
    created_by: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    rounds: tuple[RoundView, ...] = ()
    documents: tuple[Any, ...] = ()
    instance: InstanceView | None = None


@dataclass(frozen=True)
class MoveReport:
    """One instance in a version move: whether it can move (dry run) or moved, and why not."""

    instance_id: str
    business_key: str | None
    unit: str | None
    status: str  # the instance's status
    from_version: int
    to_version: int
    open_steps: tuple[str, ...]
    result: str  # movable, moved, refused or conflict
    reasons: tuple[dict[str, Any], ...] = ()  # {"code", "element_id", "message"}
    lock: int = 0  # the instance's optimistic-lock version when it was read; a real move may require it


@dataclass(frozen=True)
class ElementView:
    """Where one diagram element of an instance stands, for colouring the diagram."""

    bpmn_id: str
    state: str  # completed, active, waiting or error
    process: str  # the instance's process key, or the key of a called process
    waits_for: str | None = None  # timer or message
    time_state: str | None = None  # green, yellow or red, for an open human task


@dataclass(frozen=True)
class CalledProcessView:
    """A process called by a call activity of the instance, run inside it."""

    activity: str
    process: str
    status: str  # running or completed


@dataclass(frozen=True)
class DiagramView:
    """An instance's diagram state: element id -> state, and the processes it called."""

    instance_id: str
    process_key: str
    version: int
    status: str
    elements: tuple[ElementView, ...]
    called: tuple[CalledProcessView, ...]


@dataclass(frozen=True)
class RejectionView:
    """A refused row of an anomaly batch: row number (from 1), external id if any, field -> reasons."""

    row_no: int
    external_id: str | None
    problems: dict[str, list[str]]


@dataclass(frozen=True)
class AnomalyBatchView:
    """An anomaly batch, where its processing stands, and its report (counts; refused rows when asked)."""

    id: int
    topic_code: str
    source: str
    status: str
    submitted_by: str
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    received: int
    processed: int
    rejected: int
    unchanged: int
    recorded: int
    warned: int
    skipped: int
    merged: int
    raised: int
    error: str | None = None
    rejections: tuple[RejectionView, ...] = ()


@dataclass(frozen=True)
class TopicIntakeView:
    """How a topic takes in anomalies; the SQL source's URL is never shown, only whether there is one."""

    topic_code: str
    warn_at: float | None
    raise_at: float | None
    risk_level: int
    unit_map: dict[str, str]
    assign_handler: bool
    start_at_handle: bool
    has_sql_source: bool
    sql_query: str
    check_every_hours: float
    next_check_at: dt.datetime | None
    last_check_at: dt.datetime | None
    last_check_error: str | None
    updated_by: str | None
    updated_at: dt.datetime | None
