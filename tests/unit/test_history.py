from agent.station.history import History
from agent.persistence.store import Store


def test_history_is_kept_in_order_and_bounded(tmp_path):
    store = Store(tmp_path / "db")
    stamps = iter(f"t{i:04d}" for i in range(1000))
    history = History(store, lambda: next(stamps), keep=150)
    for i in range(400):
        history.record(1, "status", f"S{i}")
    recent = history.recent(1000)
    assert recent[-1] == {"at": "t0399", "connector_id": 1, "kind": "status", "detail": "S399"}
    assert [r["detail"] for r in recent] == sorted((r["detail"] for r in recent), key=lambda d: int(d[1:]))
    assert len(recent) <= 150 + 100  # pruned every 100 records
    store.close()
