"""What the station needs from the backend link, whatever the OCPP version.

The station calls these; an adapter per protocol version (``agent/ocpp16``) implements
them and calls back into the station for what the backend asks of it.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol

from agent.core.session import ConnectorStatus, Fault


class AuthorizationStatus(enum.Enum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


@dataclass(frozen=True)
class IdTagInfo:
    """What the backend says about an idTag: status, expiry, parent (group) idTag (OCPP 1.6 §7.20)."""

    status: AuthorizationStatus
    expiry: dt.datetime | None = None
    parent_id_tag: str | None = None


class Backend(Protocol):
    @property
    def online(self) -> bool:
        """Connected and accepted by the backend (BootNotification Accepted)."""
        ...

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        """Ask the backend; None when it cannot be asked (offline, no answer in time).

        The adapter also feeds the answer to the authorization cache (``station.authorizer``)."""
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
