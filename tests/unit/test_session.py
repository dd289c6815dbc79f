"""The charging session as a pure state machine: events in, commands out, no event loop."""

from agent.core.session import (
    AuthorizationResult,
    CableChanged,
    LockChanged,
    UnlockRequested,
    Authorize,
    AvailabilityChanged,
    CardIgnored,
    CardPresented,
    ConnectorStatus,
    Fault,
    FaultCleared,
    FaultRaised,
    KeptForReservation,
    LimitChanged,
    OfferCurrent,
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
    TransactionRejected,
    TransactionRestored,
)
from drivers.interfaces import PilotState

A, B, C = PilotState.A, PilotState.B, PilotState.C


def of(kind, commands):
    return [c for c in commands if isinstance(c, kind)]


def statuses(commands):
    return [c.status for c in of(StatusChanged, commands)]


def charging_session(tag="04A1B2C3") -> Session:
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(B), 1)
    s.handle(CardPresented(tag), 2)
    s.handle(AuthorizationResult(tag, True), 3)
    s.handle(TransactionRecorded(1), 3)  # the station stored and queued the StartTransaction
    s.handle(PilotChanged(C), 4)
    return s


def test_first_event_reports_available_and_switches_the_board_off():
    s = Session(max_current_a=16)
    out = s.handle(Tick(), 0)
    assert statuses(out) == [ConnectorStatus.AVAILABLE]
    assert of(OfferCurrent, out) == [OfferCurrent(0)]  # a board boots offering its default current
    assert s.handle(Tick(), 1) == []  # no change, nothing to report


def test_plug_then_card_starts_transaction_and_offers_current():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    assert statuses(s.handle(PilotChanged(B), 1)) == [ConnectorStatus.PREPARING]
    out = s.handle(CardPresented("04A1B2C3"), 2)
    assert of(Authorize, out) == [Authorize("04A1B2C3")]
    out = s.handle(AuthorizationResult("04A1B2C3", True), 3)
    assert of(StartTransaction, out) == [StartTransaction("04A1B2C3")]
    assert of(OfferCurrent, out) == []  # not before the start is recorded
    out = s.handle(TransactionRecorded(1), 3)
    assert of(OfferCurrent, out) == [OfferCurrent(16)]
    assert statuses(out) == [ConnectorStatus.SUSPENDED_EV]  # EV in B: not drawing yet
    assert statuses(s.handle(PilotChanged(C), 4)) == [ConnectorStatus.CHARGING]


def test_card_then_plug_starts_on_plug():
    s = Session(max_current_a=16)
    s.handle(CardPresented("AA"), 0)
    out = s.handle(AuthorizationResult("AA", True), 1)
    assert of(StartTransaction, out) == []
    assert s.status() is ConnectorStatus.PREPARING
    out = s.handle(PilotChanged(B), 5)
    assert of(StartTransaction, out) == [StartTransaction("AA")]


def test_connection_timeout_abandons_authorization():
    s = Session(max_current_a=16, connection_timeout_s=30)
    s.handle(CardPresented("AA"), 0)
    s.handle(AuthorizationResult("AA", True), 1)
    assert s.handle(Tick(), 30) == []
    out = s.handle(Tick(), 31)
    assert of(CardIgnored, out) == [CardIgnored("AA", "connection timeout")]
    assert statuses(out) == [ConnectorStatus.AVAILABLE]
    assert of(StartTransaction, s.handle(PilotChanged(B), 32)) == []


def test_rejected_card_starts_nothing():
    s = Session(max_current_a=16)
    s.handle(PilotChanged(B), 0)
    s.handle(CardPresented("BAD"), 1)
    out = s.handle(AuthorizationResult("BAD", False), 2)
    assert of(StartTransaction, out) == [] and of(OfferCurrent, out) == []
    assert of(CardIgnored, out) == [CardIgnored("BAD", "not authorized")]
    assert s.transaction is None


def test_same_card_stops_with_reason_local_after_opening_contactor():
    s = charging_session("AA")
    out = s.handle(CardPresented("AA"), 10)
    assert out[0] == OfferCurrent(0)  # contactor opens before the stop is recorded
    assert of(StopTransaction, out) == [StopTransaction(StopReason.LOCAL, "AA")]
    assert statuses(out) == [ConnectorStatus.FINISHING]
    assert statuses(s.handle(PilotChanged(A), 11)) == [ConnectorStatus.AVAILABLE]


