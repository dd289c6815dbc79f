"""The 5 s PWM rule (IEC 61851-1) kept per connector over every source of limits:
agent/core/offer_pacing.py, pure, no event loop."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.offer_pacing import PWM_MIN_INTERVAL_S, Decision, OfferPacing, Why, decide

MUTATION_RUN = bool(os.environ.get("EVSE_MUTATION_RUN"))  # set by .ci/mutation_gate.py


# ---- decide: the rule -------------------------------------------------------------


def test_the_interval_is_five_seconds():
    assert PWM_MIN_INTERVAL_S == 5.0


def test_a_request_for_what_is_offered_changes_nothing():
    assert decide(16.0, 10.0, 16.0, 11.0) == Decision(16.0, 11.0, Why.UNCHANGED)
    assert decide(0.0, 10.0, 0.0, 11.0).why is Why.UNCHANGED


@pytest.mark.parametrize("offered", [None, 0.0])
def test_the_start_of_charging_does_not_wait(offered):
    # 1 s after the last change (the stop before): a start is never held back.
    assert decide(offered, 10.0, 16.0, 11.0) == Decision(16.0, 11.0, Why.START)


@pytest.mark.parametrize("requested", [0.0, -1.0, 1.0, 5.9])
def test_stopping_does_not_wait(requested):
    """0 A, and anything below the 6 A the pilot can signal (IEC 61851-1 Annex A)."""
    assert decide(16.0, 10.0, requested, 10.5) == Decision(0.0, 10.5, Why.STOP)


@pytest.mark.parametrize("requested", [0.0, 5.9])
def test_nothing_below_six_amperes_changes_an_offer_that_is_off(requested):
    assert decide(0.0, 10.0, requested, 11.0) == Decision(0.0, 11.0, Why.UNCHANGED)


def test_six_amperes_is_a_current_not_a_stop():
    assert decide(16.0, 10.0, 6.0, 11.0) == Decision(6.0, 15.0, Why.PACED)
    assert decide(0.0, 10.0, 6.0, 11.0) == Decision(6.0, 11.0, Why.START)
    assert decide(6.0, 10.0, 16.0, 11.0) == Decision(16.0, 15.0, Why.PACED)  # from 6 A: a change, not a start


@pytest.mark.parametrize("offered", [1.0, 5.9])
def test_an_offer_below_six_amperes_counts_as_off(offered):
    assert decide(offered, 10.0, 16.0, 11.0) == Decision(16.0, 11.0, Why.START)


def test_stopping_from_nothing_told_yet_does_not_wait():
    # A board powers up offering its default current: the first word is "off", at once.
    assert decide(None, None, 0.0, 3.0) == Decision(0.0, 3.0, Why.STOP)


def test_a_safety_decrease_does_not_wait():
    assert decide(16.0, 10.0, 10.0, 11.0, safety=True) == Decision(10.0, 11.0, Why.SAFETY)


def test_safety_does_not_hurry_an_increase():
    assert decide(10.0, 10.0, 16.0, 11.0, safety=True) == Decision(16.0, 15.0, Why.PACED)


@pytest.mark.parametrize("requested", [10.0, 6.0, 20.0, 32.0])
def test_any_other_change_waits_five_seconds_after_the_last(requested):
    assert decide(16.0, 10.0, requested, 11.0) == Decision(requested, 15.0, Why.PACED)


def test_a_change_five_seconds_or_more_after_the_last_is_at_once():
    assert decide(16.0, 10.0, 10.0, 15.0) == Decision(10.0, 15.0, Why.PACED)
    assert decide(16.0, 10.0, 10.0, 60.0) == Decision(10.0, 60.0, Why.PACED)


def test_just_under_five_seconds_still_waits():
    decision = decide(16.0, 10.0, 10.0, 14.999)
    assert decision.at == 15.0 and not decision.due(14.999) and decision.due(15.0)


def test_an_offer_never_changed_may_change_at_once():
    assert decide(16.0, None, 10.0, 3.0) == Decision(10.0, 3.0, Why.PACED)


def test_the_interval_can_be_given():
    assert decide(16.0, 10.0, 10.0, 11.0, interval_s=2.0).at == 12.0


# ---- OfferPacing: one clock per connector -------------------------------------------


def started(at: float = 0.0, amps: float = 16.0) -> OfferPacing:
    pacing = OfferPacing()
    assert pacing.request(amps, at) == amps
    return pacing


def test_the_connector_keeps_the_interval_it_was_given():
    pacing = OfferPacing(interval_s=2.0)
    pacing.request(16.0, 0.0)
    assert pacing.request(10.0, 1.0) is None and pacing.wake_at == 2.0


def test_a_held_request_comes_due_at_wake_at():
    pacing = started(0.0)
    assert pacing.request(10.0, 1.0) is None
    assert pacing.wake_at == 5.0
    assert pacing.due(4.9) is None
    assert pacing.due(5.0) == 10.0
    assert (pacing.offered, pacing.changed_at, pacing.wake_at) == (10.0, 5.0, None)
    assert pacing.due(6.0) is None  # nothing held any more


def test_a_newer_request_replaces_the_held_one_and_keeps_its_time():
    pacing = started(0.0)
    pacing.request(10.0, 1.0)
    assert pacing.request(8.0, 3.0) is None
    assert pacing.wake_at == 5.0  # not 8.0: the clock is the connector's, not the request's
    assert pacing.due(5.0) == 8.0


def test_a_request_back_to_the_offer_cancels_the_wait():
    pacing = started(0.0)
    pacing.request(10.0, 1.0)
    assert pacing.request(16.0, 2.0) is None
    assert pacing.wake_at is None and pacing.due(5.0) is None
    assert pacing.offered == 16.0


def test_a_stop_while_a_change_is_held_is_at_once_and_drops_it():
    pacing = started(0.0)
    pacing.request(10.0, 1.0)
    assert pacing.request(0.0, 2.0) == 0.0
    assert pacing.wake_at is None and pacing.due(5.0) is None


def test_a_restart_after_a_pause_is_at_once_and_starts_the_clock_again():
    pacing = started(0.0)
    assert pacing.request(0.0, 20.0) == 0.0  # the session's own pause
    assert pacing.request(16.0, 21.0) == 16.0  # resumed: the PWM comes on at once
    assert pacing.request(10.0, 22.0) is None
    assert pacing.wake_at == 26.0


def test_a_safety_decrease_overtakes_a_held_change():
    pacing = started(0.0)
    pacing.request(12.0, 1.0)
    assert pacing.request(8.0, 2.0, safety=True) == 8.0
    assert pacing.wake_at is None and pacing.changed_at == 2.0
    assert pacing.request(10.0, 3.0) is None and pacing.wake_at == 7.0


def test_the_first_change_after_the_start_waits_for_the_start():
    """A profile that arrives 1 s after the PWM came on: the start counts as a change."""
    pacing = started(100.0)
    assert pacing.request(10.0, 101.0) is None
    assert pacing.wake_at == 105.0


class Connector:
    """A connector whose offer is the least of what its sources allow (smart charging,
    thermal derating, load sharing, ...), through one ``OfferPacing``."""

    def __init__(self, max_a: float = 32.0) -> None:
        self.max_a = max_a
        self.limits: dict[str, float] = {}
        self.pacing = OfferPacing()
        self.changes: list[tuple[float, float]] = []

    def wanted(self) -> float:
        return min([self.max_a, *self.limits.values()])

    def source_changed(self, source: str, amps: float, now: float) -> None:
        self.tick(now)
        self.limits[source] = amps
        self._told(self.pacing.request(self.wanted(), now), now)

    def tick(self, now: float) -> None:
        while self.pacing.wake_at is not None and self.pacing.wake_at <= now:
            at = self.pacing.wake_at
            self._told(self.pacing.due(at), at)

    def _told(self, amps: float | None, now: float) -> None:
        if amps is not None:
            self.changes.append((now, amps))


def test_two_sources_changing_one_second_apart_change_the_offer_five_seconds_apart():
    """Smart charging lowers the limit to 20 A, thermal derating 1 s later to 14 A: with a
    clock per source both would change the PWM (1 s apart); with the connector's one clock
    the second change waits until 5 s after the first."""
    conn = Connector()
    conn.source_changed("start", 32.0, 0.0)
    conn.source_changed("smart_charging", 20.0, 10.0)
    conn.source_changed("derating", 14.0, 11.0)
    conn.tick(14.9)
    assert conn.changes == [(0.0, 32.0), (10.0, 20.0)]
    conn.tick(15.0)
    assert conn.changes == [(0.0, 32.0), (10.0, 20.0), (15.0, 14.0)]


def test_two_sources_changing_at_the_same_moment_make_one_change():
    conn = Connector()
    conn.source_changed("start", 32.0, 0.0)
    conn.source_changed("smart_charging", 20.0, 3.0)
    conn.source_changed("derating", 14.0, 3.0)
    conn.tick(30.0)
    assert conn.changes == [(0.0, 32.0), (5.0, 14.0)]


def test_one_source_easing_while_another_tightens_ends_at_the_least_of_both():
    conn = Connector()
    conn.source_changed("start", 32.0, 0.0)
    conn.source_changed("smart_charging", 16.0, 10.0)  # at once: 5 s passed
    conn.source_changed("smart_charging", 32.0, 11.0)  # eased again ...
    conn.source_changed("derating", 20.0, 12.0)  # ... while the heat sets in
    conn.tick(60.0)
    assert conn.changes == [(0.0, 32.0), (10.0, 16.0), (15.0, 20.0)]


def test_a_source_that_stops_the_connector_is_not_held_by_another_ones_change():
    conn = Connector()
    conn.source_changed("start", 32.0, 0.0)
    conn.source_changed("smart_charging", 16.0, 10.0)
    conn.source_changed("pause", 0.0, 11.0)  # the session's own pause: 0 A at once
    assert conn.changes[-1] == (11.0, 0.0)


# ---- the rule as properties over any sequence of requests ---------------------------

requests = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=12.0, allow_nan=False),  # seconds since the previous request
        st.sampled_from([0.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0, 32.0]),
        st.booleans(),  # safety
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None, derandomize=MUTATION_RUN)  # the same examples under .ci/mutation
@given(requests)
def test_paced_changes_are_five_seconds_apart_and_the_newest_request_is_reached(seq):
    pacing = OfferPacing()
    offers: list[tuple[float, float, Why | None]] = []  # (time, amps, why)
    now = 0.0
    newest = None
    for gap, amps, safety in seq:
        now += gap
        while pacing.wake_at is not None and pacing.wake_at <= now:
            at = pacing.wake_at
            offers.append((at, pacing.due(at), Why.PACED))
        before = pacing.offered
        decision = decide(pacing.offered, pacing.changed_at, amps, now, safety=safety)
        told = pacing.request(amps, now, safety=safety)
        if decision.why in (Why.START, Why.STOP, Why.SAFETY):
            assert told == decision.amps  # never waits
        if told is not None:
            offers.append((now, told, decision.why))
        else:
            assert pacing.offered == before  # nothing changed behind the caller's back
        newest = amps
    final = pacing.wake_at
    if final is not None:
        offers.append((final, pacing.due(final), Why.PACED))
        assert final <= now + PWM_MIN_INTERVAL_S
    # The newest request is what is offered in the end (below 6 A: off).
    assert pacing.offered == (newest if newest >= 6.0 else 0.0)
    # Two changes in a row are 5 s apart unless the later one is a start, a stop or a
    # safety decrease; and every offer is a change.
    for (t0, a0, _), (t1, a1, why) in zip(offers, offers[1:], strict=False):
        assert a1 != a0
        if why is Why.PACED:
            assert t1 - t0 >= PWM_MIN_INTERVAL_S - 1e-9
