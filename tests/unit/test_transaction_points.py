"""When transactions start and end (agent/core/transaction_points.py) and how the session follows
the points it is configured with (agent/core/session.py), without an event loop."""

from __future__ import annotations

import pytest

from agent.core.session import (
    AuthorizationResult,
    CardPresented,
    ChargingStateChanged,
    OfferCurrent,
    PilotChanged,
    RemoteStartRequested,
    Session,
    StartTransaction,
    StartTrigger,
    StopReason,
    StopRequested,
    StopTransaction,
    Tick,
    TransactionAuthorized,
    TransactionDeauthorized,
    TransactionRecorded,
)
from agent.core.transaction_points import (
    ChargingState,
    EvseFacts,
    TransactionPoints,
    TxPoint,
    charging_state,
)
from drivers.interfaces import PilotState

NOBODY = EvseFacts(ev_connected=False, authorized=False)
EV_ONLY = EvseFacts(ev_connected=True, authorized=False)
DRIVER_ONLY = EvseFacts(ev_connected=False, authorized=True)
BOTH = EvseFacts(ev_connected=True, authorized=True)
DRAWING = EvseFacts(ev_connected=True, authorized=True, ev_draws=True)


def test_the_default_is_ocpp16s_rule():
    """1.6: it starts when an authorized EV is connected, ends when the driver stops it; the EV
    leaving is StopTransactionOnEVSideDisconnect's to decide."""
    points = TransactionPoints()
    assert not points.starts(EV_ONLY) and not points.starts(DRIVER_ONLY) and points.starts(BOTH)
    assert points.ends(EV_ONLY) and not points.ends(DRIVER_ONLY) and not points.ends(BOTH)
    assert not points.report_charging_state


@pytest.mark.parametrize(("start", "starts_at"), [
    ("EVConnected", {EV_ONLY, BOTH, DRAWING}),
    ("Authorized", {DRIVER_ONLY, BOTH, DRAWING}),
    ("PowerPathClosed", {BOTH, DRAWING}),
    ("EnergyTransfer", {DRAWING}),
])
def test_a_transaction_starts_at_its_first_start_point(start, starts_at):
    points = TransactionPoints.named([start], ["EVConnected"])
    assert {f for f in (NOBODY, EV_ONLY, DRIVER_ONLY, BOTH, DRAWING) if points.starts(f)} == starts_at


@pytest.mark.parametrize(("stop", "goes_on_at"), [
    ("EVConnected", {EV_ONLY, BOTH, DRAWING}),
    ("Authorized", {DRIVER_ONLY, BOTH, DRAWING}),
    ("PowerPathClosed", {BOTH, DRAWING}),
    ("EnergyTransfer", {DRAWING}),
])
def test_a_transaction_ends_when_a_stop_point_no_longer_holds(stop, goes_on_at):
    points = TransactionPoints.named(["PowerPathClosed"], [stop])
    assert {f for f in (NOBODY, EV_ONLY, DRIVER_ONLY, BOTH, DRAWING) if not points.ends(f)} == goes_on_at


def test_points_this_station_cannot_reach_are_left_out():
    points = TransactionPoints.named(["ParkingBayOccupancy", "EVConnected"], ["DataSigned"])
    assert points.start == {TxPoint.EV_CONNECTED}
    assert points.stop == {TxPoint.AUTHORIZED}  # nothing left: the default
    assert points.report_charging_state


@pytest.mark.parametrize(("facts", "state"), [
    ((False, False, False, True), ChargingState.IDLE),
    ((True, False, False, False), ChargingState.EV_CONNECTED),
    ((True, False, False, True), ChargingState.SUSPENDED_EVSE),
    ((True, True, False, True), ChargingState.SUSPENDED_EV),
    ((True, True, True, True), ChargingState.CHARGING),
])
def test_charging_state(facts, state):
    assert charging_state(*facts) is state


# ---- the session with points -------------------------------------------------------------------


def session(start: str = "PowerPathClosed", stop: tuple[str, ...] = ("EVConnected", "Authorized")) -> Session:
    s = Session(max_current_a=16.0, connection_timeout_s=30.0)
    s.points = TransactionPoints.named([start], stop)
    return s


def recorded(s: Session, out: list) -> None:
    start = next(c for c in out if isinstance(c, StartTransaction))
    out.extend(s.handle(TransactionRecorded(start.start), 0.0))


def of(kind, out):
    return [c for c in out if isinstance(c, kind)]


