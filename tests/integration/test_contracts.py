"""Contracts: expiry states, each notice exactly once, auto-renewal rolls forward and is recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.domain.errors import ConflictError, ValidationError
from engine.domain.views import Actor
from engine.services import contracts, reminders, users
from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES


@pytest.fixture
def handler(engine):
    admin = Actor("root", frozenset({"admin"}))
    users.add_unit(engine.uow(), code="C", name="City", actor=admin, now=engine.now())
    users.add_user(engine.uow(), username="hana", roles=["handler"], unit_code="C", now=engine.now())
    return users.get_actor(engine.uow(), username="hana")


def _add(engine, handler, number, days, **kwargs):
    today = contracts.local_today(engine.now())
    return contracts.add_contract(
        engine.uow(),
        number=number,
        customer=f"customer {number}",
        unit_code="C",
        signed_on=today - dt.timedelta(days=300),
        expires_on=today + dt.timedelta(days=days),
        actor=handler,
        now=engine.now(),
        **kwargs,
    )


def test_states_and_one_notice_per_threshold(engine, handler, clock):
    assert _add(engine, handler, "HT-20", 20).state == "reminder"
    assert _add(engine, handler, "HT-5", 5).state == "warning"
    assert _add(engine, handler, "HT-90", 90).state == "ok"
    states = {c.number: c.state for c in contracts.list_contracts(engine.uow(), actor=handler, now=engine.now())}
    assert states == {"HT-20": "reminder", "HT-5": "warning", "HT-90": "ok"}
    assert [
        c.number for c in contracts.list_contracts(engine.uow(), actor=handler, now=engine.now(), state="warning")
    ] == ["HT-5"]
    assert contracts.sweep_contracts(engine.uow(), now=engine.now())["notified"] == 2
    assert contracts.sweep_contracts(engine.uow(), now=engine.now())["notified"] == 0
    clock.advance(days=14)  # HT-20 is now 6 days out: a warning, once
    assert contracts.sweep_contracts(engine.uow(), now=engine.now())["notified"] == 2  # HT-20 warning, HT-5 expired
    assert contracts.sweep_contracts(engine.uow(), now=engine.now())["notified"] == 0
    titles = [r.title for r in reminders.list_reminders(engine.uow(), actor=handler)]
    assert len(titles) == 4 and sum("expired" in t for t in titles) == 1


def test_auto_renewal_rolls_forward_by_its_term(engine, handler, clock):
    contract = _add(engine, handler, "HT-R", 3, auto_renew=True, term_months=12)
    clock.advance(days=5)
    report = contracts.sweep_contracts(engine.uow(), now=engine.now())
    assert report["renewed"] == 1
    [renewed] = contracts.list_contracts(engine.uow(), actor=handler, now=engine.now())
    assert renewed.expires_on == dt.date(
        contract.expires_on.year + 1, contract.expires_on.month, contract.expires_on.day
    )
    assert renewed.state == "ok"


def test_bad_contracts_are_refused(engine, handler):
    with pytest.raises(ValidationError) as bad:
        contracts.add_contract(
            engine.uow(),
            number="",
            customer="",
            unit_code="C",
            signed_on=dt.date(2026, 1, 1),
            expires_on=dt.date(2025, 1, 1),
            actor=handler,
            now=engine.now(),
            term_months=0,
        )
    assert set(bad.value.fields) == {"number", "customer", "expires_on", "term_months"}
    _add(engine, handler, "HT-1", 100)
    with pytest.raises(ConflictError):
        _add(engine, handler, "HT-1", 100)
