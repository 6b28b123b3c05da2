"""Pure rules behind the admin screens: depths in the unit tree, the audit log's whole-day periods."""

from __future__ import annotations

import datetime as dt

from engine.domain.units import depths_below
from engine.services.audit_log import day_bounds

TREE = [("JC", None), ("JC-DONG", "JC"), ("JC-DONG-1", "JC-DONG"), ("JC-XI", "JC")]


def test_depths_below_a_unit_cover_its_subtree_only():
    assert depths_below(TREE, "JC-DONG") == {"JC-DONG": 0, "JC-DONG-1": 1}
    assert depths_below(TREE, "JC") == {"JC": 0, "JC-DONG": 1, "JC-XI": 1, "JC-DONG-1": 2}
    assert depths_below(TREE, "JC-DONG-1") == {"JC-DONG-1": 0}


def test_depths_survive_a_cycle_in_stored_data():
    looped = [("A", "B"), ("B", "A")]
    assert depths_below(looped, "A") == {"A": 0, "B": 1}


def test_day_bounds_are_whole_local_days():
    since, until = day_bounds(dt.date(2026, 11, 23), dt.date(2026, 11, 23), "Asia/Shanghai")
    assert since == dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)
    assert until == dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)
    assert day_bounds(None, None, "Asia/Shanghai") == (None, None)
