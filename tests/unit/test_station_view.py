"""Station.view (agent/station/view.py): a connector as the displays, diagnostics and guards read
it, on a real Station whose commands are not executed; no event loop."""

from __future__ import annotations

import datetime as dt

from agent.core.identity import IdToken, IdTokenType
from agent.core.session import (
    AuthorizationResult,
    CardPresented,
    ConnectorStatus,
    PilotChanged,
    StopReason,
    StopRequested,
    TransactionRecorded,
)
from agent.station.connector import DeviceHealth
from drivers.interfaces import DeviceUnavailable, PilotState
from tests.unit.test_charging_limits import T0, make_station


def test_the_view_follows_the_session_and_its_stored_transaction(tmp_path):
    station, conn, clock, mono = make_station(tmp_path)
    view = station.view(1)
    assert view.status is ConnectorStatus.AVAILABLE and view.pilot is PilotState.A and view.fault is None
    assert view.max_current_a == 16.0 and view.offered_a is None  # nothing told to the board yet
    assert view.transaction is None and not view.transaction_open and view.identified == ()
    assert not view.board.answered and not view.board.answering and view.meter is None  # no meter here
    assert view.contactor is None and not view.cable_in_socket  # no GPIO contactor; no cable
    station.dispatch(1, PilotChanged(PilotState.B))
    station.dispatch(1, CardPresented("CARD1"))
    view = station.view(1)
    assert view.identified == ("CARD1",) and view.authorizing and not view.authorized  # being authorized
    station.dispatch(1, AuthorizationResult("CARD1", True))  # plugged: the transaction starts
    view = station.view(1)
    assert view.transaction_id_tag == "CARD1" and view.transaction_open
    assert view.transaction is None and view.session_s is None  # its start is not stored yet
    # What the station's command executor does with StartTransaction: record it.
    conn.transaction_local_id = station.store.begin_transaction(1, "CARD1", 1200, "2026-03-04T11:59:00Z", {})
    station.dispatch(1, TransactionRecorded(1))
    view = station.view(1)
    assert view.status is ConnectorStatus.SUSPENDED_EV and view.offered_a == 16.0
    assert view.transaction.id_token == IdToken("CARD1", IdTokenType.ISO14443)
    assert view.transaction.started_at == "2026-03-04T11:59:00Z" and view.transaction.running
    assert view.session_s == (T0 - dt.datetime(2026, 3, 4, 11, 59, tzinfo=dt.timezone.utc)).total_seconds()
    assert view.session_energy_wh is None  # no meter reading
    station.dispatch(1, StopRequested(StopReason.LOCAL))
    view = station.view(1)
    assert view.transaction is None and view.transaction_id_tag is None
    assert view.transaction_open  # still open in storage until its stop is stored
    assert view.status is ConnectorStatus.FINISHING


def test_a_device_is_lost_after_three_failed_reads_and_back_at_its_first_answer():
    health = DeviceHealth()
    assert not health.lost and not health.answered
    assert health.succeeded() is False and health.answered
    assert [health.failed(DeviceUnavailable("no answer")) for _ in range(4)] == [False, False, True, False]
    assert health.lost and health.failures == 4 and health.last_error == "no answer"
    assert health.succeeded() is True  # back: the caller clears the fault
    assert not health.lost and health.last_error == "no answer"  # kept for support
