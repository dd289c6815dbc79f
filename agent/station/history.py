"""What happened at each connector, kept for support: status changes, faults, sessions.

Bounded (the newest ``KEEP`` entries), stored with the rest of the agent's state, and
put into diagnostics archives so support can see what a driver saw.
"""

from __future__ import annotations

import logging
from typing import Any

from agent.persistence.store import StorageError, Store

log = logging.getLogger(__name__)

KEEP = 5000


class History:
    def __init__(self, store: Store, now, keep: int = KEEP) -> None:
        self._store = store
        self._keep = keep
        self._now = now  # -> ISO 8601 text (the station's clock)
        self._since_prune = 0

    def record(self, connector_id: int, kind: str, detail: str) -> None:
        try:
            with self._store.atomic():
                self._store.execute(
                    "INSERT INTO history(at, connector_id, kind, detail) VALUES (?,?,?,?)",
                    (self._now(), connector_id, kind, detail),
                )
                self._since_prune += 1
                if self._since_prune >= 100:
                    self._since_prune = 0
                    self._store.execute("DELETE FROM history WHERE id <= (SELECT max(id) FROM history) - ?", (self._keep,))
        except StorageError as exc:  # history is for support; it never stops charging
            log.debug("history not stored: %s", exc)

    def recent(self, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._store.execute(
            "SELECT at, connector_id, kind, detail FROM history ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [dict(row) for row in reversed(rows)]