def test_ev_connected_starts_unauthorized_and_offers_once_authorized():
    s = session("EVConnected")
    out = s.handle(PilotChanged(PilotState.B), 0.0)
    [start] = of(StartTransaction, out)
    assert start.id_tag == "" and start.trigger.value == "CablePluggedIn"
    assert start.charging_state is ChargingState.EV_CONNECTED
    recorded(s, out)
    assert not [c for c in of(OfferCurrent, out) if c.amps > 0]  # nobody authorized: no energy
    out = s.handle(CardPresented("A"), 1.0)
    out += s.handle(AuthorizationResult("A", True), 1.0)
    assert of(TransactionAuthorized, out) == [TransactionAuthorized("A", "ISO14443", StartTrigger.AUTHORIZED)]
    assert of(OfferCurrent, out) == [OfferCurrent(16.0)]
    assert not of(StartTransaction, out)  # the same transaction


def test_a_remote_start_authorizes_the_waiting_transaction():
    s = session("EVConnected")
    out = s.handle(PilotChanged(PilotState.B), 0.0)
    recorded(s, out)
    assert s.takes_remote_start()
    out = s.handle(RemoteStartRequested("R", remote_start_id=7), 1.0)
    [authorized] = of(TransactionAuthorized, out)
    assert authorized.remote_start_id == 7 and authorized.trigger.value == "RemoteStart"
    assert not of(StartTransaction, out)


def test_an_unauthorized_transaction_ends_when_the_ev_leaves():
    s = session("EVConnected")
    s.stop_on_ev_disconnect = False
    out = s.handle(PilotChanged(PilotState.B), 0.0)
    recorded(s, out)
    out = s.handle(PilotChanged(PilotState.A), 1.0)
    assert [c.reason for c in of(StopTransaction, out)] == [StopReason.EV_DISCONNECTED]


def test_authorized_starts_before_the_ev_and_times_out():
    s = session("Authorized")
    out = s.handle(RemoteStartRequested("R"), 0.0)
    [start] = of(StartTransaction, out)
    assert start.charging_state is ChargingState.IDLE
    recorded(s, out)
    assert not of(StopTransaction, s.handle(Tick(), 29.0))
    assert [c.reason for c in of(StopTransaction, s.handle(Tick(), 30.0))] == [StopReason.TIMEOUT]


def test_authorized_start_then_the_ev_comes():
    s = session("Authorized")
    out = s.handle(RemoteStartRequested("R"), 0.0)
    recorded(s, out)
    out = s.handle(PilotChanged(PilotState.C), 5.0)
    assert of(ChargingStateChanged, out) == [ChargingStateChanged(ChargingState.EV_CONNECTED, "CablePluggedIn"),
                                             ChargingStateChanged(ChargingState.CHARGING)]
    assert not of(StopTransaction, s.handle(Tick(), 100.0))  # the EV came: no timeout


def test_charging_state_changes_are_reported():
    s = session()
    s.handle(PilotChanged(PilotState.C), 0.0)
    out = s.handle(RemoteStartRequested("R"), 0.0)
    recorded(s, out)
    assert of(ChargingStateChanged, out) == [ChargingStateChanged(ChargingState.CHARGING)]
    out = s.handle(PilotChanged(PilotState.B), 1.0)
    assert of(ChargingStateChanged, out) == [ChargingStateChanged(ChargingState.SUSPENDED_EV)]


def test_ocpp16_reports_no_charging_state():
    s = Session(max_current_a=16.0)
    s.handle(PilotChanged(PilotState.C), 0.0)
    out = s.handle(RemoteStartRequested("R"), 0.0)
    [start] = of(StartTransaction, out)
    assert start.charging_state is None
    recorded(s, out)
    out += s.handle(PilotChanged(PilotState.B), 1.0)
    assert not of(ChargingStateChanged, out)
    out = s.handle(PilotChanged(PilotState.C), 1.0)
    out += s.handle(StopRequested(StopReason.LOCAL), 2.0)
    assert of(StopTransaction, out)[0].charging_state is None


def test_energy_transfer_stop_point_ends_when_the_ev_pauses():
    s = session(stop=("EnergyTransfer",))
    s.handle(PilotChanged(PilotState.C), 0.0)
    out = s.handle(RemoteStartRequested("R"), 0.0)
    recorded(s, out)
    out = s.handle(PilotChanged(PilotState.B), 1.0)
    assert [c.reason for c in of(StopTransaction, out)] == [StopReason.STOPPED_BY_EV]


