"""What a transaction's start carries (OCPP 2.0.1 TransactionEvent Started: triggerReason, the
idToken's type, remoteStartId; the group for a stop by a card of the same group) and the
reservation, lock, availability and cable rules around it: the session's facts a backend sees."""

from agent.core.session import (
    AuthorizationResult,
    Authorize,
    AvailabilityChanged,
    CableChanged,
    CardIgnored,
    CardPresented,
    ConnectorStatus,
    Fault,
    FaultCleared,
    FaultRaised,
    LockChanged,
    PilotChanged,
    RemoteStartRequested,
    Reservation,
    ReservationMade,
    Session,
    StartTransaction,
    StartTrigger,
    StatusChanged,
    StopReason,
    StopRequested,
    StopTransaction,
    Tick,
    TransactionRecorded,
    TransactionRestored,
)
from drivers.interfaces import PilotState

A, B, C = PilotState.A, PilotState.B, PilotState.C


def of(kind, commands):
    return [c for c in commands if isinstance(c, kind)]


def plugged_session(**options) -> Session:
    s = Session(max_current_a=16, **options)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(B), 1)
    return s


def only_start(commands) -> StartTransaction:
    (start,) = of(StartTransaction, commands)
    return start


def test_a_card_accepted_after_the_plug_starts_with_its_type_and_trigger_authorized():
    s = plugged_session()
    # A remote start that could not start before leaves no remoteStartId behind.
    s.handle(CardPresented("04A1B2C3", token_type="ISO15693"), 2)
    start = only_start(s.handle(AuthorizationResult("04A1B2C3", True), 3))
    assert (start.trigger, start.token_type, start.remote_start_id) == (StartTrigger.AUTHORIZED, "ISO15693", None)


def test_a_plug_after_the_card_starts_with_trigger_cable_plugged_in():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(CardPresented("04A1B2C3"), 1)
    s.handle(AuthorizationResult("04A1B2C3", True), 2)
    start = only_start(s.handle(PilotChanged(B), 3))
    assert start.trigger is StartTrigger.CABLE_PLUGGED_IN and start.token_type == "ISO14443"


def test_a_remote_start_carries_its_id_type_trigger_and_group():
    s = plugged_session()
    start = only_start(s.handle(RemoteStartRequested("TAG1", "GROUP", token_type="Central", remote_start_id=7), 2))
    assert (start.trigger, start.token_type, start.remote_start_id) == (StartTrigger.REMOTE_START, "Central", 7)
    s.handle(TransactionRecorded(start.start), 2)
    # The group came with the remote start: another card of it stops the transaction (OCPP 1.6 §5.16).
    stop = of(StopTransaction, s.handle(CardPresented("OTHER", "GROUP"), 3))
    assert stop == [StopTransaction(StopReason.LOCAL, "OTHER")]


def test_after_a_remote_start_a_card_starts_without_its_remote_start_id():
    s = plugged_session()
    s.handle(RemoteStartRequested("TAG1", remote_start_id=7), 2)
    s.handle(TransactionRecorded(1), 2)
    s.handle(StopRequested(StopReason.REMOTE), 3)
    s.handle(PilotChanged(A), 4)
    s.handle(PilotChanged(B), 5)
    s.handle(CardPresented("04A1B2C3"), 6)
    start = only_start(s.handle(AuthorizationResult("04A1B2C3", True), 7))
    assert start.remote_start_id is None and start.trigger is StartTrigger.AUTHORIZED


def reserved_session(**options) -> Session:
    s = plugged_session(**options)
    s.handle(ReservationMade(Reservation(5, "RES-TAG", "GROUP", expires_at=10_000)), 1)
    return s


def test_the_reservations_own_card_starts_at_once_with_its_type_trigger_and_group():
    s = reserved_session()
    start = only_start(s.handle(CardPresented("RES-TAG", "GROUP", token_type="ISO15693"), 2))
    assert (start.reservation_id, start.trigger, start.token_type, start.remote_start_id) == (
        5, StartTrigger.AUTHORIZED, "ISO15693", None)
    s.handle(TransactionRecorded(start.start), 2)
    assert of(StopTransaction, s.handle(CardPresented("OTHER", "GROUP"), 3))  # its group came along


def test_a_card_of_the_reservations_group_goes_to_authorize_and_starts_on_the_reservation():
    s = reserved_session()
    out = s.handle(CardPresented("MEMBER", "GROUP"), 2)
    assert of(Authorize, out) == [Authorize("MEMBER")] and not of(CardIgnored, out)
    start = only_start(s.handle(AuthorizationResult("MEMBER", True, "GROUP"), 3))
    assert start.reservation_id == 5 and start.trigger is StartTrigger.AUTHORIZED


def test_a_card_whose_answer_names_the_reservations_group_starts_on_it():
    s = reserved_session()
    assert of(Authorize, s.handle(CardPresented("MEMBER"), 2)) == [Authorize("MEMBER")]
    assert only_start(s.handle(AuthorizationResult("MEMBER", True, "GROUP"), 3)).reservation_id == 5


def test_a_card_of_another_group_is_refused_at_a_reserved_connector():
    s = reserved_session()
    out = s.handle(CardPresented("STRANGER", "ELSEWHERE"), 2)
    assert of(CardIgnored, out) == [CardIgnored("STRANGER", "reserved")] and not of(Authorize, out)


def test_free_vend_starts_on_a_reservation_made_for_its_own_id_tag():
    s = Session(max_current_a=16, free_vend_id_tag="FREE")
    s.handle(Tick(), 0)
    s.handle(ReservationMade(Reservation(3, "FREE", None, expires_at=10_000)), 1)
    start = only_start(s.handle(PilotChanged(B), 2))
    assert (start.id_tag, start.reservation_id, start.remote_start_id) == ("FREE", 3, None)


def test_a_lock_fault_that_clears_with_the_cable_locked_starts_the_waiting_transaction():
    s = plugged_session(lock_required=True)
    s.handle(CardPresented("04A1B2C3"), 2)
    assert not of(StartTransaction, s.handle(AuthorizationResult("04A1B2C3", True), 3))  # waits for the lock
    s.handle(FaultRaised(Fault.LOCK), 4)
    assert not of(StartTransaction, s.handle(LockChanged(True), 5))  # faulted: no start yet
    assert only_start(s.handle(FaultCleared(Fault.LOCK), 6)).id_tag == "04A1B2C3"


def test_availability_set_back_to_available_is_not_applied_again_at_the_transactions_end():
    s = plugged_session()
    s.handle(AvailabilityChanged(True), 2)
    s.handle(RemoteStartRequested("TAG1"), 3)
    s.handle(TransactionRecorded(1), 3)
    s.handle(StopRequested(StopReason.REMOTE), 4)
    assert s.available and s.status() is ConnectorStatus.FINISHING


def test_a_restored_transaction_is_stopped_by_the_card_that_started_it():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(TransactionRestored("TAG1", C), 1)
    assert of(StopTransaction, s.handle(CardPresented("TAG1"), 2)) == [StopTransaction(StopReason.LOCAL, "TAG1")]


def test_the_cable_taken_out_of_the_socket_frees_a_finishing_connector():
    s = plugged_session(cable_in_socket=True)
    s.handle(RemoteStartRequested("TAG1"), 2)
    s.handle(TransactionRecorded(1), 2)
    s.handle(PilotChanged(A), 3)  # unplugged at the EV: the transaction ends, the cable stays
    assert s.status() is ConnectorStatus.FINISHING
    out = s.handle(CableChanged(False), 4)
    assert of(StatusChanged, out) == [StatusChanged(ConnectorStatus.AVAILABLE, None)]
