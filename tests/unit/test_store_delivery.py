"""Store.delivered: a plain confirmation is committed without an fsync of its own, and
everything written afterwards is synchronous=FULL again."""

from agent.persistence.store import Store

FULL = 2


def synchronous(store: Store) -> int:
    return store._db.execute("PRAGMA synchronous").fetchone()[0]  # as it is (execute() would set FULL)


def test_delivered_keeps_the_store_fully_durable_for_what_comes_next(tmp_path):
    store = Store(tmp_path / "evse-agent.db")
    local_id = store.begin_transaction(1, "TAG", 0, "2025-01-01T00:00:00Z", {"connector_id": 1})
    store.queue_meter_values(local_id, {"connector_id": 1, "samples": []})
    start = store.outbox_head()
    store.delivered(start.seq, remote_tx_id=42, local_tx_id=local_id)  # binds an id: fully durable
    assert synchronous(store) == FULL
    meter = store.outbox_head()
    store.delivered(meter.seq)
    assert synchronous(store) != FULL  # relaxed: a run of these does not switch for each one
    store.queue_meter_values(local_id, {"connector_id": 1, "samples": []})
    assert synchronous(store) == FULL  # what is queued next is synced as ever
    store.delivered(store.outbox_head().seq)
    store.put_setting("k", "v")
    assert synchronous(store) == FULL
    assert store.outbox_length() == 0
    assert store.transaction(local_id).remote_id == 42
    store.close()
    reopened = Store(tmp_path / "evse-agent.db")
    assert reopened.outbox_length() == 0 and reopened.transaction(local_id).remote_id == 42
