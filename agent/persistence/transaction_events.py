"""Transaction events: what the outbox keeps of a transaction, whatever the OCPP version.

A transaction is told to the backend as events, each stored in the outbox in the same
database commit as the state change behind it (agent/persistence/store.py), and rendered
by the adapter of the connection that sends it: OCPP 1.6 StartTransaction / MeterValues /
StopTransaction, OCPP 2.0.1 TransactionEvent Started / Updated / Ended.

Outbox kinds ``tx_started``, ``tx_updated``, ``tx_ended``; bodies (JSON)::

    event            "Started" | "Updated" | "Ended"
    transaction_id   the station's own id (a UUID; OCPP 2.0.1 transactionId)
    seq_no           0, 1, 2 ... over the transaction's events, in the order they were queued
    timestamp        when it happened (RFC 3339)
    evse_id, connector_id
    trigger          Started / Updated: what caused it (OCPP 2.0.1 TriggerReasonEnumType names)
    id_token         Started (and Ended when a card stopped it): {"value", "type"}
    meter_wh         Started: the meter at the start; Ended: at the end
    samples          Updated: the samples (numbers with units); Ended: the transaction's data;
                     Started: the values of its start (2.0.1 TxStartedMeasurands), when taken
    reason           Ended: agent/core/session.py StopReason
    reservation_id, remote_start_id   Started, when there was one
    offline          queued while the backend could not be reached
    charging_state   OCPP 2.0.1 ChargingStateEnumType, when the station reports charging states
                     (agent/core/transaction_points.py); an Updated without samples is such a
                     change (1.6 has nothing to send for it)
Updated also carries ``id_token`` (and ``remote_start_id``) when it authorized a transaction
that started before anyone was (TxStartPoint EVConnected), or stopped its authorization.

Migration 9 converts what an older release left queued (1.6-shaped ``tx_start`` /
``tx_meter`` / ``tx_stop`` rows) into these events, in order, keeping each message id so a
backend that already saw one recognises its resend.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

STARTED, UPDATED, ENDED = "tx_started", "tx_updated", "tx_ended"
KINDS = (STARTED, UPDATED, ENDED)
EVENT_OF_KIND = {STARTED: "Started", UPDATED: "Updated", ENDED: "Ended"}

# A migrated MeterValues sample's trigger, from its context (OCPP 1.6 §7.40 ReadingContext).
_UPDATE_TRIGGER = {"Sample.Clock": "MeterValueClock", "Trigger": "Trigger"}


def converted(kind: str, body: dict[str, Any], transaction: sqlite3.Row, seq_no: int) -> tuple[str, dict[str, Any]]:
    """An outbox row an older release queued (kind, 1.6-shaped body) as a transaction event."""
    common = {"transaction_id": transaction["tx_id"], "seq_no": seq_no, "evse_id": transaction["connector_id"],
              "connector_id": 1, "offline": False}
    if kind == "tx_start":
        return STARTED, {
            "event": "Started", **common, "timestamp": body["timestamp"], "trigger": "Authorized",
            "id_token": {"value": body["id_tag"], "type": "ISO14443"}, "meter_wh": body["meter_start_wh"],
            "reservation_id": body.get("reservation_id"),
        }
    if kind == "tx_meter":
        samples = body.get("samples", [])
        context = samples[0]["values"][0].get("context") if samples and samples[0].get("values") else None
        return UPDATED, {
            "event": "Updated", **common, "timestamp": samples[0]["timestamp"] if samples else transaction["started_at"],
            "trigger": _UPDATE_TRIGGER.get(context or "", "MeterValuePeriodic"), "samples": samples,
        }
    ended = {
        "event": "Ended", **common, "timestamp": body["timestamp"], "meter_wh": body["meter_stop_wh"],
        "reason": body["reason"], "samples": body.get("transaction_data", []),
    }
    if body.get("id_tag"):
        ended["id_token"] = {"value": body["id_tag"], "type": "ISO14443"}
    return ENDED, ended


def migrate(db: sqlite3.Connection) -> None:
    """Migration 9: station ids and event numbers for transactions; the outbox as events."""
    db.row_factory = sqlite3.Row
    for statement in (
        "ALTER TABLE transactions ADD COLUMN tx_id TEXT",
        "ALTER TABLE transactions ADD COLUMN token_type TEXT NOT NULL DEFAULT 'ISO14443'",
        "ALTER TABLE transactions ADD COLUMN next_seq INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE transactions ADD COLUMN remote_start_id INTEGER",
        # OCPP 1.6 StopTxnSampledData / StopTxnAlignedData taken so far, kept across restarts.
        "ALTER TABLE transactions ADD COLUMN stop_samples TEXT NOT NULL DEFAULT '[]'",
    ):
        db.execute(statement)
    for row in db.execute("SELECT local_id FROM transactions").fetchall():
        db.execute("UPDATE transactions SET tx_id = ? WHERE local_id = ?", (str(uuid.uuid4()), row["local_id"]))
    db.execute("CREATE UNIQUE INDEX transactions_tx_id ON transactions(tx_id)")
    transactions = {r["local_id"]: r for r in db.execute("SELECT * FROM transactions").fetchall()}
    next_seq: dict[int, int] = {}
    for row in db.execute("SELECT * FROM outbox WHERE kind IN ('tx_start', 'tx_meter', 'tx_stop') ORDER BY seq").fetchall():
        transaction = transactions.get(row["local_tx_id"])
        if transaction is None:
            db.execute("DELETE FROM outbox WHERE seq = ?", (row["seq"],))  # no transaction to tell of
            continue
        # A transaction whose start was delivered already continues after it.
        seq_no = next_seq.get(row["local_tx_id"], 0 if row["kind"] == "tx_start" else 1)
        kind, body = converted(row["kind"], json.loads(row["body"]), transaction, seq_no)
        next_seq[row["local_tx_id"]] = seq_no + 1
        db.execute("UPDATE outbox SET kind = ?, body = ? WHERE seq = ?", (kind, json.dumps(body), row["seq"]))
    for local_id, transaction in transactions.items():
        count = next_seq.get(local_id, 1 if transaction["stopped_at"] is None else 2)
        db.execute("UPDATE transactions SET next_seq = ? WHERE local_id = ?", (count, local_id))
