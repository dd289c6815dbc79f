"""Core profile requests a backend uses to control the station (OCPP 1.6 §5):
RemoteStartTransaction (§5.11, with a charging profile), RemoteStopTransaction (§5.12),
ChangeAvailability (§5.2), Reset (§5.14), UnlockConnector (§5.18), DataTransfer (§5.6).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ocpp.routing import after, on
from ocpp.v16 import call_result
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    AvailabilityType,
    DataTransferStatus,
    RemoteStartStopStatus,
    ResetStatus,
    ResetType,
    UnlockStatus,
)

from agent.backend.ports import UnlockResult
from agent.core.identity import ConnectorRef, central
from agent.core.session import StopReason
from agent.ocpp16.handlers.smart_charging import remote_start_profile

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)

# How long a Reset waits for the StopTransactions to reach the backend before restarting
# (they are stored and are sent after the restart anyway).
RESET_DRAIN_S = 10.0

UNLOCK_STATUS = {
    UnlockResult.UNLOCKED: UnlockStatus.unlocked,
    UnlockResult.UNLOCK_FAILED: UnlockStatus.unlock_failed,
    UnlockResult.NOT_SUPPORTED: UnlockStatus.not_supported,
    UnlockResult.UNKNOWN_CONNECTOR: UnlockStatus.not_supported,  # 1.6 has no UnknownConnector
}


class RemoteControlHandlers:
    def __init__(self, adapter: Ocpp16Adapter) -> None:
        self.adapter = adapter
        self.station = adapter.station
        self.services = adapter.services

    # §5.11 RemoteStartTransaction
    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, charging_profile: dict[str, Any] | None = None) -> Any:
        if connector_id is not None and connector_id not in self.station.evses():
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        if not remote_start_profile(self.adapter, charging_profile, id_tag, connector_id):
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        accepted = self.station.remote_start(central(id_tag), connector_id)
        if charging_profile is not None and not accepted:
            self.services.charging_limits.drop_pending(id_tag)
        log.info("RemoteStartTransaction %s on %s: %s", id_tag, connector_id, accepted)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStartTransaction(status=status)

    # §5.12 RemoteStopTransaction
    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> Any:
        transaction = self.station.transaction_by_backend_id(str(transaction_id))
        accepted = transaction is not None and transaction.running and self.station.remote_stop(transaction.transaction_id)
        log.info("RemoteStopTransaction %d: %s", transaction_id, accepted)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStopTransaction(status=status)

    # §5.2 ChangeAvailability
    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str) -> Any:
        result = self.station.change_availability(connector_id or None, type == AvailabilityType.operative)
        log.info("ChangeAvailability %d %s: %s", connector_id, type, result.value)
        return call_result.ChangeAvailability(status=AvailabilityStatus(result.value))

    # §5.14 Reset: stop transactions (reason SoftReset / HardReset), then restart the process.
    @on(Action.reset)
    def on_reset(self, type: str) -> Any:
        log.info("Reset %s", type)
        return call_result.Reset(status=ResetStatus.accepted)

    @after(Action.reset)
    async def after_reset(self, type: str) -> None:
        reason = StopReason.HARD_RESET if type == ResetType.hard else StopReason.SOFT_RESET
        try:
            await self.station.stop_all(reason)
            await self.services.outbox.drain(RESET_DRAIN_S)
        except TimeoutError:
            log.warning("Reset: restarting with messages still queued (they are sent after the restart)")
        self.services.lifecycle.request_restart(f"Reset {type}", "RemoteReset")

    # §5.18 UnlockConnector: a running transaction on the connector is finished first
    # (reason UnlockCommand); then its cable lock, where one is configured, opens once the
    # contactor is open: Unlocked or UnlockFailed. No lock: NotSupported.
    @on(Action.unlock_connector)
    async def on_unlock_connector(self, connector_id: int) -> Any:
        result = await self.station.unlock(ConnectorRef(connector_id))
        return call_result.UnlockConnector(status=UNLOCK_STATUS[result])

    # §5.6 DataTransfer: vendor handlers registered by the composition root and this adapter.
    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str | None = None) -> Any:
        handler = self.adapter.data_transfer.get(vendor_id)
        if handler is None:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        status, reply = handler(message_id, data)
        return call_result.DataTransfer(status=DataTransferStatus(status), data=reply)
