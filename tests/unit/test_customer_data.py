"""The customer data held for an idToken (agent/station/customer_data.py): reported, and cleared
without touching the local list or a transaction still to be delivered."""

from __future__ import annotations

import datetime as dt

from agent.backend.ports import AuthorizationStatus, IdTagInfo
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from agent.station.authorization import ListEntry, LocalAuthorization
from agent.station.customer_data import CustomerData
from agent.station.history import History

CARD = "04A1B2C3D4E5F6"
ACCEPTED = IdTagInfo(AuthorizationStatus.ACCEPTED)


def station(tmp_path):
    store = Store(tmp_path / "db")
    local = LocalAuthorization(store, Settings(store, {}), lambda: dt.datetime.now(dt.UTC))
    return store, local, CustomerData(store, local)


def delivered_transaction(store: Store, id_tag: str) -> int:
    local_id = store.begin_transaction(1, id_tag, 0, "2026-03-01T12:00:00Z", {})
    store.end_transaction(local_id, 100, "2026-03-01T13:00:00Z", "Local", {})
    while (head := store.outbox_head()) is not None:
        store.delivered(head.seq)
    return local_id


def test_nothing_held_for_an_unknown_token(tmp_path):
    _, _, data = station(tmp_path)
    assert data.report(CARD) == [] and data.clear(CARD) == []


def test_the_cache_and_delivered_transactions_are_cleared_the_list_and_queued_ones_kept(tmp_path):
    store, local, data = station(tmp_path)
    local.remember(CARD, ACCEPTED)
    done = delivered_transaction(store, CARD)
    History(store, lambda: "2026-03-01T12:00:00Z").record(1, "start", f"transaction {done} by {CARD} at 0 Wh")
    running = store.begin_transaction(1, CARD.lower(), 100, "2026-03-01T14:00:00Z", {"queued": True})
    report = data.report(CARD)
    assert report[0] == "authorization cache: Accepted" and len(report) == 4
    assert data.clear(CARD) == ["authorization cache: cleared", "transactions: 1 cleared",
                                "transactions: 1 kept until they ended and were delivered",
                                "connector history: 1 entries cleared"]
    assert local.cached(CARD) is None
    assert store.transaction(done).id_tag != CARD and store.transaction(running).id_tag == CARD.lower()
    assert store.outbox_head().body["queued"] is True  # the queued Started event untouched
    assert [line.split(":")[0] for line in data.report(CARD)] == ["transaction " + store.transaction(running).tx_id + " on EVSE 1"]


def test_the_local_list_is_reported_and_kept(tmp_path):
    _, local, data = station(tmp_path)
    assert local.update_list(1, [ListEntry(CARD, ACCEPTED)], full=True).value == "Accepted"
    assert data.report(CARD) == ["local authorization list: Accepted"]
    assert data.clear(CARD) == ["local authorization list: kept (changed by the CSMS only, SendLocalList)"]
    assert local.list_entry(CARD) is not None


def test_a_reservation_is_reported_and_kept(tmp_path):
    store, _, data = station(tmp_path)
    with store.atomic():
        store.execute("INSERT INTO reservations(reservation_id, connector_id, id_tag, expiry) VALUES (7, 1, ?, ?)",
                      (CARD, "2026-03-01T13:00:00+00:00"))
    assert data.report(CARD) == ["reservation 7 on EVSE 1 until 2026-03-01T13:00:00+00:00"]
    assert data.clear(CARD) == ["reservations: kept until used or expired"]
    assert data.report(CARD) != []