def test_other_card_does_not_stop_a_session():
    s = charging_session("AA")
    out = s.handle(CardPresented("BB"), 10)
    assert of(StopTransaction, out) == [] and s.transaction is not None


def test_unplug_stops_with_ev_disconnected():
    s = charging_session()
    out = s.handle(PilotChanged(A), 10)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.EV_DISCONNECTED, None)]
    assert of(OfferCurrent, out) == [OfferCurrent(0)]
    assert statuses(out) == [ConnectorStatus.AVAILABLE]


def test_unplug_keeps_transaction_when_stop_on_ev_side_disconnect_is_off():
    s = charging_session()
    s.stop_on_ev_disconnect = False
    out = s.handle(PilotChanged(A), 10)
    assert of(StopTransaction, out) == [] and s.transaction is not None


def test_ev_pausing_is_suspended_ev():
    s = charging_session()
    assert statuses(s.handle(PilotChanged(B), 10)) == [ConnectorStatus.SUSPENDED_EV]


def test_limit_below_six_amps_suspends_evse_without_ending():
    s = charging_session()
    out = s.handle(LimitChanged(4), 10)
    assert of(OfferCurrent, out) == [OfferCurrent(0)]
    assert statuses(out) == [ConnectorStatus.SUSPENDED_EVSE]
    assert s.transaction is not None
    out = s.handle(LimitChanged(10), 20)
    assert of(OfferCurrent, out) == [OfferCurrent(10)]
    assert statuses(out) == [ConnectorStatus.CHARGING]


def test_remote_start_and_stop():
    s = Session(max_current_a=32)
    s.handle(PilotChanged(B), 0)
    assert s.offered_a == 0
    out = s.handle(RemoteStartRequested("REMOTE1"), 1)
    assert of(StartTransaction, out) == [StartTransaction("REMOTE1")]
    out = s.handle(StopRequested(StopReason.REMOTE), 2)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.REMOTE, None)]


def test_remote_start_is_ignored_while_a_transaction_runs():
    s = charging_session("AA")
    assert not s.can_start()
    assert of(StartTransaction, s.handle(RemoteStartRequested("BB"), 10)) == []


def test_rcd_trip_ends_transaction_and_faults():
    s = charging_session()
    out = s.handle(FaultRaised(Fault.RCD), 10)
    assert out[0] == OfferCurrent(0)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.OTHER, None)]
    assert of(StatusChanged, out) == [StatusChanged(ConnectorStatus.FAULTED, Fault.RCD)]
    out = s.handle(FaultCleared(Fault.RCD), 11)
    assert statuses(out) == [ConnectorStatus.FINISHING]


def test_lost_meter_suspends_and_resumes_the_transaction():
    s = charging_session()
    out = s.handle(FaultRaised(Fault.METER_COMM), 10)
    assert of(OfferCurrent, out) == [OfferCurrent(0)]
    assert of(StopTransaction, out) == [] and s.transaction is not None
    out = s.handle(FaultCleared(Fault.METER_COMM), 20)
    assert of(OfferCurrent, out) == [OfferCurrent(16)]
    assert statuses(out) == [ConnectorStatus.CHARGING]


def test_faulted_connector_refuses_cards():
    s = Session(max_current_a=16)
    s.handle(FaultRaised(Fault.PILOT), 0)
    out = s.handle(CardPresented("AA"), 1)
    assert of(Authorize, out) == [] and of(CardIgnored, out)


def test_deauthorized_transaction_stops_or_suspends_per_setting():
    s = charging_session()
    out = s.handle(TransactionRejected(stop=True), 10)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.DEAUTHORIZED, None)]
    s = charging_session()
    out = s.handle(TransactionRejected(stop=False), 10)
    assert of(StopTransaction, out) == [] and of(OfferCurrent, out) == [OfferCurrent(0)]
    assert s.status() is ConnectorStatus.SUSPENDED_EVSE