def test_ev_connected_stop_point_only_deauthorizes_on_a_card():
    s = session(stop=("EVConnected",))
    s.handle(PilotChanged(PilotState.C), 0.0)
    out = s.handle(CardPresented("A"), 0.0)
    out += s.handle(AuthorizationResult("A", True), 0.0)
    recorded(s, out)
    out = s.handle(CardPresented("A"), 1.0)
    assert of(TransactionDeauthorized, out) == [TransactionDeauthorized(StopReason.LOCAL, "A")]
    assert of(OfferCurrent, out) == [OfferCurrent(0.0)] and not of(StopTransaction, out)
    out = s.handle(PilotChanged(PilotState.A), 2.0)
    assert [c.reason for c in of(StopTransaction, out)] == [StopReason.EV_DISCONNECTED]


def test_energy_transfer_start_offers_first_and_starts_when_the_ev_draws():
    s = session("EnergyTransfer")
    s.handle(PilotChanged(PilotState.B), 0.0)
    out = s.handle(RemoteStartRequested("R"), 0.0)
    assert not of(StartTransaction, out) and of(OfferCurrent, out) == [OfferCurrent(16.0)]
    out = s.handle(PilotChanged(PilotState.C), 1.0)
    [start] = of(StartTransaction, out)
    assert start.trigger is StartTrigger.CHARGING_STATE_CHANGED and start.charging_state is ChargingState.CHARGING
    assert not of(OfferCurrent, out)  # the offer stays while the start is recorded
    recorded(s, out)
    assert not of(OfferCurrent, out) and not of(ChargingStateChanged, out)


def test_a_fixed_cable_ev_that_does_not_come_back_ends_the_transaction():
    s = session(stop=("Authorized",))
    s.stop_on_ev_disconnect = False
    s.handle(PilotChanged(PilotState.C), 0.0)
    recorded(s, s.handle(RemoteStartRequested("R"), 0.0))
    out = s.handle(PilotChanged(PilotState.A), 10.0)
    assert of(ChargingStateChanged, out) == [ChargingStateChanged(ChargingState.IDLE, "EVCommunicationLost")]
    assert not of(StopTransaction, s.handle(Tick(), 39.0))
    assert [c.reason for c in of(StopTransaction, s.handle(Tick(), 40.0))] == [StopReason.TIMEOUT]


def test_an_ev_back_in_time_goes_on_charging():
    s = session(stop=("Authorized",))
    s.stop_on_ev_disconnect = False
    s.handle(PilotChanged(PilotState.C), 0.0)
    recorded(s, s.handle(RemoteStartRequested("R"), 0.0))
    s.handle(PilotChanged(PilotState.A), 10.0)
    out = s.handle(PilotChanged(PilotState.C), 20.0)
    assert of(ChargingStateChanged, out) == [ChargingStateChanged(ChargingState.EV_CONNECTED, "CablePluggedIn"),
                                             ChargingStateChanged(ChargingState.CHARGING)]
    assert not of(StopTransaction, s.handle(Tick(), 100.0))


@pytest.mark.parametrize(("stop", "stop_on_ev_disconnect", "ends"), [
    (("EVConnected",), False, True),  # OCTT TC_E_20
    (("PowerPathClosed",), False, True),  # OCTT TC_E_37
    (("Authorized",), False, False),  # OCTT TC_E_26: suspended
    (("Authorized",), True, True),  # OCTT TC_E_17
])
def test_the_ev_leaving(stop, stop_on_ev_disconnect, ends):
    s = session(stop=stop)
    s.stop_on_ev_disconnect = stop_on_ev_disconnect
    s.lock_required = s.locked = True  # a socket with its cable locked: no connection timeout
    s.handle(PilotChanged(PilotState.C), 0.0)
    recorded(s, s.handle(RemoteStartRequested("R"), 0.0))
    out = s.handle(PilotChanged(PilotState.A), 1.0)
    assert bool(of(StopTransaction, out)) is ends


def test_a_card_goes_to_the_transaction_that_waits_for_one():
    from agent.core.card_routing import connector_for_card, connector_for_remote_start
    from agent.core.connector_facts import ConnectorFacts

    free = Session(max_current_a=16.0)
    waiting = session("EVConnected")
    recorded(waiting, waiting.handle(PilotChanged(PilotState.B), 0.0))
    facts = [ConnectorFacts.of(1, free), ConnectorFacts.of(2, waiting)]
    assert connector_for_card(facts, "A") == 2
    assert connector_for_remote_start(facts, "A") == 2  # F02: the EV plugged in there
