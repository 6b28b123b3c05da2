"""Evaluation KPIs on a hand-computed month (November 2026, Asia/Shanghai), through the service and the API.

The month's cases, tasks, rectification rounds and archive obligations are inserted directly through the ORM
session of one unit of work: driving dozens of steps through the real processes at chosen instants would be much
longer and would hide the numbers being checked. The organisation (units and people) is built by the real services.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

import webui.api.kpi_views  # noqa: F401 - registers the routes on the blueprint before create_app registers it
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.services import evaluation, users
from tests.conftest import BOTH_DATABASES
from tests.helpers import build_org
from webui import create_app

pytestmark = BOTH_DATABASES
_ids = itertools.count(1)


def _at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    """A UTC instant in 2026 (local time is 8 hours later)."""
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def _instance(session, unit: str) -> str:
    iid = f"inst-{next(_ids):04d}"
    session.add(
        m.ProcessInstance(
            id=iid,
            definition_version_id=1,
            process_key="audit_case",
            status="running",
            unit_code=unit,
            state_json="{}",
            data_json="{}",
            created_at=_at(1),
            updated_at=_at(1),
        )
    )
    return iid


def _case(session, *, unit, handler, created, status="handling", closed=None, task_states=(), rounds=()):
    iid = _instance(session, unit)
    number = next(_ids)
    row = m.Case(
        case_no=f"JC-2026-{number:06d}",
        kind="routine",
        target=f"T-{number}",
        anomaly="a",
        risk_level=2,
        unit_code=unit,
        handler=handler,
        status=status,
        instance_id=iid,
        created_by="auditor",
        created_at=created,
        updated_at=created,
        closed_at=closed,
    )
    session.add(row)
    session.flush()
    for state, time_state, completed_at in task_states:
        _task(session, iid, unit, handler, state, time_state, completed_at)
    for round_no, (created_at, verdict, reviewed_at) in enumerate(rounds, start=1):
        session.add(
            m.RectificationRound(
                case_id=row.id,
                round_no=round_no,
                verdict=verdict,
                created_at=created_at,
                reviewed_at=reviewed_at,
            )
        )
    return row


def _task(session, iid, unit, handler, state, time_state, completed_at):
    session.add(
        m.HumanTask(
            id=f"task-{next(_ids):04d}",
            instance_id=iid,
            process_key="audit_case",
            bpmn_id="handle",
            name="Handle",
            lane="handler",
            assignee=handler,
            unit_code=unit,
            state=state,
            time_state=time_state,
            created_at=_at(1),
            completed_at=completed_at,
            completed_by=handler if state == "completed" else None,
        )
    )


def _obligation(session, *, unit, responsible, due, state="open", on_time=None):
    session.add(
        m.ArchiveObligation(
            instance_id="inst-x",
            task_id=f"ob-task-{next(_ids):04d}",
            process_key="audit_case",
            step="handle",
            name="Handle",
            responsible=responsible,
            unit_code=unit,
            state=state,
            time_state="green",
            created_at=due - dt.timedelta(hours=48),
            due_at=due,
            warn_at=due - dt.timedelta(hours=12),
            ended_at=None if state == "open" else due,
            is_on_time=on_time,
        )
    )


@pytest.fixture
def org(engine):
    people = build_org(engine)
    with engine.uow() as repos:
        s = repos.session
        s.add(
            m.DefinitionVersion(
                id=1,
                process_key="audit_case",
                version=1,
                name="Audit case",
                content_hash="x" * 64,
                source_name="audit_case.bpmn",
                source_xml="",
                spec_json="{}",
                task_properties_json="{}",
                created_by="root",
                created_at=_at(1, month=10),
            )
        )
        s.flush()
        # JC-DONG-1 (h_dong1): one case carried over from October and closed, two raised in November.
        _case(
            s,
            unit="JC-DONG-1",
            handler="h_dong1",
            created=_at(20, month=10),
            status="closed",
            closed=_at(10),
            task_states=[("completed", "green", _at(9))],
        )
        _case(
            s,
            unit="JC-DONG-1",
            handler="h_dong1",
            created=_at(5),
            status="closed",
            closed=_at(20),
            task_states=[("completed", "red", _at(18))],
            rounds=[(_at(12), "rejected", _at(13)), (_at(14), "accepted", _at(15))],
        )
        _case(
            s,
            unit="JC-DONG-1",
            handler="h_dong1",
            created=_at(8),
            task_states=[("open", "green", None)],
            rounds=[(_at(18), None, None)],
        )
        _obligation(s, unit="JC-DONG-1", responsible="h_dong1", due=_at(3), state="received", on_time=True)
        _obligation(s, unit="JC-DONG-1", responsible="h_dong1", due=_at(4), state="received", on_time=False)
        _obligation(s, unit="JC-DONG-1", responsible="h_dong1", due=_at(6), state="returned", on_time=True)
        _obligation(s, unit="JC-DONG-1", responsible="h_dong1", due=_at(22))
        _obligation(s, unit="JC-DONG-1", responsible="h_dong1", due=_at(5, month=12))  # due in December
        # JC-XI-1 (h_xi1): every November case went red; the first is 00:30 on 1 November local time.
        _case(
            s,
            unit="JC-XI-1",
            handler="h_xi1",
            created=dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC),
            task_states=[("open", "red", None)],
        )
        _case(s, unit="JC-XI-1", handler="h_xi1", created=_at(3), task_states=[("open", "red", None)])
        _case(
            s,
            unit="JC-XI-1",
            handler="h_xi1",
            created=_at(4),
            status="whitelisted",
            closed=_at(6),
            task_states=[("completed", "red", _at(6))],
        )
        # 01:00 on 1 December local time: not November.
        _case(
            s,
            unit="JC-XI-1",
            handler="h_xi1",
            created=dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC),
            task_states=[("open", "red", None)],
        )
        # JC-DONG-2, JC-XI-2 and all of JC-BEI did nothing.
    return people


DONG_1 = {
    "cases_raised": 2,
    "cases_completed": 2,
    "cases_overdue": 1,
    "rectification_cases": 2,
    "rectification_accepted": 1,
    "archives_due": 4,
    "archives_received": 2,
    "archives_on_time": 1,
    "step_completions": 2,
    "open_at_start": 1,
    "open_at_end": 1,
    "anomalies_found": 0,  # no anomaly intake in this fixture
    "anomalies_raised": 0,
    "step_completion_rate": 0.5,
    "on_time_archive_rate": 0.25,
    "completion_rate": 1.0,
    "rectification_completion_rate": 0.5,
    "overdue_rate": 0.5,
    "cumulative_completion_rate": 0.0,
    "audit_initiation_rate": None,
}
XI_1 = {
    "cases_raised": 3,
    "cases_completed": 1,
    "cases_overdue": 3,
    "rectification_cases": 0,
    "rectification_accepted": 0,
    "archives_due": 0,
    "archives_received": 0,
    "archives_on_time": 0,
    "step_completions": 1,
    "open_at_start": 0,
    "open_at_end": 2,
    "anomalies_found": 0,
    "anomalies_raised": 0,
    "step_completion_rate": None,
    "on_time_archive_rate": None,
    "completion_rate": round(1 / 3, 10),  # rates carry ten decimals (engine.domain.kpi.RATE_DECIMALS)
    "rectification_completion_rate": None,
    "overdue_rate": 1.0,
    "cumulative_completion_rate": None,
    "audit_initiation_rate": None,
}
EMPTY = {name: (None if name.endswith("_rate") else 0) for name in DONG_1}


def _flat(rows):
    return {r.key: {k: v for k, v in evaluation.row_json(r).items() if k not in ("key", "label")} for r in rows}


def test_units_roll_stations_into_their_district(engine, org):
    rows = evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-11", level="unit")
    assert [(r.key, r.label) for r in rows] == [
        ("JC-BEI", "北县供电局"),
        ("JC-DONG", "东区供电局"),
        ("JC-XI", "西区供电局"),
    ]
    assert _flat(rows) == {"JC-BEI": EMPTY, "JC-DONG": DONG_1, "JC-XI": XI_1}


def test_teams_are_stations_including_the_idle_ones(engine, org):
    rows = evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-11", level="team")
    flat = _flat(rows)
    assert list(flat) == ["JC-BEI-1", "JC-BEI-2", "JC-DONG-1", "JC-DONG-2", "JC-XI-1", "JC-XI-2"]
    assert flat["JC-DONG-1"] == DONG_1 and flat["JC-XI-1"] == XI_1
    assert flat["JC-DONG-2"] == flat["JC-BEI-1"] == EMPTY


def test_people_are_handlers_responsibles_and_completers(engine, org):
    rows = evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-11", level="person")
    assert [(r.key, r.label) for r in rows] == [("h_dong1", "业务人员 何明"), ("h_xi1", "业务人员 林雪")]
    assert _flat(rows) == {"h_dong1": DONG_1, "h_xi1": XI_1}


def test_other_periods_and_scopes(engine, org):
    december = _flat(evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-12", level="unit"))
    assert december["JC-XI"]["cases_raised"] == 1 and december["JC-XI"]["open_at_start"] == 2
    assert december["JC-DONG"]["archives_due"] == 1 and december["JC-DONG"]["open_at_start"] == 1
    # Week 45 is 2-8 November (local): two DONG cases raised, the October one still open at its start.
    week = _flat(evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-W45", level="unit"))
    assert week["JC-DONG"]["cases_raised"] == 2 and week["JC-DONG"]["open_at_start"] == 1
    dong = Actor("s", frozenset({"supervisor"}), "JC-DONG", units=frozenset({"JC-DONG", "JC-DONG-1", "JC-DONG-2"}))
    assert [r.key for r in evaluation.kpis(engine.uow(), actor=dong, period="2026", level="unit")] == ["JC-DONG"]
    assert [r.key for r in evaluation.kpis(engine.uow(), actor=dong, period="2026-Q4", level="person")] == ["h_dong1"]


def test_refusals(engine, org):
    with pytest.raises(PermissionDeniedError):
        evaluation.kpis(engine.uow(), actor=org["h_dong1"], period="2026-11", level="unit")
    with pytest.raises(ValidationError, match="period"):
        evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-13", level="unit")
    with pytest.raises(ValidationError, match="level"):
        evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-11", level="city")


def test_api_json_excel_and_csv_agree(engine, org):
    client = create_app(engine=engine).test_client()
    sup = {"Authorization": "Bearer " + users.create_token(engine.uow(), username="supervisor", now=engine.now())}
    handler = {"Authorization": "Bearer " + users.create_token(engine.uow(), username="h_dong1", now=engine.now())}
    assert client.get("/api/v1/kpis?period=2026-11", headers=handler).status_code == 403
    assert client.get("/api/v1/kpis/export.xlsx?period=2026-11", headers=handler).status_code == 403
    assert client.get("/api/v1/kpis?period=2026-13", headers=sup).status_code == 422
    assert client.get("/api/v1/kpis?period=2026-11&level=city", headers=sup).status_code == 422
    assert client.get("/api/v1/kpis", headers=sup).status_code == 422

    api = {}
    for level in ("person", "team", "unit"):
        body = client.get(f"/api/v1/kpis?period=2026-11&level={level}", headers=sup).get_json()
        assert (body["period"], body["level"]) == ("2026-11", level)
        api[level] = body["rows"]
    assert {r["key"]: r for r in api["unit"]}["JC-DONG"] == {"key": "JC-DONG", "label": "东区供电局", **DONG_1}
    assert {r["key"]: r for r in api["unit"]}["JC-BEI"]["overdue_rate"] is None

    response = client.get("/api/v1/kpis/export.xlsx?period=2026-11", headers=sup)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="kpis-2026-11.xlsx"'
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["person", "team", "unit"]
    for level in book.sheetnames:
        header, *lines = [list(r) for r in book[level].iter_rows(values_only=True)]
        assert header == list(evaluation.COLUMNS)
        expected = [[("—" if row[c] is None else row[c]) for c in header] for row in api[level]]
        assert lines == expected
    overdue = book["unit"].cell(row=3, column=header.index("overdue_rate") + 1)
    assert (overdue.value, overdue.number_format) == (0.5, "0.00%")
    assert book["unit"].cell(row=2, column=header.index("overdue_rate") + 1).value == "—"

    response = client.get("/api/v1/kpis/export.csv?period=2026-11&level=team", headers=sup)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="kpis-2026-11-team.csv"'
    table = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    dong = next(r for r in table if r["key"] == "JC-DONG-1")
    assert int(dong["cases_raised"]) == 2 and float(dong["on_time_archive_rate"]) == 0.25
    assert dong["audit_initiation_rate"] == ""
    xi = next(r for r in table if r["key"] == "JC-XI-1")
    assert float(xi["completion_rate"]) == api["team"][4]["completion_rate"] == round(1 / 3, 10)
