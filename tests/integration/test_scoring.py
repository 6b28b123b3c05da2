"""Composite quality scores on the hand-computed November 2026 of test_evaluation: indicators, adjustments,
totals and ranks through the service and the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import webui.api.score_views  # noqa: F401 - registers the routes on the blueprint before create_app registers it
from engine.domain import scoring as formulas
from engine.domain.errors import PermissionDeniedError, ValidationError
from engine.domain.views import Actor
from engine.persistence import models as m
from engine.services import scoring, users
from tests.conftest import BOTH_DATABASES
from tests.integration.test_evaluation import org  # noqa: F401 - the month's fixture
from webui import create_app
from webui.api import openapi, score_views

pytestmark = BOTH_DATABASES

# Team rates (test_evaluation DONG_1, XI_1) scored with the default indicators (full 100, equal weights).
DONG_1_INDICATORS = {
    "step_completion_rate": 100 * 0.5 / 0.98,
    "on_time_archive_rate": 100 * 0.25 / 0.90,
    "completion_rate": 100.0,
    "rectification_completion_rate": 50.0,
    "overdue_rate": 100 * (1 - (0.5 - 0.05) / (1 - 0.05)),
}
DONG_1_INDICATOR = sum(DONG_1_INDICATORS.values()) / 5  # 56.2859...
# XI-1 has only a completion rate (1/3) and an overdue rate (100%): the weights renormalise over those two.
XI_1_INDICATOR = (100 / 3 + 0.0) / 2  # 16.666...


def _adjust(engine, actor, subject, kind, value, reason="checked on site", level="team"):
    return scoring.add_adjustment(
        engine.uow(),
        period="2026-11",
        level=level,
        subject_key=subject,
        kind=kind,
        value=value,
        reason=reason,
        actor=actor,
        now=engine.now(),
    )


@pytest.fixture
def adjusted(engine, org):  # noqa: F811
    sup = org["supervisor"]
    _adjust(engine, sup, "JC-DONG-1", "process_score", 60, "first look")
    _adjust(engine, sup, "JC-DONG-1", "process_score", 80, "re-scored after the review")  # the latest counts
    _adjust(engine, sup, "JC-DONG-1", "business_score", 90)
    _adjust(engine, sup, "JC-DONG-1", "deduction", 1.5, "late monthly report")
    _adjust(engine, sup, "JC-DONG-1", "deduction", 0.5, "missing signature")  # deductions add up
    _adjust(engine, sup, "JC-XI-1", "process_score", 100)
    _adjust(engine, sup, "JC-XI-1", "business_score", 95)
    _adjust(engine, sup, "JC-XI-1", "bonus", 3, "found a tariff fraud")
    _adjust(engine, sup, "JC-BEI-1", "business_score", 50)
    _adjust(engine, sup, "JC-BEI-2", "business_score", 50)
    _adjust(engine, sup, "JC-DONG", "bonus", 50, level="unit")  # another level: not in the team scores
    return org


def test_team_totals_and_dense_ranks(engine, adjusted):
    rows = scoring.scores(engine.uow(), actor=adjusted["supervisor"], period="2026-11", level="team")
    table = {r.key: (r.indicator_score, r.process_score, r.business_score, r.deductions, r.bonus) for r in rows}
    assert table == {
        "JC-DONG-1": (pytest.approx(DONG_1_INDICATOR), 80, 90, 2.0, 0),
        "JC-XI-1": (pytest.approx(XI_1_INDICATOR), 100, 95, 0, 3.0),
        "JC-BEI-1": (None, None, 50, 0, 0),
        "JC-BEI-2": (None, None, 50, 0, 0),
        "JC-DONG-2": (None, None, None, 0, 0),
        "JC-XI-2": (None, None, None, 0, 0),
    }
    assert [(r.key, r.rank) for r in rows] == [
        ("JC-DONG-1", 1),
        ("JC-XI-1", 2),
        ("JC-BEI-1", 3),
        ("JC-BEI-2", 3),
        ("JC-DONG-2", 4),
        ("JC-XI-2", 4),
    ]
    totals = {r.key: r.total for r in rows}
    assert totals["JC-DONG-1"] == pytest.approx(0.5 * DONG_1_INDICATOR + 8 + 36 - 2)  # 70.1430
    assert totals["JC-DONG-1"] == pytest.approx(70.14298, abs=1e-5)
    assert totals["JC-XI-1"] == pytest.approx(0.5 * XI_1_INDICATOR + 10 + 38 + 3)  # 59.3333
    assert totals["JC-BEI-1"] == totals["JC-BEI-2"] == pytest.approx(20.0)
    assert totals["JC-DONG-2"] == totals["JC-XI-2"] == 0
    dong = rows[0].indicators
    assert dong == {key: pytest.approx(value) for key, value in DONG_1_INDICATORS.items()}
    assert rows[1].indicators["step_completion_rate"] is None


def test_unit_level_uses_its_own_adjustments(engine, adjusted):
    rows = scoring.scores(engine.uow(), actor=adjusted["supervisor"], period="2026-11", level="unit")
    by_key = {r.key: r for r in rows}
    assert by_key["JC-DONG"].bonus == 50
    assert by_key["JC-DONG"].total == pytest.approx(0.5 * DONG_1_INDICATOR + 50)
    assert by_key["JC-XI"].total == pytest.approx(0.5 * XI_1_INDICATOR)
    assert [r.key for r in rows] == ["JC-DONG", "JC-XI", "JC-BEI"]
    assert [r.rank for r in rows] == [1, 2, 3]


def test_admins_edit_indicators_with_history(engine, org, admin):  # noqa: F811
    defaults = scoring.list_indicators(engine.uow())
    assert [i["key"] for i in defaults] == sorted(
        [
            "step_completion_rate",
            "on_time_archive_rate",
            "completion_rate",
            "rectification_completion_rate",
            "overdue_rate",
        ]
    )
    assert all(i["is_enabled"] and i["weight"] == 1 and i["updated_by"] is None for i in defaults)
    now = engine.now()
    after = scoring.put_indicator(
        engine.uow(),
        key="overdue_rate",
        base_value=0.1,
        full_score=100,
        direction="lower",
        weight=1,
        is_enabled=False,
        actor=admin,
        now=now,
    )
    assert (after["is_enabled"], after["base_value"], after["updated_by"]) == (False, 0.1, "root")
    assert after["label"] == "稽查超期率 Overdue rate"
    listed = {i["key"]: i for i in scoring.list_indicators(engine.uow())}
    assert listed["overdue_rate"] == after and listed["completion_rate"]["updated_by"] is None
    with engine.uow() as repos:
        event = repos.session.scalars(select(m.HistoryEvent).where(m.HistoryEvent.kind == "kpi_indicator_set")).one()
        data = json.loads(event.data_json)
    assert data["before"]["is_enabled"] is True and data["before"]["base_value"] == 0.05
    assert data["after"] == after
    # With the overdue rate off, DONG-1 is scored on four indicators and XI-1 on its completion rate alone.
    rows = {r.key: r for r in scoring.scores(engine.uow(), actor=org["supervisor"], period="2026-11", level="team")}
    assert rows["JC-DONG-1"].indicator_score == pytest.approx(
        sum(v for k, v in DONG_1_INDICATORS.items() if k != "overdue_rate") / 4
    )
    assert rows["JC-XI-1"].indicator_score == pytest.approx(100 / 3)
    assert "overdue_rate" not in rows["JC-XI-1"].indicators


def _put(engine, actor, **changes):
    args = {"key": "completion_rate", "base_value": 1.0, "full_score": 100, "direction": "higher", "weight": 1}
    return scoring.put_indicator(engine.uow(), **{**args, **changes}, is_enabled=True, actor=actor, now=engine.now())


def test_refusals(engine, org, admin):  # noqa: F811
    with pytest.raises(PermissionDeniedError):
        _put(engine, org["supervisor"])
    for field, changes in [
        ("key", {"key": "cases_raised"}),
        ("direction", {"direction": "up"}),
        ("base_value", {"base_value": 0}),
        ("base_value", {"direction": "lower", "base_value": 1.0}),
        ("full_score", {"full_score": -5}),
        ("weight", {"weight": float("nan")}),
        ("label", {"label": " "}),
    ]:
        with pytest.raises(ValidationError) as err:
            _put(engine, admin, **changes)
        assert set(err.value.details["fields"]) == {field}, changes
    sup = org["supervisor"]
    with pytest.raises(PermissionDeniedError):
        _adjust(engine, org["h_dong1"], "JC-DONG-1", "bonus", 1)
    dong = Actor("s", frozenset({"supervisor"}), "JC-DONG", units=frozenset({"JC-DONG", "JC-DONG-1", "JC-DONG-2"}))
    with pytest.raises(PermissionDeniedError):
        _adjust(engine, dong, "JC-XI-1", "bonus", 1)
    for field, args in [
        ("reason", ("JC-DONG-1", "bonus", 1, "  ")),
        ("value", ("JC-DONG-1", "business_score", 101)),
        ("value", ("JC-DONG-1", "process_score", -1)),
        ("value", ("JC-DONG-1", "deduction", -2)),
        ("kind", ("JC-DONG-1", "penalty", 2)),
        ("subject_key", ("JC-DONG", "bonus", 2)),  # a district is not a team
        ("subject_key", ("JC-NOWHERE", "bonus", 2)),
    ]:
        with pytest.raises(ValidationError) as err:
            _adjust(engine, sup, *args)
        assert set(err.value.details["fields"]) == {field}, args
    with pytest.raises(ValidationError) as err:
        _adjust(engine, sup, "nobody", "bonus", 1, level="person")
    assert set(err.value.details["fields"]) == {"subject_key"}
    with pytest.raises(PermissionDeniedError):
        scoring.scores(engine.uow(), actor=org["h_dong1"], period="2026-11", level="team")
    with pytest.raises(ValidationError, match="period"):
        scoring.scores(engine.uow(), actor=sup, period="2026-13", level="team")


def test_person_adjustments_count(engine, org):  # noqa: F811
    _adjust(engine, org["supervisor"], "h_xi1", "business_score", 100, level="person")
    rows = scoring.scores(engine.uow(), actor=org["supervisor"], period="2026-11", level="person")
    assert [(r.key, r.rank) for r in rows] == [("h_xi1", 1), ("h_dong1", 2)]
    assert rows[0].total == pytest.approx(0.5 * XI_1_INDICATOR + 40)
    assert rows[1].total == pytest.approx(0.5 * DONG_1_INDICATOR)


def test_api(engine, org):  # noqa: F811
    client = create_app(engine=engine).test_client()

    def bearer(name):
        return {"Authorization": "Bearer " + users.create_token(engine.uow(), username=name, now=engine.now())}

    sup, admin, handler = bearer("supervisor"), bearer("admin"), bearer("h_dong1")
    listed = client.get("/api/v1/kpi-indicators", headers=handler)
    assert listed.status_code == 200 and len(listed.get_json()) == 5
    body = {"base_value": 0.95, "full_score": 100, "direction": "higher", "weight": 2}
    assert client.put("/api/v1/kpi-indicators/completion_rate", json=body, headers=sup).status_code == 403
    response = client.put("/api/v1/kpi-indicators/completion_rate", json=body, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["weight"] == 2 and response.get_json()["is_enabled"] is True
    bad = client.put("/api/v1/kpi-indicators/cases_raised", json=body, headers=admin)
    assert bad.status_code == 422 and "key" in bad.get_json()["error"]["details"]["fields"]
    bad = client.put("/api/v1/kpi-indicators/completion_rate", json={**body, "colour": "red"}, headers=admin)
    assert bad.status_code == 422

    adjustment = {
        "period": "2026-11",
        "level": "team",
        "subject_key": "JC-XI-1",
        "kind": "business_score",
        "value": 95,
        "reason": "good cooperation",
    }
    created = client.post("/api/v1/kpi-adjustments", json=adjustment, headers=sup)
    assert created.status_code == 201
    assert created.get_json()["created_by"] == "supervisor" and created.get_json()["reason"] == "good cooperation"
    missing = client.post("/api/v1/kpi-adjustments", json={**adjustment, "reason": ""}, headers=sup)
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["details"]["fields"]
    assert client.post("/api/v1/kpi-adjustments", json=adjustment, headers=handler).status_code == 403

    assert client.get("/api/v1/kpis/scores?period=2026-11", headers=handler).status_code == 403
    assert client.get("/api/v1/kpis/scores?period=2026-13", headers=sup).status_code == 422
    scores = client.get("/api/v1/kpis/scores?period=2026-11&level=team", headers=sup).get_json()
    assert (scores["period"], scores["level"]) == ("2026-11", "team")
    first = scores["rows"][0]
    assert (first["key"], first["rank"], first["business_score"], first["process_score"]) == ("JC-XI-1", 1, 95, None)
    # completion_rate now has base 0.95 and weight 2 (set above): (2 × 35.09 + 1 × 0) / 3 = 23.39.
    assert first["indicator_score"] == pytest.approx(2 * (100 / 3 / 0.95) / 3)
    assert first["total"] == pytest.approx(0.5 * 2 * (100 / 3 / 0.95) / 3 + 38)  # 49.6959
    assert set(first) == {
        "key",
        "label",
        "indicators",
        "indicator_score",
        "process_score",
        "business_score",
        "deductions",
        "bonus",
        "total",
        "rank",
    }


def test_openapi_documents_the_bodies_and_answers(engine, org, admin):  # noqa: F811
    components = openapi.openapi_document()["components"]["schemas"]
    for name, schema in (
        ("SetKpiIndicator", score_views.IndicatorSchema),
        ("AddKpiAdjustment", score_views.AdjustmentSchema),
    ):
        fields = schema().fields
        assert set(components[name]["properties"]) == set(fields)
        assert set(components[name]["required"]) == {n for n, f in fields.items() if f.required}
    assert list(formulas.DIRECTIONS) == openapi.SCORE_DIRECTIONS
    assert list(formulas.ADJUSTMENT_KINDS) == openapi.ADJUSTMENT_KINDS
    indicator = scoring.list_indicators(engine.uow())[0]
    assert set(components["KpiIndicator"]["properties"]) == set(indicator)
    adjustment = _adjust(engine, org["supervisor"], "JC-XI-1", "bonus", 1)
    assert set(components["KpiAdjustment"]["properties"]) == set(adjustment)
    row = scoring.scores(engine.uow(), actor=admin, period="2026-11", level="team")[0]
    assert set(components["KpiScore"]["properties"]) == set(scoring.score_json(row))
