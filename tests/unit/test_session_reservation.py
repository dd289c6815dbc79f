"""Reservations (OCPP 1.6 §3.12) in the pure session state machine: no event loop."""

from agent.core.session import (
    AuthorizationResult,
    Authorize,
    AvailabilityChanged,
    CardIgnored,
    CardPresented,
    ConnectorStatus,
    Fault,
    FaultRaised,
    PilotChanged,
    RemoteStartRequested,
    Reservation,
    ReservationCancelled,
    ReservationEnded,
    ReservationMade,
    ReserveResult,
    Session,
    StartTransaction,
    StatusChanged,
    Tick,
)
from drivers.interfaces import PilotState

A, B, C = PilotState.A, PilotState.B, PilotState.C
TAG, OTHER, GROUP = "DRIVER-1", "STRANGER", "FLEET-7"


def of(kind, commands):
    return [c for c in commands if isinstance(c, kind)]


def statuses(commands):
    return [c.status for c in of(StatusChanged, commands)]


def reserved(parent=None, expires_at=100.0, reservation_id=7) -> Session:
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    assert s.reserve_result(reservation_id) is ReserveResult.ACCEPTED
    out = s.handle(ReservationMade(Reservation(reservation_id, TAG, parent, expires_at)), 1)
    assert statuses(out) == [ConnectorStatus.RESERVED]
    return s


def test_reserved_tag_card_starts_at_once_and_the_start_carries_the_reservation():
    s = reserved()
    out = s.handle(CardPresented(TAG), 2)
    assert of(Authorize, out) == []  # the driver booked it: no round trip before the plug
    assert statuses(out) == [ConnectorStatus.PREPARING]
    out = s.handle(PilotChanged(B), 3)
    assert of(StartTransaction, out) == [StartTransaction(TAG, 7)]
    assert of(ReservationEnded, out) == [ReservationEnded(7, "used")]
    assert s.reservation is None


def test_another_card_is_authorized_then_refused_and_the_connector_stays_reserved():
    s = reserved()
    out = s.handle(CardPresented(OTHER), 2)
    assert of(Authorize, out) == [Authorize(OTHER)]  # its group is not known yet
    out = s.handle(AuthorizationResult(OTHER, True), 3)
    assert of(CardIgnored, out) == [CardIgnored(OTHER, "reserved")]
    assert s.status() is ConnectorStatus.RESERVED
    s.handle(PilotChanged(B), 4)
    assert s.transaction is None


def test_a_card_known_to_be_of_another_group_is_refused_without_asking():
    s = reserved(parent=GROUP)
    out = s.handle(CardPresented(OTHER, parent_id_tag="FLEET-9"), 2)
    assert of(CardIgnored, out) == [CardIgnored(OTHER, "reserved")] and of(Authorize, out) == []


def test_a_card_of_the_reservations_group_may_use_it():
    s = reserved(parent=GROUP)
    s.handle(PilotChanged(B), 2)
    assert s.status() is ConnectorStatus.RESERVED  # someone plugged in: still held
    s.handle(CardPresented(OTHER), 3)
    out = s.handle(AuthorizationResult(OTHER, True, parent_id_tag=GROUP), 4)
    assert of(StartTransaction, out) == [StartTransaction(OTHER, 7)]
    assert of(ReservationEnded, out) == [ReservationEnded(7, "used")]


def test_a_card_whose_parent_is_the_reserved_tag_matches():
    s = reserved()
    s.handle(PilotChanged(B), 2)
    s.handle(CardPresented(OTHER), 3)
    out = s.handle(AuthorizationResult(OTHER, True, parent_id_tag=TAG), 4)
    assert of(StartTransaction, out) == [StartTransaction(OTHER, 7)]


def test_remote_start_only_for_the_reserved_tag():
    s = reserved()
    assert s.reserved_for_other(OTHER) and not s.reserved_for_other(TAG)
    assert s.handle(RemoteStartRequested(OTHER), 2) == []
    s.handle(RemoteStartRequested(TAG), 3)
    out = s.handle(PilotChanged(B), 4)
    assert of(StartTransaction, out) == [StartTransaction(TAG, 7)]


