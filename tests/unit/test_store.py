import sqlite3

import pytest

from agent.persistence.store import MIGRATIONS, StorageError, Store


def test_outbox_is_ordered_and_binds_the_backend_transaction_id(tmp_path):
    store = Store(tmp_path / "db")
    local = store.begin_transaction(1, "AA", 100, "t0", {"n": 1})
    store.queue_meter_values(local, {"n": 2})
    store.end_transaction(local, 250, "t1", "Local", {"n": 3})
    tx_id = store.transaction(local).tx_id
    head = store.outbox_head()
    assert head.kind == "tx_started"
    assert head.body == {"event": "Started", "transaction_id": tx_id, "seq_no": 0, "n": 1}
    store.delivered(head.seq, remote_tx_id=777, local_tx_id=local)
    assert store.transaction(local).remote_id == 777
    assert [store.outbox_head().kind] == ["tx_updated"]
    assert store.outbox_head().body["seq_no"] == 1
    store.delivered(store.outbox_head().seq)
    stop = store.outbox_head()
    assert stop.kind == "tx_ended"
    assert stop.body == {"event": "Ended", "transaction_id": tx_id, "seq_no": 2, "n": 3}
    store.failed_attempt(stop.seq)
    assert store.outbox_head().attempts == 1
    assert store.outbox_head().unique_id == stop.unique_id  # a resend keeps its message id
    store.delivered(stop.seq)
    assert store.outbox_head() is None and store.outbox_length() == 0
    store.close()


def test_queued_messages_and_open_transactions_survive_reopen(tmp_path):
    store = Store(tmp_path / "db")
    local = store.begin_transaction(2, "BB", 5, "t0", {})
    store.close()
    store = Store(tmp_path / "db")
    assert [t.local_id for t in store.open_transactions()] == [local]
    assert store.outbox_length() == 1
    store.close()


def test_damaged_database_is_a_clear_error(tmp_path):
    path = tmp_path / "db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot open the database|damaged"):
        Store(path)


def test_schema_version_is_recorded(tmp_path):
    Store(tmp_path / "db").close()
    assert sqlite3.connect(tmp_path / "db").execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
