"""Free vend: plug in and charge, no card (``[free_vend] id_tag``), as private and workplace
chargers do.

An EV plugged into a connector that could start (not reserved for someone else, no card
waiting, not Finishing) starts a transaction with the configured idTag, without asking the
backend (as a remote start the backend already accepted does). It is a normal transaction:
StartTransaction, MeterValues and StopTransaction reach the backend, so the energy is
metered and can be booked to that idTag; the backend must accept the idTag in its
StartTransaction.conf (StopTransactionOnInvalidId applies as for any card). A card tapped
before the plug still starts the session as itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from agent.core.session import RemoteStartRequested

if TYPE_CHECKING:
    from agent.station.station import Connector, Station

log = logging.getLogger(__name__)


class FreeVend:
    def __init__(self, station: Station, id_tag: str, check_s: float = 0.1) -> None:
        self.station = station
        self.id_tag = id_tag
        self.check_s = check_s

    def wants_start(self, conn: Connector) -> bool:
        s = self.station.reservations
        session = conn.session
        return (session.plugged and session.can_start() and session.authorized is None
                and session.pending_auth is None and not session.reserved_for_other(self.id_tag)
                and not s.refuses(conn.id, self.id_tag))

    def check(self) -> None:
        for conn in self.station.connectors.values():
            if self.wants_start(conn):
                log.info("connector %d: EV plugged in, free vend as %s", conn.id, self.id_tag)
                self.station.dispatch(conn, RemoteStartRequested(self.id_tag))

    async def run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # never stops the agent; the session goes on as it is
                log.exception("free vend: check failed")
            await asyncio.sleep(self.check_s)
