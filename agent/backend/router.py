"""The station's one backend, whatever OCPP version the link agreed on.

The station talks to a ``BackendRouter`` (it is the station's ``BackendPort``); the router
hands each call to the adapter of the connection that is up, or answers for an absent one
(offline: no authorization, nothing sent). The link starts the adapter of the subprotocol
the backend chose (``session``). Statuses need no queue here: every adapter sends all of
them when it is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from agent.backend.ports import BackendPort, IdTagInfo, Sample
from agent.core.identity import ConnectorRef, IdToken
from agent.core.session import ConnectorStatus, Fault

log = logging.getLogger(__name__)


class Adapter(BackendPort, Protocol):
    """A protocol version's adapter (agent/ocpp16, agent/ocpp201)."""

    subprotocol: str

    async def run_session(self, ws: Any) -> None: ...

    async def send_report(self, report: Any) -> bool: ...


class BackendRouter:
    def __init__(self, adapters: Mapping[str, Adapter]) -> None:
        self.adapters = dict(adapters)  # by subprotocol, in the order offered
        self.active: Adapter | None = None

    @property
    def subprotocols(self) -> list[str]:
        return list(self.adapters)

    async def session(self, subprotocol: str, ws: Any) -> None:
        """Serve one connection with the adapter of the version the backend agreed on."""
        adapter = self.adapters[subprotocol]
        self.active = adapter
        try:
            await adapter.run_session(ws)
        finally:
            self.active = None

    # ---- BackendPort -------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.active is not None and self.active.online

    async def authorize(self, id_token: IdToken) -> IdTagInfo | None:
        return await self.active.authorize(id_token) if self.online and self.active is not None else None

    def status_changed(self, where: ConnectorRef, status: ConnectorStatus, fault: Fault | None) -> None:
        for adapter in self.adapters.values():  # each keeps what it has not sent (MinimumStatusDuration)
            adapter.status_changed(where, status, fault)

    def outbox_changed(self) -> None:
        if self.active is not None:
            self.active.outbox_changed()

    def meter_values(self, evse_id: int, sample: Sample) -> None:
        if self.active is not None:
            self.active.meter_values(evse_id, sample)

    def reservation_ended(self, reservation_id: int, why: str) -> None:
        if self.active is not None:
            self.active.reservation_ended(reservation_id, why)

    async def send_report(self, report: Any) -> bool:
        """For the report queue: sent by the adapter that is up; False (try later) when none is."""
        active = self.active
        return await active.send_report(report) if active is not None else False

    def registration(self) -> str | None:
        return getattr(self.active, "registration", None)