def test_unavailable_connector_is_reported_and_cannot_start():
    s = Session(max_current_a=16)
    assert statuses(s.handle(AvailabilityChanged(False), 0)) == [ConnectorStatus.UNAVAILABLE]
    s.handle(PilotChanged(B), 1)
    assert of(Authorize, s.handle(CardPresented("AA"), 2)) == []


def test_restored_transaction_offers_current_again():
    s = Session(max_current_a=16)
    out = s.handle(TransactionRestored("AA", C), 1)
    assert of(OfferCurrent, out) == [OfferCurrent(16)]  # never a moment with the board off
    assert statuses(out) == [ConnectorStatus.CHARGING]
    assert of(StartTransaction, out) == []  # never a second StartTransaction
    assert s.status() is ConnectorStatus.CHARGING


def test_inoperative_during_a_transaction_is_scheduled_until_it_ends():
    s = charging_session()
    out = s.handle(AvailabilityChanged(False), 10)
    assert s.transaction is not None and statuses(out) == []  # still charging
    assert s.scheduled_available is False
    out = s.handle(StopRequested(StopReason.REMOTE), 11)
    assert of(StopTransaction, out) and statuses(out) == [ConnectorStatus.UNAVAILABLE]
    assert statuses(s.handle(AvailabilityChanged(True), 12)) == [ConnectorStatus.FINISHING]


def test_a_card_with_the_same_parent_id_tag_stops_the_session():
    # OCPP 1.6 §5.16: any card of the group (same parentIdTag) may end the transaction.
    s = Session(max_current_a=16)
    s.handle(CardPresented("AA"), 0)
    s.handle(AuthorizationResult("AA", True, "FLEET-1"), 1)  # authorized before the plug
    s.handle(PilotChanged(C), 2)
    assert s.transaction.parent_id_tag == "FLEET-1"
    out = s.handle(CardPresented("BB", "FLEET-2"), 3)
    assert of(StopTransaction, out) == [] and of(CardIgnored, out)
    out = s.handle(CardPresented("CC"), 4)  # parent unknown: not the group
    assert of(StopTransaction, out) == []
    out = s.handle(CardPresented("DD", "FLEET-1"), 5)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.LOCAL, "DD")]


def test_without_a_parent_only_the_same_card_stops_the_session():
    s = charging_session("AA")
    assert s.transaction.parent_id_tag is None
    assert of(StopTransaction, s.handle(CardPresented("BB", None), 10)) == []


# ---- no energy that could not be billed (issue 17, item 3) ---------------------------------


def test_no_current_is_offered_until_the_start_is_recorded():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(C), 1)  # an EV asking for energy at once
    out = s.handle(RemoteStartRequested("REMOTE1"), 2)
    assert of(StartTransaction, out) == [StartTransaction("REMOTE1")]
    assert of(OfferCurrent, out) == [] and s.offered_a == 0
    assert s.status() is ConnectorStatus.PREPARING  # nothing to report until it is recorded
    for event in (Tick(), PilotChanged(B), PilotChanged(C), LimitChanged(32), FaultCleared(Fault.STORAGE)):
        assert of(OfferCurrent, s.handle(event, 3)) == [], event
    out = s.handle(TransactionRecorded(1), 4)
    assert of(OfferCurrent, out) == [OfferCurrent(16)]
    assert statuses(out) == [ConnectorStatus.CHARGING]


def test_a_start_that_could_not_be_recorded_faults_the_connector_and_offers_nothing():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(C), 1)
    s.handle(RemoteStartRequested("REMOTE1"), 2)
    out = s.handle(FaultRaised(Fault.NOT_RECORDED), 3)  # what the station says when the store raised
    assert of(OfferCurrent, out) == [] and s.offered_a == 0
    assert s.transaction is None
    assert of(StatusChanged, out) == [StatusChanged(ConnectorStatus.FAULTED, Fault.NOT_RECORDED)]
    # A late confirmation cannot revive it, and nothing else starts while the EV stays.
    assert of(OfferCurrent, s.handle(TransactionRecorded(1), 4)) == []
    assert of(StartTransaction, s.handle(RemoteStartRequested("REMOTE2"), 5)) == []
    # Unplugging clears it; the next EV may try again.
    assert statuses(s.handle(PilotChanged(A), 6)) == [ConnectorStatus.AVAILABLE]
    s.handle(PilotChanged(C), 7)
    assert of(StartTransaction, s.handle(RemoteStartRequested("REMOTE2"), 8)) == [StartTransaction("REMOTE2")]


