"""Smart charging rules a plausible bug could break silently: the charge point's maximum
shared among the connectors with a transaction only (an idle connector takes no share),
and a composite schedule that keeps periods apart when only their numberPhases differ
(OCPP 1.6 §3.13, §7.13). agent/core/smart_charging.py, no event loop."""

from __future__ import annotations

from agent.core.smart_charging import Purpose, RateUnit
from tests.unit.test_smart_charging import T0, at, profile, station


def cp_max(amps: float, pid: int = 1):
    return profile(pid, connector=0, purpose=Purpose.CHARGE_POINT_MAX, periods=[(0, amps)])


def test_an_idle_connector_takes_no_share_of_the_charge_point_maximum():
    sc = station(cp_max(20.0), connectors=(1, 2, 3))
    sc.transaction_started(1, 1, T0, "A")
    # Connectors 2 and 3 are idle: connector 1 may use the whole 20 A.
    assert sc.limit_at(1, T0) == 20.0


def test_a_connector_without_a_transaction_counts_itself_in_the_share():
    """Its limit is what it would get once its transaction starts (it is in place before)."""
    sc = station(cp_max(20.0), connectors=(1, 2, 3))
    sc.transaction_started(1, 1, T0, "A")
    assert sc.limit_at(2, T0) == 10.0 and sc.limit_at(3, T0) == 10.0


def test_the_share_follows_the_transactions():
    sc = station(cp_max(30.0), connectors=(1, 2, 3))
    assert sc.limit_at(1, T0) == 30.0  # nothing runs: the first to start gets it all
    sc.transaction_started(1, 1, T0, "A")
    sc.transaction_started(2, 2, T0, "B")
    assert sc.limit_at(1, T0) == 15.0 and sc.limit_at(2, T0) == 15.0
    sc.transaction_started(3, 3, T0, "C")
    assert {sc.limit_at(c, T0) for c in (1, 2, 3)} == {10.0}
    sc.transaction_ended(2)
    assert sc.limit_at(1, T0) == 15.0 and sc.limit_at(3, T0) == 15.0


def test_the_share_shows_in_the_connectors_composite_schedule():
    sc = station(cp_max(24.0), connectors=(1, 2))
    sc.transaction_started(1, 1, T0, "A")
    assert [(p.start_s, p.limit) for p in sc.composite(1, T0, 60).periods] == [(0, 24.0)]
    sc.transaction_started(2, 2, T0, "B")
    assert [(p.start_s, p.limit) for p in sc.composite(1, T0, 60).periods] == [(0, 12.0)]


def test_a_composite_keeps_apart_periods_whose_number_of_phases_differs():
    """16 A on three phases, then 16 A on one: the same amperes, not the same schedule
    (11 kW against 3.7 kW), so the composite has two periods, in A as in W."""
    sc = station(profile(periods=[(0, 16.0, 3), (60, 16.0, 1), (120, 16.0, 1)]))
    amps = sc.composite(1, T0, 180, RateUnit.AMPS)
    assert [(p.start_s, p.limit, p.phases) for p in amps.periods] == [(0, 16.0, 3), (60, 16.0, 1)]
    watts = sc.composite(1, T0, 180, RateUnit.WATTS)
    assert [(p.start_s, p.limit, p.phases) for p in watts.periods] == [(0, 11040.0, 3), (60, 3680.0, 1)]


def test_a_composite_merges_periods_equal_in_limit_and_phases():
    sc = station(profile(periods=[(0, 16.0, 1), (60, 16.0, 1), (120, 10.0, 1)]))
    assert [(p.start_s, p.limit, p.phases) for p in sc.composite(1, T0, 180).periods] == [(0, 16.0, 1), (120, 10.0, 1)]


def test_number_of_phases_of_a_watt_limit_sets_the_amperes():
    sc = station(profile(unit=RateUnit.WATTS, periods=[(0, 6900.0, 3), (60, 6900.0, 1)]))
    assert sc.limit_at(1, T0) == 10.0
    assert sc.limit_at(1, at(seconds=60)) == 30.0
