"""Repositories: load and store the engine's records inside the current unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.persistence import models as m
from engine.persistence.base import Base


class Repositories:
    """Every repository over one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rules: dict[tuple[str, str], m.TimeLimitRule | None] = {}

    def add(self, row: object) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    # -- people --------------------------------------------------------------------------------------------

    def user_by_name(self, username: str) -> m.User | None:
        return self.session.scalar(select(m.User).where(m.User.username == username))

    def user_roles(self, user_id: int) -> list[str]:
        return list(self.session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == user_id)))

    def login_throttle(self, username: str) -> m.LoginThrottle:
        row = self.session.get(m.LoginThrottle, username)
        if row is None:
            row = m.LoginThrottle(username=username, failures=0)
            self.session.add(row)
        return row

    def token_by_hash(self, token_hash: str) -> m.ApiToken | None:
        return self.session.scalar(
            select(m.ApiToken).where(m.ApiToken.token_hash == token_hash, m.ApiToken.revoked_at.is_(None))
        )

    def user(self, user_id: int) -> m.User | None:
        return self.session.get(m.User, user_id)

    def unit(self, code: str) -> m.Unit | None:
        return self.session.get(m.Unit, code)

    def units(self) -> Sequence[m.Unit]:
        return self.session.scalars(select(m.Unit).order_by(m.Unit.code)).all()

    def unit_parents(self) -> list[tuple[str, str | None]]:
        return [(c, p) for c, p in self.session.execute(select(m.Unit.code, m.Unit.parent_code)).tuples()]

    def user_roles_by_id(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {i: [] for i in user_ids}
        rows = self.session.execute(
            select(m.UserRole.user_id, m.UserRole.role).where(m.UserRole.user_id.in_(list(user_ids)))
        )
        for user_id, role in rows.tuples():
            found[user_id].append(role)
        return {i: sorted(r) for i, r in found.items()}

    def set_user_roles(self, user_id: int, roles: Sequence[str]) -> None:
        self.session.execute(delete(m.UserRole).where(m.UserRole.user_id == user_id))
        for role in sorted(set(roles)):
            self.session.add(m.UserRole(user_id=user_id, role=role))

    def role_holders(self) -> list[tuple[str, str]]:
        """(role, username) of every active user, by role then name."""
        query = (
            select(m.UserRole.role, m.User.username)
            .join(m.User, m.User.id == m.UserRole.user_id)
            .where(m.User.is_active.is_(True))
            .order_by(m.UserRole.role, m.User.username)
        )
        return [(r, u) for r, u in self.session.execute(query).tuples()]

    def api_token(self, token_id: int) -> m.ApiToken | None:
        return self.session.get(m.ApiToken, token_id)

    def api_tokens(self, user_id: int | None = None) -> list[tuple[m.ApiToken, str]]:
        """Tokens (newest first) with their user's name."""
        query = select(m.ApiToken, m.User.username).join(m.User, m.User.id == m.ApiToken.user_id)
        if user_id is not None:
            query = query.where(m.ApiToken.user_id == user_id)
        return [(t, u) for t, u in self.session.execute(query.order_by(m.ApiToken.id.desc())).tuples()]

    def users_in_role(self, role: str, unit_code: str | None = None) -> list[m.User]:
        query = select(m.User).join(m.UserRole).where(m.UserRole.role == role, m.User.is_active.is_(True))
        if unit_code is not None:
            query = query.where(m.User.unit_code == unit_code)
        return list(self.session.scalars(query.order_by(m.User.username)))

    # -- definitions ---------------------------------------------------------------------------------------

    def latest_version(self, process_key: str) -> m.DefinitionVersion | None:
        return self.session.scalar(
            select(m.DefinitionVersion)
            .where(m.DefinitionVersion.process_key == process_key)
            .order_by(m.DefinitionVersion.version.desc())
            .limit(1)
        )

    def version(self, process_key: str, version: int) -> m.DefinitionVersion | None:
        return self.session.scalar(
            select(m.DefinitionVersion).where(
                m.DefinitionVersion.process_key == process_key, m.DefinitionVersion.version == version
            )
        )

    def version_by_id(self, version_id: int) -> m.DefinitionVersion | None:
        return self.session.get(m.DefinitionVersion, version_id)

    def all_versions(self) -> Sequence[m.DefinitionVersion]:
        return self.session.scalars(
            select(m.DefinitionVersion).order_by(m.DefinitionVersion.process_key, m.DefinitionVersion.version)
        ).all()

    def latest_versions(self) -> Sequence[m.DefinitionVersion]:
        newest = (
            select(m.DefinitionVersion.process_key, func.max(m.DefinitionVersion.version).label("v"))
            .group_by(m.DefinitionVersion.process_key)
            .subquery()
        )
        return self.session.scalars(
            select(m.DefinitionVersion).join(
                newest,
                (m.DefinitionVersion.process_key == newest.c.process_key) & (m.DefinitionVersion.version == newest.c.v),
            )
        ).all()

    def drafts_of(self, owner: str) -> Sequence[m.DefinitionDraft]:
        query = select(m.DefinitionDraft).where(m.DefinitionDraft.owner == owner)
        return self.session.scalars(query.order_by(m.DefinitionDraft.updated_at.desc(), m.DefinitionDraft.id)).all()

    def draft(self, draft_id: int) -> m.DefinitionDraft | None:
        return self.session.get(m.DefinitionDraft, draft_id)

    def delete_draft(self, row: m.DefinitionDraft) -> None:
        self.session.delete(row)

    def latest_decision_files(self) -> Sequence[m.DecisionFile]:
        newest = select(func.max(m.DecisionFile.id)).group_by(m.DecisionFile.name)
        return self.session.scalars(select(m.DecisionFile).where(m.DecisionFile.id.in_(newest))).all()

    # -- instances -----------------------------------------------------------------------------------------

    def instance(self, instance_id: str, *, for_update: bool = False) -> m.ProcessInstance | None:
        query = select(m.ProcessInstance).where(m.ProcessInstance.id == instance_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def instance_ids_on_version(
        self,
        version_id: int,
        *,
        statuses: Sequence[str],
        unit_codes: Sequence[str] | None = None,
        topic_code: str | None = None,
        limit: int = 500,
    ) -> list[str]:
        """Ids of a version's instances in these statuses, optionally within units or under an audit topic."""
        P = m.ProcessInstance
        query = select(P.id).where(P.definition_version_id == version_id, P.status.in_(list(statuses)))
        if unit_codes is not None:
            query = query.where(P.unit_code.in_(sorted(unit_codes)))
        if topic_code is not None:
            query = query.where(P.id.in_(select(m.Case.instance_id).where(m.Case.topic_code == topic_code)))
        return list(self.session.scalars(query.order_by(P.created_at, P.id).limit(limit)))

    def instances_waiting_for(self, message_name: str, business_key: str | None) -> list[str]:
        query = select(m.MessageWait.instance_id).where(m.MessageWait.message_name == message_name)
        if business_key is not None:
            query = query.where(m.MessageWait.business_key == business_key)
        return list(self.session.scalars(query.order_by(m.MessageWait.instance_id)))

    def replace_message_waits(self, instance: m.ProcessInstance, names: list[str]) -> None:
        self.session.execute(delete(m.MessageWait).where(m.MessageWait.instance_id == instance.id))
        for name in names:
            self.session.add(
                m.MessageWait(instance_id=instance.id, message_name=name, business_key=instance.business_key)
            )

    # -- human tasks ---------------------------------------------------------------------------------------

    def human_task(self, task_id: str) -> m.HumanTask | None:
        return self.session.get(m.HumanTask, task_id)

    def open_human_tasks(self, instance_id: str) -> list[m.HumanTask]:
        return list(
            self.session.scalars(
                select(m.HumanTask).where(m.HumanTask.instance_id == instance_id, m.HumanTask.state == "open")
            )
        )

    def claim_task(self, task_id: str, username: str | None, expected: str | None) -> bool:
        """Set the assignee only if it is still `expected` (compare-and-set: two claims, one winner)."""
        cond = m.HumanTask.assignee.is_(None) if expected is None else m.HumanTask.assignee == expected
        result = self.session.execute(
            update(m.HumanTask)
            .where(m.HumanTask.id == task_id, m.HumanTask.state == "open", cond)
            .values(assignee=username)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- timers --------------------------------------------------------------------------------------------

    def pending_timers(self, instance_id: str) -> list[m.Timer]:
        return list(
            self.session.scalars(select(m.Timer).where(m.Timer.instance_id == instance_id, m.Timer.status == "pending"))
        )

    def cancel_start_timers(self, process_key: str) -> None:
        versions = select(m.DefinitionVersion.id).where(m.DefinitionVersion.process_key == process_key)
        self.session.execute(
            update(m.Timer)
            .where(m.Timer.kind == "start", m.Timer.status == "pending", m.Timer.definition_version_id.in_(versions))
            .values(status="cancelled")
        )

    def claim_due_timers(self, *, now: dt.datetime, owner: str, lease_s: float, limit: int) -> list[m.Timer]:
        """Lease up to `limit` due timers; SKIP LOCKED lets several schedulers share the work on PostgreSQL."""
        query = (
            select(m.Timer)
            .where(m.Timer.status == "pending", m.Timer.due_at <= now)
            .where((m.Timer.lease_until.is_(None)) | (m.Timer.lease_until < now))
            .order_by(m.Timer.due_at)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        timers = list(self.session.scalars(query))
        for timer in timers:
            timer.lease_owner = owner
            timer.lease_until = now + dt.timedelta(seconds=lease_s)
        return timers

    def timer_for_update(self, timer_id: int) -> m.Timer | None:
        """The timer row, locked on PostgreSQL so two schedulers cannot fire it twice."""
        return self.session.scalar(select(m.Timer).where(m.Timer.id == timer_id).with_for_update())

    # -- audit records ---------------------------------------------------------------------------------------

    def case_by_instance(self, instance_id: str) -> m.Case | None:
        return self.session.scalar(select(m.Case).where(m.Case.instance_id == instance_id))

    def case(self, case_id: int) -> m.Case | None:
        return self.session.get(m.Case, case_id)

    def topic_by_instance(self, instance_id: str) -> m.Topic | None:
        return self.session.scalar(select(m.Topic).where(m.Topic.instance_id == instance_id))

    def topic(self, topic_id: int) -> m.Topic | None:
        return self.session.get(m.Topic, topic_id)

    def topic_versions(self, code: str) -> list[m.Topic]:
        return list(self.session.scalars(select(m.Topic).where(m.Topic.code == code).order_by(m.Topic.version)))

    def all_topics(self) -> list[m.Topic]:
        return list(self.session.scalars(select(m.Topic).order_by(m.Topic.code, m.Topic.version)))

    def active_topics(self, code: str) -> list[m.Topic]:
        return list(self.session.scalars(select(m.Topic).where(m.Topic.code == code, m.Topic.status == "active")))

    # -- browser uploads of anomalies ----------------------------------------------------------------------

    def anomaly_upload(self, upload_id: int) -> m.AnomalyUpload | None:
        return self.session.get(m.AnomalyUpload, upload_id)

    def upload_mapping(self, topic_code: str) -> m.UploadMapping | None:
        return self.session.get(m.UploadMapping, topic_code)

    def drop_uploads_before(self, moment: dt.datetime) -> None:
        """Uploads older than `moment` (sent or not): their batches keep everything that counts."""
        self.session.execute(delete(m.AnomalyUpload).where(m.AnomalyUpload.uploaded_at < moment))

    def rectification_round(self, case_id: int, round_no: int) -> m.RectificationRound | None:
        return self.session.scalar(
            select(m.RectificationRound).where(
                m.RectificationRound.case_id == case_id, m.RectificationRound.round_no == round_no
            )
        )

    def rounds(self, case_id: int) -> list[m.RectificationRound]:
        return list(
            self.session.scalars(
                select(m.RectificationRound)
                .where(m.RectificationRound.case_id == case_id)
                .order_by(m.RectificationRound.round_no)
            )
        )

    def last_round_no(self, case_id: int) -> int:
        found = self.session.scalar(
            select(func.max(m.RectificationRound.round_no)).where(m.RectificationRound.case_id == case_id)
        )
        return int(found or 0)

    def open_supervision_orders(self, case_id: int) -> list[m.SupervisionOrder]:
        return list(
            self.session.scalars(
                select(m.SupervisionOrder).where(m.SupervisionOrder.case_id == case_id, m.SupervisionOrder.is_open)
            )
        )

    def frozen_until(self, topic_code: str, target: str, now: dt.datetime) -> dt.datetime | None:
        """The end of the white-list freeze of a target under a topic, if one is in force."""
        return self.session.scalar(
            select(func.max(m.WhitelistEntry.frozen_until)).where(
                m.WhitelistEntry.topic_code == topic_code,
                m.WhitelistEntry.target == target,
                m.WhitelistEntry.frozen_until > now,
            )
        )

    def next_number(self, series: str, year: int) -> int:
        """The next number of a series in a year; the row lock serialises concurrent callers."""
        row = self.session.scalar(
            select(m.NumberSequence)
            .where(m.NumberSequence.series == series, m.NumberSequence.year == year)
            .with_for_update()
        )
        if row is None:
            row = m.NumberSequence(series=series, year=year, last=0)
            self.session.add(row)
        row.last += 1
        self.session.flush()
        return row.last

    def documents(self, instance_id: str, step: str | None = None) -> list[m.Document]:
        query = select(m.Document).where(m.Document.instance_id == instance_id)
        if step is not None:
            query = query.where(m.Document.step == step)
        return list(self.session.scalars(query.order_by(m.Document.id)))

    def waivers(self, instance_id: str, step: str) -> list[m.DocumentWaiver]:
        return list(
            self.session.scalars(
                select(m.DocumentWaiver).where(
                    m.DocumentWaiver.instance_id == instance_id, m.DocumentWaiver.step == step
                )
            )
        )

    # -- deadlines and reminders ---------------------------------------------------------------------------

    def time_limit_rule(self, process_key: str, step: str) -> m.TimeLimitRule | None:
        """The rule for this step, else the process-wide ("*") rule (remembered for this transaction)."""
        if (process_key, step) in self._rules:
            return self._rules[(process_key, step)]
        rules = {
            r.step: r
            for r in self.session.scalars(
                select(m.TimeLimitRule).where(
                    m.TimeLimitRule.process_key == process_key, m.TimeLimitRule.step.in_([step, "*"])
                )
            )
        }
        found = self._rules[(process_key, step)] = rules.get(step) or rules.get("*")
        return found

    def time_limit_rules(self) -> list[m.TimeLimitRule]:
        return list(
            self.session.scalars(select(m.TimeLimitRule).order_by(m.TimeLimitRule.process_key, m.TimeLimitRule.step))
        )

    def calendar_overrides(self) -> dict[dt.date, bool]:
        return {
            d: w
            for d, w in self.session.execute(select(m.CalendarOverride.day, m.CalendarOverride.is_workday)).tuples()
        }

    def calendar_override_rows(self) -> list[m.CalendarOverride]:
        return list(self.session.scalars(select(m.CalendarOverride).order_by(m.CalendarOverride.day)))

    def first_task_of_step(self, instance_id: str, bpmn_id: str) -> m.HumanTask | None:
        """The earliest task of a step in an instance (a sent-back step may keep its original deadline)."""
        return self.session.scalar(
            select(m.HumanTask)
            .where(m.HumanTask.instance_id == instance_id, m.HumanTask.bpmn_id == bpmn_id)
            .order_by(m.HumanTask.created_at)
            .limit(1)
        )

    def add_reminders(self, rows: list[dict[str, object]]) -> int:
        """Insert reminders, skipping any (recipient, dedupe_key) that exists: a crossing reminds once."""
        if not rows:
            return 0
        dialect = self.session.get_bind().dialect.name
        insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert_fn(m.Reminder)
            .on_conflict_do_nothing(index_elements=["recipient", "dedupe_key"])
            .returning(m.Reminder.id)
        )
        # Rows as executemany parameters: batched by SQLAlchemy, never past the driver's parameter limit.
        return len(self.session.execute(statement, rows).all())

    def resolve_reminders(self, subject_type: str, subject_id: str, now: dt.datetime) -> None:
        self.session.execute(
            update(m.Reminder)
            .where(
                m.Reminder.subject_type == subject_type,
                m.Reminder.subject_id == subject_id,
                m.Reminder.resolved_at.is_(None),
            )
            .values(resolved_at=now)
            .execution_options(synchronize_session=False)
        )

    def reminder(self, reminder_id: int) -> m.Reminder | None:
        return self.session.get(m.Reminder, reminder_id)

    def responsible_people(self, items: Sequence[Any]) -> dict[str, list[str]]:
        """Who answers for each task-like item (id, assignee, lane, unit_code): its assignee, else the active
        members of its lane's role in its unit (anyone's unit when it has none)."""
        pairs = {(i.lane, i.unit_code) for i in items if i.assignee is None and i.lane is not None}
        members = {(role, unit): [u.username for u in self.users_in_role(role, unit)] for role, unit in pairs}
        return {str(i.id): [i.assignee] if i.assignee else members.get((i.lane, i.unit_code), []) for i in items}

    def role_members_above(self, role: str, unit_code: str | None) -> list[str]:
        """Active members of `role` in the nearest unit at or above `unit_code` that has any."""
        code = unit_code
        seen: set[str] = set()
        while True:
            found = [u.username for u in self.users_in_role(role, code)]
            if found or code is None or code in seen:
                return found
            seen.add(code)
            unit = self.unit(code)
            code = unit.parent_code if unit else None
            if code is None:
                return []

    def unit_head(self, unit_code: str | None) -> str | None:
        """The head of the unit, or of the nearest unit above it that has one."""
        code = unit_code
        while code is not None:
            heads = self.users_in_role("unit_head", code)
            if heads:
                return heads[0].username
            unit = self.unit(code)
            code = unit.parent_code if unit else None
        return None

    def try_global_lock(self, name: str) -> bool:
        """A once-per-tick job's lock for this transaction (PostgreSQL); SQLite has one scheduler anyway."""
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        key = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "big", signed=True)
        return bool(self.session.scalar(select(func.pg_try_advisory_xact_lock(key))))

    def supervision_order(self, order_id: int) -> m.SupervisionOrder | None:
        return self.session.get(m.SupervisionOrder, order_id)

    def user_email(self, username: str) -> str | None:
        return self.session.scalar(select(m.User.email).where(m.User.username == username))

    def obligation(self, obligation_id: int) -> m.ArchiveObligation | None:
        return self.session.get(m.ArchiveObligation, obligation_id)

    def contract(self, contract_id: int) -> m.Contract | None:
        return self.session.get(m.Contract, contract_id)

    def contract_by_number(self, number: str) -> m.Contract | None:
        return self.session.scalar(select(m.Contract).where(m.Contract.number == number))

    def contracts_expiring_by(self, day: dt.date) -> list[m.Contract]:
        return list(self.session.scalars(select(m.Contract).where(m.Contract.expires_on <= day)))

    # -- anomaly intake ------------------------------------------------------------------------------------

    def topic_intake(self, topic_code: str) -> m.TopicIntake | None:
        return self.session.get(m.TopicIntake, topic_code)

    def anomaly_batch(self, batch_id: int, *, for_update: bool = False) -> m.AnomalyBatch | None:
        query = select(m.AnomalyBatch).where(m.AnomalyBatch.id == batch_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def stage_rows(self, batch_id: int, items_json: list[str]) -> None:
        """Store a batch's rows as sent, numbered from 1 (executemany: one statement, batched by the driver)."""
        self.session.execute(
            insert(Base.metadata.tables["anomaly_staged_rows"]),
            [{"batch_id": batch_id, "row_no": n, "item_json": j} for n, j in enumerate(items_json, start=1)],
        )

    def staged_rows(self, batch_id: int, first_row: int, limit: int) -> list[tuple[int, str]]:
        query = (
            select(m.AnomalyStagedRow.row_no, m.AnomalyStagedRow.item_json)
            .where(m.AnomalyStagedRow.batch_id == batch_id, m.AnomalyStagedRow.row_no >= first_row)
            .order_by(m.AnomalyStagedRow.row_no)
            .limit(limit)
        )
        return [(n, j) for n, j in self.session.execute(query).tuples()]

    def drop_staged_rows(self, batch_id: int, before_row: int) -> None:
        staged = Base.metadata.tables["anomaly_staged_rows"]  # Core: the rows were never loaded as objects
        self.session.execute(delete(staged).where(staged.c.batch_id == batch_id, staged.c.row_no < before_row))

    def claim_anomaly_batches(self, *, now: dt.datetime, owner: str, lease_s: float, limit: int) -> list[int]:
        """Lease unfinished batches that are free, ran out of lease (a stopped worker's) or are the owner's own."""
        b = m.AnomalyBatch
        query = (
            select(b)
            .where(b.status.in_(("pending", "processing")))
            .where(b.lease_until.is_(None) | (b.lease_until < now) | (b.lease_owner == owner))
            .order_by(b.submitted_at)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        batches = list(self.session.scalars(query))
        for batch in batches:
            batch.lease_owner, batch.lease_until = owner, now + dt.timedelta(seconds=lease_s)
        return [batch.id for batch in batches]

    def known_external_ids(self, topic_code: str, external_ids: list[str]) -> set[str]:
        return set(
            self.session.scalars(
                select(m.Anomaly.external_id).where(
                    m.Anomaly.topic_code == topic_code, m.Anomaly.external_id.in_(external_ids)
                )
            )
        )

    def frozen_targets(self, topic_code: str, targets: list[str], now: dt.datetime) -> dict[str, dt.datetime]:
        """White-listed targets among `targets` and the end of their freeze."""
        rows = self.session.execute(
            select(m.WhitelistEntry.target, func.max(m.WhitelistEntry.frozen_until))
            .where(
                m.WhitelistEntry.topic_code == topic_code,
                m.WhitelistEntry.target.in_(targets),
                m.WhitelistEntry.frozen_until > now,
            )
            .group_by(m.WhitelistEntry.target)
        ).tuples()
        return {target: until for target, until in rows}

    def open_cases_by_target(self, topic_code: str, targets: list[str], closed: tuple[str, ...]) -> dict[str, int]:
        """The oldest open case per target under a topic."""
        rows = self.session.execute(
            select(m.Case.target, func.min(m.Case.id))
            .where(m.Case.topic_code == topic_code, m.Case.target.in_(targets), m.Case.status.not_in(closed))
            .group_by(m.Case.target)
        ).tuples()
        return {target: case_id for target, case_id in rows}

    def handlers_of_units(self, unit_codes: list[str]) -> dict[str, list[str]]:
        rows = self.session.execute(
            select(m.User.unit_code, m.User.username)
            .join(m.UserRole)
            .where(m.UserRole.role == "handler", m.User.is_active.is_(True), m.User.unit_code.in_(unit_codes))
            .order_by(m.User.username)
        ).tuples()
        found: dict[str, list[str]] = {}
        for unit, username in rows:
            found.setdefault(str(unit), []).append(username)
        return found

    def open_task_counts(self, usernames: list[str]) -> dict[str, int]:
        rows = self.session.execute(
            select(m.HumanTask.assignee, func.count())
            .where(m.HumanTask.state == "open", m.HumanTask.assignee.in_(usernames))
            .group_by(m.HumanTask.assignee)
        ).tuples()
        return {str(name): int(count) for name, count in rows}

    def add_anomalies(self, rows: list[dict[str, object]]) -> None:
        if rows:  # a Core executemany: no ORM bookkeeping for rows nobody loads in this transaction
            self.session.execute(insert(Base.metadata.tables["anomalies"]), rows)

    def add_rejections(self, rows: list[dict[str, object]]) -> None:
        if rows:
            self.session.execute(insert(Base.metadata.tables["anomaly_rejections"]), rows)

    def unit_heads(self) -> dict[str, str]:
        """The head of every unit that has one (the first by name)."""
        heads: dict[str, str] = {}
        for user in self.users_in_role("unit_head"):
            if user.unit_code is not None:
                heads.setdefault(user.unit_code, user.username)
        return heads

    def add_history_rows(self, rows: list[dict[str, object]]) -> None:
        if rows:
            self.session.execute(insert(Base.metadata.tables["history_events"]), rows)

    def case_instances(self, case_ids: list[int]) -> dict[int, str | None]:
        rows = self.session.execute(select(m.Case.id, m.Case.instance_id).where(m.Case.id.in_(case_ids))).tuples()
        return {case_id: instance_id for case_id, instance_id in rows}

    def reserve_numbers(self, series: str, year: int, count: int) -> int:
        """Reserve `count` consecutive numbers of a series; returns the first (one row lock for them all)."""
        row = self.session.scalar(
            select(m.NumberSequence)
            .where(m.NumberSequence.series == series, m.NumberSequence.year == year)
            .with_for_update()
        )
        if row is None:
            row = m.NumberSequence(series=series, year=year, last=0)
            self.session.add(row)
        first = row.last + 1
        row.last += count
        self.session.flush()
        return first

    def unit_codes(self) -> set[str]:
        return set(self.session.scalars(select(m.Unit.code)))

    def due_sql_checks(self, now: dt.datetime) -> list[str]:
        return list(
            self.session.scalars(
                select(m.TopicIntake.topic_code)
                .where(m.TopicIntake.sql_url_secret.is_not(None), m.TopicIntake.next_check_at <= now)
                .order_by(m.TopicIntake.next_check_at)
            )
        )

    # -- history -------------------------------------------------------------------------------------------

    def history(self, instance_id: str) -> Sequence[m.HistoryEvent]:
        return self.session.scalars(
            select(m.HistoryEvent).where(m.HistoryEvent.instance_id == instance_id).order_by(m.HistoryEvent.id)
        ).all()