def test_a_storage_failure_at_the_start_offers_nothing_either():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(C), 1)
    s.handle(RemoteStartRequested("REMOTE1"), 2)
    out = s.handle(FaultRaised(Fault.STORAGE), 3)
    assert of(OfferCurrent, out) == [] and s.offered_a == 0
    assert statuses(out) == [ConnectorStatus.FAULTED]


def test_a_stop_before_the_start_is_recorded_is_still_handed_to_the_station():
    """The station records the start before the stop (one command queue per connector), so the
    StopTransaction must still come: it ends what was recorded meanwhile."""
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(C), 1)
    s.handle(RemoteStartRequested("REMOTE1"), 2)
    out = s.handle(StopRequested(StopReason.REMOTE), 3)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.REMOTE, None)]
    assert of(OfferCurrent, s.handle(TransactionRecorded(1), 4)) == []  # too late to start anything


def test_a_restored_transaction_counts_as_recorded():
    s = Session(max_current_a=16)
    out = s.handle(TransactionRestored("AA", C), 1)
    assert of(OfferCurrent, out) == [OfferCurrent(16)] and s.transaction.recorded


def test_a_late_confirmation_of_an_earlier_start_does_not_count_for_a_newer_one():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    s.handle(PilotChanged(C), 1)
    first = of(StartTransaction, s.handle(RemoteStartRequested("ONE"), 2))[0]
    s.handle(PilotChanged(A), 3)  # the EV leaves while the first start is being recorded
    s.handle(PilotChanged(C), 4)
    second = of(StartTransaction, s.handle(RemoteStartRequested("TWO"), 5))[0]
    assert (first.start, second.start) == (1, 2)
    assert of(OfferCurrent, s.handle(TransactionRecorded(first.start), 6)) == []
    assert of(OfferCurrent, s.handle(TransactionRecorded(second.start), 7)) == [OfferCurrent(16)]


def socket_session(unlock_on_ev_disconnect: bool = True, stop_on_ev_disconnect: bool = True) -> Session:
    """Charging at a socket outlet with a cable lock whose board reads the cable (PP)."""
    s = Session(max_current_a=16, lock_required=True, unlock_on_ev_disconnect=unlock_on_ev_disconnect,
                stop_on_ev_disconnect=stop_on_ev_disconnect)
    s.handle(Tick(), 0)
    s.handle(CableChanged(True), 1)
    s.handle(PilotChanged(B), 1)
    s.handle(CardPresented("CARD"), 2)
    assert of(StartTransaction, s.handle(AuthorizationResult("CARD", True), 3)) == []  # not before the lock
    assert of(StartTransaction, s.handle(LockChanged(True), 4)) == [StartTransaction("CARD")]
    s.handle(TransactionRecorded(1), 4)  # what the station says once the start is stored
    s.handle(PilotChanged(C), 5)
    return s


def test_unplugged_at_the_ev_the_connector_is_finishing_until_the_cable_leaves_the_socket():
    s = socket_session()
    out = s.handle(PilotChanged(A), 6)  # the cable came out of the EV, not out of the socket
    assert of(StopTransaction, out) == [StopTransaction(StopReason.EV_DISCONNECTED, None)]
    assert statuses(out) == [ConnectorStatus.FINISHING] and s.cable_held_for is None
    assert statuses(s.handle(CableChanged(False), 7)) == [ConnectorStatus.AVAILABLE]


def test_a_cable_taken_out_with_the_ev_leaves_no_finishing_behind():
    s = socket_session()
    s.handle(CableChanged(False), 6)  # the board reads both at once; the cable is told first
    out = s.handle(PilotChanged(A), 6)
    assert statuses(out) == [ConnectorStatus.AVAILABLE]


