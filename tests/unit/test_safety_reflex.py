"""The safety reflex (agent/core/safety_reflex.py): when the hardware thread cuts the current on
its own, and how a cut holds until the station has handled it."""

from __future__ import annotations

import pytest

from agent.core.safety_reflex import SafetyReflex, danger_in
from drivers.interfaces import BoardFault, BoardStatus, PilotState


def status(pilot: PilotState = PilotState.C, *, offered: float = 16.0, relay: bool = True,
           fault: BoardFault | None = None) -> BoardStatus:
    return BoardStatus(pilot=pilot, relay_closed=relay, offered_current_a=offered, fault=fault)


def charging() -> SafetyReflex:
    reflex = SafetyReflex()
    assert reflex.command(16.0) == 16.0
    return reflex


@pytest.mark.parametrize("reading, why", [
    (status(PilotState.A, relay=False), "EV unplugged"),
    (status(PilotState.E), "pilot shorted (state E)"),
    (status(PilotState.F), "EVSE not available (state F)"),
    (status(fault=BoardFault.RCD), "board reports rcd"),
    (status(PilotState.B, fault=BoardFault.DIODE), "board reports diode"),
])
def test_a_dangerous_reading_while_charging_cuts_at_once(reading, why):
    reflex = charging()
    cut = reflex.reading(reading)
    assert cut is not None and cut.reason.startswith(why.split(" (")[0]) and cut.seq == 1
    assert reflex.holding and not reflex.energized and reflex.commanded_a == 0


@pytest.mark.parametrize("pilot", [PilotState.B, PilotState.C, PilotState.D])
def test_an_ev_that_pauses_or_charges_is_no_danger(pilot):
    reflex = charging()
    assert danger_in(status(pilot)) is None
    assert reflex.reading(status(pilot)) is None and reflex.energized


def test_nothing_offered_nothing_to_cut():
    reflex = SafetyReflex()
    assert reflex.reading(status(PilotState.A, offered=0, relay=False)) is None
    assert not reflex.holding


def test_a_board_offering_on_its_own_is_cut_even_when_nothing_was_asked():
    # A board that rebooted offers its power-up current with no EV: the reflex writes 0.
    reflex = SafetyReflex()
    cut = reflex.reading(status(PilotState.A, offered=20.0, relay=False))
    assert cut is not None and cut.reason == "EV unplugged"


def test_a_cut_holds_against_an_offer_the_station_sent_before_it_knew():
    reflex = charging()
    cut = reflex.reading(status(PilotState.A, relay=False))
    assert reflex.command(16.0) == 0.0  # stale: the station had not handled the unplug yet
    assert reflex.command(0.0) == 0.0
    assert not reflex.may_close_contactor()
    # A new EV plugs in before the station caught up: still nothing.
    assert reflex.reading(status(PilotState.B, offered=0, relay=False)) is None
    assert reflex.command(10.0) == 0.0
    reflex.acknowledge(cut.seq)
    assert not reflex.holding and reflex.may_close_contactor() and reflex.reason is None
    assert reflex.command(10.0) == 10.0 and reflex.energized


def test_one_cut_while_held_and_each_acknowledgement_only_for_what_was_seen():
    reflex = charging()
    first = reflex.reading(status(fault=BoardFault.RCD))
    assert reflex.reading(status(fault=BoardFault.RCD)) is None  # held: not cut again
    assert reflex.tripped("emergency stop") is None
    reflex.acknowledge(first.seq)
    reflex.command(16.0)
    second = reflex.tripped("RCD input tripped")
    assert second is not None and second.seq == 2
    reflex.acknowledge(1)  # an old acknowledgement does not release a newer cut
    assert reflex.holding and reflex.command(16.0) == 0.0
    reflex.acknowledge(5)  # nor does one from the future release more than there is
    assert reflex.acknowledged == 2 and not reflex.holding


def test_a_write_that_did_not_take_is_cut_again_after_the_acknowledgement():
    reflex = charging()
    cut = reflex.reading(status(PilotState.A, relay=False))
    reflex.acknowledge(cut.seq)
    again = reflex.reading(status(PilotState.A, offered=16.0, relay=False))  # the board still offers
    assert again is not None and again.seq == 2


def test_fast_polling_only_while_energized():
    reflex = SafetyReflex()
    assert reflex.poll_interval(0.25, 0.02) == 0.25
    reflex.command(16.0)
    assert reflex.poll_interval(0.25, 0.02) == 0.02
    reflex.reading(status(PilotState.A, relay=False))
    assert reflex.poll_interval(0.25, 0.02) == 0.25
