"""The faults the README's error-code table documents, on the pure session: which end the
transaction and which suspend it, and that every one drops an authorization on its way
(README, Support: error codes)."""

from __future__ import annotations

import pytest

from agent.core.session import (
    ENDS_TRANSACTION,
    AuthorizationResult,
    Authorize,
    CardIgnored,
    CardPresented,
    ConnectorStatus,
    Fault,
    FaultCleared,
    FaultRaised,
    OfferCurrent,
    PilotChanged,
    RemoteStartRequested,
    Session,
    StartTransaction,
    StatusChanged,
    StopReason,
    StopTransaction,
    Tick,
    TransactionRecorded,
)
from drivers.interfaces import PilotState
from tests.unit.test_session import charging_session, of, statuses

A, B, C = PilotState.A, PilotState.B, PilotState.C

# The README's table: fault -> what happens to a running transaction.
ENDING = [Fault.PILOT, Fault.OTHER]  # E-PILOT, E-OTHER: "session ended"
SUSPENDING = [Fault.TEMP_SENSOR]  # E-TEMP-SENSOR: "charging suspended until it does"


def test_the_readme_faults_are_classified_as_documented():
    assert set(ENDING) <= ENDS_TRANSACTION
    assert not set(SUSPENDING) & ENDS_TRANSACTION


@pytest.mark.parametrize("fault", ENDING)
def test_a_pilot_or_other_board_fault_ends_the_transaction(fault):
    s = charging_session()
    out = s.handle(FaultRaised(fault), 10)
    # The contactor opens before the meter is read for meterStop.
    assert out[0] == OfferCurrent(0)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.OTHER, None)]
    assert of(StatusChanged, out) == [StatusChanged(ConnectorStatus.FAULTED, fault)]
    assert s.transaction is None
    # Cleared when the board stops reporting it: the EV's cable is still in, Finishing.
    out = s.handle(FaultCleared(fault), 11)
    assert statuses(out) == [ConnectorStatus.FINISHING]
    assert of(OfferCurrent, out) == [] and s.offered_a == 0


@pytest.mark.parametrize("fault", ENDING)
def test_a_board_fault_ends_a_transaction_whose_start_is_still_being_recorded(fault):
    s = Session(max_current_a=16)
    s.handle(PilotChanged(B), 0)
    s.handle(RemoteStartRequested("AA"), 1)
    assert s.transaction is not None and not s.transaction.recorded
    out = s.handle(FaultRaised(fault), 2)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.OTHER, None)]
    assert of(OfferCurrent, s.handle(TransactionRecorded(1), 3)) == []  # the late record offers nothing


@pytest.mark.parametrize("fault", SUSPENDING)
def test_a_silent_temperature_sensor_suspends_and_the_transaction_goes_on(fault):
    s = charging_session()
    out = s.handle(FaultRaised(fault), 10)
    assert of(OfferCurrent, out) == [OfferCurrent(0)]
    assert of(StopTransaction, out) == [] and s.transaction is not None
    assert of(StatusChanged, out) == [StatusChanged(ConnectorStatus.FAULTED, fault)]
    out = s.handle(FaultCleared(fault), 20)
    assert of(OfferCurrent, out) == [OfferCurrent(16)]
    assert statuses(out) == [ConnectorStatus.CHARGING]


@pytest.mark.parametrize("fault", ENDING + SUSPENDING)
def test_a_fault_drops_a_pending_authorization(fault):
    """A card's Authorize is on its way when the fault comes: its Accepted answer,
    arriving after the fault cleared, starts nothing."""
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(B), 1)
    assert of(Authorize, s.handle(CardPresented("AA"), 2)) == [Authorize("AA")]
    out = s.handle(FaultRaised(fault), 3)
    assert s.pending_auth is None
    assert statuses(out) == [ConnectorStatus.FAULTED]
    out = s.handle(FaultCleared(fault), 4)
    assert statuses(out) == [ConnectorStatus.PREPARING]
    out = s.handle(AuthorizationResult("AA", True), 5)
    assert of(StartTransaction, out) == [] and s.transaction is None
    # The EV driver taps again and it starts as usual.
    assert of(Authorize, s.handle(CardPresented("AA"), 6)) == [Authorize("AA")]
    assert of(StartTransaction, s.handle(AuthorizationResult("AA", True), 7)) == [StartTransaction("AA")]


@pytest.mark.parametrize("fault", ENDING + SUSPENDING)
def test_a_fault_drops_an_authorization_waiting_for_the_plug(fault):
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(RemoteStartRequested("AA"), 1)
    assert s.authorized is not None
    s.handle(FaultRaised(fault), 2)
    assert s.authorized is None
    s.handle(FaultCleared(fault), 3)
    out = s.handle(PilotChanged(B), 4)
    assert of(StartTransaction, out) == [] and s.transaction is None
    assert statuses(out) == [ConnectorStatus.PREPARING]


@pytest.mark.parametrize("fault", ENDING + SUSPENDING)
def test_a_faulted_connector_starts_nothing(fault):
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(B), 1)
    s.handle(FaultRaised(fault), 2)
    out = s.handle(CardPresented("AA"), 3)
    assert of(Authorize, out) == [] and of(CardIgnored, out)
    assert of(StartTransaction, s.handle(RemoteStartRequested("AA"), 4)) == []
    assert s.offered_a == 0


def test_a_pilot_fault_with_the_ev_gone_clears_to_available():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(B), 1)
    s.handle(FaultRaised(Fault.PILOT), 2)
    s.handle(PilotChanged(A), 3)
    assert statuses(s.handle(FaultCleared(Fault.PILOT), 4)) == [ConnectorStatus.AVAILABLE]