def test_unlock_on_ev_side_disconnect_false_keeps_the_cable_until_its_card_or_unlock_connector():
    s = socket_session(unlock_on_ev_disconnect=False)
    s.handle(PilotChanged(A), 6)
    assert s.cable_held_for == "CARD" and s.status() is ConnectorStatus.FINISHING
    s.handle(CardPresented("OTHER"), 7)
    assert s.cable_held_for == "CARD"  # someone else's card does not free it
    s.handle(CardPresented("CARD"), 8)
    assert s.cable_held_for is None
    s = socket_session(unlock_on_ev_disconnect=False, stop_on_ev_disconnect=False)
    s.handle(PilotChanged(A), 6)
    assert s.status() is ConnectorStatus.SUSPENDED_EV and s.cable_held_for == "CARD"  # the transaction goes on
    out = s.handle(UnlockRequested(), 7)
    assert of(StopTransaction, out) == [StopTransaction(StopReason.UNLOCK_COMMAND, None)] and s.cable_held_for is None


def free_vend_session(**options) -> Session:
    s = Session(max_current_a=16, free_vend_id_tag="FREEVEND", **options)
    s.handle(Tick(), 0)
    return s


def test_free_vend_authorizes_a_plugged_ev_at_once_as_a_local_token():
    s = free_vend_session()
    assert not of(StartTransaction, s.handle(Tick(), 1))  # nothing plugged
    out = s.handle(PilotChanged(B), 2)
    assert of(StartTransaction, out) == [StartTransaction("FREEVEND", None)]
    start = of(StartTransaction, out)[0]
    assert start.token_type == "Local" and start.trigger is StartTrigger.CABLE_PLUGGED_IN
    assert not of(StartTransaction, s.handle(Tick(), 3))  # once
    # Stopped by the backend while plugged (Finishing): no new session until the next plug.
    s.handle(TransactionRecorded(start.start), 3)
    s.handle(StopRequested(StopReason.REMOTE), 4)
    assert not of(StartTransaction, s.handle(Tick(), 5))
    s.handle(PilotChanged(A), 6)
    assert of(StartTransaction, s.handle(PilotChanged(B), 7)) == [StartTransaction("FREEVEND", None)]


def test_free_vend_leaves_a_card_reservation_or_unavailable_connector_alone():
    # A card accepted before the plug starts the session as itself.
    s = free_vend_session()
    s.handle(CardPresented("CARD"), 1)
    s.handle(AuthorizationResult("CARD", True), 2)
    assert of(StartTransaction, s.handle(PilotChanged(B), 3)) == [StartTransaction("CARD", None)]
    # Reserved for someone else: the reservation wins until it ends.
    s = free_vend_session()
    s.handle(ReservationMade(Reservation(1, "DRIVER", None, expires_at=10)), 1)
    assert not of(StartTransaction, s.handle(PilotChanged(B), 2))
    assert of(StartTransaction, s.handle(Tick(), 10)) == [StartTransaction("FREEVEND", None)]  # expired
    # Kept for the reservation of any connector (the station's last free one).
    s = free_vend_session()
    s.handle(KeptForReservation(True), 1)
    assert not of(StartTransaction, s.handle(PilotChanged(B), 2))
    assert of(StartTransaction, s.handle(KeptForReservation(False), 3)) == [StartTransaction("FREEVEND", None)]
    # Unavailable, then made available with the EV still plugged in.
    s = free_vend_session()
    s.handle(AvailabilityChanged(False), 1)
    assert not of(StartTransaction, s.handle(PilotChanged(B), 2))
    assert of(StartTransaction, s.handle(AvailabilityChanged(True), 3)) == [StartTransaction("FREEVEND", None)]
    # A card refused while plugged: free vend takes over.
    s = Session(max_current_a=16)
    s.handle(PilotChanged(B), 1)
    s.handle(CardPresented("CARD"), 2)
    s.free_vend_id_tag = "FREEVEND"  # (set on a session that has a card under way)
    assert not of(StartTransaction, s.handle(Tick(), 3))  # its Authorize is under way
    assert of(StartTransaction, s.handle(AuthorizationResult("CARD", False), 4)) == [StartTransaction("FREEVEND", None)]
    # Off: a plugged EV waits for a card.
    assert not of(StartTransaction, Session(max_current_a=16).handle(PilotChanged(B), 1))
