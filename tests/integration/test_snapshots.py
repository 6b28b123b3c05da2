"""Month-end snapshots: November 2026 (the hand-computed month of test_evaluation) frozen once; a later change
shows as a correction beside the frozen figures, never as a silent change; the job, the CLI and the API."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import webui.api.kpi_views  # noqa: F401 - registers the routes on the blueprint before create_app registers it
from engine.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from engine.persistence import models as m
from engine.scheduler import jobs
from engine.services import evaluation, scoring, snapshots, users
from tests.conftest import BOTH_DATABASES
from tests.integration.test_evaluation import DONG_1, _flat, org  # noqa: F401 - org is the fixture of the month
from webui import create_app

pytestmark = BOTH_DATABASES
DECEMBER_FIRST = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)  # 00:00 on 1 December in Asia/Shanghai


def test_a_month_is_frozen_once_after_it_ended(engine, org, clock):  # noqa: F811
    admin = org["admin"]
    with pytest.raises(ValidationError, match="has not ended"):
        snapshots.freeze_month(
            engine.uow(), period="2026-11", actor=admin, now=DECEMBER_FIRST - dt.timedelta(seconds=1)
        )
    with pytest.raises(ValidationError, match="a month"):
        snapshots.freeze_month(engine.uow(), period="2026-Q3", actor=admin, now=DECEMBER_FIRST)
    with pytest.raises(PermissionDeniedError):
        snapshots.freeze_month(engine.uow(), period="2026-11", actor=org["supervisor"], now=DECEMBER_FIRST)
    live = {
        level: _flat(evaluation.kpis(engine.uow(), actor=org["supervisor"], period="2026-11", level=level))
        for level in ("person", "team", "unit")
    }
    view = snapshots.freeze_month(engine.uow(), period="2026-11", actor=admin, now=DECEMBER_FIRST)
    assert (view.period, view.frozen_by) == ("2026-11", "admin") and view.figures > 0
    with pytest.raises(ConflictError, match="was frozen"):
        snapshots.freeze_month(engine.uow(), period="2026-11", actor=admin, now=DECEMBER_FIRST)
    for level in ("person", "team", "unit"):
        report = evaluation.kpi_report(engine.uow(), actor=org["supervisor"], period="2026-11", level=level)
        assert report.frozen is not None and report.frozen.corrections == ()
        assert _flat(report.rows) == live[level], "the frozen figures are the month's figures"
    with engine.uow() as repos:
        kinds = repos.session.scalars(
            sa.select(m.HistoryEvent.kind).where(m.HistoryEvent.kind == "kpi_snapshot_frozen")
        )
        assert list(kinds) == ["kpi_snapshot_frozen"]


def test_a_late_receipt_and_an_adjustment_show_as_corrections(engine, org, clock):  # noqa: F811
    snapshots.freeze_month(engine.uow(), period="2026-11", actor=org["admin"], now=DECEMBER_FIRST)
    before = scoring.score_report(engine.uow(), actor=org["supervisor"], period="2026-11", level="team")
    # In December the collector receives DONG-1's open November obligation (due 22 Nov), too late.
    with engine.uow() as repos:
        late = repos.session.scalars(
            sa.select(m.ArchiveObligation)
            .where(m.ArchiveObligation.unit_code == "JC-DONG-1", m.ArchiveObligation.state == "open")
            .order_by(m.ArchiveObligation.due_at)
        ).first()
        late.state, late.is_on_time, late.ended_at = "received", False, DECEMBER_FIRST + dt.timedelta(days=2)
    scoring.add_adjustment(
        engine.uow(),
        period="2026-11",
        level="team",
        subject_key="JC-DONG-1",
        kind="deduction",
        value=5,
        reason="档案造假 forged archive",
        actor=org["supervisor"],
        now=DECEMBER_FIRST + dt.timedelta(days=3),
    )
    report = evaluation.kpi_report(engine.uow(), actor=org["supervisor"], period="2026-11", level="team")
    assert _flat(report.rows)["JC-DONG-1"] == DONG_1, "the frozen figures do not change"
    fixes = {(c.key, c.figure): c for c in report.frozen.corrections}
    assert set(fixes) == {("JC-DONG-1", "archives_received"), ("JC-DONG-1", "step_completion_rate")}
    received = fixes[("JC-DONG-1", "archives_received")]
    assert (received.snapshot, received.live, received.difference) == (2, 3, 1)
    rate = fixes[("JC-DONG-1", "step_completion_rate")]
    assert (rate.snapshot, rate.live) == (0.5, 0.75) and rate.difference == pytest.approx(0.25)

    scores = scoring.score_report(engine.uow(), actor=org["supervisor"], period="2026-11", level="team")
    assert [(r.key, r.total) for r in scores.rows] == [(r.key, r.total) for r in before.rows]
    total = next(c for c in scores.frozen.corrections if (c.key, c.figure) == ("JC-DONG-1", "total"))
    deduction = next(c for c in scores.frozen.corrections if (c.key, c.figure) == ("JC-DONG-1", "deductions"))
    assert (deduction.snapshot, deduction.live) == (0.0, 5.0)
    # The step completion rate rose too, so the total moved by its indicator part as well as by −5.
    assert total.difference == pytest.approx(total.live - total.snapshot)
    assert total.live != total.snapshot

    # A district supervisor sees the rows and corrections of their own units only.
    dong = users.get_actor(engine.uow(), username="supervisor")
    dong = type(dong)("s", frozenset({"supervisor"}), "JC-DONG", units=frozenset({"JC-DONG", "JC-DONG-1", "JC-DONG-2"}))
    scoped = evaluation.kpi_report(engine.uow(), actor=dong, period="2026-11", level="team")
    assert [r.key for r in scoped.rows] == ["JC-DONG-1", "JC-DONG-2"]
    assert {c.key for c in scoped.frozen.corrections} == {"JC-DONG-1"}
    xi = type(dong)("x", frozenset({"supervisor"}), "JC-XI", units=frozenset({"JC-XI", "JC-XI-1", "JC-XI-2"}))
    assert evaluation.kpi_report(engine.uow(), actor=xi, period="2026-11", level="team").frozen.corrections == ()
    people = evaluation.kpi_report(engine.uow(), actor=xi, period="2026-11", level="person")
    assert [r.key for r in people.rows] == ["h_xi1"]


def test_the_month_end_job_freezes_the_last_month_once(engine, org, clock):  # noqa: F811
    clock.now = DECEMBER_FIRST + dt.timedelta(minutes=5)
    assert jobs.freeze_month_end(engine, force=True) == "2026-11"
    assert jobs.freeze_month_end(engine, force=True) is None  # idempotent
    report = evaluation.kpi_report(engine.uow(), actor=org["supervisor"], period="2026-11", level="unit")
    assert report.frozen is not None and report.frozen.frozen_by == "scheduler"
    assert _flat(report.rows)["JC-DONG"] == DONG_1


def test_the_api_freezes_serves_the_snapshot_and_its_corrections(engine, org, clock):  # noqa: F811
    clock.now = DECEMBER_FIRST + dt.timedelta(hours=1)
    client = create_app(engine=engine).test_client()
    admin = {"Authorization": "Bearer " + users.create_token(engine.uow(), username="admin", now=engine.now())}
    sup = {"Authorization": "Bearer " + users.create_token(engine.uow(), username="supervisor", now=engine.now())}
    live = client.get("/api/v1/kpis?period=2026-11&level=team", headers=sup).get_json()
    assert live["snapshot"] is None and live["corrections"] == []
    assert client.post("/api/v1/kpis/snapshots", json={"period": "2026-11"}, headers=sup).status_code == 403
    assert client.post("/api/v1/kpis/snapshots", json={"period": "2026-12"}, headers=admin).status_code == 422
    assert client.post("/api/v1/kpis/snapshots", json={"month": "2026-11"}, headers=admin).status_code == 422
    done = client.post("/api/v1/kpis/snapshots", json={"period": "2026-11"}, headers=admin)
    assert done.status_code == 201 and done.get_json()["period"] == "2026-11"
    assert client.post("/api/v1/kpis/snapshots", json={"period": "2026-11"}, headers=admin).status_code == 409
    assert [s["period"] for s in client.get("/api/v1/kpis/snapshots", headers=sup).get_json()] == ["2026-11"]
    with engine.uow() as repos:
        case = repos.session.scalars(
            sa.select(m.Case)
            .where(m.Case.unit_code == "JC-XI-1", m.Case.status != "whitelisted")
            .order_by(m.Case.created_at)
        ).first()
        case.status, case.closed_at = "closed", DECEMBER_FIRST - dt.timedelta(hours=2)  # a completion back-dated
    frozen = client.get("/api/v1/kpis?period=2026-11&level=team", headers=sup).get_json()
    assert frozen["snapshot"]["frozen_by"] == "admin"
    assert frozen["rows"] == live["rows"]
    fixes = {(c["key"], c["figure"]): c for c in frozen["corrections"]}
    assert fixes[("JC-XI-1", "cases_completed")] == {
        "key": "JC-XI-1",
        "label": "西城供电所",
        "figure": "cases_completed",
        "snapshot": 1.0,
        "live": 2.0,
        "difference": 1.0,
    }
    scores = client.get("/api/v1/kpis/scores?period=2026-11&level=team", headers=sup).get_json()
    assert scores["snapshot"]["period"] == "2026-11"
    assert any(c["key"] == "JC-XI-1" and c["figure"] == "total" for c in scores["corrections"])


def test_the_cli_freezes_a_month_and_refuses_it_twice(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the CLI is checked on SQLite")
    from cli import main

    env = {"AUDITLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    first = runner.invoke(main, ["kpi", "snapshot", "--period", "2026-10"], env=env)
    assert first.exit_code == 0, first.output
    assert "KPI snapshot of 2026-10 frozen" in first.output
    again = runner.invoke(main, ["kpi", "snapshot", "--period", "2026-10"], env=env)
    assert again.exit_code == 1 and "was frozen" in again.output
    assert runner.invoke(main, ["kpi", "snapshot", "--period", "2999-01"], env=env).exit_code == 1


def test_trends_read_frozen_months_from_their_snapshot_and_the_others_live(engine, org, clock):  # noqa: F811
    clock.now = DECEMBER_FIRST + dt.timedelta(days=3)
    snapshots.freeze_month(engine.uow(), period="2026-11", actor=org["admin"], now=DECEMBER_FIRST)
    with engine.uow() as repos:  # a late receipt: November's live figures move, its snapshot does not
        late = repos.session.scalars(
            sa.select(m.ArchiveObligation)
            .where(m.ArchiveObligation.unit_code == "JC-DONG-1", m.ArchiveObligation.state == "open")
            .order_by(m.ArchiveObligation.due_at)
        ).first()
        late.state, late.is_on_time = "received", True
    client = create_app(engine=engine).test_client()
    sup = {"Authorization": "Bearer " + users.create_token(engine.uow(), username="supervisor", now=engine.now())}
    body = client.get("/api/v1/kpis/trends?level=unit&subject=JC-DONG&from=2026-10&to=2026-12", headers=sup).get_json()
    points = {p["period"]: p for p in body["points"]}
    assert list(points) == ["2026-10", "2026-11", "2026-12"]
    assert [p["is_frozen"] for p in body["points"]] == [False, True, False]
    assert points["2026-11"]["on_time_archive_rate"] == DONG_1["on_time_archive_rate"] == 0.25
    assert points["2026-11"]["overdue_rate"] == DONG_1["overdue_rate"]
    assert points["2026-12"]["archives_due"] == 1 and points["2026-12"]["on_time_archive_rate"] == 0.0
    assert points["2026-10"]["cases_raised"] == 1 and points["2026-10"]["overdue_rate"] == 0.0
    every = client.get("/api/v1/kpis/trends?level=team&from=2026-11&to=2026-11", headers=sup).get_json()
    assert every["points"][0]["cases_raised"] == DONG_1["cases_raised"] + 3  # DONG-1 and XI-1 together
    assert every["points"][0]["overdue_rate"] == pytest.approx(4 / 5)
    default = client.get("/api/v1/kpis/trends?level=unit&to=2026-11", headers=sup).get_json()
    assert (default["from"], default["to"], len(default["points"])) == ("2026-06", "2026-11", 6)
    for bad in ("from=2026-12&to=2026-11", "from=2026-Q1&to=2026-11", "from=2020-01&to=2026-11", "subject=NOPE"):
        response = client.get(f"/api/v1/kpis/trends?level=unit&{bad}", headers=sup)
        assert response.status_code == 422, bad
    handler = {"Authorization": "Bearer " + users.create_token(engine.uow(), username="h_dong1", now=engine.now())}
    assert client.get("/api/v1/kpis/trends", headers=handler).status_code == 403
