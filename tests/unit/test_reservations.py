"""The station's reservation desk (agent/station/reservations.py): storage, restore, connector 0
(its rules: tests/unit/test_any_connector_reservation.py). No event loop."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.station.clock import Clock
from agent.station.reservations import ReservationDesk
from agent.core.session import (
    ConnectorStatus,
    PilotChanged,
    RemoteStartRequested,
    ReservationEnded,
    ReserveResult,
    Session,
    StartTransaction,
)
from agent.persistence.store import Store
from drivers.interfaces import PilotState

NOW = 1000.0  # the monotonic clock, frozen


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "agent.db")
    yield s
    s.close()


def make_desk(store: Store, n: int = 2, restored_on: int | None = None):
    commands: list = []
    sessions = {i: Session(max_current_a=16) for i in range(1, n + 1)}

    def dispatch(evse_id, event):  # as Station.dispatch: the event, then the connector kept for connector 0
        commands.extend(sessions[evse_id].handle(event, NOW))
        desk.update_kept()

    # ``restored_on``: an open transaction found in storage there
    desk = ReservationDesk(store, Clock(), lambda: NOW, sessions, dispatch, restored=lambda i: i == restored_on)
    desk.restore()
    return desk, sessions, commands


def stored(store: Store) -> list[tuple[int, int]]:
    return [tuple(r) for r in store.execute("SELECT reservation_id, connector_id FROM reservations ORDER BY 1")]


def later(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)


def test_reservations_are_restored_and_expired_ones_dropped(store):
    desk, conns, _ = make_desk(store)
    assert desk.reserve(1, "A", None, later(600), 1) is ReserveResult.ACCEPTED
    assert desk.reserve(2, "B", "G", later(-1), 2) is ReserveResult.ACCEPTED
    desk, conns, _ = make_desk(store)  # the agent restarts (the second one expired meanwhile)
    assert conns[1].reservation.id_tag == "A"
    assert 590 < conns[1].reservation.expires_at - NOW <= 600
    assert conns[1].status() is ConnectorStatus.RESERVED
    assert conns[2].reservation is None
    assert stored(store) == [(1, 1)]


def test_a_reservation_is_not_restored_onto_a_connector_with_an_open_transaction(store):
    desk, _, _ = make_desk(store)
    desk.reserve(1, "A", None, later(600), 1)
    _, conns, _ = make_desk(store, restored_on=1)
    assert conns[1].reservation is None


def test_the_same_id_moves_to_another_connector(store):
    desk, conns, commands = make_desk(store)
    desk.reserve(1, "A", None, later(600), 9)
    assert desk.reserve(2, "A", None, later(600), 9) is ReserveResult.ACCEPTED
    assert conns[1].reservation is None and conns[2].reservation.reservation_id == 9
    for command in commands:  # the station carries out what the sessions said
        if isinstance(command, ReservationEnded):
            desk.ended(1, command.reservation_id, command.why)
    assert stored(store) == [(9, 2)]
    assert desk.cancel(9) is True and desk.cancel(9) is False


def test_connector_zero_keeps_the_last_free_connector(store):
    desk, conns, commands = make_desk(store)
    assert desk.reserve(0, "A", None, later(600), 5) is ReserveResult.ACCEPTED
    assert desk.reserve(0, "B", None, later(600), 6) is ReserveResult.OCCUPIED
    assert not desk.refuses(1, "B")  # two free connectors: one may go
    conns[1].handle(RemoteStartRequested("B"), NOW)
    assert desk.refuses(2, "B") and not desk.refuses(2, "A")
    assert desk.reserve(2, "B", None, later(600), 6) is ReserveResult.OCCUPIED
    # A's start takes the reservation up on that connector: the start carries its id.
    desk.claim(2, "A")
    assert conns[2].reservation.reservation_id == 5
    conns[2].handle(RemoteStartRequested("A"), NOW)
    out = conns[2].handle(PilotChanged(PilotState.B), NOW)
    assert StartTransaction("A", 5) in out
    assert not desk.refuses(1, "B")


def test_connector_zero_reservation_survives_a_restart_and_expires(store):
    desk, _, _ = make_desk(store)
    desk.reserve(0, "A", None, later(600), 5)
    desk, conns, _ = make_desk(store, n=1)
    assert desk.refuses(1, "B")
    assert desk.reserve(0, "C", None, later(-1), 5) is ReserveResult.ACCEPTED  # replaced; its time has passed
    assert not desk.refuses(1, "B") and not desk.cancel(5)


def test_the_last_free_connector_shows_reserved_for_the_charge_points_reservation(store):
    desk, conns, _ = make_desk(store)
    assert desk.reserve(0, "A", None, later(600), 5) is ReserveResult.ACCEPTED
    assert [c.status() for c in conns.values()] == [ConnectorStatus.AVAILABLE] * 2  # two free: none held
    for event in (PilotChanged(PilotState.B), RemoteStartRequested("B")):  # someone else takes connector 2
        conns[2].handle(event, NOW)
    desk.update_kept()
    assert conns[1].status() is ConnectorStatus.RESERVED  # the last free one is kept for A
    assert desk.cancel(5)
    assert conns[1].status() is ConnectorStatus.AVAILABLE
    # A one-connector charge point: its connector is the one kept, at once.
    desk, conns, _ = make_desk(store, n=1)
    assert desk.reserve(0, "A", None, later(600), 6) is ReserveResult.ACCEPTED
    assert conns[1].status() is ConnectorStatus.RESERVED
