"""The two ports between the station and a backend adapter, whatever the OCPP version.

``BackendPort`` is what the station tells the backend (an adapter implements it);
``StationPort`` is what a backend may ask of the station (the station implements it). An
adapter sees the station only through ``StationPort`` and the neutral services the
composition root hands it (agent/backend/services.py); it imports nothing else of the agent
but the core's types.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.core.identity import ConnectorRef, IdToken
from agent.core.session import ConnectorStatus, Fault, ReserveResult, StopReason
from agent.core.transaction_points import TransactionPoints


class AuthorizationStatus(enum.Enum):
    """OCPP 1.6 AuthorizationStatus; OCPP 2.0.1 AuthorizationStatusEnumType adds the rest."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"
    NO_CREDIT = "NoCredit"
    NOT_ALLOWED_TYPE_EVSE = "NotAllowedTypeEVSE"
    NOT_AT_THIS_LOCATION = "NotAtThisLocation"
    NOT_AT_THIS_TIME = "NotAtThisTime"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class IdTagInfo:
    """What the backend says of an id token (OCPP 1.6 IdTagInfo, 2.0.1 IdTokenInfoType):
    status, expiry, and its group (1.6 parentIdTag, 2.0.1 groupIdToken)."""

    status: AuthorizationStatus
    expiry: dt.datetime | None = None
    parent_id_tag: str | None = None


class AvailabilityResult(enum.Enum):
    ACCEPTED = "Accepted"
    SCHEDULED = "Scheduled"  # applied when the running transaction ends
    REJECTED = "Rejected"


class UnlockResult(enum.Enum):
    UNLOCKED = "Unlocked"
    UNLOCK_FAILED = "UnlockFailed"
    NOT_SUPPORTED = "NotSupported"  # no lock on this connector
    UNKNOWN_CONNECTOR = "UnknownConnector"


@dataclass(frozen=True)
class ReservationRequest:
    """OCPP 1.6 ReserveNow / 2.0.1 ReserveNowRequest: ``evse_id`` None reserves any EVSE."""

    reservation_id: int
    evse_id: int | None
    id_token: IdToken
    expiry: dt.datetime
    group_id: str | None = None
    connector_type: str | None = None  # 2.0.1: any EVSE with a connector of this type


@dataclass(frozen=True)
class TransactionView:
    """A transaction as the backend may ask about it."""

    transaction_id: str  # the station's own id (OCPP 2.0.1 transactionId)
    evse_id: int
    connector_id: int
    id_token: IdToken
    started_at: str
    meter_start_wh: int
    backend_id: str | None  # what the backend named it (OCPP 1.6 transactionId), once known
    running: bool  # not ended yet
    remote_start_id: int | None = None


@dataclass(frozen=True)
class SampledValue:
    """One measured value, numeric, with its unit (rendered by each adapter)."""

    measurand: str  # OCPP measurand names (the same in 1.6 and 2.0.1)
    value: float
    unit: str  # "Wh", "W", "A", "V", "Celsius", "Percent"
    context: str  # "Sample.Periodic", "Sample.Clock", "Transaction.Begin", ...
    phase: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Sample:
    timestamp: str
    values: tuple[SampledValue, ...] = field(default_factory=tuple)


class BackendPort(Protocol):
    """What the station tells the backend (an adapter, or the router in front of them)."""

    @property
    def online(self) -> bool:
        """Connected and accepted by the backend."""
        ...

    async def authorize(self, id_token: IdToken) -> IdTagInfo | None:
        """Ask the backend; None when it cannot be asked (offline, no answer in time)."""
        ...

    def status_changed(self, where: ConnectorRef, status: ConnectorStatus, fault: Fault | None) -> None:
        """A connector's new status (sent now if online, re-synced on reconnect)."""
        ...

    def outbox_changed(self) -> None:
        """A message was queued durably; send it when possible."""
        ...

    def meter_values(self, evse_id: int, sample: Sample) -> None:
        """A reading outside any transaction (clock-aligned); sent if online, else dropped."""
        ...

    def reservation_ended(self, reservation_id: int, why: str) -> None:
        """A reservation ended without the backend asking: ``why`` is "expired", "faulted",
        "unavailable" (the EVSE it held can no longer serve it), "used" or "cancelled"."""
        ...


class StationPort(Protocol):
    """What a backend may ask of the station."""

    def evses(self) -> Mapping[int, tuple[int, ...]]:
        """EVSE id -> its connector ids."""
        ...

    def statuses(self) -> dict[ConnectorRef, tuple[ConnectorStatus, Fault | None]]: ...

    def station_status(self) -> tuple[ConnectorStatus, Fault | None]:
        """The whole station (OCPP 1.6 connector 0)."""
        ...

    def remote_start(self, id_token: IdToken, evse_id: int | None, remote_start_id: int | None = None) -> bool:
        """Accepted when the EVSE can start; the session does the rest."""
        ...

    def remote_stop(self, transaction_id: str) -> bool: ...

    def transaction(self, transaction_id: str) -> TransactionView | None: ...

    def transaction_on(self, evse_id: int) -> TransactionView | None:
        """The EVSE's running transaction."""
        ...

    def transaction_by_backend_id(self, backend_id: str) -> TransactionView | None: ...

    def start_refused(self, transaction_id: str) -> None:
        """The backend refused the token a transaction started with (StopTxOnInvalidId)."""
        ...

    def reserve(self, request: ReservationRequest) -> ReserveResult: ...

    def cancel_reservation(self, reservation_id: int) -> bool: ...

    def change_availability(self, evse_id: int | None, operative: bool) -> AvailabilityResult:
        """``evse_id`` None: the whole station."""
        ...

    async def unlock(self, where: ConnectorRef) -> UnlockResult: ...

    def sample(self, evse_id: int, context: str, measurands: list[str] | None = None) -> Sample: ...

    async def stop_all(self, reason: StopReason, evse_id: int | None = None) -> None:
        """End every running transaction (of the EVSE, when given: Reset) and wait until each stop is stored."""
        ...

    def last_card(self) -> IdToken | None: ...

    def update_transaction_now(self, evse_id: int, trigger: str) -> bool:
        """Queue a transaction update (meter values now, the transaction's updated measurands) for
        the EVSE's running transaction, with ``trigger`` (2.0.1 triggerReason); False without one."""
        ...

    def configure_transactions(self, points: TransactionPoints) -> None:
        """When transactions start and end (OCPP 2.0.1 TxStartPoint / TxStopPoint); 1.6's rule until set."""
        ...


def sample_to_json(sample: Sample) -> dict[str, Any]:
    """A sample as it is stored in the outbox (numbers with their units)."""
    return {
        "timestamp": sample.timestamp,
        "values": [{k: v for k, v in vars(value).items() if v is not None} for value in sample.values],
    }


def sample_from_json(data: dict[str, Any]) -> Sample:
    """A stored sample; values an older release stored as text are read as numbers."""
    return Sample(
        timestamp=data["timestamp"],
        values=tuple(
            SampledValue(
                measurand=v.get("measurand", "Energy.Active.Import.Register"),
                value=float(v["value"]),
                unit=v.get("unit", "Wh"),
                context=v.get("context", "Sample.Periodic"),
                phase=v.get("phase"),
                location=v.get("location"),
            )
            for v in data.get("values", [])
        ),
    )
