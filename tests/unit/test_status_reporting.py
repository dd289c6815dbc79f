"""Which statuses reach the backend: MinimumStatusDuration (OCPP 1.6 §9.1.19,
agent/core/status_hold.py) and SuspendedEV vs SuspendedEVSE (§4.9, agent/core/session.py)."""

from __future__ import annotations

from agent.core.session import (
    AuthorizationResult,
    CardPresented,
    ConnectorStatus,
    DerateChanged,
    LimitChanged,
    PilotChanged,
    Session,
    TransactionRecorded,
    TransactionRejected,
)
from agent.core.status_hold import StatusHold
from drivers.interfaces import PilotState

A, B, C = PilotState.A, PilotState.B, PilotState.C


def test_without_a_minimum_duration_every_change_is_due_at_once():
    hold = StatusHold(lambda: 0)
    hold.changed(1, "Preparing", now=10.0)
    assert hold.due(10.0) == {1: "Preparing"}
    assert hold.next_due() is None


def test_a_status_is_reported_only_once_it_has_lasted_the_minimum_duration():
    hold = StatusHold(lambda: 5)
    hold.reported(1, "Available")
    hold.changed(1, "Preparing", now=10.0)
    assert hold.due(14.9) == {} and hold.next_due() == 15.0
    assert hold.due(15.0) == {1: "Preparing"}
    hold.reported(1, "Preparing")
    # Shorter-lived: Charging for 2 s, then SuspendedEV for good. Only SuspendedEV is sent,
    # 5 s after it began.
    hold.changed(1, "Charging", now=20.0)
    hold.changed(1, "SuspendedEV", now=22.0)
    assert hold.due(25.0) == {} and hold.next_due() == 27.0
    assert hold.due(27.0) == {1: "SuspendedEV"}


def test_a_change_and_back_within_the_duration_reports_nothing():
    hold = StatusHold(lambda: 5)
    hold.reported(1, "Charging")
    hold.changed(1, "SuspendedEV", now=0.0)
    hold.changed(1, "Charging", now=2.0)
    assert hold.next_due() is None and hold.due(100.0) == {}
    # The same status again does not restart its clock; connectors are held apart.
    hold.changed(1, "Finishing", now=10.0)
    hold.changed(1, "Finishing", now=12.0)
    hold.changed(2, "Faulted", now=13.0)
    assert hold.due(15.0) == {1: "Finishing"}
    assert hold.due(18.0) == {2: "Faulted"}


def test_a_status_sent_another_way_leaves_the_hold():
    hold = StatusHold(lambda: 5)
    hold.changed(1, "Preparing", now=0.0)
    hold.reported(1, "Preparing")  # e.g. the full status sync after a reconnect
    assert hold.due(10.0) == {}


def test_a_change_back_while_the_new_status_is_on_its_way_is_reported():
    # Reserved was reported; Available leaves the hold and is being sent when the connector
    # turns Reserved again (a reservation right after a cancel): Reserved must follow.
    hold = StatusHold(lambda: 0)
    hold.reported(1, "Reserved")
    hold.changed(1, "Available", now=0.0)
    assert hold.due(0.0) == {1: "Available"}
    hold.changed(1, "Reserved", now=0.1)  # before the Available.conf came back
    hold.reported(1, "Available")
    assert hold.due(0.1) == {1: "Reserved"}


def test_the_status_the_backend_knows_again_with_nothing_held_is_nothing_to_say():
    hold = StatusHold(lambda: 5)
    hold.reported(1, "Charging")
    hold.changed(1, "Charging", now=0.0)  # told again, nothing was held
    assert hold.due(100.0) == {} and hold.next_due() is None


def test_a_status_that_left_the_hold_counts_as_known():
    hold = StatusHold(lambda: 0)
    hold.changed(1, "Preparing", now=0.0)
    assert hold.due(0.0) == {1: "Preparing"}
    hold.changed(1, "Preparing", now=1.0)  # the same again: it is what the backend was sent
    assert hold.due(1.0) == {}


def charging_session() -> Session:
    s = Session(max_current_a=16)
    s.handle(PilotChanged(B), 0)
    s.handle(CardPresented("CARD"), 0)
    s.handle(AuthorizationResult("CARD", True), 0)
    s.handle(TransactionRecorded(1), 0)  # the station stored and queued its StartTransaction
    s.handle(PilotChanged(C), 0)
    assert s.status() is ConnectorStatus.CHARGING
    return s


def test_the_ev_pausing_is_suspended_ev():
    s = charging_session()
    s.handle(PilotChanged(B), 1)  # current offered, the EV does not take it
    assert s.status() is ConnectorStatus.SUSPENDED_EV
    s.handle(PilotChanged(C), 2)
    assert s.status() is ConnectorStatus.CHARGING


def test_the_station_not_offering_energy_is_suspended_evse_whatever_the_ev_does():
    for event in (LimitChanged(0), LimitChanged(5.9), DerateChanged(4.0), TransactionRejected(stop=False)):
        s = charging_session()
        s.handle(event, 1)
        assert s.status() is ConnectorStatus.SUSPENDED_EVSE, event
        s.handle(PilotChanged(B), 2)  # the EV stops asking as well: still the station's pause
        assert s.status() is ConnectorStatus.SUSPENDED_EVSE, event
    s = charging_session()
    s.handle(LimitChanged(0), 1)
    s.handle(LimitChanged(6), 2)  # offered again
    assert s.status() is ConnectorStatus.CHARGING
