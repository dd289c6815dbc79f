"""The data the station holds about one customer, by the idToken (card UID, app token) they
used: reported and cleared on the backend's request (OCPP 2.0.1 N09/N10 CustomerInformation),
e.g. to meet a privacy law.

Where an idToken is held:
- the local authorization list: reported, never cleared here (N10.FR.03/06: only the CSMS changes
  the list, with SendLocalList, so its version stays true);
- the authorization cache: reported and cleared;
- a reservation made for it: reported and kept (clearing it would take the reserved EVSE from
  the customer; it ends at its expiry or when used);
- the transactions table (the ones kept for support after they ended) and the connector history
  ("transaction N by <idToken>"): reported; cleared by replacing the idToken, but only for
  transactions that ended and whose messages were all delivered. A transaction still running, or
  whose messages still wait in the outbox, keeps its idToken, so its delivery (exactly once, in
  order) is not touched: that is reported as kept.
"""

from __future__ import annotations

import logging

from agent.persistence.store import Store
from agent.station.authorization import LocalAuthorization

log = logging.getLogger(__name__)

CLEARED = "(cleared)"


class CustomerData:
    def __init__(self, store: Store, local: LocalAuthorization) -> None:
        self._store = store
        self._local = local

    def report(self, id_token: str) -> list[str]:
        """What is held about ``id_token``, one line per place (empty: nothing)."""
        lines = []
        listed = self._row("local_auth_list", id_token)
        if listed is not None:
            lines.append(f"local authorization list: {_describe(listed)}")
        cached = self._row("auth_cache", id_token)
        if cached is not None:
            lines.append(f"authorization cache: {_describe(cached)}")
        for row in self._reservations(id_token):
            lines.append(f"reservation {row['reservation_id']} on EVSE {row['connector_id']} until {row['expiry']}")
        for row in self._transactions(id_token):
            state = "running" if row["stopped_at"] is None else f"ended {row['stopped_at']}"
            lines.append(f"transaction {row['tx_id'] or row['local_id']} on EVSE {row['connector_id']}: "
                         f"started {row['started_at']}, {state}")
        history = self._history(id_token)
        if history:
            lines.append(f"connector history: {history} entries")
        return lines

    def clear(self, id_token: str) -> list[str]:
        """Clear what may be cleared about ``id_token``; one line per place cleared or kept."""
        lines = []
        with self._store.atomic():
            cached = self._store.execute("DELETE FROM auth_cache WHERE id_tag = ? COLLATE NOCASE", (id_token,)).rowcount
            if cached:
                lines.append("authorization cache: cleared")
            done = [row["local_id"] for row in self._transactions(id_token)
                    if row["stopped_at"] is not None and not self._queued(row["local_id"])]
            kept = len(self._transactions(id_token)) - len(done)
            for local_id in done:
                self._store.execute("UPDATE transactions SET id_tag = ? WHERE local_id = ?", (CLEARED, local_id))
            if done:
                lines.append(f"transactions: {len(done)} cleared")
            if kept:
                lines.append(f"transactions: {kept} kept until they ended and were delivered")
            history = self._store.execute(
                "UPDATE history SET detail = replace(detail, ?1, ?2) WHERE kind = 'start' AND instr(detail, ?1) > 0",
                (f" by {id_token} ", f" by {CLEARED} "),
            ).rowcount
            if history:
                lines.append(f"connector history: {history} entries cleared")
        if self._row("local_auth_list", id_token) is not None:
            lines.append("local authorization list: kept (changed by the CSMS only, SendLocalList)")
        if self._reservations(id_token):
            lines.append("reservations: kept until used or expired")
        log.info("customer data of an idToken cleared: %s", "; ".join(lines) or "nothing held")
        return lines

    def _row(self, table: str, id_token: str):
        return self._store.execute(
            f"SELECT status, expiry, parent_id_tag FROM {table} WHERE id_tag = ? COLLATE NOCASE", (id_token,)
        ).fetchone()

    def _reservations(self, id_token: str) -> list:
        return self._store.execute(
            "SELECT reservation_id, connector_id, expiry FROM reservations WHERE id_tag = ? COLLATE NOCASE "
            "ORDER BY reservation_id", (id_token,)
        ).fetchall()

    def _transactions(self, id_token: str) -> list:
        return self._store.execute(
            "SELECT local_id, tx_id, connector_id, started_at, stopped_at FROM transactions "
            "WHERE id_tag = ? COLLATE NOCASE ORDER BY local_id", (id_token,)
        ).fetchall()

    def _queued(self, local_id: int) -> bool:
        return self._store.execute("SELECT 1 FROM outbox WHERE local_tx_id = ? LIMIT 1", (local_id,)).fetchone() is not None

    def _history(self, id_token: str) -> int:
        return self._store.execute(
            "SELECT count(*) FROM history WHERE kind = 'start' AND instr(detail, ?) > 0", (f" by {id_token} ",)
        ).fetchone()[0]


def _describe(row) -> str:
    out = row["status"]
    if row["expiry"]:
        out += f", expires {row['expiry']}"
    if row["parent_id_tag"]:
        out += f", group {row['parent_id_tag']}"
    return out

