"""Backend → charge point requests of OCPP 1.6J (§5), answered by the station.

The library's receive loop awaits each handler before reading the next frame, so a
handler never makes a CALL itself: follow-up messages go out from ``@after`` hooks
(which the library runs as tasks).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ConfigurationStatus,
    MessageTrigger,
    RemoteStartStopStatus,
    TriggerMessageStatus,
)

from agent.ocpp16.core import CoreHandlers
from agent.ocpp16.firmware import FirmwareManagementHandlers
from agent.ocpp16.local_auth import LocalAuthListHandlers
from agent.ocpp16.reservation import ReservationHandlers
from agent.ocpp16.security import SecurityHandlers
from agent.ocpp16.signed_firmware import SignedFirmwareHandlers
from agent.ocpp16.smart_charging import SmartChargingHandlers

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Backend

log = logging.getLogger(__name__)


class ChargePoint16(
    # One mixin per OCPP 1.6 feature profile (and the security extensions); the library's
    # routing finds their @on / @after handlers through inheritance.
    CoreHandlers,
    LocalAuthListHandlers,
    FirmwareManagementHandlers,
    SmartChargingHandlers,
    ReservationHandlers,
    SecurityHandlers,
    SignedFirmwareHandlers,
    ChargePoint,
):
    def __init__(self, backend: Ocpp16Backend, connection, response_timeout: float) -> None:
        super().__init__(backend.charge_point_id, connection, response_timeout=response_timeout)
        self.backend = backend
        self.station = backend.station

    # §5.11 RemoteStartTransaction
    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, charging_profile=None):
        if connector_id is not None and connector_id not in self.station.connectors:
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        if not self.remote_start_profile(charging_profile, id_tag, connector_id):
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        accepted = self.station.remote_start(id_tag, connector_id)
        if charging_profile is not None and not accepted:
            self.station.charging_limits.drop_pending(id_tag)
        log.info("RemoteStartTransaction %s on %s: %s", id_tag, connector_id, accepted)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStartTransaction(status=status)

    # §5.12 RemoteStopTransaction
    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int):
        accepted = self.station.remote_stop(transaction_id)
        log.info("RemoteStopTransaction %d: %s", transaction_id, accepted)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStopTransaction(status=status)

    # §5.8 GetConfiguration
    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None):
        known, unknown = self.backend.keys.get(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    # §5.3 ChangeConfiguration
    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str):
        result = self.backend.keys.change(key, value)
        shown = "<write-only>" if key == "AuthorizationKey" else value  # never log the password
        log.info("ChangeConfiguration %s=%s: %s", key, shown, result.value)
        return call_result.ChangeConfiguration(status=ConfigurationStatus(result.value))

    # §5.17 TriggerMessage
    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None):
        if connector_id is not None and connector_id not in self.station.connectors and connector_id != 0:
            return call_result.TriggerMessage(status=TriggerMessageStatus.rejected)
        if requested_message not in _TRIGGERABLE:
            return call_result.TriggerMessage(status=TriggerMessageStatus.not_implemented)
        return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)

    @after(Action.trigger_message)
    async def after_trigger_message(self, requested_message: str, connector_id: int | None = None):
        if requested_message not in _TRIGGERABLE:
            return
        backend = self.backend
        try:
            if requested_message == MessageTrigger.boot_notification:
                await backend.call(backend._boot)
            elif requested_message == MessageTrigger.heartbeat:
                await backend.heartbeat()
            elif requested_message == MessageTrigger.status_notification:
                statuses = self.station.statuses()
                for cid in [connector_id] if connector_id else sorted(statuses):
                    if cid == 0:
                        await backend.send_status(0, *self.station.charge_point_status())
                    else:
                        await backend.send_status(cid, *statuses[cid])
            elif requested_message == MessageTrigger.meter_values:
                for cid in [connector_id] if connector_id else sorted(self.station.connectors):
                    conn = self.station.connectors.get(cid)
                    if conn is None:
                        continue
                    await backend.send_meter_values_now(conn)
            elif requested_message == MessageTrigger.diagnostics_status_notification:
                await backend.call(call.DiagnosticsStatusNotification(status=self.diagnostics_status()))
            elif requested_message == MessageTrigger.firmware_status_notification:
                await backend.call(call.FirmwareStatusNotification(status=self.firmware_status()))
        except Exception as exc:  # the trigger was accepted; a failed follow-up is only logged
            log.warning("TriggerMessage %s: follow-up failed: %r", requested_message, exc)


_TRIGGERABLE = {
    MessageTrigger.boot_notification,
    MessageTrigger.heartbeat,
    MessageTrigger.status_notification,
    MessageTrigger.meter_values,
    MessageTrigger.diagnostics_status_notification,
    MessageTrigger.firmware_status_notification,
}
