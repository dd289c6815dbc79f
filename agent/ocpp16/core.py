"""Core profile requests beyond remote start/stop and configuration (OCPP 1.6 §5)."""

from __future__ import annotations

import logging

from ocpp.routing import after, on
from ocpp.v16 import call_result
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    AvailabilityType,
    DataTransferStatus,
    ResetStatus,
    ResetType,
    UnlockStatus,
)

from agent.core.session import StopReason

log = logging.getLogger(__name__)

# How long a Reset waits for the StopTransactions to reach the backend before restarting
# (they are stored and are sent after the restart anyway).
RESET_DRAIN_S = 10.0


class CoreHandlers:
    # §5.2 ChangeAvailability
    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str):
        result = self.station.change_availability(connector_id, type == AvailabilityType.operative)
        log.info("ChangeAvailability %d %s: %s", connector_id, type, result)
        return call_result.ChangeAvailability(status=AvailabilityStatus(result))

    @after(Action.change_availability)
    async def after_change_availability(self, connector_id: int, type: str):
        if connector_id == 0:
            await self.backend.send_status(0, *self.station.charge_point_status())

    # §5.14 Reset: stop transactions (reason SoftReset / HardReset), then restart the process.
    @on(Action.reset)
    def on_reset(self, type: str):
        log.info("Reset %s", type)
        return call_result.Reset(status=ResetStatus.accepted)

    @after(Action.reset)
    async def after_reset(self, type: str):
        reason = StopReason.HARD_RESET if type == ResetType.hard else StopReason.SOFT_RESET
        try:
            await self.station.stop_all(reason)
            await self.backend.drain_outbox(RESET_DRAIN_S)
        except TimeoutError:
            log.warning("Reset: restarting with messages still queued (they are sent after the restart)")
        self.backend.lifecycle.request_restart(f"Reset {type}")

    # §5.18 UnlockConnector: a running transaction on the connector is finished first
    # (reason UnlockCommand); then its cable lock, where one is configured, opens once the
    # contactor is open (agent/station/safety_io.py): Unlocked or UnlockFailed. No lock: NotSupported.
    @on(Action.unlock_connector)
    async def on_unlock_connector(self, connector_id: int):
        stopped = self.station.unlock(connector_id)
        conn = self.station.connectors.get(connector_id)
        safety = getattr(conn, "safety", None)
        unlocked = await safety.unlock() if safety is not None else None
        log.info("UnlockConnector %d: transaction stopped: %s; lock: %s", connector_id, stopped,
                 {None: "none", True: "unlocked", False: "failed"}[unlocked])
        if unlocked is None:
            return call_result.UnlockConnector(status=UnlockStatus.not_supported)
        return call_result.UnlockConnector(status=UnlockStatus.unlocked if unlocked else UnlockStatus.unlock_failed)

    # §5.6 DataTransfer: vendor handlers registered on the backend adapter.
    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str | None = None):
        handler = self.backend.data_transfer_handlers.get(vendor_id)
        if handler is None:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        status, reply = handler(message_id, data)
        return call_result.DataTransfer(status=DataTransferStatus(status), data=reply)
