"""What the station needs from the backend link, whatever the OCPP version.

The station calls these; an adapter per protocol version (``agent/ocpp16``) implements
them and calls back into the station for what the backend asks of it.
"""

from __future__ import annotations

import enum
from typing import Protocol

from agent.session import ConnectorStatus, Fault


class AuthorizationStatus(enum.Enum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


class Backend(Protocol):
    @property
    def online(self) -> bool:
        """Connected and accepted by the backend (BootNotification Accepted)."""
        ...

    async def authorize(self, id_tag: str) -> AuthorizationStatus | None:
        """Ask the backend; None when it cannot be asked (offline, no answer in time)."""
        ...

    def status_changed(self, connector_id: int, status: ConnectorStatus, fault: Fault | None) -> None:
        """Report a connector's new status (sent now if online, re-synced on reconnect)."""
        ...

    def outbox_changed(self) -> None:
        """A transaction message was queued durably; send it when possible."""
        ...

    def meter_values(self, connector_id: int, sample: dict) -> None:
        """A reading outside any transaction (clock-aligned); sent if online, else dropped."""
        ...
