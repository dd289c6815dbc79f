"""Durable state in SQLite: transactions, the outgoing transaction-message queue, settings.

One connection, one writer (the event loop thread). WAL journal with
``synchronous=FULL``: every commit is on disk before the call returns, so a message
that was queued survives a power cut (NORMAL would lose the last commits on power loss,
which for billing data is not acceptable; the cost is one fsync per queued message,
a few per minute while charging).

The file is this process's alone while it is open (``locking_mode=EXCLUSIVE``, set before
the first access, so the WAL index lives in the process's memory: SQLite, "Write-Ahead
Logging", section "Use of WAL Without Shared-Memory", and "PRAGMA locking_mode"). A
statement then takes no file locks: six fcntl calls less per commit and four per read,
which a backlog replay makes thousands of times a second (tests/benchmarks, backlog
replay). And a second agent started on the same data directory cannot open it: it runs
without storage, every connector Faulted, instead of delivering the same queued messages a
second time. Nothing else reads the file while the agent runs (``evse-agent status`` asks
the agent over its socket); a copy for support is taken with the agent stopped, or by the
agent itself (``_copy_before``).

Schema changes are numbered migrations applied in order at open. Each one says whether a
release that knows only the migrations before it can still use the database after it
(``Migration.older_code_can_use``: a new table or a new nullable column, yes; a table whose
rows change meaning, no). The database keeps the oldest schema that can use it
(``schema_info.usable_from``), so a release rolled back after a self-update
(agent/maintenance/self_update.py) can tell a newer database it may run on from one it must
not touch: that one is left as it is and the release runs without storage, every connector
Faulted (``DatabaseTooNew``), so nothing is charged that could not be billed and nothing
queued by the newer release is lost. Before a migration older code cannot follow, the
database is copied (``<name>.before-schema-<n>``) for support staff.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.persistence import transaction_events

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Migration:
    script: str
    # Whether a release that stops at the migration before this one can still use the
    # database after it (it ignores new tables and nullable columns; it cannot read rows
    # whose meaning changed).
    older_code_can_use: bool = True
    # Data it converts, after the script, in the same database transaction.
    convert: Callable[[sqlite3.Connection], None] | None = None


MIGRATION_SCRIPTS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE transactions (
        local_id INTEGER PRIMARY KEY AUTOINCREMENT,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        meter_start_wh INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        remote_id INTEGER,
        stopped_at TEXT,
        meter_stop_wh INTEGER,
        stop_reason TEXT
    );
    CREATE INDEX transactions_open ON transactions(connector_id) WHERE stopped_at IS NULL;
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        unique_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        local_tx_id INTEGER REFERENCES transactions(local_id),
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: OCPP 1.6 §3.5 local authorization list and authorization cache (agent/station/authorization.py)
    """
    CREATE TABLE local_auth_list (
        id_tag TEXT PRIMARY KEY COLLATE NOCASE,
        status TEXT NOT NULL,
        expiry TEXT,
        parent_id_tag TEXT
    );
    CREATE TABLE local_auth_meta (
        list_version INTEGER NOT NULL
    );
    INSERT INTO local_auth_meta(list_version) VALUES (0);
    CREATE TABLE auth_cache (
        id_tag TEXT PRIMARY KEY COLLATE NOCASE,
        status TEXT NOT NULL,
        expiry TEXT,
        parent_id_tag TEXT,
        updated_at REAL NOT NULL
    );
    """,
    # 3: OCPP 1.6 §5.19 the firmware update in progress, kept across restarts (agent/maintenance/firmware.py)
    """
    CREATE TABLE firmware_update (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        location TEXT NOT NULL,
        retrieve_at TEXT NOT NULL,
        attempts_left INTEGER NOT NULL,
        retry_interval_s REAL NOT NULL,
        state TEXT NOT NULL,
        file TEXT
    );
    """,
    # 4: OCPP 1.6 §3.12 reservations, kept across restarts (agent/station/reservations.py)
    """
    CREATE TABLE reservations (
        reservation_id INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        parent_id_tag TEXT,
        expiry TEXT NOT NULL
    );
    """,
    # 5: OCPP 1.6 §3.13 charging profiles, kept across restarts (agent/station/charging_limits.py)
    """
    CREATE TABLE charging_profiles (
        profile_id INTEGER PRIMARY KEY,
        body TEXT NOT NULL
    );
    """,
    # 6: connector history for support (agent/station/history.py)
    """
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        connector_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    """,
    # 7: Security Whitepaper SignedUpdateFirmware: what a signed update adds to firmware_update (agent/maintenance/firmware.py)
    """
    CREATE TABLE signed_firmware_update (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        request_id INTEGER NOT NULL,
        signing_certificate TEXT NOT NULL,
        signature TEXT NOT NULL,
        install_at TEXT
    );
    """,
]

MIGRATIONS: list[Migration] = [Migration(script) for script in MIGRATION_SCRIPTS] + [
    # 8: the oldest schema that can use this database (see the module's docstring)
    Migration("CREATE TABLE schema_info (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"),
    # 9: transactions as version-neutral events (agent/persistence/transaction_events.py):
    # station-generated ids, event numbers, the outbox converted
    Migration("", older_code_can_use=False, convert=transaction_events.migrate),
    # 10: OCPP 2.0.1 L02: the requestId of an unsigned update (agent/maintenance/firmware.py)
    Migration("ALTER TABLE firmware_update ADD COLUMN request_id INTEGER"),
    # 11: OCPP 2.0.1 §2.28 IdTokenType: the type of a listed or cached idToken (agent/station/authorization.py);
    # NULL (an OCPP 1.6 idTag, or stored before) matches a token of any type
    Migration("ALTER TABLE local_auth_list ADD COLUMN token_type TEXT;\n"
              "ALTER TABLE auth_cache ADD COLUMN token_type TEXT"),
    # 12: OCPP 2.0.1 O01-O06: the backend's display messages (agent/station/display_messages.py)
    Migration("CREATE TABLE display_messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"),
]


SCHEMA_INFO_FROM = 8  # the first schema with schema_info


class StorageError(RuntimeError):
    """The database cannot be opened or written."""


@dataclass(frozen=True)
class TransactionRecord:
    local_id: int
    connector_id: int  # the EVSE (OCPP 1.6: the connector)
    id_tag: str
    meter_start_wh: int
    started_at: str
    remote_id: int | None  # the backend's transactionId (OCPP 1.6), once it gave one
    stopped_at: str | None
    meter_stop_wh: int | None
    stop_reason: str | None
    tx_id: str = ""  # the station's own id (OCPP 2.0.1 transactionId)
    token_type: str = "ISO14443"
    next_seq: int = 0
    remote_start_id: int | None = None
    stop_samples: str = "[]"  # JSON: samples kept for the transaction's end (StopTxnSampledData)


@dataclass(frozen=True)
class OutboxMessage:
    seq: int
    unique_id: str  # kept across resends, so a backend can tell a resend from a new message
    kind: str  # agent/persistence/transaction_events.py kinds, or "security_event"
    local_tx_id: int | None
    body: dict[str, Any]
    attempts: int


class DatabaseCorrupt(StorageError):
    """The file is not a usable SQLite database (damaged, truncated, overwritten)."""


class DatabaseTooNew(StorageError):
    """A newer release migrated the database past what this release can use (a rollback):
    it is left untouched for that release."""

    def __init__(self, path: Path | str, version: int, usable_from: int, known: int) -> None:
        super().__init__(
            f"{path}: schema {version} written by a newer release can only be used from schema {usable_from}; "
            f"this release knows up to {known}: left untouched"
        )
        self.version = version
        self.usable_from = usable_from


# Outbox bound: past it, the oldest periodic MeterValues go first; StartTransaction and
# StopTransaction are never dropped (billing needs them, and there are few of them).
DEFAULT_MAX_QUEUED = 50_000


class Store:
    def __init__(self, path: Path | str, *, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        """``path`` ":memory:" keeps nothing across restarts (the degraded mode when the
        data directory cannot be written)."""
        self.path = path
        self.max_queued = max_queued
        self.newer_schema: int | None = None  # a newer release's schema this release runs on
        # Outbox rows removed other than by their delivery (dropped, or the oldest MeterValues
        # given up when the outbox is full): the pump's read-ahead is stale when this moved.
        self.outbox_removals = 0
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"{Path(path).parent}: cannot create the data directory: {exc.strerror}") from exc
        try:
            # One writer (this process): a lock held elsewhere is a fault, not something to queue behind.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=1.0)
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open the database: {exc}") from exc
        try:
            self._open()
        except BaseException:
            self._db.close()  # a database this store could not use stays free for whatever comes next
            raise

    def _open(self) -> None:
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")  # before WAL: see the module docstring
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._synchronous = "FULL"  # what the connection is set to (``_sync``)
            self._db.execute("PRAGMA foreign_keys=ON")
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise DatabaseCorrupt(f"{self.path}: database is damaged: {check}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if "not a database" in message or "malformed" in message or "corrupt" in message:
                raise DatabaseCorrupt(f"{self.path}: the database file is damaged: {exc}") from exc
            raise StorageError(f"{self.path}: cannot open the database: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        known = len(MIGRATIONS)
        if version > known:
            usable_from = self._usable_from(version)
            if usable_from > known:
                raise DatabaseTooNew(self.path, version, usable_from, known)
            self.newer_schema = version
            log.warning("database: schema %d from a newer release; this release (schema %d) can use it", version, known)
            return
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            if not migration.older_code_can_use and version > 0:
                self._copy_before(number)
            log.info("database: applying migration %d", number)
            with self._tx():
                for statement in _statements(migration.script):
                    self._db.execute(statement)
                if migration.convert is not None:
                    migration.convert(self._db)
                if number >= SCHEMA_INFO_FROM:
                    usable_from = number if not migration.older_code_can_use else self._usable_from(number - 1)
                    self._db.execute(
                        "INSERT INTO schema_info(key, value) VALUES ('usable_from', ?)"
                        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (usable_from,),
                    )
                self._db.execute(f"PRAGMA user_version={number}")

    def _usable_from(self, version: int) -> int:
        """The oldest schema that can use this database (before schema_info: its own)."""
        if version < SCHEMA_INFO_FROM:
            return version
        row = self._db.execute("SELECT value FROM schema_info WHERE key = 'usable_from'").fetchone()
        return row[0] if row else version

    def _copy_before(self, number: int) -> None:
        """A copy of the database as it is, before a migration older code cannot follow."""
        if self.path == ":memory:":
            return
        copy = Path(self.path).with_name(f"{Path(self.path).name}.before-schema-{number}")
        target = sqlite3.connect(copy)
        try:
            self._db.backup(target)
        finally:
            target.close()
        log.warning("database: copied to %s before migration %d", copy.name, number)

    def _tx(self):
        self._sync("FULL")
        return _Transaction(self._db)

    def _sync(self, mode: str) -> None:
        """``PRAGMA synchronous``, set only when it changes: a backlog's run of relaxed
        confirmations (``delivered``) does not switch back and forth for every message."""
        if self._synchronous != mode:
            self._db.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode

    # ---- for modules that keep their own tables (created by a migration above) ------

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        self._sync("FULL")  # their writes (autocommit) are as durable as any other
        return self._db.execute(sql, params)

    def atomic(self) -> _Transaction:
        """``with store.atomic():`` the statements inside commit together or not at all."""
        return self._tx()

    # ---- transactions --------------------------------------------------------------

    def begin_transaction(
        self, connector_id: int, id_tag: str, meter_start_wh: int, started_at: str, event: dict[str, Any],
        *, token_type: str = "ISO14443", remote_start_id: int | None = None,
    ) -> int:
        """Record a new transaction and queue its Started event, atomically."""
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO transactions(connector_id, id_tag, meter_start_wh, started_at, tx_id, token_type,"
                " remote_start_id) VALUES (?,?,?,?,?,?,?)",
                (connector_id, id_tag, meter_start_wh, started_at, str(uuid.uuid4()), token_type, remote_start_id),
            )
            local_id = cur.lastrowid
            self._enqueue_event(transaction_events.STARTED, local_id, event)
        return local_id

    def end_transaction(
        self, local_id: int, meter_stop_wh: int, stopped_at: str, reason: str, event: dict[str, Any]
    ) -> None:
        """Record the end of a transaction and queue its Ended event, atomically."""
        with self._tx():
            self._db.execute(
                "UPDATE transactions SET stopped_at=?, meter_stop_wh=?, stop_reason=?, stop_samples='[]'"
                " WHERE local_id=?",
                (stopped_at, meter_stop_wh, reason, local_id),
            )
            self._enqueue_event(transaction_events.ENDED, local_id, event)

    def queue_meter_values(self, local_id: int, event: dict[str, Any], *, stop_samples: list[Any] | None = None) -> None:
        """Queue an Updated event (meter values during the transaction); ``stop_samples``, the
        samples kept for its end, are stored with it."""
        with self._tx():
            self._enqueue_event(transaction_events.UPDATED, local_id, event)
            if stop_samples:
                self._keep_stop_samples(local_id, stop_samples)

    def authorize_transaction(self, local_id: int, id_tag: str, token_type: str, event: dict[str, Any]) -> None:
        """A transaction started before anyone was authorized has its idToken now, and the event
        that tells it is queued, atomically (OCPP 2.0.1 TxStartPoint EVConnected)."""
        with self._tx():
            self._db.execute("UPDATE transactions SET id_tag=?, token_type=? WHERE local_id=?",
                             (id_tag, token_type, local_id))
            self._enqueue_event(transaction_events.UPDATED, local_id, event)

    def keep_stop_samples(self, local_id: int, samples: list[Any]) -> None:
        """Samples for the transaction's end (OCPP 1.6 StopTxnSampledData / StopTxnAlignedData)."""
        with self._tx():
            self._keep_stop_samples(local_id, samples)

    def _keep_stop_samples(self, local_id: int, samples: list[Any]) -> None:
        row = self._db.execute("SELECT stop_samples FROM transactions WHERE local_id=?", (local_id,)).fetchone()
        kept = json.loads(row["stop_samples"]) if row else []
        self._db.execute("UPDATE transactions SET stop_samples=? WHERE local_id=?", (json.dumps(kept + samples), local_id))

    def _enqueue_event(self, kind: str, local_id: int, event: dict[str, Any]) -> None:
        """Queue a transaction event: it gets the transaction's id and the next event number."""
        row = self._db.execute("SELECT tx_id, next_seq FROM transactions WHERE local_id=?", (local_id,)).fetchone()
        self._db.execute("UPDATE transactions SET next_seq = next_seq + 1 WHERE local_id=?", (local_id,))
        body = {"event": transaction_events.EVENT_OF_KIND[kind], "transaction_id": row["tx_id"], "seq_no": row["next_seq"], **event}
        self._enqueue(kind, local_id, body)

    def queue_security_event(self, message: dict[str, Any]) -> None:
        """A security event (agent/security/events.py), delivered in order like transaction messages."""
        with self._tx():
            self._enqueue("security_event", None, message)

    def open_transactions(self) -> list[TransactionRecord]:
        rows = self._db.execute("SELECT * FROM transactions WHERE stopped_at IS NULL ORDER BY local_id")
        return [TransactionRecord(**dict(r)) for r in rows]

    def transaction(self, local_id: int) -> TransactionRecord | None:
        row = self._db.execute("SELECT * FROM transactions WHERE local_id=?", (local_id,)).fetchone()
        return TransactionRecord(**dict(row)) if row else None

    def transaction_by_tx_id(self, tx_id: str) -> TransactionRecord | None:
        row = self._db.execute("SELECT * FROM transactions WHERE tx_id=?", (tx_id,)).fetchone()
        return TransactionRecord(**dict(row)) if row else None

    def transaction_by_remote_id(self, remote_id: int) -> TransactionRecord | None:
        row = self._db.execute(
            "SELECT * FROM transactions WHERE remote_id=? ORDER BY local_id DESC LIMIT 1", (remote_id,)
        ).fetchone()
        return TransactionRecord(**dict(row)) if row else None

    # ---- the outbox ----------------------------------------------------------------

    def _enqueue(self, kind: str, local_tx_id: int | None, body: dict[str, Any]) -> None:
        queued = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        if queued >= self.max_queued:
            dropped = self._db.execute(
                "DELETE FROM outbox WHERE seq = (SELECT min(seq) FROM outbox WHERE kind=?) RETURNING seq",
                (transaction_events.UPDATED,),
            ).fetchall()
            self.outbox_removals += len(dropped)
            log.warning(
                "outbox: %d messages queued (limit %d): %s",
                queued,
                self.max_queued,
                "dropped the oldest MeterValues" if dropped else "only start/stop messages left, keeping all",
            )
        self._db.execute(
            "INSERT INTO outbox(unique_id, kind, local_tx_id, body, created_at) VALUES (?,?,?,?,?)",
            (str(uuid.uuid4()), kind, local_tx_id, json.dumps(body), time.time()),
        )

    def outbox_head(self) -> OutboxMessage | None:
        row = self._db.execute("SELECT * FROM outbox ORDER BY seq LIMIT 1").fetchone()
        if row is None:
            return None
        return _outbox_message(row)

    def outbox_after(self, seq: int) -> OutboxMessage | None:
        """The queued message after ``seq`` (read ahead while ``seq`` is in flight)."""
        row = self._db.execute("SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)).fetchone()
        return _outbox_message(row) if row is not None else None

    def outbox_length(self) -> int:
        return self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def outbox_holds(self, transaction_id: str | None = None) -> bool:
        """Whether messages wait to be delivered (of one transaction, by the station's id)."""
        if transaction_id is None:
            return self.outbox_length() > 0
        row = self._db.execute(
            "SELECT 1 FROM outbox WHERE json_extract(body, '$.transaction_id') = ? LIMIT 1", (transaction_id,)
        ).fetchone()
        return row is not None

    def delivered(self, seq: int, *, remote_tx_id: int | None = None, local_tx_id: int | None = None,
                  durable: bool = False) -> None:
        """The backend confirmed ``seq``; a StartTransaction also binds the backend's id.

        A plain delivery (no id to bind) is committed without waiting for the disk
        (synchronous=NORMAL, WAL): a power cut right after it can only make the message be
        sent again, with the same message id, and the next durable commit (any queued
        message) makes it durable too. One fsync per confirmation capped a backlog replay
        at a few hundred messages a second (tests/benchmarks, backlog replay). ``durable``:
        synced all the same (agent/backend/outbox.py says when)."""
        relaxed = remote_tx_id is None and not durable
        self._sync("NORMAL" if relaxed else "FULL")  # anything else written sets FULL again (``_tx``)
        if relaxed:
            # One statement is its own transaction (autocommit): no BEGIN and COMMIT round trips
            # into SQLite, 3-4 µs of a confirmation's ~25 in a backlog replay.
            try:
                self._db.execute("DELETE FROM outbox WHERE seq=?", (seq,))
            except sqlite3.Error as exc:
                raise StorageError(f"database: cannot write: {exc}") from exc
            return
        with _Transaction(self._db):
            if remote_tx_id is not None and local_tx_id is not None:
                self._db.execute(
                    "UPDATE transactions SET remote_id=? WHERE local_id=?", (remote_tx_id, local_tx_id)
                )
            self._db.execute("DELETE FROM outbox WHERE seq=?", (seq,))
            self._prune()  # a transaction's last message (its stop) is a durable delivery

    def failed_attempt(self, seq: int) -> None:
        with self._tx():
            self._db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq=?", (seq,))

    def drop(self, seq: int) -> None:
        with self._tx():
            self._db.execute("DELETE FROM outbox WHERE seq=?", (seq,))
        self.outbox_removals += 1

    def _prune(self) -> None:
        # Finished transactions whose messages were all delivered are kept for a while
        # (history for support), but not without bound.
        self._db.execute(
            """DELETE FROM transactions WHERE stopped_at IS NOT NULL
               AND local_id NOT IN (SELECT local_tx_id FROM outbox WHERE local_tx_id IS NOT NULL)
               AND local_id <= (SELECT max(local_id) FROM transactions) - 1000"""
        )

    # ---- settings ------------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self._db.execute("SELECT key, value FROM settings")}

    def put_setting(self, key: str, value: str) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; run the statements one by one.
    return [s.strip() for s in script.split(";") if s.strip()]


class _Transaction:
    """``with``: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"database: cannot write: {exc}") from exc

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._db.execute("COMMIT")
                return
            self._db.execute("ROLLBACK")
        except sqlite3.Error as error:
            # Disk full, read-only file system, I/O error: say so, and what could not be stored.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StorageError(f"database: cannot write: {error}") from error
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"database: cannot write: {exc}") from exc


def _outbox_message(row: sqlite3.Row) -> OutboxMessage:
    return OutboxMessage(
        seq=row["seq"],
        unique_id=row["unique_id"],
        kind=row["kind"],
        local_tx_id=row["local_tx_id"],
        body=json.loads(row["body"]),
        attempts=row["attempts"],
    )
