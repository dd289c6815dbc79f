from agent import history as history_module
from agent.history import History
from agent.store import Store


def test_history_is_kept_in_order_and_bounded(tmp_path, monkeypatch):
    store = Store(tmp_path / "db")
    monkeypatch.setattr(history_module, "KEEP", 150)  # our own constant, to keep the test small
    stamps = iter(f"t{i:04d}" for i in range(1000))
    history = History(store, lambda: next(stamps))
    for i in range(400):
        history.record(1, "status", f"S{i}")
    recent = history.recent(1000)
    assert recent[-1] == {"at": "t0399", "connector_id": 1, "kind": "status", "detail": "S399"}
    assert [r["detail"] for r in recent] == sorted((r["detail"] for r in recent), key=lambda d: int(d[1:]))
    assert len(recent) <= 150 + 100  # pruned every 100 records
    store.close()