def test_expiry_returns_the_connector_to_available():
    s = reserved(expires_at=50.0)
    assert s.handle(Tick(), 49.9) == []
    out = s.handle(Tick(), 50.0)
    assert of(ReservationEnded, out) == [ReservationEnded(7, "expired")]
    assert statuses(out) == [ConnectorStatus.AVAILABLE]


def test_expiry_with_a_strangers_ev_plugged_goes_back_to_preparing():
    s = reserved(expires_at=50.0)
    s.handle(PilotChanged(B), 2)
    out = s.handle(Tick(), 51)
    assert statuses(out) == [ConnectorStatus.PREPARING]


def test_cancel_ends_only_the_matching_reservation():
    s = reserved()
    assert s.handle(ReservationCancelled(8), 2) == []
    out = s.handle(ReservationCancelled(7), 3)
    assert of(ReservationEnded, out) == [ReservationEnded(7, "cancelled")]
    assert statuses(out) == [ConnectorStatus.AVAILABLE]
    # Without the reservation, any card goes the usual way.
    assert of(Authorize, s.handle(CardPresented(OTHER), 4)) == [Authorize(OTHER)]


def test_the_same_reservation_id_replaces_another_is_occupied():
    s = reserved()
    assert s.reserve_result(8) is ReserveResult.OCCUPIED
    assert s.reserve_result(7) is ReserveResult.ACCEPTED
    s.handle(ReservationMade(Reservation(7, OTHER, None, 200.0)), 2)
    assert s.reservation.id_tag == OTHER and s.reservation.expires_at == 200.0
    s.handle(ReservationMade(Reservation(8, TAG, None, 200.0)), 3)  # held by another: ignored
    assert s.reservation.reservation_id == 7


def test_answers_occupied_faulted_unavailable():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(B), 1)
    assert s.reserve_result(1) is ReserveResult.OCCUPIED  # EV plugged
    s.handle(RemoteStartRequested(TAG), 2)
    assert s.transaction is not None and s.reserve_result(1) is ReserveResult.OCCUPIED
    s = Session(max_current_a=16)
    s.handle(RemoteStartRequested(TAG), 0)  # authorized, waiting for the plug
    assert s.reserve_result(1) is ReserveResult.OCCUPIED
    s = Session(max_current_a=16)
    s.handle(FaultRaised(Fault.RCD), 0)
    assert s.reserve_result(1) is ReserveResult.FAULTED
    s = Session(max_current_a=16)
    s.handle(AvailabilityChanged(False), 0)
    assert s.reserve_result(1) is ReserveResult.UNAVAILABLE


def test_a_fault_or_unavailability_ends_the_reservation():
    s = reserved()
    out = s.handle(FaultRaised(Fault.RCD), 2)
    assert of(ReservationEnded, out) == [ReservationEnded(7, "faulted")]
    s = reserved()
    out = s.handle(AvailabilityChanged(False), 2)
    assert of(ReservationEnded, out) == [ReservationEnded(7, "unavailable")]
    assert statuses(out) == [ConnectorStatus.UNAVAILABLE]


def test_connection_timeout_of_the_reserved_driver_leaves_it_reserved():
    s = reserved(expires_at=1000.0)
    s.connection_timeout_s = 10
    s.handle(CardPresented(TAG), 2)
    assert s.status() is ConnectorStatus.PREPARING
    out = s.handle(Tick(), 13)
    assert statuses(out) == [ConnectorStatus.RESERVED] and s.reservation is not None


def test_a_remote_start_for_a_card_of_the_reservations_group_uses_the_reservation():
    s = reserved(parent=GROUP)
    s.handle(PilotChanged(B), 1)
    assert of(StartTransaction, s.handle(RemoteStartRequested(OTHER), 2)) == []  # its group unknown: no
    out = s.handle(RemoteStartRequested(OTHER, GROUP), 3)  # the backend named its group (Authorize)
    assert of(StartTransaction, out) == [StartTransaction(OTHER, 7)]
