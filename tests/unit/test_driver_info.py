"""What the driver reads (agent/ui/notes.py), backend display messages
(agent/ocpp16/display_messages.py), free vend beside a reservation (agent/core/session.py) and the reversed card
match (agent/station/card_ids.py), on a real Station whose commands are not executed; no event loop."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from agent.station.authorization import ListEntry, LocalAuthorization
from agent.backend.ports import AuthorizationStatus, IdTagInfo
from agent.station.card_ids import known_form, reversed_id_tag
from agent.ui.displays import ScreenNotes
from agent.ui.notes import DriverInfo, MessageBoard, Priority, reservation_text
from agent.ocpp16.display_messages import DisplayMessages
from agent.core.pricing import Cost, Pricing
from agent.core.session import (
    AuthorizationResult,
    CardPresented,
    ConnectorStatus,
    Fault,
    FaultRaised,
    PilotChanged,
    Reservation,
    ReservationMade,
    ReserveResult,
    StartTransaction,
    StopReason,
    StopRequested,
)
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from drivers.interfaces import PilotState
from tests.unit.test_charging_limits import T0, make_station


def setup(tmp_path, idle_text=None):
    station, conn, clock, mono = make_station(tmp_path)
    notes = ScreenNotes(mono)
    pricing = Pricing(language="de", supported_languages=("en", "de"))
    pricing.default.texts[""] = "0.39 €/kWh"
    board = MessageBoard(mono)
    online = [True]
    info = DriverInfo(station, notes, pricing, board, online=lambda: online[0], idle_text=idle_text, monotonic=mono)
    handler = DisplayMessages(board, {1}, lambda: pricing.language, mono, info.changed)
    return station, conn, mono, notes, pricing, info, handler


def drained(conn) -> list:
    commands = []
    while not conn.commands.empty():
        commands += conn.commands.get_nowait()
    return commands


def test_messages_by_priority_language_and_time(tmp_path):
    station, conn, mono, notes, pricing, info, handler = setup(tmp_path, idle_text={"": "Welcome"})
    info.refresh()
    assert notes.message(1) == "Welcome" and notes.prices[1] == "0.39 €/kWh"
    msg = {"id": 1, "message": "Free today", "language": "en",
           "messageExtra": [{"language": "de", "content": "Heute gratis"}], "durationSeconds": 60}
    assert handler("DisplayMessage", json.dumps(msg)) == ("Accepted", None)
    assert notes.message(1) == "Heute gratis"  # the configured language, shown at once
    assert handler("DisplayMessage", json.dumps({"id": 2, "message": "Maintenance at 14:00",
                                                 "priority": "InFront"})) == ("Accepted", None)
    assert notes.message(1) == "Maintenance at 14:00"  # InFront before NormalCycle
    station.dispatch(conn.id, FaultRaised(Fault.BOARD_COMM))
    info.refresh()
    assert notes.message(1) is None  # a fault is shown instead of InFront / NormalCycle ...
    assert handler("DisplayMessage", json.dumps({"message": "Call 0800 123", "priority": "AlwaysFront",
                                                 "connectorId": 1})) == ("Accepted", None)
    assert notes.message(1) == "Call 0800 123"  # ... but not instead of AlwaysFront
    assert handler("ClearDisplayMessage", json.dumps({"id": 2})) == ("Accepted", None)
    assert handler("ClearDisplayMessage", json.dumps({"id": 2}))[0] == "Rejected"
    mono.t += 61
    board = info.board
    assert board.current(1, Priority.NORMAL_CYCLE) is None  # message 1 ended
    # Bad input: a clear reason, nothing shown.
    assert handler("DisplayMessage", "{")[0] == "Rejected"
    status, why = handler("DisplayMessage", json.dumps({"message": "x", "priority": "Urgent"}))
    assert status == "Rejected" and "priority" in why
    assert handler("DisplayMessage", json.dumps({"message": "x", "connectorId": 5})) == \
        ("Rejected", "connectorId: no connector 5")
    assert handler("Other", "{}") == ("UnknownMessageId", None)


def test_a_reserved_connector_names_the_card_and_the_minutes_left(tmp_path):
    station, conn, mono, notes, pricing, info, handler = setup(tmp_path)
    station.dispatch(conn.id, ReservationMade(Reservation(5, "04A1B2C3D4E5F6", None, mono.t + 12 * 60 - 5)))
    info.refresh()
    assert notes.message(1) == "Reserved for E5F6 - 12 min left"
    mono.t += 11 * 60
    info.refresh()
    assert notes.message(1) == "Reserved for E5F6 - 1 min left"
    assert reservation_text("AB", 0) == "Reserved for AB - 1 min left"


def test_price_after_the_card_cost_during_and_total_after_the_session(tmp_path):
    station, conn, mono, notes, pricing, info, handler = setup(tmp_path)
    pricing.set_user_price("CARD1", {"": "Your price 0.29 €/kWh"})
    station.dispatch(conn.id, CardPresented("CARD1"))  # Authorize pending: the card is identified
    info.refresh()
    assert notes.prices[1] == "Your price 0.29 €/kWh"
    station.dispatch(conn.id, AuthorizationResult("CARD1", True))  # accepted: waits for the plug
    station.dispatch(conn.id, PilotChanged(PilotState.C))
    assert any(isinstance(c, StartTransaction) for c in drained(conn))
    # What the station's command executor does with StartTransaction: record it.
    conn.transaction_local_id = station.store.begin_transaction(1, "CARD1", 0, "2026-01-01T00:00:00Z", {})
    tx_id = station.store.transaction(conn.transaction_local_id).tx_id
    pricing.set_cost(1, Cost(tx_id, Decimal("1.2"), final=False))
    info.refresh()
    assert notes.costs[1] == "Cost 1.20 €"
    station.dispatch(conn.id, StopRequested(StopReason.LOCAL))
    conn.transaction_local_id = None
    pricing.set_cost(1, Cost(tx_id, Decimal("3.31"), final=True, texts={"": "Invoice: cpo.example/13546"},
                             received_at=mono.t))
    info.refresh()
    assert notes.costs[1] == "Total 3.31 €" and notes.message(1) == "Invoice: cpo.example/13546"
    assert "CARD1" not in pricing.user_prices  # their price was for that session
    station.dispatch(conn.id, PilotChanged(PilotState.A))
    mono.t += 121
    info.refresh()
    assert 1 not in notes.costs and notes.message(1) is None


def test_offline_shows_the_offline_price(tmp_path):
    station, conn, mono, notes, pricing, info, handler = setup(tmp_path)
    pricing.default.offline_texts[""] = "Offline: 0.45 €/kWh"
    info.online = lambda: False
    info.refresh()
    assert notes.prices[1] == "Offline: 0.45 €/kWh"


def test_free_vend_leaves_the_connector_kept_for_a_reservation_of_any_connector(tmp_path):
    station, conn, mono, *_ = setup(tmp_path)
    expiry = T0 + dt.timedelta(minutes=10)  # the stations' clock stands at T0
    assert station.reservations.reserve(0, "DRIVER", None, expiry, 5) is ReserveResult.ACCEPTED
    station.store.close()
    # The agent restarts with free vend on and an EV already plugged in: its one connector stays
    # kept for DRIVER from the first event on.
    station, conn, clock, mono = make_station(tmp_path, free_vend_id_tag="FREEVEND")
    station.dispatch(conn.id, PilotChanged(PilotState.B))
    assert not [c for c in drained(conn) if isinstance(c, StartTransaction)]
    assert conn.session.status() is ConnectorStatus.RESERVED
    assert station.cancel_reservation(5)
    starts = [c for c in drained(conn) if isinstance(c, StartTransaction)]
    assert starts == [StartTransaction("FREEVEND", None)] and starts[0].token_type == "Local"


def test_a_card_enrolled_in_the_reversed_byte_order_is_presented_as_enrolled(tmp_path):
    store = Store(tmp_path / "db")
    local = LocalAuthorization(store, Settings(store), lambda: dt.datetime.now(dt.timezone.utc))
    local.update_list(1, [ListEntry("F6E5D4C3B2A104", IdTagInfo(AuthorizationStatus.ACCEPTED))], full=True)
    assert reversed_id_tag("04A1B2C3D4E5F6") == "F6E5D4C3B2A104"
    assert reversed_id_tag("NOTHEX") is None and reversed_id_tag("04") is None
    assert known_form("04A1B2C3D4E5F6", local) == "F6E5D4C3B2A104"  # only the reversed one is known
    local.remember("04A1B2C3D4E5F6", IdTagInfo(AuthorizationStatus.ACCEPTED))
    assert known_form("04A1B2C3D4E5F6", local) == "04A1B2C3D4E5F6"  # as read, when that is known
    assert known_form("0102030405", local) == "0102030405"  # unknown either way: as read
