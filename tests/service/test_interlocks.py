"""The contactor test's interlocks and dead man's switch, as pure functions
(agent/station/service_actions.py)."""

from __future__ import annotations

import dataclasses

import pytest

from agent.station.service_actions import ContactorFacts, Deadman, contactor_refusal, rcd_test_refusal
from drivers.interfaces import PilotState

FREE = ContactorFacts(has_contactor=True, pilot=PilotState.A, cable_in_socket=False, transaction=False,
                      authorized=False, faults=(), trips=())


def test_a_free_connector_may_close_its_contactor_for_a_test():
    assert contactor_refusal(FREE) is None


@pytest.mark.parametrize("change, code", [
    ({"has_contactor": False}, "no_device"),
    ({"pilot": None}, "board_silent"),  # a silent board: whether an EV is there is not known
    ({"pilot": PilotState.B}, "ev_plugged"),
    ({"pilot": PilotState.C}, "ev_plugged"),
    ({"pilot": PilotState.D}, "ev_plugged"),
    ({"pilot": PilotState.E}, "fault"),
    ({"pilot": PilotState.F}, "fault"),
    ({"cable_in_socket": True}, "ev_plugged"),  # the free end of the cable would be live
    ({"transaction": True}, "session"),
    ({"authorized": True}, "session"),
    ({"faults": ("welded",)}, "fault"),
    ({"trips": ("rcd",)}, "trip"),
    ({"trips": ("emergency_stop",)}, "trip"),
])
def test_the_contactor_test_is_refused(change, code):
    refusal = contactor_refusal(dataclasses.replace(FREE, **change))
    assert refusal is not None and refusal.code == code
    assert str(refusal)  # a sentence for the installer


def test_an_ev_is_named_with_its_pilot_state():
    assert "pilot state C" in str(contactor_refusal(dataclasses.replace(FREE, pilot=PilotState.C)))


@pytest.mark.parametrize("has, tx, authorized, running, code", [
    (False, False, False, False, "no_device"),
    (True, True, False, False, "session"),
    (True, False, True, False, "session"),
    (True, False, False, True, "busy"),
])
def test_the_rcd_self_test_is_refused(has, tx, authorized, running, code):
    assert rcd_test_refusal(has, tx, authorized, running).code == code


def test_the_rcd_self_test_runs_on_a_free_connector():
    assert rcd_test_refusal(True, False, False, False) is None


def test_the_dead_mans_switch_holds_while_renewed_within_a_second():
    hold = Deadman(started=100.0, renew_s=1.0, max_s=30.0)
    assert hold.expired(100.9) is None
    hold.renew(100.9)
    assert hold.expired(101.8) is None
    assert hold.left(101.8) == pytest.approx(0.1)
    assert hold.expired(102.0) == "released (not renewed)"


def test_the_dead_mans_switch_opens_after_the_longest_hold_even_when_renewed():
    hold = Deadman(started=0.0, renew_s=1.0, max_s=30.0)
    now = 0.0
    while now < 29.5:
        now += 0.5
        hold.renew(now)
        assert hold.expired(now) is None
    hold.renew(30.0)
    assert "30 s" in hold.expired(30.0)
    assert hold.left(30.0) == 0.0
