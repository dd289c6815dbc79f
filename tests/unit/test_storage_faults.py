"""Storage that fails: a damaged file, a directory that cannot be written, a disk that fills up,
a second agent on the same file, a full queue."""

import json
import logging
import subprocess
import sys

import pytest

from agent.app.composition import open_store
from agent.persistence import store as store_module
from agent.persistence.store import MIGRATIONS, DatabaseTooNew, Migration, StorageError, Store


def test_damaged_database_is_moved_aside_and_a_new_one_started(tmp_path, caplog):
    path = tmp_path / "evse-agent.db"
    path.write_bytes(b"garbage" * 1000)
    with caplog.at_level(logging.CRITICAL):
        store, problem = open_store(path, 100)
    assert problem is None and store.outbox_length() == 0
    assert any(p.name.startswith("evse-agent.db.corrupt-") for p in tmp_path.iterdir())
    assert "damaged" in caplog.text and "moving it aside" in caplog.text
    store.close()


def test_unwritable_directory_gives_a_memory_store_and_says_so(tmp_path, caplog):
    locked = tmp_path / "ro"
    locked.mkdir()
    # A read-only bind of the data directory is what a read-only root looks like to us;
    # a file where the directory should be is a portable stand-in that even root cannot write through.
    blocker = locked / "data"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.CRITICAL):
        store, problem = open_store(blocker / "evse-agent.db", 100)
    assert problem and store.path == ":memory:"
    assert "running without storage" in caplog.text
    store.close()


# A disk that fills up while the agent runs, in a process of its own: from the moment the file
# size limit is 0 no write reaches any file (EFBIG, the signal ignored), as on a full disk.
DISK_FILLS_UP = """
import json, resource, signal, sys
from agent.persistence.store import StorageError, Store

store = Store(sys.argv[1])
local = store.begin_transaction(1, "AA", 0, "t", {})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
errors = []
for write in (lambda: store.end_transaction(local, 10, "t2", "Local", {}),
              lambda: store.delivered(store.outbox_head().seq)):  # a confirmation too: the message stays
    try:
        write()
    except StorageError as exc:
        errors.append(str(exc))
queued_while_full = store.outbox_length()
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
store.end_transaction(local, 10, "t2", "Local", {})
print(json.dumps({"errors": errors, "queued_while_full": queued_while_full, "queued": store.outbox_length()}))
"""


def test_write_failures_are_storage_errors(tmp_path):
    # The write cannot happen, and the caller is told so instead of crashing; it works again after.
    done = subprocess.run([sys.executable, "-c", DISK_FILLS_UP, str(tmp_path / "db")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["errors"]) == 2 and all("cannot write" in e for e in result["errors"]), result
    assert result["queued_while_full"] == 1  # the start, still queued: nothing lost
    assert result["queued"] == 2


def test_a_second_agent_on_the_same_data_directory_gets_no_storage(tmp_path, caplog):
    path = tmp_path / "evse-agent.db"
    first = Store(path)
    first.begin_transaction(1, "AA", 0, "t", {})
    with pytest.raises(StorageError, match="locked"):
        Store(path)
    with caplog.at_level(logging.CRITICAL):
        second, problem = open_store(path, 100)
    # It charges nothing (connectors Faulted) and delivers nothing the first one queued.
    assert second.path == ":memory:" and "locked" in problem and second.outbox_length() == 0
    assert first.outbox_length() == 1
    second.close()
    first.close()
    assert Store(path).outbox_length() == 1  # free again once the first is gone


def test_queue_bound_drops_oldest_meter_values_never_start_or_stop(tmp_path, caplog):
    store = Store(tmp_path / "db", max_queued=3)
    local = store.begin_transaction(1, "AA", 0, "t", {"n": "start"})
    store.queue_meter_values(local, {"n": "mv1"})
    store.queue_meter_values(local, {"n": "mv2"})
    with caplog.at_level(logging.WARNING):
        store.queue_meter_values(local, {"n": "mv3"})
    assert "dropped the oldest MeterValues" in caplog.text
    store.end_transaction(local, 5, "t2", "Local", {"n": "stop"})
    kinds = []
    while (head := store.outbox_head()) is not None:
        kinds.append(head.body["n"])
        store.delivered(head.seq)
    assert kinds[0] == "start" and kinds[-1] == "stop"
    assert "mv1" not in kinds and "mv3" in kinds
    store.close()


# ---- a database from a newer release (a self-update rolled back) -------------------------


def _newer(path, *extra: Migration) -> None:
    """The database as a newer release with ``extra`` migrations leaves it."""
    newer = [*MIGRATIONS, *extra]
    saved = store_module.MIGRATIONS[:]
    store_module.MIGRATIONS[:] = newer
    try:
        s = Store(path)
        s.begin_transaction(1, "AA", 5, "t", {"connector_id": 1})
        s.close()
    finally:
        store_module.MIGRATIONS[:] = saved


def test_a_newer_database_this_release_can_use_is_used_and_said_so(tmp_path, caplog):
    path = tmp_path / "evse-agent.db"
    _newer(path, Migration("CREATE TABLE from_the_future (x INTEGER)"))  # additive
    with caplog.at_level(logging.WARNING):
        store, problem = open_store(path, 100)
    assert problem is None and store.newer_schema == len(MIGRATIONS) + 1
    assert store.outbox_length() == 1  # what the newer release queued is delivered by this one
    assert "from a newer release" in caplog.text
    store.close()


def test_a_newer_database_this_release_cannot_use_is_left_untouched(tmp_path, caplog):
    path = tmp_path / "evse-agent.db"
    _newer(path, Migration("ALTER TABLE outbox ADD COLUMN renamed_kind TEXT", older_code_can_use=False))
    before = path.read_bytes()
    with pytest.raises(DatabaseTooNew, match=f"schema {len(MIGRATIONS) + 1} written by a newer release"):
        Store(path)
    with caplog.at_level(logging.CRITICAL):
        store, problem = open_store(path, 100)
    assert store.path == ":memory:" and "newer release" in problem  # no storage: connectors Faulted
    assert path.read_bytes() == before  # nothing the newer release queued is lost or changed
    store.close()


def test_a_migration_older_code_cannot_follow_copies_the_database_first(tmp_path):
    path = tmp_path / "evse-agent.db"
    Store(path).close()
    saved = store_module.MIGRATIONS[:]
    store_module.MIGRATIONS.append(Migration("CREATE TABLE x (y INTEGER)", older_code_can_use=False))
    try:
        Store(path).close()
    finally:
        store_module.MIGRATIONS[:] = saved
    copy = tmp_path / f"evse-agent.db.before-schema-{len(MIGRATIONS) + 1}"
    assert copy.exists()
    with pytest.raises(DatabaseTooNew):  # this release cannot use what the newer one made
        Store(path)
    assert Store(copy).newer_schema is None  # but the copy is its own schema
